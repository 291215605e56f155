/** Small parts of the recommendation service: image sniffing, KPI figures, batched search, augmentations. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { BatchedSearch } from '../../src-main/recommend/batched-search.ts';
import { checkImage, ImageInputError, sniffImageFormat } from '../../src-main/recommend/image-input.ts';
import { embeddingHealth, percentile } from '../../src-main/recommend/kpi.ts';
import { VectorIndex } from '../../src-main/retrieval/vector-index.ts';

describe('sniffImageFormat', () => {
  it('recognises images by their first bytes, not their names', async () => {
    const px = sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } });
    expect(sniffImageFormat(await px.clone().jpeg().toBuffer())).toBe('jpeg');
    expect(sniffImageFormat(await px.clone().png().toBuffer())).toBe('png');
    expect(sniffImageFormat(await px.clone().webp().toBuffer())).toBe('webp');
    expect(sniffImageFormat(await px.clone().gif().toBuffer())).toBe('gif');
    expect(sniffImageFormat(await px.clone().tiff().toBuffer())).toBe('tiff');
    expect(sniffImageFormat(Buffer.from('GIF8'))).toBeNull();
    expect(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(sniffImageFormat(new Uint8Array(0))).toBeNull();
  });

  it('checkImage: 415 for text, 400 for a cut-off PNG, sizes for a good one', async () => {
    await expect(checkImage(Buffer.from('hello'), 'f.jpg')).rejects.toMatchObject({
      statusCode: 415,
      code: 'not_an_image',
    });
    const png = await sharp({
      create: {
        width: 40,
        height: 30,
        channels: 3,
        background: '#0f0',
        noise: { type: 'gaussian', mean: 100, sigma: 50 },
      },
    })
      .png()
      .toBuffer();
    await expect(checkImage(png, 'ok.png')).resolves.toEqual({
      format: 'png',
      ext: 'png',
      width: 40,
      height: 30,
    });
    const cut = checkImage(png.subarray(0, Math.floor(png.length * 0.6)), 'cut.png', 'image');
    await expect(cut).rejects.toBeInstanceOf(ImageInputError);
    await expect(cut).rejects.toMatchObject({ statusCode: 400, code: 'damaged_image', field: 'image' });
  });
});

describe('KPI figures', () => {
  it('percentile is the nearest-rank value', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 0.5)).toBe(50);
    expect(percentile(v, 0.95)).toBe(95);
    expect(percentile(v, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('embedding health: mean pairwise cosine equals the brute-force value; off-norm rows are counted', () => {
    const n = 30;
    const dim = 16;
    const v = Rng.derive('health', 1).unitRows(n, dim);
    let sum = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        let d = 0;
        for (let k = 0; k < dim; k++) d += v[i * dim + k]! * v[j * dim + k]!;
        sum += d;
      }
    const h = embeddingHealth(v, dim);
    expect(h.mean_pairwise_cosine).toBeCloseTo(sum / (n * (n - 1)), 6);
    expect(h.norm.ok).toBe(true);
    expect(h.vectors).toBe(n);
    v[0]! *= 1.5;
    const bad = embeddingHealth(v, dim);
    expect(bad.norm.ok).toBe(false);
    expect(bad.norm.off).toBe(1);
    // A collapsed set: every vector the same → mean pairwise cosine 1, zero variance.
    const same = new Float32Array(5 * dim);
    for (let i = 0; i < 5; i++) same[i * dim] = 1;
    const c = embeddingHealth(same, dim);
    expect(c.mean_pairwise_cosine).toBeCloseTo(1, 6);
    expect(c.per_dimension_variance.max).toBeCloseTo(0, 9);
  });
});

describe('BatchedSearch', () => {
  it('concurrent searches get exactly what one search each would', async () => {
    const n = 500;
    const v = Rng.derive('batched', 2).unitRows(n, 32);
    const ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const index = await VectorIndex.build(ids, v, 32, { backend: 'js' });
    const b = new BatchedSearch(index);
    const queries = Rng.derive('batched-q', 3).unitRows(9, 32);
    const ks = [1, 5, 10, 3, 7, 2, 10, 4, 6];
    const together = await Promise.all(ks.map((k, i) => b.search(queries.subarray(i * 32, (i + 1) * 32), k)));
    for (const [i, k] of ks.entries()) {
      const alone = await index.search(queries.subarray(i * 32, (i + 1) * 32), k);
      expect(together[i]).toEqual(alone);
    }
    // A two-row request keeps its rows together.
    const two = await b.search(queries.subarray(0, 64), 3);
    expect(two).toEqual(await index.search(queries.subarray(0, 64), 3));
    await index.close();
  });
});
