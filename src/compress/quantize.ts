/**
 * Post-training int8 quantization of a compression graph, through libtorch's quantized engines
 * (src/tensor/quantized.ts), following PyTorch's eager-mode recipe (torch.ao.quantization):
 *
 *  1. fuse: batch norm folded into the conv/linear before it (w' = w*g/sqrt(v+eps),
 *     b' = beta + (b - mean)*g/sqrt(v+eps)); a following ReLU fused into the conv/linear/add;
 *  2. calibrate (static): the fused float network runs on calibration images and a min/max
 *     observer per value records the activation range; quint8 parameters
 *     scale = (max - min) / 255, zero point = round(-min / scale), with 0 always representable;
 *  3. convert: weights qint8 per output channel, symmetric (scale = max|w_c| / 127.5, zero point
 *     0, as PyTorch's default per-channel weight observer); conv, linear, add, cat, relu and
 *     pooling run in int8; GELU, SiLU, tanh and sigmoid in int8 by a 256-entry table of output
 *     codes (the lookup TFLite and QNNPACK use for int8 sigmoid/tanh); ops without an int8 kernel
 *     (a batch norm that follows no conv, `none` edges) run in float between dequantize/quantize.
 *
 * `dynamic` mode quantizes only linear layers' weights (per tensor, qint8) and quantizes their
 * input on the fly per batch (quantized::linear_dynamic); everything else stays float.
 *
 * Engines per op (static mode): the weights are packed for the process-wide engine at construction
 * (oneDNN by default). With oneDNN packs, QNNPACK built in and 1 intra-op thread, the forward runs
 * the convs on their oneDNN packs and everything else on QNNPACK (linear layers on QNNPACK packs
 * made at construction; max/avg pools, add, ReLU through libtorch's QNNPACK paths, which it takes
 * when QNNPACK is the process engine). At batch 1 oneDNN's convs are the fastest and its linear
 * and pooling the slowest of the two engines (measured on LeNet and the main job's winners, README
 * compress section); with more threads the two engines' thread pools (OpenMP and pthreadpool)
 * contend, so more threads run everything on the packing engine. `perOpEngines: false` turns it off.
 *
 * Threads (`chooseThreads`, default off; the compression pipeline turns it on for every stage): a
 * forward of at most 8 samples runs with the intra-op thread count measured fastest for this
 * network at the first call of its (batch, threads set) key (src/tensor/thread-choice.ts): a
 * LeNet-sized int8 op gains nothing from a second thread. GraphNet (the float networks) does the
 * same, so float and int8 are compared alike. Off by default: the choice is a measurement, and at
 * 1 thread the per-op engines round a few codes differently from oneDNN alone.
 */
import { NasError, assertNever } from '../core/errors.js';
import { ThreadChoice } from '../tensor/thread-choice.js';
import type { Graph, GraphNode, Pair } from './graph.js';
import { ValueRelease, consumers, graphShapes } from './graph.js';
import {
  Tensor,
  adaptiveAvgPool2d,
  avgPool2d,
  batchNorm,
  cat,
  conv2d,
  getNumThreads,
  linear,
  maxPool2d,
  noGrad,
  tidy,
} from '../tensor/index.js';
import {
  dequantize,
  dynamicLinear,
  intRepr,
  prepackConv2d,
  prepackLinear,
  quantizedAdd,
  quantizedCat,
  quantizedConv2d,
  quantizedLinear,
  quantizedLut,
  hasQuantizedLut,
  quantizePerChannel,
  quantizePerTensor,
  quantizedEngine,
  quantizedEngines,
  withQuantizedEngine,
  type PackedWeight,
  type QEngine,
  type QParams,
} from '../tensor/quantized.js';

/**
 * How int8 weights are scaled: `per_channel` (one symmetric scale per output channel, PyTorch's
 * default and this pipeline's) or `per_tensor` (one scale for the whole tensor, as engines or
 * hardware without per-channel support need; coarser where a folded batch norm scales channels
 * differently, e.g. depthwise convs; Krishnamoorthi 2018, "Quantizing deep convolutional networks
 * for efficient inference: A whitepaper", section 3).
 */
export type WeightScheme = 'per_channel' | 'per_tensor';

/** static: post-training, calibrated; qat: quantization-aware fine-tuning, then the same int8 network as static; dynamic: int8 linear weights only. */
export type QuantMode = 'static' | 'dynamic' | 'qat';
/** What a QuantizedNet runs: int8 weights and activations (static; also QAT's result), or dynamic int8 linear. */
export type Int8Mode = 'static' | 'dynamic';

/** A node of the fused network: conv/linear with folded BN and optional fused ReLU, add with fused ReLU, or a graph node. */
export type FusedNode =
  | {
      readonly kind: 'qconv';
      readonly input: number;
      readonly inC: number;
      readonly outC: number;
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly dilation: Pair;
      readonly groups: number;
      readonly relu: boolean;
    }
  | { readonly kind: 'qlinear'; readonly input: number; readonly inF: number; readonly outF: number; readonly relu: boolean }
  | { readonly kind: 'qadd'; readonly inputs: readonly [number, number]; readonly relu: boolean }
  | Exclude<GraphNode, { kind: 'conv' } | { kind: 'linear' } | { kind: 'add' }>;

