/**
 * The tasks of an ONNX Runtime session's worker thread: open a session (with constant inputs moved
 * in once), run it, release it. onnx-session-worker.ts serves them as they are; an entry that needs
 * more on the same thread (the vector index's search worker, retrieval/search-worker.ts, which also
 * scans an int8 copy and re-scores rows from the session's gallery constant) serves them beside its
 * own. onnx-session-host.ts starts either and says why a session runs on a thread of its own.
 */
import { createRequire } from 'node:module';
import type ort from 'onnxruntime-node';
import { transfer } from '../workers/protocol.ts';

/** A tensor as it crosses the thread boundary: its element type, flat data and shape. */
export interface RawTensor {
  type: 'float32' | 'float16' | 'int64' | 'int32';
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array;
  dims: readonly number[];
}

export interface OpenRequest {
  /** The model file, or its bytes (a generated graph). */
  model: string | Uint8Array;
  options: ort.InferenceSession.SessionOptions;
  /** Inputs fixed for the session's life (a search's blocked gallery), moved here once, fed to every run. */
  constants?: Record<string, RawTensor>;
  /** Load onnxruntime-node from this path instead (tests of a failing runtime). */
  ortPath?: string;
  quiet: boolean;
}

export interface SessionInfo {
  inputNames: string[];
  inputMetadata: ort.InferenceSession.ValueMetadata[];
  outputMetadata: ort.InferenceSession.ValueMetadata[];
}

/** The three session tasks, and read access to the constants they hold (for an entry's own tasks). */
export function sessionTasks() {
  let runtime: typeof ort | null = null;
  let session: ort.InferenceSession | null = null;
  let constants: Record<string, ort.Tensor> = {};
  let raw: Record<string, RawTensor> = {};
  /** Constants made on this thread before `open` (the search worker's gallery, laid out here). */
  let staged: Record<string, RawTensor> = {};

  const opened = (): ort.InferenceSession => {
    if (!session) throw new Error('no ONNX Runtime session is open on this thread');
    return session;
  };

  const tasks = {
    async open(req: OpenRequest): Promise<SessionInfo> {
      const mod: typeof ort = req.ortPath
        ? createRequire(import.meta.url)(req.ortPath)
        : (await import('onnxruntime-node')).default;
      if (req.quiet) mod.env.logLevel = 'fatal';
      runtime = mod;
      session = await mod.InferenceSession.create(req.model as string, req.options);
      constants = {};
      raw = { ...staged, ...req.constants };
      staged = {};
      for (const [k, v] of Object.entries(raw))
        constants[k] = new mod.Tensor(v.type, v.data as Float32Array, v.dims);
      return {
        inputNames: [...session.inputNames],
        inputMetadata: [...session.inputMetadata],
        outputMetadata: [...session.outputMetadata],
      };
    },

    /** Runs the session on `feeds` plus the constants; the outputs are moved to the caller, not copied. */
    async run(feeds: Record<string, RawTensor>, outputs: string[]): Promise<Record<string, RawTensor>> {
      const s = opened();
      const mod = runtime!;
      const tensors: Record<string, ort.Tensor> = { ...constants };
      for (const [k, v] of Object.entries(feeds))
        tensors[k] = new mod.Tensor(v.type, v.data as Float32Array, v.dims);
      const result = await s.run(tensors, outputs);
      const out: Record<string, RawTensor> = {};
      const buffers: ArrayBuffer[] = [];
      for (const name of outputs) {
        const t = result[name];
        if (!t) throw new Error(`the run returned no ${name}`);
        const data = (t.data as Float32Array).slice();
        buffers.push(data.buffer);
        out[name] = { type: t.type as RawTensor['type'], data, dims: [...t.dims] };
      }
      for (const t of Object.values(result)) t.dispose();
      return transfer(out, buffers);
    },

    async release(): Promise<void> {
      const s = session;
      session = null;
      constants = {};
      raw = {};
      staged = {};
      await s?.release();
    },
  };
  return {
    tasks,
    /** A constant input as it was moved in (null before `open` or after `release`). */
    constant: (name: string): RawTensor | null => raw[name] ?? null,
    /**
     * Adds a constant input made on this thread (not moved in with `open`) to the next session
     * `open` opens: an entry that builds a large constant itself (the search worker's gallery) spares
     * the calling thread that work and the hand-over.
     */
    stage(name: string, tensor: RawTensor): void {
      staged[name] = tensor;
    },
  };
}

export type OnnxSessionTasks = ReturnType<typeof sessionTasks>['tasks'];
