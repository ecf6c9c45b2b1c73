/**
 * New-user findings 2 and 4 (session 3):
 *  - `tsnas train` with a bad architecture (`hidden: [-4]`) loaded the data, then failed with exit 1:
 *    the architecture is now checked before any data is loaded (input error, field named);
 *  - a config with several bad fields needed one run per field: every problem is reported at once
 *    (one NasError, `details.issues`, each naming its field and fix) - search configs, the train
 *    evaluator's options, and `tsnas train`'s options + architecture together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError, type Issue } from '../core/errors.js';
import { checkArchBeforeData } from '../eval/train.js';
import { prepareSearch, train } from './index.js';

const issuesOf = (e: unknown): Issue[] => ((e as { details?: { issues?: Issue[] } }).details?.issues ?? []);
const mlp = (hidden: number[], extra: Record<string, unknown> = {}) => ({ family: 'mlp', hidden, activation: 'relu', batchNorm: false, dropout: 0, ...extra });

test('a bad architecture is refused before the data is loaded, naming the field (train, every dataset kind)', async () => {
  // A data directory that does not exist would fail on loading: the arch error comes first.
  for (const options of [{ dataset: 'digits' }, { dataset: 'fashion_mnist' }, { dataset: 'csv', path: '/etc/hostname' }] as Record<string, string>[]) {
    await assert.rejects(
      train({ arch: mlp([-4]), options: { ...options, epochs: 1 } }),
      (e: unknown) => isNasError(e, 'invalid_arch') && e.field === 'hidden[0]',
      JSON.stringify(options),
    );
  }
  // Siblings: an unknown activation, a joint arch with bad hparams, a CNN that does not fit 8x8 digits.
  assert.throws(() => checkArchBeforeData(mlp([8], { activation: 'swishy' }), { kind: 'digits' }), (e: unknown) => isNasError(e, 'invalid_arch') && e.field === 'activation');
  assert.throws(() => checkArchBeforeData({ arch: mlp([8]), hparams: { lr: -1 } }, { kind: 'digits' }), (e: unknown) => isNasError(e) && /lr/.test(e.message));
  const deep = { family: 'chain_cnn', layers: Array.from({ length: 5 }, () => ({ kernel: 3, channels: 8, activation: 'relu', batchNorm: false, pool: 2, skip: false })), dropout: 0, head: { kind: 'gap' } };
  assert.throws(() => checkArchBeforeData(deep, { kind: 'digits' }), (e: unknown) => isNasError(e) && (e.code === 'shape_mismatch' || e.code === 'invalid_arch'));
  // A CSV's width is unknown before loading: only the architecture's own faults count then.
  assert.doesNotThrow(() => checkArchBeforeData(deep, { kind: 'csv', path: 'x.csv' }));
  assert.doesNotThrow(() => checkArchBeforeData(mlp([16, 8]), { kind: 'digits' }));
});

test('tsnas train: bad options and a bad architecture are reported together', async () => {
  await assert.rejects(train({ arch: mlp([-4]), options: { dataset: 'digits', epochs: 0, threads: -1 } }), (e: unknown) => {
    assert.ok(isNasError(e, 'invalid_config'), String(e));
    assert.deepEqual(issuesOf(e).map((i) => i.field), ['evaluator.epochs', 'evaluator.threads', 'hidden[0]']);
    assert.match(e.message, /^3 problems in the training input:\n  1\. evaluator\.epochs: must be an integer in \[1, 10000\], got 0\n  2\. evaluator\.threads: .*\n  3\. hidden\[0\]: /);
    return true;
  });
});

test('a search config with several bad fields reports every one of them at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-issues-'));
  try {
    const base = { study: 's', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201' } };
    // Three bad scalar fields.
    assert.throws(() => prepareSearch({ config: { ...base, trials: 0, seed: -1, workers: 'two' } }), (e: unknown) => {
      assert.ok(isNasError(e, 'invalid_config'));
      assert.deepEqual(issuesOf(e).map((i) => i.field), ['trials', 'seed', 'workers']);
      assert.match(e.message, /^3 problems in the config:\n  1\. trials: /);
      return true;
    });
    // A bad scalar field and a bad strategy name: the registries still check the names.
    assert.throws(() => prepareSearch({ config: { ...base, strategy: 'randomm', lease: 0 } }), (e: unknown) => {
      assert.deepEqual(issuesOf(e).map((i) => i.field), ['lease', 'strategy']);
      return true;
    });
    // Bad fields in the objectives and the constraints, and an unknown key.
    assert.throws(() => prepareSearch({ config: { ...base, objectives: [{ metric: 'val_acc', direction: 'up' }], constraints: [{ metric: 'params' }], bogus: 1 } }), (e: unknown) => {
      assert.deepEqual(issuesOf(e).map((i) => i.field).sort(), ['bogus', 'constraints[0]', 'objectives[0].direction'].sort());
      return true;
    });
    // The train evaluator's options: each bad one named (flattened into the config's list).
    const csv = join(dir, 'd.csv');
    writeFileSync(csv, 'a,b,y\n1,2,0\n3,4,1\n');
    assert.throws(() => prepareSearch({ config: { ...base, space: 'mlp', trials: 0, evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: -1, val_fraction: 2 } } }), (e: unknown) => {
      assert.deepEqual(issuesOf(e).map((i) => i.field), ['trials', 'evaluator.val_fraction', 'evaluator.epochs']);
      return true;
    });
    // One bad field: the error as before (its own field and hint), no list.
    assert.throws(() => prepareSearch({ config: { ...base, trials: 0 } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'trials' && issuesOf(e).length === 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
