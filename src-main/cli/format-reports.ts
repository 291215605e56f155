/** Human-readable renderings of the reports the dataset commands print (`--json` prints them raw). */
import type {
  ExclusionReason,
  ScanReport,
  SplitSummary,
  StyleCounts,
  WorkspaceSummary,
} from '../../src-shared/dataset.ts';
import type { CropSummary } from '../dataset/crops.ts';
import type { EmbedSummary } from '../encoders/embed-images.ts';
import type { ImportReport } from '../encoders/import-embeddings.ts';
import { table } from './terminal-text.ts';

const SYNTHETIC_BANNER =
  'SYNTHETIC DATA: generated demo labels, images and stand-in embeddings, not K-Fashion.';

const reasons = (c: StyleCounts) =>
  (Object.entries(c.excludedByReason) as [ExclusionReason, number][])
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ') || '-';

export function formatScanReport(r: ScanReport): string {
  const rows = Object.entries(r.perStyle)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([style, c]) => row(style, c));
  const out: string[] = [];
  if (r.synthetic) out.push(SYNTHETIC_BANNER, '');
  out.push(`Scanned ${r.dataRoot} into ${r.workspace}`);
  out.push('');
  out.push(
    table(
      ['style', 'label files', 'images found', 'garments', 'excluded', 'excluded by reason', 'skipped files'],
      [...rows, row('total', r.total)],
    ),
  );
  out.push('');
  out.push(formatSplit(r.split));
  if (r.removedStale > 0)
    out.push(`Removed ${r.removedStale} images whose label files are gone since the last scan.`);
  const folders = r.skippedFolders ?? [];
  if (folders.length > 0) {
    out.push('', `Skipped ${folders.length} folders (the scan went on without them):`);
    for (const s of folders.slice(0, 20))
      out.push(`  ${printable(s.path)}\n    ${s.reason}: ${printable(s.detail)}`);
    if (folders.length > 20) out.push(`  … and ${folders.length - 20} more`);
  }
  if (r.total.skippedFiles > 0) {
    out.push('', `Skipped ${r.total.skippedFiles} label files (the scan went on without them):`);
    for (const s of r.skipped.slice(0, 20))
      out.push(`  ${printable(s.path)}\n    ${s.reason}: ${printable(s.detail)}`);
    if (r.total.skippedFiles > 20) out.push(`  … and ${r.total.skippedFiles - 20} more`);
  }
  if (r.reportFiles && (folders.length > 0 || r.total.skippedFiles > 0 || r.total.excluded > 0)) {
    out.push(
      '',
      `Every skipped folder and file and every excluded garment, with its reason: ${r.reportFiles.json} (and ${r.reportFiles.csv})`,
    );
  }
  if (r.reportError) out.push('', `Warning: ${r.reportError}`);
  const missing = r.total.labels - r.total.images;
  if (missing > 0)
    out.push('', `${missing} labels have no image file (they can still use imported embeddings).`);
  out.push(
    '',
    `${r.total.labels} label files in ${(r.elapsedMs / 1000).toFixed(1)} s (${r.filesPerSecond} files/s).`,
  );
  return out.join('\n');
}

/**
 * File names come from the dataset, not the user: a name holding terminal escape sequences must not
 * drive the terminal when the report is printed. Control characters are shown as \xNN.
 */
