/**
 * Builds small K-Fashion trees for tests, one label at a time, in the real format: every test states
 * exactly which quirk it plants. Images are tiny solid JPEGs unless a test asks for a drawn box.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

export type Garment = Record<string, unknown>;

export interface LabelSpec {
  id: number;
  width?: number;
  height?: number;
  shopFile?: string;
  style?: Record<string, string> | null; // null → [{}]
  labels?: Partial<Record<'아우터' | '상의' | '하의' | '원피스', Garment>>;
  rects?: Partial<
    Record<'아우터' | '상의' | '하의' | '원피스', { x: number; y: number; w: number; h: number }>
  >;
  polygons?: Partial<Record<'아우터' | '상의' | '하의' | '원피스', [number, number][]>>;
  /** Write polygon keys in this scrambled order (default: reversed). */
  scramble?: boolean;
}

const PARTS = ['아우터', '상의', '하의', '원피스'] as const;

export function labelJson(spec: LabelSpec): Record<string, unknown> {
  const rect: Record<string, unknown[]> = {};
  const poly: Record<string, unknown[]> = {};
  const lab: Record<string, unknown[]> = {};
  for (const p of PARTS) {
    const r = spec.rects?.[p];
    rect[p] = [r ? { X좌표: r.x, Y좌표: r.y, 가로: r.w, 세로: r.h } : {}];
    const pts = spec.polygons?.[p];
    if (pts) {
      const entries = pts.flatMap(([x, y], i) => [
        [`X좌표${i + 1}`, x],
        [`Y좌표${i + 1}`, y],
      ]);
      if (spec.scramble !== false) entries.reverse();
      poly[p] = [Object.fromEntries(entries)];
    } else poly[p] = [{}];
    lab[p] = [spec.labels?.[p] ?? {}];
  }
  return {
    '이미지 정보': {
      '이미지 식별자': spec.id,
      '이미지 높이': spec.height ?? 100,
      '이미지 너비': spec.width ?? 80,
      '이미지 파일명': spec.shopFile ?? `IMG_${spec.id}.jpg`,
    },
    '데이터셋 정보': {
      '파일 생성일자': '2020-08-10 08:33:18',
      '데이터셋 상세설명': {
        렉트좌표: rect,
        폴리곤좌표: poly,
        라벨링: { 스타일: [spec.style === null ? {} : (spec.style ?? { 스타일: '로맨틱' })], ...lab },
      },
      '파일 번호': spec.id,
      '파일 이름': spec.shopFile ?? `IMG_${spec.id}.jpg`,
    },
  };
}

/** A simple valid top garment with a polygon covering (10,10)-(50,60). */
export function simpleLabel(id: number, extra: Partial<LabelSpec> = {}): LabelSpec {
  return {
    id,
    labels: { 상의: { 카테고리: '블라우스', 색상: '화이트', 핏: '루즈', 소재: ['우븐'], 디테일: ['셔링'] } },
    polygons: {
      상의: [
        [10, 10],
        [50, 10],
        [50, 60],
        [10, 60],
      ],
    },
    rects: { 상의: { x: 10, y: 10, w: 40, h: 50 } },
    ...extra,
  };
}

export class FixtureTree {
  readonly root: string;
  constructor(name = 'kf 픽스처 ') {
    // A space and Hangul in the path on purpose: real users have both.
    this.root = mkdtempSync(join(tmpdir(), name));
  }

  labelDir(style: string, split?: string): string {
    const d = split ? join(this.root, split, '라벨링데이터', style) : join(this.root, '라벨링데이터', style);
    mkdirSync(d, { recursive: true });
    return d;
  }

  imageDir(style: string, split?: string): string {
    const d = split ? join(this.root, split, '원천데이터', style) : join(this.root, '원천데이터', style);
    mkdirSync(d, { recursive: true });
    return d;
  }

  addLabel(style: string, spec: LabelSpec, opts: { stem?: string; split?: string } = {}): string {
    const file = join(this.labelDir(style, opts.split), `${opts.stem ?? spec.id}.json`);
    writeFileSync(file, JSON.stringify(labelJson(spec)));
    return file;
  }

  addRaw(style: string, fileName: string, content: string | Uint8Array, split?: string): string {
    const file = join(this.labelDir(style, split), fileName);
    writeFileSync(file, content);
    return file;
  }

  async addImage(style: string, stem: string, width = 80, height = 100, split?: string): Promise<string> {
    const file = join(this.imageDir(style, split), `${stem}.jpg`);
    await sharp({ create: { width, height, channels: 3, background: '#dddddd' } })
      .jpeg()
      .toFile(file);
    return file;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function tempDir(prefix = 'kf-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
