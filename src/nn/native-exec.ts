/**
 * Native execution of built networks: `compileNative(module)` lowers a module tree (the standard
 * layers, Sequential, and the networks of src/nn/build: chain CNN, NAS-Bench-201, DARTS, MLP,
 * lenet) to a register program run by native/src/graph.cc in one N-API call per forward pass,
 * per training step (forward, cross-entropy, backward, optional clipping, the optimizer's update,
 * the accuracy count) or per evaluation batch (inference mode, conv+BN folded).
 *
 * The program's parameters and buffers are the module's own tensors (the same libtorch tensors
 * TypeScript holds), so optimizers, state dicts, ONNX export, pruning and quantization keep working
 * on them and see every update; the module itself and its op-by-op `forward` stay as they are. A
 * module the lowering does not know makes `compileNative` return undefined with a one-line notice,
 * and callers keep using the op-by-op path (never a wrong result).
 *
 * Rewrites on the program (all exact up to float rounding; tests compare values and gradients with
 * the op-by-op path): identical pure ops on the same register are computed once (e.g. the ReLU that
 * starts every ReLU-Conv-BN edge leaving one NB201 node); 1x1/3x3 convolutions without bias that
 * read the same register, each followed only by its batch norm, run as one convolution over the
 * concatenated weights and one batch norm over the concatenated channels (`fuseConvs`); optionally
 * max pooling runs before the ReLU that feeds it (`poolFirst`: bitwise the same values and
 * gradients, a quarter of the activation work, but measured slower, so off by default); ReLU and
 * sums run in place on tensors nothing else reads and autograd does not save.
 *
 * Errors inside a native call are NasErrors like the op-by-op path's (code `shape_mismatch` or
 * `native_error`, the op and its input shapes) that also name the layer: its dotted module path
 * (`net.3.ops.1.1`) and class; details carry {op, layer, module, inputs, libtorch}.
 */
import { NasError } from '../core/errors.js';
import { Tensor } from '../tensor/index.js';
import { native, type GraphHandle, type GraphInstr, type Handle } from '../tensor/native.js';
import {
  ChainBlock,
  ChainCnnNet,
  DartsNet,
  DartsNetCell,
  FactorizedReduce,
  Nb201Cell,
  Nb201Net,
  Nb201ResBlock,
  Zero,
  ZeroStrided,
} from './build/index.js';
import { EDGE_FROM, EDGE_TO } from './build/nb201.js';
import {
  AdaptiveAvgPool2d,
  AdaptiveMaxPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  GELU,
  Hardswish,
  Identity,
  LayerNorm,
  LeakyReLU,
  Linear,
  LogSoftmax,
  MaxPool2d,
  ReLU,
  ReLU6,
  Sequential,
  SiLU,
  Sigmoid,
  Softmax,
  Tanh,
} from './layers.js';
import type { Layer, Module } from './module.js';
import type { Optimizer } from './optim.js';

/** Op codes of native/src/graph.cc (GraphOp); keep the orders identical. */
export const OP = {
  conv2d: 0, batchNorm: 1, linear: 2, act: 3, maxPool: 4, avgPool: 5, adaptiveAvg: 6, adaptiveMax: 7, flatten: 8,
  dropout: 9, zero: 10, slice: 11, add: 12, cat: 13, split: 14, layerNorm: 15,
} as const;
/** Activation codes of graph.cc (ActCode). */
const ACT = { relu: 0, relu6: 1, gelu: 2, silu: 3, tanh: 4, sigmoid: 5, hardswish: 6, leaky: 7, softmax: 8, logSoftmax: 9 } as const;

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Thrown inside the lowering for a module it cannot express. */
class Unsupported extends Error {
  constructor(readonly path: string, readonly cls: string) {
    super(`${cls} at ${path || '(root)'}`);
  }
}

