import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NasError } from '../core/errors.js';
import { statsOf, trainRepeated } from './index.js';

const MLP = { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 };
const OPTIONS = { dataset: 'digits', epochs: 1, threads: 1, latency: false };

/** Everything a run reports except its timing. */
const results = (r: { metrics: Record<string, number>; costs: Record<string, number> }) =>
  Object.fromEntries(Object.entries({ ...r.metrics, ...r.costs }).filter(([k]) => !/seconds/.test(k)));

test('trainRepeated on digits: different seeds give different results, the same seed the same; summary over the seeds', async () => {
  const r = await trainRepeated({ arch: MLP, options: OPTIONS }, [0, 1, 0]);
  assert.deepEqual(r.seeds, [0, 1, 0]);
  assert.equal(r.failed, 0);
  assert.equal(r.aborted, false);
  const [a, b, c] = r.runs;
  assert.ok(a && b && c && r.runs.every((x) => x.status === 'complete'));
  assert.deepEqual(results(c), results(a));
  assert.notEqual(a.metrics['train_loss'], b.metrics['train_loss']);
  assert.notEqual(a.metrics['val_loss'], b.metrics['val_loss']);
  // The split is fixed (split_seed), so the parameter count and the test set size agree.
  assert.equal(a.costs['params'], b.costs['params']);
  // `latency: false` turns the measurement off (tsnas train --no-latency).
  assert.equal(a.costs['latency_ms'], undefined);
  for (const k of ['test_acc', 'val_acc', 'test_f1', 'test_loss', 'train_seconds'])
    assert.deepEqual(r.summary[k], statsOf(r.runs.map((x) => x.metrics[k]!)), k);
  assert.ok(r.summary['test_acc']!.std! > 0);
  assert.equal(r.summary['test_acc']!.n, 3);
});

test('trainRepeated: failed seeds are reported and left out of the statistics; bad input throws before training', async () => {
  const r = await trainRepeated({ arch: MLP, options: { ...OPTIONS, hparams: { optimizer: 'sgd', lr: 1e30 } } }, [0, 1]);
  assert.equal(r.failed, 2);
  assert.ok(r.runs.every((x) => x.status === 'failed' && /diverged/.test(x.error ?? '')), JSON.stringify(r.runs.map((x) => x.error)));
  assert.deepEqual(r.summary, {});
  await assert.rejects(trainRepeated({ arch: MLP, options: OPTIONS }, []), (e: unknown) => e instanceof NasError && e.field === 'seeds');
  await assert.rejects(trainRepeated({ arch: { family: 'nope' }, options: OPTIONS }, [0]), (e: unknown) => e instanceof NasError && e.code === 'invalid_arch');
});
