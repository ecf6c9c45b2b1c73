import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MainResult } from '../api/main-job.js';
import { printMainRun } from './main-command.js';

const base = (o: Partial<MainResult>): MainResult =>
  ({
    study: 'm', storage: 'sqlite:x.db', seed: 0, trials: 40, searchSeconds: 130, seconds: 400,
    winner: {} as never, winnerTrial: 7, winnerSearchValAcc: 88.5, winnerBudget: 1, budgetSamples: 6000,
    baseline: {} as never, finalEpochs: 3, rows: [], ...o,
  }) as MainResult;

test('tsnas main closing line: a resumed run says its own time against the whole search; the budget in training samples', () => {
  const fresh = printMainRun(base({}));
  assert.match(fresh, /^total 6\.7 min \(search 2\.2 min, 40 trials; winner #7, val_acc 88\.50 after 6,000 training samples of the subset\)$/m);
  // new user 11: 'total 0.1 min (search 2.2 min ...' and 'after 1 epochs on the subset' beside 'after 6,000 training samples'.
  const resumed = printMainRun(base({ seconds: 6, winnerBudget: 3 }));
  assert.match(resumed, /^this run 0\.1 min \(search 2\.2 min, counting earlier runs, 40 trials; winner #7, val_acc 88\.50 after 18,000 training samples of the subset\)$/m);
  assert.doesNotMatch(resumed, /epochs on the subset/);
});

test('tsnas main table: the int8 row has 0 training epochs and a footnote that its seconds are the quantization (new user 11: "3 epochs" beside 17 s of quantization)', () => {
  const row = (key: string, model: string, epochs: number, secs: number) => ({ key, model, status: 'complete', test_acc: 90, params: 1000, flops: 2000, macs: 1000, latency_ms: 0.5, size_bytes: 4096, epochs, train_seconds: secs, weights: null, curve: [], resumed: false });
  const t = printMainRun(base({ rows: [row('winner', 'searched winner', 3, 40), row('compressed', 'winner int8', 3, 17)] as never }));
  assert.match(t, /train epochs +seconds/);
  assert.match(t, /^winner int8 +90\.00% .* 0 +17 *$/m);
  assert.match(t, /^searched winner +90\.00% .* 3 +40 *$/m);
  assert.match(t, /^winner int8: the winner's trained network quantized, not trained again; its seconds are the quantization and its evaluation$/m);
});
