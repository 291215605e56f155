/**
 * The real `kfashion serve` and `kfashion web` (dist/cli.js) with the guard's flags: a server bound to
 * 0.0.0.0 makes and prints a token once, refuses requests without it (401) and takes them with it;
 * a token from KFASHION_TOKEN is never printed; neither ever reaches the request log; `web --root`
 * bounds the paths an RPC may name. Also `kfashion sanity` without a workspace writes its file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workbench } from '../../src-main/services/workbench.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { startWeb } from '../helpers/web-process.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');
let base: string;
let workspace: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  base = tempDir('kf-cli-guard ');
  workspace = join(base, 'ws');
  const wb = Workbench.open(workspace, { create: true });
  await wb.closeAsync();
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

/** Starts `kfashion serve` and resolves with its port and a reader of everything it printed. */
function startServe(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, 'serve', '--workspace', workspace, '--port', '0', ...args], {
    env: { ...process.env, FORCE_COLOR: '0', KFASHION_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return new Promise<{ port: string; output: () => string; stop: () => Promise<void> }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${text}`)), 60_000);
    const poll = setInterval(() => {
      const m = /serving .* at http:\/\/[^\s]*:(\d+)/.exec(text);
      if (m && text.includes('Ctrl-C')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ port: m[1]!, output: () => text, stop });
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${text}`));
    });
  });
}

const count = (text: string, what: string) => text.split(what).length - 1;

describe('kfashion serve away from loopback', () => {
  it('makes a token, prints it once, answers 401 without it and 200 with it, and never logs it', async () => {
    const s = await startServe(['--host', '0.0.0.0', '--log']);
    try {
      const m = /token required \(bound to 0\.0\.0\.0\): send "Authorization: Bearer ([\w-]+)"/.exec(
        s.output(),
      );
      expect(m, s.output()).not.toBeNull();
      const token = m![1]!;
      const at = `http://127.0.0.1:${s.port}`;
      const none = await fetch(`${at}/api/health`);
      expect(none.status).toBe(401);
      const wrong = await fetch(`${at}/api/health`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${at}/api/health`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      // A token put in a URL is no credential for serve, and does not reach the request log.
      expect((await fetch(`${at}/api/health?token=${token}`)).status).toBe(401);
      await new Promise((r) => setTimeout(r, 200));
      expect(s.output()).toContain('"url":"/api/health"');
      expect(count(s.output(), token)).toBe(1);
    } finally {
      await s.stop();
    }
  }, 90_000);

  it('takes the token from KFASHION_TOKEN, prints none; --public-read opens reads, not writes', async () => {
    const token = 'env-token-for-the-test-0123456789';
    const s = await startServe(['--host', '0.0.0.0', '--public-read', '--log'], { KFASHION_TOKEN: token });
    try {
      const at = `http://127.0.0.1:${s.port}`;
      expect((await fetch(`${at}/api/health`)).status).toBe(200);
      const del = await fetch(`${at}/api/catalog/x`, { method: 'DELETE' });
      expect(del.status).toBe(401);
      const delWithToken = await fetch(`${at}/api/catalog/x`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(delWithToken.status).toBe(404);
      await new Promise((r) => setTimeout(r, 200));
      expect(s.output()).toContain('token required: send "Authorization: Bearer <the token of --token');
      expect(s.output()).not.toContain(token);
    } finally {
      await s.stop();
    }
  }, 90_000);

  it('refuses a short token and --public-read without a token, as usage errors', () => {
    const short = kfashion(['serve', '--workspace', workspace, '--host', '0.0.0.0', '--token', 'abc']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 16 characters');
    const open = kfashion(['serve', '--workspace', workspace, '--public-read']);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('--public-read only makes sense with a token');
    const origin = kfashion(['serve', '--workspace', workspace, '--allow-origin', 'shop.example']);
    expect(origin.code).toBe(2);
    expect(origin.stderr).toContain(
      '--allow-origin shop.example: expected an origin like https://shop.example',
    );
  });
});

describe('kfashion web --root', () => {
  it('lets the browser name paths inside the roots, the data folder and the start workspace only', async () => {
    const root = join(base, 'root 폴더');
    mkdirSync(root, { recursive: true });
    const web = await startWeb(['--workspace', workspace, '--root', root], {
      KFASHION_DATA_DIR: join(base, 'app-data'),
    });
    try {
      // The address line comes first; the rest of the banner follows it.
      for (let i = 0; i < 100 && !web.output().includes('Ctrl-C'); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(web.output()).toContain(`paths the browser may name: inside ${join(base, 'app-data')}, ${root}`);
      const call = (method: string, input: unknown) =>
        fetch(new URL(`api/rpc/${method}`, web.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input),
        }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { error: { message: string } },
        }));
      const outside = await call('workspace.open', { path: join(base, 'elsewhere'), create: true });
      expect(outside.status).toBe(403);
      expect(outside.body.error.message).toContain(join(base, 'elsewhere'));
      expect(outside.body.error.message).toContain('--root');
      expect(existsSync(join(base, 'elsewhere'))).toBe(false);
      const inside = await call('workspace.open', { path: join(root, 'ws2'), create: true });
      expect(inside.status).toBe(200);
      const back = await call('workspace.open', { path: workspace });
      expect(back.status).toBe(200);
    } finally {
      await web.stop();
    }
  }, 90_000);
});

describe('kfashion sanity without a workspace', () => {
  it('writes temp_logs/sanity_check_results.json under the current folder (or --out), whole, and says where', () => {
    const cwd = join(base, 'sanity here');
    mkdirSync(cwd, { recursive: true });
    const r = kfashion(['sanity', '--backend', 'wasm'], { cwd, timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const file = join(cwd, 'temp_logs', 'sanity_check_results.json');
    expect(r.stdout).toContain(`written to ${file}`);
    expect(r.stdout).toContain('SANITY CHECK PASS');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ pass: true, data: 'synthetic', resultsPath: file, workspace: null });
    expect(saved.checks.length).toBeGreaterThan(5);
    expect(typeof saved.timestamp).toBe('string');
    // Only the final file: no temporary one left beside it.
    expect(readdirSync(join(cwd, 'temp_logs'))).toEqual(['sanity_check_results.json']);

    const out = join(base, 'sanity out');
    const j = kfashion(['sanity', '--backend', 'wasm', '--json', '--out', out], { cwd, timeoutMs: 180_000 });
    expect(j.code, j.stderr).toBe(0);
    const outFile = join(out, 'temp_logs', 'sanity_check_results.json');
    expect(JSON.parse(j.stdout).resultsPath).toBe(outFile);
    expect(JSON.parse(readFileSync(outFile, 'utf8')).pass).toBe(true);
  }, 400_000);
});
