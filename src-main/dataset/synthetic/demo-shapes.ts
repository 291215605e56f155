/**
 * Garment outlines of the demo pictures, as polygons in pixel coordinates.
 *
 * One function builds the outline from the garment's category, fit, lengths and neckline; the label
 * stores exactly that polygon and the renderer fills exactly that polygon, so a crop taken from the
 * label's polygon box always shows the garment. Shapes are drawn on a "model" figure about 640 units
 * tall, centred on x = 0 (head top ≈ 28, feet ≈ 612), and mapped to pixels by a Pose.
 */
import type { GarmentSpec } from './demo-attributes.ts';
import { PANTS_CATEGORIES } from './demo-attributes.ts';

export type Pt = [number, number];

/** Where the figure stands in the picture: model (0, 0) maps to (cx, top); one model unit = scale px. */
export interface Pose {
  cx: number;
  top: number;
  scale: number;
  /** Arm angle offset: positive spreads the arms away from the body. */
  spread: number;
}

export function toPixels(pose: Pose, pts: readonly Pt[]): Pt[] {
  return pts.map(([x, y]) => [pose.cx + x * pose.scale, pose.top + y * pose.scale]);
}

// Body landmarks (model units).
const SHOULDER: Pt = [60, 124];
const ARMPIT_Y = 165;
const WAIST_Y = 262;
const HIP_Y = 318;
const CROTCH_Y = 350;
const KNEE_Y = 455;
const LEG_X = 28; // leg centre line
const ARM_WIDTH = 23;
const ARM_LENGTH = 192;

const TOP_HEM: Readonly<Record<string, number>> = { 크롭: 222, 노멀: 300, 롱: 345 };
const OUTER_HEM: Readonly<Record<string, number>> = { 크롭: 240, 노멀: 318, 하프: 395, 롱: 490, 맥시: 575 };
const SKIRT_HEM: Readonly<Record<string, number>> = {
  미니: 372,
  니렝스: 452,
  미디: 505,
  발목: 582,
  맥시: 606,
};
const PANTS_HEM: Readonly<Record<string, number>> = {
  미니: 368,
  니렝스: 448,
  미디: 505,
  발목: 586,
  맥시: 606,
};
const SLEEVE: Readonly<Record<string, number>> = {
  없음: 0,
  민소매: 0,
  캡: 24,
  반팔: 62,
  '7부소매': 135,
  긴팔: 190,
};

/** Torso width factor of a fit (K-Fashion's 핏 is its silhouette attribute). */
export function fitWidth(fit: string | undefined): number {
  switch (fit) {
    case '스키니':
      return 0.88;
    case '타이트':
      return 0.92;
    case '루즈':
      return 1.14;
    case '오버사이즈':
      return 1.28;
    case '와이드':
      return 1.12;
    default:
      return 1;
  }
}

/** Half width of a trouser leg at the hem. */
function legHemHalf(fit: string | undefined, category: string): number {
  if (category === '래깅스') return 10;
  if (category === '조거팬츠') return 12;
  switch (fit) {
    case '스키니':
      return 11;
    case '타이트':
      return 13;
    case '루즈':
      return 21;
    case '오버사이즈':
      return 23;
    case '와이드':
      return 32;
    case '벨보텀':
      return 30;
    default:
      return 17;
  }
}

/** Half width of the leg itself at height y, so shorts and skinny legs follow the thigh. */
function thighHalf(y: number): number {
  if (y <= HIP_Y) return 27;
  if (y <= KNEE_Y) return 27 - ((y - HIP_Y) / (KNEE_Y - HIP_Y)) * 11;
  return 16 - Math.min(1, (y - KNEE_Y) / 137) * 5;
}

function armDirection(spread: number): Pt {
  const dx = 0.15 + spread;
  const n = Math.hypot(dx, 1);
  return [dx / n, 1 / n];
}

function mirror(pts: readonly Pt[]): Pt[] {
  return pts.map(([x, y]) => [-x, y] as Pt).reverse();
}

