/** `enqueue:` (src/strategy/enqueue.ts): the given architectures are the study's first trials, once each; checked up front. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { canonicalJson } from '../core/json.js';
import { openStore } from '../store/index.js';
import { prepareSearch, search } from './study.js';

const DEFAULT = { arch: { family: 'mlp', hidden: [128], activation: 'relu', batchNorm: false, dropout: 0 }, hparams: { optimizer: 'adam', lr: 0.001, batchSize: 32, weightDecay: 1e-6 } };
const WIDE = { arch: { family: 'mlp', hidden: [256, 256], activation: 'tanh', batchNorm: true, dropout: 0.1 }, hparams: { optimizer: 'sgd', lr: 0.01, batchSize: 64, weightDecay: 1e-4, momentum: 0.9 } };
const cfg = (storage: string, study: string, extra: Record<string, unknown>) => ({ study, storage, space: 'joint_mlp', strategy: 'tpe', evaluator: { name: 'synthetic', steps: 1 }, trials: 5, seed: 3, ...extra });

test('enqueue: the listed architectures are trials 0 and 1 in order (marked), then the strategy; resuming does not repeat them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-enqueue-'));
  try {
    const db = `sqlite:${join(dir, 'e.db')}`;
    const r = await search(prepareSearch({ config: cfg(db, 'q', { enqueue: [DEFAULT, WIDE] }) }));
    assert.equal(r.counts.complete, 5);
    const again = await search(prepareSearch({ config: cfg(db, 'q', { enqueue: [DEFAULT, WIDE], trials: 5 }) }));
    assert.equal(again.counts.total, 5);
    const s = await openStore(db);
    try {
      const trials = await s.listTrials((await s.requireStudy('q')).id);
      assert.equal(canonicalJson(trials[0]!.arch), canonicalJson(DEFAULT));
      assert.equal(canonicalJson(trials[1]!.arch), canonicalJson(WIDE));
      assert.equal(trials[0]!.params['enqueued'], 1);
      assert.equal(trials[1]!.params['enqueued'], 2);
      assert.equal(trials[2]!.params['enqueued'], undefined);
      assert.equal(new Set(trials.map((t) => t.archKey)).size, 5);
    } finally {
      await s.close();
    }
    // A different list is a different study (part of its identity).
    await assert.rejects(search(prepareSearch({ config: cfg(db, 'q', { enqueue: [WIDE] }) })), (e: unknown) => isNasError(e, 'invalid_config') && /enqueue/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enqueue: every bad entry is reported at once, naming enqueue[i], before anything is written', () => {
  const db = 'sqlite::memory:';
  const bad = (extra: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => prepareSearch({ config: cfg(`sqlite:${join(tmpdir(), 'never-written.db')}`, 'bad', extra) }), (e: unknown) => isNasError(e, 'invalid_config') && re.test((e as Error).message), String(re));
  void db;
  bad({ enqueue: [] }, /enqueue: must be a non-empty list/);
  bad({ enqueue: [DEFAULT, 7] }, /enqueue\[1\]/);
  bad({ enqueue: [DEFAULT, { ...DEFAULT, hparams: { ...DEFAULT.hparams, lr: 5 } }, DEFAULT] }, /enqueue\[1\][\s\S]*enqueue\[2\]: is the same architecture as enqueue\[0\]/);
  bad({ enqueue: [DEFAULT], strategy: 'hyperband' }, /multi-fidelity/);
});