/** Builds the register program; register 0 is the network input. */
class Builder {
  readonly code: GraphInstr[] = [];
  nregs = 1;
  /** Modules whose behaviour depends on `training` (batch norm, dropout). */
  readonly modal: Module<any, any>[] = [];

  emit(op: number, inputs: number[], layer: string, m: Module<any, any>, extra: Partial<GraphInstr> = {}, nOut = 1): number[] {
    const out = Array.from({ length: nOut }, () => this.nregs++);
    this.code.push({ op, in: inputs, out, layer, module: m.constructor.name, ...extra });
    return out;
  }
  one(op: number, input: number, layer: string, m: Module<any, any>, extra: Partial<GraphInstr> = {}): number {
    return this.emit(op, [input], layer, m, extra)[0]!;
  }
}

const h = (t: Tensor | undefined): Handle | undefined => t?.h;
const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);

function lowerConv(b: Builder, m: Conv2d, path: string, x: number): number {
  const [sh, sw] = pair(m.opts.stride), [ph, pw] = pair(m.opts.padding), [dh, dw] = pair(m.opts.dilation);
  return b.one(OP.conv2d, x, path, m, { t: [m.weight.h, h(m.bias)], i: [1, sh, sw, ph, pw, dh, dw, m.opts.groups] });
}

function lowerBn(b: Builder, m: BatchNorm1d | BatchNorm2d, path: string, x: number): number {
  b.modal.push(m);
  return b.one(OP.batchNorm, x, path, m, {
    t: [h(m.weight), h(m.bias), h(m.runningMean), h(m.runningVar), h(m.numBatchesTracked)],
    i: [1, ...m.dims],
    f: [m.momentum, m.eps],
  });
}

/**
 * The classes the lowering knows, matched exactly: a subclass may override forward(), so it is
 * "unknown" (op-by-op fallback), never lowered as its parent.
 */
const KNOWN = new Set<unknown>([
  Sequential, Conv2d, BatchNorm1d, BatchNorm2d, Linear, ReLU, ReLU6, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, Hardswish, Softmax,
  LogSoftmax, Identity, Flatten, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Dropout, LayerNorm, Zero, ZeroStrided,
  ChainCnnNet, ChainBlock, Nb201Net, Nb201ResBlock, Nb201Cell, DartsNet, DartsNetCell, FactorizedReduce,
]);