function sleeveLength(spec: GarmentSpec): number {
  if (spec.sleeve !== undefined) return SLEEVE[spec.sleeve] ?? 62;
  if (spec.part === '아우터') return spec.category === '베스트' ? 0 : SLEEVE['긴팔']!;
  if (spec.category === '탑' || spec.category === '브라탑') return 0;
  if (spec.category === '후드티' || spec.category === '니트웨어') return SLEEVE['긴팔']!;
  return SLEEVE['반팔']!;
}

interface ArmSide {
  /** Shoulder (or strap) down to the armpit, right-hand side (x > 0). */
  pts: Pt[];
  armpit: Pt;
  /** Lowest point of the sleeve's inner edge, when the sleeve runs down along the body. */
  innerEndY: number | null;
  /** dx/dy of the sleeve's inner edge. */
  slope: number;
}

/**
 * The right-hand (x > 0) side of an upper garment from the shoulder down to the armpit.
 * `widen` scales the shoulders and arm holes of loose and outer garments.
 */
function rightArmSide(spec: GarmentSpec, spread: number, widen: number, sleeveScale: number): ArmSide {
  const d = armDirection(spread);
  const n: Pt = [-d[1], d[0]]; // towards the body
  const s: Pt = [SHOULDER[0] * (1 + (widen - 1) * 0.6), SHOULDER[1]];
  const aw = ARM_WIDTH * sleeveScale;
  const t = (ARMPIT_Y - s[1] - n[1] * aw) / d[1];
  const armpit: Pt = [s[0] + n[0] * aw + d[0] * t, ARMPIT_Y];
  const slope = d[0] / d[1];
  const len = Math.min(ARM_LENGTH, sleeveLength(spec));
  if (len <= 0) {
    // Sleeveless: a strap from the neck side to the arm hole.
    const strap = spec.sleeve === '없음' ? 30 : 36;
    return { pts: [[strap * widen, 122], armpit], armpit, innerEndY: null, slope };
  }
  const outerEnd: Pt = [s[0] + d[0] * len, s[1] + d[1] * len];
  if (len <= t + 4) return { pts: [s, outerEnd, armpit], armpit, innerEndY: null, slope }; // cap sleeve
  const innerEnd: Pt = [armpit[0] + d[0] * (len - t), armpit[1] + d[1] * (len - t)];
  return { pts: [s, outerEnd, innerEnd, armpit], armpit, innerEndY: innerEnd[1], slope };
}

/**
 * Keeps the body side of a wide garment inside its hanging sleeve, so the outline never crosses
 * itself: side points level with the sleeve are pulled in, and a point is added where the side
 * passes the sleeve's end.
 */
function clampUnderSleeve(arm: ArmSide, side: readonly Pt[]): Pt[] {
  if (arm.innerEndY === null) return [...side];
  const endY = arm.innerEndY;
  const limit = (y: number) => arm.armpit[0] + (y - arm.armpit[1]) * arm.slope - 3;
  const out: Pt[] = [];
  let prev: Pt = arm.armpit;
  for (const p of side) {
    if (prev[1] < endY && p[1] > endY) {
      const u = (endY - prev[1]) / (p[1] - prev[1]);
      const x = prev[0] + (p[0] - prev[0]) * u;
      out.push([Math.min(x, limit(endY)), endY]);
    }
    out.push(p[1] <= endY ? [Math.min(p[0], limit(p[1])), p[1]] : p);
    prev = p;
  }
  return out;
}

