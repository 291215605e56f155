/**
 * Colours and print patterns of the demo pictures, as SVG fragments. A garment's 색상 is its fill,
 * its 프린트 a `<pattern>` over that fill, so both are visible in a crop (and a model trained on real
 * crops would see them); 무지 is plain.
 */

/** RGB of every K-Fashion colour value. */
export const COLOR_RGB: Readonly<Record<string, readonly [number, number, number]>> = {
  골드: [201, 164, 58],
  그레이: [142, 142, 142],
  그린: [62, 142, 79],
  네온: [184, 240, 40],
  네이비: [31, 42, 85],
  라벤더: [185, 166, 222],
  레드: [200, 50, 58],
  민트: [152, 220, 196],
  베이지: [217, 198, 165],
  브라운: [122, 81, 51],
  블랙: [34, 34, 34],
  블루: [47, 95, 179],
  스카이블루: [140, 196, 236],
  실버: [196, 199, 204],
  옐로우: [242, 208, 75],
  오렌지: [238, 138, 53],
  와인: [122, 31, 53],
  카키: [125, 122, 74],
  퍼플: [112, 66, 160],
  핑크: [242, 167, 192],
  화이트: [250, 250, 250],
};

export type Rgb = readonly [number, number, number];

export function rgbOf(color: string | undefined): Rgb {
  return (color && COLOR_RGB[color]) || [128, 128, 128];
}

