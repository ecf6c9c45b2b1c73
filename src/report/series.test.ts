import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DashTrialState, TimelineBars, TrialRow } from '../api/dashboard.js';
import { timelineBars } from './series.js';

// start/finish in ms; secs maps them to seconds since 0
function row(number: number, state: DashTrialState, start: number | null, end: number | null, attempt = 1): TrialRow {
  return { id: number + 1, number, state, value: null, metrics: {}, params: {}, archKey: null, budget: null, generation: null, attempt, startedAt: start, finishedAt: end, durationMs: null };
}
const secs = (ms: number): number => ms / 1000;
const total = (t: TimelineBars): number => t.bars.reduce((a, g) => a + g.count.reduce((x, c) => x + c, 0), 0);

test('timelineBars: far-apart trials stay one bar each, in start order, per state', () => {
  const rows = [row(0, 'complete', 0, 10_000), row(1, 'failed', 20_000, 21_000), row(2, 'complete', 40_000, 50_000), row(3, 'waiting', null, null)];
  const t = timelineBars(rows, ['a', 'b', 'a', null], secs, 100);
  assert.deepEqual(t.workers, ['a', 'b']);
  assert.equal(t.trials, 3, 'the waiting trial has not started');
  assert.equal(t.span, 50);
  assert.equal(t.merged, false);
  const complete = t.bars.find((g) => g.state === 'complete')!;
  assert.deepEqual(complete, { state: 'complete', worker: [0, 0], start: [0, 40], end: [10, 50], count: [1, 1] });
  assert.deepEqual(t.bars.find((g) => g.state === 'failed'), { state: 'failed', worker: [1], start: [20], end: [21], count: [1] });
  assert.equal(t.reruns, null);
});

test('timelineBars: bars of one state in one lane within span/columns are merged, with counts; other lanes and states are not', () => {
  // 1,000 back-to-back trials of 1 s on one worker, every 10th pruned; span 1,000 s, 100 columns: gap 10 s
  const rows: TrialRow[] = [];
  for (let i = 0; i < 1000; i++) rows.push(row(i, i % 10 === 9 ? 'pruned' : 'complete', i * 1000, i * 1000 + 1000));
  rows.push(row(1000, 'complete', 500_000, 501_000)); // another worker, same time
  const workers = [...rows.map(() => 'w0').slice(0, 1000), 'w1'];
  const t = timelineBars(rows, workers, secs, 100);
  assert.equal(t.trials, 1001);
  assert.equal(total(t), 1001, 'every trial is in exactly one bar');
  assert.equal(t.merged, true);
  const complete = t.bars.find((g) => g.state === 'complete')!;
  // lane 0's complete trials are one run (the pruned gaps are 1 s < 10 s); lane 1's is its own
  assert.deepEqual(complete.worker, [0, 1]);
  assert.deepEqual(complete.count, [900, 1]);
  assert.deepEqual([complete.start[0], complete.end[0]], [0, 999]);
  // pruned trials are 10 s apart: 9 s of gap <= 10 s, so they merge too, into one bar of 100
  const pruned = t.bars.find((g) => g.state === 'pruned')!;
  assert.deepEqual(pruned.count, [100]);
  // with a finer grid (gap 1 s... 1000 columns) the pruned ones stay apart
  const fine = timelineBars(rows, workers, secs, 1000);
  assert.equal(fine.bars.find((g) => g.state === 'pruned')!.count.length, 100);
  assert.equal(total(fine), 1001);
});

test('timelineBars: running trials are never merged and end at null; re-runs are merged apart and counted in the bars too', () => {
  const rows = [
    row(0, 'complete', 0, 1000),
    row(1, 'running', 1000, null),
    row(2, 'running', 1100, null),
    row(3, 'complete', 1000, 2000, 2),
    row(4, 'complete', 2000, 3000, 3),
    row(5, 'failed', 90_000, 100_000, 2),
  ];
  const t = timelineBars(rows, ['a', 'a', 'a', 'a', 'a', 'a'], secs, 10);
  assert.equal(total(t), 6);
  assert.deepEqual(t.bars.find((g) => g.state === 'running'), { state: 'running', worker: [0, 0], start: [1, 1.1], end: [null, null], count: [1, 1] });
  assert.deepEqual(t.bars.find((g) => g.state === 'complete')!.count, [3]);
  assert.deepEqual(t.reruns, { worker: [0, 0], start: [1, 90], end: [3, 100], count: [2, 1] });
});

test('timelineBars: no trial started', () => {
  const t = timelineBars([row(0, 'waiting', null, null)], ['a'], secs);
  assert.deepEqual({ ...t, columns: 0 }, { workers: [], trials: 0, span: 0, columns: 0, merged: false, bars: [], reruns: null });
});