/** Neckline points from left to right (they cross the centre line). */
function necklineChain(neckline: string | undefined): Pt[] {
  switch (neckline) {
    case '유넥':
      return [
        [-18, 106],
        [-14, 130],
        [0, 140],
        [14, 130],
        [18, 106],
      ];
    case '브이넥':
      return [
        [-16, 106],
        [0, 150],
        [16, 106],
      ];
    case '스퀘어넥':
      return [
        [-22, 110],
        [-22, 136],
        [22, 136],
        [22, 110],
      ];
    case '보트넥':
      return [
        [-30, 113],
        [0, 118],
        [30, 113],
      ];
    case '터틀넥':
      return [
        [-13, 90],
        [-13, 86],
        [13, 86],
        [13, 90],
      ];
    case '후드':
      return [
        [-22, 102],
        [-10, 116],
        [0, 119],
        [10, 116],
        [22, 102],
      ];
    default:
      return [
        [-15, 106],
        [-10, 116],
        [0, 119],
        [10, 116],
        [15, 106],
      ];
  }
}

/** Outline of the upper part (tops, dresses, jumpsuits) with the given right side below the armpit. */
function upperOutline(spec: GarmentSpec, pose: Pose, widen: number, below: Pt[], bottom: Pt[]): Pt[] {
  const neckline = spec.neckline;
  const arm = rightArmSide(spec, pose.spread, widen, widen);
  const right = arm.pts;
  const armpit = arm.armpit;
  const rightBelow = clampUnderSleeve(arm, below);
  const leftBelow = mirror(rightBelow);
  const leftArm = mirror(right);
  const leftArmpit: Pt = [-armpit[0], armpit[1]];
  if (neckline === '홀터넥') {
    return [[-9, 100], [9, 100], armpit, ...rightBelow, ...bottom, ...leftBelow, leftArmpit];
  }
  if (neckline === '스위트하트') {
    const chain: Pt[] = [
      [-24, 146],
      [0, 156],
      [24, 146],
    ];
    return [...chain, armpit, ...rightBelow, ...bottom, ...leftBelow, leftArmpit];
  }
  if (neckline === '원숄더') {
    // Strap on the left shoulder only; the top edge runs diagonally to the right arm hole.
    return [[-15, 108], [0, 128], armpit, ...rightBelow, ...bottom, ...leftBelow, ...leftArm];
  }
  if (neckline === '오프숄더') {
    // Bare shoulders: the top edge runs straight across below them, the sleeves start lower.
    const lowered = right.map(([x, y], i) => (i === 0 ? ([x * 0.98, y + 24] as Pt) : ([x, y] as Pt)));
    if (lowered.length === 2) lowered[0] = [46 * widen, 146];
    return [
      [-30, 146],
      [0, 150],
      [30, 146],
      ...lowered,
      ...rightBelow,
      ...bottom,
      ...leftBelow,
      ...mirror(lowered),
    ];
  }
  return [...necklineChain(neckline), ...right, ...rightBelow, ...bottom, ...leftBelow, ...leftArm];
}

function topHemY(spec: GarmentSpec): number {
  return TOP_HEM[spec.length ?? '노멀'] ?? TOP_HEM['노멀']!;
}

function skirtRight(spec: GarmentSpec, fw: number, fromY: number): { side: Pt[]; bottom: Pt[] } {
  const hemY = SKIRT_HEM[spec.length ?? '미디'] ?? SKIRT_HEM['미디']!;
  const flare = spec.fit === '타이트' ? 0.06 : spec.fit === '루즈' || spec.fit === '오버사이즈' ? 0.36 : 0.22;
  const pleatBoost = spec.details.includes('플레어') || spec.details.includes('플리츠') ? 0.08 : 0;
  const hemHalf = 54 * fw + (hemY - HIP_Y) * (flare + pleatBoost);
  const side: Pt[] = [[40 * (1 + (fw - 1) * 0.3), fromY]];
  if (fromY < WAIST_Y) side.push([40 * fw, WAIST_Y]);
  side.push([54 * fw, HIP_Y], [hemHalf, hemY]);
  const bottom: Pt[] = [
    [hemHalf * 0.5, hemY + 5],
    [-hemHalf * 0.5, hemY + 5],
  ];
  return { side, bottom };
}

