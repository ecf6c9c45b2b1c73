/**
 * Architecture analysis (pure, allocates no tensors): shape inference, parameter count, MACs/FLOPs
 * per layer and an activation-memory estimate for every network family the builder makes, from the
 * architecture alone. The builder runs it before allocating anything, so an architecture that
 * cannot fit its input is rejected with a `shape_mismatch` naming the layer. It lives beside the
 * builder because nn must not import eval; src/eval/cost.ts is the cost model's public face.
 *
 * Counting conventions (per sample, inference):
 *   conv      MACs = Hout*Wout*Cout*(Cin/groups)*k*k; FLOPs = 2*MACs (+ Hout*Wout*Cout with a bias)
 *   linear    MACs = in*out;                          FLOPs = 2*MACs (+ out with a bias)
 *   max pool  FLOPs = comparisons = sum over outputs of (window elements - 1)
 *   avg pool  FLOPs = sum over outputs of window elements actually averaged ((n-1) adds + 1 divide);
 *             exact at the borders for count_include_pad=False
 *   global average pool  FLOPs = C*H*W
 *   batch norm  FLOPs = 2 per element (folded scale and shift); params = 2*C (running stats are buffers)
 *   activation  FLOPs = 1 per element;  residual/node sums: 1 per element per addition
 *   dropout, flatten, identity, `none`: 0
 * Parameters are exactly those of the built module (`parameters()`), e.g. convs followed by batch
 * norm have no bias. `memory_bytes` is the peak of float32 activations alive at once during one
 * forward pass at batch size 1 (inputs kept for later sums included), not counting weights.
 */
import { ACTIVATIONS, DARTS_OPS, NB201_OPS, type ChainCnnArch, type DartsArch, type DartsCell, type DartsOp, type MlpArch, type Nb201Arch, type NetworkArch } from '../../core/arch.js';
import { NasError, assertNever } from '../../core/errors.js';
import { checkNetworkArchFields } from '../../core/arch-check.js';
import { Issues } from '../../core/issues.js';

export interface InputSpec {
  /** Per-sample input shape: `[C, H, W]` for images, `[F]` for tabular data. */
  readonly shape: readonly number[];
  readonly numClasses: number;
}

/** Width and depth of the NAS-Bench-201 macro skeleton (the benchmark uses C=16, N=5). */
export interface Nb201Options {
  readonly width?: number;
  readonly cells?: number;
}
export const NB201_DEFAULTS = { width: 16, cells: 5 } as const;

/** Width (channels of the first cells) and number of cells of the DARTS network (reductions at 1/3 and 2/3). */
export interface DartsOptions {
  readonly width?: number;
  readonly layers?: number;
}
/** The DARTS search-phase proxy size (the paper's final CIFAR network is width 36, 20 layers). */
export const DARTS_DEFAULTS = { width: 16, layers: 8 } as const;

export interface LayerCost {
  /** Dotted path of the layer, e.g. `layers[2].conv`, `stages[1].cells[0].edges[3]`, `head.linear`. */
  readonly name: string;
  readonly kind: string;
  readonly outShape: readonly number[];
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
}

export interface CostReport {
  readonly family: NetworkArch['family'];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
  /** Peak float32 activation bytes at batch size 1 (see the module comment). */
  readonly peakActivationBytes: number;
  readonly layers: readonly LayerCost[];
  /**
   * Per-sample shape of the tensor the classifier head receives: the last feature map [C, H, W]
   * (chain_cnn, nb201, darts) or the last hidden width [n] (mlp). buildNetwork sizes layers that
   * depend on it (the chain CNN's flatten head) from here, so the module and the analysis agree.
   * Optional only for reports not made by analyzeArch.
   */
  readonly featureShape?: readonly number[];
}

type Shape = readonly number[];
const numel = (s: Shape) => s.reduce((a, b) => a * b, 1);

function mismatch(field: string, reason: string, hint?: string): NasError {
  return new NasError('shape_mismatch', reason, { field, ...(hint ? { hint } : {}) });
}

function badArch(field: string, reason: string): NasError {
  return new NasError('invalid_arch', reason, { field });
}

function posInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw badArch(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Accumulates layer costs and tracks live activations for the memory estimate. */
class Tally {
  readonly layers: LayerCost[] = [];
  peak = 0;
  /** The head's input shape (CostReport.featureShape); set by each family before its head. */
  feature: Shape = [];

  add(name: string, kind: string, outShape: Shape, params: number, macs: number, flops: number): void {
    this.layers.push({ name, kind, outShape: [...outShape], params, macs, flops });
  }
  /** Records that `elements` float32 values are alive at once at some point. */
  live(elements: number): void {
    if (elements * 4 > this.peak) this.peak = elements * 4;
  }
}

/** Output size of a conv/pool along one dimension. */
export function convOut(size: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Number of in-bounds input elements summed over all output positions of a 1-d window sweep. */
function validWindowSum(size: number, k: number, stride: number, pad: number): number {
  const out = convOut(size, k, stride, pad);
  let s = 0;
  for (let o = 0; o < out; o++) {
    const lo = o * stride - pad;
    s += Math.min(size, lo + k) - Math.max(0, lo);
  }
  return s;
}

function conv(t: Tally, name: string, x: Shape, cout: number, k: number, stride: number, pad: number, bias: boolean, groups = 1, dilation = 1): Shape {
  const [cin, h, w] = x as [number, number, number];
  const ho = convOut(h, k, stride, pad, dilation);
  const wo = convOut(w, k, stride, pad, dilation);
  if (ho < 1 || wo < 1)
    throw mismatch(name, `a ${k}x${k} conv (stride ${stride}, padding ${pad}) on a ${h}x${w} input leaves ${ho}x${wo}`);
  const out = [cout, ho, wo];
  const macs = ho * wo * cout * (cin / groups) * k * k;
  const params = cout * (cin / groups) * k * k + (bias ? cout : 0);
  t.add(name, `conv${k}x${k}`, out, params, macs, 2 * macs + (bias ? ho * wo * cout : 0));
  t.live(numel(x) + numel(out));
  return out;
}

function bn(t: Tally, name: string, x: Shape): Shape {
  t.add(name, 'batchnorm', x, 2 * (x[0] as number), 0, 2 * numel(x));
  return x;
}

function act(t: Tally, name: string, kind: string, x: Shape): Shape {
  t.add(name, kind, x, 0, 0, numel(x));
  return x;
}

function pool(t: Tally, name: string, kind: 'maxpool' | 'avgpool', x: Shape, k: number, stride: number, pad: number, hint?: string): Shape {
  const [c, h, w] = x as [number, number, number];
  const ho = convOut(h, k, stride, pad);
  const wo = convOut(w, k, stride, pad);
  if (ho < 1 || wo < 1) throw mismatch(name, `${kind === 'maxpool' ? 'max' : 'average'}-pool window ${k} (stride ${stride}) on a ${h}x${w} input leaves ${Math.max(ho, 0)}x${Math.max(wo, 0)}`, hint);
  const out = [c, ho, wo];
  const elems = c * validWindowSum(h, k, stride, pad) * validWindowSum(w, k, stride, pad);
  t.add(name, `${kind}${k}x${k}`, out, 0, 0, kind === 'maxpool' ? elems - c * ho * wo : elems);
  t.live(numel(x) + numel(out));
  return out;
}

function gap(t: Tally, name: string, x: Shape): Shape {
  t.add(name, 'global_avg_pool', [x[0] as number], 0, 0, numel(x));
  return [x[0] as number];
}

function linear(t: Tally, name: string, x: Shape, out: number, bias = true): Shape {
  const n = numel(x);
  t.add(name, 'linear', [out], n * out + (bias ? out : 0), n * out, 2 * n * out + (bias ? out : 0));
  t.live(n + out);
  return [out];
}

function imageInput(input: InputSpec, family: string): Shape {
  if (input.shape.length !== 3)
    throw mismatch('input', `the ${family} network needs image input [C, H, W], got [${input.shape.join(', ')}]`, 'use an image dataset, or the mlp family for tabular data');
  return input.shape;
}

function checkInput(input: InputSpec): void {
  input.shape.forEach((v, i) => posInt(v, `input.shape[${i}]`));
  if (!Number.isInteger(input.numClasses) || input.numClasses < 2)
    throw new NasError('invalid_config', `numClasses must be an integer >= 2, got ${input.numClasses}`, { field: 'input.numClasses' });
}

function chainCnn(arch: ChainCnnArch, input: InputSpec, t: Tally): Shape {
  let x = imageInput(input, 'chain_cnn');
  t.live(numel(x));
  if (!Array.isArray(arch.layers)) throw badArch('layers', 'must be an array');
  arch.layers.forEach((l, i) => {
    const p = `layers[${i}]`;
    if (![3, 5, 7].includes(l.kernel)) throw badArch(`${p}.kernel`, `must be 3, 5 or 7, got ${JSON.stringify(l.kernel)}`);
    if (![1, 2, 3, 5].includes(l.pool)) throw badArch(`${p}.pool`, `must be 1, 2, 3 or 5, got ${JSON.stringify(l.pool)}`);
    if (!ACTIVATIONS.includes(l.activation)) throw badArch(`${p}.activation`, `must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(l.activation)}`);
    const cout = posInt(l.channels, `${p}.channels`);
    const input = x;
    x = conv(t, `${p}.conv`, x, cout, l.kernel, 1, l.kernel >> 1, !l.batchNorm);
    if (l.batchNorm) x = bn(t, `${p}.bn`, x);
    x = act(t, `${p}.act`, l.activation, x);
    if (l.skip && l.pool === 1) {
      // Input and output are both alive for the sum (and the projection's output when there is one).
      if ((input[0] as number) !== cout) conv(t, `${p}.skip`, input, cout, 1, 1, 0, false);
      t.add(`${p}.add`, 'add', x, 0, 0, numel(x));
      t.live(numel(input) + 2 * numel(x));
    }
    if (l.pool > 1) x = pool(t, `${p}.pool`, 'maxpool', x, l.pool, l.pool, 0, 'use a smaller pool window, fewer pooling layers or a larger input');
  });
  t.feature = x;
  const head = arch.head ?? { kind: 'gap' as const };
  switch (head.kind) {
    case 'gap':
      x = gap(t, 'head.gap', x);
      return linear(t, 'head.linear', x, input.numClasses);
    case 'flatten': {
      if (!Number.isInteger(head.hidden) || head.hidden < 0) throw badArch('head.hidden', `must be an integer >= 0, got ${JSON.stringify(head.hidden)}`);
      x = [numel(x)];
      if (head.hidden > 0) x = act(t, 'head.hidden.act', 'relu', linear(t, 'head.hidden', x, head.hidden));
      return linear(t, 'head.linear', x, input.numClasses);
    }
    default:
      throw badArch('head.kind', `must be 'gap' or 'flatten', got ${JSON.stringify((head as { kind: unknown }).kind)}`);
  }
}

function mlp(arch: MlpArch, input: InputSpec, t: Tally): Shape {
  let x: Shape = [numel(input.shape)];
  t.live(numel(x));
  if (!ACTIVATIONS.includes(arch.activation)) throw badArch('activation', `must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(arch.activation)}`);
  arch.hidden.forEach((h, i) => {
    const p = `hidden[${i}]`;
    x = linear(t, `${p}.linear`, x, posInt(h, p));
    if (arch.batchNorm) x = bn(t, `${p}.bn`, x);
    x = act(t, `${p}.act`, arch.activation, x);
  });
  t.feature = x;
  return linear(t, 'head.linear', x, input.numClasses);
}

/** ReLU -> conv(k, stride, pad, no bias) -> BN, as one record (the NB201/DARTS op unit). */
function reluConvBn(t: Tally, name: string, kind: string, x: Shape, cout: number, k: number, stride: number, pad: number): Shape {
  const sub = new Tally();
  act(sub, 'relu', 'relu', x);
  let y = conv(sub, 'conv', x, cout, k, stride, pad, false);
  y = bn(sub, 'bn', y);
  const sum = (f: (l: LayerCost) => number) => sub.layers.reduce((a, l) => a + f(l), 0);
  t.add(name, kind, y, sum((l) => l.params), sum((l) => l.macs), sum((l) => l.flops));
  t.live(numel(x) + numel(y));
  return y;
}

/**
 * One NB201 cell on `x` ([C,H,W], C = cell width; the output has the same shape). Node k (1..3)
 * sums its edges from nodes 0..k-1, edges in the arch string's order; `none` edges are left out
 * (zero FLOPs, no term in the sum), every other op runs.
 */
function nb201Cell(t: Tally, name: string, arch: Nb201Arch, x: Shape): void {
  const e = numel(x);
  let edge = 0;
  let livePeak = e;
  for (let k = 1; k <= 3; k++) {
    let terms = 0;
    for (let j = 0; j < k; j++, edge++) {
      const op = arch.ops[edge] as Nb201Arch['ops'][number];
      if (op === 'none') continue;
      countOp(t, `${name}.edges[${edge}]`, op, x);
      terms++;
    }
    if (terms > 1) t.add(`${name}.nodes[${k}].sum`, 'add', x, 0, 0, (terms - 1) * e);
    // nodes 0..k-1 are kept for later edges, plus node k's accumulator and one op output in flight
    livePeak = Math.max(livePeak, (k + 2) * e);
  }
  t.live(livePeak);
}

function countOp(t: Tally, name: string, op: Exclude<Nb201Arch['ops'][number], 'none'>, x: Shape): void {
  const c = x[0] as number;
  switch (op) {
    case 'skip_connect':
      t.add(name, op, x, 0, 0, 0);
      return;
    case 'nor_conv_1x1':
      reluConvBn(t, name, op, x, c, 1, 1, 0);
      return;
    case 'nor_conv_3x3':
      reluConvBn(t, name, op, x, c, 3, 1, 1);
      return;
    case 'avg_pool_3x3':
      pool(t, name, 'avgpool', x, 3, 1, 1);
      t.layers[t.layers.length - 1] = { ...t.layers[t.layers.length - 1]!, kind: op };
      return;
    default:
      assertNever(op, 'nb201 op');
  }
}

function nb201(arch: Nb201Arch, input: InputSpec, t: Tally, opts: Nb201Options): Shape {
  const C = posInt(opts.width ?? NB201_DEFAULTS.width, 'nb201.width');
  const N = posInt(opts.cells ?? NB201_DEFAULTS.cells, 'nb201.cells');
  if (!Array.isArray(arch.ops) || arch.ops.length !== 6) throw badArch('ops', `an NB201 cell has 6 edges, got ${Array.isArray(arch.ops) ? arch.ops.length : JSON.stringify(arch.ops)}`);
  arch.ops.forEach((op, i) => {
    if (!NB201_OPS.includes(op)) throw badArch(`ops[${i}]`, `unknown op ${JSON.stringify(op)}; use one of ${NB201_OPS.join(', ')}`);
  });
  let x = imageInput(input, 'nb201');
  t.live(numel(x));
  x = conv(t, 'stem.conv', x, C, 3, 1, 1, false);
  x = bn(t, 'stem.bn', x);
  [C, 2 * C, 4 * C].forEach((c, s) => {
    if (s > 0) {
      const p = `stages[${s}].reduction`;
      const [ci, h, w] = x as [number, number, number];
      if (h % 2 !== 0 || w % 2 !== 0 || h < 2 || w < 2)
        throw mismatch(p, `the stride-2 reduction block needs an even spatial size, got ${h}x${w}`, 'use an input whose height and width are divisible by 4');
      const a = reluConvBn(t, `${p}.a`, 'relu_conv_bn', x, c, 3, 2, 1);
      reluConvBn(t, `${p}.b`, 'relu_conv_bn', a, c, 3, 1, 1);
      const d = pool(t, `${p}.down.pool`, 'avgpool', x, 2, 2, 0);
      conv(t, `${p}.down.conv`, d, c, 1, 1, 0, false);
      t.add(`${p}.add`, 'add', a, 0, 0, numel(a));
      t.live(numel(x) + 2 * numel(a));
      x = [c, h / 2, w / 2];
      void ci;
    }
    for (let j = 0; j < N; j++) nb201Cell(t, `stages[${s}].cells[${j}]`, arch, x);
  });
  t.feature = x;
  x = bn(t, 'head.bn', x);
  x = act(t, 'head.relu', 'relu', x);
  x = gap(t, 'head.gap', x);
  return linear(t, 'head.linear', x, input.numClasses);
}

/** Sums sub-layer costs into one record (an op unit such as a separable conv). */
function unit(t: Tally, name: string, kind: string, x: Shape, body: (sub: Tally) => Shape): Shape {
  const sub = new Tally();
  const y = body(sub);
  const sum = (f: (l: LayerCost) => number) => sub.layers.reduce((a, l) => a + f(l), 0);
  t.add(name, kind, y, sum((l) => l.params), sum((l) => l.macs), sum((l) => l.flops));
  t.live(Math.max(sub.peak / 4, numel(x) + numel(y)));
  return y;
}

/** DARTS FactorizedReduce: ReLU -> two 1x1 stride-2 convs (one shifted by a pixel) -> concat -> BN. */
function factorizedReduce(t: Tally, name: string, x: Shape, cout: number): Shape {
  const [, h, w] = x as [number, number, number];
  if (cout % 2 !== 0) throw mismatch(name, `factorized reduce needs an even channel count, got ${cout}`);
  if (h % 2 !== 0 || w % 2 !== 0)
    throw mismatch(name, `a stride-2 factorized reduction needs an even spatial size, got ${h}x${w}`, 'use an input whose height and width are divisible by 4');
  return unit(t, name, 'factorized_reduce', x, (sub) => {
    act(sub, 'relu', 'relu', x);
    const a = conv(sub, 'conv1', x, cout / 2, 1, 2, 0, false);
    conv(sub, 'conv2', [x[0] as number, h - 1, w - 1], cout / 2, 1, 2, 0, false);
    return bn(sub, 'bn', [cout, a[1] as number, a[2] as number]);
  });
}

function dartsOp(t: Tally, name: string, op: DartsOp, x: Shape, stride: number): Shape {
  const c = x[0] as number;
  switch (op) {
    case 'none': {
      const y = [c, Math.ceil((x[1] as number) / stride), Math.ceil((x[2] as number) / stride)];
      t.add(name, op, y, 0, 0, 0);
      return y;
    }
    case 'skip_connect':
      if (stride === 1) {
        t.add(name, op, x, 0, 0, 0);
        return x;
      }
      return factorizedReduce(t, name, x, c);
    case 'max_pool_3x3':
    case 'avg_pool_3x3': {
      const y = pool(t, name, op === 'max_pool_3x3' ? 'maxpool' : 'avgpool', x, 3, stride, 1);
      t.layers[t.layers.length - 1] = { ...t.layers[t.layers.length - 1]!, kind: op };
      return y;
    }
    case 'sep_conv_3x3':
    case 'sep_conv_5x5': {
      const k = op === 'sep_conv_3x3' ? 3 : 5;
      return unit(t, name, op, x, (sub) => {
        act(sub, 'relu1', 'relu', x);
        let y = conv(sub, 'dw1', x, c, k, stride, k >> 1, false, c);
        y = conv(sub, 'pw1', y, c, 1, 1, 0, false);
        y = bn(sub, 'bn1', y);
        act(sub, 'relu2', 'relu', y);
        y = conv(sub, 'dw2', y, c, k, 1, k >> 1, false, c);
        y = conv(sub, 'pw2', y, c, 1, 1, 0, false);
        return bn(sub, 'bn2', y);
      });
    }
    case 'dil_conv_3x3':
    case 'dil_conv_5x5': {
      const k = op === 'dil_conv_3x3' ? 3 : 5;
      return unit(t, name, op, x, (sub) => {
        act(sub, 'relu', 'relu', x);
        let y = conv(sub, 'dw', x, c, k, stride, k - 1, false, c, 2);
        y = conv(sub, 'pw', y, c, 1, 1, 0, false);
        return bn(sub, 'bn', y);
      });
    }
    default:
      return assertNever(op, 'darts op');
  }
}

function checkDartsCell(cell: DartsCell, field: string): void {
  if (!cell || !Array.isArray(cell.edges) || cell.edges.length !== 8)
    throw badArch(`${field}.edges`, `a DARTS cell has 8 edges (2 per intermediate node), got ${Array.isArray(cell?.edges) ? cell.edges.length : JSON.stringify(cell?.edges)}`);
  cell.edges.forEach((e, i) => {
    if (!DARTS_OPS.includes(e.op)) throw badArch(`${field}.edges[${i}].op`, `unknown op ${JSON.stringify(e.op)}; use one of ${DARTS_OPS.join(', ')}`);
    const node = i >> 1;
    if (!Number.isInteger(e.input) || e.input < 0 || e.input > node + 1)
      throw badArch(`${field}.edges[${i}].input`, `node ${node + 2} can take inputs 0..${node + 1} (0, 1: the previous cells), got ${JSON.stringify(e.input)}`);
  });
}

/**
 * The DARTS evaluation network (Liu et al. 2019, NetworkCIFAR without auxiliary head and drop
 * path): stem conv3x3(3C)+BN; `layers` cells, reduction cells (doubling channels) at layers/3 and
 * 2*layers/3; each cell preprocesses its two inputs (ReLU-conv1x1-BN, or FactorizedReduce after a
 * reduction), sums two ops per node (stride 2 on the cell inputs in a reduction cell) and
 * concatenates its 4 nodes; then global average pool -> linear.
 */
function darts(arch: DartsArch, input: InputSpec, t: Tally, opts: DartsOptions): Shape {
  const C = posInt(opts.width ?? DARTS_DEFAULTS.width, 'darts.width');
  const L = posInt(opts.layers ?? DARTS_DEFAULTS.layers, 'darts.layers');
  checkDartsCell(arch.normal, 'normal');
  checkDartsCell(arch.reduce, 'reduce');
  let x = imageInput(input, 'darts');
  t.live(numel(x));
  x = conv(t, 'stem.conv', x, 3 * C, 3, 1, 1, false);
  x = bn(t, 'stem.bn', x);
  let s0 = x;
  let s1 = x;
  let cur = C;
  let reductionPrev = false;
  const reductions = new Set([Math.floor(L / 3), Math.floor((2 * L) / 3)]);
  for (let i = 0; i < L; i++) {
    const reduction = reductions.has(i);
    if (reduction) cur *= 2;
    const cell = reduction ? arch.reduce : arch.normal;
    const p = `cells[${i}]`;
    const p0 = reductionPrev ? factorizedReduce(t, `${p}.preprocess0`, s0, cur) : reluConvBn(t, `${p}.preprocess0`, 'relu_conv_bn', s0, cur, 1, 1, 0);
    const p1 = reluConvBn(t, `${p}.preprocess1`, 'relu_conv_bn', s1, cur, 1, 1, 0);
    if (p0[1] !== p1[1] || p0[2] !== p1[2]) throw mismatch(`${p}.preprocess0`, `the two cell inputs have different sizes ${p0[1]}x${p0[2]} and ${p1[1]}x${p1[2]}`);
    const states: Shape[] = [p0, p1];
    let alive = numel(p0) + numel(p1);
    for (let k = 0; k < 4; k++) {
      const outs = [0, 1].map((j) => {
        const e = cell.edges[2 * k + j]!;
        const stride = reduction && e.input < 2 ? 2 : 1;
        return dartsOp(t, `${p}.edges[${2 * k + j}]`, e.op, states[e.input]!, stride);
      });
      const [a, b] = outs as [Shape, Shape];
      if (a.some((v, d) => v !== b[d])) throw mismatch(`${p}.nodes[${k + 2}]`, `its two inputs have shapes [${a.join(', ')}] and [${b.join(', ')}]`);
      t.add(`${p}.nodes[${k + 2}].sum`, 'add', a, 0, 0, numel(a));
      alive += numel(a);
      t.live(alive + numel(a));
      states.push(a);
    }
    const node = states[2]!;
    const out = [4 * cur, node[1] as number, node[2] as number];
    t.live(alive + numel(out));
    s0 = s1;
    s1 = out;
    reductionPrev = reduction;
  }
  t.feature = s1;
  x = gap(t, 'head.gap', s1);
  return linear(t, 'head.linear', x, input.numClasses);
}

export interface CostOptions {
  readonly nb201?: Nb201Options;
  readonly darts?: DartsOptions;
}

/**
 * Infers shapes and counts costs. Throws `shape_mismatch` (field = the layer) when the
 * architecture cannot run on `input`, `invalid_arch` when it is malformed: every malformed field
 * at once (src/core/arch-check.ts, the check a file read by the CLI gets), so a programmatic
 * caller (analyzeArch, buildNetwork) learns all problems of an untyped object in one error, not
 * the first one per call.
 */
export function analyzeArch(arch: NetworkArch, input: InputSpec, opts: CostOptions = {}): CostReport {
  const issues = new Issues();
  checkNetworkArchFields(arch, '', issues);
  issues.throwIfAny('the architecture');
  checkInput(input);
  const t = new Tally();
  let out: Shape;
  switch (arch.family) {
    case 'chain_cnn':
      out = chainCnn(arch, input, t);
      break;
    case 'mlp':
      out = mlp(arch, input, t);
      break;
    case 'nb201':
      out = nb201(arch, input, t, opts.nb201 ?? {});
      break;
    case 'darts':
      out = darts(arch, input, t, opts.darts ?? {});
      break;
    default:
      return assertNever(arch, 'network family');
  }
  const sum = (f: (l: LayerCost) => number) => t.layers.reduce((a, l) => a + f(l), 0);
  return {
    family: arch.family,
    inputShape: [...input.shape],
    outputShape: out,
    params: sum((l) => l.params),
    macs: sum((l) => l.macs),
    flops: sum((l) => l.flops),
    peakActivationBytes: t.peak,
    layers: t.layers,
    featureShape: [...t.feature],
  };
}
