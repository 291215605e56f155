/**
 * Parses one K-Fashion label file into garments (KFASHION_FORMAT.md). Everything a real file may do is
 * tolerated: scrambled polygon keys, `[{}]` parts, missing attributes, `[{}]` style, spelling variants,
 * degenerate rects, polygon points outside the image. What cannot be read raises a LabelError whose
 * reason and detail (with the JSON path of the offending field) end up in the scan report.
 */
import { isAscii, isUtf8, transcode } from 'node:buffer';
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

/**
 * A number JSON.parse read as ±Infinity (`1e400`). Parsing has lost the literal by then, so
 * parseLabelBytes, which still has the text, looks it up to say "1e400 is too large".
 */
class NonFiniteNumberError extends LabelError {
  constructor(
    readonly where: string,
    readonly key: string,
    readonly negative: boolean,
  ) {
    super('bad-structure', `"${where}": a number too large to represent (beyond ±1.8e308)`);
  }
}

/**
 * [Note: label size bound]
 * The largest label a real K-Fashion image can have: four garments, each with a rect, a polygon and a
 * dozen attributes. Real polygons have 6 to 65 points (the format notes); even at 500 points a part,
 * a point is `"X좌표123": 123.4567, "Y좌표123": 456.789,` (about 45 bytes), so four polygons take
 * 4 × 500 × 45 ≈ 90 KB, and everything else a few KB. Real files are 2–20 KB. 8 MB is about a hundred
 * times the largest plausible label, so no real file comes near it, while a hostile one is refused
 * before it costs memory (JSON.parse needs several times the file's size) or minutes of CPU.
 */
export const MAX_LABEL_BYTES = 8 * 1024 * 1024;

/**
 * [Note: coordinate bounds]
 * No JPEG can be wider or higher than 65,535 px (the format stores sizes in 16 bits); K-Fashion's
 * images are JPEGs of about 1,000 px. A label's image size above that is not a size.
 * Polygon points may lie a little outside the image (annotation tools let a point stray past the
 * canvas edge by a few pixels). A point more than two image widths (heights) beyond an edge is no
 * annotation but corruption (e.g. 9007199254740993), and clipping it would store a box spanning the
 * whole image: such a garment is excluded as `bad-coordinates`. Where the label gives no image size,
 * the JPEG limit stands in for it.
 */
