/**
 * The network families tsnas can build and train, as plain data. These are the contracts between
 * search spaces (src/space, which produce them) and the network builder / cost model (src/nn,
 * src/eval, which consume them). A space's inferred architecture type must be assignable to one of
 * these for the trainer to accept it. Everything here is JSON.
 */

export const ACTIVATIONS = ['relu', 'gelu', 'silu', 'tanh', 'sigmoid'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** One layer of the layer-wise CNN chain of the classic RL-NAS setup (Zoph & Le 2017 style). */
export interface ChainLayer {
  /** Square conv kernel, stride 1, 'same' padding. */
  readonly kernel: 3 | 5 | 7;
  readonly channels: number;
  readonly activation: Activation;
  readonly batchNorm: boolean;
  /** Max-pool window after the activation (stride = window); 1 means no pooling. */
  readonly pool: 1 | 2 | 3 | 5;
  /** Add the layer's input to its output (1x1 projection when channels differ); skipped when pooling. */
  readonly skip: boolean;
}

/**
 * The classifier head of a chain CNN, tagged by `kind`:
 *  - `gap`: global average pool -> dropout -> linear (the default when `head` is absent; few
 *    parameters, position-free).
 *  - `flatten`: flatten the last C x H x W map -> dropout -> [linear(hidden) -> ReLU -> dropout] ->
 *    linear; `hidden` 0 means no hidden layer. Keeps where a feature is, which small images with
 *    centred objects (Fashion-MNIST) reward; its linear layer costs C*H*W*(hidden or classes) MACs.
 */
export type ChainHead = { readonly kind: 'gap' } | { readonly kind: 'flatten'; readonly hidden: number };

export interface ChainCnnArch {
  readonly family: 'chain_cnn';
  readonly layers: readonly ChainLayer[];
  /** Dropout before the classifier (and after its hidden layer, when it has one). */
  readonly dropout: number;
  /** Absent means `{ kind: 'gap' }`, so architectures written before heads existed keep their meaning. */
  readonly head?: ChainHead;
}

/** NAS-Bench-201 operations, in the benchmark's order. */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/**
 * A NAS-Bench-201 cell: 4 nodes, node 0 the input; the 6 edges in the benchmark's string order
 * 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2 (arch string `|e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|`).
 */
export interface Nb201Arch {
  readonly family: 'nb201';
  readonly ops: readonly [Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op];
}

/** DARTS operations (Liu et al. 2019). */
export const DARTS_OPS = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;
export type DartsOp = (typeof DARTS_OPS)[number];

/** One DARTS cell: each of 4 intermediate nodes (2..5) picks 2 inputs from earlier nodes (0,1 = the two previous cells). */
export interface DartsCell {
  readonly edges: readonly { readonly op: DartsOp; readonly input: number }[]; // 8 entries, 2 per node, node-major
}
export interface DartsArch {
  readonly family: 'darts';
  readonly normal: DartsCell;
  readonly reduce: DartsCell;
}

export interface MlpArch {
  readonly family: 'mlp';
  readonly hidden: readonly number[];
  readonly activation: Activation;
  readonly batchNorm: boolean;
  readonly dropout: number;
}

export type NetworkArch = ChainCnnArch | Nb201Arch | DartsArch | MlpArch;

/** Training hyperparameters searched jointly with the architecture, or fixed by the user. */
export interface TrainHparams {
  readonly optimizer: 'sgd' | 'adam' | 'adamw';
  readonly lr: number;
  readonly batchSize: number;
  readonly weightDecay: number;
  /** SGD only. */
  readonly momentum?: number;
  readonly labelSmoothing?: number;
  readonly schedule?: 'constant' | 'cosine' | 'step';
  readonly warmupEpochs?: number;
}

/** A candidate that carries its own hyperparameters (joint search). */
export interface JointArch<A extends NetworkArch = NetworkArch> {
  readonly arch: A;
  readonly hparams: TrainHparams;
}
