import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getSpace } from '../src/space/index.js';
import { DEFAULT_CONFIG, defaultConfigOf, permutationP } from './tabular.js';

test('permutationP: one-sided sign-flip test of mean > 0; seeded; all-zero or symmetric differences are not significant', () => {
  // 10 positive differences, no negative: only the observed sign pattern reaches the mean, p ~ 2^-10.
  const allUp = Array.from({ length: 10 }, () => 2.78);
  const p = permutationP(allUp, 20_000);
  assert.ok(p < 0.003 && p >= 1 / 20_001, `p ${p}`);
  assert.equal(permutationP(allUp, 20_000), p, 'same seed, same p');
  assert.equal(permutationP([0, 0, 0, 0], 1000), 1, 'no difference: every flip reaches the mean');
  const sym = permutationP([1, -1, 1, -1, 2, -2], 20_000);
  assert.ok(sym > 0.4, `symmetric differences: p ${sym}`);
  // 3 wins, 1 loss of one test row each in 36 (2.78 points): far from significant.
  assert.ok(permutationP([2.78, 2.78, 2.78, -2.78, 0, 0, 0, 0], 20_000) > 0.2);
});

test('defaultConfigOf: the enqueued default is a member of each space; joint_mlp_small holds scikit-learn\'s [100]', () => {
  assert.deepEqual(defaultConfigOf('joint_mlp'), DEFAULT_CONFIG);
  assert.deepEqual(defaultConfigOf('joint_mlp_small').arch.hidden, [100]);
  for (const s of ['joint_mlp', 'joint_mlp_small'] as const) assert.doesNotThrow(() => getSpace(s).validate(defaultConfigOf(s)), s);
});
