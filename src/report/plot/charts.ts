/**
 * SVG plots over a study's series (src/report/series.ts), shared by the dashboard and the static
 * report: parallel coordinates, slice plots, the timeline of trials per worker, and bar charts.
 * Each returns one <svg> (built with `s`, so it works in the browser and under linkedom).
 */
import { s } from './svg.js';
import { niceTicks, wantsLog } from '../analysis.js';
import { DENSE_POINTS, denseMarks } from './scatter.js';
import type { TimelineBars, TimelineRuns } from '../../api/dashboard.js';

export const STATE_COLORS: Record<string, string> = {
  complete: '#2f6fde',
  pruned: '#e8a33d',
  failed: '#d64545',
  running: '#27a26b',
  waiting: '#98a2b3',
};

export type Cell = string | number | boolean | null;

function tick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
  return String(Math.round(v * 1000) / 1000);
}

function empty(width: number, height: number, message: string): SVGSVGElement {
  return s(
    'svg',
    { width, height: Math.min(height, 80), viewBox: `0 0 ${width} ${Math.min(height, 80)}`, class: 'chart empty-chart', role: 'img' },
    s('text', { x: width / 2, y: 40, 'text-anchor': 'middle', fill: '#667085' }, message),
  );
}

/** One axis of a parallel-coordinates or slice plot: numeric (maybe log) or categorical. */
interface Axis {
  readonly name: string;
  readonly pos: (v: Cell) => number | null; // 0..1, null = absent
  readonly ticks: readonly { at: number; label: string }[];
  readonly log: boolean;
}

function axisFor(name: string, values: readonly Cell[]): Axis {
  const nums = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const present = values.filter((v) => v !== null);
  if (present.length > 0 && nums.length === present.length && new Set(nums).size > 1) {
    const log = wantsLog(nums);
    const f = (v: number): number => (log ? Math.log10(v) : v);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of nums) {
      lo = Math.min(lo, f(v));
      hi = Math.max(hi, f(v));
    }
    const span = hi - lo || 1;
    const ticks = log
      ? Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, i) => Math.ceil(lo) + i).map((e) => ({ at: (e - lo) / span, label: tick(10 ** e) }))
      : niceTicks(lo, hi, 4).map((t) => ({ at: (t - lo) / span, label: tick(t) }));
    return { name: log ? `${name} (log)` : name, pos: (v) => (typeof v === 'number' && Number.isFinite(v) ? (f(v) - lo) / span : null), ticks, log };
  }
  const cats = [...new Set(present.map((v) => String(v)))].sort();
  const at = new Map(cats.map((c, i) => [c, cats.length === 1 ? 0.5 : i / (cats.length - 1)]));
  return { name, pos: (v) => (v === null ? null : at.get(String(v)) ?? null), ticks: cats.map((c) => ({ at: at.get(c)!, label: c })), log: false };
}

/** Value -> colour from light (worst) to dark blue (best). */
function valueColor(t: number): string {
  const a = [0xd6, 0xe4, 0xfa];
  const b = [0x1b, 0x3f, 0x8f];
  const c = a.map((x, i) => Math.round(x + (b[i]! - x) * Math.min(1, Math.max(0, t))));
  return `rgb(${c.join(',')})`;
}

/**
 * Parallel coordinates: one vertical axis per column (parameters, then objectives), one polyline
 * per row, coloured by the last column's value (darker = better for `dir`). Rows absent on an
 * axis skip it. `note` is drawn under the title line (e.g. "2,000 of 18,000 trials, sampled").
 */