/** Lowers one module applied to register(s) `xs`; returns its output register. */
function lower(b: Builder, m: Module<any, any>, path: string, xs: number[]): number {
  const x = xs[0]!;
  if (!KNOWN.has(m.constructor)) throw new Unsupported(path, m.constructor.name);
  if (m instanceof Sequential) {
    let y = x;
    for (let i = 0; i < m.length; i++) y = lower(b, m.at(i), join(path, String(i)), [y]);
    return y;
  }
  if (m instanceof Conv2d) return lowerConv(b, m, path, x);
  if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) return lowerBn(b, m, path, x);
  if (m instanceof Linear) return b.one(OP.linear, x, path, m, { t: [m.weight.h, h(m.bias)] });
  if (m instanceof ReLU) return b.one(OP.act, x, path, m, { i: [ACT.relu, 0] });
  if (m instanceof ReLU6) return b.one(OP.act, x, path, m, { i: [ACT.relu6, 0] });
  if (m instanceof LeakyReLU) return b.one(OP.act, x, path, m, { i: [ACT.leaky, 0], f: [m.negativeSlope] });
  if (m instanceof GELU) return b.one(OP.act, x, path, m, { i: [ACT.gelu, 0] });
  if (m instanceof SiLU) return b.one(OP.act, x, path, m, { i: [ACT.silu, 0] });
  if (m instanceof Tanh) return b.one(OP.act, x, path, m, { i: [ACT.tanh, 0] });
  if (m instanceof Sigmoid) return b.one(OP.act, x, path, m, { i: [ACT.sigmoid, 0] });
  if (m instanceof Hardswish) return b.one(OP.act, x, path, m, { i: [ACT.hardswish, 0] });
  if (m instanceof Softmax) return b.one(OP.act, x, path, m, { i: [ACT.softmax, 0], f: [m.dim] });
  if (m instanceof LogSoftmax) return b.one(OP.act, x, path, m, { i: [ACT.logSoftmax, 0], f: [m.dim] });
  if (m instanceof Identity) return x;
  if (m instanceof Flatten) return b.one(OP.flatten, x, path, m, { i: [m.startDim, m.endDim] });
  if (m instanceof MaxPool2d) {
    const k = pair(m.kernelSize);
    const s = m.o.stride === undefined ? k : pair(m.o.stride);
    return b.one(OP.maxPool, x, path, m, { i: [...k, ...s, ...pair(m.o.padding ?? 0), ...pair(m.o.dilation ?? 1), m.o.ceilMode ? 1 : 0] });
  }
  if (m instanceof AvgPool2d) {
    const k = pair(m.kernelSize);
    const s = m.o.stride === undefined ? k : pair(m.o.stride);
    return b.one(OP.avgPool, x, path, m, { i: [...k, ...s, ...pair(m.o.padding ?? 0), m.o.ceilMode ? 1 : 0, m.o.countIncludePad ?? true ? 1 : 0] });
  }
  if (m instanceof AdaptiveAvgPool2d) return b.one(OP.adaptiveAvg, x, path, m, { i: pair(m.outputSize) });
  if (m instanceof AdaptiveMaxPool2d) return b.one(OP.adaptiveMax, x, path, m, { i: pair(m.outputSize) });
  if (m instanceof Dropout) {
    b.modal.push(m);
    return b.one(OP.dropout, x, path, m, { f: [m.p], gen: m.gen.handle });
  }
  if (m instanceof LayerNorm) return b.one(OP.layerNorm, x, path, m, { t: [h(m.weight), h(m.bias)], i: [...m.normalizedShape], f: [m.o.eps ?? 1e-5] });
  if (m instanceof Zero) return b.one(OP.zero, x, path, m, { i: [1] });
  if (m instanceof ZeroStrided) return b.one(OP.zero, x, path, m, { i: [m.stride] });
  // ------------------------------------------------------------ the networks of src/nn/build
  if (m instanceof ChainCnnNet) {
    let y = x;
    for (let i = 0; i < m.layers.length; i++) y = lower(b, m.layers.at(i), join(path, `layers.${i}`), [y]);
    return lower(b, m.head, join(path, 'head'), [y]);
  }
  if (m instanceof ChainBlock) {
    let y = lower(b, m.body, join(path, 'body'), [x]);
    if (m.residual) {
      const skip = m.proj ? lower(b, m.proj, join(path, 'proj'), [x]) : x;
      y = b.emit(OP.add, [y, skip], path, m, { i: [0] })[0]!;
    }
    return m.pool ? lower(b, m.pool, join(path, 'pool'), [y]) : y;
  }
  if (m instanceof Nb201Net) return lower(b, m.net, join(path, 'net'), [x]);
  if (m instanceof Nb201ResBlock) {
    const d = lower(b, m.down, join(path, 'down'), [x]);
    const r = lower(b, m.b, join(path, 'b'), [lower(b, m.a, join(path, 'a'), [x])]);
    return b.emit(OP.add, [d, r], path, m, { i: [0] })[0]!;
  }
  if (m instanceof Nb201Cell) {
    // Node k = the sum of its non-`none` edges in edge order (a node with only `none` edges is x*0), as Nb201Cell.forward.
    const nodes: number[] = [x];
    let terms: number[] = [];
    for (let e = 0; e < 6; e++) {
      const src = nodes[EDGE_FROM[e]!]!;
      if (m.arch.ops[e] !== 'none') terms.push(lower(b, m.ops.at(e), join(path, `ops.${e}`), [src]));
      if (e === 5 || EDGE_TO[e + 1] !== EDGE_TO[e]) {
        if (terms.length === 0) nodes.push(lower(b, m.ops.at(e), join(path, `ops.${e}`), [src]));
        else nodes.push(terms.length === 1 ? terms[0]! : b.emit(OP.add, terms, path, m, { i: [0] })[0]!);
        terms = [];
      }
    }
    return nodes[3]!;
  }
  if (m instanceof DartsNet) {
    let s0 = lower(b, m.stem, join(path, 'stem'), [x]);
    let s1 = s0;
    for (let i = 0; i < m.cells.length; i++) [s0, s1] = [s1, lower(b, m.cells.at(i), join(path, `cells.${i}`), [s0, s1])];
    const p = lower(b, m.pool, join(path, 'pool'), [s1]);
    const f = b.one(OP.flatten, p, path, m, { i: [1, -1] });
    return lower(b, m.classifier, join(path, 'classifier'), [f]);
  }
  if (m instanceof DartsNetCell) {
    if (xs.length !== 2) throw new Unsupported(path, m.constructor.name);
    const states = [lower(b, m.preprocess0, join(path, 'preprocess0'), [xs[0]!]), lower(b, m.preprocess1, join(path, 'preprocess1'), [xs[1]!])];
    for (let k = 0; k < 4; k++) {
      const ea = m.cell.edges[2 * k]!, eb = m.cell.edges[2 * k + 1]!;
      const ya = lower(b, m.ops.at(2 * k), join(path, `_ops.${2 * k}`), [states[ea.input]!]);
      const yb = lower(b, m.ops.at(2 * k + 1), join(path, `_ops.${2 * k + 1}`), [states[eb.input]!]);
      states.push(b.emit(OP.add, [ya, yb], path, m, { i: [0] })[0]!);
    }
    return b.emit(OP.cat, states.slice(2), path, m, { i: [1] })[0]!;
  }
  if (m instanceof FactorizedReduce) {
    const r = b.one(OP.act, x, path, m, { i: [ACT.relu, 0] });
    const c1 = lowerConv(b, m.conv1, join(path, 'conv_1'), r);
    const sl = b.one(OP.slice, b.one(OP.slice, r, path, m, { i: [2, 1, -1, 1] }), path, m, { i: [3, 1, -1, 1] });
    const c2 = lowerConv(b, m.conv2, join(path, 'conv_2'), sl);
    const c = b.emit(OP.cat, [c1, c2], path, m, { i: [1] })[0]!;
    return lowerBn(b, m.bn, join(path, 'bn'), c);
  }
  throw new Unsupported(path, m.constructor.name);
}