export interface FusedNet {
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly nodes: readonly FusedNode[];
  readonly output: number;
  /** Per fused node index: folded float weight and bias (qconv/qlinear), or BN tensors (`weight`, `bias`, `running_mean`, `running_var`). */
  readonly weights: ReadonlyMap<number, ReadonlyMap<string, Tensor>>;
  /** Per fused value j (0 = input): the graph value it stands for (a fused conv+BN+ReLU stands for the ReLU's output); empty when unknown (a decoded int8 file). */
  readonly values: readonly number[];
}

export const fusedInputs = (n: FusedNode): readonly number[] => (n.kind === 'qadd' || n.kind === 'cat' ? n.inputs : [n.input]);

/**
 * The batch norms fuse() folds: conv/linear node index -> the index of the batch norm that is the
 * only consumer of its output (and not the graph output). QAT simulates exactly these folds.
 */
export function bnFolds(g: Graph): Map<number, number> {
  const cons = consumers(g);
  const out = new Map<number, number>();
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'conv' && n.kind !== 'linear') return;
    const v = i + 1;
    const next = v !== g.output && cons[v]!.length === 1 ? cons[v]![0]! : -1;
    if (next >= 0 && g.nodes[next]!.kind === 'bn') out.set(i, next);
  });
  return out;
}

/** Folds batch norms and fuses ReLUs (new tensors, owned by the result: disposeFused). */
export function fuse(g: Graph, weights: ReadonlyMap<string, Tensor>): FusedNet {
  const cons = consumers(g);
  const folds = bnFolds(g);
  const single = (v: number) => (v !== g.output && cons[v]!.length === 1 ? cons[v]![0]! : -1);
  const map = new Map<number, number>([[0, 0]]); // old value -> new value
  const skip = new Set<number>();
  const nodes: FusedNode[] = [];
  const fw = new Map<number, Map<string, Tensor>>();
  const values: number[] = [0];
  const mv = (v: number) => {
    const r = map.get(v);
    if (r === undefined) throw new NasError('internal', `fuse: value ${v} used before it is produced`);
    return r;
  };
  noGrad(() =>
    g.nodes.forEach((n, i) => {
      if (skip.has(i)) return;
      const w = (k: string) => weights.get(`n${i}.${k}`);
      const push = (f: FusedNode, lastOld: number, tensors?: Map<string, Tensor>) => {
        nodes.push(f);
        if (tensors) fw.set(nodes.length - 1, tensors);
        map.set(lastOld, nodes.length);
        values.push(lastOld);
      };
      switch (n.kind) {
        case 'conv':
        case 'linear': {
          let out = i + 1;
          let W = w('weight')!.detach().clone();
          let B = w('bias')?.detach().clone() ?? Tensor.zeros([n.kind === 'conv' ? n.outC : n.outF]);
          const next = folds.get(i) ?? -1;
          const bn = next >= 0 ? g.nodes[next]! : undefined;
          if (bn && bn.kind === 'bn') {
            const bw = (k: string) => weights.get(`n${next}.${k}`)!;
            const f = tidy(() => bw('weight').div(bw('running_var').add(bn.eps).sqrt()).keep());
            const W2 = tidy(() => W.mul(f.reshape([-1, ...new Array<number>(W.ndim - 1).fill(1)])).keep());
            const B2 = tidy(() => bw('bias').add(B.sub(bw('running_mean')).mul(f)).keep());
            for (const t of [f, W, B]) t.dispose();
            W = W2;
            B = B2;
            skip.add(next);
            out = next + 1;
          }
          const after = single(out);
          const relu = after >= 0 && g.nodes[after]!.kind === 'act' && (g.nodes[after] as { fn: string }).fn === 'relu';
          if (relu) {
            skip.add(after);
            out = after + 1;
          }
          const t = new Map([['weight', W.keep()], ['bias', B.keep()]]);
          if (n.kind === 'conv')
            push({ kind: 'qconv', input: mv(n.input), inC: n.inC, outC: n.outC, kernel: n.kernel, stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups, relu }, out, t);
          else push({ kind: 'qlinear', input: mv(n.input), inF: n.inF, outF: n.outF, relu }, out, t);
          break;
        }
        case 'add': {
          const after = single(i + 1);
          const relu = after >= 0 && g.nodes[after]!.kind === 'act' && (g.nodes[after] as { fn: string }).fn === 'relu';
          if (relu) skip.add(after);
          push({ kind: 'qadd', inputs: [mv(n.inputs[0]), mv(n.inputs[1])], relu }, relu ? after + 1 : i + 1);
          break;
        }
        case 'bn': {
          const t = new Map<string, Tensor>();
          for (const k of ['weight', 'bias', 'running_mean', 'running_var']) t.set(k, w(k)!.detach().clone().keep());
          push({ ...n, input: mv(n.input) }, i + 1, t);
          break;
        }
        case 'dropout':
          map.set(i + 1, mv(n.input)); // the identity at inference
          break;
        case 'cat':
          push({ ...n, inputs: n.inputs.map(mv) }, i + 1);
          break;
        case 'act':
        case 'maxpool':
        case 'avgpool':
        case 'gap':
        case 'flatten':
        case 'slice_hw':
        case 'zero':
          push({ ...n, input: mv(n.input) }, i + 1);
          break;
        default:
          assertNever(n, 'graph node');
      }
    }),
  );
  graphShapes(g); // shapes were checked by the caller's graph; keep the invariant explicit
  return { inputShape: g.inputShape, numClasses: g.numClasses, nodes, output: mv(g.output), weights: fw, values };
}

