/**
 * Module -> compression graph (graph.ts) with a copy of its weights. One lowering per module class
 * of src/nn/layers.ts and of the network families (src/nn/build), each mirroring its module's
 * forward() (as the ONNX exporters in src/nn/onnx/build.ts do), so every network the builder makes
 * (chain CNN with skips, NB201, DARTS, MLP) and the LeNet baseline can be pruned and quantized.
 */
import type { Activation } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import { ChainBlock, ChainCnnNet } from '../nn/build/chain.js';
import { Zero } from '../nn/build/common.js';
import { DartsNet, DartsNetCell, FactorizedReduce } from '../nn/build/darts.js';
import { Nb201Cell, Nb201Net, Nb201ResBlock } from '../nn/build/nb201.js';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  GELU,
  Identity,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  Sigmoid,
  SiLU,
  Tanh,
} from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Tensor, noGrad } from '../tensor/index.js';
import type { Graph, GraphNode, Pair } from './graph.js';
import { graphShapes } from './graph.js';
import { GraphNet } from './graphnet.js';

type AnyModule = Module<any, any>;
const pair = (p: number | readonly [number, number] | undefined, d: number): Pair => (p === undefined ? [d, d] : typeof p === 'number' ? [p, p] : [p[0], p[1]]);

/** A graph with its weights: `n<i>.<param>` -> tensor (owned by the caller: dispose them). */
export interface LoweredNet {
  readonly graph: Graph;
  readonly weights: Map<string, Tensor>;
}

class Lowerer {
  readonly nodes: GraphNode[] = [];
  readonly weights = new Map<string, Tensor>();
  private readonly paths = new Map<AnyModule, string>();
  constructor(root: AnyModule) {
    const walk = (m: AnyModule, prefix: string) => {
      if (!this.paths.has(m)) this.paths.set(m, prefix.replace(/\.$/, ''));
      for (const [n, c] of m.namedChildren()) walk(c, `${prefix}${n}.`);
    };
    walk(root, '');
  }
  emit(n: GraphNode, params: Record<string, Tensor | undefined> = {}): number {
    const i = this.nodes.length;
    this.nodes.push(n);
    for (const [k, t] of Object.entries(params)) if (t) this.weights.set(`n${i}.${k}`, noGrad(() => t.detach().clone()).keep());
    return i + 1;
  }
  act(fn: Activation, x: number): number {
    return this.emit({ kind: 'act', input: x, fn });
  }

