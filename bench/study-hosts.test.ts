import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timelineOf } from './study-hosts.js';

test('timelineOf: start skew, tail, gaps between a worker\'s trials and the rate while all hosts run', () => {
  // Host a: 3 trials of 1 s from t=0 with 100 ms gaps; host b starts 1 s late, 2 trials, 50 ms gap.
  const a = [0, 1100, 2200].map((s) => ({ workerId: 'a', startedAt: s, finishedAt: s + 1000 }));
  const b = [1000, 2050].map((s) => ({ workerId: 'b', startedAt: s, finishedAt: s + 1000 }));
  const t = timelineOf([...b, ...a, { workerId: 'c', startedAt: 5, finishedAt: null }], 2);
  assert.equal(t.startSkewMs, 1000);
  assert.equal(t.tailMs, 3200 - 3050);
  assert.equal(t.gapMs, (100 + 100 + 50) / 3);
  assert.deepEqual(t.perHost.sort(), [2, 3]);
  assert.equal(t.perHour, (5 * 3_600_000) / 3200);
  assert.equal(t.steadyPerHour, (3 * 3_600_000) / 3200 + (2 * 3_600_000) / 2050);
});
