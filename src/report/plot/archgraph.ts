/**
 * Architectures drawn as pictures: NB201 and DARTS cells as DAGs with op-labelled edges, chain CNNs
 * and MLPs as a strip of layers. Input is the trial's stored architecture JSON; a joint candidate
 * ({arch, hparams}) draws its arch. Anything unrecognised returns null (the caller shows JSON).
 */
import { s } from './svg.js';

const OP_COLORS: Record<string, string> = {
  none: '#c0c6d0',
  skip_connect: '#27a26b',
  nor_conv_1x1: '#e8a33d',
  nor_conv_3x3: '#2f6fde',
  avg_pool_3x3: '#9b51e0',
  max_pool_3x3: '#d63d8a',
  sep_conv_3x3: '#2f6fde',
  sep_conv_5x5: '#1b4fae',
  dil_conv_3x3: '#14a3b8',
  dil_conv_5x5: '#0d6f7e',
};

const OP_SHORT: Record<string, string> = {
  none: 'none',
  skip_connect: 'skip',
  nor_conv_1x1: 'conv 1×1',
  nor_conv_3x3: 'conv 3×3',
  avg_pool_3x3: 'avg pool 3×3',
  max_pool_3x3: 'max pool 3×3',
  sep_conv_3x3: 'sep 3×3',
  sep_conv_5x5: 'sep 5×5',
  dil_conv_3x3: 'dil 3×3',
  dil_conv_5x5: 'dil 5×5',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** NB201 edge order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2 as [to, from]. */
const NB201_EDGES: readonly (readonly [number, number])[] = [
  [1, 0],
  [2, 0],
  [2, 1],
  [3, 0],
  [3, 1],
  [3, 2],
];

export function parseNb201String(str: string): string[] | null {
  const m = str.match(/[a-z_0-9]+~\d/g);
  if (!m || m.length !== 6) return null;
  return m.map((t) => t.split('~')[0]!);
}

export function drawArch(arch: unknown): SVGSVGElement | null {
  if (isObj(arch) && 'arch' in arch && isObj(arch['arch'])) return drawArch(arch['arch']);
  if (typeof arch === 'string') {
    const ops = parseNb201String(arch);
    return ops ? nb201(ops) : null;
  }
  if (!isObj(arch)) return null;
  const fam = arch['family'];
  if ((fam === 'nb201' || fam === undefined) && Array.isArray(arch['ops']) && arch['ops'].length === 6) return nb201(arch['ops'].map(String));
  if (fam === 'darts' && isObj(arch['normal']) && isObj(arch['reduce'])) return darts(arch['normal'], arch['reduce']);
  if (fam === 'chain_cnn' && Array.isArray(arch['layers'])) return chain(arch['layers'].filter(isObj), typeof arch['dropout'] === 'number' ? arch['dropout'] : null);
  if (fam === 'mlp' && Array.isArray(arch['hidden'])) return mlp(arch);
  return null;
}

function node(x: number, y: number, label: string, fill = '#fff'): SVGGElement {
  return s(
    'g',
    {},
    s('circle', { cx: x, cy: y, r: 18, fill, stroke: '#1d2330', 'stroke-width': 1.5 }),
    s('text', { x, y: y + 4.5, 'text-anchor': 'middle', style: 'font-size:13px;font-weight:600;fill:#1d2330' }, label),
  );
}

function marker(svg: SVGSVGElement): void {
  svg.append(
    s(
      'defs',
      {},
      ...Object.entries({ ...OP_COLORS, base: '#1d2330' }).map(([op, c]) =>
        s('marker', { id: `arrow-${op}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: c })),
      ),
    ),
  );
}

/** A curved, labelled edge from (x0,y0) to (x1,y1) bending by `bend` px (negative = up). */
function edge(x0: number, y0: number, x1: number, y1: number, bend: number, op: string): SVGGElement {
  const color = OP_COLORS[op] ?? '#475467';
  const mx = (x0 + x1) / 2;
  const my = (y0 + y1) / 2;
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len = Math.hypot(dx, dy) || 1;
  const nx = -dy / len;
  const ny = dx / len;
  const cx = mx + nx * bend;
  const cy = my + ny * bend;
  // Shorten the ends so arrows stop at the node circles (r = 18).
  const a0 = Math.atan2(cy - y0, cx - x0);
  const a1 = Math.atan2(cy - y1, cx - x1);
  const sx = x0 + Math.cos(a0) * 19;
  const sy = y0 + Math.sin(a0) * 19;
  const ex = x1 + Math.cos(a1) * 19;
  const ey = y1 + Math.sin(a1) * 19;
  const lx = 0.25 * sx + 0.5 * cx + 0.25 * ex;
  const ly = 0.25 * sy + 0.5 * cy + 0.25 * ey;
  const label = OP_SHORT[op] ?? op;
  const w = label.length * 6.6 + 10;
  const dashed = op === 'none';
  return s(
    'g',
    { class: 'edge', 'data-op': op },
    s('path', {
      d: `M${sx},${sy} Q${cx},${cy} ${ex},${ey}`,
      fill: 'none',
      stroke: color,
      'stroke-width': dashed ? 1.2 : 2.2,
      'stroke-dasharray': dashed ? '4 4' : null,
      'marker-end': `url(#arrow-${OP_COLORS[op] ? op : 'base'})`,
    }),
    s('rect', { x: lx - w / 2, y: ly - 9, width: w, height: 18, rx: 4, fill: '#fff', stroke: color, 'stroke-width': 1 }),
    s('text', { x: lx, y: ly + 4, 'text-anchor': 'middle', style: `font-size:11px;fill:${dashed ? '#98a2b3' : '#1d2330'}` }, label),
  );
}

function nb201(ops: string[]): SVGSVGElement {
  const W = 640;
  const H = 250;
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'arch-graph', 'data-family': 'nb201' });
  marker(svg);
  const xs = [50, 230, 410, 590];
  const y = 150;
  const bends: Record<string, number> = { '1,0': 0, '2,1': 0, '3,2': 0, '2,0': -70, '3,1': -70, '3,0': 105 };
  NB201_EDGES.forEach(([to, from], i) => {
    svg.append(edge(xs[from]!, y, xs[to]!, y, bends[`${to},${from}`] ?? 0, ops[i] ?? '?'));
  });
  xs.forEach((x, i) => svg.append(node(x, y, String(i), i === 0 ? '#eef3fd' : i === 3 ? '#eafaf2' : '#fff')));
  svg.append(s('text', { x: 50, y: y + 36, 'text-anchor': 'middle', style: 'font-size:11px;fill:#667085' }, 'input'));
  svg.append(s('text', { x: 590, y: y + 36, 'text-anchor': 'middle', style: 'font-size:11px;fill:#667085' }, 'output'));
  return svg;
}

function darts(normal: Obj, reduce: Obj): SVGSVGElement {
  const W = 660;
  const cellH = 250;
  const svg = s('svg', { width: W, height: cellH * 2 + 10, viewBox: `0 0 ${W} ${cellH * 2 + 10}`, class: 'arch-graph', 'data-family': 'darts' });
  marker(svg);
  [normal, reduce].forEach((cell, ci) => {
    const oy = ci * (cellH + 10);
    svg.append(s('text', { x: 8, y: oy + 16, style: 'font-size:12px;font-weight:600;fill:#475467' }, ci === 0 ? 'normal cell' : 'reduction cell'));
    // inputs on the left, the four intermediate nodes as a staircase, the output on the right
    const pos: [number, number][] = [
      [40, oy + 60],
      [40, oy + 200],
      [180, oy + 130],
      [300, oy + 50],
      [420, oy + 210],
      [530, oy + 120],
    ];
    const out: [number, number] = [625, oy + 130];
    for (let n = 2; n < 6; n++) {
      const [x, y] = pos[n]!;
      svg.append(s('line', { x1: x, y1: y, x2: out[0], y2: out[1], stroke: '#d0d5dd', 'stroke-width': 1, 'stroke-dasharray': '2 3' }));
    }
    const edges = Array.isArray(cell['edges']) ? cell['edges'].filter(isObj) : [];
    edges.forEach((e, i) => {
      const to = 2 + Math.floor(i / 2);
      const from = typeof e['input'] === 'number' ? e['input'] : 0;
      const a = pos[from];
      const b = pos[to];
      if (!a || !b) return;
      const dist = Math.hypot(b[0] - a[0], b[1] - a[1]);
      // The two inputs of a node bend opposite ways so their labels do not sit on each other.
      svg.append(edge(a[0], a[1], b[0], b[1], (i % 2 === 0 ? -1 : 1) * (14 + 0.12 * dist), String(e['op'])));
    });
    const labels = ['k−2', 'k−1', '0', '1', '2', '3'];
    pos.forEach(([x, y], i) => svg.append(node(x, y, labels[i]!, i < 2 ? '#eef3fd' : '#fff')));
    svg.append(node(out[0], out[1], 'out', '#eafaf2'));
  });
  return svg;
}

function box(x: number, y: number, w: number, h: number, lines: string[], fill: string): SVGGElement {
  return s(
    'g',
    { class: 'layer' },
    s('rect', { x, y, width: w, height: h, rx: 6, fill, stroke: '#475467', 'stroke-width': 1 }),
    ...lines.map((l, i) => s('text', { x: x + w / 2, y: y + 20 + i * 15, 'text-anchor': 'middle', style: `font-size:${i === 0 ? 12 : 11}px;${i === 0 ? 'font-weight:600;' : ''}fill:#1d2330` }, l)),
  );
}

function strip(items: { lines: string[]; fill: string }[], family: string): SVGSVGElement {
  const bw = 104;
  const gap = 22;
  const W = Math.max(640, items.length * (bw + gap) + 10);
  const bh = 16 + 15 * Math.max(...items.map((it) => it.lines.filter(Boolean).length));
  const H = bh + 30;
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'arch-graph', 'data-family': family });
  marker(svg);
  items.forEach((it, i) => {
    const x = 5 + i * (bw + gap);
    svg.append(box(x, 15, bw, bh, it.lines.filter(Boolean), it.fill));
    if (i > 0) svg.append(s('line', { x1: x - gap + 1, y1: 15 + bh / 2, x2: x - 1, y2: 15 + bh / 2, stroke: '#1d2330', 'stroke-width': 1.5, 'marker-end': 'url(#arrow-base)' }));
  });
  return svg;
}