export function parallelCoordinates(
  columns: readonly string[],
  rows: readonly { readonly number: number; readonly cells: readonly Cell[] }[],
  o: { width: number; height: number; dir: 'maximize' | 'minimize'; onClick?: (number: number) => void },
): SVGSVGElement {
  if (rows.length === 0 || columns.length < 2) return empty(o.width, o.height, 'needs complete trials with parameters');
  const m = { l: 30, r: 30, t: 26, b: 34 };
  const axes = columns.map((c, j) => axisFor(c, rows.map((r) => r.cells[j] ?? null)));
  const W = o.width;
  const H = o.height;
  const X = (j: number): number => m.l + (j * (W - m.l - m.r)) / Math.max(1, columns.length - 1);
  const Y = (p: number): number => H - m.b - p * (H - m.t - m.b);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart parallel', role: 'img' });
  const last = axes.length - 1;
  const vals = rows.map((r) => axes[last]!.pos(r.cells[last] ?? null));
  const lines = s('g', { class: 'lines', fill: 'none', 'stroke-width': 1, 'stroke-opacity': rows.length > 500 ? 0.25 : 0.55 });
  // Worst first, so the best lines are drawn on top.
  const order = rows.map((_, i) => i).sort((a, b) => (vals[a] ?? -1) - (vals[b] ?? -1));
  // Many rows: one path per colour shade (8 shades, worst first) instead of one per row.
  const dense = rows.length > DENSE_POINTS;
  const shades = new Map<number, { d: string[]; n: number }>();
  for (const i of order) {
    const r = rows[i]!;
    let d = '';
    axes.forEach((ax, j) => {
      const p = ax.pos(r.cells[j] ?? null);
      if (p === null) return;
      d += `${d === '' ? 'M' : 'L'}${X(j).toFixed(1)},${Y(p).toFixed(1)}`;
    });
    const v = vals[i];
    const t = v === null || v === undefined ? 0 : o.dir === 'maximize' ? v : 1 - v;
    if (dense) {
      const k = Math.min(7, Math.floor(t * 8));
      const sh = shades.get(k) ?? { d: [], n: 0 };
      shades.set(k, sh);
      sh.d.push(d);
      sh.n++;
      continue;
    }
    const path = s('path', { d, stroke: valueColor(t), class: 'pc-line', 'data-trial': r.number });
    if (o.onClick) path.addEventListener('click', () => o.onClick!(r.number));
    lines.append(path);
  }
  for (const k of [...shades.keys()].sort((a, b) => a - b)) {
    const sh = shades.get(k)!;
    lines.append(s('path', { d: sh.d.join(''), stroke: valueColor((k + 0.5) / 8), class: 'pc-lines', 'data-count': sh.n }, s('title', {}, `${sh.n} trials`)));
  }
  svg.append(lines);
  axes.forEach((ax, j) => {
    const g = s('g', { class: 'axis pc-axis' });
    g.append(s('line', { x1: X(j), x2: X(j), y1: Y(0), y2: Y(1), stroke: '#475467' }));
    const many = ax.ticks.length > 12;
    ax.ticks.forEach((t, k) => {
      if (many && k % Math.ceil(ax.ticks.length / 12) !== 0) return;
      g.append(s('text', { x: X(j) + 4, y: Y(t.at) + 3, style: 'font-size:10px;fill:#475467' }, t.label.length > 14 ? `${t.label.slice(0, 13)}…` : t.label));
    });
    g.append(s('text', { x: X(j), y: j % 2 ? H - 6 : H - 18, 'text-anchor': 'middle', style: 'font-size:11px;fill:#1d2330' }, ax.name));
    svg.append(g);
  });
  return svg;
}

/**
 * Slice plot: the objective against one parameter, every sampled complete trial a dot
 * (categorical parameters get one jittered column per value; numbers with a >100x span get a log axis).
 */