export const MAX_IMAGE_SIDE = 65_535;
const MAX_SIDES_OUTSIDE = 2;

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
  /** `detail` says what was wrong where the reason alone does not (which coordinate, how far out). */
  excluded: { part: GarmentPart; reason: ExclusionReason; detail?: string }[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** Garment-level fields: every field except the image-level style. */
const GARMENT_FIELDS = (Object.values(FIELDS) as (typeof FIELDS)[FieldName][]).filter((f) => !f.imageLevel);

/** Decodes (strict UTF-8, BOM tolerated) and parses a label file's bytes. */
export function parseLabelBytes(bytes: Uint8Array): ParsedLabel {
  if (bytes.byteLength > MAX_LABEL_BYTES) {
    throw new LabelError(
      'too-large',
      `${(bytes.byteLength / 1024 / 1024).toFixed(1)} MB, larger than any real K-Fashion label can be (the limit is ${MAX_LABEL_BYTES / 1024 / 1024} MB)`,
    );
  }
  // isUtf8 + toString is several times faster than a fatal TextDecoder, and as strict.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buf)) throw new LabelError('bad-encoding', 'the file is not valid UTF-8 text');
  let text = decodeUtf8(buf);
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
  try {
    return parseLabel(json);
  } catch (e) {
    if (e instanceof NonFiniteNumberError) throw withLiteral(e, text);
    throw e;
  }
}

/**
 * [Note: label text decode] The text of a buffer already checked to be valid UTF-8. A K-Fashion label
 * is mostly Korean, and V8's own UTF-8 decoder (`toString('utf8')`, `TextDecoder`) takes ≈ 8 µs for a
 * 6 KB label, more than half of what `JSON.parse` then takes; transcoding to UTF-16 and reading that
 * as a string costs ≈ 3 µs, and for valid UTF-8 both give the same string (a test compares them). An
 * all-ASCII file keeps the plain decode, which makes a one-byte string. Node without ICU has no
 * `transcode`: then the plain decode, the same text.
 */
export function decodeUtf8(buf: Buffer): string {
  if (buf.length < 256 || isAscii(buf)) return buf.toString('utf8');
  try {
    return transcode(buf, 'utf8', 'utf16le').toString('utf16le');
  } catch {
    return buf.toString('utf8');
  }
}

/** "…: 1e400 is too large", quoting the number as the file writes it when it can be found. */
function withLiteral(e: NonFiniteNumberError, text: string): LabelError {
  const key = JSON.stringify(e.key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const literals = new RegExp(`${key}\\s*:\\s*(-?[0-9][0-9.eE+-]*)`, 'g');
  for (const m of text.matchAll(literals)) {
    const v = Number(m[1]);
    if (!Number.isFinite(v) && v < 0 === e.negative) {
      const literal = m[1]!.length > 40 ? `${m[1]!.slice(0, 40)}…` : m[1]!;
      return new LabelError(
        'bad-structure',
        `"${e.where}": ${literal} is too large${e.negative ? ' (in magnitude)' : ''}: numbers must lie within ±1.8e308`,
      );
    }
  }
  return e;
}

export function parseLabel(json: unknown): ParsedLabel {
  const root = asObject(json as Json, '(top level)');
  const info = optionalObject(root, '이미지 정보', '');
  const dataset = requireObject(root, '데이터셋 정보', '');
  const detail = requireObject(dataset, '데이터셋 상세설명', '데이터셋 정보.');
  const labeling = requireObject(detail, '라벨링', '데이터셋 정보.데이터셋 상세설명.');
  const rects = optionalObject(detail, '렉트좌표', '데이터셋 정보.데이터셋 상세설명.');
  const polygons = optionalObject(detail, '폴리곤좌표', '데이터셋 정보.데이터셋 상세설명.');

  const width = info ? imageSide(info, '이미지 너비') : null;
  const height = info ? imageSide(info, '이미지 높이') : null;
  const imageIdRaw = info ? info['이미지 식별자'] : undefined;
  // A safe integer only: 9007199254740993 would be stored as another number.
  const imageId =
    typeof imageIdRaw === 'number' && Number.isSafeInteger(imageIdRaw)
      ? imageIdRaw
      : typeof imageIdRaw === 'string' && /^\d+$/.test(imageIdRaw.trim())
        ? safeIntegerOrNull(Number(imageIdRaw.trim()))
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

    const polyWhere = `${base}폴리곤좌표.${part}[0].`;
    const poly = polyObj ? readPolygon(polyObj, polyWhere, width, height, true) : null;
    const polyPoints = poly ? poly.points : [];
    const rectWhere = `${base}렉트좌표.${part}[0].`;
    const rect = rectObj ? parseRect(rectObj, rectWhere) : null;
    let box: Box | null = polygonBox(polyPoints, width, height);
    let boxSource: BoxSource = 'polygon';
    // The coordinates that make the box are checked; a rect the polygon overrides is not used.
    let wild = box ? poly!.wild : null;
    if (!box && rect) {
      box = clipBox(rect, width, height);
      boxSource = 'rect';
      wild = wildRect(rect, rectWhere, width, height);
    }
    if (wild) {
      excluded.push({ part, reason: 'bad-coordinates', detail: wild });
      continue;
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

/**
 * [Note: value bounds]
 * K-Fashion's published values are short words (the longest has 8 characters) and its largest field,
 * 디테일, has 40 values in all, of which a garment lists a handful. A value over 100 characters, or a
 * list of more than 100 different values, is no annotation: it would land in the vocabulary and give
 * the encoder an embedding row per junk value. Such a file is skipped as bad-structure.
 */
export const MAX_VALUE_CHARS = 100;
export const MAX_DISTINCT_VALUES = 100;

/** One normalised value; the label's own spelling is checked against MAX_VALUE_CHARS. */
function boundedValue(raw: string, where: string): string {
  const n = normalizeValue(raw);
  if (n.length > MAX_VALUE_CHARS) {
    throw new LabelError(
      'bad-structure',
      `"${where}": a value of ${n.length.toLocaleString('en-US')} characters; K-Fashion values are short words (at most ${MAX_VALUE_CHARS} characters accepted)`,
    );
  }
  return n;
}

/**
 * Normalised values in first-seen order, each once. Sets on both sides keep this linear in the list's
 * length: with `Array.includes` a 1.5M-entry list took minutes. Raw strings seen before are not
 * normalised again (a hostile list repeats one value a million times).
 */
class UniqueValues {
  readonly values: string[] = [];
  private readonly seenRaw = new Set<string>();
  private readonly seen = new Set<string>();
  constructor(private readonly where: string) {}
  add(raw: string): void {
    if (this.seenRaw.has(raw)) return;
    this.seenRaw.add(raw);
    const n = boundedValue(raw, this.where);
    if (n && !this.seen.has(n)) {
      if (this.values.length === MAX_DISTINCT_VALUES) {
        throw new LabelError(
          'bad-structure',
          `"${this.where}": more than ${MAX_DISTINCT_VALUES} different values; a garment lists a handful (K-Fashion's largest field has 40 in all)`,
        );
      }
      this.seen.add(n);
      this.values.push(n);
    }
  }
}

function hasGarmentAttribute(a: GarmentAttributes): boolean {
  return GARMENT_FIELDS.some((f) => a[f.name] !== undefined);
}

function parseStyles(labeling: JsonObject): string[] {
  const where = '데이터셋 정보.데이터셋 상세설명.라벨링.스타일';
  const raw = labeling['스타일'];
  if (raw === undefined || raw === null) return [];
  const entries = Array.isArray(raw) ? raw : [raw];
  const out = new UniqueValues(where);
  entries.forEach((entry, i) => {
    const obj = asObject(entry, `${where}[${i}]`);
    for (const key of ['스타일', '서브스타일']) {
      const v = obj[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw wrongType(`${where}[${i}].${key}`, 'a string', v);
      out.add(v);
    }
  });
  return out.values;
}

function parseGarmentAttributes(obj: JsonObject, where: string): GarmentAttributes {
  const out: GarmentAttributes = {};
  for (const f of GARMENT_FIELDS) {
    const v = obj[f.source];
    if (v === undefined || v === null) continue;
    if (f.kind === 'single') {
      if (typeof v !== 'string') throw wrongType(`${where}${f.source}`, 'a string', v);
      const n = boundedValue(v, `${where}${f.source}`);
      if (n) out[f.name] = n;
    } else {
      // Multi-valued keys are lists; a bare string is read as a one-element list.
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list)) throw wrongType(`${where}${f.source}`, 'a list of strings', v);
      const values = new UniqueValues(`${where}${f.source}`);
      list.forEach((item, i) => {
        if (typeof item !== 'string') throw wrongType(`${where}${f.source}[${i}]`, 'a string', item);
        values.add(item);
      });
      if (values.values.length > 0) out[f.name] = values.values;
    }
  }
  return out;
}

/**
 * Largest point index kept in plain arrays (Note: dense polygon points). Real polygons number their
 * points from 1 to a few hundred.
 */
const DENSE_POINT_INDEX = 4096;

/**
 * Polygon points ordered by their index n (keys are stored in scrambled order). Keys are matched by
 * hand rather than with /^([XY])좌표(\d+)$/: this runs for every point of every garment, and the regex
 * was the scan's largest parsing cost.
 *
 * [Note: dense polygon points]
 * Points are gathered in arrays indexed by n and read back in index order, which is the sorted order
 * without a sort or a Map (the Map and sort were a tenth of a parse worker's profile). An index past DENSE_POINT_INDEX
 * (only a hostile file has one) starts over on the Map path, which gives the same points and throws
 * at the same key, since both visit the keys in the same order.
 */
export function parsePolygon(obj: JsonObject, where: string): Point[] {
  return readPolygon(obj, where, null, null, false).points;
}

/**
 * parsePolygon, and (when `checkWild`) in the same pass over the keys what wildPolygonPoint would say
 * for this polygon: the scan's hot path walks a polygon's keys once instead of twice.
 */
export function readPolygon(
  obj: JsonObject,
  where: string,
  width: number | null,
  height: number | null,
  checkWild: boolean,
): { points: Point[]; wild: string | null } {
  const xs: number[] = [];
  const ys: number[] = [];
  let last = -1;
  let wild: string | null = null;
  // for-in, not Object.keys: `obj` comes from JSON.parse, a plain object whose prototype chain has
  // no enumerable property, so for-in visits exactly its own keys in Object.keys' order, without
  // allocating the list of a polygon's keys (a sixth of the label check's time).
  for (const key in obj) {
    const axis = key.charCodeAt(0);
    if ((axis !== 88 /* X */ && axis !== 89) /* Y */ || !key.startsWith('좌표', 1)) continue;
    const v = obj[key];
    // The same keys and test as wildPolygonPoint, in the same order: the first wild key is the same.
    if (checkWild && wild === null && typeof v === 'number') {
      const why = outside(v, axis === 88 ? width : height, axis === 88 ? 'width' : 'height');
      if (why) wild = `"${where}${key}": ${why}`;
    }
    if (key.length < 4) continue;
    const n = pointIndex(key);
    if (!Number.isInteger(n) || n < 0) continue;
    if (n > DENSE_POINT_INDEX) {
      const points = parseSparsePolygon(obj, where);
      return { points, wild: checkWild ? wildPolygonPoint(obj, where, width, height) : null };
    }
    (axis === 88 ? xs : ys)[n] = finiteNumber(v, where, key);
    if (n > last) last = n;
  }
  const points: Point[] = [];
  for (let n = 0; n <= last; n++) {
    const x = xs[n];
    const y = ys[n];
    if (x !== undefined && y !== undefined) points.push({ x, y });
  }
  return { points, wild };
}

/**
 * `Number(key.slice(3))` for a point key (`X좌표12`): digits are read by hand, since this runs for every
 * point; anything else (`X좌표1.5`, `X좌표 2`) goes through Number() so it means what it always meant.
 */
function pointIndex(key: string): number {
  const len = key.length;
  if (len > 12) return Number(key.slice(3));
  let n = 0;
  for (let i = 3; i < len; i++) {
    const d = key.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(key.slice(3));
    n = n * 10 + d;
  }
  return n;
}

/** parsePolygon for any index (Note: dense polygon points). */
export function parseSparsePolygon(obj: JsonObject, where: string): Point[] {
  const xs = new Map<number, number>();
  const ys = new Map<number, number>();
  for (const key of Object.keys(obj)) {
    const axis = key.charCodeAt(0);
    if ((axis !== 88 /* X */ && axis !== 89) /* Y */ || !key.startsWith('좌표', 1) || key.length < 4)
      continue;
    const n = Number(key.slice(3));
    if (!Number.isInteger(n) || n < 0) continue;
    (axis === 88 ? xs : ys).set(n, finiteNumber(obj[key], where, key));
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
    return finiteNumber(v, where, k);
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
    if (!isEmpty(obj)) return obj;
  }
  return null;
}

/** Without listing every key: a hostile part may hold hundreds of thousands of them. */
function isEmpty(obj: JsonObject): boolean {
  for (const _ in obj) return false;
  return true;
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

/** The image's width or height: null when absent or not positive; refused beyond any image's size. */
function imageSide(info: JsonObject, key: string): number | null {
  const v = info[key];
  if (v === undefined || v === null) return null;
  const n = finiteNumber(v, '이미지 정보.', key);
  if (n > MAX_IMAGE_SIDE) {
    throw new LabelError(
      'bad-structure',
      `"이미지 정보.${key}": ${n} is larger than any image can be (at most ${MAX_IMAGE_SIDE} px, the JPEG limit)`,
    );
  }
  return n > 0 ? n : null;
}

/** `prefix + key` must hold a finite number; the message says what it held instead. */
function finiteNumber(v: Json | undefined, prefix: string, key: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    throw new NonFiniteNumberError(`${prefix}${key}`, key, v < 0);
  }
  return throwWrongType(`${prefix}${key}`, 'a finite number', v);
}

function throwWrongType(where: string, expected: string, got: Json | undefined): never {
  throw wrongType(where, expected, got);
}

function safeIntegerOrNull(n: number): number | null {
  return Number.isSafeInteger(n) ? n : null;
}

/** The first polygon point far outside the image (Note: coordinate bounds), described; or null. */
export function wildPolygonPoint(
  obj: JsonObject,
  where: string,
  width: number | null,
  height: number | null,
): string | null {
  for (const key of Object.keys(obj)) {
    const axis = key.charCodeAt(0);
    if ((axis !== 88 && axis !== 89) || !key.startsWith('좌표', 1)) continue;
    const v = obj[key];
    if (typeof v !== 'number') continue;
    const why = outside(v, axis === 88 ? width : height, axis === 88 ? 'width' : 'height');
    if (why) return `"${where}${key}": ${why}`;
  }
  return null;
}

function wildRect(rect: Box, where: string, width: number | null, height: number | null): string | null {
  const checks: [string, number, number | null, 'width' | 'height'][] = [
    ['X좌표', rect.x, width, 'width'],
    ['Y좌표', rect.y, height, 'height'],
    ['X좌표 + 가로', rect.x + rect.w, width, 'width'],
    ['Y좌표 + 세로', rect.y + rect.h, height, 'height'],
  ];
  for (const [key, v, side, name] of checks) {
    const why = outside(v, side, name);
    if (why) return `"${where}${key}": ${why}`;
  }
  return null;
}

function outside(v: number, side: number | null, name: 'width' | 'height'): string | null {
  const s = side ?? MAX_IMAGE_SIDE;
  if (v >= -MAX_SIDES_OUTSIDE * s && v <= (1 + MAX_SIDES_OUTSIDE) * s) return null;
  const of =
    side === null
      ? `${MAX_IMAGE_SIDE} px (the largest JPEG; the label gives no image ${name})`
      : `the image ${name} (${side} px)`;
  return `${v} lies more than ${MAX_SIDES_OUTSIDE} × ${of} outside the image`;
}

function wrongType(where: string, expected: string, got: Json | undefined): LabelError {
  const kind =
    got === null
      ? 'null'
      : Array.isArray(got)
        ? 'a list'
        : got === undefined
          ? 'nothing'
          : typeof got === 'object'
            ? 'an object'
            : // A string where a number belongs ("NaN", "12px") is quoted: it says what went wrong.
              typeof got === 'string' && expected.includes('number')
              ? `the string ${JSON.stringify(got.length > 40 ? `${got.slice(0, 40)}…` : got)}`
              : `a ${typeof got}`;
  return new LabelError('bad-structure', `"${where}": expected ${expected}, got ${kind}`);
}
