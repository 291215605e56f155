/**
 * The one worker protocol: typed calls from a thread to a worker thread whose entry is a real,
 * bundled file. A worker entry lists its tasks with `defineWorker(tasks)`; the thread that starts it
 * calls them with `connect<typeof tasks>(worker).call.name(...args)`, typed end to end, and gets a
 * promise of the result. Errors cross with their name, message, code and the worker's own stack (so a
 * stack trace points at the real file the task ran in); `emit(event)` streams events (progress) back.
 *
 * [Note: why not comlink] comlink (with its node adapter) was the first choice and does the typed
 * calls, but three things every worker here needs it does not: a call pending when the thread dies
 * (a crash, an out-of-memory, `process.exit` in a native library) never settles in comlink, where the
 * job host and the ONNX host must fail it with a clear message; the worker is ref'd for as long as the
 * proxy lives, where an idle search or helper thread must not keep a CLI process alive; and the hot
 * paths (the JSON encoder's helper threads) keep their own SharedArrayBuffer + Atomics hand-off on the
 * same port, which comlink's listener would take as malformed calls. The protocol below is that much:
 * tagged messages (anything else on the port is left alone), a pending table failed on exit, and
 * ref-while-busy.
 *
 * [Note: worker in a child process]
 * The same protocol runs over a child process's IPC channel: `childEndpoint(fork(entry, { serialization:
 * 'advanced' }))` gives `connect` a worker-shaped end (messages, exit, terminate, ref), and in the child
 * `defineWorker`/`emit` use `process.send` where there is no parent port. The entry file is the same
 * bundled file either way. A child is for work whose native memory must go back to the system when it
 * ends: glibc keeps what a finished thread freed in its arena, resident, for the next thread (see
 * [Note: Quiet RSS] in bench/api-fuzz.ts), where a process's exit returns everything. Transfer lists do
 * not apply there: 'advanced' serialization copies (structured clone), which is correct, only slower
 * for large buffers.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parentPort, type Transferable, type Worker } from 'node:worker_threads';

// biome-ignore lint/suspicious/noExplicitAny: a task's own signature is what callers see, via Remote<T>.
export type Tasks = Record<string, (...args: any[]) => unknown>;

/** The calling side's view of a worker's tasks: the same signatures, each returning a promise. */
export type Remote<T extends Tasks> = {
  [K in keyof T]: (...args: Parameters<T[K]>) => Promise<Awaited<ReturnType<T[K]>>>;
};

/** Protocol messages carry this key; other messages on the same port are not the protocol's. */
const TAG = '__kfashionWorker';

type WireError = { name: string; message: string; stack?: string; code?: string };
type Message =
  | { [TAG]: 'call'; id: number; task: string; args: unknown[] }
  | { [TAG]: 'reply'; id: number; ok: true; value: unknown }
  | { [TAG]: 'reply'; id: number; ok: false; error: WireError }
  | { [TAG]: 'event'; event: unknown };

const transfers = new WeakMap<object, Transferable[]>();

/** Marks an argument or a result to be moved, not copied (its buffers are unusable afterwards here). */
export function transfer<T extends object>(value: T, list: Transferable[]): T {
  transfers.set(value, list);
  return value;
}

function transferListOf(values: unknown[]): Transferable[] {
  const list: Transferable[] = [];
  for (const v of values) if (v && typeof v === 'object') list.push(...(transfers.get(v) ?? []));
  return list;
}

