/**
 * End to end, as a user meets the product: the real `kfashion web` server (child process, 127.0.0.1,
 * a free port) serving the built UI, driven in Debian's chromium through playwright-core. Steps run
 * in order on one page, like one session: open the demo workspace, scan, train (quick), evaluate,
 * a small temperature study, search, recommend, write the report, export a bundle; then the layout
 * (no horizontal overflow at three widths, charts following the window), keyboard navigation of the
 * tabs and a reload coming back to the same view.
 * Screenshots go to test-artifacts/screenshots/ for people to look at (every tab at 1280×720 in
 * test-artifacts/screenshots/tabs-1280x720/).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, rendererStaleReason } from '../helpers/renderer-build.ts';
import { writeTinyClip } from '../helpers/tiny-clip-onnx.ts';
import { startWeb, type WebProcess } from '../helpers/web-process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const TABS = ['dataset', 'train', 'runs', 'tuning', 'evaluate', 'search', 'recommend', 'dashboard'] as const;

/** The first .jpg under `dir` (depth first, sorted), e.g. a demo garment picture. */
function firstJpeg(dir: string): string {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name.toLowerCase().endsWith('.jpg')) return path;
    if (entry.isDirectory()) {
      try {
        return firstJpeg(path);
      } catch {
        // none in this folder; try the next
      }
    }
  }
  throw new Error(`no .jpg under ${dir}`);
}

