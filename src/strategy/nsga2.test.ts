import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { NB201_CIFAR10_CSV, NB201_LATENCY_CSV, loadNb201Table } from '../eval/tabular.js';
import type { Objective } from '../core/metrics.js';
import { nb201Space } from '../space/nb201.js';
import { strategyConformanceSuite } from './common-suite.js';
import { simulate } from './common-testing.js';
import { selectSurvivors } from './nsga2.js';
import { crowdingDistance, dominates, hypervolume2d, nonDominatedSort, paretoFront } from './pareto.js';
import { createStrategy } from './registry.js';

strategyConformanceSuite('nsga2', { options: { population: 10 }, toyQuality: 9 });

test('pareto: dominance, non-dominated sorting, crowding distance', () => {
  assert.ok(dominates([1, 1], [1, 2]) && !dominates([1, 2], [1, 2]) && !dominates([0, 3], [1, 2]));
  const pts = [[1, 5], [2, 2], [5, 1], [3, 3], [4, 4], [2, 6]];
  assert.deepEqual(nonDominatedSort(pts), [[0, 1, 2], [3, 5], [4]]);
  const cd = crowdingDistance([[1, 5], [2, 2], [5, 1]]);
  assert.equal(cd[0], Infinity);
  assert.equal(cd[2], Infinity);
  assert.ok(Math.abs(cd[1]! - (4 / 4 + 4 / 4)) < 1e-12);
  assert.deepEqual(paretoFront([[1, 1], [1, 1], [2, 0]]), [[1, 1], [2, 0]]);
});

test('pareto: exact 2-D hypervolume', () => {
  assert.equal(hypervolume2d([[1, 1]], [3, 3]), 4);
  // Union of [1,3]x[2,3] and [2,3]x[1,3]: 2 + 2 - 1 = 3; a dominated point and one beyond ref add nothing.
  assert.equal(hypervolume2d([[1, 2], [2, 1], [2.5, 2.5], [4, 0]], [3, 3]), 3);
  assert.equal(hypervolume2d([], [3, 3]), 0);
});

test('nsga2: survivors are whole fronts, the last one cut by crowding; infeasible last', () => {
  const v = [[1, 5], [2, 2], [5, 1], [3, 3], undefined, [3.5, 2.5], [2, 6]];
  const keep = selectSurvivors(v, 4);
  assert.deepEqual(keep.slice(0, 3).sort(), [0, 1, 2]);
  assert.ok(keep[3] === 3 || keep[3] === 5 || keep[3] === 6);
  assert.ok(!selectSurvivors(v, 6).includes(4));
});

test('nsga2 covers the val_acc / latency front better than random search on NB201 (200 queries, 3 seeds)', { skip: !existsSync(NB201_LATENCY_CSV) && 'tables not found' }, () => {
  const table = loadNb201Table(NB201_CIFAR10_CSV, { latency: { path: NB201_LATENCY_CSV } });
  const objectives: Objective[] = [
    { metric: 'val_acc', direction: 'maximize' },
    { metric: 'latency_ms', direction: 'minimize' },
  ];
  const ref: [number, number] = [0, 200];
  const hv = (name: string, seed: number) => {
    const r = simulate(createStrategy(name), { space: nb201Space, objectives, evaluate: (a) => table.lookup(a), trials: 200, seed, roundTrip: false });
    return hypervolume2d(paretoFront(r.history.map((t) => [-t.metrics!.val_acc!, t.metrics!.latency_ms!])), ref);
  };
  let n = 0;
  let r = 0;
  for (let s = 0; s < 3; s++) {
    n += hv('nsga2', 300 + s);
    r += hv('random', 300 + s);
  }
  assert.ok(n > r, `nsga2 ${n / 3} vs random ${r / 3}`);
});
