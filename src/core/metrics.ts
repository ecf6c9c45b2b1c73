/**
 * Result vocabulary shared by every layer (evaluators produce it, strategies read it, stores keep it,
 * dashboards draw it). Flat records of numbers, so stores and dashboards need no schema.
 *
 * Metric naming convention:
 *   val_acc, val_loss, val_f1, ...   validation split: what search decisions may use
 *   test_acc, test_loss, test_f1 ... held-out test split: reported only, never used by a strategy
 *   train_loss, train_acc            training split
 *   params, flops, macs, latency_ms, memory_bytes   costs
 * Accuracies are percentages in [0, 100].
 */

import { closest } from './suggest.js';

export type Direction = 'maximize' | 'minimize';

export interface Objective {
  /** A metric name, e.g. `val_acc` or `latency_ms`. */
  readonly metric: string;
  readonly direction: Direction;
  /**
   * Secondary metric that orders trials whose objective values are equal (e.g. `val_loss`,
   * minimised, under a `val_acc` objective: on small data many candidates score 100%). Used where
   * the best trial is chosen (stores, strategies' `bestTrial`, TPE's good/bad split); a trial that
   * lacks it ranks after one that has it. Without it, ties go to the earliest trial.
   */
  readonly tieBreak?: TieBreak;
}

export interface TieBreak {
  readonly metric: string;
  readonly direction: Direction;
}

/**
 * Order of two trials' metrics on a tie-break: > 0 when `a` ranks above `b`, < 0 below, 0 when
 * equal or no tie-break is given. A missing or non-finite value ranks below any finite one.
 */
export function compareTieBreak(a: Metrics | null | undefined, b: Metrics | null | undefined, tb: TieBreak | undefined): number {
  if (!tb) return 0;
  const va = a?.[tb.metric];
  const vb = b?.[tb.metric];
  const fa = typeof va === 'number' && Number.isFinite(va);
  const fb = typeof vb === 'number' && Number.isFinite(vb);
  if (!fa || !fb) return fa === fb ? 0 : fa ? 1 : -1;
  return tb.direction === 'maximize' ? (va as number) - (vb as number) : (vb as number) - (va as number);
}

/**
 * A trial's value as a candidate for objective `i` (0: the first objective): its recorded
 * objective value `values[i]` when finite, else null. The one definition of "a candidate's value"
 * every place that ranks, draws or picks trials by objective value uses (stores' best trial,
 * dashboard and report charts and sorts, ensembles, warm-start imports, strategies' history);
 * metrics are never a fallback for it. A trial whose `values` are null is no candidate: the
 * one-shot supernet search trial (docs/oneshot.md: trial 0, `values: null`; its `val_acc` is the
 * supernet's on the architecture half, not any network's), a failed trial, a pruned trial that
 * reported no objective.
 */
