/**
 * A small real workspace for the recommendation tests: a K-Fashion tree of garments in distinct solid
 * colours (scanned into SQLite), embedded with the tiny generated FashionCLIP-shaped ONNX model (so the
 * workspace image encoder is a real ONNX export recorded by `embed`), and a folder of new products in
 * other colours with a catalog.json. The tiny model maps an image to its per-channel means, so two
 * pictures of the same colour get the same vector and different colours different ones.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Workbench } from '../../src-main/services/workbench.ts';
import { FixtureTree, simpleLabel, tempDir } from './kfashion-fixture.ts';
import { writeTinyClip } from './tiny-clip-onnx.ts';

/** Colours of the dataset garments (one label each) and of the catalog products. */
export const GARMENT_COLOURS = [
  '#d02020',
  '#20a040',
  '#2040c0',
  '#e0c020',
  '#a020a0',
  '#20b0b0',
  '#f08040',
  '#606060',
];
export const PRODUCT_COLOURS: Record<string, { colour: string; style: string; category: string }> = {
  'red-blouse': { colour: '#c82828', style: '로맨틱', category: '블라우스' },
  'green-skirt': { colour: '#30a050', style: '리조트', category: '스커트' },
  'blue-jacket': { colour: '#3050b0', style: '레트로', category: '재킷' },
  'yellow-top': { colour: '#e8c830', style: '리조트', category: '탑' },
  'purple-dress': { colour: '#9830a0', style: '로맨틱', category: '드레스' },
  'cyan-shirt': { colour: '#30b8b8', style: '리조트', category: '셔츠' },
  'orange-knit': { colour: '#f08848', style: '레트로', category: '니트웨어' },
  'white-tee': { colour: '#f4f4f4', style: '로맨틱', category: '티셔츠' },
};

export async function solidJpeg(colour: string, width = 60, height = 80): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

export async function solidPng(colour: string, width = 60, height = 80): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

export interface RecommendFixture {
  base: string;
  workspace: string;
  modelDir: string;
  catalogDir: string;
  itemIds: string[];
  tree: FixtureTree;
}

/** Writes the product folder (images + catalog.json) at `dir`. */
export async function writeProductFolder(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const products = [];
  for (const [id, p] of Object.entries(PRODUCT_COLOURS)) {
    writeFileSync(join(dir, `${id}.jpg`), await solidJpeg(p.colour));
    products.push({
      file: `${id}.jpg`,
      id,
      name: id.replace('-', ' '),
      style: p.style,
      category: p.category,
      attributes: { 카테고리: p.category },
    });
  }
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ products }, null, 2));
}

/**
 * Builds the workspace: scan, embed with the tiny model (recorded as the workspace encoder "tiny-clip"),
 * and, unless `catalog` is false, import the product folder.
 */
export async function buildRecommendFixture(opts: { catalog?: boolean } = {}): Promise<RecommendFixture> {
  const base = tempDir('kf-rec 추천 ');
  const tree = new FixtureTree();
  const itemIds: string[] = [];
  for (const [i, colour] of GARMENT_COLOURS.entries()) {
    const style = i % 2 === 0 ? '로맨틱' : '리조트';
    const id = 1000 + i;
    tree.addLabel(style, simpleLabel(id));
    const file = join(tree.imageDir(style), `${id}.jpg`);
    await sharp({ create: { width: 80, height: 100, channels: 3, background: colour } })
      .jpeg({ quality: 95 })
      .toFile(file);
    itemIds.push(`${style}/${id}/상의`);
  }
  const workspace = join(base, 'ws');
  const modelDir = join(base, 'tiny-clip');
  writeTinyClip(modelDir);
  const catalogDir = join(base, 'new products');
  await writeProductFolder(catalogDir);
  const wb = Workbench.open(workspace);
  try {
    await wb.scan({ data: tree.root });
    await wb.embed({ modelPath: modelDir, model: 'tiny-clip', threads: 1 });
    if (opts.catalog !== false) await wb.catalogImport(catalogDir);
  } finally {
    await wb.closeAsync();
  }
  return { base, workspace, modelDir, catalogDir, itemIds: itemIds.sort(), tree };
}
