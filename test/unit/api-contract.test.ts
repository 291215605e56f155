import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  allowedMethods,
  api,
  createClient,
  defineContract,
  defineMethod,
  dispatch,
  type Handlers,
  type Transport,
} from '../../src-shared/api.ts';
import { API_ERROR_CODES, ApiError, type Envelope } from '../../src-shared/api-errors.ts';

// A contract of its own, so the tests can exercise fields and failures app.info does not have.
const testApi = defineContract(
  defineMethod({
    name: 'test.echo',
    input: z.strictObject({ text: z.string(), times: z.number().int().positive().default(1) }),
    output: z.object({ echoed: z.string() }),
  }),
  defineMethod({ name: 'test.fail', input: z.strictObject({}), output: z.null() }),
  defineMethod({ name: 'test.badOutput', input: z.strictObject({}), output: z.object({ n: z.number() }) }),
);

class WorkspaceLockedError extends Error {
  override name = 'WorkspaceLockedError';
  code = 'EWORKSPACE_LOCKED';
}

const testHandlers: Handlers<typeof testApi> = {
  'test.echo': async ({ text, times }) => ({ echoed: text.repeat(times) }),
  'test.fail': async () => {
    throw new WorkspaceLockedError('Workspace is locked by another process (워크스페이스 잠김)');
  },
  // A handler bug the type system would normally stop; the cast stands in for a wrong cast in real code.
  'test.badOutput': async () => ({ n: 'not a number' }) as unknown as { n: number },
};

/**
 * Stands in for IPC/HTTP: the envelope goes through JSON, as it would over either transport, so
 * nothing survives that would not survive the real crossing.
 */
function loopback<C extends Parameters<typeof dispatch>[0]>(contract: C, handlers: Handlers<C>): Transport {
  return {
    async invoke(method, input) {
      const envelope = await dispatch(contract, handlers, method, JSON.parse(JSON.stringify(input)));
      return JSON.parse(JSON.stringify(envelope)) as Envelope;
    },
  };
}

const client = createClient(loopback(testApi, testHandlers), testApi);

describe('envelope round trip', () => {
  it('returns the parsed output, defaults applied on the serving side', async () => {
    await expect(client.call('test.echo', { text: 'ab' })).resolves.toEqual({ echoed: 'ab' });
    await expect(client.call('test.echo', { text: 'ab', times: 2 })).resolves.toEqual({ echoed: 'abab' });
  });

  it('rebuilds an error thrown on the serving side as an Error with the same message, name and code', async () => {
    const error = await client.call('test.fail', {}).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('Workspace is locked by another process (워크스페이스 잠김)');
    expect((error as ApiError).name).toBe('WorkspaceLockedError');
    expect((error as ApiError).code).toBe('EWORKSPACE_LOCKED');
  });

  it('turns a non-Error throw into an error envelope rather than a rejection', async () => {
    const envelope = await dispatch(
      testApi,
      {
        ...testHandlers,
        'test.fail': async () => {
          throw 'plain string';
        },
      },
      'test.fail',
      {},
    );
    expect(envelope).toEqual({ ok: false, error: { name: 'Error', message: 'plain string' } });
  });

  it('rejects an output that does not match the schema on the receiving side', async () => {
    await expect(client.call('test.badOutput', {})).rejects.toMatchObject({
      code: API_ERROR_CODES.invalidOutput,
      message: expect.stringContaining('n:'),
    });
  });

  it('rejects a reply that is not an envelope', async () => {
    const broken = createClient({ invoke: async () => ({ result: 1 }) as unknown as Envelope }, testApi);
    await expect(broken.call('test.echo', { text: 'x' })).rejects.toMatchObject({
      code: API_ERROR_CODES.badEnvelope,
    });
  });
});

describe('input validation on the serving side', () => {
  it('rejects a wrongly typed field with a message naming it', async () => {
    const bad = { text: 42 } as unknown as { text: string };
    await expect(client.call('test.echo', bad)).rejects.toMatchObject({
      name: 'ValidationError',
      code: API_ERROR_CODES.invalidInput,
      message: expect.stringMatching(/^Invalid input to test\.echo: text: /),
    });
  });

  it('rejects a missing field and names it', async () => {
    const envelope = await dispatch(testApi, testHandlers, 'test.echo', { times: 2 });
    expect(envelope.ok).toBe(false);
    expect(!envelope.ok && envelope.error.message).toMatch(/\btext: /);
  });

  it('rejects an unexpected key and names it', async () => {
    const envelope = await dispatch(testApi, testHandlers, 'test.echo', { text: 'a', txet: 'b' });
    expect(!envelope.ok && envelope.error.message).toContain('txet');
  });

  it('refuses methods the contract does not declare, including inherited property names', async () => {
    for (const method of ['test.nope', 'constructor', '__proto__', 42]) {
      const envelope = await dispatch(testApi, testHandlers, method, {});
      expect(envelope).toMatchObject({ ok: false, error: { code: API_ERROR_CODES.unknownMethod } });
    }
  });

  it('validates app.info input too', async () => {
    const handlers = {
      'app.info': async () => ({
        name: 'x',
        version: '0',
        platform: 'linux',
        workspace: null,
        synthetic: false,
      }),
    } as unknown as Handlers;
    await expect(dispatch(api, handlers, 'app.info', {})).resolves.toMatchObject({ ok: true });
    const envelope = await dispatch(api, handlers, 'app.info', { verbose: true });
    expect(!envelope.ok && envelope.error.message).toContain('verbose');
  });
});

describe('preload allow-list', () => {
  it('holds exactly the methods the contract declares', () => {
    expect([...allowedMethods(api)].sort()).toEqual(Object.keys(api).sort());
    expect([...allowedMethods(api)]).toContain('app.info');
    expect([...allowedMethods(testApi)].sort()).toEqual(['test.badOutput', 'test.echo', 'test.fail']);
  });

  it('keys each contract by the method name', () => {
    for (const [key, method] of Object.entries(api)) expect(method.name).toBe(key);
    expect(() =>
      defineContract(
        defineMethod({ name: 'dup', input: z.null(), output: z.null() }),
        defineMethod({ name: 'dup', input: z.null(), output: z.null() }),
      ),
    ).toThrow(/dup/);
  });
});
