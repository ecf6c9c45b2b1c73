/**
 * The layer-wise CNN chain: per layer conv(k, same padding, stride 1; bias only without batch norm)
 * -> [BN] -> activation -> [+ input, through a 1x1 projection when channels change, when skip and
 * no pooling] -> [max pool window=stride=pool]; then the head (core/arch.ts ChainHead): global
 * average pool -> dropout -> linear, or flatten -> dropout -> [linear -> ReLU -> dropout] -> linear.
 */
import type { ChainCnnArch, ChainLayer } from '../../core/arch.js';
import { NasError } from '../../core/errors.js';
import type { Generator, Tensor } from '../../tensor/index.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ModuleList, ReLU, Sequential, forwardStage } from '../layers.js';
import { Module, type Layer } from '../module.js';
import { activation } from './common.js';

export class ChainBlock extends Module {
  readonly body: Sequential;
  readonly proj: Conv2d | undefined;
  readonly pool: MaxPool2d | undefined;
  /** True when the block adds its input (through `proj` when channels change). */
  readonly residual: boolean;

  constructor(cin: number, l: ChainLayer, gen: Generator) {
    super();
    const parts: Layer[] = [new Conv2d(cin, l.channels, l.kernel, { gen, padding: l.kernel >> 1, bias: !l.batchNorm })];
    if (l.batchNorm) parts.push(new BatchNorm2d(l.channels));
    parts.push(activation(l.activation));
    this.body = this.child('body', new Sequential(...parts));
    this.residual = l.skip && l.pool === 1;
    this.proj = this.residual && cin !== l.channels ? this.child('proj', new Conv2d(cin, l.channels, 1, { gen, bias: false })) : undefined;
    this.pool = l.pool > 1 ? this.child('pool', new MaxPool2d(l.pool)) : undefined;
  }

  forward(x: Tensor): Tensor {
    let y = this.body.forward(x);
    if (this.residual) y = y.add(this.proj ? this.proj.forward(x) : x);
    return this.pool ? this.pool.forward(y) : y;
  }
}

export class ChainCnnNet extends Module {
  readonly layers: ModuleList<ChainBlock>;
  readonly head: Sequential;

  /**
   * @param featureShape the last feature map's per-sample shape [C, H, W] as analyzeArch infers it
   *   (CostReport.featureShape); needed only by a `flatten` head, whose linear layer's width is
   *   C*H*W. buildNetwork passes it, so the module and the cost analysis cannot disagree.
   *   Errors: `invalid_arch` for a flatten head without it; `internal` when its channels are not
   *   the last layer's.
   */
  constructor(arch: ChainCnnArch, inChannels: number, numClasses: number, gen: Generator, featureShape?: readonly number[]) {
    super();
    const head = arch.head ?? { kind: 'gap' as const };
    // Checked before any tensor is allocated.
    const last = arch.layers.length ? arch.layers[arch.layers.length - 1]!.channels : inChannels;
    if (head.kind === 'flatten') {
      if (!featureShape || featureShape.length !== 3) throw new NasError('invalid_arch', 'a chain CNN with a flatten head needs the last feature map shape [C, H, W]', { field: 'head', hint: 'build it with buildNetwork (it passes analyzeArch\'s featureShape)' });
      if (featureShape[0] !== last) throw new NasError('internal', `the feature shape ${JSON.stringify(featureShape)} has ${featureShape[0]} channels, the last layer ${last}`, { field: 'featureShape' });
    }
    this.layers = this.child('layers', new ModuleList<ChainBlock>());
    let c = inChannels;
    for (const l of arch.layers) {
      this.layers.push(new ChainBlock(c, l, gen));
      c = l.channels;
    }
    switch (head.kind) {
      case 'gap':
        this.head = this.child('head', new Sequential(new AdaptiveAvgPool2d(1), new Flatten(), new Dropout(arch.dropout, gen), new Linear(c, numClasses, { gen })));
        break;
      case 'flatten': {
        const n = featureShape!.reduce((a, b) => a * b, 1);
        const parts = head.hidden > 0
          ? [new Flatten(), new Dropout(arch.dropout, gen), new Linear(n, head.hidden, { gen }), new ReLU(), new Dropout(arch.dropout, gen), new Linear(head.hidden, numClasses, { gen })]
          : [new Flatten(), new Dropout(arch.dropout, gen), new Linear(n, numClasses, { gen })];
        this.head = this.child('head', new Sequential(...parts));
        break;
      }
    }
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = forwardStage(() => l.forward(y), y, x);
    return forwardStage(() => this.head.forward(y), y, x);
  }
}
