/**
 * The compression graph: a trained network as plain data (a list of nodes in topological order),
 * the one representation that pruning, quantization, cost counting and the ONNX exporter of
 * compressed models share, whatever family the network came from (chain CNN, NB201, DARTS, MLP,
 * LeNet). Value 0 is the network input; node i produces value i + 1. Nodes with weights (conv,
 * bn, linear) keep them outside the graph, in a state dict keyed `n<i>.weight`, `n<i>.bias`,
 * `n<i>.running_mean`, ... (see graphnet.ts). A pruned network is the same graph with fewer
 * channels in some nodes, so it is saved as this JSON plus its weights, not as an architecture.
 *
 * Shapes are per sample (no batch dimension). Cost counting follows src/nn/build/analyze.ts
 * exactly (conv FLOPs = 2 MACs + bias adds, batch norm 2 per element, ...), so an unpruned graph
 * has the FLOPs and parameters analyzeArch reports for its architecture.
 */
import type { Activation } from '../core/arch.js';
import { NasError, assertNever } from '../core/errors.js';
import type { Tensor } from '../tensor/index.js';

export type Pair = readonly [number, number];

export interface ConvNode {
  readonly kind: 'conv';
  readonly input: number;
  readonly inC: number;
  readonly outC: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  readonly bias: boolean;
  /** State-dict prefix of the layer in the original module (for people; e.g. `layers.0.body.0`). */
  readonly from?: string;
}
export interface BnNode {
  readonly kind: 'bn';
  readonly input: number;
  readonly channels: number;
  readonly eps: number;
  readonly from?: string;
}
export interface LinearNode {
  readonly kind: 'linear';
  readonly input: number;
  readonly inF: number;
  readonly outF: number;
  readonly bias: boolean;
  readonly from?: string;
}
export interface ActNode {
  readonly kind: 'act';
  readonly input: number;
  readonly fn: Activation;
}
export interface PoolNode {
  readonly kind: 'maxpool' | 'avgpool';
  readonly input: number;
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  /** avgpool only (PyTorch's default true). */
  readonly countIncludePad?: boolean;
}
/** Adaptive average pool to 1x1 (keeps [C, 1, 1]). */
export interface GapNode {
  readonly kind: 'gap';
  readonly input: number;
}
export interface FlattenNode {
  readonly kind: 'flatten';
  readonly input: number;
}
export interface AddNode {
  readonly kind: 'add';
  readonly inputs: readonly [number, number];
}
/** Concatenation along channels (dim 1 with the batch). */
export interface CatNode {
  readonly kind: 'cat';
  readonly inputs: readonly number[];
}
/** x[:, :, start::step, start::step] */
export interface SliceHwNode {
  readonly kind: 'slice_hw';
  readonly input: number;
  readonly start: number;
  readonly step: number;
}
/** x * 0 (NaN/Inf propagate, as the family modules do). */
export interface ZeroNode {
  readonly kind: 'zero';
  readonly input: number;
}
export interface DropoutNode {
  readonly kind: 'dropout';
  readonly input: number;
  readonly p: number;
}

export type GraphNode = ConvNode | BnNode | LinearNode | ActNode | PoolNode | GapNode | FlattenNode | AddNode | CatNode | SliceHwNode | ZeroNode | DropoutNode;

export interface Graph {
  readonly format: 'tsnas-compress-graph';
  readonly version: 1;
  /** Per-sample input shape, e.g. [1, 28, 28] or [64]. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly nodes: readonly GraphNode[];
  /** The value holding the logits [numClasses]. */
  readonly output: number;
}

/** The values a node reads. */
export function nodeInputs(n: GraphNode): readonly number[] {
  switch (n.kind) {
    case 'add':
    case 'cat':
      return n.inputs;
    case 'conv':
    case 'bn':
    case 'linear':
    case 'act':
    case 'maxpool':
    case 'avgpool':
    case 'gap':
    case 'flatten':
    case 'slice_hw':
    case 'zero':
    case 'dropout':
      return [n.input];
    default:
      return assertNever(n, 'graph node');
  }
}

