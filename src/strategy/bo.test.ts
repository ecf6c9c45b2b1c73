import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { NB201_CIFAR10_CSV, loadNb201Table } from '../eval/tabular.js';
import { nb201Space } from '../space/nb201.js';
import { strategyConformanceSuite } from './common-suite.js';
import { bestByValidation, simulate } from './common-testing.js';
import { capTraining } from './bo.js';
import { copulaScores, fitGp, gpMean, gpSd, normalQuantile, predictGp } from './gp.js';
import { createStrategy } from './registry.js';

strategyConformanceSuite('bo', { toyQuality: 9.5 });
strategyConformanceSuite('bo', { options: { encoding: 'path', beta: 2 }, toyQuality: 9 });

test('gp: interpolates its training data, reverts to the prior far away; sd bounded by 1', () => {
  const X = [Float64Array.of(1, 0, 0), Float64Array.of(0, 1, 0), Float64Array.of(0, 0, 1)];
  const y = Float64Array.of(1, -1, 0.5);
  const m = fitGp(X, y, { lengthscale: 0.5, noise: 1e-6, scale: 1 });
  for (let i = 0; i < 3; i++) {
    const p = predictGp(m, X[i]!);
    assert.ok(Math.abs(p.mean - y[i]!) < 1e-3, `mean ${p.mean} vs ${y[i]}`);
    assert.ok(p.sd < 1e-2);
    assert.ok(Math.abs(gpMean(m, X[i]!) - p.mean) < 1e-12 && Math.abs(gpSd(m, X[i]!) - p.sd) < 1e-12);
  }
  const far = predictGp(m, Float64Array.of(50, 50, 50));
  assert.ok(Math.abs(far.mean) < 1e-6 && Math.abs(far.sd - 1) < 1e-6);
});

test('gp: normal quantiles and copula scores', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  assert.ok(Math.abs(normalQuantile(0.01) + 2.326348) < 1e-5);
  assert.equal(normalQuantile(0.5), 0);
  const z = copulaScores([10, -Infinity, 30, 30, 20]);
  assert.ok(z[1]! < z[0]! && z[0]! < z[4]! && z[4]! < z[2]!);
  assert.equal(z[2], z[3]);
  assert.ok(Math.abs([...z].reduce((a, b) => a + b, 0)) < 1e-9);
});

test('bo: the training cap keeps the best half and the most recent trials, in history order', () => {
  const all = [5, 1, 9, 2, 8, 3, 7, 0].map((f, i) => ({ f, i }));
  assert.deepEqual(capTraining(all, 4).map((x) => x.i), [2, 4, 6, 7]);
  assert.equal(capTraining(all, 100).length, 8);
});

test('bo beats random search on NB201 at 60 queries (6 seeds, test acc of best-by-validation)', { skip: !existsSync(NB201_CIFAR10_CSV) && 'NB201 table not found' }, () => {
  const table = loadNb201Table(NB201_CIFAR10_CSV);
  const mean = (name: string) => {
    let s = 0;
    for (let seed = 0; seed < 6; seed++) {
      const r = simulate(createStrategy(name), { space: nb201Space, objectives: [{ metric: 'val_acc', direction: 'maximize' }], evaluate: (a) => table.lookup(a), trials: 60, seed: 7000 + seed, roundTrip: false });
      s += bestByValidation(r.history)!;
    }
    return s / 6;
  };
  const bo = mean('bo');
  const rnd = mean('random');
  assert.ok(bo > rnd + 0.1, `bo ${bo} vs random ${rnd}`);
});
