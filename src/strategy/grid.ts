/**
 * Grid search over a finite space: every distinct architecture (key) once, in a seeded order (an
 * affine permutation i -> (a*i + b) mod n of the enumeration order, a coprime to n), skipping seen
 * keys and members that violate the cost constraints. Continuous spaces are refused with
 * `invalid_config`.
 */
import { NasError } from '../core/errors.js';
import { distinctMembers, isNovel, seededRng, seenKeys } from './common.js';
import { defineStrategy } from './common-options.js';
import { eraseState, type AskOutcome, type Strategy, type StrategyContext } from './types.js';
import type { Space } from '../space/space.js';

interface GridState {
  readonly n: number;
  readonly a: number;
  readonly b: number;
  /** Next position of the permuted order. */
  readonly next: number;
}

const MAX_GRID = 2_000_000;
const members = new WeakMap<object, unknown[]>();
/** One member per key (all members above 50k), cached per space object (pure: the same every time). */
function membersOf<A>(space: Space<A>): A[] {
  let m = members.get(space);
  if (!m) {
    const size = space.size();
    if (!Number.isFinite(size) || size > MAX_GRID)
      throw new NasError('invalid_config', `grid search needs a finite space of at most ${MAX_GRID} members; ${space.name} has ${size}`, {
        field: 'strategy',
        hint: 'use random, evolution or local_search, or replace float ranges with choices',
      });
    m = [...(distinctMembers(space) ?? space.enumerate(MAX_GRID))];
    members.set(space, m);
  }
  return m as A[];
}

const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));

export function gridSearch(opts: { shuffle: boolean }): Strategy<GridState> {
  return {
    name: 'grid',
    init(seed, ctx) {
      const n = membersOf(ctx.space).length;
      const rng = seededRng(seed, ctx);
      if (!opts.shuffle || n < 3) return { n, a: 1, b: 0, next: 0 };
      let a = rng.int(1, n);
      while (gcd(a, n) !== 1) a = (a % (n - 1)) + 1;
      return { n, a, b: rng.int(0, n), next: 0 };
    },
    ask<A>(state: GridState, ctx: StrategyContext<A>) {
      const all = membersOf(ctx.space);
      const seen = seenKeys(ctx.history);
      let next = state.next;
      while (next < state.n) {
        const arch = all[(state.a * next + state.b) % state.n]!;
        next++;
        if (!isNovel(arch, ctx, seen)) continue;
        const outcome: AskOutcome<A> = { kind: 'trial', proposal: { arch: structuredClone(arch) } };
        return { state: { ...state, next }, outcome };
      }
      return { state: { ...state, next }, outcome: { kind: 'done', reason: 'grid exhausted' } as AskOutcome<A> };
    },
    tell: (state) => state,
  };
}

export const gridStrategy = defineStrategy({
  name: 'grid',
  description: 'every member of a finite space once, in a seeded order',
  options: { shuffle: { kind: 'bool', default: true, doc: 'seeded order instead of the enumeration order' } },
  create: (o) => eraseState(gridSearch(o)),
});
