/** Small architectures of every family for the compression tests. */
import type { ChainCnnArch, DartsArch, DartsCell, MlpArch, Nb201Arch, NetworkArch } from '../core/arch.js';
import { buildNetwork } from '../nn/build/index.js';
import { Generator } from '../tensor/index.js';
import { lowerModule, type LoweredNet } from './lower.js';
import { fuse, type FusedNet } from './quantize.js';

export const nb = (ops: string): Nb201Arch => ({ family: 'nb201', ops: ops.split(',') as unknown as Nb201Arch['ops'] });
export const CHAIN: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0.2,
  layers: [
    { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 8, activation: 'gelu', batchNorm: false, pool: 2, skip: true },
    { kernel: 5, channels: 12, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 12, activation: 'silu', batchNorm: true, pool: 1, skip: true },
  ],
};
const dartsCell = (l: [string, number][]) => ({ edges: l.map(([op, input]) => ({ op, input })) }) as unknown as DartsCell;
export const DARTS: DartsArch = {
  family: 'darts',
  normal: dartsCell([['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['none', 0], ['sep_conv_3x3', 1], ['dil_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['avg_pool_3x3', 2]]),
  reduce: dartsCell([['max_pool_3x3', 0], ['none', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]]),
};
export const MLP: MlpArch = { family: 'mlp', hidden: [32, 16], activation: 'relu', batchNorm: true, dropout: 0.1 };
export const FAMILIES: { name: string; arch: NetworkArch; shape: number[] }[] = [
  { name: 'chain', arch: CHAIN, shape: [1, 8, 8] },
  // the last conv's channels feed a flatten: pruning one removes H*W columns of the hidden linear layer
  { name: 'chain flatten head', arch: { ...CHAIN, head: { kind: 'flatten', hidden: 6 } }, shape: [1, 8, 8] },
  { name: 'mlp', arch: MLP, shape: [1, 8, 8] },
  { name: 'nb201', arch: nb('nor_conv_3x3,skip_connect,nor_conv_1x1,avg_pool_3x3,none,nor_conv_3x3'), shape: [3, 8, 8] },
  { name: 'darts', arch: DARTS, shape: [3, 8, 8] },
];
export const SMALL = { nb201: { width: 4, cells: 1 }, darts: { width: 4, layers: 3 } };


/**
 * `arch` built (Generator(1), SMALL sizes, 10 classes) in eval mode, lowered and fused, the module
 * disposed: the float graph the int8 tests quantize. The caller disposes `low.weights`.
 */
export function loweredAndFused(arch: NetworkArch, shape: number[]): { low: LoweredNet; fused: FusedNet } {
  const { module } = buildNetwork(arch, { shape, numClasses: 10 }, { gen: new Generator(1), ...SMALL });
  module.eval();
  const low = lowerModule(module, shape, 10);
  module.dispose();
  return { low, fused: fuse(low.graph, low.weights) };
}
