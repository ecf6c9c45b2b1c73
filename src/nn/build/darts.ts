/**
 * The DARTS evaluation network (Liu et al. 2019, `NetworkCIFAR` of the DARTS code without the
 * auxiliary head and drop path), with the same module structure and op definitions: stem
 * conv3x3(3C)+BN; `layers` cells with reduction cells (channels doubled) at layers/3 and
 * 2*layers/3; then global average pool -> linear. See analyze.ts for the shape rules.
 */
import type { DartsArch, DartsCell, DartsOp } from '../../core/arch.js';
import { assertNever } from '../../core/errors.js';
import { cat, type Generator, type Tensor } from '../../tensor/index.js';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Identity, Linear, MaxPool2d, ModuleList, ReLU, Sequential, forwardStage } from '../layers.js';
import { Module, type Layer } from '../module.js';
import { reluConvBn } from './nb201.js';

/** x[:, :, ::stride, ::stride] * 0 */
export class ZeroStrided extends Module {
  constructor(readonly stride: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.stride === 1 ? x.mul(0) : x.slice(2, 0, undefined, this.stride).slice(3, 0, undefined, this.stride).mul(0);
  }
}

export class FactorizedReduce extends Module {
  readonly relu = new ReLU();
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(ci: number, co: number, gen: Generator) {
    super();
    this.conv1 = this.child('conv_1', new Conv2d(ci, co / 2, 1, { gen, stride: 2, bias: false }));
    this.conv2 = this.child('conv_2', new Conv2d(ci, co / 2, 1, { gen, stride: 2, bias: false }));
    this.bn = this.child('bn', new BatchNorm2d(co));
  }
  forward(x: Tensor): Tensor {
    const r = this.relu.forward(x);
    return this.bn.forward(cat([this.conv1.forward(r), this.conv2.forward(r.slice(2, 1).slice(3, 1))], 1));
  }
}

function sepConv(c: number, k: number, stride: number, gen: Generator): Sequential {
  const p = k >> 1;
  return new Sequential(
    new ReLU(),
    new Conv2d(c, c, k, { gen, stride, padding: p, groups: c, bias: false }),
    new Conv2d(c, c, 1, { gen, bias: false }),
    new BatchNorm2d(c),
    new ReLU(),
    new Conv2d(c, c, k, { gen, padding: p, groups: c, bias: false }),
    new Conv2d(c, c, 1, { gen, bias: false }),
    new BatchNorm2d(c),
  );
}

function dilConv(c: number, k: number, stride: number, gen: Generator): Sequential {
  return new Sequential(
    new ReLU(),
    new Conv2d(c, c, k, { gen, stride, padding: k - 1, dilation: 2, groups: c, bias: false }),
    new Conv2d(c, c, 1, { gen, bias: false }),
    new BatchNorm2d(c),
  );
}

/** One DARTS candidate op on `c` channels (also the one-shot supernet's candidates, src/oneshot/darts-cell.ts). */
export function makeOp(op: DartsOp, c: number, stride: number, gen: Generator): Layer {
  switch (op) {
    case 'none':
      return new ZeroStrided(stride);
    case 'skip_connect':
      return stride === 1 ? new Identity() : new FactorizedReduce(c, c, gen);
    case 'max_pool_3x3':
      return new MaxPool2d(3, { stride, padding: 1 });
    case 'avg_pool_3x3':
      return new AvgPool2d(3, { stride, padding: 1, countIncludePad: false });
    case 'sep_conv_3x3':
      return sepConv(c, 3, stride, gen);
    case 'sep_conv_5x5':
      return sepConv(c, 5, stride, gen);
    case 'dil_conv_3x3':
      return dilConv(c, 3, stride, gen);
    case 'dil_conv_5x5':
      return dilConv(c, 5, stride, gen);
    default:
      return assertNever(op, 'darts op');
  }
}

export class DartsNetCell extends Module<[Tensor, Tensor], Tensor> {
  readonly preprocess0: Layer;
  readonly preprocess1: Layer;
  readonly ops: ModuleList<Layer>;
  constructor(readonly cell: DartsCell, cpp: number, cp: number, c: number, readonly reduction: boolean, reductionPrev: boolean, gen: Generator) {
    super();
    this.preprocess0 = this.child('preprocess0', reductionPrev ? new FactorizedReduce(cpp, c, gen) : reluConvBn(cpp, c, 1, 1, 0, gen));
    this.preprocess1 = this.child('preprocess1', reluConvBn(cp, c, 1, 1, 0, gen));
    this.ops = this.child('_ops', new ModuleList(cell.edges.map((e) => makeOp(e.op, c, reduction && e.input < 2 ? 2 : 1, gen))));
  }
  forward(s0: Tensor, s1: Tensor): Tensor {
    const states = [this.preprocess0.forward(s0), this.preprocess1.forward(s1)];
    for (let k = 0; k < 4; k++) {
      const a = this.cell.edges[2 * k]!;
      const b = this.cell.edges[2 * k + 1]!;
      states.push(this.ops.at(2 * k).forward(states[a.input]!).add(this.ops.at(2 * k + 1).forward(states[b.input]!)));
    }
    return cat(states.slice(2), 1);
  }
}

export class DartsNet extends Module {
  readonly stem: Sequential;
  readonly cells: ModuleList<DartsNetCell>;
  readonly pool = new AdaptiveAvgPool2d(1);
  readonly classifier: Linear;
  constructor(arch: DartsArch, inChannels: number, numClasses: number, gen: Generator, C = 16, layers = 8) {
    super();
    this.stem = this.child('stem', new Sequential(new Conv2d(inChannels, 3 * C, 3, { gen, padding: 1, bias: false }), new BatchNorm2d(3 * C)));
    this.cells = this.child('cells', new ModuleList<DartsNetCell>());
    let cpp = 3 * C;
    let cp = 3 * C;
    let cur = C;
    let reductionPrev = false;
    const reductions = new Set([Math.floor(layers / 3), Math.floor((2 * layers) / 3)]);
    for (let i = 0; i < layers; i++) {
      const reduction = reductions.has(i);
      if (reduction) cur *= 2;
      this.cells.push(new DartsNetCell(reduction ? arch.reduce : arch.normal, cpp, cp, cur, reduction, reductionPrev, gen));
      reductionPrev = reduction;
      cpp = cp;
      cp = 4 * cur;
    }
    this.classifier = this.child('classifier', new Linear(cp, numClasses, { gen }));
  }
  forward(x: Tensor): Tensor {
    return forwardCellChain(x, this.stem, this.cells, this.pool, this.classifier);
  }
}

/**
 * The forward of a DARTS-style network (Liu et al. 2019): stem, then cells each reading the two
 * previous outputs (the stem's output twice for the first), global pooling, linear classifier;
 * [N, C, H, W] -> logits [N, classes]. Each cell runs as its own stage (forwardStage): the older
 * of its two inputs is needed by no later cell, so it is freed once the cell has read it. Shared
 * by the built network (DartsNet) and the DARTS-cell supernet (oneshot/darts-cell.ts).
 */
export function forwardCellChain(x: Tensor, stem: Layer, cells: Iterable<{ forward(s0: Tensor, s1: Tensor): Tensor }>, pool: Layer, classifier: Layer): Tensor {
  let s0 = stem.forward(x);
  let s1 = s0;
  for (const c of cells) {
    const a = s0;
    const b = s1;
    const out = forwardStage(() => c.forward(a, b), a === b ? x : a, x);
    [s0, s1] = [b, out];
  }
  return forwardStage(() => classifier.forward(pool.forward(s1).flatten(1)), s1, x);
}