export function slicePlot(
  param: string,
  xs: readonly Cell[],
  ys: readonly number[],
  numbers: readonly number[],
  o: { width: number; height: number; yLabel: string; onClick?: (number: number) => void },
): SVGSVGElement {
  const present = xs.map((x, i) => ({ x, y: ys[i]!, n: numbers[i]! })).filter((p) => p.x !== null && Number.isFinite(p.y));
  if (present.length === 0) return empty(o.width, o.height, `no complete trial sets ${param}`);
  const ax = axisFor(param, present.map((p) => p.x));
  const m = { l: 58, r: 14, t: 10, b: 40 };
  const W = o.width;
  const H = o.height;
  let y0 = Math.min(...present.map((p) => p.y));
  let y1 = Math.max(...present.map((p) => p.y));
  if (y0 === y1) {
    y0 -= 1;
    y1 += 1;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const X = (p: number): number => m.l + 40 + p * (W - m.l - m.r - 90);
  const Y = (v: number): number => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart slice', role: 'img' });
  const axis = s('g', { class: 'axis' });
  for (const t of niceTicks(y0, y1, 5)) {
    axis.append(s('line', { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t), class: 'gridline', stroke: '#eef0f3' }));
    axis.append(s('text', { x: m.l - 6, y: Y(t) + 4, 'text-anchor': 'end', style: 'font-size:11px;fill:#475467' }, tick(t)));
  }
  const many = ax.ticks.length > 10;
  ax.ticks.forEach((t, k) => {
    if (many && k % Math.ceil(ax.ticks.length / 10) !== 0) return;
    axis.append(s('text', { x: X(t.at), y: H - m.b + 16, 'text-anchor': 'middle', style: 'font-size:11px;fill:#475467' }, t.label.length > 16 ? `${t.label.slice(0, 15)}…` : t.label));
  });
  axis.append(s('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, stroke: '#98a2b3' }));
  axis.append(s('text', { x: (m.l + W - m.r) / 2, y: H - 6, 'text-anchor': 'middle', style: 'font-size:12px;fill:#475467' }, ax.name));
  axis.append(s('text', { x: 14, y: (m.t + H - m.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(m.t + H - m.b) / 2})`, style: 'font-size:12px;fill:#475467' }, o.yLabel));
  svg.append(axis);
  const categorical = !ax.ticks.every((t) => /^-?[0-9.e+-]+$/.test(t.label)) || ax.ticks.length <= 8;
  const g = s('g', { class: 'points' });
  const marks = present.map((p, i) => {
    const base = ax.pos(p.x)!;
    // deterministic jitter for categorical columns (golden-ratio sequence)
    const jitter = categorical ? (((i * 0.618034) % 1) - 0.5) * Math.min(0.6 / Math.max(1, ax.ticks.length), 0.08) : 0;
    const onClick = o.onClick ? (): void => o.onClick!(p.n) : undefined;
    return { cx: X(base + jitter), cy: Y(p.y), r: 2.6, color: '#2f6fde', title: `trial ${p.n}: ${param} = ${String(p.x)}, ${o.yLabel} ${tick(p.y)}`, onClick, n: p.n };
  });
  if (marks.length > DENSE_POINTS) denseMarks(svg, g, marks, { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b }, W, H);
  else {
    for (const k of marks) {
      const c = s('circle', { cx: k.cx, cy: k.cy, r: k.r, fill: k.color, 'fill-opacity': 0.55, class: 'pt', 'data-trial': k.n }, s('title', {}, k.title));
      if (k.onClick) c.addEventListener('click', k.onClick);
      g.append(c);
    }
  }
  svg.append(g);
  return svg;
}

/**
 * Timeline: one lane per worker, one bar per trial attempt (or per merged run of them, see
 * TimelineBars in src/api/dashboard.ts) from its start to its finish (or to the end of the axis
 * while it runs), coloured by state. All bars of one state are one path, so tens of thousands of
 * trials stay cheap to draw. Attempts > 1 (re-runs after a lost lease) are outlined.
 */
export function timeline(t: TimelineBars, o: { width: number; height?: number }): SVGSVGElement {
  if (t.trials === 0) return empty(o.width, 120, 'no trial has started yet');
  const lanes = t.workers.length;
  const laneH = Math.max(10, Math.min(28, 220 / lanes));
  const m = { l: 110, r: 14, t: 8, b: 36 };
  const W = o.width;
  const H = o.height ?? m.t + m.b + lanes * laneH;
  const tMax = t.span;
  const useMin = tMax > 600;
  const scale = useMin ? 60 : 1;
  const X = (sec: number): number => m.l + (sec / Math.max(tMax, 1e-9)) * (W - m.l - m.r);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart timeline', role: 'img' });
  const axis = s('g', { class: 'axis' });
  for (const v of niceTicks(0, tMax / scale, 6)) {
    axis.append(s('line', { x1: X(v * scale), x2: X(v * scale), y1: m.t, y2: H - m.b, stroke: '#eef0f3' }));
    axis.append(s('text', { x: X(v * scale), y: H - m.b + 14, 'text-anchor': 'middle', style: 'font-size:11px;fill:#475467' }, tick(v)));
  }
  axis.append(s('text', { x: (m.l + W - m.r) / 2, y: H - 4, 'text-anchor': 'middle', style: 'font-size:12px;fill:#475467' }, useMin ? 'minutes since the first trial started' : 'seconds since the first trial started'));
  t.workers.forEach((w, k) => {
    axis.append(s('text', { x: m.l - 6, y: m.t + k * laneH + laneH / 2 + 4, 'text-anchor': 'end', style: 'font-size:11px;fill:#1d2330' }, w.length > 16 ? `${w.slice(0, 15)}…` : w));
  });
  svg.append(axis);
  // Bars of one state in one lane that overlap or lie within a pixel of each other are drawn as
  // one rectangle (the server has merged them on a finer grid already): the picture is the same
  // at screen resolution, with a few hundred sub-paths to rasterise instead of 20,000.
  const h = laneH - 4;
  const rect = (x0: number, x1: number, y: number): string => `M${x0.toFixed(1)},${y.toFixed(1)}h${(x1 - x0).toFixed(1)}v${h.toFixed(1)}h${(x0 - x1).toFixed(1)}z`;
  const pathOf = (g: TimelineRuns): string => {
    let d = '';
    const runs = new Map<number, { x0: number; x1: number; y: number }>();
    for (let i = 0; i < g.worker.length; i++) {
      const y = m.t + g.worker[i]! * laneH + 2;
      const x0 = X(g.start[i]!);
      const x1 = Math.max(x0 + 0.8, X(g.end[i] ?? tMax));
      const r = runs.get(g.worker[i]!);
      if (r && x0 <= r.x1 + 1 && x1 >= r.x0 - 1) {
        r.x0 = Math.min(r.x0, x0);
        r.x1 = Math.max(r.x1, x1);
      } else {
        if (r) d += rect(r.x0, r.x1, r.y);
        runs.set(g.worker[i]!, { x0, x1, y });
      }
    }
    for (const r of runs.values()) d += rect(r.x0, r.x1, r.y);
    return d;
  };
  // the common state first, the rare ones (failures, re-runs) drawn over it
  const order = ['complete', 'pruned', 'running', 'waiting', 'failed'];
  const groups = [...t.bars].sort((a, b) => (order.indexOf(a.state) + 1 || 99) - (order.indexOf(b.state) + 1 || 99));
  for (const g of groups) {
    const n = g.count.reduce((a, c) => a + c, 0);
    svg.append(s('path', { d: pathOf(g), fill: STATE_COLORS[g.state] ?? '#667085', 'fill-opacity': 0.8, class: `tl-${g.state}`, 'data-count': n }, s('title', {}, `${n.toLocaleString('en-US')} ${g.state} trial${n === 1 ? '' : 's'}`)));
  }
  if (t.reruns) {
    const n = t.reruns.count.reduce((a, c) => a + c, 0);
    svg.append(s('path', { d: pathOf(t.reruns), fill: 'none', stroke: '#111827', 'stroke-width': 1.2, class: 'tl-rerun', 'data-count': n }, s('title', {}, `${n.toLocaleString('en-US')} re-run${n === 1 ? '' : 's'} after a lost lease`)));
  }
  return svg;
}

/** What the timeline draws, for under it: trials, lanes, and whether and how bars were merged. */
export function timelineCaption(t: TimelineBars): string {
  const bars = t.bars.reduce((a, g) => a + g.count.length, 0);
  const who = `${t.trials.toLocaleString('en-US')} trial${t.trials === 1 ? '' : 's'} on ${t.workers.length} worker${t.workers.length === 1 ? '' : 's'}`;
  return t.merged
    ? `${who}, drawn as ${bars.toLocaleString('en-US')} bars: trials of one state whose bars lie within 1/${t.columns.toLocaleString('en-US')} of the time axis of each other are merged (every trial is in one bar; hover a colour for its count)`
    : who;
}

/** Horizontal bars (importance ranks): label, bar scaled to the largest value, the value. */
export function barChart(items: readonly { readonly label: string; readonly value: number; readonly note?: string }[], o: { width: number; digits?: number }): SVGSVGElement {
  if (items.length === 0) return empty(o.width, 60, 'nothing to rank yet');
  const rowH = 22;
  const m = { l: 150, r: 60 };
  const H = items.length * rowH + 8;
  const W = o.width;
  const max = Math.max(...items.map((i) => i.value), 1e-12);
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart bars-svg', role: 'img' });
  items.forEach((it, k) => {
    const y = 4 + k * rowH;
    const w = Math.max(1, (it.value / max) * (W - m.l - m.r));
    svg.append(
      s(
        'g',
        { class: 'bar-row' },
        s('text', { x: m.l - 8, y: y + 14, 'text-anchor': 'end', style: 'font-size:12px;fill:#1d2330' }, it.label.length > 22 ? `${it.label.slice(0, 21)}…` : it.label),
        s('rect', { x: m.l, y: y + 3, width: w, height: rowH - 8, fill: '#2f6fde', rx: 2 }, it.note ? s('title', {}, it.note) : null),
        s('text', { x: m.l + w + 6, y: y + 14, style: 'font-size:11px;fill:#475467' }, it.value.toFixed(o.digits ?? 3)),
      ),
    );
  });
  return svg;
}

/**
 * One-shot search: a heat map per edge of softmax(alpha) over epochs (rows: the edge's ops,
 * columns: epochs; darker = more weight), edges laid out in a grid, the last epoch's argmax op
 * outlined. `alpha` follows docs/oneshot.md (`tsnas.alpha/1`).
 */
/**
 * An alpha edge's panel title (tsnas.alpha/1 edge, docs/oneshot.md): its name, after its cell
 * when the name does not already say it (DARTS `normal.n2.in0` is not `normal normal.n2.in0`),
 * and `: from→to` only for edges between graph nodes (NB201 `e2: 1→2`, DARTS `normal.n2.in0:
 * 0→2`); a chain CNN's per-layer choices (`layers[0].kernel`, from/to -1) have no nodes.
 */
export function alphaEdgeTitle(edge: { readonly name: string; readonly cell: string; readonly from: number; readonly to: number }): string {
  const cell = edge.cell === 'cell' || edge.cell === '' || edge.name.startsWith(edge.cell) ? '' : `${edge.cell} `;
  const nodes = edge.from >= 0 && edge.to >= 0 ? `: ${edge.from}→${edge.to}` : '';
  return `${cell}${edge.name}${nodes}`;
}

export function alphaHeatmaps(
  alpha: {
    readonly edges: readonly { readonly name: string; readonly cell: string; readonly from: number; readonly to: number; readonly ops: readonly string[] }[];
    readonly epochs: readonly { readonly epoch: number; readonly probs: readonly (readonly number[])[] }[];
  },
  o: { width: number },
): SVGSVGElement {
  const E = alpha.edges.length;
  const T = alpha.epochs.length;
  if (E === 0 || T === 0) return empty(o.width, 80, 'no epoch of the supernet search has finished yet');
  const maxOps = Math.max(...alpha.edges.map((e) => e.ops.length));
  const labelW = 92;
  const cols = Math.max(1, Math.min(3, Math.floor(o.width / 300)));
  const panelW = Math.floor(o.width / cols);
  const cellW = Math.max(3, Math.min(26, Math.floor((panelW - labelW - 16) / T)));
  const cellH = 13;
  const panelH = 22 + maxOps * cellH + 18;
  const rows = Math.ceil(E / cols);
  const H = rows * panelH + 26;
  const svg = s('svg', { width: o.width, height: H, viewBox: `0 0 ${o.width} ${H}`, class: 'chart alpha-heatmaps', role: 'img' });
  const last = alpha.epochs[T - 1]!;
  alpha.edges.forEach((edge, e) => {
    const x0 = (e % cols) * panelW;
    const y0 = Math.floor(e / cols) * panelH;
    const g = s('g', { class: 'alpha-edge', 'data-edge': edge.name });
    g.append(s('text', { x: x0 + 4, y: y0 + 14, style: 'font-size:12px;font-weight:600;fill:#1d2330' }, alphaEdgeTitle(edge)));
    const argmax = last.probs[e]!.indexOf(Math.max(...last.probs[e]!));
    edge.ops.forEach((op, k) => {
      const y = y0 + 22 + k * cellH;
      g.append(s('text', { x: x0 + labelW - 4, y: y + cellH - 3, 'text-anchor': 'end', style: `font-size:10px;fill:${k === argmax ? '#1d2330' : '#667085'};font-weight:${k === argmax ? 600 : 400}` }, op));
      alpha.epochs.forEach((ep, t) => {
        const p = ep.probs[e]![k]!;
        g.append(
          s(
            'rect',
            { x: x0 + labelW + t * cellW, y, width: cellW - 1, height: cellH - 1, fill: heat(p), class: 'alpha-cell' },
            s('title', {}, `${edge.name} ${op}, epoch ${ep.epoch}: ${p.toFixed(3)}`),
          ),
        );
      });
      if (k === argmax) g.append(s('rect', { x: x0 + labelW - 0.5, y: y - 0.5, width: T * cellW, height: cellH, fill: 'none', stroke: '#e8573d', 'stroke-width': 1.2 }));
    });
    g.append(s('text', { x: x0 + labelW, y: y0 + 22 + edge.ops.length * cellH + 11, style: 'font-size:10px;fill:#667085' }, `epoch ${alpha.epochs[0]!.epoch}`));
    g.append(s('text', { x: x0 + labelW + T * cellW, y: y0 + 22 + edge.ops.length * cellH + 11, 'text-anchor': 'end', style: 'font-size:10px;fill:#667085' }, `${last.epoch}`));
    svg.append(g);
  });
  // colour scale
  const ly = H - 14;
  for (let i = 0; i <= 10; i++) svg.append(s('rect', { x: 4 + i * 14, y: ly - 8, width: 14, height: 10, fill: heat(i / 10) }));
  svg.append(s('text', { x: 4 + 11 * 14 + 6, y: ly, style: 'font-size:10px;fill:#667085' }, 'softmax(alpha): 0 → 1; outlined: the op the last epoch derives'));
  return svg;
}

function heat(p: number): string {
  const t = Math.min(1, Math.max(0, p));
  const a = [0xf5, 0xf7, 0xfb];
  const b = [0x0b, 0x2e, 0x7a];
  return `rgb(${a.map((x, i) => Math.round(x + (b[i]! - x) * Math.sqrt(t))).join(',')})`;
}
