import { describe, expect, it } from 'vitest';
import { escapeHtml, type ReportInput, renderReportHtml } from '../../src-main/evaluation/report-html.ts';
import type { SimilaritySearchRun } from '../../src-shared/search.ts';

const EVIL = '<img src=x onerror="alert(1)">&\'';
const PNG = 'data:image/png;base64,iVBORw0KGgo=';

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    runId: 'report-1',
    timestamp: '2025-01-01T00:00:00.000Z',
    workspace: '/ws',
    synthetic: false,
    notes: [],
    dataset: null,
    checkpoint: null,
    training: null,
    evaluations: [],
    centrality: null,
    temperature: null,
    searches: [],
    missing: {},
    ...over,
  };
}

function searchRun(label: string, grid: string | null): SimilaritySearchRun {
  return {
    kind: 'similarity-search',
    run_id: 'search-1',
    timestamp: '2025-01-01T00:00:00.000Z',
    synthetic: true,
    note: `SYNTHETIC ${label}`,
    workspace: '/ws',
    mode: 'query',
    k: 1,
    gallery: { model: label, items: 3, source: 'synthetic', synthetic: true, engine: 'plain JS loops' },
    searches: [
      {
        query: { direction: 'json-to-image', label },
        hits: [
          {
            rank: 1,
            id: label,
            score: 0.5,
            style: label,
            category: null,
            part: '상의',
            split: 'val',
            attributes: {},
            crop: null,
          },
        ],
        grid,
        timing: { encode_ms: 1, search_ms: 1 },
      },
    ],
    files: { dir: '/d', query: '/d/q', results: '/d/r', grids: [] },
  };
}

describe('renderReportHtml', () => {
  it('escapes every piece of text that comes from data files or user input', () => {
    const html = renderReportHtml(
      input({
        workspace: EVIL,
        synthetic: true,
        notes: [EVIL],
        searches: [{ run: searchRun(EVIL, null), grids: [PNG], file: EVIL }],
        missing: { config: EVIL },
      }),
    );
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('onerror="alert');
    expect(html).toContain(escapeHtml(EVIL));
    expect(escapeHtml(EVIL)).toBe('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;');
    // The one image is the inline grid.
    expect([...html.matchAll(/<img /g)]).toHaveLength(1);
    expect(html).toContain(`<img src="${PNG}"`);
  });

  it('refuses images that are not inline data URLs, so the page never makes a request', () => {
    const html = renderReportHtml(
      input({ searches: [{ run: searchRun('q', null), grids: ['https://example.com/x.png'], file: 'f' }] }),
    );
    expect(html).not.toContain('example.com');
    expect(html).toContain('This section could not be rendered: report image');
  });

  it('says what is missing and how to make it', () => {
    const html = renderReportHtml(input({ missing: { evaluation: 'No evaluation: run kfashion eval.' } }));
    expect(html).toContain('No evaluation: run kfashion eval.');
    expect(html).toContain('No checkpoint.');
    expect(html).not.toContain('SYNTHETIC DATA');
  });
});
