/** Successive halving, Hyperband and ASHA on a synthetic multi-fidelity evaluator (toy space, learning curves). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { hash32 } from '../core/rng.js';
import { trialId } from '../core/ids.js';
import type { Metrics } from '../core/metrics.js';
import { toyScore, toySpace, type ToyArch } from './common-suite.js';
import { simulate } from './common-testing.js';
import { hyperbandBracket } from './hyperband.js';
import { createStrategy } from './registry.js';
import { rungBudgets } from './successive-halving.js';
import type { StrategyContext, TrialRecord } from './types.js';

const MAX = 27;
const objectives = [{ metric: 'val_acc', direction: 'maximize' }] as const;
/** A learning curve: the final score approached exponentially, with per-(arch, budget) noise. */
function curve(a: ToyArch, budget: number): number {
  const noise = ((hash32(`${toySpace.key(a)}/${budget}`) % 1000) / 1000 - 0.5) * 0.6;
  return toyScore(a).val_acc! * (1 - Math.exp(-budget / 6)) + noise;
}
const evaluate = (a: ToyArch, budget: number | undefined): Metrics => ({ val_acc: curve(a, budget ?? MAX) });

function run(name: string, trials: number, seed: number, options = {}) {
  return simulate(createStrategy(name, options), { space: toySpace, objectives, evaluate, trials, seed, maxBudget: MAX });
}
/** Epochs spent and the true score of the best architecture evaluated at the full budget. */
function summary(r: ReturnType<typeof run>) {
  let epochs = 0;
  let best = -Infinity;
  for (const t of r.history) {
    epochs += t.budget ?? MAX;
    if ((t.budget ?? MAX) === MAX && t.metrics && t.metrics.val_acc! > -Infinity) {
      const s = toyScore(t.arch).val_acc!;
      if (t.metrics.val_acc! >= Math.max(...r.history.filter((x) => (x.budget ?? MAX) === MAX).map((x) => x.metrics?.val_acc ?? -Infinity))) best = s;
    }
  }
  return { epochs, best };
}

test('rung budgets and Hyperband brackets', () => {
  assert.deepEqual(rungBudgets(1, 27, 3), [1, 3, 9, 27]);
  assert.deepEqual(rungBudgets(1, 20, 3), [1, 3, 9, 20]);
  assert.deepEqual(rungBudgets(5, 5, 3), [5]);
  const b = hyperbandBracket(3, 1, 27, 3);
  assert.equal(b.n, 27);
  assert.deepEqual(b.budgets, [1, 3, 9, 27]);
  assert.deepEqual(hyperbandBracket(0, 1, 27, 3).budgets, [27]);
  assert.equal(hyperbandBracket(0, 1, 27, 3).n, 4);
  assert.throws(() => rungBudgets(30, 27, 3), (e: unknown) => isNasError(e, 'invalid_config'));
});

for (const name of ['successive_halving', 'hyperband', 'asha']) {
  test(`${name}: promotions re-run seen archs at the next rung; deterministic; resumes exactly`, () => {
    const r = run(name, 80, 1);
    const budgets = rungBudgets(1, MAX, 3);
    const byId = new Map(r.history.map((t) => [t.id, t]));
    let promotions = 0;
    const firstAt = new Map<string, number>();
    r.history.forEach((t, i) => {
      assert.ok(budgets.includes(t.budget!), `budget ${t.budget}`);
      if (!firstAt.has(t.key)) firstAt.set(t.key, i);
    });
    const keysAtBudget = new Set(r.history.map((t) => `${t.key}@${t.budget}`));
    assert.equal(keysAtBudget.size, r.history.length, 'an arch never runs twice at one budget');
    assert.ok(r.history.filter((t) => firstAt.get(t.key) !== r.history.indexOf(t)).every((t) => t.budget! > budgets[0]!));
    for (const t of r.history)
      if (firstAt.get(t.key)! < r.history.indexOf(t)) {
        promotions++;
        const prev = r.history.filter((x) => x.key === t.key && x.budget! < t.budget!);
        assert.ok(prev.length > 0 && byId.has(prev[0]!.id));
      }
    assert.ok(promotions > 5, `${promotions} promotions`);
    assert.deepEqual(run(name, 80, 1).history.map((t) => `${t.key}@${t.budget}`), r.history.map((t) => `${t.key}@${t.budget}`));
    const half = run(name, 40, 1);
    const resumed = simulate(createStrategy(name), { space: toySpace, objectives, evaluate, trials: 80, seed: 99, maxBudget: MAX, resume: { history: half.history, state: half.state } });
    assert.deepEqual(resumed.history.map((t) => `${t.key}@${t.budget}`), r.history.map((t) => `${t.key}@${t.budget}`));
  });

  test(`${name}: with the epochs of 10 full evaluations, finds better archs than random search (8 seeds)`, () => {
    let mf = 0;
    let rnd = 0;
    for (let s = 0; s < 8; s++) {
      // Grow the trial count until the epochs spent reach 10 full evaluations.
      let n = 10;
      let r = run(name, n, 10 + s);
      while (summary(r).epochs < 10 * MAX && n < 400) r = run(name, (n += 5), 10 + s);
      mf += summary(r).best;
      const rr = simulate(createStrategy('random'), { space: toySpace, objectives, evaluate, trials: 10, seed: 10 + s });
      rnd += summary(rr).best;
    }
    assert.ok(mf > rnd, `${name} ${mf / 8} vs random ${rnd / 8}`);
  });
}

test('multi-fidelity strategies refuse evaluators without a max budget', () => {
  assert.throws(
    () => simulate(createStrategy('hyperband'), { space: toySpace, objectives, evaluate: (a) => toyScore(a), trials: 3, seed: 1 }),
    (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.options.max_budget',
  );
});

test('asha stop mode: shouldPrune stops a trial outside the top 1/eta at a rung step', () => {
  const s = createStrategy('asha', { mode: 'stop' });
  const arch = { a: 'x', n: 0, cell: ['zero', 'zero', 'zero'] } as unknown as ToyArch;
  const rec = (id: number, v: number, step: number, state: TrialRecord<ToyArch>['state'] = 'complete'): TrialRecord<ToyArch> => ({
    id: trialId(id),
    arch,
    key: `k${id}` as never,
    state,
    intermediate: [{ step, metrics: { val_acc: v } }],
  });
  const history = [rec(0, 5, 3), rec(1, 6, 3), rec(2, 7, 3), rec(3, 8, 3), rec(4, 9, 3)];
  const ctx: StrategyContext<ToyArch> = { space: toySpace, objectives, constraints: [], history, maxBudget: MAX };
  const st = s.init(1, ctx);
  const low = rec(5, 5.5, 3, 'running');
  const high = rec(6, 8.5, 3, 'running');
  const off = rec(7, 0, 2, 'running');
  assert.equal(s.shouldPrune!(st, low, { ...ctx, history: [...history, low] }).prune, true);
  assert.equal(s.shouldPrune!(st, high, { ...ctx, history: [...history, high] }).prune, false);
  assert.equal(s.shouldPrune!(st, off, { ...ctx, history: [...history, off] }).prune, false, 'only judged at rung steps');
  // Promote mode never prunes.
  const p = createStrategy('asha');
  assert.equal(p.shouldPrune!(p.init(1, ctx), low, { ...ctx, history: [...history, low] }).prune, false);
});
