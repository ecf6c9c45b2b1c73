import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.js';

test('same seed, same stream; saved state resumes exactly', () => {
  const a = Rng.fromSeed(42);
  const b = Rng.fromSeed(42);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.nextUint32()));
  const saved = JSON.parse(JSON.stringify(a.state()));
  const tail = Array.from({ length: 50 }, () => a.float());
  const resumed = Rng.fromState(saved);
  assert.deepEqual(Array.from({ length: 50 }, () => resumed.float()), tail);
});

test('different seeds differ; string seeds work; derive does not advance', () => {
  assert.notEqual(Rng.fromSeed(1).nextUint32(), Rng.fromSeed(2).nextUint32());
  assert.notEqual(Rng.fromSeed(1).nextUint32(), Rng.fromSeed(2 ** 40 + 1).nextUint32());
  assert.equal(Rng.fromSeed('abc').nextUint32(), Rng.fromSeed('abc').nextUint32());
  const r = Rng.fromSeed(7);
  const before = r.state();
  const d1 = r.derive('x').nextUint32();
  assert.deepEqual(r.state(), before);
  assert.equal(r.derive('x').nextUint32(), d1);
  assert.notEqual(r.derive('y').nextUint32(), d1);
});

test('int is unbiased and in range; float moments; normal moments', () => {
  const r = Rng.fromSeed(3);
  const counts = new Array(6).fill(0);
  const N = 60000;
  for (let i = 0; i < N; i++) counts[r.int(0, 6)] += 1;
  for (const c of counts) assert.ok(Math.abs(c - N / 6) < 5 * Math.sqrt(N / 6), `count ${c}`);
  let s = 0, s2 = 0;
  for (let i = 0; i < N; i++) { const x = r.normal(); s += x; s2 += x * x; }
  assert.ok(Math.abs(s / N) < 0.02);
  assert.ok(Math.abs(s2 / N - 1) < 0.03);
  assert.throws(() => r.int(3, 3), RangeError);
  assert.throws(() => r.choice([]), RangeError);
});

test('shuffle is a permutation; weighted follows weights', () => {
  const r = Rng.fromSeed(9);
  assert.deepEqual(r.permutation(20).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  const c = [0, 0, 0];
  for (let i = 0; i < 30000; i++) c[r.weighted([1, 0, 3])]! += 1;
  assert.equal(c[1], 0);
  assert.ok(Math.abs(c[2]! / c[0]! - 3) < 0.2);
});
