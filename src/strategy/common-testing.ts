/**
 * A minimal study for tests and benchmarks: ask, evaluate synchronously, tell, with the strategy
 * state round-tripped through JSON after every call (as a store would), the duplicate-free
 * contract checked, and optionally several trials in flight (`parallel`: the oldest running trial
 * finishes whenever the strategy waits or the pool is full). The real Study (src/run) adds
 * storage, workers and leases.
 */
import { NasError } from '../core/errors.js';
import { trialId } from '../core/ids.js';
import type { Constraint, Metrics, Objective } from '../core/metrics.js';
import type { Space } from '../space/space.js';
import type { Strategy, StrategyContext, StrategyState, TrialRecord, TrialState } from './types.js';

export interface SimulateOptions<A> {
  readonly space: Space<A>;
  readonly objectives: readonly Objective[];
  readonly constraints?: readonly Constraint[];
  readonly costOf?: (arch: A) => Metrics;
  /** Why an arch cannot be evaluated at all (see StrategyContext.infeasible). */
  readonly infeasible?: StrategyContext<A>['infeasible'];
  /** Zero-cost proxy source (see StrategyContext.proxyOf). */
  readonly proxyOf?: StrategyContext<A>['proxyOf'];
  /** Synchronous evaluation; `undefined` metrics = failed trial. */
  readonly evaluate: (arch: A, budget: number | undefined) => Metrics | undefined;
  /** Stop when the history holds this many trials. */
  readonly trials: number;
  readonly seed: number;
  readonly maxBudget?: number;
  /** JSON round-trip of the state after every call (default true; benchmarks may skip it). */
  readonly roundTrip?: boolean;
  /** Trials in flight at once (default 1). */
  readonly parallel?: number;
  /** Continue a previous run (its history must be finished) instead of calling init. */
  readonly resume?: { readonly history: readonly TrialRecord<A>[]; readonly state: StrategyState };
}

export interface SimulateResult<A> {
  readonly history: TrialRecord<A>[];
  readonly state: StrategyState;
  /** Why the run ended early (strategy said done), if it did. */
  readonly done?: string;
  /** Time spent inside init + ask + tell, ms. */
  readonly strategyMs: number;
  readonly asks: number;
}

export function simulate<A>(strategy: Strategy, o: SimulateOptions<A>): SimulateResult<A> {
  const history: TrialRecord<A>[] = [...(o.resume?.history ?? [])];
  const ctx: StrategyContext<A> = {
    space: o.space,
    objectives: o.objectives,
    constraints: o.constraints ?? [],
    history,
    totalTrials: o.trials,
    ...(o.costOf ? { costOf: o.costOf } : {}),
    ...(o.infeasible ? { infeasible: o.infeasible } : {}),
    ...(o.proxyOf ? { proxyOf: o.proxyOf } : {}),
    ...(o.maxBudget !== undefined ? { maxBudget: o.maxBudget } : {}),
  };
  const rt = o.roundTrip ?? true;
  const keep = (s: StrategyState): StrategyState => (rt ? (JSON.parse(JSON.stringify(s)) as StrategyState) : s);
  let ms = 0;
  let asks = 0;
  let t0 = performance.now();
  let state = o.resume ? keep(o.resume.state) : keep(strategy.init(o.seed, ctx));
  ms += performance.now() - t0;
  const keys = new Map<string, number>();
  for (const t of history) keys.set(t.key, t.id);
  const running: number[] = [];
  const finishOldest = (): void => {
    const i = running.shift()!;
    const t = history[i]!;
    const metrics = o.evaluate(t.arch, t.budget);
    const st: TrialState = metrics ? 'complete' : 'failed';
    const fin: TrialRecord<A> = { ...t, state: st, ...(metrics ? { metrics } : {}) };
    history[i] = fin;
    t0 = performance.now();
    state = keep(strategy.tell(state, fin, ctx));
    ms += performance.now() - t0;
  };
  let done: string | undefined;
  const par = o.parallel ?? 1;
  while (history.length < o.trials) {
    if (running.length >= par) {
      finishOldest();
      continue;
    }
    t0 = performance.now();
    const r = strategy.ask(state, ctx);
    ms += performance.now() - t0;
    asks++;
    state = keep(r.state);
    if (r.outcome.kind === 'done') {
      done = r.outcome.reason;
      break;
    }
    if (r.outcome.kind === 'wait') {
      if (!running.length) throw new NasError('internal', `${strategy.name} asked the study to wait with no trial running`);
      finishOldest();
      continue;
    }
    const { arch, budget, promotes } = r.outcome.proposal;
    const clean = o.space.validate(arch);
    const key = o.space.key(clean);
    if (keys.has(key) && promotes === undefined)
      throw new NasError('internal', `${strategy.name} proposed key ${key} again (first trial ${keys.get(key)}) without a promotion`);
    const id = trialId(history.length);
    keys.set(key, id);
    history.push({ id, arch: clean, key, state: 'running', ...(budget !== undefined ? { budget } : {}), intermediate: [] });
    running.push(history.length - 1);
  }
  while (running.length) finishOldest();
  return { history, state, strategyMs: ms, asks, ...(done !== undefined ? { done } : {}) };
}

/** Test accuracy of the best-by-validation trial among the first `n` (the NB201 benchmark figure). */
export function bestByValidation<A>(history: readonly TrialRecord<A>[], n = history.length, val = 'val_acc', report = 'test_acc'): number | undefined {
  let best = -Infinity;
  let out: number | undefined;
  for (const t of history.slice(0, n)) {
    const v = t.metrics?.[val];
    if (t.state === 'complete' && v !== undefined && v > best) {
      best = v;
      out = t.metrics?.[report];
    }
  }
  return out;
}
