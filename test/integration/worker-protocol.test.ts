/**
 * The worker protocol against real bundled entries (dist/, built by the test set-up): typed calls,
 * errors that carry the worker's stack (a real file), moved buffers, a dying thread failing its
 * pending calls instead of hanging them, and no worker anywhere started from source text.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { OnnxSessionTasks } from '../../src-main/encoders/onnx-session-worker.ts';
import { connect, transfer, workerEntry } from '../../src-main/workers/protocol.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const base = mkdtempSync(join(tmpdir(), 'kf-protocol-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('worker protocol', () => {
  it('finds every bundled entry from the sources, each built by both builds', () => {
    const cli = readFileSync(join(ROOT, 'scripts', 'build-cli.js'), 'utf8');
    const vite = readFileSync(join(ROOT, 'electron.vite.config.ts'), 'utf8');
    for (const name of [
      'job-worker',
      'worker',
      'onnx-session-worker',
      'search-worker',
      'shard-helper',
      'matmul-worker',
    ]) {
      expect(workerEntry(name), name).toBe(join(ROOT, 'dist', `${name}.js`));
      expect(cli).toContain(name === 'worker' ? 'worker:' : `'${name}':`);
      expect(vite).toContain(name === 'worker' ? 'worker:' : `'${name}':`);
    }
    expect(workerEntry('no-such-entry')).toBeNull();
  });

  it('no worker in src-main is started from source text', () => {
    const offenders = sourceFiles(join(ROOT, 'src-main')).filter((f) =>
      /eval:\s*true/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('calls a real entry typed, rethrows its errors with its stack, and moves marked buffers', async () => {
    const conn = connect<OnnxSessionTasks>(new Worker(workerEntry('onnx-session-worker')!), {
      name: 'ONNX test thread',
    });
    try {
      // A task's own error: same name and message, and the stack of the file that threw in the worker.
      const err = await conn.call.run({}, ['y']).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toBe('no ONNX Runtime session is open on this thread');
      expect((err as Error).stack).toContain(join(ROOT, 'dist'));
      // An identity graph, with a constant input moved to the thread once.
      const { onnxModel } = await import('../../src-main/encoders/onnx-model-writer.ts');
      const model = onnxModel({
        name: 'add',
        inputs: [
          { name: 'x', type: 'float', dims: [2] },
          { name: 'c', type: 'float', dims: [2] },
        ],
        outputs: [{ name: 'y', type: 'float', dims: [2] }],
        nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
        initializers: [],
      });
      const c = Float32Array.of(10, 20);
      const info = await conn.call.open(
        transfer(
          { model, options: {}, constants: { c: { type: 'float32', data: c, dims: [2] } }, quiet: true },
          [c.buffer],
        ),
      );
      expect(c.byteLength).toBe(0); // moved, not copied
      expect(info.inputNames).toEqual(['x', 'c']);
      const out = await conn.call.run({ x: { type: 'float32', data: Float32Array.of(1, 2), dims: [2] } }, [
        'y',
      ]);
      expect([...(out.y!.data as Float32Array)]).toEqual([11, 22]);
      await conn.call.release();
    } finally {
      await conn.terminate();
    }
  });

  it('fails a pending call when its thread dies, and every later call at once', async () => {
    const script = join(base, 'dies.mjs');
    // Answers nothing; exits on the first message (a native library calling exit, say).
    writeFileSync(
      script,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(7));\n",
    );
    const conn = connect<{ ping(): string }>(new Worker(script), { name: 'test thread' });
    await expect(conn.call.ping()).rejects.toMatchObject({
      name: 'WorkerExitedError',
      message: 'the test thread exited (code 7) before answering',
    });
    await expect(conn.call.ping()).rejects.toMatchObject({ name: 'WorkerExitedError' });
    expect(await conn.exited).toBe(7);
  });
});
