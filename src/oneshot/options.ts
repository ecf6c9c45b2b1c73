/**
 * Options of one-shot searches, as plain data with defaults, checked with errors that name the
 * field (`strategy.options.<name>` in study configs). Defaults follow the papers' recipes where a
 * two-core CPU allows (DARTS: SGD 0.025 momentum 0.9 wd 3e-4 cosine to 0.001, clip 5; alpha Adam
 * 3e-4, betas (0.5, 0.999), wd 1e-3; GDAS: tau 10 -> 0.1; SPOS: evolution with mutation prob 0.1).
 */
import { NasError } from '../core/errors.js';
import { Issues } from '../core/issues.js';
import { didYouMean } from '../core/suggest.js';

export const ONESHOT_METHODS = ['darts', 'darts2', 'gdas', 'spos'] as const;
export type OneShotMethodName = (typeof ONESHOT_METHODS)[number];

export function isOneShotMethod(name: string): name is OneShotMethodName {
  return (ONESHOT_METHODS as readonly string[]).includes(name);
}

/** Guards against DARTS' collapse into parameter-free ops. */
export const GUARDS = ['none', 'beta_decay'] as const;
export type GuardName = (typeof GUARDS)[number];

export interface OneShotOptions {
  /** Supernet training epochs (one epoch = one pass over the weights half). */
  readonly epochs: number;
  readonly batchSize: number;
  /** Network weights: SGD with momentum, cosine from lr to lrMin over the epochs. */
  readonly lr: number;
  readonly lrMin: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  /** Architecture parameters: Adam. */
  readonly alphaLr: number;
  readonly alphaBeta1: number;
  readonly alphaBeta2: number;
  readonly alphaWeightDecay: number;
  /** DARTS / DARTS2 only: collapse guard and its strength (beta-decay: lambda at the last epoch). */
  readonly guard: GuardName;
  readonly guardLambda: number;
  /** DARTS2: step size of the virtual (unrolled) weight step; default = lr. */
  readonly xi: number | null;
  /** GDAS: Gumbel-softmax temperature, linearly from tauMax to tauMin over the epochs. */
  readonly tauMax: number;
  readonly tauMin: number;
  /** SPOS: evolutionary search over paths. */
  readonly population: number;
  readonly generations: number;
  readonly topK: number;
  readonly mutationProb: number;
  /** SPOS: batches of the weights half used to recalibrate batch-norm statistics per path. */
  readonly recalibrationBatches: number;
  /** SPOS: at most this many batches of the architecture half score a path (0 = all). */
  readonly scoreBatches: number;
  /** NB201 supernet width (C) and cells per stage (N); the derived network is retrained with the same. */
  readonly width: number;
  readonly cells: number;
  /** DARTS cell supernet: cells (layers) of the network. */
  readonly layers: number;
  /** Epochs of the derived architecture's retraining from scratch; null = the train evaluator's `epochs`. */
  readonly finalEpochs: number | null;
}

export const ONESHOT_DEFAULTS: OneShotOptions = {
  epochs: 10,
  batchSize: 64,
  lr: 0.025,
  lrMin: 0.001,
  momentum: 0.9,
  weightDecay: 3e-4,
  gradClip: 5,
  alphaLr: 3e-4,
  alphaBeta1: 0.5,
  alphaBeta2: 0.999,
  alphaWeightDecay: 1e-3,
  guard: 'none',
  guardLambda: 0.5,
  xi: null,
  tauMax: 10,
  tauMin: 0.1,
  population: 12,
  generations: 4,
  topK: 4,
  mutationProb: 0.1,
  recalibrationBatches: 8,
  scoreBatches: 0,
  width: 16,
  cells: 1,
  layers: 5,
  finalEpochs: null,
};

/** Config keys (snake_case, as in YAML) of each option. */
export const OPTION_KEYS: Readonly<Record<keyof OneShotOptions, string>> = {
  epochs: 'epochs',
  batchSize: 'batch_size',
  lr: 'lr',
  lrMin: 'lr_min',
  momentum: 'momentum',
  weightDecay: 'weight_decay',
  gradClip: 'grad_clip',
  alphaLr: 'alpha_lr',
  alphaBeta1: 'alpha_beta1',
  alphaBeta2: 'alpha_beta2',
  alphaWeightDecay: 'alpha_weight_decay',
  guard: 'guard',
  guardLambda: 'guard_lambda',
  xi: 'xi',
  tauMax: 'tau_max',
  tauMin: 'tau_min',
  population: 'population',
  generations: 'generations',
  topK: 'top_k',
  mutationProb: 'mutation_prob',
  recalibrationBatches: 'recalibration_batches',
  scoreBatches: 'score_batches',
  width: 'width',
  cells: 'cells',
  layers: 'layers',
  finalEpochs: 'final_epochs',
};

const INT_KEYS: ReadonlySet<keyof OneShotOptions> = new Set(['epochs', 'batchSize', 'population', 'generations', 'topK', 'recalibrationBatches', 'scoreBatches', 'width', 'cells', 'layers', 'finalEpochs']);

/**
 * Options from a config object with snake_case keys (unknown keys are an error naming them);
 * `field` prefixes error fields (e.g. `strategy.options`). `space` (the supernet's space) selects
 * the range of `layers`: darts >= 3 cells, chain_cnn 1-12 conv layers; unchecked for nb201 (its
 * supernet is sized by width and cells). Without it, the darts rule.
 */
