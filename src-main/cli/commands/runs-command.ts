/** `kfashion runs list|show|compare|promote|remove|note|tag`: the workspace's training runs. */
import type { Command } from 'commander';
import type { RunComparison, RunDetail } from '../../services/run-views.ts';
import { RUN_STATUSES } from '../../store/runs-store.ts';
import type { RunView } from '../../training/runs.ts';
import { oneOf } from '../options.ts';
import { printJson, withWorkbench } from '../run.ts';
import { table } from '../terminal-text.ts';

const pct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(1)} %`;
const num = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4);
const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

function statusLabel(r: RunView): string {
  const s =
    r.status === 'interrupted' && r.hasLast
      ? 'interrupted (resumable)'
      : r.status === 'stopped' && r.hasLast
        ? `stopped at epoch ${r.epochsRun ?? 0} (resumable)`
        : r.status;
  return r.current ? `${s} *current*` : s;
}

function settings(r: RunView): string {
  const c = r.config as Record<string, unknown>;
  return `ep ${c.epochs} · B ${c.batchSize} · lr ${c.lr} · T ${c.temperature} · seed ${c.seed}`;
}

export function formatRunsList(runs: RunView[], recall10: Map<string, number>): string {
  if (runs.length === 0) return 'No runs in this workspace yet: kfashion train --workspace WS';
  const protocols = [...new Set(runs.map((r) => r.headline?.protocol).filter(Boolean))];
  const seqOf = new Map(runs.map((r) => [r.id, `#${r.seq}`]));
  const rows = runs.map((r) => [
    `#${r.seq}`,
    r.id,
    when(r.startedAt),
    statusLabel(r),
    r.kind,
    r.parentId ? (seqOf.get(r.parentId) ?? r.parentId) : '',
    ((r.config as { fields?: string[] }).fields ?? []).join(','),
    settings(r),
    r.headline ? String(r.headline.epoch) : '—',
    pct(r.headline?.top1),
    pct(r.headline?.top5),
    pct(r.headline?.recall10 ?? recall10.get(r.id)),
    num(r.headline?.mrr),
    r.tags.join(' '),
  ]);
  return [
    table(
      [
        'run',
        'id',
        'started (UTC)',
        'status',
        'kind',
        'parent',
        'fields',
        'settings',
        'best ep',
        'Top-1',
        'Top-5',
        'R@10',
        'MRR',
        'tags',
      ],
      rows,
    ),
    `Top-1 / Top-5 / R@10 / MRR: best epoch's validation, JSON → image (${protocols.join('; ') || 'gallery'}); for runs made before R@10 was recorded, R@10 of their latest evaluation (— when none).`,
    '*current*: the run whose files are checkpoints/best_model.* and results/training_*; change it with "kfashion runs promote ID".',
  ].join('\n');
}

export function formatRunDetail(d: RunDetail): string {
  const r = d.run;
  const out = [
    `Run #${r.seq} ${r.id} (${r.kind}) — ${statusLabel(r)}`,
    `  started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}${r.pid ? `, process ${r.pid} on ${r.host}` : ''}`,
  ];
  if (r.parentId) out.push(`  parent (init-from): ${r.parentId}`);
  if (r.replayOf) out.push(`  repeats the config of: ${r.replayOf}`);
  if (r.study) out.push(`  study: ${r.study}`);
  if (r.tags.length) out.push(`  tags: ${r.tags.join(', ')}`);
  if (r.note) out.push(`  note: ${r.note}`);
  if (d.status?.error) out.push(`  error: ${d.status.error}`);
  if (d.files.dir) out.push(`  folder: ${d.files.dir}/`);
  out.push('', 'Settings:');
  const c = (d.config?.config ?? r.config) as Record<string, unknown>;
  out.push(
    table(
      ['setting', 'value'],
      Object.entries(c).map(([k, v]) => [k, JSON.stringify(v)]),
    ),
  );
  const fp = d.config?.data;
  if (fp) {
    out.push(
      '',
      `Data: split ${fp.split}; ${fp.train} train / ${fp.val} val items (ids ${fp.trainIds} / ${fp.valIds}); "${fp.model}" vectors ${fp.vectors}.`,
    );
  }
  if (d.history.length) {
    out.push('', 'Validation per epoch (JSON → image, whole validation gallery):');
    out.push(
      table(
        ['epoch', 'train loss', 'val loss', 'Top-1', 'Top-5', 'MRR'],
        d.history.map((h) => [
          `${h.epoch}${h.epoch === r.bestEpoch ? ' (best)' : ''}`,
          num(h.trainLoss),
          num(h.valLoss),
          pct(h.top1),
          pct(h.top5),
          num(h.mrr),
        ]),
      ),
    );
  }
  if (d.evaluations.length) {
    out.push('', 'Evaluations of this run:');
    for (const e of d.evaluations) {
      const s = e.summary as { recall?: Record<string, number>; mrr?: number };
      out.push(
        `  ${e.runId} (${e.protocol}; checkpoint epoch ${e.checkpointEpoch ?? '?'}): Top-1 ${pct(s.recall?.['1'])}, Top-5 ${pct(s.recall?.['5'])}, R@10 ${pct(s.recall?.['10'])}, MRR ${num(s.mrr)}${e.stale ? ' — STALE: not the current run' : ''}  [${e.file}]`,
      );
    }
  }
  return out.join('\n');
}

