import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { NB201_CIFAR10_CSV, NB201_LATENCY_CSV, loadNb201Table } from '../eval/tabular.js';
import type { Objective } from '../core/metrics.js';
import { nb201Space } from '../space/nb201.js';
import { strategyConformanceSuite } from './common-suite.js';
import { simulate } from './common-testing.js';
import { rankAndCrowding, selectSurvivors } from './nsga2.js';
import { hypervolume } from './hypervolume.js';
import { Rng } from '../core/rng.js';
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

/** Fronts by the definition (brute force): front k is what no point outside fronts 0..k-1 dominates. */
function frontsByDefinition(points: readonly number[][]): number[][] {
  const left = new Set(points.map((_, i) => i));
  const out: number[][] = [];
  while (left.size) {
    const f = [...left].filter((i) => ![...left].some((j) => dominates(points[j]!, points[i]!)));
    out.push(f);
    for (const i of f) left.delete(i);
  }
  return out;
}

test('pareto with 3-5 objectives: non-dominated sorting equals the definition (ties and duplicates included); crowding distance by hand', () => {
  const rng = Rng.fromSeed(13);
  for (const m of [3, 4, 5])
    for (let trial = 0; trial < 20; trial++) {
      const pts = Array.from({ length: 5 + rng.int(0, 25) }, () => Array.from({ length: m }, () => rng.int(0, 5)));
      assert.deepEqual(nonDominatedSort(pts).map((f) => [...f].sort((a, b) => a - b)), frontsByDefinition(pts), `m=${m} trial ${trial}`);
    }
  // Three objectives, four mutually non-dominated points. Objective 0: order 0,1,2,3 (range 3),
  // objective 1: 3,2,1,0 (range 3), objective 2: 1,3,0,2 (values 1,0,3,2 -> sorted 0..3, range 3).
  const pts = [[0, 3, 1], [1, 2, 0], [2, 1, 3], [3, 0, 2]];
  const cd = crowdingDistance(pts);
  // points 0 and 3 are boundaries on objectives 0 and 1; point 1 is the minimum and point 2 the maximum of objective 2
  assert.deepEqual(cd, [Infinity, Infinity, Infinity, Infinity]);
  const five = [[0, 4, 2], [1, 3, 0], [2, 2, 4], [3, 1, 1], [4, 0, 3]];
  const cd5 = crowdingDistance(five);
  // boundaries: 0 and 4 (objectives 0, 1), 1 (min of objective 2), 2 (max of objective 2); point 3:
  // objective 0 (4-2)/4, objective 1 (2-0)/4, objective 2 neighbours 0 and 2 in value: (2-0)/4 -> 1.5
  assert.deepEqual(cd5.slice(0, 3), [Infinity, Infinity, Infinity]);
  assert.equal(cd5[4], Infinity);
  assert.ok(Math.abs(cd5[3]! - 1.5) < 1e-12, String(cd5[3]));
});

test('nsga2 selection with 3 and 4 objectives: whole fronts, the last front cut by largest crowding distance; infeasible last', () => {
  const rng = Rng.fromSeed(29);
  for (const m of [3, 4])
    for (let trial = 0; trial < 20; trial++) {
      const n = 8 + rng.int(0, 20);
      const v: (number[] | undefined)[] = Array.from({ length: n }, () => (rng.float() < 0.1 ? undefined : Array.from({ length: m }, () => rng.float())));
      const k = 1 + rng.int(0, n);
      const keep = selectSurvivors(v, k);
      assert.equal(keep.length, k);
      const feasible = v.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
      const fronts = frontsByDefinition(feasible.map((i) => v[i]!)).map((f) => f.map((j) => feasible[j]!));
      const { rank, crowd } = rankAndCrowding(v);
      let room = k;
      for (const [r, f] of fronts.entries()) {
        for (const i of f) assert.equal(rank[i], r, `rank of ${i}`);
        if (room >= f.length) {
          for (const i of f) assert.ok(keep.includes(i), `m=${m} trial ${trial}: a member of whole front ${r} kept`);
          room -= f.length;
          continue;
        }
        // the cut front: the kept ones have crowding at least that of every one left out
        const kept = f.filter((i) => keep.includes(i));
        const out = f.filter((i) => !keep.includes(i));
        assert.equal(kept.length, room);
        if (kept.length && out.length) assert.ok(Math.min(...kept.map((i) => crowd[i]!)) >= Math.max(...out.map((i) => crowd[i]!)), `m=${m} trial ${trial}: cut by crowding`);
        room = 0;
      }
      // infeasible ones only when every feasible one is kept
      if (keep.some((i) => !v[i])) assert.ok(feasible.every((i) => keep.includes(i)));
    }
});

test('nsga2 with 3 objectives on NB201 (val_acc, latency_ms, params; 200 queries, 5 seeds): no repeated key, and a larger hypervolume than random search', { skip: !existsSync(NB201_LATENCY_CSV) && 'tables not found' }, () => {
  const table = loadNb201Table(NB201_CIFAR10_CSV, { latency: { path: NB201_LATENCY_CSV } });
  const objectives: Objective[] = [
    { metric: 'val_acc', direction: 'maximize' },
    { metric: 'latency_ms', direction: 'minimize' },
    { metric: 'params', direction: 'minimize' },
  ];
  const ref = [-0, 200, 2e6]; // minimisation: val_acc negated (0 %), latency 200 ms, 2M parameters
  const run = (name: string, seed: number) => {
    const r = simulate(createStrategy(name), { space: nb201Space, objectives, evaluate: (a) => table.lookup(a), trials: 200, seed, roundTrip: false });
    assert.equal(new Set(r.history.map((t) => t.key)).size, r.history.length, `${name} seed ${seed}: a key repeated`);
    return hypervolume(r.history.filter((t) => t.metrics).map((t) => [-t.metrics!.val_acc!, t.metrics!.latency_ms!, t.metrics!.params!]), ref);
  };
  let n = 0;
  let r = 0;
  for (let s = 0; s < 5; s++) {
    n += run('nsga2', 300 + s);
    r += run('random', 300 + s);
  }
  assert.ok(n > r, `nsga2 ${n / 5} vs random ${r / 5}`);
});
