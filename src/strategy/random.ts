/** Random search: uniform samples of the space, never a seen key, always within the cost constraints. */
import { rngOnlyStrategy, type RngOnlyState } from './common.js';
import { defineStrategy } from './common-options.js';
import { eraseState, type Strategy } from './types.js';

/** Every ask falls back to `randomNovel` (common.ts): there is no model. */
export function randomSearch(): Strategy<RngOnlyState> {
  return rngOnlyStrategy('random', () => undefined);
}

export const randomStrategy = defineStrategy({
  name: 'random',
  description: 'uniform random sampling without repeats',
  options: {},
  create: () => eraseState(randomSearch()),
});
