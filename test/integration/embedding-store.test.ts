import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';

let tree: FixtureTree;
let dir: string;
let ws: Workspace;
beforeEach(async () => {
  tree = new FixtureTree();
  dir = tempDir();
  ws = Workspace.open(dir);
  for (let i = 1; i <= 3; i++) tree.addLabel('로맨틱', simpleLabel(i));
  await scanDataset(ws, { data: tree.root });
});
afterEach(() => {
  ws.close();
  tree.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedding store', () => {
  it('round-trips vectors in the asked order and survives reopening the workspace', () => {
    const store = new EmbeddingStore(ws.db);
    store.defineModel('m', 4, 'import', { file: 'x.npy' });
    const ids = ['로맨틱/1/상의', '로맨틱/2/상의', '로맨틱/3/상의'];
    const v = Float32Array.from({ length: 12 }, (_, i) => i / 7);
    store.put('m', ids, v, ['k1', null, 'k3']);
    ws.close();
    ws = Workspace.open(dir, { create: false });
    const again = new EmbeddingStore(ws.db);
    expect(Array.from(again.matrix('m', [ids[2]!, ids[0]!]))).toEqual([...v.slice(8, 12), ...v.slice(0, 4)]);
    expect(again.cropKeys('m').get(ids[0]!)).toBe('k1');
    expect(again.models()).toMatchObject([
      { model: 'm', dim: 4, source: 'import', count: 3, detail: { file: 'x.npy' } },
    ]);
  });

  it('names missing items, unknown models and dimension clashes', () => {
    const store = new EmbeddingStore(ws.db);
    expect(() => store.matrix('nope', ['a'])).toThrow('No embeddings for model "nope"');
    store.defineModel('m', 2, 'onnx');
    store.put('m', ['로맨틱/1/상의'], new Float32Array([1, 0]));
    expect(() => store.matrix('m', ['로맨틱/1/상의', '로맨틱/2/상의'])).toThrow(
      /1 of 2 items have no "m" embedding, e\.g\. 로맨틱\/2\/상의/,
    );
    expect(() => store.defineModel('m', 3, 'onnx')).toThrow('are 2-d; new ones are 3-d');
    expect(() => store.put('m', ['로맨틱/1/상의'], new Float32Array(3))).toThrow('need 2 floats, got 3');
  });

  it("drops an item's vectors when a re-scan removes the item", async () => {
    const store = new EmbeddingStore(ws.db);
    store.defineModel('m', 2, 'onnx');
    store.put('m', ['로맨틱/3/상의'], new Float32Array([0, 1]));
    rmSync(`${tree.root}/라벨링데이터/로맨틱/3.json`);
    await scanDataset(ws, { data: tree.root });
    expect(store.models()[0]!.count).toBe(0);
  });
});