export function hex([r, g, b]: Rgb): string {
  const h = (v: number) =>
    Math.max(0, Math.min(255, Math.round(v)))
      .toString(16)
      .padStart(2, '0');
  return `#${h(r)}${h(g)}${h(b)}`;
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function luma([r, g, b]: Rgb): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** The print's second colour: the 서브색상 when labelled, else a contrasting shade of the main colour. */
export function accentOf(main: Rgb, subColor: string | undefined): Rgb {
  if (subColor && COLOR_RGB[subColor]) {
    const sub = COLOR_RGB[subColor]!;
    // A sub-colour too close to the main one would hide the print.
    if (Math.abs(luma(sub) - luma(main)) > 30) return sub;
  }
  return luma(main) > 150 ? mix(main, [20, 20, 30], 0.55) : mix(main, [255, 255, 255], 0.6);
}

const f = (v: number) => Math.round(v * 100) / 100;

/**
 * A `<pattern>` (or gradient) definition with the given id for a print, or null for a plain fill.
 * `s` scales the tile with the figure.
 */
export function printDef(
  id: string,
  print: string | undefined,
  base: Rgb,
  accent: Rgb,
  s: number,
): string | null {
  const b = hex(base);
  const a = hex(accent);
  const tile = (w: number, h: number, body: string, extra = '') =>
    `<pattern id="${id}" patternUnits="userSpaceOnUse" width="${f(w * s)}" height="${f(h * s)}"${extra}>` +
    `<rect width="${f(w * s)}" height="${f(h * s)}" fill="${b}"/>${body}</pattern>`;
  const S = (v: number) => f(v * s);
  switch (print) {
    case undefined:
    case '무지':
      return null;
    case '스트라이프':
      return tile(14, 14, `<rect width="${S(5)}" height="${S(14)}" fill="${a}"/>`);
    case '도트':
      return tile(
        16,
        16,
        `<circle cx="${S(4)}" cy="${S(4)}" r="${S(2.6)}" fill="${a}"/><circle cx="${S(12)}" cy="${S(12)}" r="${S(2.6)}" fill="${a}"/>`,
      );
    case '체크':
      return tile(
        22,
        22,
        `<rect width="${S(22)}" height="${S(8)}" fill="${a}" opacity="0.55"/><rect width="${S(8)}" height="${S(22)}" fill="${a}" opacity="0.55"/>` +
          `<rect x="${S(15)}" width="${S(1.5)}" height="${S(22)}" fill="${a}"/>`,
      );
    case '깅엄':
      return tile(
        10,
        10,
        `<rect width="${S(10)}" height="${S(5)}" fill="${a}" opacity="0.45"/><rect width="${S(5)}" height="${S(10)}" fill="${a}" opacity="0.45"/>`,
      );
    case '하운즈투스':
      return tile(
        12,
        12,
        `<path d="M0 0h${S(6)}l${S(6)} ${S(6)}v${S(6)}h${-S(6)}l${-S(6)} ${-S(6)}z" fill="${a}"/>`,
        ' patternTransform="rotate(45)"',
      );
    case '플로럴': {
      const petals = [0, 72, 144, 216, 288]
        .map((deg) => {
          const r = (deg * Math.PI) / 180;
          return `<circle cx="${S(12 + Math.cos(r) * 4.5)}" cy="${S(12 + Math.sin(r) * 4.5)}" r="${S(3.4)}" fill="${a}"/>`;
        })
        .join('');
      return tile(
        28,
        28,
        `${petals}<circle cx="${S(12)}" cy="${S(12)}" r="${S(2.2)}" fill="#f2d04b"/>` +
          `<ellipse cx="${S(23)}" cy="${S(23)}" rx="${S(4)}" ry="${S(2)}" fill="#4f8f4a" transform="rotate(35 ${S(23)} ${S(23)})"/>`,
      );
    }
    case '그래픽':
      return tile(
        64,
        64,
        `<circle cx="${S(20)}" cy="${S(20)}" r="${S(12)}" fill="${a}"/><path d="M${S(36)} ${S(58)}L${S(50)} ${S(34)}L${S(62)} ${S(58)}Z" fill="${a}" opacity="0.8"/>`,
      );
    case '레터링':
      return tile(
        44,
        18,
        `<rect x="${S(4)}" y="${S(6)}" width="${S(10)}" height="${S(5)}" fill="${a}"/><rect x="${S(17)}" y="${S(6)}" width="${S(6)}" height="${S(5)}" fill="${a}"/><rect x="${S(26)}" y="${S(6)}" width="${S(12)}" height="${S(5)}" fill="${a}"/>`,
      );
    case '페이즐리':
      return tile(
        26,
        26,
        `<path d="M${S(8)} ${S(20)}c${S(-6)} ${S(-4)} ${S(-2)} ${S(-14)} ${S(6)} ${S(-14)}c${S(2)} ${S(4)} ${S(0)} ${S(8)} ${S(-2)} ${S(10)}z" fill="${a}"/>`,
      );
    case '아가일':
      return tile(
        24,
        32,
        `<path d="M${S(12)} 0L${S(24)} ${S(16)}L${S(12)} ${S(32)}L0 ${S(16)}Z" fill="${a}" opacity="0.7"/><path d="M0 0L${S(24)} ${S(32)}M${S(24)} 0L0 ${S(32)}" stroke="${a}" stroke-width="${S(0.8)}"/>`,
      );
    case '지그재그':
      return tile(
        16,
        12,
        `<path d="M0 ${S(9)}L${S(4)} ${S(3)}L${S(8)} ${S(9)}L${S(12)} ${S(3)}L${S(16)} ${S(9)}" fill="none" stroke="${a}" stroke-width="${S(2)}"/>`,
      );
    case '지브라':
      return tile(
        20,
        20,
        `<path d="M0 ${S(4)}q${S(5)} ${S(-3)} ${S(10)} 0t${S(10)} 0v${S(4)}q${S(-5)} ${S(3)} ${S(-10)} 0t${S(-10)} 0z" fill="${a}"/>`,
      );
    case '호피':
      return tile(
        20,
        20,
        `<ellipse cx="${S(6)}" cy="${S(6)}" rx="${S(3.5)}" ry="${S(2.6)}" fill="none" stroke="${a}" stroke-width="${S(1.6)}"/><ellipse cx="${S(15)}" cy="${S(15)}" rx="${S(3)}" ry="${S(2.4)}" fill="${a}"/>`,
      );
    case '뱀피':
      return tile(
        10,
        8,
        `<path d="M0 ${S(8)}q${S(5)} ${S(-8)} ${S(10)} 0" fill="none" stroke="${a}" stroke-width="${S(1.1)}"/>`,
      );
    case '카무플라쥬':
      return tile(
        40,
        40,
        `<ellipse cx="${S(10)}" cy="${S(12)}" rx="${S(9)}" ry="${S(5)}" fill="${a}"/><ellipse cx="${S(29)}" cy="${S(28)}" rx="${S(10)}" ry="${S(6)}" fill="${hex(mix(base, [30, 30, 20], 0.5))}"/><ellipse cx="${S(30)}" cy="${S(8)}" rx="${S(6)}" ry="${S(4)}" fill="${hex(mix(accent, [240, 230, 200], 0.3))}"/>`,
      );
    case '하트':
      return tile(
        18,
        18,
        `<path d="M${S(9)} ${S(14)}l${S(-5)} ${S(-5)}a${S(2.5)} ${S(2.5)} 0 0 1 ${S(5)} ${S(-3.5)}a${S(2.5)} ${S(2.5)} 0 0 1 ${S(5)} ${S(3.5)}z" fill="${a}"/>`,
      );
    case '해골':
      return tile(
        20,
        20,
        `<circle cx="${S(10)}" cy="${S(9)}" r="${S(4.5)}" fill="${a}"/><circle cx="${S(8.3)}" cy="${S(8.5)}" r="${S(1.1)}" fill="${b}"/><circle cx="${S(11.7)}" cy="${S(8.5)}" r="${S(1.1)}" fill="${b}"/>`,
      );
    case '믹스':
      return tile(
        16,
        16,
        `<rect width="${S(16)}" height="${S(4)}" fill="${a}"/><circle cx="${S(8)}" cy="${S(11)}" r="${S(2.2)}" fill="${a}"/>`,
      );
    case '타이다이':
      return `<radialGradient id="${id}" cx="50%" cy="45%" r="60%" spreadMethod="reflect"><stop offset="0" stop-color="${a}"/><stop offset="0.35" stop-color="${b}"/><stop offset="0.6" stop-color="${hex(mix(accent, base, 0.5))}"/><stop offset="1" stop-color="${b}"/></radialGradient>`;
    case '그라데이션':
      return `<linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${b}"/><stop offset="1" stop-color="${a}"/></linearGradient>`;
    default:
      return null;
  }
}
