import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importEmbeddings } from '../../src-main/encoders/import-embeddings.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { encodeNpy, writeNpySync } from '../../src-main/store/npy.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';

let tree: FixtureTree;
let dir: string;
let wb: Workbench;
const IDS = ['로맨틱/1/상의', '로맨틱/2/상의', '로맨틱/3/상의'];

/** Rows i = 0..n-1: a vector with `scale` at position i (so its norm is |scale|). */
function rows(n: number, dim: number, scale = 1): Float32Array {
  const m = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) m[i * dim + i] = scale;
  return m;
}

function files(
  name: string,
  data: Float32Array,
  shape: number[],
  ids: unknown,
): { npy: string; ids: string } {
  const npy = join(dir, `${name}.npy`);
  const idsFile = join(dir, `${name}.json`);
  writeNpySync(npy, data, shape);
  writeFileSync(idsFile, JSON.stringify(ids));
  return { npy, ids: idsFile };
}

beforeAll(async () => {
  tree = new FixtureTree();
  dir = tempDir('kf-import-');
  for (let i = 1; i <= 3; i++) tree.addLabel('로맨틱', simpleLabel(i));
  wb = Workbench.open(join(dir, 'ws'));
  await wb.scan({ data: tree.root });
});
afterAll(() => {
  wb.close();
  tree.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('kfashion embed --import', () => {
  it('stores unit-norm float32 rows as is under the default model id', async () => {
    const r = await wb.importEmbeddings(files('good', rows(3, 512), [3, 512], IDS));
    expect(r).toMatchObject({
      model: 'fashion-clip',
      source: 'import',
      synthetic: false,
      rows: 3,
      dim: 512,
      dtype: '<f4',
      converted: null,
      normalised: 0,
      unknownIds: { count: 0, first: [] },
      stored: 3,
      notes: [],
    });
    const m = new EmbeddingStore(wb.workspace.db).matrix('fashion-clip', [IDS[1]!]);
    expect(m[1]).toBe(1);
  });

  it('normalises rows that are not unit-length and says how many', async () => {
    const data = rows(3, 512);
    data[0] = 2; // row 0 norm 2
    data[512 + 1] = 1.0005; // row 1 within 1e-3: left alone
    const r = await wb.importEmbeddings({ ...files('norm', data, [3, 512], IDS), model: 'normed' });
    expect(r.normalised).toBe(1);
    expect(r.notes).toContain(
      '1 of 3 rows were not unit-length (off by more than 0.001) and were L2-normalised.',
    );
    const m = new EmbeddingStore(wb.workspace.db).matrix('normed', IDS);
    expect(m[0]).toBe(1);
    expect(m[512 + 1]).toBeCloseTo(1.0005, 6);
  });

  it('converts float64 and says so', async () => {
    const f64 = rows(3, 512);
    // A little-endian float64 .npy, written by hand (encodeNpy only writes float32).
    const f32 = encodeNpy(f64, [3, 512]);
    const header = f32.subarray(0, f32.length - f64.byteLength);
    const text = new TextDecoder('latin1').decode(header).replace("'<f4'", "'<f8'");
    const body = new Float64Array(f64);
    const npy = join(dir, 'f64.npy');
    writeFileSync(npy, Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from(body.buffer)]));
    const ids = join(dir, 'f64.json');
    writeFileSync(ids, JSON.stringify(IDS));
    const r = await wb.importEmbeddings({ npy, ids, model: 'f64' });
    expect(r).toMatchObject({ dtype: '<f8', converted: 'float64 → float32', stored: 3 });
    expect(r.notes).toContain('The file holds float64; converted to float32.');
  });

  it('counts and lists ids the workspace does not know, and stores the rest', async () => {
    const ids = [...IDS, '로맨틱/404/상의', '레트로/1/하의'];
    const r = await wb.importEmbeddings({
      ...files('unknown', rows(5, 512), [5, 512], ids),
      model: 'partial',
    });
    expect(r.unknownIds).toEqual({ count: 2, first: ['로맨틱/404/상의', '레트로/1/하의'] });
    expect(r.stored).toBe(3);
    expect(r.notes.at(-1)).toContain(
      '2 ids are not garments of this workspace and were skipped, e.g. 로맨틱/404/상의',
    );
    expect(new EmbeddingStore(wb.workspace.db).models().find((m) => m.model === 'partial')?.count).toBe(3);
  });

  it('reads the file block by block: normalising, unknown ids and progress cross block edges', async () => {
    const ids = [...IDS, '로맨틱/404/상의'];
    const data = rows(4, 512);
    data[2 * 512 + 2] = 3; // row 2 (second block of 2) has norm 3
    const phases: string[] = [];
    // The core function, to see its progress callbacks raw (the Workbench wraps them as job events).
    const r = await importEmbeddings(wb.workspace, {
      ...files('blocks', data, [4, 512], ids),
      model: 'blocks',
      blockRows: 2,
      onProgress: (phase, step, total) => phases.push(`${phase} ${step}/${total}`),
    });
    expect(r).toMatchObject({ rows: 4, normalised: 1, stored: 3, unknownIds: { count: 1 } });
    expect(phases).toEqual(['check 2/4', 'check 4/4', 'store 2/4', 'store 4/4']);
    const m = new EmbeddingStore(wb.workspace.db).matrix('blocks', IDS);
    expect(m[2 * 512 + 2]).toBe(1);
  });

  it('checks every block before storing any: a bad last block stores nothing', async () => {
    const data = rows(3, 512);
    data[2 * 512 + 5] = Number.POSITIVE_INFINITY;
    await expect(
      wb.importEmbeddings({ ...files('badlast', data, [3, 512], IDS), model: 'badlast', blockRows: 1 }),
    ).rejects.toThrow('1 of 3 rows hold NaN or infinite values, e.g. rows 2 (로맨틱/3/상의)');
    expect(new EmbeddingStore(wb.workspace.db).models().map((m) => m.model)).not.toContain('badlast');
  });

  it('a cancel while storing keeps the blocks already stored', async () => {
    const ctl = new AbortController();
    await expect(
      importEmbeddings(wb.workspace, {
        ...files('cancel', rows(3, 512), [3, 512], IDS),
        model: 'cancelled',
        blockRows: 1,
        signal: ctl.signal,
        onProgress: (phase, step) => {
          if (phase === 'store' && step === 2) ctl.abort();
        },
      }),
    ).rejects.toThrow('import cancelled');
    expect(new EmbeddingStore(wb.workspace.db).models().find((m) => m.model === 'cancelled')?.count).toBe(2);
  });

  it('rejects a wrong shape, a row count that differs from the ids, NaN rows and duplicate ids', async () => {
    await expect(wb.importEmbeddings(files('d768', rows(3, 768), [3, 768], IDS))).rejects.toThrow(
      'rows are 768-d (shape [3, 768]); expected 512-d FashionCLIP image embeddings',
    );
    await expect(wb.importEmbeddings(files('flat', rows(1, 512), [512], IDS))).rejects.toThrow(
      'shape [512] is not a matrix; expected [N, 512]',
    );
    const short = files('short', rows(2, 512), [2, 512], IDS);
    await expect(wb.importEmbeddings(short)).rejects.toThrow(
      `${short.npy} has 2 rows but ${short.ids} lists 3 ids`,
    );
    const nan = rows(3, 512);
    nan[512 * 2 + 7] = Number.NaN;
    await expect(wb.importEmbeddings(files('nan', nan, [3, 512], IDS))).rejects.toThrow(
      '1 of 3 rows hold NaN or infinite values, e.g. rows 2 (로맨틱/3/상의)',
    );
    const dup = files('dup', rows(3, 512), [3, 512], [IDS[0], IDS[1], IDS[0]]);
    await expect(wb.importEmbeddings(dup)).rejects.toThrow(
      `${dup.ids}: 1 duplicate ids, e.g. 로맨틱/1/상의 (entries 0 and 2)`,
    );
    const notList = files('obj', rows(3, 512), [3, 512], { val: IDS });
    await expect(wb.importEmbeddings(notList)).rejects.toThrow('expected a JSON list of item ids');
    // Nothing of the failed imports was stored.
    const models = new EmbeddingStore(wb.workspace.db).models().map((m) => m.model);
    expect(models).not.toContain('d768');
  });
});