// ------------------------------------------------------------------ rewrites

/** Ops without parameters, state or randomness: equal inputs and arguments give equal outputs. */
const PURE = new Set<number>([OP.act, OP.maxPool, OP.avgPool, OP.adaptiveAvg, OP.adaptiveMax, OP.flatten, OP.zero, OP.slice]);

function renameInputs(code: GraphInstr[], from: number, map: Map<number, number>): void {
  for (let k = from; k < code.length; k++) code[k]!.in = code[k]!.in.map((r) => map.get(r) ?? r);
}

/** Common-subexpression elimination of pure ops. */
function cse(code: GraphInstr[]): GraphInstr[] {
  const seen = new Map<string, number>();
  const rename = new Map<number, number>();
  const out: GraphInstr[] = [];
  for (const ins of code) {
    ins.in = ins.in.map((r) => rename.get(r) ?? r);
    if (PURE.has(ins.op)) {
      const key = `${ins.op}|${ins.in.join(',')}|${(ins.i ?? []).join(',')}|${(ins.f ?? []).join(',')}`;
      const prev = seen.get(key);
      if (prev !== undefined) {
        rename.set(ins.out[0]!, prev);
        continue;
      }
      seen.set(key, ins.out[0]!);
    }
    out.push(ins);
  }
  return out;
}