function toWire(thrown: unknown): WireError {
  const e = thrown instanceof Error ? thrown : new Error(String(thrown));
  const code = (e as { code?: unknown }).code;
  return {
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** The worker's error, rebuilt here: same name, message and code; its stack is the worker's. */
export function fromWire(wire: WireError): Error {
  const e = new Error(wire.message);
  e.name = wire.name;
  if (wire.stack) e.stack = wire.stack;
  if (wire.code !== undefined) Object.assign(e, { code: wire.code });
  return e;
}

/**
 * Serves `tasks` on this worker thread's parent port. A task runs as soon as its call arrives (a
 * synchronous task before the next message is read, so calls and other messages keep their order).
 */
export function defineWorker<T extends Tasks>(tasks: T): T {
  const port = hostPort();
  if (!port)
    throw new Error('a worker entry runs as a worker thread or a forked child process, not on its own');
  port.on('message', (m: Message) => {
    if (!m || typeof m !== 'object' || m[TAG] !== 'call') return;
    const reply = (r: Message, list: Transferable[] = []) => port.postMessage(r, list);
    const fail = (e: unknown) => reply({ [TAG]: 'reply', id: m.id, ok: false, error: toWire(e) });
    const fn = tasks[m.task];
    if (!fn) {
      fail(new Error(`this worker has no task "${m.task}"`));
      return;
    }
    try {
      const out = fn(...m.args);
      const send = (value: unknown) =>
        reply({ [TAG]: 'reply', id: m.id, ok: true, value }, transferListOf([value]));
      if (out instanceof Promise) out.then(send, fail);
      else send(out);
    } catch (e) {
      fail(e);
    }
  });
  return tasks;
}

/** Sends an event (e.g. progress) to the thread (or process) that started this worker. */
export function emit(event: unknown): void {
  hostPort()?.postMessage({ [TAG]: 'event', event } satisfies Message);
}

interface HostPort {
  on(event: 'message', listener: (m: Message) => void): void;
  postMessage(m: Message, transfer?: Transferable[]): void;
}

let processPort: HostPort | null = null;

/**
 * The way back to whoever started this worker: the parent port of a worker thread, else the IPC
 * channel of a forked child ([Note: worker in a child process]); null when run on its own.
 */
function hostPort(): HostPort | null {
  if (parentPort) return parentPort;
  if (!process.send) return null;
  if (!processPort) {
    // The parent is gone (it exited or was killed): nobody is left to answer, so end as a thread
    // ends with its process. What the task committed is on disk already.
    process.once('disconnect', () => process.exit(0));
    processPort = {
      on: (_event, listener) => process.on('message', listener as (m: unknown) => void),
      postMessage: (m) => {
        // The channel closes when the parent dies; a late reply then has nowhere to go.
        if (process.connected) process.send!(m);
      },
    };
  }
  return processPort;
}

/** Names of the errors a call fails with when its thread dies (as opposed to a task's own error). */
export const THREAD_DIED = new Set(['WorkerCrashedError', 'WorkerExitedError']);

/**
 * What `connect` needs of the other side: a Worker has it, and `childEndpoint` gives a forked child
 * process the same shape.
 */
export interface Endpoint {
  on(event: 'message', listener: (m: unknown) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(m: unknown, transfer?: readonly Transferable[]): void;
  terminate(): Promise<unknown>;
  ref(): void;
  unref(): void;
}

/** A forked child process (IPC channel, `serialization: 'advanced'`) as a worker-shaped endpoint. */
export interface ChildEndpoint extends Endpoint {
  readonly child: ChildProcess;
  /** Ends the child at once (SIGKILL): for one that ignored a cancel. */
  kill(): void;
}

export function childEndpoint(child: ChildProcess): ChildEndpoint {
  if (!child.send) throw new Error('childEndpoint: the child has no IPC channel (fork it)');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    on(event: 'message' | 'error' | 'exit', listener: (x: never) => void) {
      if (event === 'exit') {
        // A signal's end (kill -9) has no code: reported as a shell does, 128 + the signal's number.
        child.on('exit', (code, signal) =>
          (listener as (c: number) => void)(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
        );
      } else child.on(event, listener as (x: unknown) => void);
      return this;
    },
    postMessage(m) {
      // A send to a child that is exiting fails with ERR_IPC_CHANNEL_CLOSED; its exit fails the call.
      if (child.connected) child.send(m as object, (e) => void e);
    },
    async terminate() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    ref() {
      child.ref();
      child.channel?.ref();
    },
    unref() {
      child.unref();
      child.channel?.unref();
    },
  };
}

export interface Connection<T extends Tasks, E extends Endpoint = Worker> {
  readonly worker: E;
  readonly call: Remote<T>;
  /** Calls still waiting for their answer. */
  readonly pending: number;
  onEvent(listener: (event: unknown) => void): () => void;
  /** Resolves when the thread has exited (at once if it already has); never rejects. */
  readonly exited: Promise<number>;
  terminate(): Promise<void>;
}

export interface ConnectOptions {
  /** Names the worker in the error of a call it died under ("the search worker thread exited …"). */
  name: string;
  /** Unref the thread while no call is pending, so an idle worker never keeps the process alive. */
  unrefWhenIdle?: boolean;
}

/** Connects to a started worker whose entry called `defineWorker(tasks)` with tasks of type T. */
export function connect<T extends Tasks, E extends Endpoint = Worker>(
  worker: E,
  options: ConnectOptions,
): Connection<T, E> {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(event: unknown) => void>();
  let nextId = 1;
  let dead: Error | null = null;
  const idle = () => {
    if (options.unrefWhenIdle && pending.size === 0) worker.unref();
  };
  idle();
  const failAll = (e: Error) => {
    dead ??= e;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  worker.on('message', (raw: unknown) => {
    const m = raw as Message;
    if (!m || typeof m !== 'object') return;
    if (m[TAG] === 'event') {
      for (const l of listeners) l(m.event);
    } else if (m[TAG] === 'reply') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      idle();
      if (m.ok) p.resolve(m.value);
      else p.reject(fromWire(m.error));
    }
  });
  worker.on('error', (e: Error) =>
    failAll(
      Object.assign(new Error(`the ${options.name} crashed: ${e.message}`), {
        name: 'WorkerCrashedError',
        cause: e,
      }),
    ),
  );
  const exited = new Promise<number>((resolve) => {
    worker.on('exit', (code: number) => {
      failAll(
        Object.assign(new Error(`the ${options.name} exited (code ${code}) before answering`), {
          name: 'WorkerExitedError',
        }),
      );
      resolve(code);
    });
  });
  const call = new Proxy({} as Remote<T>, {
    get: (_, task) =>
      typeof task !== 'string'
        ? undefined
        : (...args: unknown[]) => {
            if (dead) return Promise.reject(dead);
            const id = nextId++;
            return new Promise((resolve, reject) => {
              pending.set(id, { resolve, reject });
              if (options.unrefWhenIdle) worker.ref();
              worker.postMessage({ [TAG]: 'call', id, task, args } satisfies Message, transferListOf(args));
            });
          },
  });
  return {
    worker,
    call,
    get pending() {
      return pending.size;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exited,
    async terminate() {
      await worker.terminate();
    },
  };
}

/**
 * A bundled worker entry by name (`<name>.js`): beside the running bundle (dist/ for the CLI, the
 * server and the benches, out/main/ for the desktop app), one folder up when this code sits in a shared
 * chunk, or — when this code runs from its TypeScript sources (tests) — in the repository's dist/,
 * which the test set-up builds before any test runs. null when there is none: callers then run the
 * same functions on the calling thread, or report it. `fromSources: false` skips dist/ for a caller
 * whose tests want its inline path (the label-parsing pool).
 */
export function workerEntry(name: string, options: { fromSources?: boolean } = {}): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, `${name}.js`), join(here, '..', `${name}.js`)];
  if (import.meta.url.endsWith('.ts') && options.fromSources !== false)
    candidates.push(join(here, '..', '..', 'dist', `${name}.js`));
  return candidates.find((p) => existsSync(p)) ?? null;
}
