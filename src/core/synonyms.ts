/**
 * Other names users give the enumerated values of flags and config fields, by the words of other
 * tools and papers (PyTorch's quantization modes, Optuna's directions, pandas' booleans). Each
 * enum check (src/cli/args.ts choices, src/api/validate.ts oneOf, the registries) passes its table
 * to didYouMeanValue (src/core/suggest.ts), so `--quantize int8` answers `did you mean static
 * (...)?` and `direction: max` `did you mean maximize?`. Keys are lower-case; a table may name
 * values a command does not offer (didYouMeanValue then falls back to the closest spelling).
 */
import type { Synonyms } from './suggest.js';

/** `--quantize` / compress `quantize`: every mode is int8; "int8" alone usually means post-training static. */
export const QUANTIZE_SYNONYMS: Synonyms = {
  int8: { value: 'static', note: 'every mode is int8; static is post-training int8 of weights and activations, calibrated; qat and dynamic are the others' },
  uint8: { value: 'static', note: 'every mode is 8-bit; static is post-training int8 of weights and activations' },
  ptq: { value: 'static', note: 'post-training quantization' },
  'post-training': { value: 'static', note: 'post-training quantization' },
  post_training: { value: 'static', note: 'post-training quantization' },
  calibrated: { value: 'static' },
  'quantization-aware': { value: 'qat', note: 'quantization-aware training' },
  quantization_aware: { value: 'qat', note: 'quantization-aware training' },
  aware: { value: 'qat', note: 'quantization-aware training' },
  weights: { value: 'dynamic', note: 'int8 weights, activations quantized on the fly' },
  'weight-only': { value: 'dynamic', note: 'int8 weights, activations quantized on the fly' },
  weight_only: { value: 'dynamic', note: 'int8 weights, activations quantized on the fly' },
};

/** `--direction`, `direction:`, `tie_break.direction`. */
export const DIRECTION_SYNONYMS: Synonyms = {
  max: { value: 'maximize' },
  maximum: { value: 'maximize' },
  higher: { value: 'maximize' },
  up: { value: 'maximize' },
  min: { value: 'minimize' },
  minimum: { value: 'minimize' },
  lower: { value: 'minimize' },
  down: { value: 'minimize' },
};

/** `--strategy` / `strategy:` (common abbreviations and the names other tools use). */
export const STRATEGY_SYNONYMS: Synonyms = {
  rs: { value: 'random', note: 'random search' },
  random_search: { value: 'random' },
  'random-search': { value: 'random' },
  re: { value: 'evolution', note: 'regularized evolution (Real et al. 2019)' },
  regularized_evolution: { value: 'evolution' },
  'regularized-evolution': { value: 'evolution' },
  aging_evolution: { value: 'evolution' },
  ga: { value: 'genetic', note: 'a genetic algorithm' },
  sh: { value: 'successive_halving' },
  'successive-halving': { value: 'successive_halving' },
  hb: { value: 'hyperband' },
  ls: { value: 'local_search' },
  'local-search': { value: 'local_search' },
  bayesian: { value: 'bo', note: 'Bayesian optimisation' },
  bayes: { value: 'bo', note: 'Bayesian optimisation' },
  gp: { value: 'bo', note: 'Gaussian-process Bayesian optimisation' },
  rl: { value: 'reinforce', note: 'reinforcement learning (REINFORCE)' },
  nsgaii: { value: 'nsga2' },
  'nsga-ii': { value: 'nsga2' },
  nsga: { value: 'nsga2' },
};

/** `--dataset` / `evaluator.dataset`. */
export const DATASET_SYNONYMS: Synonyms = {
  fmnist: { value: 'fashion_mnist' },
  fashion: { value: 'fashion_mnist' },
  fashionmnist: { value: 'fashion_mnist' },
  cifar: { value: 'cifar10' },
  'cifar-10': { value: 'cifar10' },
  cifar_10: { value: 'cifar10' },
  sklearn_digits: { value: 'digits', note: "scikit-learn's 8x8 digits" },
  tabular: { value: 'csv' },
  table: { value: 'csv' },
};

/** `--header` / `evaluator.header` (pandas' and YAML's spellings of the booleans). */
export const HEADER_SYNONYMS: Synonyms = {
  yes: { value: 'true' },
  y: { value: 'true' },
  on: { value: 'true' },
  '1': { value: 'true' },
  no: { value: 'false' },
  n: { value: 'false' },
  off: { value: 'false' },
  none: { value: 'false', note: "pandas' header=None: no header line" },
  '0': { value: 'false' },
  infer: { value: 'auto', note: "pandas' header='infer'" },
  detect: { value: 'auto' },
};

/** Trial states (`tsnas trials --state`, the dashboard's `state=`). */
export const TRIAL_STATE_SYNONYMS: Synonyms = {
  completed: { value: 'complete' },
  done: { value: 'complete' },
  finished: { value: 'complete' },
  success: { value: 'complete' },
  fail: { value: 'failed' },
  error: { value: 'failed' },
  failure: { value: 'failed' },
  queued: { value: 'waiting' },
  pending: { value: 'waiting' },
  stopped: { value: 'pruned' },
};

/** `tsnas ensemble --metric` (the held-out metric of Caruana's selection). */
export const ENSEMBLE_METRIC_SYNONYMS: Synonyms = {
  accuracy: { value: 'acc' },
  log_loss: { value: 'loss', note: 'mean log loss' },
  logloss: { value: 'loss', note: 'mean log loss' },
  nll: { value: 'loss', note: 'mean log loss' },
  cross_entropy: { value: 'loss', note: 'mean log loss' },
};

/** `tsnas ensemble --final`. */
export const ENSEMBLE_FINAL_SYNONYMS: Synonyms = {
  refit: { value: 'retrain' },
  cv: { value: 'folds', note: "the search's cross-validation fold networks" },
  bagging: { value: 'folds', note: "the search's cross-validation fold networks" },
  bag: { value: 'folds', note: "the search's cross-validation fold networks" },
};

/** `tsnas ensemble --method`. */
export const ENSEMBLE_METHOD_SYNONYMS: Synonyms = {
  greedy: { value: 'caruana', note: "Caruana et al. 2004's greedy selection" },
  best: { value: 'top' },
  topk: { value: 'top' },
  top_k: { value: 'top' },
};

/** compress `--prune-scope`, `--prune-schedule`, `--prune-criterion`, `--qengine`. */
export const PRUNE_SCOPE_SYNONYMS: Synonyms = { local: { value: 'layer', note: 'per-layer thresholds' }, layerwise: { value: 'layer' }, per_layer: { value: 'layer' } };
export const PRUNE_SCHEDULE_SYNONYMS: Synonyms = { iterative: { value: 'gradual' }, 'one-shot': { value: 'oneshot' }, once: { value: 'oneshot' } };
export const PRUNE_CRITERION_SYNONYMS: Synonyms = { magnitude: { value: 'l1', note: 'the L1 norm of each channel' }, l1_norm: { value: 'l1' }, norm: { value: 'l1' }, gradient: { value: 'taylor' } };
export const QENGINE_SYNONYMS: Synonyms = { x86: { value: 'onednn', note: "PyTorch's x86 engine" }, fbgemm: { value: 'onednn', note: 'the x86 engine here' }, mkldnn: { value: 'onednn' }, arm: { value: 'qnnpack', note: 'the ARM engine' }, xnnpack: { value: 'qnnpack' } };

/** Output formats (`--format`). */
export const FORMAT_SYNONYMS: Synonyms = { text: { value: 'table' }, txt: { value: 'table' }, jsonl: { value: 'json' }, tsv: { value: 'csv' } };
