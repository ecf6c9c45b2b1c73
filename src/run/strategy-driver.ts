/**
 * Adapts a src/strategy Strategy (pure functions over JSON state, with the study's history in a
 * context) to the run layer's StrategyDriver (stored records in, stored proposals out).
 */
import type { Json, JsonObject } from '../core/json.js';
import { candidateValue } from '../core/metrics.js';
import type { Constraint, Metrics, Objective, Progress } from '../eval/types.js';
import type { Space } from '../space/space.js';
import type { ProxyValues, Strategy, StrategyContext, TrialRecord as StrategyTrial } from '../strategy/types.js';
import type { AskResult, HistoryItem, StrategyDriver } from './driver.js';

export interface StrategyDriverOptions<A> {
  readonly strategy: Strategy;
  readonly space: Space<A>;
  readonly objectives: readonly Objective[];
  readonly constraints: readonly Constraint[];
  readonly costOf?: (arch: A) => Metrics;
  /** Why an arch cannot be evaluated (see StrategyContext.infeasible). */
  readonly infeasible?: (arch: A) => string | undefined;
  readonly maxBudget?: number;
  readonly totalTrials?: number;
  /** Zero-cost proxy source for prescreening and proxy features (see StrategyContext.proxyOf). */
  readonly proxyOf?: (arch: A) => ProxyValues;
  /** Multi-fidelity strategies need learning curves in the history. */
  readonly multiFidelity?: boolean;
  /** The live proxy source behind `proxyOf`, which computes what an init/ask will need ahead (StrategyDriver.prepare). */
  readonly proxyPrefetch?: { collectAndFill(run: () => void, signal?: AbortSignal): Promise<boolean> };
}

function toStrategyTrial<A>(space: Space<A>, h: HistoryItem): StrategyTrial<A> {
  const t = h.trial;
  const arch = t.arch as unknown as A;
  const curve: Progress[] = h.intermediates.map((i) => ({ step: i.step, metrics: i.metrics }));
  const last = curve[curve.length - 1];
  // A complete trial that is no candidate (core candidateValue: values null, e.g. a one-shot
  // supernet search trial) gives the strategy no result to rank: its metrics are left out.
  const metrics = t.state === 'complete' && candidateValue(t) === null ? undefined : t.metrics ?? (t.state === 'pruned' || t.state === 'failed' ? last?.metrics : undefined);
  return {
    id: t.id,
    arch,
    key: (t.archKey ?? space.key(arch)) as StrategyTrial<A>['key'],
    // A waiting trial (released, or created but not yet claimed) is pending, like a running one.
    state: t.state === 'waiting' ? 'running' : t.state,
    ...(t.budget === null ? {} : { budget: t.budget }),
    ...(metrics ? { metrics } : {}),
    intermediate: curve,
  };
}

/**
 * The strategy's view of a history array, kept up to date incrementally: a Study passes the same
 * array at every call (its synced copy), appends new trials and replaces only unfinished ones, so
 * only new positions and positions that were unfinished last time are converted again. The view
 * keeps its identity too, which lets the strategies' own indexes (seen keys, fitness by key) grow
 * incrementally instead of being rebuilt per ask. Any other array (a different identity, or one
 * that shrank) is converted in full, as before.
 */
class HistoryView<A> {
  private src: readonly HistoryItem[] | null = null;
  private readonly out: StrategyTrial<A>[] = [];
  /** Position -> the item converted there, for positions whose trial was unfinished. */
  private readonly open = new Map<number, HistoryItem>();
  constructor(private readonly space: Space<A>) {}

  of(history: readonly HistoryItem[]): readonly StrategyTrial<A>[] {
    if (history !== this.src || history.length < this.out.length) {
      this.src = history;
      this.out.length = 0;
      this.open.clear();
    }
    for (const [i, seen] of this.open) {
      const h = history[i]!;
      if (h === seen) continue;
      this.out[i] = toStrategyTrial(this.space, h);
      if (isOpen(h)) this.open.set(i, h);
      else this.open.delete(i);
    }
    for (let i = this.out.length; i < history.length; i++) {
      const h = history[i]!;
      this.out.push(toStrategyTrial(this.space, h));
      if (isOpen(h)) this.open.set(i, h);
    }
    return this.out;
  }
}

const isOpen = (h: HistoryItem): boolean => h.trial.state === 'waiting' || h.trial.state === 'running';

export function strategyDriver<A>(o: StrategyDriverOptions<A>): StrategyDriver {
  const view = new HistoryView(o.space);
  const ctx = (history: readonly HistoryItem[]): StrategyContext<A> => ({
    space: o.space,
    objectives: o.objectives,
    constraints: o.constraints,
    ...(o.costOf ? { costOf: o.costOf } : {}),
    ...(o.infeasible ? { infeasible: o.infeasible } : {}),
    history: view.of(history),
    ...(o.maxBudget === undefined ? {} : { maxBudget: o.maxBudget }),
    ...(o.totalTrials === undefined ? {} : { totalTrials: o.totalTrials }),
    ...(o.proxyOf ? { proxyOf: o.proxyOf } : {}),
  });
  const s = o.strategy;
  const driver: StrategyDriver = {
    needsIntermediates: Boolean(o.multiFidelity),
    init: (seed, history) => s.init(seed, ctx(history)),
    ask(state, history) {
      const r = s.ask(state as JsonObject, ctx(history));
      const out = r.outcome;
      let result: AskResult;
      switch (out.kind) {
        case 'trial': {
          const p = out.proposal;
          result = {
            kind: 'trial',
            proposal: {
              arch: p.arch as unknown as Json,
              archKey: o.space.key(p.arch),
              budget: p.budget ?? null,
              params: { ...(p.info ?? {}), ...(p.promotes === undefined ? {} : { promotes: p.promotes }) },
            },
          };
          break;
        }
        case 'wait':
          result = { kind: 'wait' };
          break;
        case 'done':
          result = { kind: 'done', reason: out.reason };
          break;
      }
      return { state: r.state, result };
    },
    tell: (state, trial, history) => s.tell(state as JsonObject, toStrategyTrial(o.space, trial), ctx(history)),
  };
  if (o.proxyPrefetch) {
    const pf = o.proxyPrefetch;
    // A dry init/ask (results discarded) names the architectures whose proxies are not yet known.
    driver.prepare = (state, seed, history, signal) =>
      pf.collectAndFill(() => {
        const c = ctx(history);
        s.ask(state === null ? s.init(seed, c) : (state as JsonObject), c);
      }, signal);
  }
  if (s.shouldPrune) {
    const prune = s.shouldPrune.bind(s);
    driver.shouldPrune = (state, trial, history) => {
      const r = prune(state as JsonObject, toStrategyTrial(o.space, trial), ctx(history));
      return { state: r.state, prune: r.prune };
    };
  }
  return driver;
}
