import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { isNasError } from '../core/errors.js';
import { datasetOfFlags } from './args.js';

test('datasetOfFlags: --data-dir is the image kinds\' directory, --path the digits/csv file (--data-dir FILE its older spelling); csv requires it', () => {
  assert.deepEqual(datasetOfFlags('fashion_mnist', 'd'), { kind: 'fashion_mnist', dataDir: resolve('d') });
  assert.deepEqual(datasetOfFlags('cifar10', undefined), { kind: 'cifar10' });
  assert.deepEqual(datasetOfFlags('digits', undefined, 'x.csv'), { kind: 'digits', path: resolve('x.csv') });
  assert.deepEqual(datasetOfFlags('csv', undefined, 'y.csv'), { kind: 'csv', path: resolve('y.csv') });
  // The older spelling, and both naming the same file.
  assert.deepEqual(datasetOfFlags('digits', 'x.csv'), { kind: 'digits', path: resolve('x.csv') });
  assert.deepEqual(datasetOfFlags('csv', 'y.csv', './y.csv'), { kind: 'csv', path: resolve('y.csv') });
  const fieldIs = (f: string) => (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === f;
  assert.throws(() => datasetOfFlags('csv', undefined), fieldIs('--path'));
  assert.throws(() => datasetOfFlags('csv', 'a.csv', 'b.csv'), fieldIs('--path'));
  assert.throws(() => datasetOfFlags('mnist', undefined, 'a.csv'), fieldIs('--path'));
});