describe.sequential('the workbench in a browser (kfashion web + Debian chromium)', () => {
  let tmp: string;
  let web: WebProcess;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  /** Requests the page made that failed (4xx/5xx). */
  const failedRequests: string[] = [];

  const shot = async (name: string) => {
    // From the top: a full-page capture of a scrolled page draws the sticky tab bar mid-page.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  const tab = (id: string) => page.getByTestId(`tab-${id}`).click();
  /** expect.poll with room for a busy machine (its default gives up after one second). */
  const poll = <T>(read: () => Promise<T>, timeout = 30_000) => expect.poll(read, { timeout });
  /** Every <img> matched has loaded real pixels (not a broken-image icon); at least `min` of them. */
  const imagesLoaded = (selector: string, min = 1) =>
    expect
      .poll(
        () =>
          // Typed loosely: this file compiles without the DOM library (it runs in the page).
          page
            .locator(selector)
            .evaluateAll((imgs: unknown[]) =>
              (imgs as { complete: boolean; naturalWidth: number }[]).filter(
                (i) => i.complete && i.naturalWidth > 0,
              ).length === imgs.length
                ? imgs.length
                : -1,
            ),
        { timeout: 20_000 },
      )
      .toBeGreaterThanOrEqual(min);

  beforeAll(async () => {
    const stale = rendererStaleReason();
    if (stale) {
      throw new Error(
        `The built UI is stale (${stale}) and the global setup could not rebuild it: run "npx electron-vite build".`,
      );
    }
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set CHROMIUM_PATH.`,
      );
    }
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'kf-e2e-'));
    // An empty workspace to start on; the demo is made in a private data folder, not the user's.
    web = await startWeb(['--workspace', join(tmp, 'start-ws')], {
      KFASHION_DATA_DIR: join(tmp, 'app-data'),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
        failedRequests.push(`${r.status()} ${r.url()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('opens the demo workspace, marked SYNTHETIC', async () => {
    await page.goto(web.url);
    await page.getByText('데이터셋').waitFor();
    await page.getByTestId('open-demo').click();
    const line = page.getByTestId('workspace-line');
    await line.getByTestId('synthetic-badge').waitFor({ timeout: 90_000 });
    expect(await line.textContent()).toContain(join(tmp, 'app-data'));
    await shot('01-demo-workspace');
  }, 120_000);

  it('scans the demo folder and shows counts per style, exclusions and crops', async () => {
    const path = page.getByTestId('scan-path');
    // The field starts on the workspace's own data folder.
    await poll(() => path.inputValue()).toContain('demo-data');
    const dataFolder = await path.inputValue();
    // A folder that does not exist: the error crosses the contract with its message and is shown.
    // (Inside the data folder: browser mode refuses paths outside its allowed folders up front.)
    const missing = join(tmp, 'app-data', 'no-such-folder');
    await path.fill(missing);
    await page.getByTestId('scan-start').click();
    await poll(() => page.locator('#panel-dataset [role="alert"]').allTextContents()).toEqual([
      expect.stringContaining(missing),
    ]);
    // The job failed before reporting any progress: the bar says so instead of waiting for an event.
    expect(await page.locator('#panel-dataset [data-testid="progress"]').textContent()).not.toContain(
      'waiting',
    );
    expect(await page.getByTestId('scan-path').getAttribute('aria-invalid')).toBe('true');
    await page.locator('#panel-dataset [role="alert"] button').click();
    await path.fill(dataFolder);
    await page.getByTestId('scan-start').click();
    await page.getByTestId('scan-report').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('scan-report').textContent()).toMatch(/\d+ garments kept/);
    const counts = await page.getByTestId('style-counts').textContent();
    for (const style of ['레트로', '로맨틱', '리조트']) expect(counts).toContain(style);
    expect(await page.getByTestId('excluded-summary').textContent()).toMatch(/\d+ garments excluded/);
    await imagesLoaded('[data-testid="sample-crops"] img');
    await shot('02-dataset-scanned');
  }, 90_000);

  it('names the control, not the API field or CLI flag, when the server refuses a setting', async () => {
    await tab('train');
    const panel = page.locator('#panel-train');
    await page.getByTestId('train-lr').fill('0');
    await page.getByTestId('train-quick').check();
    await page.getByTestId('train-start').click();
    const alert = panel.locator('[role="alert"]').filter({ hasText: 'Learning rate' });
    await alert.waitFor({ timeout: 60_000 });
    const text = (await alert.textContent()) ?? '';
    expect(text).not.toContain('--lr');
    expect(text).not.toMatch(/\blr\b/);
    expect(await page.getByTestId('train-lr').getAttribute('aria-invalid')).toBe('true');
    // A start that failed is not "waiting for the first progress event".
    if ((await panel.getByTestId('progress').count()) > 0) {
      expect(await panel.getByTestId('progress').textContent()).not.toContain('waiting');
    }
    await page.getByTestId('train-lr').fill('');
    // An augmentation setting the shared schema refuses is named by its control before any start.
    await page.getByTestId('train-augmentation-toggle').click();
    await page.getByTestId('train-aug-mixup').fill('1.5');
    await page.getByTestId('train-start').click();
    const augAlert = panel.locator('[role="alert"]').filter({ hasText: 'MixUp p' });
    await augAlert.waitFor({ timeout: 10_000 });
    expect(await augAlert.textContent()).toMatch(/MixUp p: .*between 0 and 1/);
    expect(await page.getByTestId('train-aug-mixup').getAttribute('aria-invalid')).toBe('true');
    await page.getByTestId('train-aug-mixup').fill('');
    await page.getByTestId('train-augmentation-toggle').click();
    await page.getByTestId('train-quick').uncheck();
  }, 90_000);

  it('trains with the quick preset: the bar and the charts move while it runs', async () => {
    await tab('train');
    // Records every reading of the tqdm line and every chart update as the DOM changes, so the
    // test sees the run move however fast or slow this machine is (polling could miss an epoch).
    await page.evaluate(`(() => {
      const panel = document.getElementById('panel-train');
      const log = (window.__trainLog = { texts: [], epochs: [] });
      const record = () => {
        const text = panel.querySelector('[data-testid="progress-text"]')?.textContent ?? null;
        const epochs = panel.querySelector('[data-testid="train-charts"]')?.getAttribute('data-epochs') ?? null;
        if (text !== null && log.texts.at(-1) !== text) log.texts.push(text);
        if (epochs !== null && log.epochs.at(-1) !== epochs) log.epochs.push(epochs);
      };
      new MutationObserver(record).observe(panel, { subtree: true, childList: true, characterData: true, attributes: true });
      record();
    })()`);
    await page.getByTestId('train-quick').check();
    await page.getByTestId('train-start').click();
    const panel = page.locator('#panel-train');
    // The error of the refused start goes once this start is under way.
    await poll(() => panel.locator('[role="alert"]').filter({ hasText: 'Learning rate' }).count()).toBe(0);
    expect(await page.getByTestId('train-lr').getAttribute('aria-invalid')).toBeNull();
    const charts = panel.getByTestId('train-charts');
    await poll(() => panel.getByTestId('progress-phase').textContent(), 60_000).toMatch(/epoch \d\/2/);
    // One run watched: the whole run's bar (epoch k of 2, ETA) over the phase's bar, and the form
    // showing that run's settings rather than the last edits.
    if ((await panel.getByTestId('progress').getAttribute('data-state')) === 'running') {
      expect(await panel.getByTestId('run-progress').textContent()).toMatch(/epoch [12] of 2/);
      expect(await panel.getByTestId('train-form').getAttribute('data-watched')).toMatch(/^train-/);
      expect(await panel.getByTestId('train-epochs').inputValue()).toBe('2');
    }
    await poll(() => charts.getAttribute('data-epochs'), 90_000).not.toBe('0');
    await shot('03-training-running');
    // Training runs off the server's main thread and the page only listens: both stay responsive.
    if ((await panel.getByTestId('progress').getAttribute('data-state')) === 'running') {
      const t0 = Date.now();
      const info = await page.request.post(new URL('api/rpc/app.info', web.url).href, { data: {} });
      expect(info.ok()).toBe(true);
      await tab('dataset');
      // A running job shows in the top bar on every tab. Read before the bar's state: if it is not
      // shown, the run must already have ended (an ended run stays ended).
      if ((await page.getByTestId('running-job').filter({ hasText: 'train' }).count()) === 0) {
        expect(await panel.getByTestId('progress').getAttribute('data-state')).not.toBe('running');
      }
      await tab('train');
      expect(Date.now() - t0).toBeLessThan(3000);
    }
    await panel.getByTestId('train-summary').waitFor({ timeout: 120_000 });
    const log = (await page.evaluate('window.__trainLog')) as { texts: string[]; epochs: string[] };
    // The charts gained a point at the end of each epoch, while the run went on: 0 → 1 → 2.
    expect(log.epochs).toEqual(['0', '1', '2']);
    // The bar moved: many distinct readings of its "step/total [elapsed<eta, rate]" line.
    expect(log.texts.length).toBeGreaterThanOrEqual(6);
    expect(log.texts.some((t) => /^\d+\/\d+ \[/.test(t))).toBe(true);
    expect(new Set(log.texts.map((t) => t.split(' ')[0])).size).toBeGreaterThanOrEqual(3);
    // Loss: the training loss per step (raw and smoothed) and the validation loss once per epoch.
    const steps = Number(await charts.getAttribute('data-steps'));
    expect(steps).toBeGreaterThan(2);
    expect(await panel.getByTestId('chart-loss').getAttribute('data-points')).toBe(String(2 * steps + 2));
    // The other charts: two series, one point each per epoch.
    for (const id of ['chart-topk', 'chart-sim']) {
      expect(await panel.getByTestId(id).getAttribute('data-points')).toBe('4');
    }
    expect(await panel.getByTestId('chart-lr').getAttribute('data-points')).toBe('2');
    expect(await panel.getByTestId('train-summary').textContent()).toMatch(/2\/2\s+epochs/);
    // The progress region speaks to screen readers (politely, not every event).
    expect(await panel.getByTestId('progress-live').getAttribute('aria-live')).toBe('polite');
    await shot('04-training-done');
  }, 240_000);

  it('explores a training chart: zoom by dragging, reset, log scale, CSV and PNG downloads', async () => {
    const chart = page.locator('#panel-train').getByTestId('chart-loss');
    const reset = chart.getByTestId('chart-reset');
    expect(await chart.getAttribute('data-zoomed')).toBe('false');
    expect(await reset.isDisabled()).toBe(true);
    // Drag a box across the plot: the view zooms in. (The mouse acts in the viewport: scroll first.)
    await chart.scrollIntoViewIfNeeded();
    const box = (await chart.locator('canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.7, { steps: 8 });
    await page.mouse.up();
    await poll(() => chart.getAttribute('data-zoomed')).toBe('true');
    await reset.click();
    await poll(() => chart.getAttribute('data-zoomed')).toBe('false');
    await chart.getByTestId('chart-log').check();
    expect(await chart.getAttribute('data-log')).toBe('true');
    await chart.getByTestId('chart-log').uncheck();
    // Smoothing as TensorBoard's slider: 0 draws the raw losses again.
    await chart.locator('xpath=..').getByTestId('chart-smoothing').fill('0');
    // CSV: one row per step, one column per series (the validation loss only at epoch ends).
    const steps = Number(
      await page.locator('#panel-train').getByTestId('train-charts').getAttribute('data-steps'),
    );
    const [csv] = await Promise.all([page.waitForEvent('download'), chart.getByTestId('chart-csv').click()]);
    expect(csv.suggestedFilename()).toBe('Loss-InfoNCE-train-per-step-val-per-epoch.csv');
    const text = readFileSync((await csv.path())!, 'utf8').replace(/^\uFEFF/, '');
    const lines = text.trim().split(/\r\n/);
    expect(lines[0]).toBe('step,train (raw),train (smoothed 0.00),val (end of epoch)');
    expect(lines).toHaveLength(steps + 1);
    const rows = lines.slice(1).map((l) => l.split(','));
    // At smoothing 0 the smoothed column is the raw one; two rows carry a validation loss.
    expect(rows.every((r) => r[1] === r[2])).toBe(true);
    expect(rows.filter((r) => r[3] !== '').length).toBe(2);
    const [png] = await Promise.all([page.waitForEvent('download'), chart.getByTestId('chart-png').click()]);
    expect(png.suggestedFilename()).toBe('Loss-InfoNCE-train-per-step-val-per-epoch.png');
    // A PNG file starts with its 8-byte signature.
    expect(
      readFileSync((await png.path())!)
        .subarray(0, 8)
        .toString('hex'),
    ).toBe('89504e470d0a1a0a');
  }, 240_000);

  it('evaluates the best checkpoint: figures beside ceilings, per style, histograms, query subsets', async () => {
    await tab('evaluate');
    const panel = page.locator('#panel-evaluate');
    await panel.getByTestId('eval-start').click();
    await panel.getByTestId('eval-meta').waitFor({ timeout: 90_000 });
    expect(await panel.getByTestId('ceiling-table').first().textContent()).toMatch(
      /Top-1 \(gallery, N=\d+\)/,
    );
    const perStyle = await panel.getByTestId('per-style-table').textContent();
    for (const style of ['레트로', '로맨틱', '리조트']) expect(perStyle).toContain(style);
    expect(Number(await panel.getByTestId('similarity-histogram').getAttribute('data-bars'))).toBeGreaterThan(
      3,
    );
    expect(await panel.getByTestId('query-aware-table').textContent()).toContain('anchor');
    // Every Recall@K / Top-K carries its 95 % Wilson interval, and the UI says it is Wilson's.
    const headline = panel.getByTestId('ceiling-table').first();
    expect(await headline.getByTestId('wilson').count()).toBe(3);
    // Which checkpoint these figures are of, and why the Dashboard's Top-1 may differ.
    expect(await panel.getByTestId('eval-vs-dashboard').textContent()).toMatch(
      /best checkpoint \(epoch \d\)/,
    );
    expect(await headline.textContent()).toContain('Wilson');
    for (const text of await headline.getByTestId('wilson').allTextContents()) {
      const [low, high] = text.replace(/[[\]]/g, '').split('–').map(Number);
      expect(low).toBeLessThanOrEqual(high!);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(100);
    }
    // At least one rate column survives the dropping of constant columns: an interval on every row.
    const styleRows = await panel.getByTestId('per-style-table').locator('tbody tr').count();
    expect(await panel.getByTestId('per-style-table').getByTestId('wilson').count()).toBeGreaterThanOrEqual(
      styleRows,
    );
    expect(await panel.getByTestId('query-aware-table').getByTestId('wilson').count()).toBe(4 * 3);
    // The per-group tables show the MRR ceiling (as a column, or once below when it is the same everywhere).
    const perStyleAll = `${await panel.getByTestId('per-style-table').textContent()} ${await panel
      .getByTestId('per-style-table-note')
      .textContent()}`;
    expect(perStyleAll).toContain('MRR ceiling');
    await panel.getByTestId('centrality-start').click();
    await panel.getByTestId('centrality-statement').waitFor({ timeout: 60_000 });
    // The proxy made visible: the most and the least central garments as tiles, most central first.
    const most = panel.getByTestId('central-most').getByTestId('central-tile');
    await poll(() => most.count()).toBe(12);
    expect(await panel.getByTestId('central-least').getByTestId('central-tile').count()).toBe(12);
    const central = (await most.getByTestId('score').allTextContents()).map(Number);
    expect(central).toEqual([...central].sort((a, b) => b - a));
    await imagesLoaded('#panel-evaluate [data-testid="central-most"] img', 12);
    // One is picked as a best-seller for the Recommend tab.
    await panel.getByTestId('central-most').getByTestId('central-pick').first().check();
    await shot('05-evaluate');
  }, 150_000);

  it('runs a small temperature study and tabulates it', async () => {
    const panel = page.locator('#panel-evaluate');
    await panel.getByTestId('sweep-temperatures').fill('0.07, 0.1');
    await panel.getByTestId('sweep-quick').check();
    await panel.getByTestId('sweep-start').click();
    // While the study runs (two training runs), it shows in the top bar from any tab, and the
    // indicator opens the tab that follows it.
    await tab('search');
    const indicator = page.getByTestId('running-job').filter({ hasText: 'sweep' });
    await indicator.waitFor({ timeout: 10_000 });
    await indicator.click();
    expect(await page.getByTestId('tab-evaluate').getAttribute('aria-selected')).toBe('true');
    const table = panel.getByTestId('temperature-table');
    await table.waitFor({ timeout: 150_000 });
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^0\.07/);
    expect(rows[1]).toMatch(/^0\.1/);
    await shot('05b-temperature-study');
  }, 180_000);

  it('lists the runs, overlays three of them with the settings that differ, and tags and filters', async () => {
    await tab('runs');
    const panel = page.locator('#panel-runs');
    const rows = panel.getByTestId('runs-row');
    // The quick training and the two temperature-study runs.
    await poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    const total = await rows.count();
    expect(await panel.getByTestId('runs-current').count()).toBe(1);
    // The two sweep runs differ in temperature, and the quick training from both: tick all three
    // (newest first in the table), one curve each on the same axes.
    await rows.nth(0).getByTestId('runs-select').check();
    await rows.nth(1).getByTestId('runs-select').check();
    await rows.nth(2).getByTestId('runs-select').check();
    const overlay = panel.getByTestId('runs-overlay');
    await poll(() => overlay.getAttribute('data-runs')).toBe('3');
    // One line per run, on the same axes, each with a point per epoch.
    expect(
      Number(await panel.getByTestId('runs-chart-loss').getAttribute('data-points')),
    ).toBeGreaterThanOrEqual(2);
    expect(await panel.getByTestId('runs-chart-loss').textContent()).toContain('Validation loss');
    const diff = await panel.getByTestId('runs-diff').textContent();
    expect(diff).toContain('temperature');
    expect(await panel.getByTestId('runs-metrics').textContent()).toContain('★');
    await shot('05d-runs');
    // Tag a run, then filter the table by that tag.
    await rows.nth(0).getByTestId('runs-tag').click();
    await panel.getByTestId('runs-tag-input').fill('e2e-tag');
    await panel.getByTestId('runs-tag-input').press('Enter');
    await poll(() => panel.getByTestId('runs-filter-tag').locator('option').allTextContents()).toContain(
      'e2e-tag',
    );
    await panel.getByTestId('runs-filter-tag').selectOption('e2e-tag');
    await poll(() => rows.count()).toBe(1);
    await panel.getByTestId('runs-filter-tag').selectOption('');
    expect(await rows.count()).toBe(total);
    await rows.nth(0).getByTestId('runs-select').uncheck();
    await rows.nth(1).getByTestId('runs-select').uncheck();
    await rows.nth(2).getByTestId('runs-select').uncheck();
    await tab('evaluate');
  }, 90_000);

  it('starts a tiny tuning study from the Tuning tab, sees its trials appear and opens the best trial', async () => {
    // Runs alone too (vitest -t): open the demo workspace when an earlier step has not.
    if (!page.url().startsWith(web.url)) await page.goto(web.url);
    const line = page.getByTestId('workspace-line');
    if ((await line.getByTestId('synthetic-badge').count()) === 0) {
      await page.getByTestId('open-demo').click();
      await line.getByTestId('synthetic-badge').waitFor({ timeout: 90_000 });
    }
    // The steps after this one go on from the tab that was open: come back to it at the end.
    const openTab = (await page.locator('[role="tab"][aria-selected="true"]').getAttribute('id'))?.replace(
      /^tab-/,
      '',
    );
    await tab('tuning');
    const panel = page.locator('#panel-tuning');
    await panel.getByTestId('tune-source').selectOption('space');
    await panel
      .getByTestId('tune-space')
      .fill(JSON.stringify({ parameters: { lr: { type: 'log-uniform', low: 3e-4, high: 3e-3 } } }));
    await panel.getByTestId('tune-name').fill('e2e-study');
    await panel.getByTestId('tune-trials').fill('2');
    await panel.getByTestId('tune-sampler').selectOption('random');
    await panel.getByTestId('tune-pruner').selectOption('none');
    await panel.getByTestId('tune-quick').check();
    await panel.getByTestId('tune-start').click();
    // The study is chosen at once (in the URL) and its trials appear as they finish.
    await poll(async () => page.url()).toContain('study=e2e-study');
    await panel.locator('[data-testid="tune-study-row"][data-study="e2e-study"]').waitFor();
    await poll(
      () => panel.locator('[data-testid="tune-trial-row"][data-state="COMPLETE"]').count(),
      240_000,
    ).toBe(2);
    await poll(() => panel.getByTestId('tune-message').textContent(), 60_000).toContain('done');
    expect(await panel.getByTestId('tune-trials').locator('thead').textContent()).toContain(
      'Top-5 (gallery)',
    );
    // Best trial with its settings, the run actions, and the figures naming metric and ceiling.
    const best = panel.getByTestId('tune-best');
    await best.waitFor();
    expect(await best.textContent()).toMatch(/Best trial \d: Top-5 \(gallery\) [\d.]+ % of ceiling [\d.]+ %/);
    expect(await best.getByTestId('tune-best-config').textContent()).toContain('lr');
    expect(await best.getByTestId('tune-promote').isEnabled()).toBe(true);
    expect(await best.getByTestId('tune-train-longer').isEnabled()).toBe(true);
    await poll(() => panel.locator('[data-testid="tune-history"]').getAttribute('data-points')).not.toBe('0');
    expect(await panel.locator('[data-testid="tune-history"] figcaption').textContent()).toContain('ceiling');
    expect(await panel.locator('[data-testid="tune-slice"]').count()).toBe(1);
    await shot('09b-tuning');
    // Opening the best trial's run: the Runs tab, that run marked.
    const runId = (await best.locator('button.link').first().textContent())!.replace(/^run /, '').trim();
    await best.locator('button.link').first().click();
    await poll(() => page.getByTestId('tab-runs').getAttribute('aria-selected')).toBe('true');
    const row = page.locator(`#panel-runs [data-testid="runs-row"][data-run="${runId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('class')).toContain('focused');
    if (openTab) await tab(openTab);
  }, 360_000);

  it('draws the embedding map: one point per validation garment and one per its attributes, hover and lasso', async () => {
    const panel = page.locator('#panel-evaluate');
    const summary = (
      (await (
        await page.request.post(new URL('api/rpc/workspace.summary', web.url).href, { data: {} })
      ).json()) as { result: { perStyle: Record<string, { valItems: number }> } }
    ).result;
    const val = Object.values(summary.perStyle).reduce((s, p) => s + p.valItems, 0);
    await panel.getByTestId('map-start').click();
    const map = panel.getByTestId('embedding-map');
    await map.waitFor({ timeout: 60_000 });
    expect(Number(await map.getAttribute('data-points'))).toBe(2 * val);
    expect(await panel.getByTestId('map-meta').textContent()).toMatch(
      /PCA of \d+ validation garments[\s\S]* run \S+, epoch \d/,
    );
    // Pictures only: half the points.
    await panel.getByTestId('map-show').selectOption('image');
    expect(Number(await map.getAttribute('data-points'))).toBe(val);
    await panel.getByTestId('map-colour').selectOption('centrality');
    await map.scrollIntoViewIfNeeded();
    // A lasso around the whole plot selects every garment; they show as tiles.
    const box = (await map.boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + 2);
    await page.mouse.down();
    for (const [fx, fy] of [
      [0.99, 0.01],
      [0.99, 0.99],
      [0.01, 0.99],
      [0.01, 0.02],
    ] as const) {
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 4 });
    }
    await page.mouse.up();
    await poll(() => panel.getByTestId('map-selection').textContent()).toContain(`${val} garments selected`);
    expect(await panel.getByTestId('map-tile').count()).toBe(Math.min(48, val));
    await page.screenshot({ path: join(SHOTS, '05c-embedding-map.png'), fullPage: false });
    await panel.getByTestId('map-show').selectOption('both');
  }, 120_000);

  it('searches by attributes from the vocabulary and shows the crops with scores', async () => {
    await tab('search');
    const panel = page.locator('#panel-search');
    // The first real value of the category field (index 0 is "(any)").
    await panel.getByTestId('query-category').selectOption({ index: 1 });
    await panel.getByTestId('search-start').click();
    await panel.getByTestId('search-results').first().waitFor({ timeout: 60_000 });
    expect(await panel.getByTestId('search-hit').count()).toBe(5);
    await imagesLoaded('#panel-search [data-testid="search-results"] img', 5);
    const scores = await panel.getByTestId('score').allTextContents();
    expect(scores.map(Number).every((v) => v >= -1 && v <= 1)).toBe(true);
    await shot('06-search');
    // A result tile opens its detail panel: the crop, id, score and label attributes.
    const firstHit = panel.getByTestId('search-hit').first();
    const hitId = (await firstHit.locator('.title').textContent())!.trim();
    await firstHit.getByTestId('tile-open').click();
    const detail = page.getByTestId('detail-panel');
    await detail.getByTestId('detail-id').waitFor();
    expect(await detail.getByTestId('detail-id').textContent()).toBe(hitId);
    expect(Number(await detail.getByTestId('detail-score').textContent())).toBeGreaterThan(-1);
    expect(await detail.getByTestId('detail-attributes').textContent()).toContain('category');
    await imagesLoaded('[data-testid="detail-panel"] img', 1);
    // The whole photo with the garment's box drawn inside it.
    const photoBox = detail.getByTestId('detail-box');
    await photoBox.waitFor({ timeout: 30_000 });
    const svg = await detail.getByTestId('detail-photo').locator('svg').getAttribute('viewBox');
    const [, , pw, ph] = svg!.split(' ').map(Number);
    const at = async (a: string) => Number(await photoBox.getAttribute(a));
    const [bx, by, bw, bh] = [await at('x'), await at('y'), await at('width'), await at('height')];
    expect(bw).toBeGreaterThan(0);
    expect(bh).toBeGreaterThan(0);
    expect(bx + bw).toBeLessThanOrEqual(pw! + 0.5);
    expect(by + bh).toBeLessThanOrEqual(ph! + 0.5);
    await page.screenshot({ path: join(SHOTS, '06b-detail-panel.png') });
    // "Find similar": image → image from this garment's picture, run in the Search tab.
    await detail.getByTestId('detail-find-similar').click();
    await poll(() => panel.getByTestId('search-from').textContent(), 60_000).toContain(`picture of ${hitId}`);
    await poll(() => panel.getByTestId('search-meta').textContent(), 60_000).toContain(
      'query image encoded with',
    );
    expect(await detail.isVisible()).toBe(false);
    // "Search by these attributes": JSON → image from a hit's label attributes.
    const similarHit = panel.getByTestId('search-hit').first();
    const similarId = (await similarHit.locator('.title').textContent())!.trim();
    await similarHit.getByTestId('tile-open').click();
    await detail.getByTestId('detail-search-attributes').click();
    await poll(() => panel.getByTestId('search-from').textContent(), 60_000).toContain(
      `attributes of ${similarId}`,
    );
    expect(await panel.getByTestId('search-hit').count()).toBe(5);
    // Top K is checked where it is typed, naming the control and outlining it.
    await panel.getByTestId('search-k').fill('abc');
    expect(await panel.locator('[role="alert"]').filter({ hasText: 'Top K' }).count()).toBe(1);
    expect(await panel.getByTestId('search-k').getAttribute('aria-invalid')).toBe('true');
    await panel.getByTestId('search-k').fill('5');
    await panel.getByTestId('search-mode-query').check();
    // The same search with a picture (image → image, the workspace's image encoder).
    await panel.getByTestId('search-mode-image').check();
    await panel.getByTestId('search-image').setInputFiles(firstJpeg(join(tmp, 'app-data', 'demo-data')));
    await panel.getByTestId('search-start').click();
    await poll(() => panel.getByTestId('search-meta').textContent(), 60_000).toContain(
      'query image encoded with',
    );
    await imagesLoaded('#panel-search [data-testid="search-results"] img', 5);
  }, 90_000);

  it('recommends new products for an uploaded image, and from the best-seller proxy', async () => {
    await tab('recommend');
    const panel = page.locator('#panel-recommend');
    await panel.getByTestId('catalog-grid').waitFor();
    await imagesLoaded('#panel-recommend [data-testid="catalog-grid"] img');
    // A garment picture from the demo data stands in for a customer's photo (and a new product).
    const photo = firstJpeg(join(tmp, 'app-data', 'demo-data'));
    const tiles = panel.getByTestId('catalog-tile');
    const before = await tiles.count();
    // A file that is not a picture is refused when picked, naming the file and what was expected.
    await panel.getByTestId('catalog-image').setInputFiles({
      name: 'notes.txt',
      mimeType: 'image/jpeg',
      buffer: Buffer.from('not a picture at all'),
    });
    const refused = panel.getByTestId('catalog-image-problem');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/notes\.txt.*JPEG, PNG or WebP/);
    expect(await panel.getByTestId('catalog-add').isDisabled()).toBe(true);
    await panel.getByTestId('catalog-image').setInputFiles(photo);
    await poll(() => refused.count()).toBe(0);
    await panel.getByPlaceholder('name').fill('e2e 신상품');
    await panel.getByTestId('catalog-add').click();
    await poll(() => tiles.count()).toBe(before + 1);
    const added = panel.locator('.item', { hasText: 'e2e 신상품' });
    await added.getByRole('checkbox').check();
    await panel.getByTestId('catalog-remove').click();
    // Removing asks first, naming the product.
    const confirm = panel.getByTestId('catalog-remove-confirm');
    expect(await confirm.textContent()).toContain('e2e 신상품');
    expect(await tiles.count()).toBe(before + 1);
    await confirm.getByTestId('catalog-remove-yes').click();
    await poll(() => tiles.count()).toBe(before);
    // The catalog grid filters by style: fewer tiles, each of that style; "all" brings them back.
    const styleFilter = panel.getByTestId('catalog-filter-style');
    const firstStyle = (await styleFilter.locator('option').nth(1).getAttribute('value'))!;
    await styleFilter.selectOption(firstStyle);
    const shown = await tiles.count();
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(before);
    const firstLines = await tiles.evaluateAll((els: unknown[]) =>
      els.map(
        (e) =>
          (e as { querySelector(s: string): { textContent: string } | null }).querySelector('.line')
            ?.textContent ?? '',
      ),
    );
    expect(firstLines.every((line) => line.startsWith(firstStyle))).toBe(true);
    await styleFilter.selectOption('');
    expect(await tiles.count()).toBe(before);
    await panel.getByTestId('recommend-image').setInputFiles(photo);
    await panel.getByTestId('recommend-upload').click();
    await panel.getByTestId('recommend-matches').waitFor({ timeout: 60_000 });
    expect(await panel.getByTestId('recommend-matches').getByTestId('match-tile').count()).toBe(8);
    await imagesLoaded('#panel-recommend [data-testid="recommend-matches"] img', 8);
    expect(await panel.getByTestId('recommend-meta').textContent()).toContain('SYNTHETIC');
    expect(await panel.getByTestId('recommend-index').textContent()).toBe('exact index');
    // The approximate catalog index on request: the answer says so, with its measured recall@10.
    await panel.getByTestId('recommend-approximate').check();
    await panel.getByTestId('recommend-upload').click();
    await poll(() => panel.getByTestId('recommend-index').textContent(), 60_000).toMatch(
      /^approximate index \(.*HNSW.*\), recall@10 [01]\.\d{3} vs exact$/,
    );
    await panel.getByTestId('recommend-approximate').uncheck();
    await panel.getByTestId('bestseller-start').click();
    await panel.getByTestId('trend-charts').waitFor({ timeout: 60_000 });
    expect(Number(await panel.getByTestId('trend-style').getAttribute('data-bars'))).toBeGreaterThan(0);
    // The garment picked in the centrality grid is there as a best-seller.
    await panel.getByTestId('bestseller-picks').check();
    expect(await panel.getByTestId('bestseller-pick-list').locator('.chip').count()).toBe(1);
    // A CSV of sales: a bad line is named when the file is picked; a good one's top 10 % are the input.
    const sample = (
      (await (
        await page.request.post(new URL('api/rpc/dataset.sampleCrops', web.url).href, { data: { limit: 20 } })
      ).json()) as { result: { items: { id: string }[] } }
    ).result;
    const ids = sample.items.map((i) => i.id);
    expect(ids).toHaveLength(20);
    await panel.getByTestId('bestseller-csv').check();
    await panel.getByTestId('bestseller-csv-file').setInputFiles({
      name: 'sales.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`item_or_product_id,sales\n${ids[0]},10\n${ids[1]},lots\n`),
    });
    expect(await panel.getByTestId('bestseller-csv-problem').textContent()).toContain(
      'sales.csv": line 3, sales: expected a number',
    );
    expect(await panel.getByTestId('bestseller-start').isDisabled()).toBe(true);
    // 20 rows, sales 1..20: the top 10 % are the two best sellers, ids[19] and ids[18].
    const csv = ['item_or_product_id,sales', ...ids.map((id, i) => `${id},${i + 1}`)].join('\n');
    await panel.getByTestId('bestseller-csv-file').setInputFiles({
      name: 'sales.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    expect(await panel.getByTestId('bestseller-csv-summary').textContent()).toContain(
      `20 rows → top 2 by sales: ${ids[19]} (20), ${ids[18]} (19)`,
    );
    await panel.getByTestId('bestseller-start').click();
    await poll(() => panel.getByTestId('bestseller-meta').textContent(), 60_000).toMatch(
      /^\s*(SYNTHETIC)?\s*2 inputs/,
    );
    const matched = panel.getByTestId('bestseller-matched').getByTestId('bestseller-matched-tile');
    expect(await matched.count()).toBeGreaterThan(0);
    await imagesLoaded('#panel-recommend [data-testid="bestseller-matched"] img', 1);
    await shot('07-recommend');
  }, 120_000);

  it('writes the research report and exports a result bundle served as a zip', async () => {
    await tab('dashboard');
    await page.getByTestId('kpi-cards').waitFor();
    // The Dashboard's Top-1 (last epoch's validation) names its run and epoch and says how it stands to
    // the Evaluate tab's: the same checkpoint gives the same figure, another one is named.
    const top1 = page.getByTestId('kpi-top1');
    await poll(() => top1.textContent()).toContain('Evaluate tab');
    const top1Text = (await top1.textContent())!;
    expect(top1Text).toMatch(/run train-\S+, last epoch 2/);
    const same = /Evaluate tab: ([\d.]+) %, same checkpoint/.exec(top1Text);
    if (same) expect(await top1.locator('.value').textContent()).toBe(`${same[1]} %`);
    else
      expect(top1Text).toMatch(
        /Evaluate tab: [\d.]+ %, (the best checkpoint \(epoch \d\), not the last epoch|from run \S+ \(another run\))/,
      );
    await page.getByTestId('report-start').click();
    await page.getByTestId('report-result').waitFor({ timeout: 60_000 });
    const reportHref = await page.getByTestId('report-result').getByRole('link').getAttribute('href');
    const report = await page.request.get(reportHref!);
    expect(report.status()).toBe(200);
    expect(report.headers()['content-type']).toContain('text/html');
    await page.getByTestId('export-start').click();
    await page.getByTestId('export-result').waitFor({ timeout: 60_000 });
    const href = await page.getByTestId('export-download').getAttribute('href');
    expect(href).toBeTruthy();
    const response = await page.request.get(href!);
    expect(response.status()).toBe(200);
    const body = await response.body();
    // A zip starts with a local file header, "PK\x03\x04".
    expect(body.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
    await shot('08-export');
  }, 90_000);

  it('the real-data path in a new workspace: next-step hints, a checked data folder, scan, embed with an ONNX export, train, image → attributes', async () => {
    // A tiny ONNX export with FashionCLIP's signature, in a folder this server may read.
    const modelDir = join(tmp, 'app-data', 'my-clip-export');
    writeTinyClip(modelDir);
    const dataFolder = join(tmp, 'app-data', 'demo-data');
    await tab('dataset');
    await page.getByTestId('workspace-path').fill(join(tmp, 'app-data', 'real-ws'));
    await page.locator('#panel-dataset label.check input').check();
    await page
      .locator('#panel-dataset form')
      .first()
      .getByRole('button', { name: 'Open', exact: true })
      .click();
    await poll(() => page.getByTestId('workspace-line').textContent()).toContain('real-ws');
    // Every later tab says what is missing, with a button that goes there.
    await tab('train');
    const hint = page.locator('#panel-train').getByTestId('next-step');
    await poll(() => hint.getAttribute('data-missing')).toBe('scan');
    await hint.getByTestId('next-step-go').click();
    expect(await page.getByTestId('tab-dataset').getAttribute('aria-selected')).toBe('true');
    // The folder field is checked on the server: a folder outside the allowed ones is refused there,
    // naming the folders that are allowed; the demo data folder is recognised as a K-Fashion layout.
    const path = page.getByTestId('scan-path');
    await path.fill('/etc');
    const check = page.getByTestId('data-check');
    await poll(() => check.getAttribute('data-problem')).toBe('outside-roots');
    expect(await check.textContent()).toContain(join(tmp, 'app-data'));
    expect(await path.getAttribute('aria-invalid')).toBe('true');
    await path.fill(join(tmp, 'app-data'));
    await poll(() => check.getAttribute('data-problem')).toBe('not-a-dataset');
    expect(await check.textContent()).toContain('라벨링데이터');
    await path.fill(dataFolder);
    await poll(() => check.getAttribute('data-ok')).toBe('true');
    await page.getByTestId('scan-start').click();
    await page.getByTestId('scan-report').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('recent-folders').textContent()).toContain(dataFolder);
    // Embed with the user's ONNX export.
    const embed = page.locator('#panel-dataset');
    await embed.getByTestId('embed-source-export').check();
    await embed.getByTestId('embed-model-path').fill(modelDir);
    await embed.getByTestId('embed-model-id').fill('my-clip');
    await embed.getByTestId('embed-batch').fill('8');
    await embed.getByTestId('embed-start').click();
    const summary = embed.getByTestId('embed-summary');
    await summary.waitFor({ timeout: 120_000 });
    const first = (await summary.textContent()) ?? '';
    const embedded = Number(/(\d+) embedded/.exec(first)?.[1]);
    expect(embedded).toBeGreaterThan(100);
    expect(first).toContain('0 already up to date');
    // Every crop was kept at the model's input size (≈ 0.15 MB each), under the default limit.
    expect(await embed.getByTestId('embed-input-cache').textContent()).toMatch(
      /Input cache \(crops at the model's input size\): \d+\.\d GB of its\s+\d+\.\d GB limit/,
    );
    await shot('09-embed');
    // Again, with the input cache off: nothing to do, every garment already up to date.
    await embed.getByTestId('embed-input-cache-gb').fill('0');
    await embed.getByTestId('embed-start').click();
    await poll(() => summary.textContent(), 60_000).toContain(`0 embedded, ${embedded} already up to date`);
    expect(await embed.getByTestId('embed-input-cache').count()).toBe(0);
    expect(await embed.getByTestId('embed-already').textContent()).toContain(`${embedded} of`);
    // The registry model's files are listed with where each goes (none are here: no downloads).
    await embed.getByTestId('embed-source-registry').check();
    expect(await embed.getByTestId('embed-files').textContent()).toContain('missing');
    // Train: the hint is gone; a quick run on the export's vectors.
    await tab('train');
    await poll(() => page.locator('#panel-train').getByTestId('next-step').count()).toBe(0);
    await page.getByTestId('train-quick').check();
    await page.getByTestId('train-start').click();
    await page.locator('#panel-train').getByTestId('train-summary').waitFor({ timeout: 180_000 });
    // image → JSON: the attribute combinations nearest to a picture, with scores.
    await tab('search');
    const search = page.locator('#panel-search');
    await search.getByTestId('search-mode-tag').check();
    await search.getByTestId('search-image').setInputFiles(firstJpeg(dataFolder));
    await search.getByTestId('search-start').click();
    await search.getByTestId('tag-vocabulary').waitFor({ timeout: 60_000 });
    expect(await search.getByTestId('tag-vocabulary').locator('tbody tr').count()).toBe(5);
    expect(await search.getByTestId('tag-training').locator('tbody tr').count()).toBe(5);
    const scores = (await search.getByTestId('tag-score').allTextContents()).map(Number);
    expect(scores.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(await search.getByTestId('tag-meta').textContent()).toContain('my-clip');
    await shot('10-image-to-json');
    // Back to the demo workspace for the layout checks.
    await tab('dataset');
    await page.getByTestId('open-demo').click();
    await poll(() => page.getByTestId('workspace-line').textContent(), 90_000).toContain(
      join('workspaces', 'demo'),
    );
  }, 420_000);

  it('has no horizontal overflow at 1024, 1280 and 1440 px on any tab, and charts follow the window', async () => {
    const overflow = () =>
      page.evaluate(`(() => {
        const root = document.documentElement;
        if (root.scrollWidth <= root.clientWidth) return null;
        // Name the widest offenders, so a failure says what to fix.
        const wide = [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1)
          .slice(0, 5)
          .map((e) => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '') + (e.dataset && e.dataset.testid ? '[' + e.dataset.testid + ']' : ''));
        return root.scrollWidth + ' > ' + root.clientWidth + ': ' + wide.join(', ');
      })()`);
    /** The loss chart's canvas width, once it has been redrawn to fill its box (else -1). */
    const canvasWidth = () =>
      page.locator('#panel-train [data-testid="chart-loss"] canvas').evaluate((c: unknown) => {
        const canvas = c as { clientWidth: number; parentElement: { clientWidth: number } };
        return Math.abs(canvas.clientWidth - canvas.parentElement.clientWidth) <= 1 ? canvas.clientWidth : -1;
      });
    const widths: Record<number, number> = {};
    mkdirSync(join(SHOTS, 'tabs-1280x720'), { recursive: true });
    mkdirSync(join(SHOTS, 'tabs-1024'), { recursive: true });
    for (const width of [1440, 1280, 1024]) {
      await page.setViewportSize({ width, height: width === 1280 ? 720 : 900 });
      for (const id of TABS) {
        await tab(id);
        await page.locator(`#panel-${id}`).waitFor();
        // Polled: a chart in a tab that was hidden while the window shrank redraws on the next frame.
        await poll(async () => ({ width, tab: id, overflow: await overflow() }), 5000).toEqual({
          width,
          tab: id,
          overflow: null,
        });
        if (width !== 1440) {
          await page.evaluate('window.scrollTo(0, 0)');
          const folder = width === 1280 ? 'tabs-1280x720' : 'tabs-1024';
          await page.screenshot({ path: join(SHOTS, folder, `${id}.png`), fullPage: true });
        }
        if (id === 'train') {
          // chart.js redraws when its container is resized.
          await poll(async () => {
            widths[width] = await canvasWidth();
            return widths[width];
          }).toBeGreaterThan(0);
        }
      }
    }
    // Two charts a row at 1440 and 1280 px, so each narrows with the window (one a row at 1024 px).
    expect(widths[1280]!).toBeLessThan(widths[1440]!);
    expect(widths[1024]!).toBeGreaterThan(0);
    await page.setViewportSize({ width: 1400, height: 1000 });
  }, 120_000);

  it('moves between tabs with the arrow keys (WAI-ARIA tabs), and a reload comes back to the same view', async () => {
    await tab('dataset');
    await page.getByTestId('tab-dataset').focus();
    const selected = () => page.locator('[role="tab"][aria-selected="true"]').getAttribute('id');
    const focused = () => page.evaluate('document.activeElement && document.activeElement.id');
    await page.keyboard.press('ArrowRight');
    expect(await selected()).toBe('tab-train');
    expect(await focused()).toBe('tab-train');
    expect(await page.locator('#panel-train').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect(await selected()).toBe('tab-dashboard');
    await page.keyboard.press('ArrowRight');
    expect(await selected()).toBe('tab-dataset');
    await page.keyboard.press('ArrowLeft');
    expect(await selected()).toBe('tab-dashboard');
    await page.keyboard.press('Home');
    expect(await selected()).toBe('tab-dataset');
    // Roving tabindex: only the open tab is in the Tab order.
    expect(await page.locator('[role="tab"][tabindex="0"]').count()).toBe(1);
    expect(await page.getByTestId('tab-dataset').getAttribute('tabindex')).toBe('0');

    // The tab and the search mode live in the URL: a reload comes back to them.
    await tab('search');
    await page.getByTestId('search-mode-image').check();
    expect(page.url()).toContain('tab=search');
    await page.reload();
    await page.getByTestId('tab-search').waitFor();
    await poll(() => page.getByTestId('tab-search').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#panel-search').isVisible()).toBe(true);
    expect(await page.locator('#panel-dataset').count()).toBe(0);
    expect(await page.getByTestId('search-mode-image').isChecked()).toBe(true);
    // Back goes to the previous tab.
    await tab('evaluate');
    await page.goBack();
    await poll(() => page.getByTestId('tab-search').getAttribute('aria-selected')).toBe('true');
  }, 60_000);

  it('raised no uncaught error and requested nothing that failed', () => {
    expect(pageErrors).toEqual([]);
    // Every image, API call and asset the session asked for was there (the failed scan fails as a
    // job, whose start still answers 200).
    // The one refusal asked for: train.start with a learning rate of 0 (the contract answers 400;
    // were the check moved into the job, its start would answer 200 and the job fail instead).
    expect(failedRequests.filter((r) => r.endsWith('/api/rpc/train.start')).length).toBeLessThanOrEqual(1);
    expect(failedRequests.filter((r) => !r.endsWith('/api/rpc/train.start'))).toEqual([]);
  });
});
