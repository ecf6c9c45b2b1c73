/**
 * Genetic, NSGA-II and local search in a warm-started study: the trials complete at the first ask
 * (a warm start's imports) fill generation 0, best first / are the starting points of the first
 * climb (common.ts priorTrials), instead of random draws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trialId } from '../core/ids.js';
import { Rng } from '../core/rng.js';
import { toyScore, toySpace, type ToyArch } from './common-suite.js';
import { priorTrials } from './common.js';
import { geneticAlgorithm } from './genetic.js';
import { localSearch } from './local-search.js';
import { nsga2 } from './nsga2.js';
import type { StrategyContext, TrialRecord } from './types.js';

const objectives = [{ metric: 'val_acc', direction: 'maximize' }] as const;

/** `n` distinct toy trials, complete, worst first; plus one failed trial. */
function history(n: number): TrialRecord<ToyArch>[] {
  const rng = Rng.fromSeed(9);
  const seen = new Set<string>();
  const out: TrialRecord<ToyArch>[] = [];
  while (out.length < n + 1) {
    const arch = toySpace.sample(rng);
    const key = toySpace.key(arch);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ id: trialId(out.length), arch, key, state: 'complete', metrics: toyScore(arch), intermediate: [] });
  }
  const failed = { ...out.pop()!, state: 'failed' as const };
  delete (failed as { metrics?: unknown }).metrics;
  return [...out.sort((a, b) => a.metrics!['val_acc']! - b.metrics!['val_acc']!), failed].map((t, i) => ({ ...t, id: trialId(i) }));
}
const ctxOf = (h: TrialRecord<ToyArch>[]): StrategyContext<ToyArch> => ({ space: toySpace, objectives, constraints: [], history: h });
const scoreOf = (h: TrialRecord<ToyArch>[], k: string) => h.find((t) => t.key === k)!.metrics!['val_acc']!;
const best = (h: TrialRecord<ToyArch>[], n: number) => h.filter((t) => t.state === 'complete').map((t) => t.metrics!['val_acc']!).sort((a, b) => b - a).slice(0, n);

test('priorTrials: complete trials only, one per key, in history order', () => {
  const h = history(6);
  const p = priorTrials([...h, { ...h[0]!, id: trialId(99) }]);
  assert.deepEqual(p.map((t) => t.id), h.slice(0, 6).map((t) => t.id));
});

test('genetic: the first ask after 12 prior trials fills generation 0 with the 5 best and breeds from them', () => {
  const h = history(12);
  const ga = geneticAlgorithm({ population: 5, tournament: 2, cxpb: 0.5, mutpb: 0.5, elite: 1, generations: 0 });
  const ctx = ctxOf(h);
  const r = ga.ask(ga.init(3, ctx), ctx);
  // Generation 0 was complete: the first proposal is an offspring (of generation 1, or a later one
  // when every offspring of a generation had a known genotype).
  assert.ok(r.state.generation >= 1, 'bred, not drawn at random');
  assert.equal(r.outcome.kind, 'trial');
  assert.ok(!h.some((t) => r.outcome.kind === 'trial' && t.key === toySpace.key(r.outcome.proposal.arch)), 'a new genotype');
  // Fewer priors than the population: they join generation 0 and random draws complete it.
  const few = history(3);
  const r2 = ga.ask(ga.init(3, ctxOf(few)), ctxOf(few));
  assert.equal(r2.state.generation, 0);
  assert.deepEqual(r2.state.population.slice(0, 3).map((i) => scoreOf(few, i.key)), best(few, 3));
  assert.equal(r2.state.population.length, 4, 'the 3 priors and one random draw (the proposal)');
});

test('nsga2: the first ask after 12 prior trials takes the 5 non-dominated best as generation 0', () => {
  const h = history(12);
  const s = nsga2({ population: 5, cxpb: 0.9, mutpb: 0.5 });
  const ctx = ctxOf(h);
  const r = s.ask(s.init(3, ctx), ctx);
  assert.equal(r.state.generation, 1);
  assert.deepEqual(r.state.parents.map((p) => scoreOf(h, p.key)).sort((a, b) => b - a), best(h, 5));
  // Without priors the first ask is a random draw of generation 0, as before.
  const empty: TrialRecord<ToyArch>[] = [];
  const r0 = s.ask(s.init(3, ctxOf(empty)), ctxOf(empty));
  assert.equal(r0.state.generation, 0);
  assert.equal(r0.state.pending.length, 1);
});

test('local search: the first climb starts from the best prior trial (its neighbours first), no random draws', () => {
  const h = history(12);
  const ls = localSearch({ init: 5, move: 'first' });
  const ctx = ctxOf(h);
  const r = ls.ask(ls.init(3, ctx), ctx);
  const bestKey = h.filter((t) => t.state === 'complete').sort((a, b) => b.metrics!['val_acc']! - a.metrics!['val_acc']!)[0]!.key;
  assert.equal(r.state.current, bestKey, 'climbs from the best prior');
  assert.equal(r.state.initLeft, 0);
  assert.equal(r.outcome.kind, 'trial');
  const bestArch = h.find((t) => t.key === bestKey)!.arch;
  const nb = new Set(toySpace.neighbours(bestArch).map((a) => toySpace.key(a) as string));
  assert.ok(r.outcome.kind === 'trial' && nb.has(toySpace.key(r.outcome.proposal.arch)), 'the first proposal is a neighbour of it');
});