/**
 * Frees a graph runner's values once their last reader has run, so a pass holds the values still
 * to be read instead of every value until an enclosing tidy ends (the same peak as a whole network
 * forward in one tidy scope: see forwardStage in src/nn/layers.ts). Values as in the graph: 0 = the
 * pass's input (the caller's: never freed), node i's output = value i + 1; `output` is never freed.
 * Counted per tensor object, so a node that returns one of its inputs (dropout in eval mode) keeps
 * that tensor alive for the later readers of either value.
 *
 *   const rel = new ValueRelease(nodes.map(inputsOf), output);
 *   rel.produced(0, x);
 *   nodes.forEach((n, i) => { v.push(run(n)); rel.produced(i + 1, v[i + 1]); rel.consumed(inputsOf(n), v); });
 */
export class ValueRelease {
  private readonly reads: number[];
  private readonly left = new Map<Tensor, number>();
  /** @param inputs per node, the values it reads (a value read twice is listed twice) */
  constructor(inputs: readonly (readonly number[])[], output: number) {
    this.reads = new Array<number>(inputs.length + 1).fill(0);
    for (const ks of inputs) for (const k of ks) this.reads[k]!++;
    this.reads[0] = Infinity;
    this.reads[output] = Infinity;
  }
  /** Value j now holds `t`. */
  produced(j: number, t: Tensor): void {
    this.left.set(t, (this.left.get(t) ?? 0) + (this.reads[j] ?? Infinity));
  }
  /** A node that read `inputs` has run: the tensors no later node reads are disposed. */
  consumed(inputs: readonly number[], v: readonly (Tensor | undefined)[]): void {
    for (const k of inputs) {
      const t = v[k];
      if (!t) continue;
      const c = (this.left.get(t) ?? Infinity) - 1;
      if (c > 0) this.left.set(t, c);
      else {
        this.left.delete(t);
        if (!t.isDisposed) t.dispose();
      }
    }
  }
}

/** True for nodes that own weights in the state dict. */
export function hasWeights(n: GraphNode): n is ConvNode | BnNode | LinearNode {
  return n.kind === 'conv' || n.kind === 'bn' || n.kind === 'linear';
}

const outSize = (size: number, k: number, stride: number, pad: number, dil = 1) => Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;

