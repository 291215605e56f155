/** Starts the real `kfashion web` in a child process on 127.0.0.1 and any free port, as a user would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');

export interface WebProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

export function startWeb(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<WebProcess> {
  const child = spawn(process.execPath, [BIN, 'web', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
      // A server that does not stop on SIGTERM (a job that ignores cancel) must not hang the suite.
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`kfashion web did not print its address within ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    const onData = () => {
      const m = /\(browser mode\) at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ url: m[1]!, child, output: () => text, stop });
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kfashion web exited with code ${code} before listening:\n${text}`));
    });
  });
}
