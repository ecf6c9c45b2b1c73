/**
 * Enqueued trials for any single-fidelity strategy (Optuna's `study.enqueue_trial`; auto-sklearn
 * and SMAC start from the default configuration the same way): the study's first proposals are
 * the given architectures, in order, then the wrapped strategy proposes as usual.
 *
 *   enqueue:                      # in a study config: architectures of the study's space
 *     - { arch: { family: mlp, hidden: [128], ... }, hparams: { optimizer: adam, lr: 0.001, ... } }
 *
 * The use: a known good default (e.g. scikit-learn's MLPClassifier settings) is evaluated first,
 * so the search only ends with something else when a candidate scores better on the objective.
 *
 * Rules:
 *  - An enqueued architecture is proposed once: never when its key is already in the history (a
 *    resumed study, a warm start, another worker's running trial), so a study never spends budget
 *    on a seen key.
 *  - One whose known costs violate a constraint is skipped (strategies never propose an
 *    infeasible architecture); its place goes to the next one.
 *  - The proposal carries `info: { enqueued: i }` (1-based position in the list), stored with the
 *    trial; the wrapped strategy is told its result like any other trial's (as with warm-start
 *    imports), so model-based strategies (TPE, BO) learn from it.
 *  - The wrapped strategy's `init` runs first, unchanged; its state is kept whole in `inner`.
 * The list is checked (each a valid architecture of the space, no duplicate keys) by the config
 * layer (src/api/parts.ts), which also refuses multi-fidelity strategies (their rung schedules
 * count only their own proposals).
 */
import type { Json } from '../core/json.js';
import { precheck, seenKeys } from './common.js';
import { archFromJson, type Strategy, type StrategyContext } from './types.js';

export interface EnqueueState {
  readonly format: 'tsnas.enqueue/1';
  readonly inner: Json;
}

/** `inner` with `archs` (JSON values of the study's space, distinct keys) proposed first. */
export function withEnqueued(inner: Strategy, archs: readonly Json[]): Strategy<EnqueueState> {
  const list = archs.map((a) => structuredClone(a));
  return {
    name: `${inner.name}+enqueue`,
    init<A>(seed: number, ctx: StrategyContext<A>): EnqueueState {
      return { format: 'tsnas.enqueue/1', inner: inner.init(seed, ctx) };
    },
    ask<A>(state: EnqueueState, ctx: StrategyContext<A>) {
      const seen = seenKeys(ctx.history);
      for (const [i, j] of list.entries()) {
        const arch = archFromJson<A>(structuredClone(j));
        // Within the constraints, like every proposal; but an arch the evaluator cannot run
        // (ctx.infeasible) is proposed anyway: the user asked for it, and its failed trial says why.
        if (seen.has(ctx.space.key(arch)) || !precheck(arch, { ...ctx, infeasible: undefined })) continue;
        return { state, outcome: { kind: 'trial' as const, proposal: { arch, info: { enqueued: i + 1 } } } };
      }
      const r = inner.ask(state.inner, ctx);
      return { state: { ...state, inner: r.state }, outcome: r.outcome };
    },
    tell<A>(state: EnqueueState, trial: Parameters<Strategy['tell']>[1], ctx: StrategyContext<A>) {
      return { ...state, inner: inner.tell(state.inner, trial as never, ctx) };
    },
    ...(inner.shouldPrune
      ? {
          shouldPrune<A>(state: EnqueueState, trial: Parameters<NonNullable<Strategy['shouldPrune']>>[1], ctx: StrategyContext<A>) {
            const r = inner.shouldPrune!(state.inner, trial as never, ctx);
            return { state: { ...state, inner: r.state }, prune: r.prune };
          },
        }
      : {}),
  };
}