function chain(layers: Obj[], dropout: number | null): SVGSVGElement {
  const items = [{ lines: ['input'], fill: '#eef3fd' }];
  for (const l of layers) {
    const lines = [`conv ${String(l['kernel'])}×${String(l['kernel'])}`, `${String(l['channels'])} ch · ${String(l['activation'])}`];
    // A pooling layer ignores `skip` (ChainLayer.skip; the space's canonical form sets it false):
    // drawn only where the residual is built, as the cost model and the builder do.
    const pooled = Number(l['pool']) > 1;
    const extra = [l['batchNorm'] ? 'BN' : '', pooled ? `pool ${String(l['pool'])}` : '', l['skip'] && !pooled ? 'skip' : ''].filter(Boolean).join(' · ');
    if (extra) lines.push(extra);
    items.push({ lines, fill: '#fff' });
  }
  items.push({ lines: ['GAP → linear', dropout !== null ? `dropout ${round2(dropout)}` : ''], fill: '#eafaf2' });
  return strip(items, 'chain_cnn');
}

function mlp(arch: Obj): SVGSVGElement {
  const hidden = (arch['hidden'] as unknown[]).map(Number);
  const items = [{ lines: ['input'], fill: '#eef3fd' }];
  for (const n of hidden) items.push({ lines: [`dense ${n}`, String(arch['activation'] ?? ''), arch['batchNorm'] ? 'BN' : ''], fill: '#fff' });
  items.push({ lines: ['linear out', `dropout ${round2(Number(arch['dropout'] ?? 0))}`], fill: '#eafaf2' });
  return strip(items, 'mlp');
}

function round2(v: number): string {
  return String(Math.round(v * 100) / 100);
}
