/**
 * The machinery of the API contract: how methods and events are declared, served and called. The
 * contract itself (which methods and events exist) is in api.ts, which re-exports all of this.
 *
 * Every method is a name plus a zod schema for its input and one for its output; every event a name
 * plus a schema for its payload. From these maps come: the TypeScript types of the client and of the
 * handler table, the preload's allow-lists, and the runtime checks at the boundary — input is checked
 * where it is served (the renderer is not trusted), output and event payloads where they are received
 * (a handler bug shows up as a clear error, not as a UI that quietly renders `undefined`).
 *
 * Pure TypeScript + zod: this file runs in the renderer, the preload, the main process and the
 * server, so it imports nothing from Node or the DOM. Transports live elsewhere; see
 * [Note: Why an envelope] in api-errors.ts for how errors cross.
 */
import { z } from 'zod';
import {
  API_ERROR_CODES,
  apiError,
  type Envelope,
  envelopeSchema,
  errorEnvelope,
  fromWireError,
  okEnvelope,
} from './api-errors.ts';

// ---------------------------------------------------------------------------------------------
// Methods

export interface MethodDef<
  N extends string = string,
  I extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
> {
  readonly name: N;
  readonly input: I;
  readonly output: O;
  /** One line for people reading the contract (the UI's developers, `GET /api/contract`). */
  readonly summary?: string;
}

export function defineMethod<const N extends string, I extends z.ZodType, O extends z.ZodType>(
  def: MethodDef<N, I, O>,
): MethodDef<N, I, O> {
  return Object.freeze({ ...def });
}

/** A contract is a map from method name to its definition; `defineContract` keeps key and name equal. */
export type Contract = { readonly [name: string]: MethodDef };

type ContractOf<Ms extends readonly MethodDef[]> = { readonly [M in Ms[number] as M['name']]: M };

export function defineContract<const Ms extends readonly MethodDef[]>(...methods: Ms): ContractOf<Ms> {
  const map: Record<string, MethodDef> = {};
  for (const method of methods) {
    if (Object.hasOwn(map, method.name)) throw new Error(`Method defined twice: ${method.name}`);
    map[method.name] = method;
  }
  return Object.freeze(map) as ContractOf<Ms>;
}

export type MethodName<C extends Contract> = keyof C & string;
/** What a caller passes (before parsing, so defaults may be omitted). */
export type MethodInput<K extends MethodName<C>, C extends Contract> = z.input<C[K]['input']>;
/** What a caller gets back (after parsing). */
export type MethodOutput<K extends MethodName<C>, C extends Contract> = z.output<C[K]['output']>;

/** The serving side: one async function per method, given parsed input. */
export type HandlersOf<C extends Contract> = {
  readonly [K in MethodName<C>]: (input: z.output<C[K]['input']>) => Promise<z.input<C[K]['output']>>;
};

/** The preload's allow-list: exactly the methods the contract declares, nothing a page could add. */
export function allowedMethods(contract: Contract): ReadonlySet<string> {
  return new Set(Object.values(contract).map((method) => method.name));
}

// ---------------------------------------------------------------------------------------------
// Events (serving side → every subscribed client)

export interface EventDef<N extends string = string, P extends z.ZodType = z.ZodType> {
  readonly name: N;
  readonly payload: P;
  readonly summary?: string;
}

export function defineEvent<const N extends string, P extends z.ZodType>(
  def: EventDef<N, P>,
): EventDef<N, P> {
  return Object.freeze({ ...def });
}

export type EventMap = { readonly [name: string]: EventDef };

type EventsOf<Es extends readonly EventDef[]> = { readonly [E in Es[number] as E['name']]: E };

export function defineEvents<const Es extends readonly EventDef[]>(...events: Es): EventsOf<Es> {
  const map: Record<string, EventDef> = {};
  for (const event of events) {
    if (Object.hasOwn(map, event.name)) throw new Error(`Event defined twice: ${event.name}`);
    map[event.name] = event;
  }
  return Object.freeze(map) as EventsOf<Es>;
}

export type EventName<E extends EventMap> = keyof E & string;
/** What a subscriber receives (after parsing). */
export type EventPayload<K extends EventName<E>, E extends EventMap> = z.output<E[K]['payload']>;
/** What the serving side emits (before parsing). */
export type EventInput<K extends EventName<E>, E extends EventMap> = z.input<E[K]['payload']>;

/** How the serving side publishes an event; typed so an emitter cannot send a misshapen payload. */
export type EmitFn<E extends EventMap> = <K extends EventName<E>>(
  event: K,
  payload: EventInput<K, E>,
) => void;

/** One event as it crosses a transport (IPC message, WebSocket frame). */
export const eventFrameSchema = z.object({ event: z.string(), payload: z.unknown() });
export type EventFrame = z.infer<typeof eventFrameSchema>;

export function allowedEvents(events: EventMap): ReadonlySet<string> {
  return new Set(Object.values(events).map((event) => event.name));
}

// ---------------------------------------------------------------------------------------------
// Serving side (IPC handler, HTTP route): validate, dispatch, wrap

