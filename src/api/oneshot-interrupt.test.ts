/**
 * What a one-shot study records and keeps when its supernet search (trial 0) is interrupted or fails
 * part-way (src/api/oneshot.ts around runOneShot; runOneShot's own side, including an interrupt or
 * failure inside an epoch's validation pass, is src/oneshot/report-pass.test.ts):
 * - interrupted (the signal, as Ctrl-C): trial 0 released (waiting, for the rerun), the finished
 *   epochs' intermediate values and alpha kept, the checkpoint kept, no derived trial, the study
 *   `stopped`; the rerun resumes after the last finished epoch and completes both trials.
 * - failed (here: the checkpoint cannot be written in epoch 2): trial 0 `failed` with the error's
 *   code and message, epoch 1's values and alpha kept, the study `failed` with the same reason; a
 *   rerun reports that failure again without training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { oneShotSearch, prepareOneShot, type OneShotEvent } from './oneshot.js';

function prepared(dir: string) {
  return prepareOneShot({
    config: {
      study: 'os',
      storage: `sqlite:${join(dir, 'os.db')}`,
      space: 'nb201',
      strategy: { name: 'darts', options: { epochs: 2, batch_size: 32, width: 4, cells: 1, final_epochs: 1 } },
      evaluator: { name: 'train', dataset: 'digits', train_per_class: 40, epochs: 1, threads: 1, nb201: { width: 4, cells: 1 } },
      seed: 5,
    },
  });
}

async function stored(dir: string) {
  const store = await openStore(`sqlite:${join(dir, 'os.db')}`);
  try {
    const st = await store.requireStudy('os');
    const trials = await store.listTrials(st.id);
    const search = trials[0]!;
    const steps = (await store.getIntermediates(search.id)).map((r) => r.step);
    const alpha = search.userAttrs['alpha'] as { epochs: { epoch: number }[] } | undefined;
    return { state: st.state, trials, search, steps, alphaEpochs: alpha?.epochs.map((e) => e.epoch) };
  } finally {
    await store.close();
  }
}

test('interrupted after supernet epoch 1: trial 0 released with epoch 1 kept, the study stopped; the rerun resumes after epoch 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-int-'));
  try {
    const p = prepared(dir);
    const ctl = new AbortController();
    const r = await oneShotSearch(p, { signal: ctl.signal, onEvent: (e) => void (e.type === 'epoch' && e.epoch === 1 && ctl.abort()) });
    assert.equal(r.reason, 'aborted');
    assert.equal(r.arch, null);
    const s = await stored(dir);
    assert.equal(s.state, 'stopped');
    assert.equal(s.trials.length, 1, 'no derived trial');
    assert.equal(s.search.state, 'waiting');
    assert.deepEqual(s.steps, [1]);
    assert.deepEqual(s.alphaEpochs, [1]);
    assert.equal(s.search.userAttrs['derived_arch'], undefined);
    assert.ok(existsSync(join(p.artifactsDir!, 'oneshot-search.ckpt')), 'checkpoint kept');

    const events: OneShotEvent[] = [];
    const again = await oneShotSearch(prepared(dir), { onEvent: (e) => events.push(e) });
    assert.equal(again.reason, 'complete');
    assert.equal(again.resumedAfter, 1);
    assert.deepEqual(events.filter((e) => e.type === 'epoch').map((e) => (e as { epoch: number }).epoch), [2]);
    const t = await stored(dir);
    assert.equal(t.state, 'finished');
    assert.equal(t.search.state, 'complete');
    assert.equal(t.search.attempt, 2);
    assert.deepEqual(t.steps, [1, 2]);
    assert.deepEqual(t.alphaEpochs, [1, 2]);
    assert.equal(t.trials[1]?.state, 'complete');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failed in supernet epoch 2 (its checkpoint cannot be written): trial 0 and the study failed with the reason, epoch 1 kept; a rerun reports it without training', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-fail-'));
  try {
    const p = prepared(dir);
    const ckpt = join(p.artifactsDir!, 'oneshot-search.ckpt');
    // after epoch 1's checkpoint: its path becomes a non-empty directory, so epoch 2's rename fails
    const r = await oneShotSearch(p, {
      onEvent: (e) => {
        if (e.type === 'epoch' && e.epoch === 1) {
          rmSync(ckpt);
          mkdirSync(ckpt);
          writeFileSync(join(ckpt, 'x'), '');
        }
      },
    });
    assert.equal(r.reason, 'failed');
    assert.match(r.error ?? '', /^storage_error: cannot write state dict .*oneshot-search\.ckpt: EISDIR/);
    assert.deepEqual(readdirSync(p.artifactsDir!).filter((f) => f.includes('.tmp-')), [], 'no temporary checkpoint left');
    const s = await stored(dir);
    assert.equal(s.state, 'failed');
    assert.equal(s.trials.length, 1);
    assert.equal(s.search.state, 'failed');
    assert.equal(s.search.error, r.error);
    assert.deepEqual(s.steps, [1]);
    assert.deepEqual(s.alphaEpochs, [1]);

    const events: OneShotEvent[] = [];
    const again = await oneShotSearch(prepared(dir), { onEvent: (e) => events.push(e) });
    assert.equal(again.reason, 'failed');
    assert.equal(again.error, r.error);
    assert.deepEqual(events.filter((e) => e.type === 'epoch'), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