export function disposeFused(f: FusedNet): void {
  for (const m of f.weights.values()) for (const t of m.values()) t.dispose();
}

/** One fused node in float (calibration, the float fallback of the int8 network, dynamic mode). */
function floatNode(n: FusedNode, i: number, v: readonly Tensor[], w: ReadonlyMap<number, ReadonlyMap<string, Tensor>>): Tensor {
  const t = (k: string) => w.get(i)!.get(k)!;
  switch (n.kind) {
    case 'qconv': {
      const y = conv2d(v[n.input]!, t('weight'), t('bias'), { stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups });
      return n.relu ? y.relu() : y;
    }
    case 'qlinear': {
      const y = linear(v[n.input]!, t('weight'), t('bias'));
      return n.relu ? y.relu() : y;
    }
    case 'qadd': {
      const y = v[n.inputs[0]]!.add(v[n.inputs[1]]!);
      return n.relu ? y.relu() : y;
    }
    case 'bn':
      return batchNorm(v[n.input]!, { weight: t('weight'), bias: t('bias'), runningMean: t('running_mean'), runningVar: t('running_var'), training: false, momentum: 0.1, eps: n.eps });
    case 'act': {
      const x = v[n.input]!;
      switch (n.fn) {
        case 'relu':
          return x.relu();
        case 'gelu':
          return x.gelu();
        case 'silu':
          return x.silu();
        case 'tanh':
          return x.tanh();
        case 'sigmoid':
          return x.sigmoid();
        default:
          return assertNever(n.fn, 'activation');
      }
    }
    case 'maxpool':
      return maxPool2d(v[n.input]!, n.kernel, { stride: n.stride, padding: n.padding });
    case 'avgpool':
      return avgPool2d(v[n.input]!, n.kernel, { stride: n.stride, padding: n.padding, countIncludePad: n.countIncludePad ?? true });
    case 'gap':
      return adaptiveAvgPool2d(v[n.input]!, 1);
    case 'flatten':
      return v[n.input]!.flatten(1);
    case 'cat':
      return cat(n.inputs.map((k) => v[k]!), 1);
    case 'slice_hw':
      return v[n.input]!.slice(2, n.start, undefined, n.step).slice(3, n.start, undefined, n.step);
    case 'zero':
      return v[n.input]!.mul(0);
    case 'dropout':
      return v[n.input]!;
    default:
      return assertNever(n, 'fused node');
  }
}

/** Per fused value, how many node inputs read it (the input value 0 and the output: Infinity, never freed). */
function valueReads(f: FusedNet): number[] {
  const reads = new Array<number>(f.nodes.length + 1).fill(0);
  for (const n of f.nodes) for (const k of fusedInputs(n)) reads[k]!++;
  reads[0] = Infinity;
  reads[f.output] = Infinity;
  return reads;
}

/** Runs the fused network in float; `observe(value, tensor)` sees every value (0 = input). */
export function runFused(f: FusedNet, x: Tensor, observe?: (v: number, t: Tensor) => void): Tensor {
  const v: Tensor[] = [x];
  // each value freed after its last reader (graph.ts ValueRelease), not kept to the caller's scope end
  const rel = new ValueRelease(f.nodes.map(fusedInputs), f.output);
  rel.produced(0, x);
  observe?.(0, x);
  f.nodes.forEach((n, i) => {
    // the node's own temporaries (e.g. a conv's output before its fused ReLU) freed with it
    const y = tidy(() => floatNode(n, i, v, f.weights));
    v.push(y);
    observe?.(i + 1, y);
    rel.produced(i + 1, y);
    rel.consumed(fusedInputs(n), v);
  });
  return v[f.output]!;
}