/** Right leg of trousers (outer side top to bottom) and the crotch chain across to the left leg. */
function pantsRight(spec: GarmentSpec, fw: number, fromY: number): { side: Pt[]; bottom: Pt[] } {
  const hemY = PANTS_HEM[spec.length ?? '발목'] ?? PANTS_HEM['발목']!;
  const hem = Math.max(legHemHalf(spec.fit, spec.category), thighHalf(hemY) + 3);
  const side: Pt[] = [[40 * (1 + (fw - 1) * 0.3), fromY]];
  if (fromY < WAIST_Y) side.push([42 * fw, WAIST_Y]);
  side.push([LEG_X + 27 * Math.max(fw, 1), HIP_Y]);
  // Wide legs move their centre outwards: the two hems must not overlap at the middle.
  const cx = Math.max(LEG_X, hem + 3);
  const narrowKnee = spec.fit === '벨보텀' || hem <= 14;
  if (hemY > KNEE_Y + 30 && narrowKnee) side.push([cx + thighHalf(KNEE_Y) + 1, KNEE_Y]);
  side.push([cx + hem, hemY]);
  const inner: Pt[] = [[cx - hem, hemY]];
  if (hemY > KNEE_Y + 30 && narrowKnee) inner.push([cx - thighHalf(KNEE_Y) - 1, KNEE_Y]);
  inner.push([0, CROTCH_Y]);
  return { side, bottom: [...inner, ...mirror(inner).slice(1)] };
}

function topOutline(spec: GarmentSpec, pose: Pose): Pt[] {
  const fw = fitWidth(spec.fit);
  const hemY = topHemY(spec);
  const flare = spec.category === '블라우스' ? 6 : 0;
  const right: Pt[] = [];
  if (hemY > WAIST_Y + 8) right.push([40 * fw, WAIST_Y], [(44 + (hemY - WAIST_Y) * 0.2 + flare) * fw, hemY]);
  else right.push([(42 + flare * 0.5) * fw, hemY]);
  const hemRight = right[right.length - 1]!;
  const bottom: Pt[] = [
    [hemRight[0] * 0.4, hemY + 2],
    [-hemRight[0] * 0.4, hemY + 2],
  ];
  return upperOutline(spec, pose, fw, right, bottom);
}

function onepieceOutline(spec: GarmentSpec, pose: Pose): Pt[] {
  const fw = fitWidth(spec.fit);
  const lower = spec.category === '점프수트' ? pantsRight(spec, fw, WAIST_Y) : skirtRight(spec, fw, WAIST_Y);
  return upperOutline(spec, pose, fw, lower.side, lower.bottom);
}

function bottomOutline(spec: GarmentSpec): Pt[] {
  const fw = fitWidth(spec.fit);
  const waistTop = WAIST_Y - 6;
  const lower = PANTS_CATEGORIES.has(spec.category)
    ? pantsRight(spec, fw, waistTop)
    : skirtRight(spec, fw, waistTop);
  const [waistRight, ...rest] = lower.side;
  return [[-waistRight![0], waistTop], waistRight!, ...rest, ...lower.bottom, ...mirror(rest)];
}

/** Half gap of an outer layer's open front, and where its lapels meet the opening. */
export function outerOpening(spec: GarmentSpec): { gap: number; vY: number } {
  const hemY = OUTER_HEM[spec.length ?? '노멀'] ?? OUTER_HEM['노멀']!;
  const gap = spec.category === '가디건' ? 15 : spec.category === '코트' ? 18 : 13;
  const vY = Math.min(spec.category === '가디건' ? 232 : 205, hemY - 25);
  return { gap, vY };
}

