/**
 * The NAS-Bench-201 network, module for module the `NB201Net` of ../shared/bench/torch_reference.py
 * (so parameter names, shapes, default init and state dicts map 1:1 onto PyTorch's):
 *   net = Sequential(conv3x3(3->C, no bias), BN(C),
 *                    N cells(C), ResBlock(C->2C), N cells(2C), ResBlock(2C->4C), N cells(4C),
 *                    BN(4C), ReLU, AdaptiveAvgPool(1), Flatten, Linear(4C->classes))
 * Cell: node k (1..3) = sum of its edges' ops applied to earlier nodes; ops ReLU-Conv-BN (1x1, 3x3),
 * 3x3 average pool (count_include_pad=False), identity, zero. ResBlock: ReLU-Conv3x3/2-BN ->
 * ReLU-Conv3x3-BN, plus AvgPool2 -> conv1x1 on the shortcut.
 */
import type { Nb201Arch, Nb201Op } from '../../core/arch.js';
import { assertNever } from '../../core/errors.js';
import type { Generator, Tensor } from '../../tensor/index.js';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear, ModuleList, ReLU, Sequential } from '../layers.js';
import { Module, type Layer } from '../module.js';
import { Zero } from './common.js';

export function reluConvBn(ci: number, co: number, k: number, stride: number, pad: number, gen: Generator): Sequential {
  return new Sequential(new ReLU(), new Conv2d(ci, co, k, { gen, stride, padding: pad, bias: false }), new BatchNorm2d(co));
}

function makeOp(op: Nb201Op, c: number, gen: Generator): Layer {
  switch (op) {
    case 'none':
      return new Zero();
    case 'skip_connect':
      return new Identity();
    case 'nor_conv_1x1':
      return reluConvBn(c, c, 1, 1, 0, gen);
    case 'nor_conv_3x3':
      return reluConvBn(c, c, 3, 1, 1, gen);
    case 'avg_pool_3x3':
      return new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false });
    default:
      return assertNever(op, 'nb201 op');
  }
}

/** Edge e of the cell goes from node EDGE_FROM[e] into node EDGE_TO[e]. */
export const EDGE_FROM: readonly number[] = [0, 0, 1, 0, 1, 2];
export const EDGE_TO: readonly number[] = [1, 2, 2, 3, 3, 3];

export class Nb201Cell extends Module {
  readonly ops: ModuleList<Layer>;
  constructor(readonly arch: Nb201Arch, c: number, gen: Generator) {
    super();
    this.ops = this.child('ops', new ModuleList(arch.ops.map((op) => makeOp(op, c, gen))));
  }
  forward(x: Tensor): Tensor {
    const nodes: Tensor[] = [x];
    let acc: Tensor | undefined;
    for (let e = 0; e < 6; e++) {
      // A `none` edge adds x*0, which changes nothing but propagates NaN/Inf like the reference;
      // it is skipped except when a node would otherwise have no input at all.
      const op = this.arch.ops[e] as Nb201Op;
      if (op !== 'none') {
        const y = this.ops.at(e).forward(nodes[EDGE_FROM[e] as number] as Tensor);
        acc = acc === undefined ? y : acc.add(y);
      }
      if (e === 5 || EDGE_TO[e + 1] !== EDGE_TO[e]) {
        nodes.push(acc ?? this.ops.at(e).forward(nodes[EDGE_FROM[e] as number] as Tensor));
        acc = undefined;
      }
    }
    return nodes[3] as Tensor;
  }
}

export class Nb201ResBlock extends Module {
  readonly a: Sequential;
  readonly b: Sequential;
  readonly down: Sequential;
  constructor(ci: number, co: number, gen: Generator) {
    super();
    this.a = this.child('a', reluConvBn(ci, co, 3, 2, 1, gen));
    this.b = this.child('b', reluConvBn(co, co, 3, 1, 1, gen));
    this.down = this.child('down', new Sequential(new AvgPool2d(2, { stride: 2 }), new Conv2d(ci, co, 1, { gen, bias: false })));
  }
  forward(x: Tensor): Tensor {
    return this.down.forward(x).add(this.b.forward(this.a.forward(x)));
  }
}

export class Nb201Net extends Module {
  readonly net: Sequential;
  constructor(arch: Nb201Arch, inChannels: number, numClasses: number, gen: Generator, C = 16, N = 5) {
    super();
    const layers: Layer[] = [new Conv2d(inChannels, C, 3, { gen, padding: 1, bias: false }), new BatchNorm2d(C)];
    [C, 2 * C, 4 * C].forEach((c, stage) => {
      if (stage > 0) layers.push(new Nb201ResBlock(c / 2, c, gen));
      for (let i = 0; i < N; i++) layers.push(new Nb201Cell(arch, c, gen));
    });
    layers.push(new BatchNorm2d(4 * C), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4 * C, numClasses, { gen }));
    this.net = this.child('net', new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }
}
