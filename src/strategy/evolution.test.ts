/**
 * Regularized evolution's warm start: trials told before the first ask (prior observations, e.g.
 * src/run/warm-start.ts imports) seed the population by fitness, not by the order they were told.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trialId } from '../core/ids.js';
import { Rng } from '../core/rng.js';
import { toyScore, toySpace, type ToyArch } from './common-suite.js';
import { regularizedEvolution } from './evolution.js';
import type { StrategyContext, TrialRecord } from './types.js';

const objectives = [{ metric: 'val_acc', direction: 'maximize' }] as const;

/** `n` distinct toy archs with their toy scores, told in the order given (best ones first). */
function priors(n: number): TrialRecord<ToyArch>[] {
  const rng = Rng.fromSeed(5);
  const seen = new Set<string>();
  const out: TrialRecord<ToyArch>[] = [];
  while (out.length < n) {
    const arch = toySpace.sample(rng);
    const key = toySpace.key(arch);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ id: trialId(out.length), arch, key, state: 'complete', metrics: toyScore(arch), intermediate: [] });
  }
  // Best first, so the old rule (keep the last `population` told) keeps the worst.
  return out.sort((a, b) => b.metrics!['val_acc']! - a.metrics!['val_acc']!);
}

function tellAll(told: readonly TrialRecord<ToyArch>[], stateIn?: unknown) {
  const s = regularizedEvolution({ population: 5, sampleSize: 3 });
  const history: TrialRecord<ToyArch>[] = [];
  const ctx: StrategyContext<ToyArch> = { space: toySpace, objectives, constraints: [], history };
  let state = stateIn === undefined ? s.init(1, ctx) : (stateIn as ReturnType<typeof s.init>);
  for (const t of told) {
    history.push(t);
    state = JSON.parse(JSON.stringify(s.tell(state, t, ctx)));
  }
  return { s, ctx, state };
}

test('evolution: trials told before the first ask keep the best `population` of them, worst first', () => {
  const told = priors(12);
  const { state } = tellAll(told);
  const score = (k: string) => told.find((t) => t.key === k)!.metrics!['val_acc']!;
  const top = told.slice(0, 5).map((t) => t.metrics!['val_acc']!).sort((a, b) => a - b);
  assert.deepEqual(state.population.map(score), top, 'the 5 best, ascending');
  assert.equal(state.fresh, true);
});

test('evolution: the first ask ends the prior phase; later tells age out by order again', () => {
  const told = priors(12);
  const { s, ctx, state: seeded } = tellAll(told);
  const r = s.ask(seeded, ctx);
  assert.equal((r.state as { fresh?: true }).fresh, undefined, 'no field after the first ask (the stored state format is unchanged)');
  assert.equal(r.outcome.kind, 'trial');
  const p = r.outcome.kind === 'trial' ? r.outcome.proposal : undefined;
  // The child's parent is one of the seeded (best) members.
  const parent = told.find((t) => (t.id as unknown as number) === p?.info?.['parent']);
  assert.ok(parent && seeded.population.includes(parent.key), 'the first child mutates a seeded member');
  // A later (even poor) trial joins at the young end and the oldest member dies.
  const worst = told[told.length - 1]!;
  const after = s.tell(r.state, worst, ctx);
  assert.deepEqual(after.population, [...seeded.population.slice(1), worst.key]);
});

test('evolution: a state stored before the rule (no `fresh`) keeps the told order', () => {
  const told = priors(12);
  const { state } = tellAll(told, { rng: Rng.fromSeed(1).state(), population: [] });
  assert.deepEqual(state.population, told.slice(-5).map((t) => t.key));
});
