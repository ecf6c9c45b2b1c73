/**
 * runOneShot's per-epoch validation (report) pass, interrupted or failing (src/oneshot/search.ts
 * reportPass): an abort raised during epoch N's pass stops it within one batch with NasError
 * `aborted` naming that pass and epoch; a failure there ends the search with that error as it is.
 * Either way epoch N is not recorded (no onEpoch, no checkpoint: the file keeps epoch N-1), native
 * memory and the thread count are given back, and a rerun with the same checkpoint resumes after
 * epoch N-1 and ends where an uninterrupted search ends.
 *
 * The pass is found by wrapping the supernet module's forward: DARTS's report mode runs the module
 * in eval mode (running BN statistics) and its training steps in train mode, so an eval-mode forward
 * is a report-pass batch (the uninterrupted run below checks the count per epoch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import type { InputSpec } from '../nn/build/index.js';
import { loadStateDict } from '../nn/state.js';
import { Generator, getNumThreads, liveTensors, type Tensor } from '../tensor/index.js';
import { nb201Supernet } from './nb201.js';
import { parseOneShotOptions } from './options.js';
import { runOneShot, splitHalves, type EpochRecord } from './search.js';

let digits: PreparedData | undefined;
async function data(): Promise<PreparedData> {
  // 60 per class: a 300-image architecture half, 2 report batches of at most 256 (256, 44).
  digits ??= await prepareData({ kind: 'digits' }, { seed: 0, trainPerClass: 60 });
  return digits;
}
const REPORT_BATCHES = 2;
const opts = parseOneShotOptions({ epochs: 2, batch_size: 64, width: 4, cells: 1 });

/** A supernet factory whose module calls `onEval(batchIndexInEpoch)` before each eval-mode forward. */
function watched(onEval: (pass: { epochsDone: number; batch: number }) => void, epochsDone: () => number) {
  return (i: InputSpec, g: Generator) => {
    const net = nb201Supernet(i, g, { width: 4, cells: 1 });
    const m = net.module;
    const forward = m.forward.bind(m);
    let lastEpoch = -1;
    let batch = 0;
    m.forward = (x: Tensor): Tensor => {
      if (!m.training) {
        if (epochsDone() !== lastEpoch) {
          lastEpoch = epochsDone();
          batch = 0;
        }
        onEval({ epochsDone: lastEpoch, batch: batch++ });
      }
      return forward(x);
    };
    return net;
  };
}

function checkpointEpoch(path: string): number {
  const { tensors, meta } = loadStateDict(path);
  for (const t of tensors.values()) t.dispose();
  return meta['epoch'] as number;
}

async function reference(halves: ReturnType<typeof splitHalves>) {
  let done = 0;
  const evals: number[] = [];
  const r = await runOneShot({
    method: 'darts',
    options: opts,
    seed: 2,
    data: halves,
    supernet: watched((p) => void (evals[p.epochsDone] = (evals[p.epochsDone] ?? 0) + 1), () => done),
    onEpoch: (rec) => void (done = rec.epoch),
  });
  return { r, evals };
}

test('an interrupt during the validation pass of epoch 2: stops within one batch, epoch 2 unrecorded, the checkpoint keeps epoch 1, the rerun resumes there', async () => {
  const d = await data();
  const halves = splitHalves(d, opts.batchSize, 0);
  const ref = await reference(halves);
  // the watch sees the report pass: 2 eval-mode batches after each epoch's training steps
  assert.deepEqual(ref.evals, [REPORT_BATCHES, REPORT_BATCHES]);

  const dir = mkdtempSync(join(tmpdir(), 'tsnas-report-pass-'));
  try {
    const checkpoint = { path: join(dir, 'ckpt.sd'), fingerprint: 'f' };
    const ctl = new AbortController();
    let done = 0;
    const recorded: number[] = [];
    const evalsAfterAbort: number[] = [];
    const threads = getNumThreads();
    const before = liveTensors();
    await assert.rejects(
      runOneShot({
        method: 'darts',
        options: opts,
        seed: 2,
        data: halves,
        threads: 1,
        checkpoint,
        signal: ctl.signal,
        // aborted at the first report batch of epoch 2 (after epoch 1 was recorded)
        supernet: watched((p) => {
          if (ctl.signal.aborted) evalsAfterAbort.push(p.batch);
          else if (p.epochsDone === 1 && p.batch === 0) ctl.abort();
        }, () => done),
        onEpoch: (rec: EpochRecord) => {
          done = rec.epoch;
          recorded.push(rec.epoch);
        },
      }),
      (e: unknown) => isNasError(e, 'aborted') && /aborted during the validation pass of epoch 2/.test((e as Error).message),
    );
    assert.deepEqual(evalsAfterAbort, [], 'no report batch after the one the interrupt arrived in');
    assert.deepEqual(recorded, [1], 'epoch 2 is not recorded');
    assert.equal(checkpointEpoch(checkpoint.path), 1, 'the checkpoint keeps epoch 1');
    assert.equal(liveTensors(), before, 'native tensors freed');
    assert.equal(getNumThreads(), threads, 'thread count restored');

    // the rerun resumes after epoch 1 and ends as the uninterrupted search
    let resumed: readonly EpochRecord[] | undefined;
    const r = await runOneShot({ method: 'darts', options: opts, seed: 2, data: halves, checkpoint, supernet: (i, g) => nb201Supernet(i, g, { width: 4, cells: 1 }), onResume: (h) => void (resumed = h) });
    assert.equal(resumed?.length, 1);
    assert.equal(r.resumedAfter, 1);
    assert.deepEqual(r.history.map((h) => h.epoch), [1, 2]);
    assert.deepEqual(r.arch, ref.r.arch);
    const a = r.history[1]!.probs!.flat();
    const b = ref.r.history[1]!.probs!.flat();
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-3, `prob ${i}: ${v} vs ${b[i]}`));
    assert.ok(Math.abs(r.history[1]!.metrics['val_acc']! - ref.r.history[1]!.metrics['val_acc']!) < 1.5, 'epoch 2 redone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failure during the validation pass of epoch 2: the error as raised, epoch 2 unrecorded, the checkpoint keeps epoch 1, memory freed', async () => {
  const d = await data();
  const halves = splitHalves(d, opts.batchSize, 0);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-report-pass-'));
  try {
    const checkpoint = { path: join(dir, 'ckpt.sd'), fingerprint: 'f' };
    let done = 0;
    const recorded: number[] = [];
    const before = liveTensors();
    await assert.rejects(
      runOneShot({
        method: 'darts',
        options: opts,
        seed: 2,
        data: halves,
        checkpoint,
        // the second report batch of epoch 2 fails (one batch already counted)
        supernet: watched((p) => {
          if (p.epochsDone === 1 && p.batch === 1) throw new Error('report batch failed');
        }, () => done),
        onEpoch: (rec) => {
          done = rec.epoch;
          recorded.push(rec.epoch);
        },
      }),
      (e: unknown) => e instanceof Error && e.message === 'report batch failed' && !isNasError(e),
    );
    assert.deepEqual(recorded, [1]);
    assert.equal(checkpointEpoch(checkpoint.path), 1);
    assert.ok(!existsSync(`${checkpoint.path}.tmp-${process.pid}`), 'no temporary checkpoint left');
    assert.equal(liveTensors(), before, 'native tensors freed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