function windowSum(size: number, k: number, stride: number, pad: number): number {
  const out = outSize(size, k, stride, pad);
  let s = 0;
  for (let o = 0; o < out; o++) {
    const lo = o * stride - pad;
    s += Math.min(size, lo + k) - Math.max(0, lo);
  }
  return s;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface NodeCost {
  readonly shape: readonly number[];
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
}

/**
 * Output shape and cost of every value (index = value id; value 0 is the input, cost 0). Throws
 * `shape_mismatch` naming the node when channels or shapes do not fit (e.g. a hand-edited graph).
 */
export function graphShapes(g: Graph): NodeCost[] {
  const out: NodeCost[] = [{ shape: [...g.inputShape], params: 0, macs: 0, flops: 0 }];
  const bad = (i: number, msg: string): never => {
    throw new NasError('shape_mismatch', `graph node ${i} (${g.nodes[i]!.kind}): ${msg}`, { field: `nodes[${i}]` });
  };
  g.nodes.forEach((n, i) => {
    const ins = nodeInputs(n).map((v) => {
      const s = out[v];
      if (!s) bad(i, `reads value ${v}, which is not produced before it`);
      return s!.shape;
    });
    const x = ins[0]!;
    let r: NodeCost;
    switch (n.kind) {
      case 'conv': {
        if (x.length !== 3 || x[0] !== n.inC) bad(i, `expects [${n.inC}, H, W], got [${x.join(', ')}]`);
        const ho = outSize(x[1]!, n.kernel[0], n.stride[0], n.padding[0], n.dilation[0]);
        const wo = outSize(x[2]!, n.kernel[1], n.stride[1], n.padding[1], n.dilation[1]);
        if (ho < 1 || wo < 1) bad(i, `leaves a ${ho}x${wo} output`);
        const macs = ho * wo * n.outC * (n.inC / n.groups) * n.kernel[0] * n.kernel[1];
        const params = n.outC * (n.inC / n.groups) * n.kernel[0] * n.kernel[1] + (n.bias ? n.outC : 0);
        r = { shape: [n.outC, ho, wo], params, macs, flops: 2 * macs + (n.bias ? ho * wo * n.outC : 0) };
        break;
      }
      case 'bn':
        if (x[0] !== n.channels) bad(i, `expects ${n.channels} channels, got [${x.join(', ')}]`);
        r = { shape: x, params: 2 * n.channels, macs: 0, flops: 2 * numel(x) };
        break;
      case 'linear':
        if (numel(x) !== n.inF || x.length !== 1) bad(i, `expects [${n.inF}], got [${x.join(', ')}]`);
        r = { shape: [n.outF], params: n.inF * n.outF + (n.bias ? n.outF : 0), macs: n.inF * n.outF, flops: 2 * n.inF * n.outF + (n.bias ? n.outF : 0) };
        break;
      case 'act':
        r = { shape: x, params: 0, macs: 0, flops: numel(x) };
        break;
      case 'maxpool':
      case 'avgpool': {
        if (x.length !== 3) bad(i, `expects [C, H, W], got [${x.join(', ')}]`);
        const [c, h, w] = x as [number, number, number];
        const ho = outSize(h, n.kernel[0], n.stride[0], n.padding[0]);
        const wo = outSize(w, n.kernel[1], n.stride[1], n.padding[1]);
        if (ho < 1 || wo < 1) bad(i, `leaves a ${ho}x${wo} output`);
        const elems = c * windowSum(h, n.kernel[0], n.stride[0], n.padding[0]) * windowSum(w, n.kernel[1], n.stride[1], n.padding[1]);
        r = { shape: [c, ho, wo], params: 0, macs: 0, flops: n.kind === 'maxpool' ? elems - c * ho * wo : elems };
        break;
      }
      case 'gap':
        if (x.length !== 3) bad(i, `expects [C, H, W], got [${x.join(', ')}]`);
        r = { shape: [x[0]!, 1, 1], params: 0, macs: 0, flops: numel(x) };
        break;
      case 'flatten':
        r = { shape: [numel(x)], params: 0, macs: 0, flops: 0 };
        break;
      case 'add': {
        const y = ins[1]!;
        if (x.length !== y.length || x.some((d, k) => d !== y[k])) bad(i, `adds [${x.join(', ')}] and [${y.join(', ')}]`);
        r = { shape: x, params: 0, macs: 0, flops: numel(x) };
        break;
      }
      case 'cat': {
        const hw = x.slice(1);
        if (ins.some((s) => s.length !== x.length || s.slice(1).some((d, k) => d !== hw[k]))) bad(i, `concatenates values of different spatial shapes`);
        r = { shape: [ins.reduce((a, s) => a + s[0]!, 0), ...hw], params: 0, macs: 0, flops: 0 };
        break;
      }
      case 'slice_hw': {
        const sl = (d: number) => Math.max(0, Math.ceil((d - n.start) / n.step));
        r = { shape: [x[0]!, sl(x[1]!), sl(x[2]!)], params: 0, macs: 0, flops: 0 };
        break;
      }
      case 'zero':
      case 'dropout':
        r = { shape: x, params: 0, macs: 0, flops: 0 };
        break;
      default:
        return assertNever(n, 'graph node');
    }
    out.push(r);
  });
  return out;
}

export interface GraphCost {
  /** Trainable parameters (as module.numParameters()). */
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
}

/** Parameters, MACs and FLOPs per sample (analyze.ts conventions). */
export function graphCost(g: Graph): GraphCost {
  const s = graphShapes(g);
  return { params: s.reduce((a, c) => a + c.params, 0), macs: s.reduce((a, c) => a + c.macs, 0), flops: s.reduce((a, c) => a + c.flops, 0) };
}

/** Which nodes read each value. */
export function consumers(g: Graph): number[][] {
  const c: number[][] = Array.from({ length: g.nodes.length + 1 }, () => []);
  g.nodes.forEach((n, i) => {
    for (const v of nodeInputs(n)) c[v]!.push(i);
  });
  return c;
}

/** Checks a parsed graph file (structure only; shapes with graphShapes). */
export function checkGraph(j: unknown, source = 'graph'): Graph {
  const g = j as Partial<Graph> | null;
  if (!g || g.format !== 'tsnas-compress-graph' || g.version !== 1 || !Array.isArray(g.nodes) || !Array.isArray(g.inputShape) || typeof g.output !== 'number')
    throw new NasError('data_error', `${source} is not a tsnas compression graph (format tsnas-compress-graph, version 1)`, { hint: 'use a model.json written by tsnas compress' });
  graphShapes(g as Graph);
  return g as Graph;
}
