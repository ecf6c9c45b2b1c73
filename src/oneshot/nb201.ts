/**
 * The NAS-Bench-201 supernet (Dong & Yang 2020's search skeleton): the stand-alone `Nb201Net` of
 * src/nn/build/nb201.ts module for module (stem conv3x3+BN, N cells per stage, the two residual
 * reduction blocks, BN-ReLU-GAP-linear head), with each of a cell's 6 edges a mixed edge over the
 * 5 NB201 ops built by the same constructors (ReLU-Conv-BN 1x1 / 3x3, 3x3 average pool with
 * count_include_pad=False, identity, zero). All cells share one alpha table [6 edges][5 ops], as in
 * the NB201 paper's one-shot baselines. A derived architecture therefore retrains with
 * `buildNetwork(arch, input, { nb201: { width, cells } })` exactly as searched.
 *
 * Edge e of the cell goes from node EDGE_FROM[e] into node EDGE_TO[e] (the order of
 * `Nb201Arch.ops` and of the arch string `|e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|`); records name the
 * edges `e0`..`e5`. Derivation: argmax over all 5 ops per edge (`none` included), as the NB201
 * code's `genotype()`.
 */
import { NB201_OPS, type Nb201Arch, type Nb201Op } from '../core/arch.js';
import { NasError, assertNever } from '../core/errors.js';
import { Zero } from '../nn/build/common.js';
import { NB201_DEFAULTS, analyzeArch, type InputSpec } from '../nn/build/analyze.js';
import { Nb201ResBlock, reluConvBn } from '../nn/build/nb201.js';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear, ModuleList, ReLU, Sequential } from '../nn/layers.js';
import { Module, type Layer } from '../nn/module.js';
import { tidy, type Generator, type Tensor } from '../tensor/index.js';
import { MixedEdge, argmaxRows, type EdgeInfo, type ForwardMode, type ModeRef, type Supernet } from './supernet.js';

export const NB201_EDGE_FROM: readonly number[] = [0, 0, 1, 0, 1, 2];
export const NB201_EDGE_TO: readonly number[] = [1, 2, 2, 3, 3, 3];

export const NB201_EDGES: readonly EdgeInfo[] = NB201_EDGE_FROM.map((from, e) => ({ name: `e${e}`, cell: 'cell', from, to: NB201_EDGE_TO[e]!, ops: NB201_OPS }));

function candidate(op: Nb201Op, c: number, gen: Generator): Layer | undefined {
  switch (op) {
    case 'none':
      return undefined;
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

const zero = new Zero();
const zeroOf = (x: Tensor) => zero.forward(x);

/** One searchable NB201 cell: node k = sum of its mixed incoming edges. */
export class Nb201SuperCell extends Module {
  readonly edges: ModuleList<MixedEdge>;
  constructor(c: number, gen: Generator, ref: ModeRef) {
    super();
    this.edges = this.child('edges', new ModuleList(NB201_EDGE_FROM.map((_, e) => new MixedEdge(e, NB201_OPS.map((op) => candidate(op, c, gen)), ref, zeroOf))));
  }
  forward(x: Tensor): Tensor {
    const nodes: Tensor[] = [x];
    for (let j = 1; j <= 3; j++) {
      let acc: Tensor | undefined;
      for (let e = 0; e < 6; e++) {
        if (NB201_EDGE_TO[e] !== j) continue;
        const y = this.edges.at(e).forward(nodes[NB201_EDGE_FROM[e]!]!);
        acc = acc === undefined ? y : acc.add(y);
      }
      nodes.push(acc!);
    }
    return nodes[3]!;
  }
}

export interface Nb201SupernetOptions {
  /** Channels of the first stage (default 16, the benchmark's C). */
  readonly width?: number;
  /** Cells per stage (default 5, the benchmark's N; the search usually uses fewer). */
  readonly cells?: number;
}

class Nb201SuperNetModule extends Module {
  readonly net: Sequential;
  constructor(inChannels: number, numClasses: number, gen: Generator, C: number, N: number, ref: ModeRef) {
    super();
    const layers: Layer[] = [new Conv2d(inChannels, C, 3, { gen, padding: 1, bias: false }), new BatchNorm2d(C)];
    [C, 2 * C, 4 * C].forEach((c, stage) => {
      if (stage > 0) layers.push(new Nb201ResBlock(c / 2, c, gen));
      for (let i = 0; i < N; i++) layers.push(new Nb201SuperCell(c, gen, ref));
    });
    layers.push(new BatchNorm2d(4 * C), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4 * C, numClasses, { gen }));
    this.net = this.child('net', new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }
}

/**
 * Builds the NB201 supernet for `input` (image [C,H,W], H and W divisible by 4). Weights are drawn
 * from `gen` (PyTorch's default init); alpha starts at 1e-3 * N(0,1), as in the DARTS code.
 */
export function nb201Supernet(input: InputSpec, gen: Generator, o: Nb201SupernetOptions = {}): Supernet<Nb201Arch> {
  const width = o.width ?? NB201_DEFAULTS.width;
  const cells = o.cells ?? NB201_DEFAULTS.cells;
  // The stand-alone network's shape rules (divisible spatial sizes) apply to the supernet too.
  analyzeArch({ family: 'nb201', ops: ['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3'] }, input, { nb201: { width, cells } });
  const ref: ModeRef = { mode: undefined };
  const module = new Nb201SuperNetModule(input.shape[0]!, input.numClasses, gen, width, cells, ref);
  const alpha = NB201_EDGES.map((e) => tidy(() => gen.randn([e.ops.length]).mul(1e-3)).keep().requiresGrad_(true));
  const pathArch = (index: readonly number[]): Nb201Arch => {
    if (index.length !== 6) throw new NasError('invalid_arch', `an NB201 path chooses 6 ops, got ${index.length}`, { field: 'index' });
    return { family: 'nb201', ops: index.map((k) => NB201_OPS[k]!) as unknown as Nb201Arch['ops'] };
  };
  return {
    module,
    edges: NB201_EDGES,
    alpha,
    setMode(mode: ForwardMode) {
      ref.mode = mode;
    },
    derive: (prefs) => pathArch(argmaxRows(prefs)),
    pathArch,
    archOps: (a) => [...a.ops],
    dispose() {
      module.dispose();
      for (const a of alpha) a.dispose();
    },
  };
}

/** Op index per edge of an NB201 architecture (the inverse of `pathArch`). */
export function nb201Path(a: Nb201Arch): number[] {
  return a.ops.map((op) => NB201_OPS.indexOf(op));
}
