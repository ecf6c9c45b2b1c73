import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { batches } from './batch.js';
import { fitNormalization, identityNormalization } from './normalize.js';
import { prepareSplits } from './prepare.js';
import { loadDigits } from './sources.js';
import { stratifiedSplit } from './split.js';
import { balancedSubset } from './subset.js';
import { classCounts, fullSubset, type Dataset } from './types.js';

const digits = loadDigits();

function union(...parts: Int32Array[]): number[] {
  return parts.flatMap((p) => Array.from(p)).sort((a, b) => a - b);
}

test('split: deterministic under a seed, disjoint, covering, stratified', () => {
  const a = prepareSplits(digits, { seed: 3, valFraction: 0.1, testFraction: 0.2 });
  const b = prepareSplits(digits, { seed: 3, valFraction: 0.1, testFraction: 0.2 });
  const c = prepareSplits(digits, { seed: 4, valFraction: 0.1, testFraction: 0.2 });
  assert.deepEqual(a.train.indices, b.train.indices);
  assert.deepEqual(a.val.indices, b.val.indices);
  assert.deepEqual(a.test.indices, b.test.indices);
  assert.notDeepEqual(a.test.indices, c.test.indices);
  const all = union(a.train.indices, a.val.indices, a.test.indices);
  assert.equal(all.length, 1797);
  assert.deepEqual(all, Array.from({ length: 1797 }, (_, i) => i)); // disjoint and covering
  assert.ok(Math.abs(a.test.indices.length - 359) <= 10 && Math.abs(a.val.indices.length - 180) <= 10);
  // stratified: every class has ~20% in test
  const total = classCounts(fullSubset(digits.train));
  classCounts(a.test).forEach((n, k) => assert.ok(Math.abs(n - 0.2 * total[k]!) <= 1, `class ${k}`));
});

test('split: a dataset with an official test keeps it and carves validation from train', () => {
  const test0: Dataset = { ...digits.train, name: 'd/test', y: digits.train.y.slice(0, 100), x: digits.train.x.slice(0, 6400) };
  const p = prepareSplits({ train: digits.train, test: test0 }, { valFraction: 0.25 });
  assert.equal(p.test.data, test0);
  assert.equal(p.test.indices.length, 100);
  assert.equal(p.train.indices.length + p.val.indices.length, 1797);
  assert.equal(new Set([...p.train.indices, ...p.val.indices]).size, 1797);
});