/** quint8 parameters covering [min, max] (0 included), as PyTorch's MinMaxObserver. */
export function qparamsFor(min: number, max: number): QParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  // A value that is always 0 (e.g. a `none` edge) gets the range [0, 1]: any scale represents it,
  // and a scale of float epsilon would break int8 adds (qnnpack needs input/output scale ratios >= 2^-14).
  const scale = hi - lo < 1e-6 ? 1 / 255 : (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Throws shape_mismatch naming `field` unless `x` is [N, ...inputShape] (the one shape check of
 * everything that feeds a quantized network: calibration batches and forward inputs).
 */
function checkInputShape(x: Tensor, inputShape: readonly number[], field: 'calibration' | 'input'): void {
  const s = x.shape.slice(1);
  if (x.shape.length >= 1 && s.length === inputShape.length && s.every((d, k) => d === inputShape[k])) return;
  const want = inputShape.join(', ');
  throw new NasError('shape_mismatch', `${field === 'calibration' ? 'calibration batch' : 'input'} [${x.shape.join(', ')}] does not fit the model's input [N, ${want}]`, {
    field,
    hint: field === 'calibration' ? `calibrate with images of shape [${want}] from the training data` : `give a batch of shape [N, ${want}], normalised as in training`,
  });
}

/**
 * Observes activation ranges over the calibration inputs (each [N, ...inputShape], normalised as
 * in training). Throws invalid_config naming `calibration` for an empty or wrongly shaped set.
 */
export function calibrate(f: FusedNet, inputs: readonly Tensor[]): QParams[] {
  if (inputs.length === 0 || inputs.every((x) => (x.shape[0] ?? 0) === 0))
    throw new NasError('invalid_config', 'the calibration set is empty', { field: 'calibration', hint: 'give at least one batch of training images (a few hundred is typical)' });
  for (const x of inputs) checkInputShape(x, f.inputShape, 'calibration');
  const lo = new Array<number>(f.nodes.length + 1).fill(Infinity);
  const hi = new Array<number>(f.nodes.length + 1).fill(-Infinity);
  for (const x of inputs)
    tidy(() =>
      noGrad(() => {
        runFused(f, x, (v, t) => {
          lo[v] = Math.min(lo[v]!, t.min().item() as number);
          hi[v] = Math.max(hi[v]!, t.max().item() as number);
        });
      }),
    );
  return lo.map((l, v) => qparamsFor(Number.isFinite(l) ? l : 0, Number.isFinite(hi[v]!) ? hi[v]! : 0));
}

/** Symmetric qint8 weight scales: max|w_c| / 127.5 per output channel (PyTorch's default per-channel observer), or one for the tensor. */
export function weightScales(w: Tensor, perChannel = true): Float32Array {
  return tidy(() =>
    noGrad(() =>
      perChannel
        ? (w.abs().flatten(1).max(1).div(127.5).clamp(1.1920929e-7, undefined).toTypedArray() as Float32Array)
        : Float32Array.of(Math.max((w.abs().max().item() as number) / 127.5, 1.1920929e-7)),
    ),
  );
}

/** A qint8 weight with the given scales (zero points 0): per output channel, or per tensor for one scale. */
export function quantizeWeight(w: Tensor, scales: Float32Array = weightScales(w)): Tensor {
  return tidy(() =>
    noGrad(() =>
      scales.length === 1 && (w.shape[0] ?? 1) !== 1
        ? quantizePerTensor(w, { scale: scales[0]!, zeroPoint: 0 }, 'qint8')
        : quantizePerChannel(w, Tensor.fromArray(scales), Tensor.zeros([scales.length], 'int64'), 0, 'qint8'),
    ),
  );
}

/**
 * Which nodes of a static int8 network run in int8 (their outputs are held quantized) vs in float
 * (fallback ops: batch norms that follow no conv, `zero`). Every activation runs in int8: ReLU on the
 * codes, the others (GELU, SiLU, tanh, sigmoid) by a 256-entry table (quantizedLut).
 */
const INT8_KINDS = new Set<FusedNode['kind']>(['qconv', 'qlinear', 'qadd', 'cat', 'act', 'maxpool', 'avgpool', 'gap', 'flatten', 'slice_hw']);
export const isInt8 = (n: FusedNode) => INT8_KINDS.has(n.kind);

/**
 * The parameters each value of a static int8 network is actually held with. Nodes that requantize
 * (conv, linear, add, cat, a table activation) and values quantized from float hold their own
 * calibrated `qp[v]`; ReLU, the pools, flatten and slicing keep their input's (libtorch's quantized
 * relu/max_pool2d/avg_pool2d/adaptive_avg_pool2d return their input's scale and zero point), so
 * their held parameters are their input's, which can differ from their own calibrated range (a ReLU
 * after a conv that is not fused holds the conv's range, negatives included).
 */
export function heldParams(f: FusedNet, qp: readonly QParams[]): QParams[] {
  const held = [...qp];
  f.nodes.forEach((n, i) => {
    switch (n.kind) {
      case 'act':
        if (n.fn === 'relu') held[i + 1] = held[n.input]!;
        break;
      case 'maxpool':
      case 'avgpool':
      case 'gap':
      case 'flatten':
      case 'slice_hw':
        held[i + 1] = held[n.input]!;
        break;
      default:
        break;
    }
  });
  return held;
}

/**
 * The 256 output codes of activation `fn` on quint8 inputs held with `inp`, requantized to `out`:
 * quantize(fn(dequantize(c)), out) for c = 0..255, computed with the same float kernels and
 * quantizer as the float fallback, so the table gives the codes that path gives.
 */
export function activationTable(fn: Exclude<Extract<FusedNode, { kind: 'act' }>['fn'], 'relu'>, inp: QParams, out: QParams): Uint8Array {
  return tidy(() =>
    noGrad(() => {
      const codes = quantizePerTensor(Tensor.fromArray(Float32Array.from({ length: 256 }, (_, c) => inp.scale * (c - inp.zeroPoint))), inp);
      const back = intRepr(codes).toTypedArray() as Int32Array;
      if (back.some((c, k) => c !== k)) throw new NasError('internal', `activationTable: codes do not round-trip for scale ${inp.scale}, zero point ${inp.zeroPoint}`);
      const y = floatNode({ kind: 'act', input: 0, fn }, 0, [dequantize(codes)], new Map());
      return Uint8Array.from(intRepr(quantizePerTensor(y, out)).toTypedArray() as Int32Array);
    }),
  );
}

/** QuantizedNet's construction options (see its constructor). */
export interface QuantizedNetOptions {
  readonly perOpEngines?: boolean;
  readonly chooseThreads?: boolean;
}

/** Most call keys (batch size, threads) a QuantizedNet makes its own oneDNN packs for (QuantizedNet callPacks). */
export const MAX_PACK_KEYS = 4;

/**
 * A quantized network ready to run. `forward` takes normalised float inputs [N, ...inputShape]
 * and returns float logits; tensors are created in the caller's tidy scope.
 */
export class QuantizedNet {
  private readonly packed = new Map<number, PackedWeight>();
  /** Static mode: per table activation node, its 256 output codes (activationTable). */
  private readonly tables = new Map<number, Uint8Array>();
  /** Static mode: the parameters each value is held with (heldParams). */
  readonly held: readonly QParams[] | undefined;
  /** Quantized weights per node (qint8 tensors, kept for export and saving). */
  readonly qweights = new Map<number, Tensor>();
  private disposed = false;
  /** Static mode: reads per fused value (valueReads), computed at the first forward. */
  private valueReads: number[] | undefined;
  /** Small-batch thread choice (options.chooseThreads), or undefined. */
  private readonly threadChoice: ThreadChoice | undefined;

  /**
   * @param fused the fused network (its float weights stay owned by the caller)
   * @param qparams activation parameters per fused value (static mode; from calibrate())
   */
  /** Per quantized node: its weight scales (per output channel, or one). */
  readonly scales = new Map<number, Float32Array>();
  /** The engine the conv/linear weights were packed for: the process-wide engine at construction. */
  readonly engine: QEngine;
  /**
   * Static mode with oneDNN packs and QNNPACK built in (and perOpEngines not false): the linear
   * layers packed for QNNPACK, used by 1-thread forwards (see the file comment); else undefined.
   */
  private readonly oneThreadLinear: Map<number, PackedWeight> | undefined;
  /**
   * Static mode: flatten nodes whose output only linear layers read. Their [N, C, H, W] input is
   * flattened in (h, w, c) order (`permute(0, 2, 3, 1).flatten(1)`: a view of the channels-last
   * tensors the int8 kernels return, where the (c, h, w) order is a copy), and those linear layers
   * use their weight with its columns permuted to match (packed on first use per engine), so the
   * products, and the outputs, are the same.
   */
  private readonly nhwcFlatten = new Set<number>();
  /** Permuted-column linear packs, keyed `<engine>:<node>`, and their qint8 weights per node (disposed with the net). */
  private readonly nhwcLinear = new Map<string, PackedWeight>();
  private readonly nhwcWeights = new Map<number, Tensor>();
  /**
   * oneDNN packs per call key `<batch>@<threads>` (see callPacks), each keyed `<node>` or
   * `h<node>` (permuted-column linear); the first key's set holds the construction packs.
   */
  private readonly keyed = new Map<string, Map<string, PackedWeight>>();
  private firstKeyed: Map<string, PackedWeight> | undefined;

  /**
   * @param fused the fused network (its float weights stay owned by the caller)
   * @param qparams activation parameters per fused value (static mode; from calibrate())
   * @param given weight scales per node (a loaded int8 file's); default computed from the weights
   * @param weightScheme static mode's conv/linear weight scales (default per_channel; dynamic mode is per tensor)
   * @param options.perOpEngines static mode: at 1 thread, convs on oneDNN and the rest on QNNPACK (default true; see the file comment)
   * @param options.chooseThreads batch <= 8 forwards run with the thread count measured fastest for this network at the first
   *   call of each (batch, threads set) (src/tensor/thread-choice.ts); default false: always the threads set
   */
  constructor(readonly fused: FusedNet, readonly mode: Int8Mode, readonly qparams: readonly QParams[] | undefined, given?: ReadonlyMap<number, Float32Array>, readonly weightScheme: WeightScheme = 'per_channel', options: QuantizedNetOptions = {}) {
    this.threadChoice = options.chooseThreads ? new ThreadChoice() : undefined;
    const perChannel = mode === 'static' && weightScheme === 'per_channel';
    this.engine = quantizedEngine();
    if (mode === 'static' && (!qparams || qparams.length !== fused.nodes.length + 1)) throw new NasError('internal', 'static quantization needs one QParams per value');
    fused.nodes.forEach((n, i) => {
      const w = fused.weights.get(i);
      const quant = (perChannel: boolean) => {
        const s = given?.get(i) ?? weightScales(w!.get('weight')!, perChannel);
        this.scales.set(i, s);
        const qw = quantizeWeight(w!.get('weight')!, s).keep();
        this.qweights.set(i, qw);
        return qw;
      };
      if (n.kind === 'qconv' && mode === 'static') {
        this.packed.set(i, prepackConv2d(quant(perChannel), w!.get('bias')!, { stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups }));
      } else if (n.kind === 'qlinear') {
        this.packed.set(i, prepackLinear(quant(perChannel), w!.get('bias')!));
      }
    });
    this.oneThreadLinear =
      mode === 'static' && (options.perOpEngines ?? true) && this.engine === 'onednn' && quantizedEngines().includes('qnnpack')
        ? withQuantizedEngine('qnnpack', () => {
            const m = new Map<number, PackedWeight>();
            fused.nodes.forEach((n, i) => {
              if (n.kind === 'qlinear') m.set(i, prepackLinear(this.qweights.get(i)!, fused.weights.get(i)!.get('bias')!));
            });
            return m;
          })
        : undefined;
    if (mode === 'static') {
      const readers = new Map<number, FusedNode[]>();
      fused.nodes.forEach((n) => {
        for (const k of fusedInputs(n)) readers.set(k, [...(readers.get(k) ?? []), n]);
      });
      fused.nodes.forEach((n, i) => {
        const r = readers.get(i + 1) ?? [];
        if (n.kind === 'flatten' && i + 1 !== fused.output && r.length > 0 && r.every((c) => c.kind === 'qlinear')) this.nhwcFlatten.add(i);
      });
    }
    this.held = mode === 'static' ? heldParams(fused, qparams!) : undefined;
    if (this.held && hasQuantizedLut())
      fused.nodes.forEach((n, i) => {
        if (n.kind === 'act' && n.fn !== 'relu') this.tables.set(i, activationTable(n.fn, this.held![n.input]!, qparams![i + 1]!));
      });
  }

  /** The engines a forward with the current number of threads runs: `packed` (every op on the packing engine) or `onednn+qnnpack` (per op; see the file comment). */
  enginesNow(): 'packed' | 'onednn+qnnpack' {
    return this.oneThreadLinear && getNumThreads() === 1 ? 'onednn+qnnpack' : 'packed';
  }

  forward(x: Tensor): Tensor {
    if (this.disposed) throw new NasError('disposed', 'quantized network used after dispose()');
    // Checked here, not left to the kernels: an int8 conv of the wrong channel count does not fail
    // on every engine (it may read past the input and return garbage).
    checkInputShape(x, this.fused.inputShape, 'input');
    return this.threadChoice ? this.threadChoice.run(x.shape[0]!, () => this.forwardNow(x)) : this.forwardNow(x);
  }

  /**
   * The thread counts chosen so far for small-batch forwards (options.chooseThreads): key
   * `<batch>@<threads set>` -> threads used; empty without the option or before such a call.
   */
  threadChoices(): ReadonlyMap<string, number> {
    return this.threadChoice?.choices() ?? new Map();
  }

  /** One forward with the intra-op threads as they are now (the oneDNN packs of that key). */
  private forwardNow(x: Tensor): Tensor {
    const set = this.callPacks(x);
    if (this.mode === 'dynamic') return withQuantizedEngine(this.engine, () => this.forwardDynamic(x, set));
    const perOp = this.enginesNow() === 'onednn+qnnpack';
    return withQuantizedEngine(perOp ? 'qnnpack' : this.engine, () => this.forwardStatic(x, set, perOp ? this.oneThreadLinear! : this.packed, perOp ? 'qnnpack' : this.engine));
  }

  /** The call keys (`<batch>@<threads>`) that have their own oneDNN packs, in order of first use (callPacks). */
  packKeys(): string[] {
    return [...this.keyed.keys()];
  }

  /**
   * The oneDNN pack set for a forward of `x` with the current intra-op thread count, or
   * undefined (other engines: use the construction packs).
   *
   * Why: libtorch 1.13's oneDNN quantized conv and linear packs (static and dynamic) each cache ONE primitive, built
   * on their first call and keyed by that call's input shape and thread count
   * (ATen/native/quantized/cpu/OnednnUtils.h, PrimitiveCacheKey, set once under a once_flag);
   * every call with another key rebuilds the primitive, which at batch 1 costs about as much as
   * the convolution. A network first evaluated on a batch of 500 (an accuracy pass) and then run
   * at batch 1 paid that on every call: LeNet's int8 forward took 0.073 ms instead of 0.039 ms
   * (1 thread, best of 300, README compress section). So each distinct (batch, threads) gets its
   * own packs, made from the same int8 weights on its first call (identical outputs; the first
   * key uses the construction packs). At most MAX_PACK_KEYS keys get packs; later keys share the
   * construction packs (and rebuild their primitive per call, as before).
   */
  private callPacks(x: Tensor): Map<string, PackedWeight> | undefined {
    if (this.engine !== 'onednn') return undefined;
    const key = `${x.shape[0]}@${getNumThreads()}`;
    let set = this.keyed.get(key);
    if (!set && this.keyed.size < MAX_PACK_KEYS) {
      set = new Map();
      this.keyed.set(key, set);
      this.firstKeyed ??= set;
    }
    return set;
  }

  /** Pack `key` of the call set `set` (made with the packing engine on first use), or `construction()` without a set and in the first key's set. */
  private setPack(set: Map<string, PackedWeight> | undefined, key: string, construction: () => PackedWeight, make: () => PackedWeight): PackedWeight {
    if (!set) return construction();
    let p = set.get(key);
    if (!p) {
      p = set === this.firstKeyed ? construction() : withQuantizedEngine(this.engine, make);
      set.set(key, p);
    }
    return p;
  }

  /**
   * Linear node i's weight with its columns in (h, w, c) order for an input flattened from
   * [N, C, H, W] channels-last (nhwcFlatten), packed for `engine` (the process engine of this
   * forward) on first use; the same int8 codes and scales, reordered.
   */
  private nhwcPack(i: number, chw: readonly [number, number, number], engine: QEngine): PackedWeight {
    const key = `${engine}:${i}`;
    let p = this.nhwcLinear.get(key);
    if (!p) {
      p = prepackLinear(this.nhwcWeight(i, chw), this.fused.weights.get(i)!.get('bias')!);
      this.nhwcLinear.set(key, p);
    }
    return p;
  }

  /** Linear node i's qint8 weight with its columns in (h, w, c) order (nhwcPack), made once. */
  private nhwcWeight(i: number, [c, h, w]: readonly [number, number, number]): Tensor {
    let qw = this.nhwcWeights.get(i);
    if (!qw) {
      qw = tidy(() =>
        noGrad(() => {
          const wf = this.fused.weights.get(i)!.get('weight')!;
          const out = wf.shape[0]!;
          if (wf.shape[1] !== c * h * w) throw new NasError('internal', `linear node ${i} takes ${wf.shape[1]} inputs, its flatten gives ${c}x${h}x${w}`);
          return quantizeWeight(wf.reshape([out, c, h, w]).permute([0, 2, 3, 1]).contiguous().reshape([out, c * h * w]), this.scales.get(i)!).keep();
        }),
      );
      this.nhwcWeights.set(i, qw);
    }
    return qw;
  }

  private forwardDynamic(x: Tensor, set: Map<string, PackedWeight> | undefined): Tensor {
    const f = this.fused;
    const v: Tensor[] = [x];
    const rel = new ValueRelease(f.nodes.map(fusedInputs), f.output);
    rel.produced(0, x);
    f.nodes.forEach((n, i) => {
      if (n.kind === 'qlinear') {
        const pack = this.setPack(set, String(i), () => this.packed.get(i)!, () => prepackLinear(this.qweights.get(i)!, f.weights.get(i)!.get('bias')!));
        v.push(
          tidy(() => {
            const y = dynamicLinear(v[n.input]!, pack);
            return n.relu ? y.relu() : y;
          }),
        );
      } else v.push(tidy(() => floatNode(n, i, v, f.weights)));
      rel.produced(i + 1, v[i + 1]!);
      rel.consumed(fusedInputs(n), v);
    });
    return v[f.output]!;
  }

  /**
   * The static int8 forward; `set` = this call's oneDNN packs (callPacks), `linearPacks` = the
   * packs of the linear layers (the packing engine's, or QNNPACK's at 1 thread).
   */
  private forwardStatic(x: Tensor, set: Map<string, PackedWeight> | undefined, linearPacks: ReadonlyMap<number, PackedWeight>, linearEngine: QEngine): Tensor {
    const f = this.fused;
    const qp = this.qparams!;
    /** Values flattened in (h, w, c) order (nhwcFlatten), with their [C, H, W]. */
    const nhwc = new Map<number, readonly [number, number, number]>();
    const qv: (Tensor | undefined)[] = [quantizePerTensor(x, qp[0]!)];
    const fv: (Tensor | undefined)[] = [x];
    // Each value's int8 and float forms are freed once its last reader ran (as ValueRelease does for
    // the float runners; a float fallback may return its input, so tensors are counted per object).
    const left = [...(this.valueReads ??= valueReads(f))];
    const held = new Map<Tensor, number>();
    const hold = (t: Tensor | undefined): void => void (t && held.set(t, (held.get(t) ?? 0) + 1));
    const release = (k: number): void => {
      for (const t of [qv[k], fv[k]]) {
        if (!t || t === x) continue;
        const c = (held.get(t) ?? 1) - 1;
        if (c > 0) held.set(t, c);
        else {
          held.delete(t);
          if (!t.isDisposed) t.dispose();
        }
      }
      qv[k] = fv[k] = undefined;
    };
    hold(qv[0]);
    const getQ = (k: number): Tensor => {
      let q = qv[k];
      if (!q) hold((q = qv[k] = quantizePerTensor(fv[k]!, qp[k]!)));
      return q;
    };
    const getF = (k: number): Tensor => {
      let t = fv[k];
      if (!t) hold((t = fv[k] = dequantize(qv[k]!)));
      return t;
    };
    f.nodes.forEach((n, i) => {
      this.staticNode(n, i, qv, fv, getQ, getF, nhwc, set, linearPacks, linearEngine);
      hold(qv[i + 1]);
      hold(fv[i + 1]);
      for (const k of fusedInputs(n)) if (--left[k]! === 0) release(k);
    });
    return getF(f.output);
  }

  /** Node i of the static int8 forward: sets qv[i + 1] (int8 kernels) or fv[i + 1] (float fallback). */
  private staticNode(
    n: FusedNode,
    i: number,
    qv: (Tensor | undefined)[],
    fv: (Tensor | undefined)[],
    getQ: (k: number) => Tensor,
    getF: (k: number) => Tensor,
    nhwc: Map<number, readonly [number, number, number]>,
    set: Map<string, PackedWeight> | undefined,
    linearPacks: ReadonlyMap<number, PackedWeight>,
    linearEngine: QEngine,
  ): void {
    const f = this.fused;
    const qp = this.qparams!;
    {
      const out = i + 1;
      if (!isInt8(n)) {
        // Float fallback: the inputs are dequantized on demand.
        const vals: Tensor[] = [];
        for (const k of fusedInputs(n)) vals[k] = getF(k);
        fv[out] = floatNode(n, i, vals, f.weights);
        return;
      }
      switch (n.kind) {
        case 'qconv':
          qv[out] = quantizedConv2d(
            getQ(n.input),
            this.setPack(set, String(i), () => this.packed.get(i)!, () => prepackConv2d(this.qweights.get(i)!, f.weights.get(i)!.get('bias')!, { stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups })),
            qp[out]!,
            n.relu,
          );
          break;
        case 'qlinear':
          {
            const chw = nhwc.get(n.input);
            const bias = f.weights.get(i)!.get('bias')!;
            // QNNPACK packs (1 thread, per op) have no first-call primitive cache: no per-call set.
            const s = linearEngine === this.engine ? set : undefined;
            const pack = chw
              ? this.setPack(s, `h${i}`, () => this.nhwcPack(i, chw, linearEngine), () => prepackLinear(this.nhwcWeight(i, chw), bias))
              : this.setPack(s, String(i), () => (linearPacks.get(i) ?? this.packed.get(i))!, () => prepackLinear(this.qweights.get(i)!, bias));
            qv[out] = quantizedLinear(getQ(n.input), pack, qp[out]!, n.relu);
          }
          break;
        case 'qadd':
          qv[out] = quantizedAdd(getQ(n.inputs[0]), getQ(n.inputs[1]), qp[out]!, n.relu);
          break;
        case 'cat':
          qv[out] = quantizedCat(n.inputs.map(getQ), 1, qp[out]!);
          break;
        case 'act':
          if (n.fn === 'relu') qv[out] = getQ(n.input).relu();
          else if (this.tables.size) qv[out] = quantizedLut(getQ(n.input), this.tables.get(i)!, qp[out]!);
          // An addon built before qLut: the same codes, computed as the table was (dequantize, float op, quantize).
          else {
            const vals: Tensor[] = [];
            vals[n.input] = dequantize(getQ(n.input));
            qv[out] = quantizePerTensor(floatNode(n, i, vals, f.weights), qp[out]!);
          }
          break;
        case 'maxpool':
          qv[out] = maxPool2d(getQ(n.input), n.kernel, { stride: n.stride, padding: n.padding });
          break;
        case 'avgpool':
          qv[out] = avgPool2d(getQ(n.input), n.kernel, { stride: n.stride, padding: n.padding, countIncludePad: n.countIncludePad ?? true });
          break;
        case 'gap':
          qv[out] = adaptiveAvgPool2d(getQ(n.input), 1);
          break;
        case 'flatten': {
          const q = getQ(n.input);
          if (this.nhwcFlatten.has(i) && q.ndim === 4 && q.shape[2]! * q.shape[3]! > 1) {
            qv[out] = q.permute([0, 2, 3, 1]).flatten(1);
            nhwc.set(out, [q.shape[1]!, q.shape[2]!, q.shape[3]!]);
          } else qv[out] = q.flatten(1);
          break;
        }
        case 'slice_hw':
          qv[out] = getQ(n.input).slice(2, n.start, undefined, n.step).slice(3, n.start, undefined, n.step);
          break;
        default:
          throw new NasError('internal', `no int8 kernel for ${n.kind}`);
      }
    }
  }

  /** Int8 representation of node i's weight as signed bytes, with its per-channel (or single) scales. */
  int8Weight(i: number): { data: Int8Array; shape: number[]; scales: Float32Array } {
    const qw = this.qweights.get(i);
    if (!qw) throw new NasError('internal', `node ${i} has no quantized weight`);
    return tidy(() => {
      const ints = intRepr(qw);
      return { data: Int8Array.from(ints.toTypedArray() as Int32Array), shape: [...ints.shape], scales: this.scales.get(i)! };
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.qweights.values()) t.dispose();
    this.packed.clear();
    this.oneThreadLinear?.clear();
    this.nhwcLinear.clear();
    this.keyed.clear();
    for (const t of this.nhwcWeights.values()) t.dispose();
  }
}

/** Counts weights stored in int8 and in float32 by a quantized network (for reports). */
export function int8Counts(qn: QuantizedNet): { int8: number; float: number } {
  let int8 = 0;
  let float = 0;
  qn.fused.nodes.forEach((n, i) => {
    const w = qn.fused.weights.get(i);
    if (!w) return;
    for (const [k, t] of w) {
      if (k === 'weight' && qn.qweights.has(i)) int8 += t.numel;
      else float += t.numel;
    }
  });
  return { int8, float };
}

export { graphShapes };