  visit(m: AnyModule, inputs: readonly number[]): number {
    const x = inputs[0]!;
    const from = this.paths.get(m) ?? '';
    if (m instanceof Conv2d) {
      const o = (m as unknown as { opts: { stride: number | Pair; padding: number | Pair; dilation: number | Pair; groups: number } }).opts;
      const [cout, cinG, kh, kw] = m.weight.shape as [number, number, number, number];
      return this.emit(
        { kind: 'conv', input: x, inC: cinG * o.groups, outC: cout, kernel: [kh, kw], stride: pair(o.stride, 1), padding: pair(o.padding, 0), dilation: pair(o.dilation, 1), groups: o.groups, bias: !!m.bias, from },
        { weight: m.weight, bias: m.bias },
      );
    }
    if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) {
      if (!m.runningMean || !m.runningVar) throw new NasError('invalid_arch', `${from}: batch norm without running statistics cannot be compressed`, { field: from });
      const c = m.numFeatures;
      const w = m.weight ?? Tensor.ones([c]);
      const b = m.bias ?? Tensor.zeros([c]);
      const id = this.emit({ kind: 'bn', input: x, channels: c, eps: m.eps, from }, { weight: w, bias: b, running_mean: m.runningMean, running_var: m.runningVar, num_batches_tracked: m.numBatchesTracked });
      if (!m.weight) w.dispose();
      if (!m.bias) b.dispose();
      return id;
    }
    if (m instanceof Linear) return this.emit({ kind: 'linear', input: x, inF: m.inFeatures, outF: m.outFeatures, bias: !!m.bias, from }, { weight: m.weight, bias: m.bias });
    if (m instanceof ReLU) return this.act('relu', x);
    if (m instanceof GELU) return this.act('gelu', x);
    if (m instanceof SiLU) return this.act('silu', x);
    if (m instanceof Tanh) return this.act('tanh', x);
    if (m instanceof Sigmoid) return this.act('sigmoid', x);
    if (m instanceof MaxPool2d) {
      if (m.o.ceilMode || (m.o.dilation !== undefined && pair(m.o.dilation, 1).some((d) => d !== 1)))
        throw new NasError('invalid_arch', `${from}: max pooling with ceil mode or dilation is not supported by compression`, { field: from });
      return this.emit({ kind: 'maxpool', input: x, kernel: pair(m.kernelSize, 1), stride: pair(m.o.stride ?? m.kernelSize, 1), padding: pair(m.o.padding, 0) });
    }
    if (m instanceof AvgPool2d) {
      if (m.o.ceilMode) throw new NasError('invalid_arch', `${from}: average pooling with ceil mode is not supported by compression`, { field: from });
      return this.emit({ kind: 'avgpool', input: x, kernel: pair(m.kernelSize, 1), stride: pair(m.o.stride ?? m.kernelSize, 1), padding: pair(m.o.padding, 0), countIncludePad: m.o.countIncludePad ?? true });
    }
    if (m instanceof AdaptiveAvgPool2d) {
      const [a, b] = pair(m.outputSize, 1);
      if (a !== 1 || b !== 1) throw new NasError('invalid_arch', `${from}: only global (1x1) adaptive average pooling is supported`, { field: from });
      return this.emit({ kind: 'gap', input: x });
    }
    if (m instanceof Flatten) {
      if (m.startDim !== 1 || m.endDim !== -1) throw new NasError('invalid_arch', `${from}: only Flatten(1, -1) is supported`, { field: from });
      return this.emit({ kind: 'flatten', input: x });
    }
    if (m instanceof Dropout) return this.emit({ kind: 'dropout', input: x, p: m.p });
    if (m instanceof Identity) return x;
    if (m instanceof Zero) return this.emit({ kind: 'zero', input: x });
    if (m instanceof Sequential) {
      let y = x;
      for (let i = 0; i < m.length; i++) y = this.visit(m.at(i), [y]);
      return y;
    }
    if (m instanceof ChainBlock) {
      let y = this.visit(m.body, [x]);
      if ((m as unknown as { residual: boolean }).residual) y = this.emit({ kind: 'add', inputs: [y, m.proj ? this.visit(m.proj, [x]) : x] });
      return m.pool ? this.visit(m.pool, [y]) : y;
    }
    if (m instanceof ChainCnnNet) {
      let y = x;
      for (const l of m.layers) y = this.visit(l, [y]);
      return this.visit(m.head, [y]);
    }
    if (m instanceof Nb201Net) return this.visit(m.net, [x]);
    if (m instanceof Nb201ResBlock) {
      const d = this.visit(m.down, [x]);
      return this.emit({ kind: 'add', inputs: [d, this.visit(m.b, [this.visit(m.a, [x])])] });
    }
    if (m instanceof Nb201Cell) {
      const FROM = [0, 0, 1, 0, 1, 2];
      const TO = [1, 2, 2, 3, 3, 3];
      const nodes = [x];
      let acc: number | undefined;
      for (let e = 0; e < 6; e++) {
        const src = nodes[FROM[e]!]!;
        if (m.arch.ops[e] !== 'none') {
          const y = this.visit(m.ops.at(e), [src]);
          acc = acc === undefined ? y : this.emit({ kind: 'add', inputs: [acc, y] });
        }
        if (e === 5 || TO[e + 1] !== TO[e]) {
          nodes.push(acc ?? this.visit(m.ops.at(e), [src]));
          acc = undefined;
        }
      }
      return nodes[3]!;
    }
    if (m instanceof FactorizedReduce) {
      const r = this.act('relu', x);
      const a = this.visit(m.conv1, [r]);
      const b = this.visit(m.conv2, [this.emit({ kind: 'slice_hw', input: r, start: 1, step: 1 })]);
      return this.visit(m.bn, [this.emit({ kind: 'cat', inputs: [a, b] })]);
    }
    if (m instanceof DartsNetCell) {
      const states = [this.visit(m.preprocess0, [x]), this.visit(m.preprocess1, [inputs[1]!])];
      const edge = (i: number): number => {
        const e = m.cell.edges[i]!;
        const s = states[e.input]!;
        if (e.op !== 'none') return this.visit(m.ops.at(i), [s]);
        return this.emit({ kind: 'zero', input: m.reduction && e.input < 2 ? this.emit({ kind: 'slice_hw', input: s, start: 0, step: 2 }) : s });
      };
      for (let k = 0; k < 4; k++) states.push(this.emit({ kind: 'add', inputs: [edge(2 * k), edge(2 * k + 1)] }));
      return this.emit({ kind: 'cat', inputs: states.slice(2) });
    }
    if (m instanceof DartsNet) {
      let s0 = this.visit(m.stem, [x]);
      let s1 = s0;
      for (const c of m.cells) [s0, s1] = [s1, this.visit(c, [s0, s1])];
      const pooled = this.emit({ kind: 'flatten', input: this.emit({ kind: 'gap', input: s1 }) });
      return this.visit(m.classifier, [pooled]);
    }
    throw new NasError('invalid_arch', `cannot compress module ${from || '(root)'} (${m.constructor.name}): no lowering for this class`, {
      field: from || '(root)',
      hint: 'compress networks built by src/nn/build (chain CNN, NB201, DARTS, MLP) or LeNet',
    });
  }
}

