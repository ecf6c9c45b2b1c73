import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../core/rng.js';
import { NasError } from '../core/errors.js';
import { exclusiveHypervolume, GeneralHypervolumeFront, hypervolume, HypervolumeFront2d, hypervolumeFront } from './hypervolume.js';
import { hypervolume2d } from './pareto.js';

/** Relative closeness: WFG, inclusion-exclusion and Optuna sum the same boxes in other orders. */
function close(a: number, b: number, what: string, rel = 1e-9): void {
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);
}

/**
 * Brute force by inclusion-exclusion: hv = sum over non-empty subsets S of (-1)^(|S|+1) times the
 * volume of the intersection of their boxes, prod_j (ref_j - max_{p in S} p_j)^+. O(2^n m).
 */
function inclusionExclusion(points: readonly (readonly number[])[], ref: readonly number[]): number {
  const n = points.length;
  let hv = 0;
  for (let mask = 1; mask < 1 << n; mask++) {
    let vol = 1;
    let size = 0;
    for (let j = 0; j < ref.length && vol > 0; j++) {
      let worst = -Infinity;
      for (let i = 0; i < n; i++) if (mask & (1 << i)) worst = Math.max(worst, points[i]![j]!);
      vol *= Math.max(0, ref[j]! - worst);
    }
    for (let i = 0; i < n; i++) if (mask & (1 << i)) size++;
    hv += (size % 2 === 1 ? 1 : -1) * vol;
  }
  return hv;
}

/** Brute force on an integer grid: unit cells [c, c+1) inside ref that some point weakly dominates. */
function gridCount(points: readonly (readonly number[])[], ref: readonly number[]): number {
  let count = 0;
  const cell = new Array<number>(ref.length).fill(0);
  const walk = (j: number): void => {
    if (j === ref.length) {
      if (points.some((p) => p.every((v, k) => v <= cell[k]!))) count++;
      return;
    }
    for (let c = 0; c < ref[j]!; c++) {
      cell[j] = c;
      walk(j + 1);
    }
  };
  walk(0);
  return count;
}

test('hypervolume equals inclusion-exclusion on random sets of 3 to 5 objectives (some points outside the reference point)', () => {
  const rng = Rng.fromSeed(11);
  for (const m of [3, 4, 5]) {
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + rng.int(0, 10);
      // some points lie beyond the reference point on some objective: they must add nothing
      const points = Array.from({ length: n }, () => Array.from({ length: m }, () => rng.float() * 1.2));
      const ref = Array.from({ length: m }, () => 1);
      const inside = points.filter((p) => p.every((v, j) => v < ref[j]!));
      close(hypervolume(points, ref), inclusionExclusion(inside, ref), `m=${m} n=${n} trial ${trial}`);
    }
  }
});

test('hypervolume counts the same unit cells as a grid on integer points with ties and duplicates', () => {
  const rng = Rng.fromSeed(5);
  for (const m of [3, 4, 5]) {
    for (let trial = 0; trial < 15; trial++) {
      const n = 1 + rng.int(0, 12);
      const points = Array.from({ length: n }, () => Array.from({ length: m }, () => rng.int(0, 4)));
      points.push([...points[0]!]); // a duplicate
      const ref = Array.from({ length: m }, () => 4);
      assert.equal(hypervolume(points, ref), gridCount(points, ref), `m=${m} n=${n} trial ${trial}`);
    }
  }
});

test('hypervolume on larger sets: integer grid in 3 objectives (60 points), a constant objective added to 60 points in 3 and 4', () => {
  const rng = Rng.fromSeed(8);
  for (let trial = 0; trial < 10; trial++) {
    const points = Array.from({ length: 60 }, () => [rng.int(0, 8), rng.int(0, 8), rng.int(0, 8)]);
    assert.equal(hypervolume(points, [8, 8, 8]), gridCount(points, [8, 8, 8]), `grid trial ${trial}`);
  }
  for (const m of [3, 4]) {
    const pts = Array.from({ length: 60 }, () => {
      const p = Array.from({ length: m }, () => rng.float());
      const sum = p.reduce((a, b) => a + b);
      return p.map((v) => v / sum); // mostly non-dominated
    });
    const ref = new Array<number>(m).fill(1);
    close(hypervolume(pts.map((p) => [...p, 0.5]), [...ref, 2]), hypervolume(pts, ref) * 1.5, `m=${m} + constant`);
  }
});

