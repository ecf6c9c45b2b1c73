/**
 * New user, session 10, finding 10: `timeout 60 tsnas train ...` stopped at 112 s (the rest of the
 * epoch's validation and test passes and the latency measurement ran after the SIGTERM). Training
 * now checks the abort signal after every batch and inside every evaluation pass, so an interrupt
 * stops within one batch; the run is `failed/aborted` as interrupted runs were before (a study
 * releases such a trial for resumption). Deterministic: the signal is raised from the progress
 * hook after N batches, no timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { Generator } from '../tensor/index.js';
import { evaluateSubsetAsync, trainOnData } from './train.js';
import type { TrainProgressSink } from './train-progress.js';

let digits: PreparedData;
test.before(async () => {
  digits = await prepareData({ kind: 'digits' }, { seed: 0 });
});
const mlp: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 };

/** A progress hook that aborts `ctl` when `at(epoch, batch)` is first true, and counts batches seen. */
function abortingSink(ctl: AbortController, at: (epoch: number, batch: number, batches: number) => boolean): TrainProgressSink & { batches: number } {
  const s = {
    batches: 0,
    batch(epoch: number, _epochs: number, batch: number, batches: number) {
      s.batches++;
      if (!ctl.signal.aborted && at(epoch, batch, batches)) ctl.abort('test');
    },
    epoch() {},
    done() {},
  };
  return s;
}

test('an abort raised after 3 batches of epoch 1 stops the training at that batch, long before the epoch ends: failed/aborted, no validation or test pass', async () => {
  const ctl = new AbortController();
  const sink = abortingSink(ctl, (_e, b) => b === 3);
  const r = await trainOnData(digits, { arch: mlp, seed: 1, budget: 5, signal: ctl.signal }, { hparams: { batchSize: 8 }, progress: sink, latency: true });
  assert.equal(r.outcome.status, 'failed');
  assert.ok(r.outcome.status === 'failed' && r.outcome.reason === 'aborted', JSON.stringify(r.outcome));
  assert.match(r.outcome.status === 'failed' ? r.outcome.message : '', /aborted during epoch 1 \(after batch 3 of \d+\)/);
  assert.equal(r.steps, 3);
  assert.equal(sink.batches, 3, 'no batch after the abort');
  assert.ok(!('test' in r) && !('latency' in r), 'neither the test pass nor the latency measurement ran');
  assert.equal(r.epochs, 0, 'no epoch recorded as finished');
});

test('an abort at the last batch of an epoch stops before that epoch\'s validation pass; a later epoch\'s abort keeps the finished epochs\' curve', async () => {
  const ctl = new AbortController();
  const sink = abortingSink(ctl, (e, b, n) => e === 2 && b === n);
  const r = await trainOnData(digits, { arch: mlp, seed: 1, budget: 5, signal: ctl.signal }, { hparams: { batchSize: 64 }, progress: sink });
  assert.ok(r.outcome.status === 'failed' && r.outcome.reason === 'aborted');
  assert.equal(r.epochs, 1, 'epoch 1 finished (with its validation), epoch 2 did not');
  assert.equal(r.outcome.curve.length, 1);
});

test('evaluateSubsetAsync: an aborted signal stops the pass between batches (NasError aborted)', async () => {
  const net = buildNetwork(mlp, { shape: digits.shape, numClasses: digits.numClasses }, { gen: new Generator(0) }).module;
  try {
    const ctl = new AbortController();
    ctl.abort('test');
    await assert.rejects(() => evaluateSubsetAsync(net, digits.val, digits, 4, undefined, ctl.signal), (e: unknown) => isNasError(e, 'aborted'));
    // Without a signal (or not aborted) the same pass completes.
    const m = await evaluateSubsetAsync(net, digits.val, digits, 4, undefined, new AbortController().signal);
    assert.ok(Number.isFinite(m.loss));
  } finally {
    net.dispose();
  }
});