/**
 * Lowers a trained classifier to a compression graph for per-sample inputs of `inputShape`,
 * copying its weights (the module is not changed). Throws `invalid_arch` naming the module path
 * for a module class without a lowering, `shape_mismatch` when the input does not fit.
 */
export function lowerModule(module: Module<[Tensor], Tensor>, inputShape: readonly number[], numClasses: number): LoweredNet {
  if (module instanceof GraphNet) {
    // Already a compression graph (e.g. a pruned network being compressed further): copy it.
    const g = module.graph;
    if (g.inputShape.length !== inputShape.length || g.inputShape.some((d, i) => d !== inputShape[i]) || g.numClasses !== numClasses)
      throw new NasError('shape_mismatch', `the network takes [${g.inputShape.join(', ')}] -> ${g.numClasses} classes, not [${inputShape.join(', ')}] -> ${numClasses}`, { field: 'dataset' });
    const weights = new Map<string, Tensor>();
    for (const [k, t] of module.stateDict()) weights.set(k, noGrad(() => t.detach().clone()).keep());
    return { graph: g, weights };
  }
  const l = new Lowerer(module);
  try {
    const out = l.visit(module, [0]);
    // The output must be a node's value (a graph whose output is its input has nothing to compress).
    if (out === 0) throw new NasError('invalid_arch', 'the network is the identity: nothing to compress');
    const graph: Graph = { format: 'tsnas-compress-graph', version: 1, inputShape: [...inputShape], numClasses, nodes: l.nodes, output: out };
    const shapes = graphShapes(graph);
    const o = shapes[out]!.shape;
    if (o.length !== 1 || o[0] !== numClasses)
      throw new NasError('shape_mismatch', `the network outputs [${o.join(', ')}] per sample, expected [${numClasses}] logits`, { field: 'numClasses' });
    return { graph, weights: l.weights };
  } catch (e) {
    for (const t of l.weights.values()) t.dispose();
    throw e;
  }
}