test('hypervolume agrees with Optuna 3.1 WFG on the recorded fixture (scripts/hypervolume-fixture.py)', () => {
  const fx = JSON.parse(readFileSync(new URL('./hypervolume.fixture.json', import.meta.url), 'utf8')) as {
    optuna: string;
    cases: { m: number; kind: string; points: number[][]; ref: number[]; hypervolume: number }[];
  };
  assert.equal(fx.optuna, '3.1.0');
  assert.equal(fx.cases.length, 24);
  for (const c of fx.cases) close(hypervolume(c.points, c.ref), c.hypervolume, `m=${c.m} n=${c.points.length} ${c.kind}`);
});

test('hypervolume closed forms: one point, the unit vectors, a box of points, scaling and objective order', () => {
  // one point: the box's volume
  close(hypervolume([[1, 2, 3]], [2, 4, 7]), 1 * 2 * 4, 'one point');
  // p_i = 1 everywhere but 0 at i, ref 2: the cube [1,2]^m plus m unit slabs = m + 1
  for (const m of [3, 4, 5, 6]) {
    const pts = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 0 : 1)));
    close(hypervolume(pts, new Array(m).fill(2)), m + 1, `unit vectors m=${m}`);
  }
  // every corner of {0,1}^3 but the origin, ref 2: the cube [0,2]^3 without [0,1)^3 = 8 - 1
  const corners: number[][] = [];
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) if (a + b + c > 0) corners.push([a, b, c]);
  close(hypervolume(corners, [2, 2, 2]), 7, 'corners');
  // scaling objective j by s_j scales the volume by prod s_j; permuting objectives keeps it
  const rng = Rng.fromSeed(3);
  const pts = Array.from({ length: 12 }, () => [rng.float(), rng.float(), rng.float(), rng.float()]);
  const base = hypervolume(pts, [1, 1, 1, 1]);
  const s = [2, 0.5, 10, 3];
  close(hypervolume(pts.map((p) => p.map((v, j) => v * s[j]!)), s), base * 2 * 0.5 * 10 * 3, 'scaled');
  close(hypervolume(pts.map((p) => [p[2]!, p[0]!, p[3]!, p[1]!]), [1, 1, 1, 1]), base, 'permuted');
  // a third objective at one constant value: the 2-D area times its height
  const two = pts.map((p) => [p[0]!, p[1]!]);
  close(hypervolume(two.map((p) => [...p, 0.25]), [1, 1, 1]), hypervolume2d(two, [1, 1]) * 0.75, 'constant third objective');
});

test('hypervolume degenerate cases: empty, none inside, on the reference point, duplicates, one and two objectives', () => {
  assert.equal(hypervolume([], [1, 1, 1]), 0);
  assert.equal(hypervolume([[2, 0, 0], [0, 1, 0]], [1, 1, 1]), 0, 'beyond, and equal on one objective: nothing');
  assert.equal(hypervolume([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], [1, 1, 1]), 0.125, 'duplicates count once');
  assert.equal(hypervolume([[0.5, 0.5, 0.5], [0.6, 0.6, 0.6]], [1, 1, 1]), 0.125, 'a dominated point adds nothing');
  assert.equal(hypervolume([[3], [1], [2]], [4]), 3, 'one objective');
  close(hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]), hypervolume2d([[1, 3], [2, 2], [3, 1]], [4, 4]), 'two objectives: the 2-D sweep');
  assert.equal(hypervolume([[-1, -1, -1]], [0, 0, 0]), 1, 'negative values (maximised objectives negated)');
});

