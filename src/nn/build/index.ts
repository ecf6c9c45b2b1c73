/**
 * Architecture (plain data) -> nn Module. `buildNetwork` first runs the analytic shape inference
 * (analyze.ts), so an architecture that cannot fit its input fails with a `shape_mismatch` naming
 * the layer before any tensor is allocated. Weights get PyTorch's default initialisation from the
 * caller's Generator, so a seed fixes them.
 */
import type { NetworkArch } from '../../core/arch.js';
import { assertNever } from '../../core/errors.js';
import type { Generator } from '../../tensor/index.js';
import type { Layer } from '../module.js';
import { analyzeArch, DARTS_DEFAULTS, NB201_DEFAULTS, type CostReport, type DartsOptions, type InputSpec, type Nb201Options } from './analyze.js';
import { DartsNet } from './darts.js';
import { ChainCnnNet } from './chain.js';
import { buildMlp } from './mlp.js';
import { Nb201Net } from './nb201.js';

export * from './analyze.js';
export { ChainBlock, ChainCnnNet } from './chain.js';
export { buildMlp } from './mlp.js';
export { lenet } from './lenet.js';
export { Nb201Cell, Nb201Net, Nb201ResBlock } from './nb201.js';
export { DartsNet, DartsNetCell, FactorizedReduce, ZeroStrided } from './darts.js';
export { Zero } from './common.js';

export interface BuildOptions {
  readonly gen: Generator;
  readonly nb201?: Nb201Options;
  readonly darts?: DartsOptions;
}

export interface BuiltNetwork {
  readonly module: Layer;
  /** The analysis the build was checked against (params equal module.numParameters()). */
  readonly report: CostReport;
}

export function buildNetwork(arch: NetworkArch, input: InputSpec, o: BuildOptions): BuiltNetwork {
  const report = analyzeArch(arch, input, { ...(o.nb201 ? { nb201: o.nb201 } : {}), ...(o.darts ? { darts: o.darts } : {}) });
  const c = input.shape[0] as number;
  let module: Layer;
  switch (arch.family) {
    case 'chain_cnn':
      module = new ChainCnnNet(arch, c, input.numClasses, o.gen, report.featureShape);
      break;
    case 'mlp':
      module = buildMlp(arch, input.shape.reduce((a, b) => a * b, 1), input.numClasses, o.gen);
      break;
    case 'nb201':
      module = new Nb201Net(arch, c, input.numClasses, o.gen, o.nb201?.width ?? NB201_DEFAULTS.width, o.nb201?.cells ?? NB201_DEFAULTS.cells);
      break;
    case 'darts':
      module = new DartsNet(arch, c, input.numClasses, o.gen, o.darts?.width ?? DARTS_DEFAULTS.width, o.darts?.layers ?? DARTS_DEFAULTS.layers);
      break;
    default:
      return assertNever(arch, 'network family');
  }
  return { module, report };
}
