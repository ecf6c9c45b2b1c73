/**
 * What a Study needs from a search strategy, in terms of stored records only: the run layer keeps
 * the strategy's state in the store and hands it, with the study's trial history, to these
 * functions (state in, state out), so any process holding the state can continue the search.
 * `strategy-driver.ts` adapts the strategies of src/strategy to this shape.
 */
import type { Json, JsonObject } from '../core/json.js';
import type { IntermediateRecord, TrialRecord } from '../store/types.js';

export interface Proposal {
  readonly arch: Json;
  readonly archKey: string | null;
  /** Fidelity (epochs) for multi-fidelity strategies; null = the evaluator's full budget. */
  readonly budget: number | null;
  /** Strategy bookkeeping (e.g. the trial it promotes), stored with the trial. */
  readonly params: JsonObject;
}

export type AskResult =
  | { readonly kind: 'trial'; readonly proposal: Proposal }
  /** Nothing to propose until running trials report (e.g. a synchronous rung is not full yet). */
  | { readonly kind: 'wait' }
  /** The strategy has nothing more to propose (grid exhausted, schedule finished). */
  | { readonly kind: 'done'; readonly reason: string };

/** One trial of the study as the strategy sees it: the stored record and its learning curve. */
export interface HistoryItem {
  readonly trial: TrialRecord;
  /** Empty unless the driver `needsIntermediates`. */
  readonly intermediates: readonly IntermediateRecord[];
}

export interface StrategyDriver {
  /** Whether history items must carry learning curves (multi-fidelity strategies). */
  readonly needsIntermediates: boolean;
  /** The strategy's initial state for a study with this seed. */
  init(seed: number, history: readonly HistoryItem[]): Json;
  ask(state: Json, history: readonly HistoryItem[]): { state: Json; result: AskResult };
  /** `trial` is finished (complete, pruned or failed) and is already in `history`. */
  tell(state: Json, trial: HistoryItem, history: readonly HistoryItem[]): Json;
  /** Asked after each intermediate report of a running trial; `prune` ends it as `pruned`. */
  shouldPrune?(state: Json, trial: HistoryItem, history: readonly HistoryItem[]): { state: Json; prune: boolean };
  /**
   * Called before `init`/`ask` with the stored state (null before init): computes, asynchronously
   * and checking `signal` between items, what those synchronous calls will need (live zero-cost
   * proxy scores of a prescreen's candidates), so an interrupt stops between candidates instead of
   * after the whole synchronous prescreen. Returns true when the signal stopped it.
   */
  prepare?(state: Json | null, seed: number, history: readonly HistoryItem[], signal?: AbortSignal): Promise<boolean>;
}
