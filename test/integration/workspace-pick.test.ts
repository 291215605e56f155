/**
 * The desktop app's folder picker, through the shared handler table with a stand-in dialog: a data
 * folder gets its own workspace in the app's data folder and a scan job; a workspace folder opens;
 * an empty folder becomes a new workspace; a cancelled dialog changes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { createHandlers, datasetWorkspacePath } from '../../src-main/services/api-handlers.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { api, createClient, dispatch } from '../../src-shared/api.ts';
import type { Envelope } from '../../src-shared/api-errors.ts';
import { FixtureTree, simpleLabel } from '../helpers/kfashion-fixture.ts';

const JOB_WORKER = join(import.meta.dirname, '..', '..', 'dist', 'job-worker.js');

let fixture: FixtureTree;
let base: string;
let session: ApiSession;
let next: string | null = null;
const asked: string[] = [];

beforeAll(() => {
  fixture = new FixtureTree();
  for (let i = 1; i <= 5; i++) fixture.addLabel('리조트', simpleLabel(i));
  base = mkdtempSync(join(tmpdir(), 'kf-pick-'));
  session = new ApiSession({
    mode: 'desktop',
    appName: 'K-Fashion Workbench',
    version: 'test',
    dataDir: join(base, 'userData'),
    jobs: new JobHost({ workerScript: JOB_WORKER }),
    pickFolder: async (purpose) => {
      asked.push(purpose);
      return next;
    },
  });
});

afterAll(async () => {
  await session?.close();
  fixture?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

const handlers = () => createHandlers(session);
const client = () =>
  createClient({
    invoke: async (method, input) =>
      JSON.parse(JSON.stringify(await dispatch(api, handlers(), method, input))) as Envelope,
  });

describe('workspace.pick', () => {
  it('a data folder: a workspace in the data folder, and a scan job', async () => {
    next = fixture.root;
    const r = await client().call('workspace.pick', {});
    expect(r.openedAs).toBe('dataset');
    expect(r.scan?.kind).toBe('scan');
    const ws = datasetWorkspacePath(join(base, 'userData'), fixture.root);
    expect(r.info.workspace).toBe(ws);
    expect(ws.startsWith(join(base, 'userData', 'workspaces'))).toBe(true);
    await session.jobs.wait(r.scan!.job);
    expect((await client().call('workspace.summary', {})).items).toBe(5);
    // The data folder itself was not written into.
    expect(existsSync(join(fixture.root, 'workspace.db'))).toBe(false);
    // Picking it again reuses the same workspace.
    expect(datasetWorkspacePath(join(base, 'userData'), `${fixture.root}/`)).toBe(ws);
  });

  it('a workspace folder opens; an empty folder becomes one; cancel changes nothing', async () => {
    const ws = datasetWorkspacePath(join(base, 'userData'), fixture.root);
    next = ws;
    await expect(client().call('workspace.pick', {})).resolves.toMatchObject({
      openedAs: 'workspace',
      scan: null,
    });
    const empty = join(base, '새 작업공간');
    mkdirSync(empty);
    next = empty;
    const made = await client().call('workspace.pick', {});
    expect(made).toMatchObject({ openedAs: 'new-workspace', info: { workspace: empty } });
    expect(existsSync(join(empty, 'workspace.db'))).toBe(true);
    next = null;
    await expect(client().call('workspace.pick', {})).resolves.toMatchObject({
      path: null,
      openedAs: null,
      info: { workspace: empty },
    });
    await expect(client().call('dataset.pick', {})).resolves.toEqual({ path: null });
    expect(asked).toEqual(['workspace', 'workspace', 'workspace', 'workspace', 'dataset']);
  });
});
