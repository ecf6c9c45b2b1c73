/**
 * A minimal sequential study for tests and benchmarks: ask, evaluate synchronously, tell, with the
 * strategy state round-tripped through JSON after every call (as a store would), and the
 * duplicate-free contract checked. The real Study (src/run) adds storage, workers and leases.
 */
import { NasError } from '../core/errors.js';
import { trialId } from '../core/ids.js';
import type { Constraint, Metrics, Objective } from '../eval/types.js';
import type { Space } from '../space/space.js';
import type { Strategy, StrategyContext, TrialRecord, TrialState } from './types.js';

export interface SimulateOptions<A> {
  readonly space: Space<A>;
  readonly objectives: readonly Objective[];
  readonly constraints?: readonly Constraint[];
  readonly costOf?: (arch: A) => Metrics;
  /** Synchronous evaluation; `undefined` metrics = failed trial. */
  readonly evaluate: (arch: A, budget: number | undefined) => Metrics | undefined;
  readonly trials: number;
  readonly seed: number;
  readonly maxBudget?: number;
  /** JSON round-trip of the state after every call (default true; benchmarks may skip it). */
  readonly roundTrip?: boolean;
}

export interface SimulateResult<A> {
  readonly history: TrialRecord<A>[];
  readonly state: unknown;
  /** Why the run ended early (strategy said done), if it did. */
  readonly done?: string;
  /** Time spent inside ask + tell, ms. */
  readonly strategyMs: number;
}

export function simulate<A>(strategy: Strategy, o: SimulateOptions<A>): SimulateResult<A> {
  const history: TrialRecord<A>[] = [];
  const ctx: StrategyContext<A> = {
    space: o.space,
    objectives: o.objectives,
    constraints: o.constraints ?? [],
    history,
    totalTrials: o.trials,
    ...(o.costOf ? { costOf: o.costOf } : {}),
    ...(o.maxBudget !== undefined ? { maxBudget: o.maxBudget } : {}),
  };
  const rt = o.roundTrip ?? true;
  const keep = <S>(s: S): S => (rt ? (JSON.parse(JSON.stringify(s)) as S) : s);
  let ms = 0;
  let t0 = performance.now();
  let state = keep(strategy.init(o.seed, ctx));
  ms += performance.now() - t0;
  const keys = new Map<string, number>();
  let done: string | undefined;
  while (history.length < o.trials) {
    t0 = performance.now();
    const r = strategy.ask(state, ctx);
    ms += performance.now() - t0;
    state = keep(r.state);
    if (r.outcome.kind === 'done') {
      done = r.outcome.reason;
      break;
    }
    if (r.outcome.kind === 'wait') throw new NasError('internal', `${strategy.name} asked a sequential study to wait with no trial running`);
    const { arch, budget, promotes } = r.outcome.proposal;
    const clean = o.space.validate(arch);
    const key = o.space.key(clean);
    if (keys.has(key) && promotes === undefined)
      throw new NasError('internal', `${strategy.name} proposed key ${key} again (first trial ${keys.get(key)}) without a promotion`);
    keys.set(key, history.length);
    const id = trialId(history.length);
    history.push({ id, arch: clean, key, state: 'running', ...(budget !== undefined ? { budget } : {}), intermediate: [] });
    const metrics = o.evaluate(clean, budget);
    const st: TrialState = metrics ? 'complete' : 'failed';
    const done_: TrialRecord<A> = { id, arch: clean, key, state: st, ...(budget !== undefined ? { budget } : {}), ...(metrics ? { metrics } : {}), intermediate: [] };
    history[history.length - 1] = done_;
    t0 = performance.now();
    state = keep(strategy.tell(state, done_, ctx));
    ms += performance.now() - t0;
  }
  return { history, state, strategyMs: ms, ...(done !== undefined ? { done } : {}) };
}
