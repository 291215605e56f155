import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDemoWorkspace } from '../../src-main/services/demo-workspace.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
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
