import { test } from 'node:test';
import assert from 'node:assert/strict';
import { equalWithinRounding, mean, populationStd, sampleStd } from './stats.js';
import { statsOf, summarizeRuns } from '../api/repeat.js';
import { statTable } from '../cli/commands-extra.js';

test('values equal within rounding have std exactly 0 and mean exactly their value', () => {
  // tsnas repeat: ten seeds that all found 91.6067 (as sums of table values) printed `± 1.498e-14`.
  const same = Array.from({ length: 10 }, (_, i) => (i % 2 ? 91.6067 : 91.6067 + 1.4210854715202004e-14));
  const naive = Math.sqrt(same.reduce((a, b) => a + (b - same.reduce((x, y) => x + y) / 10) ** 2, 0) / 9);
  assert.ok(naive > 0, 'the naive formula gives float noise for this input');
  assert.equal(sampleStd(same), 0);
  assert.equal(populationStd(same), 0);
  assert.equal(mean(same), 91.6067);
  assert.equal(sampleStd([0.1 + 0.2, 0.3, 0.3]), 0);
  assert.equal(statsOf(same)!.std, 0);
  assert.equal(summarizeRuns(same.map((v) => ({ val_acc: v })))['val_acc']!.std, 0);
  assert.match(statTable(summarizeRuns(same.map((v) => ({ val_acc: v })))), /91\.6067 ± 0\b/);
  // Exactly equal values and single values.
  assert.equal(sampleStd([94.3733, 94.3733]), 0);
  assert.equal(sampleStd([5]), 0);
  assert.equal(statsOf([5])!.std, null);
  assert.ok(equalWithinRounding([0, 0]));
});

test('a real spread is kept, however small relative to the values', () => {
  assert.ok(!equalWithinRounding([1, 1 + 1e-12]));
  assert.ok(sampleStd([1, 1 + 1e-12]) > 0);
  assert.ok(Math.abs(sampleStd([1, 2, 3]) - 1) < 1e-12);
  assert.ok(Math.abs(populationStd([1, 3]) - 1) < 1e-12);
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.ok(Number.isNaN(mean([])));
});
