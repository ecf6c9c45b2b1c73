/**
 * The one ask/tell interface every search strategy implements.
 *
 * A strategy is a set of pure functions over a plain-JSON state: `init` makes the state, and every
 * call takes the current state and returns the next one. The study stores the state after every
 * call (at least after each `tell`), so a study resumes after a crash, and several workers share
 * one strategy by reading, updating and writing the state atomically. The state includes the
 * strategy's Rng (`rng.state()`); same seed + same sequence of calls = same proposals.
 *
 * Strategies see spaces, never evaluators or stores: what they know about results comes from the
 * `history` in the context (every trial the study created from this strategy's proposals,
 * including running ones) and from `tell`.
 *
 * Multi-fidelity (Hyperband, ASHA, successive halving): a proposal may carry a `budget`; a strategy
 * may propose an already-seen architecture again at a higher budget (`promotes`), and
 * `shouldPrune` decides, from a running trial's intermediate values, whether to stop it.
 */
import type { ArchKey, TrialId } from '../core/ids.js';
import type { Json } from '../core/json.js';
import type { Constraint, Metrics, Objective, Progress } from '../core/metrics.js';
import type { Space } from '../space/space.js';

export type TrialState = 'running' | 'complete' | 'pruned' | 'failed';

/** What a strategy knows about one trial. Architectures are plain JSON values of the space. */
export interface TrialRecord<A> {
  readonly id: TrialId;
  readonly arch: A;
  /** `space.key(arch)`. */
  readonly key: ArchKey;
  readonly state: TrialState;
  /** The fidelity it ran at; undefined = the evaluator's full budget. */
  readonly budget?: number;
  /** Final metrics when complete; last reported when pruned; may be partial or absent otherwise. */
  readonly metrics?: Metrics;
  /** Per-step values reported so far (learning curve). */
  readonly intermediate: readonly Progress[];
}

export interface StrategyContext<A> {
  readonly space: Space<A>;
  /** At least one; several for multi-objective strategies. Single-objective strategies use the first. */
  readonly objectives: readonly Objective[];
  /** A strategy must honour them: never propose an arch whose known costs violate one. */
  readonly constraints: readonly Constraint[];
  /** Cheap metrics known before evaluation (params, flops, latency...), e.g. `Evaluator.costs`. */
  readonly costOf?: (arch: A) => Metrics;
  /**
   * Why an architecture cannot be evaluated at all, or undefined when it can: e.g. the study's data
   * cannot flow through it (a chain CNN that pools a 28x28 image below 1x1), found by the
   * evaluator's analytic costs before any training. A strategy never proposes such an arch
   * (`precheck`, with or without constraints), so an infeasible draw costs no trial.
   */
  readonly infeasible?: (arch: A) => string | undefined;
  /** All trials so far in creation order, including running ones. */
  readonly history: readonly TrialRecord<A>[];
  /** The evaluator's largest budget (`Evaluator.maxBudget`), for multi-fidelity schedules. */
  readonly maxBudget?: number;
  /** The study's total number of trials, when known (some strategies plan with it). */
  readonly totalTrials?: number;
  /**
   * Zero-cost proxy scores of an architecture (metrics `proxy_<name>`), when the study has a proxy
   * source (see src/strategy/prescreen.ts); `ms` is the compute time of that key's values (the
   * provider computes each key once; count it once per key). Used by `prescreen` and by predictors
   * with proxy features.
   */
  readonly proxyOf?: (arch: A) => ProxyValues;
}

/** Zero-cost proxy values of one architecture and the milliseconds their computation cost. */
export interface ProxyValues {
  readonly values: Metrics;
  readonly ms: number;
  /** Why a proxy has no value (`proxy_<name>` -> reason), for the proxies the source was asked for. */
  readonly absent?: Readonly<Record<string, string>>;
  /** `ms` was recorded when a table was made (looked up, not spent now): the table's file. */
  readonly recordedIn?: string;
}

export interface Proposal<A> {
  readonly arch: A;
  /** Fidelity to evaluate at; undefined = full budget. */
  readonly budget?: number;
  /** Set when this proposal re-runs an already-seen arch at a higher budget (multi-fidelity promotion). */
  readonly promotes?: TrialId;
  /** Strategy bookkeeping stored with the trial (e.g. its zero-cost proxy values); plain JSON numbers/strings. */
  readonly info?: Readonly<Record<string, number | string>>;
}

export type AskOutcome<A> =
  | { readonly kind: 'trial'; readonly proposal: Proposal<A> }
  /** Nothing to propose until running trials finish (e.g. a synchronous rung, a GA generation). */
  | { readonly kind: 'wait' }
  /** The strategy has nothing more to try (finite space exhausted, schedule finished). */
  | { readonly kind: 'done'; readonly reason: string };

/** Strategy states are plain JSON (tests round-trip them through JSON.stringify). Opaque to the study. */
export type StrategyState = Json;

export interface Strategy<S = StrategyState> {
  readonly name: string;
  /** Fresh state. Validates nothing about options (the registry did); may check the context. */
  init<A>(seed: number, ctx: StrategyContext<A>): S;
  ask<A>(state: S, ctx: StrategyContext<A>): { readonly state: S; readonly outcome: AskOutcome<A> };
  /** A trial reached a final state (complete, pruned or failed). `ctx.history` already contains it. */
  tell<A>(state: S, trial: TrialRecord<A>, ctx: StrategyContext<A>): S;
  /** Multi-fidelity strategies: stop a running trial after its latest intermediate value? */
  shouldPrune?<A>(state: S, trial: TrialRecord<A>, ctx: StrategyContext<A>): { readonly state: S; readonly prune: boolean };
}

/** Creates a strategy from validated options (see registry.ts). */
export type StrategyFactory<O> = (options: O) => Strategy;

/** Hides a strategy's concrete state type behind the opaque `StrategyState` (it is JSON by contract). */
export const eraseState = <S>(s: Strategy<S>): Strategy => s as unknown as Strategy;

/** Architectures are JSON by construction; this cast marks where a strategy stores one in its state. */
export const archToJson = <A>(arch: A): Json => arch as unknown as Json;
export const archFromJson = <A>(j: Json | undefined): A => j as unknown as A;
