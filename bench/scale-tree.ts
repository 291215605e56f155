/**
 * A K-Fashion-shaped dataset of N garments for the scale benchmark and the fault campaign: label files
 * only (no JPEGs), 24 style folders, one to three garments per file (two on average, as in the real
 * set), 20–40-point polygons, every attribute, a quarter of shop file names in the `PREFIX_NNN_MM.jpg`
 * look pattern; and a matching `.npy` [N, 512] float32 of unit vectors + the ids JSON.
 *
 * Everything is streamed: files are written one by one, vectors in blocks of 4,096 rows, so the
 * generator's memory does not grow with N (the point of the benchmark is the product's memory).
 * The vectors are clustered like image embeddings (a centre per category and per style plus noise)
 * so that training and search see realistic, not uniform, data; their values do not change timings.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  CATEGORIES_BY_PART,
  KFASHION_STYLE_FOLDERS,
  KNOWN_VALUES,
} from '../src-main/dataset/kfashion-values.ts';
import { labelJson } from '../test/helpers/kfashion-fixture.ts';

export const SCALE_DIM = 512;
const BLOCK_ROWS = 4096;

type Part = '아우터' | '상의' | '하의' | '원피스';
/** Garments per file, cycled: mean 2, as in K-Fashion. */
const PART_SETS: Part[][] = [
  ['상의', '하의'],
  ['상의', '하의'],
  ['원피스'],
  ['아우터', '상의', '하의'],
  ['상의', '하의'],
];

/** xorshift32: fast and seeded; these are benchmark data, not a simulation needing a better generator. */
class Xor {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  /** Roughly normal (sum of four uniforms, centred). */
  normal(): number {
    return this.next() + this.next() + this.next() + this.next() - 2;
  }
}

function polygon(rng: Xor, x0: number, y0: number, w: number, h: number): [number, number][] {
  const n = 20 + Math.floor(rng.next() * 21);
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return [
      +(x0 + w / 2 + (w / 2) * Math.cos(a) + rng.next()).toFixed(3),
      +(y0 + h / 2 + (h / 2) * Math.sin(a) + rng.next()).toFixed(3),
    ] as [number, number];
  });
}

const BOX: Record<Part, [number, number, number, number]> = {
  아우터: [180, 40, 440, 700],
  상의: [260, 60, 295, 335],
  하의: [320, 400, 190, 600],
  원피스: [230, 60, 340, 900],
};

export interface ScaleTree {
  data: string;
  npy: string;
  ids: string;
  files: number;
  garments: number;
  /** Bytes written: labels, vectors. */
  labelBytes: number;
  npyBytes: number;
}