export function formatComparison(c: RunComparison): string {
  const name = (r: RunView) => `#${r.seq}${r.current ? '*' : ''}`;
  const head = ['', ...c.runs.map(name)];
  const out = [`Comparing ${c.runs.map((r) => `#${r.seq} ${r.id}`).join(', ')} (* = current run)`, ''];
  out.push('Settings that differ:');
  out.push(
    c.configDiff.length
      ? table(
          head,
          c.configDiff.map((d) => [d.key, ...d.values.map((v) => (v === null ? '—' : JSON.stringify(v)))]),
        )
      : '  none: the runs share every setting',
  );
  if (c.sameData === false)
    out.push('NOTE: the runs trained on different data (split items or vectors differ).');
  out.push('', 'Figures (◀ best):');
  out.push(
    table(
      [...head, 'measured as'],
      c.metrics.map((m) => [
        m.name,
        ...m.values.map((v, i) => {
          const f = m.name === 'validation loss' || m.name === 'MRR' ? num(v) : pct(v);
          return c.runs[i]!.id === m.best ? `${f} ◀` : f;
        }),
        m.protocol,
      ]),
    ),
  );
  out.push(
    "A difference within sampling noise is not evidence: compare the evaluations' Wilson intervals before picking a run.",
  );
  if (c.chart) out.push('', `Validation curves overlaid: ${c.chart}`);
  return out.join('\n');
}

export function registerRunsCommand(program: Command): void {
  const runs = program
    .command('runs')
    .description(
      "The workspace's training runs (runs/<id>/): list, show, compare, promote to current, remove, note, tag.",
    )
    .addHelpText(
      'after',
      '\nA run is named by its id, its number (3 or #3), a unique start of its id, "current" or "latest".\nExamples:\n  kfashion runs list --workspace ws/demo\n  kfashion runs compare 1 2 --workspace ws/demo\n  kfashion runs promote 2 --workspace ws/demo',
    );
  const ws = '--workspace <dir>';
  const wsHelp = 'an existing workspace';

  runs
    .command('list')
    .description('every run: id, time, status, parent, fields, key settings, best Top-1/Top-5/R@10/MRR')
    .requiredOption(ws, wsHelp)
    .option('--tag <tag>', 'only runs with this tag')
    .option(
      '--status <status>',
      `only runs in this state (${RUN_STATUSES.join(', ')})`,
      oneOf('--status', RUN_STATUSES),
    )
    .option('--json', 'print JSON')
    .action((o: { workspace: string; tag?: string; status?: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const list = wb
          .runs()
          .filter(
            (r) => (o.tag ? r.tags.includes(o.tag) : true) && (o.status ? r.status === o.status : true),
          );
        const recall10 = wb.runsRecall10(list.map((r) => r.id));
        if (o.json)
          printJson(
            list.map((r) => ({ ...r, recall10: r.headline?.recall10 ?? recall10.get(r.id) ?? null })),
          );
        else console.log(formatRunsList(list, recall10));
      }),
    );

  runs
    .command('show <run>')
    .description('one run: state, settings, data fingerprint, per-epoch validation, its evaluations')
    .requiredOption(ws, wsHelp)
    .option('--json', 'print JSON')
    .action((ref: string, o: { workspace: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const d = wb.runShow(ref);
        if (o.json) printJson(d);
        else console.log(formatRunDetail(d));
      }),
    );

  runs
    .command('compare <runs...>')
    .description(
      'settings that differ, figures side by side with the best marked, and a PNG overlaying the validation curves',
    )
    .requiredOption(ws, wsHelp)
    .option('--out <file>', 'where to write the chart (default results/runs_compare_<time>.png)')
    .option('--json', 'print JSON')
    .action((refs: string[], o: { workspace: string; out?: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, async (wb) => {
        const c = await wb.runsCompare(refs, { out: o.out });
        if (o.json) printJson(c);
        else console.log(formatComparison(c));
      }),
    );

  runs
    .command('promote <run>')
    .description('make this run current: its files become checkpoints/best_model.* and results/training_*')
    .requiredOption(ws, wsHelp)
    .option('--json', 'print JSON')
    .action((ref: string, o: { workspace: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const r = wb.runPromote(ref);
        if (o.json) printJson(r);
        else
          console.log(
            `Run #${r.seq} ${r.id} is now the current run (checkpoints/best_model.*, results/training_*).`,
          );
      }),
    );

  runs
    .command('remove <run>')
    .description('delete a run (its folder and record); the current run only with --force')
    .requiredOption(ws, wsHelp)
    .option('--force', 'also remove the current run (the newest other finished run becomes current)')
    .option('--json', 'print JSON')
    .action((ref: string, o: { workspace: string; force?: boolean; json?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const r = wb.runRemove(ref, { force: o.force });
        if (o.json) printJson(r);
        else
          console.log(
            `Removed run ${r.removed}.${r.current ? ` Current run: ${r.current}.` : ' The workspace has no current run now.'}`,
          );
      }),
    );

  runs
    .command('note <run> <text>')
    .description("set the run's note (an empty text clears it)")
    .requiredOption(ws, wsHelp)
    .action((ref: string, text: string, o: { workspace: string }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const r = wb.runNote(ref, text);
        console.log(`Run #${r.seq} ${r.id}: note ${r.note ? `"${r.note}"` : 'cleared'}.`);
      }),
    );

  runs
    .command('tag <run> <tag>')
    .description('add a tag to the run (or take it off with --remove)')
    .requiredOption(ws, wsHelp)
    .option('--remove', 'take the tag off')
    .action((ref: string, tag: string, o: { workspace: string; remove?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const r = wb.runTag(ref, tag, { remove: o.remove });
        console.log(`Run #${r.seq} ${r.id}: tags ${r.tags.length ? r.tags.join(', ') : '(none)'}.`);
      }),
    );

  for (const c of runs.commands) c.exitOverride().showHelpAfterError('(add --help for usage)');
}
