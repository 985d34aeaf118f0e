// CSS colours as the browser computes them (tailwind 4 gives oklch, its `/60` opacities oklab) turned
// into `#rrggbb` plus an opacity, which every SVG viewer reads; and the print palette, which flips
// lightness in OKLab so a dark slide becomes a light page with the same hues. Pure, for the exports.

export interface Rgba {
  /** sRGB channels and alpha, 0..1. */
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
}

interface Lab {
  readonly L: number;
  readonly A: number;
  readonly B: number;
}

const num = (s: string | undefined, pct = 1): number => {
  if (s === undefined || s === 'none') return 0;
  return s.endsWith('%') ? (parseFloat(s) / 100) * pct : parseFloat(s);
};

/** `a b c / d` or `a, b, c, d` inside a function's parentheses: the three channels and the alpha. */
function channels(inner: string): { c: string[]; alpha: number } {
  const [main = '', slash] = inner.split('/');
  const c = main
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  const a = slash !== undefined ? slash.trim() : c[3];
  return { c: c.slice(0, 3), alpha: a === undefined ? 1 : num(a, 1) };
}

const toLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const fromLinear = (c: number): number => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const clip = (c: number): number => Math.max(0, Math.min(1, c));

function oklabToRgb({ L, A, B }: Lab): { r: number; g: number; b: number } {
  const l = (L + 0.3963377774 * A + 0.2158037573 * B) ** 3;
  const m = (L - 0.1055613458 * A - 0.0638541728 * B) ** 3;
  const s = (L - 0.0894841775 * A - 1.291485548 * B) ** 3;
  return {
    r: clip(fromLinear(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s)),
    g: clip(fromLinear(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s)),
    b: clip(fromLinear(-0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s)),
  };
}

function rgbToOklab({ r, g, b }: { r: number; g: number; b: number }): Lab {
  const [lr, lg, lb] = [toLinear(r), toLinear(g), toLinear(b)];
  const l = Math.cbrt(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
  const m = Math.cbrt(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
  const s = Math.cbrt(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
  return {
    L: 0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    A: 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    B: 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  };
}

/** A computed colour, or undefined for `none`, `currentcolor`, url() paints and what it cannot read. */
export function parseColor(css: string): Rgba | undefined {
  const s = css.trim().toLowerCase();
  if (s === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  const hex = /^#([0-9a-f]{3,8})$/.exec(s)?.[1];
  if (hex) {
    const full = hex.length <= 4 ? [...hex].map((h) => h + h).join('') : hex;
    const v = (i: number) => parseInt(full.slice(i, i + 2), 16) / 255;
    return { r: v(0), g: v(2), b: v(4), a: full.length === 8 ? v(6) : 1 };
  }
  const fn = /^([a-z]+)\((.*)\)$/.exec(s);
  if (!fn) return undefined;
  const [, name, inner = ''] = fn;
  if (name === 'color') {
    // color(srgb r g b / a): only sRGB is expected from these stylesheets.
    const [space, ...rest] = inner.trim().split(/\s+/);
    if (space !== 'srgb' && space !== 'srgb-linear') return undefined;
    const { c, alpha } = channels(rest.join(' '));
    const lin = space === 'srgb-linear';
    const ch = (i: number) => (lin ? fromLinear(num(c[i], 1)) : num(c[i], 1));
    return { r: ch(0), g: ch(1), b: ch(2), a: alpha };
  }
  const { c, alpha } = channels(inner);
  if (name === 'rgb' || name === 'rgba') {
    const ch = (i: number) => (c[i]?.endsWith('%') ? num(c[i], 1) : num(c[i]) / 255);
    return { r: clip(ch(0)), g: clip(ch(1)), b: clip(ch(2)), a: alpha };
  }
  if (name === 'oklab') {
    return { ...oklabToRgb({ L: num(c[0], 1), A: num(c[1], 0.4), B: num(c[2], 0.4) }), a: alpha };
  }
  if (name === 'oklch') {
    const L = num(c[0], 1);
    const C = num(c[1], 0.4);
    const h = (num(c[2]) * Math.PI) / 180;
    return { ...oklabToRgb({ L, A: C * Math.cos(h), B: C * Math.sin(h) }), a: alpha };
  }
  return undefined;
}

const hex2 = (c: number): string =>
  Math.round(clip(c) * 255)
    .toString(16)
    .padStart(2, '0');

export const toHex = (c: Rgba): string => `#${hex2(c.r)}${hex2(c.g)}${hex2(c.b)}`;

/** Below this OKLab chroma a colour reads as grey (tailwind's slate is about 0.04 at most). */
const CHROMA_GREY = 0.05;

/**
 * The same hue and chroma with OKLab lightness flipped, so white text becomes black and a dark fill
 * light. A coloured accent (a light stroke or text on the dark slide) lands at mid lightness instead of
 * near black, so request, reply, NAT and drop keep their colours on paper; a dark tinted fill (a NAT
 * box) becomes a pale tint of its hue.
 */
export function printColor(c: Rgba): Rgba {
  const lab = rgbToOklab(c);
  const chroma = Math.hypot(lab.A, lab.B);
  let L = 1 - lab.L;
  if (chroma >= CHROMA_GREY) L = lab.L > 0.5 ? Math.max(0.42, Math.min(0.55, L)) : Math.max(0.9, L);
  return { ...oklabToRgb({ ...lab, L }), a: c.a };
}

/** WCAG relative luminance, for the contrast check of the projector theme. */
export function luminance(c: Rgba): number {
  return 0.2126 * toLinear(c.r) + 0.7152 * toLinear(c.g) + 0.0722 * toLinear(c.b);
}

/** WCAG contrast ratio of two opaque colours (1..21). */
export function contrast(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