/** Writes `<dir>/data/라벨링데이터/<style>/<stem>.json`, `<dir>/vectors.npy` and `<dir>/vector_ids.json`. */
export function writeScaleTree(dir: string, garments: number, seed = 7): ScaleTree {
  const data = join(dir, 'data');
  const styles = KFASHION_STYLE_FOLDERS;
  for (const s of styles) mkdirSync(join(data, '라벨링데이터', s), { recursive: true });
  const rng = new Xor(seed * 2654435761 || 1);

  // One centre per category and per style: the cluster structure of real image embeddings.
  const centre = (key: string): Float32Array => {
    let h = 2166136261;
    for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    const r = new Xor(h >>> 0 || 1);
    return Float32Array.from({ length: SCALE_DIM }, () => r.normal());
  };
  const centres = new Map<string, Float32Array>();
  const centreOf = (k: string) => {
    let c = centres.get(k);
    if (!c) {
      c = centre(k);
      centres.set(k, c);
    }
    return c;
  };

  const npy = join(dir, 'vectors.npy');
  const idsPath = join(dir, 'vector_ids.json');
  const npyFd = openSync(npy, 'w');
  const idsFd = openSync(idsPath, 'w');
  let labelBytes = 0;
  try {
    // .npy v1.0 header, padded so the data starts at a multiple of 64 bytes.
    const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${garments}, ${SCALE_DIM}), }`;
    const headerLen = Math.ceil((10 + dict.length + 1) / 64) * 64;
    const header = Buffer.alloc(headerLen, 0x20);
    header.write('\x93NUMPY', 0, 'latin1');
    header[6] = 1;
    header[7] = 0;
    header.writeUInt16LE(headerLen - 10, 8);
    header.write(dict, 10, 'latin1');
    header[headerLen - 1] = 0x0a;
    writeSync(npyFd, header);
    writeSync(idsFd, '[');

    const block = new Float32Array(BLOCK_ROWS * SCALE_DIM);
    let inBlock = 0;
    const flush = () => {
      if (inBlock > 0) writeSync(npyFd, new Uint8Array(block.buffer, 0, inBlock * SCALE_DIM * 4));
      inBlock = 0;
    };
    let made = 0;
    let file = 0;
    while (made < garments) {
      const parts = PART_SETS[file % PART_SETS.length]!.slice(0, garments - made);
      const style = styles[file % styles.length]!;
      const id = 1_000_000 + file;
      const styleLabel =
        style === '기타' ? null : { 스타일: style, 서브스타일: rng.pick(KNOWN_VALUES.style) };
      const labels: Partial<Record<Part, Record<string, unknown>>> = {};
      const polygons: Partial<Record<Part, [number, number][]>> = {};
      const rects: Partial<Record<Part, { x: number; y: number; w: number; h: number }>> = {};
      for (const p of parts) {
        const category = rng.pick(CATEGORIES_BY_PART[p]);
        labels[p] = {
          카테고리: category,
          색상: rng.pick(KNOWN_VALUES.color),
          서브색상: rng.pick(KNOWN_VALUES.color),
          기장: '노멀',
          핏: rng.pick(KNOWN_VALUES.silhouette),
          소재: [rng.pick(KNOWN_VALUES.material), rng.pick(KNOWN_VALUES.material)],
          프린트: [rng.pick(KNOWN_VALUES.print)],
          디테일: [rng.pick(KNOWN_VALUES.detail)],
        };
        const [x, y, w, h] = BOX[p];
        polygons[p] = polygon(rng, x, y, w, h);
        rects[p] = { x, y, w, h };
        // The garment's vector: its category's and style's centres plus noise, unit length.
        const row = block.subarray(inBlock * SCALE_DIM, (inBlock + 1) * SCALE_DIM);
        const cc = centreOf(`c:${category}`);
        const sc = centreOf(`s:${style}`);
        let norm = 0;
        for (let d = 0; d < SCALE_DIM; d++) {
          const v = cc[d]! + 0.5 * sc[d]! + 0.8 * rng.normal();
          row[d] = v;
          norm += v * v;
        }
        norm = Math.sqrt(norm);
        for (let d = 0; d < SCALE_DIM; d++) row[d]! /= norm;
        if (++inBlock === BLOCK_ROWS) flush();
        writeSync(idsFd, `${made === 0 ? '' : ','}${JSON.stringify(`${style}/${id}/${p}`)}`);
        made++;
      }
      const shopFile =
        file % 4 === 0 ? `Shop${file % 97}_${Math.floor(file / 4)}_0${(file % 3) + 1}.jpg` : `IMG_${id}.jpg`;
      const text = JSON.stringify(
        labelJson({ id, width: 800, height: 1200, shopFile, style: styleLabel, labels, polygons, rects }),
      );
      writeFileSync(join(data, '라벨링데이터', style, `${id}.json`), text);
      labelBytes += Buffer.byteLength(text);
      file++;
    }
    flush();
    writeSync(idsFd, ']');
    return {
      data,
      npy,
      ids: idsPath,
      files: file,
      garments,
      labelBytes,
      npyBytes: headerLen + garments * SCALE_DIM * 4,
    };
  } finally {
    closeSync(npyFd);
    closeSync(idsFd);
  }
}