test('split: bad fractions are invalid_config naming the field', () => {
  assert.throws(() => prepareSplits(digits, { valFraction: 1.5 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'val_fraction');
  assert.throws(() => prepareSplits(digits, { testFraction: -0.1 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'test_fraction');
  // the config's snake_case names and the flags, never the internal camelCase ones
  assert.throws(
    () => prepareSplits(digits, { valFraction: 0.5, testFraction: 0.5 }),
    (e: unknown) => isNasError(e, 'invalid_config') && /val_fraction \+ test_fraction = 1 leaves no training data/.test(e.message) && /--val-fraction, --test-fraction/.test(e.hint ?? '') && !/[a-z][A-Z]/.test(e.message),
  );
  assert.throws(() => stratifiedSplit(fullSubset(digits.train), [-0.1], 1), /split fraction/);
});

test('normalisation: fitted on the training split only; normalised train has mean 0, std 1', () => {
  const p = prepareSplits(digits, { seed: 1 });
  const n = p.normalization;
  // fit on train only: differs from a fit on everything
  const all = fitNormalization(fullSubset(digits.train));
  assert.notEqual(n.mean[0], all.mean[0]);
  let s = 0;
  let q = 0;
  let cnt = 0;
  for (const b of batches(p.train, { batchSize: 100, normalization: n })) {
    for (const v of b.x) {
      s += v;
      q += v * v;
      cnt++;
    }
  }
  assert.ok(Math.abs(s / cnt) < 1e-4);
  assert.ok(Math.abs(q / cnt - 1) < 1e-3);
});

test('normalisation: per channel for images, per feature for tabular, constant features safe', () => {
  const img: Dataset = { name: 'i', x: Uint8Array.from([0, 0, 255, 255, 10, 20, 30, 40]), y: Int32Array.from([0, 1]), shape: [2, 1, 2], numClasses: 2 };
  const n = fitNormalization(fullSubset(img));
  assert.equal(n.scale, 1 / 255);
  // sample 0 = [0 0 | 255 255], sample 1 = [10 20 | 30 40]: channel means 7.5 and 145 raw
  assert.deepEqual(n.mean.map((v) => +v.toFixed(6)), [+(7.5 / 255).toFixed(6), +(145 / 255).toFixed(6)]);
  const tab: Dataset = { name: 't', x: Float32Array.from([1, 5, 3, 5]), y: Int32Array.from([0, 1]), shape: [2], numClasses: 2 };
  const t = fitNormalization(fullSubset(tab));
  assert.deepEqual(t.mean, [2, 5]);
  assert.deepEqual(t.std, [1, 1]);
});

test('batching: shuffled order is a permutation, deterministic under a seed; last batch partial', () => {
  const s = fullSubset(digits.train);
  const norm = identityNormalization(1);
  const seen = (seed: number) => {
    const ys: number[] = [];
    const sizes: number[] = [];
    for (const b of batches(s, { batchSize: 256, normalization: norm, shuffle: Rng.fromSeed(seed) })) {
      sizes.push(b.size);
      assert.equal(b.x.length, b.size * 64);
      assert.deepEqual(b.shape, [b.size, 1, 8, 8]);
      ys.push(...b.y);
    }
    return { ys, sizes };
  };
  const a = seen(1);
  assert.deepEqual(a.sizes, [256, 256, 256, 256, 256, 256, 256, 5]);
  assert.deepEqual(a, seen(1));
  assert.notDeepEqual(a.ys, seen(2).ys);
  assert.deepEqual([...a.ys].sort(), Array.from(digits.train.y).sort());
  const dropped = [...batches(s, { batchSize: 256, normalization: norm, dropLast: true })];
  assert.equal(dropped.length, 7);
  // unshuffled: first batch is the first samples, values copied exactly
  const first = dropped[0]!;
  assert.deepEqual(Array.from(first.x.subarray(0, 64)), Array.from(digits.train.x.subarray(0, 64)));
});

test('augmentation: deterministic under a seed, differs across seeds, crop/flip/cutout do what they say', () => {
  // 1 channel 4x4 image with distinct pixel values 1..16, raw = normalised (identity).
  const x = new Uint8Array(16);
  for (let i = 0; i < 16; i++) x[i] = i + 1;
  const d: Dataset = { name: 'a', x, y: Int32Array.from([0]), shape: [1, 4, 4], numClasses: 1 };
  const s = fullSubset(d);
  const norm = identityNormalization(1);
  const run = (aug: object, seed: number) => [...batches(s, { batchSize: 1, normalization: norm, augment: aug, augmentRng: Rng.fromSeed(seed) })][0]!.x;
  const many = (aug: object, seed: number) => {
    const rng = Rng.fromSeed(seed);
    return Array.from({ length: 20 }, () => Array.from([...batches(s, { batchSize: 1, normalization: norm, augment: aug, augmentRng: rng })][0]!.x));
  };
  const full = { cropPadding: 2, hflip: true, cutout: 2 };
  assert.deepEqual(many(full, 5), many(full, 5));
  assert.notDeepEqual(many(full, 5), many(full, 6));
  // flip only: each output is the original or its mirror
  for (const out of many({ hflip: true }, 1)) {
    const mirror = [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13];
    assert.ok(JSON.stringify(out) === JSON.stringify(Array.from(x)) || JSON.stringify(out) === JSON.stringify(mirror));
  }
  // crop only: output is a shifted window with zero padding; the central values that remain keep their neighbours
  const outs = many({ cropPadding: 1 }, 2);
  assert.ok(outs.some((o) => o.includes(0)));
  for (const o of outs) for (let i = 0; i < 16; i++) if (o[i] !== 0 && i % 4 < 3 && o[i + 1] !== 0) assert.equal(o[i + 1]! - o[i]!, 1);
  // cutout only: exactly a clipped square of zeros, the rest untouched
  for (const o of many({ cutout: 2 }, 3)) {
    const zeros = o.filter((v) => v === 0).length;
    assert.ok(zeros >= 1 && zeros <= 4);
    o.forEach((v, i) => assert.ok(v === 0 || v === i + 1));
  }
  assert.equal(run({}, 1).length, 16);
  assert.throws(() => [...batches(fullSubset(digits.train), { batchSize: 2, normalization: norm, augment: { cutout: -1 }, augmentRng: Rng.fromSeed(1) })], /cutout/);
});

test('class-balanced subsets: equal per-class counts, seeded', () => {
  const s = fullSubset(digits.train);
  const a = balancedSubset(s, 20, Rng.fromSeed(1));
  assert.deepEqual(classCounts(a), new Array(10).fill(20));
  assert.deepEqual(a.indices, balancedSubset(s, 20, Rng.fromSeed(1)).indices);
  assert.notDeepEqual(a.indices, balancedSubset(s, 20, Rng.fromSeed(2)).indices);
  const p = prepareSplits(digits, { trainPerClass: 5, valPerClass: 3 });
  assert.deepEqual(classCounts(p.train), new Array(10).fill(5));
  assert.deepEqual(classCounts(p.val), new Array(10).fill(3));
});