/** Never throws: whatever goes wrong becomes an error envelope (see [Note: Why an envelope]). */
export async function dispatch<C extends Contract>(
  contract: C,
  handlers: HandlersOf<C>,
  method: unknown,
  input: unknown,
): Promise<Envelope> {
  try {
    // Object.hasOwn, not `in`: a page must not reach 'constructor' or '__proto__' through here.
    if (typeof method !== 'string' || !Object.hasOwn(contract, method)) {
      throw apiError('ApiError', `Unknown method: ${String(method)}`, API_ERROR_CODES.unknownMethod);
    }
    const def = contract[method]!;
    const parsed = def.input.safeParse(input);
    if (!parsed.success) {
      throw apiError(
        'ValidationError',
        `Invalid input to ${method}: ${describeIssues(parsed.error)}`,
        API_ERROR_CODES.invalidInput,
      );
    }
    const handler = (handlers as Record<string, (input: unknown) => Promise<unknown>>)[method];
    if (!handler) throw apiError('ApiError', `No handler for ${method}`, API_ERROR_CODES.unknownMethod);
    return okEnvelope(await handler(parsed.data));
  } catch (thrown) {
    return errorEnvelope(thrown);
  }
}

// ---------------------------------------------------------------------------------------------
// Calling side (renderer, tests, scripts)

export type EventListener = (event: string, payload: unknown) => void;

/** How a client reaches the serving side; IPC and HTTP both fit, and the client cannot tell which. */
export interface Transport {
  invoke(method: string, input: unknown): Promise<Envelope>;
  /**
   * Delivers every event the serving side publishes until the returned function is called. Optional:
   * a transport without events (a test's loopback, a one-shot script) leaves it out.
   */
  subscribe?(listener: EventListener): () => void;
}

export interface Client<C extends Contract, E extends EventMap = EventMap> {
  call<K extends MethodName<C>>(method: K, input: MethodInput<K, C>): Promise<MethodOutput<K, C>>;
  /**
   * Calls `handler` with each `event` whose payload matches its schema; returns the unsubscribe
   * function. A payload that does not match goes to the client's `onInvalidEvent` instead.
   */
  on<K extends EventName<E>>(event: K, handler: (payload: EventPayload<K, E>) => void): () => void;
}

export interface ClientOptions {
  /** Where event payloads that fail their schema are reported (default: dropped silently). */
  onInvalidEvent?: (error: Error) => void;
}

export function createContractClient<C extends Contract, E extends EventMap>(
  transport: Transport,
  contract: C,
  events: E,
  options: ClientOptions = {},
): Client<C, E> {
  return {
    async call(method, input) {
      const def = Object.hasOwn(contract, method) ? contract[method] : undefined;
      if (!def) throw apiError('ApiError', `Unknown method: ${method}`, API_ERROR_CODES.unknownMethod);
      const envelope = envelopeSchema.safeParse(await transport.invoke(method, input));
      if (!envelope.success) {
        throw apiError(
          'ApiError',
          `Malformed reply to ${method}: ${describeIssues(envelope.error)}`,
          API_ERROR_CODES.badEnvelope,
        );
      }
      if (!envelope.data.ok) throw fromWireError(envelope.data.error);
      const output = def.output.safeParse(envelope.data.result);
      if (!output.success) {
        throw apiError(
          'ValidationError',
          `Invalid output from ${method}: ${describeIssues(output.error)}`,
          API_ERROR_CODES.invalidOutput,
        );
      }
      return output.data as MethodOutput<typeof method, C>;
    },
    on(event, handler) {
      const def = Object.hasOwn(events, event) ? events[event] : undefined;
      if (!def) throw apiError('ApiError', `Unknown event: ${event}`, API_ERROR_CODES.unknownMethod);
      if (!transport.subscribe) {
        throw apiError('ApiError', `This transport carries no events (asked for ${event})`);
      }
      return transport.subscribe((name, payload) => {
        if (name !== event) return;
        const parsed = def.payload.safeParse(payload);
        if (parsed.success) handler(parsed.data as EventPayload<typeof event, E>);
        else
          options.onInvalidEvent?.(
            apiError(
              'ValidationError',
              `Invalid payload of event ${event}: ${describeIssues(parsed.error)}`,
              API_ERROR_CODES.invalidOutput,
            ),
          );
      });
    },
  };
}

/**
 * One line per failure, each naming the field. Written here rather than using z.prettifyError,
 * whose multi-line layout does not fit a status line or a CLI error.
 */
export function describeIssues(error: z.ZodError): string {
  // Paths and messages can carry the caller's own input (a record key, an unknown field's name):
  // quoted in short form, and only the first few issues, so a huge input never comes back whole.
  const MAX_ISSUES = 5;
  const MAX_CHARS = 300;
  const parts = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = issue.path.map(String).join('.');
    const text = path ? `${path}: ${issue.message}` : issue.message;
    return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}… (${text.length} characters)` : text;
  });
  if (error.issues.length > MAX_ISSUES) parts.push(`and ${error.issues.length - MAX_ISSUES} more`);
  return parts.join('; ');
}
