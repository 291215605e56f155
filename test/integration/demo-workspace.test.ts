import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDemoWorkspace } from '../../src-main/services/demo-workspace.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { chooseEmbeddingModel } from '../../src-main/training/training-data.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const base = tempDir('kf-app-data ');
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('demo workspace (first start of the app)', () => {
  it('is created once, synthetic, with items on both sides of the split, and reused afterwards', async () => {
    const first = await ensureDemoWorkspace(base);
    expect(first.created).toBe(true);
    const wb = Workbench.open(first.workspace, { create: false });
    const s = wb.summary();
    wb.close();
    expect(s.synthetic).toBe(true);
    expect(s.items).toBeGreaterThan(200);
    expect(Object.keys(s.perStyle).sort()).toEqual(['레트로', '로맨틱', '리조트']);
    for (const style of Object.values(s.perStyle)) {
      expect(style.valItems).toBeGreaterThan(0);
      expect(style.trainItems).toBeGreaterThan(style.valItems);
    }
    const second = await ensureDemoWorkspace(base);
    expect(second).toEqual({ ...first, created: false });
  });
});

describe('demo workspace: image → image with the SYNTHETIC stand-in encoder', () => {
  it('embeds every crop with demo-standin, imports a synthetic catalog, recommends, and trains on synthetic-demo', async () => {
    const { workspace } = await ensureDemoWorkspace(base);
    const wb = Workbench.open(workspace, { create: false });
    try {
      expect(wb.imageEncoder()).toEqual({
        model: 'demo-standin',
        kind: 'demo-standin',
        synthetic: true,
        label: 'demo-standin (SYNTHETIC stand-in image encoder, not FashionCLIP)',
      });
      const s = wb.summary();
      const standin = wb.embeddingModels().find((m) => m.model === 'demo-standin')!;
      expect(standin.count).toBe(s.items);
      expect(standin.detail).toMatchObject({ synthetic: true });
      expect(String(standin.detail['note'])).toContain('SYNTHETIC stand-in image encoder');
      // Training and centrality keep using the attribute-derived stand-in vectors.
      expect(chooseEmbeddingModel(wb.embeddingModels()).model).toBe('synthetic-demo');

      const products = wb.catalog().list();
      expect(products).toHaveLength(40);
      expect(products.every((p) => p.synthetic && p.embeddings.includes('demo-standin'))).toBe(true);
      expect(new Set(products.map((p) => p.style))).toEqual(new Set(['레트로', '로맨틱', '리조트']));

      // A product's own picture comes back first; every answer says SYNTHETIC.
      const p = products[5]!;
      const bytes = readFileSync(join(workspace, p.image));
      const r = await wb.recommendCustomerInput({ upload: { bytes, field: 'image' }, k: 5 });
      expect(r.matches[0]!.productId).toBe(p.id);
      expect(r.matches[0]!.score).toBeGreaterThan(0.9999);
      expect(r.note).toMatch(/^SYNTHETIC: /);
      expect(r.encoder.synthetic).toBe(true);

      const t = await wb.recommendTop10ToNew({ useCentralityProxy: true });
      expect(t.inputs).toHaveLength(Math.ceil(s.items * 0.1));
      expect(t.inputSource).toContain('"synthetic-demo"');
      expect(t.inputs.every((x) => x.matches.length === 10)).toBe(true);
    } finally {
      await wb.closeAsync();
    }
  });
});