export function candidateValue(t: { readonly values?: readonly number[] | null }, i = 0): number | null {
  const v = t.values?.[i];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Whether a trial is the one-shot supernet search trial (params `oneshot_role: "search"`,
 * docs/oneshot.md): what tables mark as "supernet" instead of showing it as a candidate.
 */
export function isSupernetTrial(t: { readonly params?: Readonly<Record<string, unknown>> | null }): boolean {
  return t.params?.['oneshot_role'] === 'search';
}

/** `metric <= max` or `metric >= min`; a candidate that violates one is infeasible. */
export interface Constraint {
  readonly metric: string;
  readonly max?: number;
  readonly min?: number;
}

export type Metrics = Readonly<Record<string, number>>;

/** One point of a learning curve (per epoch for the trainer; per fidelity level for tables). */
export interface Progress {
  /** 1-based epoch (or fidelity step) that has just finished. */
  readonly step: number;
  readonly metrics: Metrics;
}

/**
 * True when a metric present in `metrics` violates a constraint. Absent metrics are not judged (a
 * cost the evaluator did not report cannot be checked); NaN violates (`!(NaN <= max)`). The one rule
 * strategies (fitness), stores (the best trial) and dashboards (feasibility marks) share.
 */
export function violates(metrics: Metrics, constraints: readonly Constraint[]): boolean {
  for (const c of constraints) {
    const v = metrics[c.metric];
    if (v === undefined) continue;
    if (c.max !== undefined && !(v <= c.max)) return true;
    if (c.min !== undefined && !(v >= c.min)) return true;
  }
  return false;
}

/**
 * Metric kinds by name, shared by metricBounds and metricSense: accuracies in percent, 0-1 scores,
 * costs and losses (lower is better), and other non-negative counts and spreads.
 */
const ACCURACY = /(^|_)acc$/;
const SCORE = /_(precision|recall|f1)$/;
const COUNT_OR_SPREAD = /^(epochs|cv_folds|cv_repeats)$|_std$/;
const isCost = (name: string): boolean => /^(params|flops|macs)$/.test(name) || /^(latency|size|memory)/.test(name) || /_(ms|bytes|seconds|loss)$/.test(name);

/**
 * The values a metric can take by its name (the naming convention above), for checking a
 * constraint before any search: `lo`/`hi` inclusive, absent when unbounded. Accuracies (`*_acc`)
 * are percentages in [0, 100]; costs (params, flops, macs, `latency*`, `*_ms`, `*_bytes`,
 * `*_seconds`, `size*`, `memory*`), losses, spreads (`*_std`), precision, recall and F1 are never
 * negative. Unknown names: unbounded (nothing is assumed).
 */
export function metricBounds(name: string): { readonly lo?: number; readonly hi?: number } {
  if (ACCURACY.test(name)) return { lo: 0, hi: 100 };
  if (isCost(name) || SCORE.test(name) || COUNT_OR_SPREAD.test(name)) return { lo: 0 };
  return {};
}

/**
 * Which way a metric is better, by the naming convention of metricBounds, or undefined for a name
 * it does not know: accuracies and precision/recall/f1 (`val_acc`, `test_f1`) are maximised; costs
 * and losses (`params`, `flops`, `macs`, `latency*`, `size*`, `memory*`, `*_ms`, `*_bytes`,
 * `*_seconds`, `*_loss`) are minimised. Used to refuse an objective on a cost metric written
 * without a direction (the old default, maximize, silently searched for the slowest / largest
 * network).
 */
export function metricSense(name: string): 'maximize' | 'minimize' | undefined {
  if (ACCURACY.test(name) || SCORE.test(name)) return 'maximize';
  if (isCost(name)) return 'minimize';
  return undefined;
}

/**
 * Why a constraint can never be met whatever the architecture, or undefined: a bound outside the
 * metric's range (`max: -5` on latency_ms, `min: 101` on val_acc), or `min` above `max`.
 */
export function impossibleConstraint(c: Constraint): string | undefined {
  const { lo, hi } = metricBounds(c.metric);
  if (c.min !== undefined && c.max !== undefined && c.min > c.max) return `min ${c.min} is above max ${c.max}: no value lies between them`;
  if (c.max !== undefined && lo !== undefined && c.max < lo) return `max ${c.max} is below ${lo}, the least ${c.metric} can be`;
  if (c.min !== undefined && hi !== undefined && c.min > hi) return `min ${c.min} is above ${hi}, the most ${c.metric} can be`;
  return undefined;
}

/** Words users write for the parts of metric names (`val_accuracy`, `validation_loss`, `num_params`), by the convention above. */
const METRIC_WORDS: Readonly<Record<string, string>> = {
  accuracy: 'acc',
  accuracies: 'acc',
  validation: 'val',
  valid: 'val',
  training: 'train',
  testing: 'test',
  parameters: 'params',
  parameter: 'params',
  param: 'params',
  nparams: 'params',
  num: '',
  n: '',
  count: '',
  flop: 'flops',
  mac: 'macs',
  latency: 'latency',
  time: 'seconds',
  secs: 'seconds',
  sec: 'seconds',
  s: 'seconds',
  score: '',
  f1score: 'f1',
  memory: 'memory',
  mem: 'memory',
  bytes: 'bytes',
};

/**
 * The metric of `names` a user meant by `word`, or undefined: the name itself in another spelling
 * (case, `-` for `_`, the long words of METRIC_WORDS: `val_accuracy` -> `val_acc`,
 * `num_params` -> `params`, `validation_loss` -> `val_loss`), a name that is `val_` + it (the
 * metric a search decides on: `accuracy` -> `val_acc`; `latency` -> `latency_ms` by unit), the one
 * name that is a prefix + it (`synflow` -> `proxy_synflow`), else the closest spelling (src/core/suggest.ts closest). Every place a metric name is taken uses it
 * (objectives, tie-breaks, constraints, one-shot objectives, table metrics, dashboard sorts).
 */
export function closestMetric(word: string, names: readonly string[]): string | undefined {
  const norm = (s: string): string =>
    s
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .map((t) => METRIC_WORDS[t] ?? t)
      .filter((t) => t !== '')
      .join('_');
  const w = norm(word);
  const byNorm = new Map(names.map((n) => [norm(n), n] as const));
  for (const c of [w, `val_${w}`, `${w}_ms`]) if (byNorm.has(c)) return byNorm.get(c);
  // The one name that is a prefix + it (`synflow` -> `proxy_synflow`; new user 10b, finding 7).
  const prefixed = w === '' ? [] : names.filter((n) => norm(n).endsWith(`_${w}`));
  if (prefixed.length === 1) return prefixed[0];
  return closest(word, names) ?? closest(w, names);
}

/** `; did you mean NAME?` for a metric name (closestMetric), or ''. */
export function didYouMeanMetric(word: string, names: readonly string[]): string {
  const m = closestMetric(word, names);
  return m === undefined ? '' : `; did you mean ${m}?`;
}