function printable(s: string): string {
  return s.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function row(name: string, c: StyleCounts): string[] {
  return [
    name,
    String(c.labels + c.skippedFiles),
    String(c.images),
    String(c.garments),
    String(c.excluded),
    reasons(c),
    String(c.skippedFiles),
  ];
}

export function formatSplit(s: SplitSummary): string {
  const how =
    s.method === 'seeded'
      ? `seeded split (seed ${s.seed}, shop looks kept together)`
      : `split from ${s.file}`;
  const lines = [
    `Split: ${how}: train ${s.trainImages} images / ${s.trainItems} garments, val ${s.valImages} images / ${s.valItems} garments (${(s.valRatio * 100).toFixed(1)} % of images in val).`,
  ];
  if (s.unknownStemCount)
    lines.push(
      `  ${s.unknownStemCount} stems in the split file match no image, e.g. ${s.unknownStems?.slice(0, 5).join(', ')}`,
    );
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export function formatCropSummary(c: CropSummary): string {
  const lines = [
    `Crops: ${c.made} made, ${c.cached} already up to date, ${c.noImage} garments without an image, ${c.failed.length} failed.`,
  ];
  for (const f of c.failed.slice(0, 20)) lines.push(`  ${f.id}: ${f.reason}`);
  return lines.join('\n');
}

export function formatSummary(s: WorkspaceSummary): string {
  const out: string[] = [];
  if (s.synthetic) out.push(SYNTHETIC_BANNER, '');
  out.push(`Workspace ${s.workspace} (schema v${s.schemaVersion})`);
  for (const r of s.dataRoots) out.push(`  data: ${r.path}${r.synthetic ? ' (synthetic demo)' : ''}`);
  out.push('');
  const rows = Object.entries(s.perStyle).map(([style, c]) => [
    style,
    String(c.images),
    String(c.items),
    String(c.trainItems),
    String(c.valItems),
  ]);
  out.push(
    table(
      ['style', 'images', 'garments', 'train', 'val'],
      [...rows, ['total', String(s.images), String(s.items), '', '']],
    ),
  );
  out.push('');
  if (s.split)
    out.push(
      `Split: ${s.split.method === 'seeded' ? `seeded, seed ${s.split.seed}` : `from ${s.split.file}`}`,
    );
  out.push(
    `Vocabulary sizes (with <pad>, <unk>): ${Object.entries(s.vocabularySizes)
      .map(([f, n]) => `${f} ${n}`)
      .join(', ')}`,
  );
  out.push(`Cached crops: ${s.crops}`);
  if (s.embeddings.length === 0)
    out.push('Image embeddings: none yet (kfashion embed, or kfashion embed --import)');
  else {
    out.push('Image embeddings:');
    for (const e of s.embeddings) {
      const how = e.note
        ? 'SYNTHETIC stand-in image encoder, not FashionCLIP'
        : e.source === 'synthetic'
          ? 'SYNTHETIC stand-ins, not FashionCLIP'
          : e.source === 'import'
            ? 'imported'
            : 'computed here (ONNX)';
      out.push(`  ${e.model}: ${e.count} vectors, ${e.dim}-d, ${how}`);
    }
  }
  if (s.imageEncoder !== undefined) {
    out.push(
      `Image encoder (image → image): ${s.imageEncoder ? s.imageEncoder.label : 'none yet (kfashion embed)'}`,
    );
  }
  return out.join('\n');
}

/** Bytes as GB with one decimal (the input cache's limit is given in GB). */
function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

export function formatEmbedSummary(e: EmbedSummary): string {
  const lines = [
    ...(e.synthetic ? [SYNTHETIC_BANNER, `  ${e.note ?? 'SYNTHETIC stand-in encoder'}`, ''] : []),
    `Embedded ${e.embedded} garment crops with ${e.model} (${e.device}, ${e.threads} threads, batch ${e.batch}) in ${(e.elapsedMs / 1000).toFixed(1)} s: ${e.imgPerSec} img/s.`,
    `  ${e.cached} already up to date, ${e.noImage} garments without an image, ${e.failed.length} failed; ${e.total} garments in all.`,
    `  model file: ${e.onnxPath}`,
  ];
  const cache = e.inputCache;
  if (cache) {
    lines.push(
      `  input cache (crops at the model's input size, so a re-embedding skips their decode): ${gb(cache.usedBytes)} of its ${gb(cache.limitBytes)} limit`,
    );
    if (cache.notKept > 0) {
      lines.push(
        `  the input cache is full: ${cache.notKept} crops were not kept in it (a re-embedding decodes them again); --input-cache-gb N raises the limit`,
      );
    }
  }
  if (e.noImage > 0) {
    lines.push(
      `  without an image (they can still use imported embeddings), e.g. ${e.noImageIds.slice(0, 5).join(', ')}`,
    );
  }
  for (const f of e.failed.slice(0, 20)) lines.push(`  failed ${f.id}: ${f.reason}`);
  if (e.failed.length > 20) lines.push(`  … and ${e.failed.length - 20} more (--json lists them all)`);
  if (e.views) {
    const v = e.views;
    lines.push(
      `Views: ${v.views} augmented views per garment (recipe ${v.recipe}, view seed ${v.seed}): ${v.embedded} embedded, ${v.cached} already up to date, ${v.failed.length} garments failed, in ${(v.elapsedMs / 1000).toFixed(1)} s.`,
      `  train with them: kfashion train --image-views ${v.views}${v.seed ? ` --view-seed ${v.seed}` : ''}`,
    );
    for (const f of v.failed.slice(0, 20)) lines.push(`  view failed ${f.id}: ${f.reason}`);
  }
  return lines.join('\n');
}

export function formatImportReport(r: ImportReport): string {
  const lines: string[] = [];
  if (r.synthetic) lines.push(SYNTHETIC_BANNER, '');
  lines.push(
    `Imported ${r.stored} of ${r.rows} ${r.dim}-d vectors as model "${r.model}" (${r.synthetic ? 'SYNTHETIC stand-ins' : r.source}) from ${r.file}.`,
  );
  for (const n of r.notes) lines.push(`  ${n}`);
  return lines.join('\n');
}
