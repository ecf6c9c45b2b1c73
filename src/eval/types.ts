/**
 * The one shape of every evaluator (real training, tabular benchmark, zero-cost proxy): given a
 * candidate, produce metrics. Studies call evaluators; strategies never do.
 *
 * Metric naming convention (flat record of numbers, so stores and dashboards need no schema):
 *   val_acc, val_loss, val_f1, ...   validation split: what search decisions may use
 *   test_acc, test_loss, test_f1 ... held-out test split: reported only, never used by a strategy
 *   train_loss, train_acc            training split
 *   params, flops, macs, latency_ms, memory_bytes   costs
 * Accuracies are percentages in [0, 100].
 */
import type { NasError } from '../core/errors.js';
import type { Json } from '../core/json.js';

export type { Direction, Objective, Constraint, Metrics, Progress } from '../core/metrics.js';
import type { Metrics, Progress } from '../core/metrics.js';

export type ProgressAnswer = 'continue' | 'stop';

export interface EvalRequest<A> {
  readonly arch: A;
  /**
   * Fidelity: epochs for the trainer (or the table's epoch column where it has several). Undefined
   * means the evaluator's full budget. Multi-fidelity strategies set it.
   */
  readonly budget?: number;
  /** Seeds weight init, data order and augmentation. Same seed, same result (on the same machine). */
  readonly seed: number;
  /** Aborted on Ctrl-C, lease loss or wall-clock limit; the evaluator stops at the next step. */
  readonly signal?: AbortSignal;
  /** Called after each step; answering 'stop' ends the evaluation as `pruned`. */
  readonly onProgress?: (p: Progress) => ProgressAnswer | Promise<ProgressAnswer>;
  /**
   * Names this evaluation among all evaluations sharing the evaluator (the run layer passes
   * `trial-<number>-a<attempt>`, unique within a study), so evaluators that keep files (trained
   * weights) name them after it. Characters A-Z a-z 0-9 _ . - only.
   */
  readonly id?: string;
  /**
   * The trained trial this evaluation derives from, when the run layer knows one with kept
   * weights: the trial it promotes (ASHA, successive halving, Hyperband: the same architecture at
   * a lower budget) or the parent it was mutated from (evolution). An evaluator may initialise
   * from `weightsPath` (weight inheritance, src/nn/inherit.ts; the train evaluator's `inherit`
   * option); others ignore it.
   */
  readonly parent?: ParentTrial;
}

/** See EvalRequest.parent. */
export interface ParentTrial {
  readonly trial: number;
  readonly kind: 'promotion' | 'mutation';
  /** The parent's architecture (stored JSON). */
  readonly arch: unknown;
  /** The budget the parent ran at; undefined = the evaluator's full budget. */
  readonly budget?: number;
  /** Its kept weights (a state dict file, src/nn/state.ts). */
  readonly weightsPath: string;
}

export type FailureReason = 'diverged' | 'timeout' | 'invalid_arch' | 'aborted' | 'error';

export type EvalOutcome =
  | {
      readonly status: 'complete';
      readonly metrics: Metrics;
      readonly curve: readonly Progress[];
      /**
       * Trained state kept for export: the absolute path of a file the evaluator wrote (the
       * training evaluator: a state dict by src/nn/state.ts saveStateDict). The run layer records
       * it as the trial's user attribute `weights_path`.
       */
      readonly artifact?: string;
      /**
       * Metrics of `metricNames` left out of `metrics` because they could not be computed for this
       * arch, with why (metric name -> reason; e.g. a zero-cost proxy whose value is NaN). When an
       * objective is among them the run layer fails the trial with this reason in its message.
       */
      readonly absent?: Readonly<Record<string, string>>;
      /**
       * Extra results the run layer records as the trial's user attributes (key -> JSON), after
       * the finish and only for a complete trial; e.g. the train evaluator's `cv_predictions`.
       */
      readonly attrs?: Readonly<Record<string, Json>>;
    }
  | { readonly status: 'pruned'; readonly step: number; readonly metrics: Metrics; readonly curve: readonly Progress[] }
  | {
      readonly status: 'failed';
      readonly reason: FailureReason;
      readonly message: string;
      readonly curve: readonly Progress[];
      readonly error?: NasError;
    };

export interface Evaluator<A> {
  readonly name: string;
  /** Names of the metrics `evaluate` reports, so configs can be checked before anything runs. */
  readonly metricNames: readonly string[];
  /**
   * Metrics the evaluator reports only with an option it was not given: metric name -> the
   * option to add, as written in a config (`latency_ms` -> `latency: true`). Lets a config check
   * name the fix for an objective or constraint on such a metric. Absent when there are none.
   */
  readonly metricOptions?: Readonly<Record<string, string>>;
  /** The largest meaningful `budget` (epochs), for multi-fidelity schedules. */
  readonly maxBudget: number;
  /**
   * The only budgets this evaluator can answer (and report intermediate values at), when it cannot
   * answer every integer 1..maxBudget: a table with final values only has `[maxBudget]`. Undefined =
   * any budget up to maxBudget. Studies check a multi-fidelity schedule against it up front.
   */
  readonly fidelities?: readonly number[];
  /**
   * Must not throw for a bad candidate: a candidate that fails is an outcome (`failed`), and the
   * search goes on. Throwing is for the evaluator itself being broken (e.g. its dataset is missing).
   */
  evaluate(req: EvalRequest<A>): Promise<EvalOutcome>;
  /** Cheap costs known without training (params, flops, ...), for constraints checked before evaluation. */
  costs?(arch: A): Metrics;
  /**
   * Deletes an `artifact` of a complete outcome that was not recorded (the trial's lease was lost,
   * or the run layer judged the outcome failed), so no orphaned file stays behind. Never throws.
   */
  discardArtifact?(artifact: string): void;
}
