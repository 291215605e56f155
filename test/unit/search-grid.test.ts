/**
 * The search grid's SVG text layer: any text (an uploaded file's name becomes the grid's title) must
 * give a picture, never a librsvg parse error (which the server would answer as a 500).
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { esc } from '../../src-main/charts/chart-style.ts';
import { renderSearchGrid } from '../../src-main/evaluation/search-grid.ts';

describe('search grid text', () => {
  it('esc replaces characters XML cannot hold and escapes markup', () => {
    expect(esc('a<b>&"c"')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
    expect(esc('x\uFFFF\uD800y\u0001\u0000z\uFFFE')).toBe('x\uFFFD\uFFFDy\uFFFD\uFFFDz\uFFFD');
    // Allowed text is unchanged: Hangul, tabs and newlines, an astral character (a surrogate pair).
    expect(esc('블라우스\t\n\r😀 ok')).toBe('블라우스\t\n\r😀 ok');
  });

  it('renders a grid whose title and labels hold U+FFFF, lone surrogates and control characters', async () => {
    const odd = 'ï¿¿\uD800\uFFFF\u0007name.jpg';
    const png = await renderSearchGrid({
      title: `image → image: ${odd}`,
      subtitle: `SYNTHETIC ${odd}`,
      query: { direction: 'image-to-image', label: odd },
      queryImage: null,
      hits: [
        {
          rank: 1,
          id: `id-${odd}`,
          score: 0.5,
          style: odd,
          category: odd,
          part: 'top',
          split: 'train',
          attributes: {},
          crop: null,
          cropPath: null,
        },
      ],
    });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(200);
  });
});
