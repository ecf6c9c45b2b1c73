/** A small SVG scatter plot with per-point colours, an optional overlay line and clickable points. */
import { s } from './svg.js';
import { niceTicks } from '../analysis.js';

export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  readonly color: string;
  readonly title: string;
  readonly r?: number;
  readonly onClick?: () => void;
}

export interface ScatterOpts {
  readonly width: number;
  readonly height: number;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  /**
   * Fit the y axis to the bulk of the points (one 5-95% range beyond that range); points outside are
   * drawn on the edge as triangles (their true value in the tooltip), so one outlier cannot
   * flatten the rest.
   */
  readonly robustY?: boolean;
  /** Filled bands (e.g. mean ± std over repeated runs), drawn first; in data coordinates. */
  readonly bands?: readonly { readonly points: readonly { x: number; lo: number; hi: number }[]; readonly color: string }[];
  /** Drawn under the points, in data coordinates. */
  readonly lines?: readonly { readonly points: readonly { x: number; y: number }[]; readonly color: string; readonly step?: boolean; readonly width?: number }[];
}

let clipCount = 0;

/**
 * Above this many points a scatter draws them as one path per colour (class `pts`, with the
 * count in `data-count`) and answers hover and click from one hit layer; below, one element per
 * point (class `pt`, with its own tooltip).
 */
export const DENSE_POINTS = 400;

