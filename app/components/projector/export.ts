// Exports of a journey: the hop diagram as a standalone SVG (every style inlined, colours as hex, the
// whole drawing whatever the zoom), the same as PNG through a canvas, and the Journey as JSON in
// `follow --json`'s shape. Browser only; the colour maths is in colors.ts.
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import type { Journey } from '../../../server/protocol/tracer';
import { parseColor, printColor, toHex } from './colors';

export type ExportStyle = 'projector' | 'print';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** What an element needs to look the same outside the page's stylesheet. */
const SHAPE_PROPS = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'opacity'] as const;
const TEXT_PROPS = [...SHAPE_PROPS, 'font-family', 'font-size', 'font-weight', 'font-style', 'letter-spacing'] as const;
const COLOR_PROPS = new Set<string>(['fill', 'stroke']);
const SHAPES = new Set(['rect', 'path', 'circle', 'line', 'polyline', 'polygon', 'ellipse']);
const TEXTS = new Set(['text', 'tspan']);

function paint(value: string, style: ExportStyle): { color: string; opacity?: number } | undefined {
  const c = parseColor(value);
  if (!c) return undefined;
  const out = style === 'print' ? printColor(c) : c;
  return { color: out.a === 0 ? 'none' : toHex(out), ...(out.a > 0 && out.a < 1 && { opacity: +out.a.toFixed(3) }) };
}

/** Inline the computed look of one element, then drop its classes. */
function inline(el: Element, cs: CSSStyleDeclaration, style: ExportStyle): void {
  const tag = el.localName;
  const props = TEXTS.has(tag) ? TEXT_PROPS : SHAPES.has(tag) ? SHAPE_PROPS : tag === 'g' ? (['opacity'] as const) : [];
  const decl: string[] = [];
  for (const p of props) {
    const v = cs.getPropertyValue(p);
    if (!v) continue;
    if (p === 'opacity' && v === '1') continue;
    if (COLOR_PROPS.has(p)) {
      const c = paint(v, style);
      if (!c) {
        if (v === 'none') decl.push(`${p}:none`);
        continue;
      }
      decl.push(`${p}:${c.color}`);
      if (c.opacity !== undefined) decl.push(`${p}-opacity:${c.opacity}`);
    } else decl.push(`${p}:${v}`);
  }
  el.removeAttribute('class');
  if (decl.length) el.setAttribute('style', decl.join(';'));
  else el.removeAttribute('style');
}

/**
 * The diagram as a standalone SVG document. The clone is styled in a hidden `projector` host, so the
 * projector palette applies whether or not the page is in projector mode; print flips its lightness.
 */
export function serializeDiagram(
  svg: SVGSVGElement,
  style: ExportStyle,
): { text: string; width: number; height: number } {
  const vb = svg.viewBox.baseVal;
  const width = Math.round(vb?.width || svg.getBoundingClientRect().width);
  const height = Math.round(vb?.height || svg.getBoundingClientRect().height);
  const clone = svg.cloneNode(true) as SVGSVGElement;
  // The whole drawing, not the zoomed view; no animation dot.
  clone.querySelector('[data-zoom]')?.removeAttribute('transform');
  clone.querySelectorAll('[data-export="skip"]').forEach((e) => e.remove());
  clone.querySelectorAll('title').forEach((e) => e.remove());

  const host = document.createElement('div');
  host.className = 'projector';
  host.setAttribute('aria-hidden', 'true');
  host.style.cssText = `position:fixed;left:-100000px;top:0;width:${width}px;height:${height}px;overflow:hidden`;
  host.append(clone);
  document.body.append(host);
  let background = '#000000';
  try {
    const bg = parseColor(getComputedStyle(clone).backgroundColor);
    if (bg && bg.a > 0) background = toHex(style === 'print' ? printColor(bg) : bg);
    else if (style === 'print') background = '#ffffff';
    for (const el of [clone, ...clone.querySelectorAll('*')]) inline(el, getComputedStyle(el), style);
  } finally {
    host.remove();
  }

  clone.setAttribute('xmlns', SVG_NS);
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  clone.setAttribute('style', `font-family:${getComputedStyle(document.body).fontFamily}`);
  clone.setAttribute('data-export-style', style);
  const bgRect = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of Object.entries({
    x: '0',
    y: '0',
    width: String(width),
    height: String(height),
    fill: background,
  }))
    bgRect.setAttribute(k, v);
  clone.insertBefore(bgRect, clone.firstChild);
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}\n`;
  return { text, width, height };
}

/** The standalone SVG rasterised: 2 px per unit, so a 1600-unit diagram is sharp on a projector. */
export async function svgToPng(svgText: string, width: number, height: number, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.width = width;
    img.height = height;
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error(say(msg('err.export.draw'))));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error(say(msg('err.export.canvas')));
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error(say(msg('err.export.png'))))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** `follow --json` prints the Journey object, two-space indented, with a final newline. */
export const journeyJson = (j: Journey): string => `${JSON.stringify(j, null, 2)}\n`;

/** `journey-pod-a-pod-c-<id>.svg`: names from the journey, only file-safe characters. */
export function exportName(j: Pick<Journey, 'from' | 'to' | 'id'>, ext: string, style?: ExportStyle): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `journey-${safe(j.from)}-${safe(j.to)}-${safe(j.id)}${style ? `-${style}` : ''}.${ext}`;
}

export function downloadBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by then; the URL is only needed until it has.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
