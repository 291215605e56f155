/**
 * Parses one K-Fashion label file into garments (KFASHION_FORMAT.md). Everything a real file may do is
 * tolerated: scrambled polygon keys, `[{}]` parts, missing attributes, `[{}]` style, spelling variants,
 * degenerate rects, polygon points outside the image. What cannot be read raises a LabelError whose
 * reason and detail (with the JSON path of the offending field) end up in the scan report.
 */
import { isUtf8 } from 'node:buffer';
import type { Box, BoxSource, ExclusionReason, SkipReason } from '../../src-shared/dataset.ts';
import {
  FIELDS,
  type FieldName,
  GARMENT_PARTS,
  type GarmentAttributes,
  type GarmentPart,
} from '../../src-shared/fields.ts';
import { clipBox, type Point, polygonBox } from './box.ts';
import { normalizeValue } from './normalize.ts';

export class LabelError extends Error {
  override name = 'LabelError';
  constructor(
    readonly reason: SkipReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export interface ParsedGarment {
  part: GarmentPart;
  box: Box;
  boxSource: BoxSource;
  attributes: GarmentAttributes;
}

export interface ParsedLabel {
  imageId: number | null;
  width: number | null;
  height: number | null;
  shopFileName: string | null;
  createdAt: string | null;
  /** Normalised 스타일 and 서브스타일, de-duplicated; empty when the label has `[{}]`. */
  styles: string[];
  garments: ParsedGarment[];
  excluded: { part: GarmentPart; reason: ExclusionReason }[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** Garment-level fields: every field except the image-level style. */
const GARMENT_FIELDS = (Object.values(FIELDS) as (typeof FIELDS)[FieldName][]).filter((f) => !f.imageLevel);

/** Decodes (strict UTF-8, BOM tolerated) and parses a label file's bytes. */
export function parseLabelBytes(bytes: Uint8Array): ParsedLabel {
  // isUtf8 + toString is several times faster than a fatal TextDecoder, and as strict.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buf)) throw new LabelError('bad-encoding', 'the file is not valid UTF-8 text');
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new LabelError(
      'invalid-json',
      text.trim() === '' ? 'the file is empty' : `not valid JSON (${why})`,
    );
  }
  return parseLabel(json);
}

export function parseLabel(json: unknown): ParsedLabel {
  const root = asObject(json as Json, '(top level)');
  const info = optionalObject(root, '이미지 정보', '');
  const dataset = requireObject(root, '데이터셋 정보', '');
  const detail = requireObject(dataset, '데이터셋 상세설명', '데이터셋 정보.');
  const labeling = requireObject(detail, '라벨링', '데이터셋 정보.데이터셋 상세설명.');
  const rects = optionalObject(detail, '렉트좌표', '데이터셋 정보.데이터셋 상세설명.');
  const polygons = optionalObject(detail, '폴리곤좌표', '데이터셋 정보.데이터셋 상세설명.');

  const width = info ? optionalNumber(info, '이미지 너비', '이미지 정보.') : null;
  const height = info ? optionalNumber(info, '이미지 높이', '이미지 정보.') : null;
  const imageIdRaw = info ? info['이미지 식별자'] : undefined;
  const imageId =
    typeof imageIdRaw === 'number' && Number.isInteger(imageIdRaw)
      ? imageIdRaw
      : typeof imageIdRaw === 'string' && /^\d+$/.test(imageIdRaw.trim())
        ? Number(imageIdRaw.trim())
        : null;
  const shopRaw = info?.['이미지 파일명'] ?? dataset['파일 이름'];
  const created = dataset['파일 생성일자'];

  const styles = parseStyles(labeling);
  const garments: ParsedGarment[] = [];
  const excluded: ParsedLabel['excluded'] = [];

  for (const part of GARMENT_PARTS) {
    const base = '데이터셋 정보.데이터셋 상세설명.';
    const labelObj = firstEntry(labeling, part, `${base}라벨링.`);
    const rectObj = rects ? firstEntry(rects, part, `${base}렉트좌표.`) : null;
    const polyObj = polygons ? firstEntry(polygons, part, `${base}폴리곤좌표.`) : null;
    if (!labelObj && !rectObj && !polyObj) continue; // the part is absent from this image

    const attributes = labelObj ? parseGarmentAttributes(labelObj, `${base}라벨링.${part}[0].`) : {};
    if (styles.length > 0) attributes.style = styles;

    const polyPoints = polyObj ? parsePolygon(polyObj, `${base}폴리곤좌표.${part}[0].`) : [];
    const rect = rectObj ? parseRect(rectObj, `${base}렉트좌표.${part}[0].`) : null;
    let box: Box | null = polygonBox(polyPoints, width, height);
    let boxSource: BoxSource = 'polygon';
    if (!box && rect) {
      box = clipBox(rect, width, height);
      boxSource = 'rect';
    }
    if (!box) {
      excluded.push({ part, reason: polyPoints.length === 0 && !rect ? 'no-box' : 'degenerate-box' });
      continue;
    }
    if (!hasGarmentAttribute(attributes)) {
      excluded.push({ part, reason: 'no-attributes' });
      continue;
    }
    garments.push({ part, box, boxSource, attributes });
  }

  return {
    imageId,
    width,
    height,
    shopFileName: typeof shopRaw === 'string' && shopRaw.trim() !== '' ? shopRaw.trim() : null,
    createdAt: typeof created === 'string' ? created : null,
    styles,
    garments,
    excluded,
  };
}

function hasGarmentAttribute(a: GarmentAttributes): boolean {
  return GARMENT_FIELDS.some((f) => a[f.name] !== undefined);
}

function parseStyles(labeling: JsonObject): string[] {
  const where = '데이터셋 정보.데이터셋 상세설명.라벨링.스타일';
  const raw = labeling['스타일'];
  if (raw === undefined || raw === null) return [];
  const entries = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  entries.forEach((entry, i) => {
    const obj = asObject(entry, `${where}[${i}]`);
    for (const key of ['스타일', '서브스타일']) {
      const v = obj[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw wrongType(`${where}[${i}].${key}`, 'a string', v);
      const n = normalizeValue(v);
      if (n && !out.includes(n)) out.push(n);
    }
  });
  return out;
}

function parseGarmentAttributes(obj: JsonObject, where: string): GarmentAttributes {
  const out: GarmentAttributes = {};
  for (const f of GARMENT_FIELDS) {
    const v = obj[f.source];
    if (v === undefined || v === null) continue;
    if (f.kind === 'single') {
      if (typeof v !== 'string') throw wrongType(`${where}${f.source}`, 'a string', v);
      const n = normalizeValue(v);
      if (n) out[f.name] = n;
    } else {
      // Multi-valued keys are lists; a bare string is read as a one-element list.
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list)) throw wrongType(`${where}${f.source}`, 'a list of strings', v);
      const values: string[] = [];
      list.forEach((item, i) => {
        if (typeof item !== 'string') throw wrongType(`${where}${f.source}[${i}]`, 'a string', item);
        const n = normalizeValue(item);
        if (n && !values.includes(n)) values.push(n);
      });
      if (values.length > 0) out[f.name] = values;
    }
  }
  return out;
}

/**
 * Polygon points ordered by their index n (keys are stored in scrambled order). Keys are matched by
 * hand rather than with /^([XY])좌표(\d+)$/: this runs for every point of every garment, and the regex
 * was the scan's largest parsing cost.
 */
export function parsePolygon(obj: JsonObject, where: string): Point[] {
  const xs = new Map<number, number>();
  const ys = new Map<number, number>();
  for (const key of Object.keys(obj)) {
    const axis = key.charCodeAt(0);
    if ((axis !== 88 /* X */ && axis !== 89) /* Y */ || !key.startsWith('좌표', 1) || key.length < 4)
      continue;
    const n = Number(key.slice(3));
    if (!Number.isInteger(n) || n < 0) continue;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(`${where}${key}`, 'a finite number', v);
    (axis === 88 ? xs : ys).set(n, v);
  }
  const points: Point[] = [];
  for (const n of [...xs.keys()].sort((a, b) => a - b)) {
    const y = ys.get(n);
    if (y !== undefined) points.push({ x: xs.get(n)!, y });
  }
  return points;
}

function parseRect(obj: JsonObject, where: string): Box | null {
  const read = (k: string): number | null => {
    const v = obj[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(`${where}${k}`, 'a finite number', v);
    return v;
  };
  const x = read('X좌표');
  const y = read('Y좌표');
  const w = read('가로');
  const h = read('세로');
  if (x === null || y === null || w === null || h === null) return null;
  // A degenerate rect is returned as is: clipBox rejects it, and the garment is reported as degenerate.
  return { x, y, w, h };
}

/** The part's single entry (`[{...}]`), or null for `[{}]`, `[]` or an absent key. */
function firstEntry(parent: JsonObject, part: string, where: string): JsonObject | null {
  const v = parent[part];
  if (v === undefined || v === null) return null;
  const list = Array.isArray(v) ? v : [v];
  for (let i = 0; i < list.length; i++) {
    const obj = asObject(list[i] as Json, `${where}${part}[${i}]`);
    if (Object.keys(obj).length > 0) return obj;
  }
  return null;
}

function asObject(v: Json | undefined, where: string): JsonObject {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
    throw wrongType(where, 'an object', v);
  }
  return v;
}

function requireObject(parent: JsonObject, key: string, prefix: string): JsonObject {
  if (!(key in parent)) throw new LabelError('bad-structure', `missing section "${prefix}${key}"`);
  return asObject(parent[key], `${prefix}${key}`);
}

function optionalObject(parent: JsonObject, key: string, prefix: string): JsonObject | null {
  const v = parent[key];
  return v === undefined || v === null ? null : asObject(v, `${prefix}${key}`);
}

function optionalNumber(parent: JsonObject, key: string, prefix: string): number | null {
  const v = parent[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw wrongType(`${prefix}${key}`, 'a finite number', v);
  return v > 0 ? v : null;
}

function wrongType(where: string, expected: string, got: Json | undefined): LabelError {
  const kind =
    got === null ? 'null' : Array.isArray(got) ? 'a list' : got === undefined ? 'nothing' : `a ${typeof got}`;
  return new LabelError('bad-structure', `"${where}": expected ${expected}, got ${kind}`);
}