export function scatter(points: readonly ScatterPoint[], o: ScatterOpts): SVGSVGElement {
  const m = { l: 58, r: 14, t: 10, b: 40 };
  const W = o.width;
  const H = o.height;
  const tx = (v: number): number => (o.logX ? Math.log10(Math.max(v, 1e-12)) : v);
  const all = [
    ...points.map((p) => ({ x: p.x, y: p.y })),
    ...(o.lines ?? []).flatMap((l) => l.points),
    ...(o.bands ?? []).flatMap((b) => b.points.flatMap((p) => [{ x: p.x, y: p.lo }, { x: p.x, y: p.hi }])),
  ].filter(
    (p) => Number.isFinite(p.x) && Number.isFinite(p.y),
  );
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  if (all.length === 0) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#667085' }, 'no data yet'));
    return svg;
  }
  let x0 = Math.min(...all.map((p) => tx(p.x)));
  let x1 = Math.max(...all.map((p) => tx(p.x)));
  let y0 = Math.min(...all.map((p) => p.y));
  let y1 = Math.max(...all.map((p) => p.y));
  if (o.robustY && points.length >= 8) {
    const ys = points.map((p) => p.y).filter(Number.isFinite).sort((a, b) => a - b);
    const q = (f: number): number => ys[Math.min(ys.length - 1, Math.floor(f * (ys.length - 1)))]!;
    const spread = q(0.95) - q(0.05);
    if (spread > 0) {
      y0 = Math.max(y0, q(0.05) - spread);
      y1 = Math.min(y1, q(0.95) + spread);
    }
  }
  const clipLo = y0;
  const clipHi = y1;
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const px = (x1 - x0) * 0.03;
  const py = (y1 - y0) * 0.05;
  x0 -= px; x1 += px; y0 -= py; y1 += py;
  const X = (v: number): number => m.l + ((tx(v) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number): number => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const clipId = `clip-${++clipCount}`;
  svg.append(s('defs', {}, s('clipPath', { id: clipId }, s('rect', { x: m.l, y: m.t - 6, width: W - m.l - m.r, height: H - m.t - m.b + 12 }))));
  const axis = s('g', { class: 'axis' });
  for (const t of niceTicks(y0, y1, 5)) {
    axis.append(s('line', { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t), class: 'gridline' }));
    axis.append(s('text', { x: m.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, tickLabel(t)));
  }
  const xt = o.logX ? logTicks(x0, x1) : niceTicks(x0, x1, 6);
  for (const t of xt) {
    const xv = o.logX ? 10 ** t : t;
    axis.append(s('line', { x1: X(xv), x2: X(xv), y1: H - m.b, y2: H - m.b + 4 }));
    axis.append(s('text', { x: X(xv), y: H - m.b + 16, 'text-anchor': 'middle' }, tickLabel(xv)));
  }
  axis.append(s('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
  axis.append(s('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
  axis.append(s('text', { x: (m.l + W - m.r) / 2, y: H - 6, 'text-anchor': 'middle', style: 'font-size:12px;fill:#475467' }, o.xLabel));
  axis.append(
    s('text', { x: 14, y: (m.t + H - m.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(m.t + H - m.b) / 2})`, style: 'font-size:12px;fill:#475467' }, o.yLabel),
  );
  svg.append(axis);
  for (const b of o.bands ?? []) {
    const pts = b.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.lo) && Number.isFinite(p.hi));
    if (pts.length === 0) continue;
    if (pts.length === 1) {
      // one x has no area: an error bar from lo to hi
      const p = pts[0]!;
      const x = X(p.x);
      svg.append(s('path', { d: `M${x - 4},${Y(p.hi)}H${x + 4}M${x},${Y(p.hi)}V${Y(p.lo)}M${x - 4},${Y(p.lo)}H${x + 4}`, stroke: b.color, 'stroke-width': 1.5, fill: 'none', class: 'band', 'clip-path': `url(#${clipId})` }));
      continue;
    }
    const d = `M${pts.map((p) => `${X(p.x)},${Y(p.hi)}`).join('L')}L${[...pts].reverse().map((p) => `${X(p.x)},${Y(p.lo)}`).join('L')}z`;
    svg.append(s('path', { d, fill: b.color, 'fill-opacity': 0.18, stroke: 'none', class: 'band', 'clip-path': `url(#${clipId})` }));
  }
  for (const l of o.lines ?? []) {
    const lp = l.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (lp.length === 0) continue;
    if (lp.length === 1) {
      // one point has no segment to stroke: a marker in the line's colour
      svg.append(s('circle', { cx: X(lp[0]!.x), cy: Y(lp[0]!.y), r: 4, fill: l.color, class: 'line-pt', 'clip-path': `url(#${clipId})` }));
      continue;
    }
    let d = '';
    lp.forEach((p, i) => {
      if (i === 0) d += `M${X(p.x)},${Y(p.y)}`;
      else if (l.step) d += `H${X(p.x)}V${Y(p.y)}`;
      else d += `L${X(p.x)},${Y(p.y)}`;
    });
    svg.append(s('path', { d, fill: 'none', stroke: l.color, 'stroke-width': l.width ?? 2, 'stroke-linejoin': 'round', 'clip-path': `url(#${clipId})` }));
  }
  const g = s('g', { class: 'points' });
  const drawn = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  // Screen position and marker of every drawn point; outliers beyond the fitted axis become
  // triangles on the edge, pointing where they lie.
  const marks = drawn.map((p) => {
    const out = p.y < clipLo || p.y > clipHi;
    const down = p.y < clipLo;
    return { p, out, down, cx: X(p.x), cy: out ? (down ? H - m.b - 4 : m.t + 4) : Y(p.y), r: p.r ?? 3.5 };
  });
  const tri = (cx: number, cy: number, down: boolean): string =>
    down ? `M${cx - 5},${cy - 4}L${cx + 5},${cy - 4}L${cx},${cy + 4}z` : `M${cx - 5},${cy + 4}L${cx + 5},${cy + 4}L${cx},${cy - 4}z`;
  if (marks.length <= DENSE_POINTS) {
    for (const k of marks) {
      const c = k.out
        ? s('path', { d: tri(k.cx, k.cy, k.down), fill: k.p.color, 'fill-opacity': 0.8, class: 'pt outlier' }, s('title', {}, `${k.p.title} (off the axis)`))
        : s('circle', { cx: k.cx, cy: k.cy, r: k.r, fill: k.p.color, 'fill-opacity': 0.8, class: 'pt' }, s('title', {}, k.p.title));
      if (k.p.onClick) c.addEventListener('click', k.p.onClick);
      g.append(c);
    }
  } else {
    denseMarks(
      svg,
      g,
      marks.map((k) => ({
        cx: k.cx,
        cy: k.cy,
        r: k.r,
        color: k.p.color,
        title: k.out ? `${k.p.title} (off the axis)` : k.p.title,
        shape: k.out ? tri(k.cx, k.cy, k.down) : undefined,
        onClick: k.p.onClick,
      })),
      { x: m.l, y: m.t - 6, width: W - m.l - m.r, height: H - m.t - m.b + 12 },
      W,
      H,
    );
  }
  svg.append(g);
  return svg;
}

/** One mark of `denseMarks`: a circle at (cx, cy), or the path `shape` when given. */
export interface DenseMark {
  readonly cx: number;
  readonly cy: number;
  readonly r: number;
  readonly color: string;
  readonly title: string;
  readonly shape?: string | undefined;
  readonly onClick?: (() => void) | undefined;
}

/**
 * Draws many marks into `g` as one path per colour and size (class `pts`, `data-count`), plus a
 * transparent hit layer over `area` whose tooltip and click go to the nearest mark within 8 px
 * (a 12 px grid finds it). A few DOM nodes instead of one per mark: what keeps a view of
 * thousands of points quick to lay out.
 */
export function denseMarks(svg: SVGSVGElement, g: SVGElement, marks: readonly DenseMark[], area: { x: number; y: number; width: number; height: number }, W: number, H: number): void {
  const groups = new Map<string, { color: string; d: string[]; n: number }>();
  for (const k of marks) {
    const key = `${k.color}|${k.shape !== undefined ? 'shape' : k.r}`;
    let gr = groups.get(key);
    if (!gr) groups.set(key, (gr = { color: k.color, d: [], n: 0 }));
    gr.d.push(k.shape ?? `M${round(k.cx - k.r)},${round(k.cy)}a${k.r},${k.r} 0 1,0 ${2 * k.r},0a${k.r},${k.r} 0 1,0 ${-2 * k.r},0`);
    gr.n++;
  }
  for (const gr of groups.values()) g.append(s('path', { d: gr.d.join(''), fill: gr.color, 'fill-opacity': 0.8, class: 'pts', 'data-count': gr.n }));
  const hover = s('circle', { r: 6, fill: 'none', stroke: '#111827', 'stroke-width': 1.5, class: 'hover', visibility: 'hidden', 'pointer-events': 'none' });
  const tip = s('title', {}, '');
  const hit = s('rect', { x: area.x, y: area.y, width: area.width, height: area.height, fill: 'transparent', class: 'hit' }, tip);
  const cell = 12;
  const grid = new Map<string, number[]>();
  marks.forEach((k, i) => {
    const key = `${Math.floor(k.cx / cell)},${Math.floor(k.cy / cell)}`;
    const list = grid.get(key);
    if (list) list.push(i);
    else grid.set(key, [i]);
  });
  const nearest = (ev: MouseEvent): DenseMark | null => {
    const box = svg.getBoundingClientRect();
    const x = ((ev.clientX - box.left) * W) / (box.width || W);
    const y = ((ev.clientY - box.top) * H) / (box.height || H);
    let best: DenseMark | null = null;
    let bd = 8 * 8;
    const gx = Math.floor(x / cell);
    const gy = Math.floor(y / cell);
    for (let a = gx - 1; a <= gx + 1; a++) {
      for (let b = gy - 1; b <= gy + 1; b++) {
        for (const i of grid.get(`${a},${b}`) ?? []) {
          const k = marks[i]!;
          const d = (k.cx - x) ** 2 + (k.cy - y) ** 2;
          if (d <= bd) [bd, best] = [d, k];
        }
      }
    }
    return best;
  };
  hit.addEventListener('mousemove', (ev) => {
    const k = nearest(ev as MouseEvent);
    hover.setAttribute('visibility', k ? 'visible' : 'hidden');
    (hit as SVGElement).style.cursor = k?.onClick ? 'pointer' : 'default';
    tip.textContent = k ? k.title : '';
    if (k) {
      hover.setAttribute('cx', String(k.cx));
      hover.setAttribute('cy', String(k.cy));
    }
  });
  hit.addEventListener('mouseleave', () => hover.setAttribute('visibility', 'hidden'));
  hit.addEventListener('click', (ev) => nearest(ev as MouseEvent)?.onClick?.());
  g.append(hit, hover);
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
  return String(Math.round(v * 1000) / 1000);
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) out.push(e);
  return out.length >= 2 ? out : niceTicks(lo, hi, 4);
}