export function parseOneShotOptions(raw: Readonly<Record<string, unknown>>, field = 'strategy.options', space?: string): OneShotOptions {
  // Every problem is reported at once (core/issues.ts): each key and each range check runs.
  const I = new Issues();
  const byKey = new Map(Object.entries(OPTION_KEYS).map(([k, v]) => [v, k as keyof OneShotOptions]));
  const out: Record<string, unknown> = { ...ONESHOT_DEFAULTS };
  const bad = new Set<keyof OneShotOptions>();
  for (const [k, v] of Object.entries(raw)) {
    const name = byKey.get(k);
    const f = `${field}.${k}`;
    I.take(() => {
      if (!name) throw new NasError('invalid_config', `unknown one-shot option ${JSON.stringify(k)}${didYouMean(k, [...byKey.keys()])}`, { field: f, hint: `use one of: ${[...byKey.keys()].join(', ')}` });
      if (name === 'guard') {
        if (!(GUARDS as readonly unknown[]).includes(v)) throw new NasError('invalid_config', `guard must be one of ${GUARDS.join(', ')}, got ${JSON.stringify(v)}${typeof v === 'string' ? didYouMean(v, GUARDS) : ''}`, { field: f, hint: `use one of: ${GUARDS.join(', ')}` });
        out[name] = v;
        return;
      }
      if ((name === 'xi' || name === 'finalEpochs') && v === null) {
        out[name] = null;
        return;
      }
      bad.add(name);
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new NasError('invalid_config', `${k} must be a number, got ${JSON.stringify(v)}`, { field: f });
      if (INT_KEYS.has(name) && !Number.isInteger(n)) throw new NasError('invalid_config', `${k} must be an integer, got ${n}`, { field: f });
      out[name] = n;
      bad.delete(name);
    }, undefined);
  }
  const o = out as unknown as OneShotOptions;
  // A value already reported as not a number is not range-checked again (its default stands in).
  const check = (name: keyof OneShotOptions, ok: boolean, what: string) => {
    if (!ok && !bad.has(name)) I.add(new NasError('invalid_config', `${OPTION_KEYS[name]} ${what}, got ${JSON.stringify(o[name])}`, { field: `${field}.${OPTION_KEYS[name]}` }));
  };
  check('epochs', o.epochs >= 1 && o.epochs <= 10_000, 'must be an integer in [1, 10000]');
  check('batchSize', o.batchSize >= 1, 'must be a positive integer');
  check('lr', o.lr > 0, 'must be > 0');
  check('lrMin', o.lrMin >= 0 && (!(o.lr > 0) || o.lrMin <= o.lr), 'must be in [0, lr]');
  check('momentum', o.momentum >= 0 && o.momentum < 1, 'must be in [0, 1)');
  check('weightDecay', o.weightDecay >= 0, 'must be >= 0');
  check('gradClip', o.gradClip > 0, 'must be > 0');
  check('alphaLr', o.alphaLr > 0, 'must be > 0');
  check('alphaBeta1', o.alphaBeta1 >= 0 && o.alphaBeta1 < 1, 'must be in [0, 1)');
  check('alphaBeta2', o.alphaBeta2 >= 0 && o.alphaBeta2 < 1, 'must be in [0, 1)');
  check('alphaWeightDecay', o.alphaWeightDecay >= 0, 'must be >= 0');
  check('guardLambda', o.guardLambda >= 0, 'must be >= 0');
  check('xi', o.xi === null || o.xi >= 0, 'must be >= 0 (or null: the weights lr)');
  check('tauMax', o.tauMax > 0, 'must be > 0');
  check('tauMin', o.tauMin > 0 && (!(o.tauMax > 0) || o.tauMin <= o.tauMax), 'must be in (0, tau_max]');
  check('population', o.population >= 2, 'must be an integer >= 2');
  check('generations', o.generations >= 0, 'must be an integer >= 0');
  check('topK', o.topK >= 1 && (!(o.population >= 2) || o.topK <= o.population), 'must be an integer in [1, population]');
  check('mutationProb', o.mutationProb > 0 && o.mutationProb <= 1, 'must be in (0, 1]');
  check('recalibrationBatches', o.recalibrationBatches >= 1, 'must be a positive integer');
  check('scoreBatches', o.scoreBatches >= 0, 'must be an integer >= 0');
  check('width', o.width >= 1, 'must be a positive integer');
  check('cells', o.cells >= 1, 'must be a positive integer');
  // `layers` sizes two supernets, each by its own rule (the message names the space's).
  if (space === 'chain_cnn') check('layers', o.layers >= 1 && o.layers <= 12, 'must be an integer in [1, 12] (the chain_cnn supernet\'s conv layers, as the chain_cnn space)');
  else if (space === 'darts' || space === undefined) check('layers', o.layers >= 3, 'must be an integer >= 3 (the darts supernet\'s cells: two reduction cells and a normal one)');
  check('finalEpochs', o.finalEpochs === null || (o.finalEpochs >= 1 && o.finalEpochs <= 10_000), 'must be an integer in [1, 10000] (or null: the evaluator epochs)');
  I.throwIfAny(field);
  return o;
}

/** The options as a config object (snake_case keys), e.g. for the stored study config. */
export function oneShotOptionsToJson(o: OneShotOptions): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const [k, key] of Object.entries(OPTION_KEYS)) out[key] = o[k as keyof OneShotOptions];
  return out;
}
