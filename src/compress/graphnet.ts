/**
 * GraphNet: a compression graph (graph.ts) run as a float nn Module. Its weighted nodes are real
 * layers (Conv2d, BatchNorm2d/1d, Linear, Dropout) registered as children `n<i>`, so it trains with
 * the usual optimizers (fine-tuning after pruning), saves with the state-dict format
 * (src/nn/state.ts) and exports to ONNX through the layer exporters (see onnx.ts in this folder).
 *
 * Inference threads (`chooseThreads`, default off; the compression pipeline turns it on): an
 * eval-mode forward without gradients of at most 8 samples runs with the intra-op thread count
 * measured fastest for this network at the first call of its (batch, threads set) key
 * (src/tensor/thread-choice.ts), as QuantizedNet's int8 forward does; training forwards (train
 * mode or gradients on) always use the threads set. Off by default because the choice is a
 * measurement: float results can differ in the last bits between thread counts (as with
 * cudnn.benchmark, which PyTorch also leaves off by default).
 */
import { NasError, assertNever } from '../core/errors.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear } from '../nn/layers.js';
import { Module, type Layer } from '../nn/module.js';
import { Generator, Tensor, avgPool2d, cat, isGradEnabled, maxPool2d, adaptiveAvgPool2d, tidy } from '../tensor/index.js';
import { ThreadChoice } from '../tensor/thread-choice.js';
import { ValueRelease, graphShapes, nodeInputs, type Graph, type GraphNode } from './graph.js';

export class GraphNet extends Module {
  /** Child layer of node i (weighted nodes and dropout), by node index. */
  readonly layers = new Map<number, Layer>();
  /** Small-batch inference thread choice (options.chooseThreads), or undefined. */
  private readonly threadChoice: ThreadChoice | undefined;

  /**
   * Builds the layers of `graph` and copies `weights` (`n<i>.weight`, ...) into them; the caller
   * keeps ownership of `weights`. `seed` only draws the dropout masks during fine-tuning.
   * `options.chooseThreads` (default false): see the file comment.
   */
  constructor(readonly graph: Graph, weights: ReadonlyMap<string, Tensor>, seed = 0, options: { readonly chooseThreads?: boolean } = {}) {
    super();
    this.threadChoice = options.chooseThreads ? new ThreadChoice() : undefined;
    const shapes = graphShapes(graph);
    const gen = new Generator(seed);
    graph.nodes.forEach((n, i) => {
      let l: Layer | undefined;
      switch (n.kind) {
        case 'conv':
          l = new Conv2d(n.inC, n.outC, n.kernel, { gen, stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups, bias: n.bias });
          break;
        case 'bn':
          l = shapes[n.input]!.shape.length === 3 ? new BatchNorm2d(n.channels, { eps: n.eps }) : new BatchNorm1d(n.channels, { eps: n.eps });
          break;
        case 'linear':
          l = new Linear(n.inF, n.outF, { gen, bias: n.bias });
          break;
        case 'dropout':
          l = new Dropout(n.p, gen);
          break;
        default:
          break;
      }
      if (l) {
        this.layers.set(i, this.child(`n${i}`, l));
      }
    });
    const sd = new Map<string, Tensor>();
    for (const k of this.stateDict().keys()) {
      const t = weights.get(k);
      if (!t) throw new NasError('data_error', `the weights have no entry ${k} for graph node ${k.split('.')[0]}`, { field: k, hint: 'load the weights file saved with this model.json' });
      sd.set(k, t);
    }
    this.loadStateDict(sd);
  }

  private layer(i: number): Layer {
    const l = this.layers.get(i);
    if (!l) throw new NasError('internal', `graph node ${i} has no layer`);
    return l;
  }

  forward(x: Tensor): Tensor {
    if (this.threadChoice && !this.training && !isGradEnabled()) return this.threadChoice.run(x.shape[0]!, () => this.forwardNow(x));
    return this.forwardNow(x);
  }

  /** The thread counts chosen so far for small-batch inference: key `<batch>@<threads set>` -> threads used. */
  threadChoices(): ReadonlyMap<string, number> {
    return this.threadChoice?.choices() ?? new Map();
  }

  private forwardNow(x: Tensor): Tensor {
    const v: Tensor[] = [x];
    const rel = new ValueRelease(this.graph.nodes.map(nodeInputs), this.graph.output);
    rel.produced(0, x);
    this.graph.nodes.forEach((n, i) => {
      v.push(tidy(() => runFloatNode(n, i, v, (k) => this.layer(k))));
      rel.produced(i + 1, v[i + 1]!);
      rel.consumed(nodeInputs(n), v);
    });
    return v[this.graph.output]!;
  }
}

/** One node in float (shared by GraphNet and the calibration pass of quantize.ts). */
export function runFloatNode(n: GraphNode, i: number, v: readonly Tensor[], layer: (i: number) => Layer): Tensor {
  switch (n.kind) {
    case 'conv':
    case 'bn':
    case 'linear':
    case 'dropout':
      return layer(i).forward(v[n.input]!);
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
    case 'add':
      return v[n.inputs[0]]!.add(v[n.inputs[1]]!);
    case 'cat':
      return cat(n.inputs.map((k) => v[k]!), 1);
    case 'slice_hw':
      return v[n.input]!.slice(2, n.start, undefined, n.step).slice(3, n.start, undefined, n.step);
    case 'zero':
      return v[n.input]!.mul(0);
    default:
      return assertNever(n, 'graph node');
  }
}