function uses(code: GraphInstr[], nregs: number, output: number): number[] {
  const u = new Array<number>(nregs).fill(0);
  for (const ins of code) for (const r of ins.in) u[r]!++;
  u[output]!++;
  return u;
}

/**
 * Merges convolutions (groups 1, no bias) that read the same register with the same kernel,
 * stride, padding and dilation, each used only by a batch norm with the same settings, into one
 * convolution over the concatenated weights, one batch norm over the concatenated channels (the
 * running statistics are written back to each layer's buffers) and a split. Per-channel batch norm
 * makes this exact; autograd carries the gradients back through the concatenation to each layer's
 * own parameters.
 */
function fuseConvs(code: GraphInstr[], nregs0: number, output: number): { code: GraphInstr[]; nregs: number } {
  let nregs = nregs0;
  const u = uses(code, nregs, output);
  const consumer = new Map<number, number>(); // register -> index of its single consumer
  code.forEach((ins, k) => ins.in.forEach((r) => u[r] === 1 && consumer.set(r, k)));
  const groups = new Map<string, number[]>(); // key -> conv instruction indices
  code.forEach((ins, k) => {
    if (ins.op !== OP.conv2d || ins.t![1] !== undefined || ins.i![7] !== 1 || ins.i![0] !== 1) return;
    const bnIdx = consumer.get(ins.out[0]!);
    const bn = bnIdx === undefined ? undefined : code[bnIdx];
    if (!bn || bn.op !== OP.batchNorm || bn.in[0] !== ins.out[0]) return;
    const present = bn.t!.map((t) => (t === undefined ? 0 : 1)).join('');
    const w = native.shape(ins.t![0]!);
    const key = `${ins.in[0]}|${w.slice(1).join('x')}|${ins.i!.slice(1).join(',')}|${(bn.f ?? []).join(',')}|${present}|${bn.i!.slice(1).join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  const drop = new Set<number>();
  const replace = new Map<number, GraphInstr[]>();
  for (const idxs of groups.values()) {
    if (idxs.length < 2) continue;
    const convs = idxs.map((k) => code[k]!);
    const bnIdxs = convs.map((c) => consumer.get(c.out[0]!)!);
    const bns = bnIdxs.map((k) => code[k]!);
    const sizes = convs.map((c) => native.shape(c.t![0]!)[0]!);
    const first = convs[0]!;
    const convOut = first.out[0]!;
    const bnOut = nregs++; // the fused batch norm's output; the split writes each layer's own output register
    const fusedConv: GraphInstr = { ...first, t: [...convs.map((c) => c.t![0]), ...convs.map(() => undefined)], i: [convs.length, ...first.i!.slice(1)], layer: convs.map((c) => c.layer).join('+') };
    const fusedBn: GraphInstr = { ...bns[0]!, in: [convOut], out: [bnOut], t: bns.flatMap((b) => b.t!), i: [bns.length, ...bns[0]!.i!.slice(1)], layer: bns.map((b) => b.layer).join('+') };
    const split: GraphInstr = { op: OP.split, in: [bnOut], out: bns.map((b) => b.out[0]!), i: [1, ...sizes], layer: fusedBn.layer, module: 'split' };
    // The fused group takes the first convolution's place: its input is defined there, and every
    // consumer of the batch norms comes later.
    replace.set(idxs[0]!, [fusedConv, fusedBn, split]);
    for (const k of idxs.slice(1)) drop.add(k);
    for (const k of bnIdxs) drop.add(k);
  }
  if (replace.size === 0) return { code, nregs };
  const out: GraphInstr[] = [];
  code.forEach((ins, k) => {
    const r = replace.get(k);
    if (r) out.push(...r);
    else if (!drop.has(k)) out.push(ins);
  });
  return { code: out, nregs };
}

/**
 * Moves max pooling in front of the ReLU / leaky ReLU that feeds it (`act -> maxPool` becomes
 * `maxPool -> act` when the pool is the activation's only reader): a monotone non-decreasing
 * activation commutes with max, so the values are bitwise the same, and so are the gradients
 * (the pool picks the same window element; where the window's maximum is <= 0 ReLU's gradient is 0
 * either way). The activation and its backward then touch a quarter of the elements (2x2 pooling);
 * PyTorch eager runs them on the full-size tensor.
 */
function poolFirst(code: GraphInstr[], nregs: number, output: number): void {
  const u = uses(code, nregs, output);
  const reader = new Map<number, number>(); // register -> index of its only reader
  code.forEach((ins, k) => ins.in.forEach((r) => u[r] === 1 && reader.set(r, k)));
  code.forEach((act, k) => {
    if (act.op !== OP.act || (act.i![0] !== ACT.relu && act.i![0] !== ACT.leaky)) return;
    const p = reader.get(act.out[0]!);
    const pool = p === undefined ? undefined : code[p];
    if (!pool || pool.op !== OP.maxPool || act.out[0] === output) return;
    // pool reads the activation's input into the activation's old output register (defined at k,
    // read at p > k); the activation then writes the pool's output.
    code[k] = { ...pool, in: [act.in[0]!], out: [act.out[0]!] };
    code[p!] = { ...act, in: [act.out[0]!], out: [pool.out[0]!] };
  });
}

/** Ops whose output autograd does not save and which return a fresh tensor (safe to modify in place). */
const FRESH = new Set<number>([OP.conv2d, OP.linear, OP.add, OP.avgPool, OP.maxPool, OP.adaptiveAvg, OP.cat]);

/** Marks ReLU-family activations and sums whose (first) input is fresh and read by nothing else to run in place. */
function markInplace(code: GraphInstr[], nregs: number, output: number): void {
  const u = uses(code, nregs, output);
  const fresh = new Set<number>();
  for (const ins of code) {
    if (FRESH.has(ins.op) || (ins.op === OP.batchNorm && ins.i![0] === 1)) fresh.add(ins.out[0]!);
    const a = ins.in[0]!;
    const ok = a !== 0 && fresh.has(a) && u[a] === 1;
    if (ins.op === OP.act && (ins.i![0] === ACT.relu || ins.i![0] === ACT.relu6 || ins.i![0] === ACT.leaky)) ins.i![1] = ok ? 1 : 0;
    if (ins.op === OP.add) ins.i![0] = ok && !ins.in.slice(1).includes(a) ? 1 : 0;
  }
}

// ------------------------------------------------------------------ the compiled network

export interface CompileOptions {
  /**
   * Run 4-D activations and conv weights in channels-last memory format. Default `'auto'`:
   * channels-last when the program has a convolution and no max pooling (measured: NB201 20-30%
   * faster per step, lenet slower, because libtorch's channels-last max pooling and its backward
   * copy between layouts while the 2x2 pooling kernel of graph.cc is NCHW only; README, engine section).
   */
  readonly channelsLast?: boolean | 'auto';
  /**
   * Merge same-input convolutions (default: true in NCHW, false in channels-last, where the split
   * of the merged output gives channel-strided views that every later op reads slowly: NB201 was
   * 15-40% slower per step with the merge than without).
   */
  readonly fuseConvs?: boolean;
  /**
   * Run max pooling before the ReLU / leaky ReLU that feeds it (exact, see poolFirst). Default
   * false: measured on lenet's training step (2 threads, quiet machine, 3 alternating rounds of
   * 100 steps), 6,574-6,934 samples/s with it against 7,663-8,152 without.
   */
  readonly poolFirst?: boolean;
  /**
   * Run 2x2 max pooling with stride 2 (no padding or dilation, NCHW float) through graph.cc's
   * branch-free MaxPool2x2 kernel instead of libtorch's max_pool2d (the same values and gradient
   * routing, ties and NaN included). Default true.
   */
  readonly poolKernel?: boolean;
  /**
   * In training steps (trainStep), run BatchNorm1d on [N, C] float input through graph.cc's
   * Bn1dTrain kernel, with a ReLU that only reads its output applied in the same pass, instead of
   * libtorch's batch_norm and relu (the same arithmetic: batch statistics, running statistics,
   * gradients; one thread up to ~64k elements, else one parallel region per direction, where
   * libtorch opens 6 in the forward and 3 in the backward). Default true. forward() and the
   * eval paths always use libtorch's ops.
   */
  readonly bnKernel?: boolean;
  /**
   * Threads of training steps. `'auto'` (default): steps 2-9 run alternately on one thread and on
   * all the configured threads (setNumThreads), timed in native code, and the faster by its best
   * step is kept for every later step of this compiled network (graph.cc StepThreads: on the
   * 2-core VM of the README a step of small ops, such as the MLP benchmark's, ran 2-6x faster on
   * one thread, because each OpenMP parallel region wakes the pool's sleeping thread; large
   * convolutions gain from the second thread). `'all'`: always the configured threads.
   * StepResult.threads says which a step used. Values differ between the two only by rounding.
   */
  readonly stepThreads?: 'auto' | 'all';
  /** Where the one-line fallback notice goes (default: stderr, once per module class). */
  readonly notice?: (message: string) => void;
}

const noticed = new Set<string>();
function defaultNotice(msg: string, cls: string): void {
  if (noticed.has(cls)) return;
  noticed.add(cls);
  console.error(msg);
}

/** Result of one native training step. */
export interface StepResult {
  /** The batch's mean cross-entropy (NaN/Inf when training diverged: then nothing was updated). */
  readonly loss: number;
  /** Samples whose argmax equals the label. */
  readonly correct: number;
  /** The OpenMP threads the step ran with (CompileOptions.stepThreads). */
  readonly threads: number;
}

/**
 * A module compiled to the native engine. Holds references to the module's tensors (not copies);
 * dispose() it before or with the module. Every method falls back to nothing: callers that need
 * the op-by-op path use `module.forward` (the module is unchanged).
 */
export class NativeNetwork {
  private g: GraphHandle | undefined;
  /** Instructions after the rewrites (for tests and the benchmark). */
  readonly instructions: number;
  /** Whether the program runs channels-last (CompileOptions.channelsLast after 'auto' is resolved). */
  readonly channelsLast: boolean;

  /** @internal use compileNative() */
  constructor(readonly module: Layer, g: GraphHandle, private readonly modal: readonly Module<any, any>[], instructions: number, channelsLast = false) {
    this.g = g;
    this.instructions = instructions;
    this.channelsLast = channelsLast;
  }

  private handle(): GraphHandle {
    if (!this.g || this.module.isDisposed)
      throw new NasError('disposed', 'native network used after dispose() (of itself or of its module)', { hint: 'compile the module again with compileNative()' });
    return this.g;
  }

  /** True when every batch-norm/dropout layer has the root module's training flag (what the native program assumes). */
  private uniformMode(): boolean {
    const t = this.module.training;
    for (const m of this.modal) if (m.training !== t) return false;
    return true;
  }

  /**
   * The module's forward pass in one native call (autograd recorded when grad mode is on), in the
   * module's current mode. Falls back to the op-by-op `module.forward` when layers are in mixed
   * train/eval modes.
   */
  forward(x: Tensor): Tensor {
    const g = this.handle();
    if (!this.uniformMode()) return this.module.forward(x);
    return new Tensor(native.graphForward(g, x.h, this.module.training));
  }

  /**
   * Eval-mode forward under libtorch's inference mode (no autograd), each conv followed by its
   * batch norm folded into one conv (`fold`, default true; the folded weights are cached until a
   * parameter or running statistic changes). The module's mode is not consulted or changed.
   */
  infer(x: Tensor, fold = true): Tensor {
    return new Tensor(native.graphInfer(this.handle(), x.h, fold));
  }

  /**
   * One training step (training mode regardless of the module's flag): gradients dropped, forward,
   * mean cross-entropy with optional label smoothing, and when the loss is finite: backward,
   * optional clipping of the total gradient norm to `gradClip`, `opt.step()`. `x` is a batch
   * [N, ...] as a Float32Array of `shape` or a float32 Tensor; `y` int labels [N] (Int32Array or
   * an int64 Tensor). The accuracy count comes back with the loss, so the trainer crosses into
   * JavaScript once per batch.
   */
  trainStep(x: Float32Array | Tensor, shape: readonly number[], y: Int32Array | Tensor, opt: Optimizer | undefined, o: { labelSmoothing?: number; gradClip?: number } = {}): StepResult {
    const g = this.handle();
    const [loss, correct, threads] = native.graphTrainStep(g, x instanceof Tensor ? x.h : x, shape, y instanceof Tensor ? y.h : y, opt?.o, {
      ...(o.labelSmoothing ? { labelSmoothing: o.labelSmoothing } : {}),
      ...(o.gradClip !== undefined ? { clip: o.gradClip } : {}),
    });
    return { loss, correct, threads };
  }

  /** Eval-mode loss (mean cross-entropy) and argmax predictions of one batch, in inference mode. */
  evalBatch(x: Float32Array | Tensor, shape: readonly number[], y: Int32Array | Tensor, fold = true): { loss: number; predictions: Int32Array } {
    const [loss, predictions] = native.graphEvalBatch(this.handle(), x instanceof Tensor ? x.h : x, shape, y instanceof Tensor ? y.h : y, fold);
    return { loss, predictions };
  }

  /** Releases the program's references to the module's tensors (the module stays usable). */
  dispose(): void {
    if (this.g) native.graphFree(this.g);
    this.g = undefined;
  }
}

/** CompileOptions.channelsLast 'auto': a convolution and no max pooling in the program. */
function autoChannelsLast(code: readonly GraphInstr[]): boolean {
  return code.some((ins) => ins.op === OP.conv2d) && !code.some((ins) => ins.op === OP.maxPool || ins.op === OP.adaptiveMax);
}

/**
 * Compiles `module` for the native engine; undefined (after a one-line notice) when some module in
 * it has no native lowering, in which case the caller keeps the op-by-op path.
 */
export function compileNative(module: Layer, o: CompileOptions = {}): NativeNetwork | undefined {
  if (typeof (native as Partial<typeof native>).graphNew !== 'function') {
    // An addon built before native/src/graph.cc existed: keep working, op by op.
    const msg = 'tsnas: the native addon has no graph engine (built before native/src/graph.cc); using the op-by-op path; rebuild it with `npm run build:native`';
    if (o.notice) o.notice(msg);
    else defaultNotice(msg, '(addon)');
    return undefined;
  }
  const b = new Builder();
  let output: number;
  try {
    output = lower(b, module, '', [0]);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    const msg = `tsnas: the native engine cannot run ${e.cls} (at ${e.path || 'the root'}); using the op-by-op path`;
    if (o.notice) o.notice(msg);
    else defaultNotice(msg, e.cls);
    return undefined;
  }
  let code = cse(b.code);
  let nregs = b.nregs;
  const cl = o.channelsLast === 'auto' || o.channelsLast === undefined ? autoChannelsLast(code) : o.channelsLast;
  if (o.fuseConvs ?? !cl) ({ code, nregs } = fuseConvs(code, nregs, output));
  if (o.poolFirst ?? false) poolFirst(code, nregs, output);
  markInplace(code, nregs, output);
  const g = native.graphNew(code, nregs, output, module.parameters().map((p) => p.h), { channelsLast: cl, poolKernel: o.poolKernel ?? true, bnKernel: o.bnKernel ?? true, stepThreads: o.stepThreads ?? 'auto' });
  return new NativeNetwork(module, g, b.modal, code.length, cl);
}