test('hypervolume errors name the field: mismatched lengths, non-finite values, empty reference point', () => {
  const code = (f: () => unknown, field: string) =>
    assert.throws(f, (e: unknown) => e instanceof NasError && e.code === 'invalid_config' && e.field === field);
  code(() => hypervolume([[1, 2]], [3, 3, 3]), 'points');
  code(() => hypervolume([[1, NaN, 2]], [3, 3, 3]), 'points');
  code(() => hypervolume([[1, 1, 1]], [3, Infinity, 3]), 'ref');
  code(() => hypervolume([], []), 'ref');
});

test('exclusiveHypervolume builds the hypervolume one point at a time (what a history uses)', () => {
  const rng = Rng.fromSeed(21);
  for (const m of [2, 3, 4]) {
    const pts = Array.from({ length: 15 }, () => Array.from({ length: m }, () => rng.float() * 1.1));
    const ref = new Array<number>(m).fill(1);
    let hv = 0;
    for (let i = 0; i < pts.length; i++) {
      hv += exclusiveHypervolume(pts[i]!, pts.slice(0, i), ref);
      close(hv, hypervolume(pts.slice(0, i + 1), ref), `m=${m} after ${i + 1} points`);
    }
  }
});

test('HypervolumeFront2d (the 2-D history path) equals GeneralHypervolumeFront point by point: ties, duplicates, equal x or y, points outside ref', () => {
  const key = (ps: readonly (readonly number[])[]) => ps.map((p) => p.join(',')).sort().join(' ');
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const rng = Rng.fromSeed(`front2d-${seed}`);
    const ref = [8, 8];
    const fast = new HypervolumeFront2d(ref);
    const general = new GeneralHypervolumeFront(ref);
    const pts: number[][] = [];
    for (let i = 0; i < 300; i++) {
      // a coarse grid (duplicates, shared x or y), continuous values, and values on or beyond ref
      const v = (): number => (rng.float() < 0.5 ? rng.int(0, 10) : rng.float() * 9.5);
      const p = i > 0 && rng.float() < 0.1 ? [...pts[rng.int(0, pts.length)]!] : [v(), v()];
      pts.push(p);
      close(fast.add(p), general.add(p), `seed ${seed}, point ${i} (${p.join(', ')})`);
      assert.equal(fast.size, general.size, `seed ${seed}, point ${i}: front size`);
      assert.equal(key(fast.points()), key(general.points()), `seed ${seed}, point ${i}: front members`);
    }
    close(hypervolume(fast.points(), ref), hypervolume(pts, ref), `seed ${seed}: the front bounds what all points bound`);
  }
  // by hand: (2,5) then (2,3) (same x, better y: replaces it), (1,6), (3,3) (dominated), (2,3) again (kept, adds 0), (0,0) (dominates all)
  const f = new HypervolumeFront2d([10, 10]);
  assert.equal(f.add([2, 5]), 40);
  assert.equal(f.add([2, 3]), 16);
  assert.equal(f.add([1, 6]), 4);
  assert.equal(f.add([3, 3]), 0);
  assert.equal(f.add([2, 3]), 0);
  assert.equal(f.size, 3);
  assert.equal(f.add([12, -1]), 0, 'beyond ref on x: adds nothing, yet a member');
  assert.equal(f.size, 4);
  assert.equal(f.add([0, 0]), 100 - 60);
  assert.deepEqual(f.points(), [[0, 0], [12, -1]]);
  assert.ok(hypervolumeFront([1, 1]) instanceof HypervolumeFront2d);
  assert.ok(hypervolumeFront([1, 1, 1]) instanceof GeneralHypervolumeFront);
  assert.throws(() => new HypervolumeFront2d([1, 1, 1]), (e: unknown) => e instanceof NasError && e.field === 'ref');
});
