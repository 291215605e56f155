/**
 * `kfashion catalog add|import|list|remove|embed`: the catalog of new products that recommendation
 * picks from. Images are copied into the workspace under their sha256 and embedded with the
 * workspace image encoder; importing the same folder twice changes nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type {
  CatalogImportReport,
  CatalogProduct,
  ImageEncoderLabel,
} from '../../../src-shared/recommend.ts';
import { UsageError } from '../errors.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { table } from '../terminal-text.ts';

const SYNTHETIC_LINE =
  'SYNTHETIC: generated demo products / stand-in encoder vectors, not real products or FashionCLIP.';

function parseAttributes(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  const text = raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `--attributes: not valid JSON (${e instanceof Error ? e.message : String(e)}); give a JSON object, or @FILE.json`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new UsageError('--attributes expects a JSON object, e.g. \'{"카테고리":"블라우스"}\'');
  return v as Record<string, unknown>;
}

function formatImport(r: CatalogImportReport): string {
  const lines: string[] = [];
  if (r.synthetic) lines.push(SYNTHETIC_LINE, '');
  lines.push(
    `Imported ${r.folder}: ${r.added.length} added, ${r.updated.length} updated, ${r.unchanged.length} unchanged, ${r.skipped.length} skipped (${(r.elapsedMs / 1000).toFixed(1)} s).`,
    r.model
      ? `  vectors (${r.model}): ${r.embedded} computed, ${r.importedVectors} imported`
      : '  no vectors: this workspace has no image encoder yet (run "kfashion embed", then "kfashion catalog embed")',
  );
  for (const s of r.skipped.slice(0, 20)) lines.push(`  skipped ${s.file}: ${s.reason}`);
  if (r.skipped.length > 20) lines.push(`  … and ${r.skipped.length - 20} more (--json lists them all)`);
  return lines.join('\n');
}

function formatList(products: CatalogProduct[], label: ImageEncoderLabel | null): string {
  const encoder = label?.model ?? null;
  if (products.length === 0)
    return 'The catalog is empty. Add products with "kfashion catalog add" or "kfashion catalog import DIR".';
  const rows = products.map((p) => [
    p.id,
    p.name.length > 40 ? `${p.name.slice(0, 39)}…` : p.name,
    p.style ?? '',
    p.category ?? '',
    p.embeddings.join(',') || '-',
    p.synthetic ? 'yes' : '',
  ]);
  const missing = encoder ? products.filter((p) => !p.embeddings.includes(encoder)).length : products.length;
  return [
    ...(products.some((p) => p.synthetic) || label?.synthetic ? [SYNTHETIC_LINE, ''] : []),
    table(['id', 'name', 'style', 'category', 'vectors', 'synthetic'], rows),
    '',
    `${products.length} products; workspace image encoder: ${label?.label ?? 'none'}${missing ? `; ${missing} without its vector (kfashion catalog embed)` : ''}`,
  ].join('\n');
}

export function registerCatalogCommand(program: Command): void {
  const catalog = program
    .command('catalog')
    .description(
      'The catalog of new products that recommendation picks from: add, import DIR, list, remove, embed.',
    );

  catalog
    .command('add')
    .description(
      'Add (or replace) one product from an image file; its vector is computed with the workspace image encoder.',
    )
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .requiredOption('--image <file>', 'the product picture (JPEG, PNG, WebP, GIF or TIFF)')
    .requiredOption('--name <name>', 'product name')
    .option('--id <id>', 'product id: letters, digits, . _ - (default: derived from the image hash)')
    .option('--style <style>', 'style, e.g. 로맨틱')
    .option('--category <category>', 'category, e.g. 블라우스')
    .option('--attributes <json>', 'attribute JSON object, or @FILE.json')
    .option('--json', 'print the product as JSON')
    .action(
      async (o: {
        workspace: string;
        image: string;
        name: string;
        id?: string;
        style?: string;
        category?: string;
        attributes?: string;
        json?: boolean;
      }) => {
        if (!existsSync(o.image)) throw new UsageError(`--image ${o.image}: no such file`);
        const attributes = parseAttributes(o.attributes);
        await withWorkbench(o.workspace, false, async (wb) => {
          try {
            const r = await wb.catalogAdd(
              readFileSync(o.image),
              { id: o.id, name: o.name, style: o.style, category: o.category, attributes, source: o.image },
              { what: o.image, imageField: '--image' },
            );
            if (o.json) printJson(r);
            else {
              console.log(
                `${r.created ? 'Added' : 'Replaced'} ${r.product.id} "${r.product.name}" (${r.product.image}); vectors: ${r.product.embeddings.join(', ') || 'none'}`,
              );
              if (r.note) console.log(`  ${r.note}`);
            }
          } finally {
            await wb.recommender().close();
          }
        });
      },
    );

  catalog
    .command('import')
    .description(
      'Import a folder of product pictures: with a catalog.json ([{"file","id","name","style","category","attributes"}]) the files it lists, else every image in the folder and its style sub-folders. Importing the same folder again changes nothing.',
    )
    .argument('<dir>', 'folder of product images')
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--embeddings <file>', 'precomputed vectors: .npy [N, dim] (instead of computing them)')
    .option('--ids <file>', 'with --embeddings: JSON list of the N product ids, in row order')
    .option(
      '--model <id>',
      'with --embeddings: the model id the vectors belong to (default: the workspace image encoder)',
    )
    .option('--synthetic', 'mark the products as synthetic (generated pictures)')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        dir: string,
        o: {
          workspace: string;
          embeddings?: string;
          ids?: string;
          model?: string;
          synthetic?: boolean;
          json?: boolean;
        },
      ) => {
        if ((o.embeddings === undefined) !== (o.ids === undefined)) {
          throw new UsageError('--embeddings FILE.npy and --ids FILE.json go together: give both.');
        }
        if (o.model !== undefined && o.embeddings === undefined)
          throw new UsageError('--model applies to --embeddings only.');
        await withWorkbench(o.workspace, false, async (wb) => {
          try {
            const r = await withJobControls(Boolean(o.json), (controls) =>
              wb.catalogImport(
                dir,
                {
                  embeddings:
                    o.embeddings && o.ids ? { npy: o.embeddings, ids: o.ids, model: o.model } : undefined,
                  synthetic: o.synthetic,
                },
                controls,
              ),
            );
            if (o.json) printJson(r);
            else console.log(formatImport(r));
          } finally {
            await wb.recommender().close();
          }
        });
      },
    );

  catalog
    .command('list')
    .description('List the catalog.')
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--json', 'print the products as JSON')
    .action(async (o: { workspace: string; json?: boolean }) => {
      await withWorkbench(o.workspace, false, (wb) => {
        const products = wb.catalog().list();
        const encoder = wb.imageEncoder();
        if (o.json) printJson({ total: products.length, encoder, products });
        else console.log(formatList(products, encoder));
      });
    });

  catalog
    .command('remove')
    .description('Remove products (their vectors, and their images when no other product uses them).')
    .argument('<ids...>', 'product ids')
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--json', 'print the removed ids as JSON')
    .action(async (ids: string[], o: { workspace: string; json?: boolean }) => {
      await withWorkbench(o.workspace, false, (wb) => {
        const removed = wb.catalogRemove(ids);
        if (o.json) printJson({ removed });
        else
          console.log(
            `Removed ${removed.length} product${removed.length === 1 ? '' : 's'}: ${removed.join(', ')}`,
          );
      });
    });

  catalog
    .command('embed')
    .description(
      'Compute the vectors the workspace image encoder is missing (after "kfashion embed" chose a new encoder).',
    )
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--json', 'print the result as JSON')
    .action(async (o: { workspace: string; json?: boolean }) => {
      await withWorkbench(o.workspace, false, async (wb) => {
        try {
          const r = await wb.catalogEmbed();
          if (o.json) printJson(r);
          else
            console.log(
              `Embedded ${r.embedded} catalog product${r.embedded === 1 ? '' : 's'} with ${r.model}.`,
            );
        } finally {
          await wb.recommender().close();
        }
      });
    });

  for (const c of catalog.commands) c.exitOverride().showHelpAfterError('(add --help for usage)');
}