function outerOutline(spec: GarmentSpec, pose: Pose): Pt[] {
  const fw = fitWidth(spec.fit) * (spec.category === '패딩' ? 1.2 : 1.1);
  const hemY = OUTER_HEM[spec.length ?? '노멀'] ?? OUTER_HEM['노멀']!;
  const { gap, vY } = outerOpening(spec);
  const arm = rightArmSide(spec, pose.spread, fw, fw * 1.08);
  const right = arm.pts;
  const wide: Pt[] = [];
  if (hemY > WAIST_Y + 8) wide.push([42 * fw, WAIST_Y]);
  if (hemY > HIP_Y + 12) wide.push([56 * fw, HIP_Y]);
  const hemHalf = hemY > HIP_Y ? 56 * fw + (hemY - HIP_Y) * 0.18 : 44 * fw;
  wide.push([hemHalf, hemY]);
  const side = clampUnderSleeve(arm, wide);
  const opening: Pt[] = [
    [gap, hemY],
    [gap, vY],
    [7, 114],
  ];
  return [
    [-16, 106],
    [16, 106],
    ...right,
    ...side,
    ...opening,
    ...mirror(opening),
    ...mirror(side),
    ...mirror(right),
  ];
}

/** The garment's outline in pixels (before densifying for the label). */
export function garmentOutline(spec: GarmentSpec, pose: Pose): Pt[] {
  let model: Pt[];
  switch (spec.part) {
    case '상의':
      model = topOutline(spec, pose);
      break;
    case '하의':
      model = bottomOutline(spec);
      break;
    case '원피스':
      model = onepieceOutline(spec, pose);
      break;
    case '아우터':
      model = outerOutline(spec, pose);
      break;
  }
  return toPixels(pose, model);
}

/** Skin-coloured figure parts in pixels: torso, arms, legs (polygons), head and hands (circles). */
export interface BodyShapes {
  torso: Pt[];
  arms: Pt[][];
  legs: Pt[][];
  neck: Pt[];
  head: { cx: number; cy: number; rx: number; ry: number };
  hair: Pt[];
  hands: { cx: number; cy: number; r: number }[];
  shoes: { cx: number; cy: number; rx: number; ry: number }[];
}

export function bodyShapes(pose: Pose): BodyShapes {
  const d = armDirection(pose.spread);
  const n: Pt = [-d[1], d[0]];
  const s = SHOULDER;
  const w: Pt = [s[0] + d[0] * ARM_LENGTH, s[1] + d[1] * ARM_LENGTH];
  const rightArm: Pt[] = [
    [s[0] - 4, s[1] - 4],
    w,
    [w[0] + n[0] * ARM_WIDTH * 0.8, w[1] + n[1] * ARM_WIDTH * 0.8],
    [s[0] + n[0] * ARM_WIDTH, s[1] + n[1] * ARM_WIDTH + 10],
  ];
  const handCentre: Pt = [w[0] + n[0] * ARM_WIDTH * 0.4, w[1] + 8];
  // Rounded shoulders that run into the arms, so sleeveless tops show no gap or spike there.
  const torsoRight: Pt[] = [
    [12, 96],
    [34, 105],
    [52, 113],
    [60, 124],
    [46, ARMPIT_Y],
    [38, WAIST_Y],
    [54, HIP_Y],
  ];
  const rightLeg: Pt[] = [
    [54, HIP_Y],
    [LEG_X + thighHalf(KNEE_Y), KNEE_Y],
    [LEG_X + 9, 596],
    [LEG_X - 9, 596],
    [LEG_X - thighHalf(KNEE_Y), KNEE_Y],
    [3, CROTCH_Y],
  ];
  const px = (pts: Pt[]) => toPixels(pose, pts);
  const pt = (x: number, y: number): Pt => toPixels(pose, [[x, y]])[0]!;
  const [hx, hy] = pt(0, 60);
  const hands = [handCentre, [-handCentre[0], handCentre[1]] as Pt].map(([x, y]) => {
    const [cx, cy] = pt(x, y);
    return { cx, cy, r: 10 * pose.scale };
  });
  const shoes = [LEG_X, -LEG_X].map((x) => {
    const [cx, cy] = pt(x + Math.sign(x) * 3, 603);
    return { cx, cy, rx: 16 * pose.scale, ry: 8 * pose.scale };
  });
  return {
    torso: px([...torsoRight, ...mirror(torsoRight)]),
    arms: [px(rightArm), px(mirror(rightArm))],
    legs: [px(rightLeg), px(mirror(rightLeg))],
    neck: px([
      [-11, 82],
      [11, 82],
      [12, 108],
      [-12, 108],
    ]),
    head: { cx: hx, cy: hy, rx: 27 * pose.scale, ry: 32 * pose.scale },
    hair: px([
      [-30, 66],
      [-31, 42],
      [-20, 28],
      [0, 24],
      [20, 28],
      [31, 42],
      [30, 66],
      [24, 50],
      [0, 40],
      [-24, 50],
    ]),
    hands,
    shoes,
  };
}

