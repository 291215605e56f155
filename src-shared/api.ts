/**
 * The API contract between the UI and the core, declared once.
 *
 * Every method is a name plus a zod schema for its input and one for its output. From this one map
 * come: the TypeScript types of the client and of the handler table, the preload's allow-list, and
 * the runtime checks at the boundary — input is checked where it is served (the renderer is not
 * trusted), output where it is received (a handler bug shows up as a clear error, not as a UI that
 * quietly renders `undefined`).
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

export interface MethodDef<
  N extends string = string,
  I extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
> {
  readonly name: N;
  readonly input: I;
  readonly output: O;
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

// ---------------------------------------------------------------------------------------------
// The methods

export const appInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  platform: z.string(),
  /** Absolute path of the open workspace folder; null until one is opened. */
  workspace: z.string().nullable(),
  /** True when the open workspace holds generated (synthetic) data rather than K-Fashion labels. */
  synthetic: z.boolean(),
});
export type AppInfo = z.infer<typeof appInfoSchema>;

export const api = defineContract(
  // Strict objects: an unexpected key is almost always a caller's typo, better caught than ignored.
  defineMethod({ name: 'app.info', input: z.strictObject({}), output: appInfoSchema }),
);

export type Api = typeof api;
export type MethodName<C extends Contract = Api> = keyof C & string;
/** What a caller passes (before parsing, so defaults may be omitted). */
export type MethodInput<K extends MethodName<C>, C extends Contract = Api> = z.input<C[K]['input']>;
/** What a caller gets back (after parsing). */
export type MethodOutput<K extends MethodName<C>, C extends Contract = Api> = z.output<C[K]['output']>;

/** The serving side: one async function per method, given parsed input. */
export type Handlers<C extends Contract = Api> = {
  readonly [K in MethodName<C>]: (input: z.output<C[K]['input']>) => Promise<z.input<C[K]['output']>>;
};

/** The preload's allow-list: exactly the methods the contract declares, nothing a page could add. */
export function allowedMethods(contract: Contract): ReadonlySet<string> {
  return new Set(Object.values(contract).map((method) => method.name));
}

// ---------------------------------------------------------------------------------------------
// Serving side (IPC handler, HTTP route): validate, dispatch, wrap

/** Never throws: whatever goes wrong becomes an error envelope (see [Note: Why an envelope]). */
export async function dispatch<C extends Contract>(
  contract: C,
  handlers: Handlers<C>,
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

/** How a client reaches the serving side; IPC and HTTP both fit, and the client cannot tell which. */
export interface Transport {
  invoke(method: string, input: unknown): Promise<Envelope>;
}

export interface Client<C extends Contract = Api> {
  call<K extends MethodName<C>>(method: K, input: MethodInput<K, C>): Promise<MethodOutput<K, C>>;
}

export function createClient(transport: Transport): Client<Api>;
export function createClient<C extends Contract>(transport: Transport, contract: C): Client<C>;
export function createClient(transport: Transport, contract: Contract = api): Client<Contract> {
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
      return output.data;
    },
  };
}

/**
 * One line per failure, each naming the field. Written here rather than using z.prettifyError,
 * whose multi-line layout does not fit a status line or a CLI error.
 */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
