/** Random search: uniform samples of the space, never a seen key, always within the cost constraints. */
import { Rng, type RngState } from '../core/rng.js';
import { assertSatisfiable, randomNovel, seenKeys } from './common.js';
import { defineStrategy } from './common-options.js';
import { eraseState, type AskOutcome, type Strategy, type StrategyContext } from './types.js';

interface RandomState {
  readonly rng: RngState;
}

export function randomSearch(): Strategy<RandomState> {
  return {
    name: 'random',
    init(seed, ctx) {
      const rng = Rng.fromSeed(seed);
      assertSatisfiable(ctx, rng.derive('constraints'));
      return { rng: rng.state() };
    },
    ask<A>(state: RandomState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const hit = randomNovel(ctx, seenKeys(ctx.history), rng);
      const outcome: AskOutcome<A> = hit ? { kind: 'trial', proposal: { arch: hit.arch } } : { kind: 'done', reason: 'every architecture of the space has been tried' };
      return { state: { rng: rng.state() }, outcome };
    },
    tell: (state) => state,
  };
}

export const randomStrategy = defineStrategy({
  name: 'random',
  description: 'uniform random sampling without repeats',
  options: {},
  create: () => eraseState(randomSearch()),
});