/**
 * Adds points along the edges (without changing the shape) until the polygon has `target` points:
 * each extra point goes to the edge whose pieces are currently longest, and an edge split k times is
 * cut into k + 1 equal pieces.
 */
export function densify(points: readonly Pt[], target: number): Pt[] {
  const n = points.length;
  const len = points.map((a, i) => {
    const b = points[(i + 1) % n]!;
    return Math.hypot(b[0] - a[0], b[1] - a[1]);
  });
  const splits = new Array<number>(n).fill(0);
  for (let extra = target - n; extra > 0; extra--) {
    let best = 0;
    for (let i = 1; i < n; i++) if (len[i]! / (splits[i]! + 1) > len[best]! / (splits[best]! + 1)) best = i;
    splits[best]!++;
  }
  const out: Pt[] = [];
  points.forEach((a, i) => {
    const b = points[(i + 1) % n]!;
    out.push([a[0], a[1]]);
    const k = splits[i]!;
    for (let j = 1; j <= k; j++) {
      const t = j / (k + 1);
      out.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
    }
  });
  return out;
}

/**
 * Removes the points that matter least (smallest triangle with their neighbours, Visvalingam) until
 * `target` remain: a coarse outline like a labeller's quick polygon. The picture draws the result.
 */
export function simplify(points: readonly Pt[], target: number): Pt[] {
  const out = points.map((p) => [p[0], p[1]] as Pt);
  const area = (i: number) => {
    const a = out[(i - 1 + out.length) % out.length]!;
    const b = out[i]!;
    const c = out[(i + 1) % out.length]!;
    return Math.abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2;
  };
  while (out.length > Math.max(3, target)) {
    let best = 0;
    let bestArea = Infinity;
    for (let i = 0; i < out.length; i++) {
      const v = area(i);
      if (v < bestArea) {
        bestArea = v;
        best = i;
      }
    }
    out.splice(best, 1);
  }
  return out;
}

/** Whether no two non-adjacent edges of the closed polygon cross. */
export function isSimplePolygon(points: readonly Pt[]): boolean {
  const n = points.length;
  const side = (p: Pt, q: Pt, r: Pt) =>
    Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  for (let i = 0; i < n; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % n]!;
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // adjacent through the closing edge
      const c = points[j]!;
      const d = points[(j + 1) % n]!;
      if (side(a, b, c) * side(a, b, d) < 0 && side(c, d, a) * side(c, d, b) < 0) return false;
    }
  }
  return true;
}

/** Drops consecutive duplicate points (a shape builder may meet itself at a joint). */
export function dedupe(points: readonly Pt[]): Pt[] {
  const out: Pt[] = [];
  for (const p of points) {
    const q = out[out.length - 1];
    if (!q || Math.abs(q[0] - p[0]) > 1e-6 || Math.abs(q[1] - p[1]) > 1e-6) out.push(p);
  }
  while (out.length > 1) {
    const a = out[0]!;
    const b = out[out.length - 1]!;
    if (Math.abs(a[0] - b[0]) > 1e-6 || Math.abs(a[1] - b[1]) > 1e-6) break;
    out.pop();
  }
  return out;
}
