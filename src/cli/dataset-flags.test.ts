import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { isNasError } from '../core/errors.js';
import { datasetOfFlags } from './args.js';

test('datasetOfFlags: --data-dir is the image kinds\' directory, the digits/csv file; csv requires it', () => {
  assert.deepEqual(datasetOfFlags('fashion_mnist', 'd'), { kind: 'fashion_mnist', dataDir: resolve('d') });
  assert.deepEqual(datasetOfFlags('cifar10', undefined), { kind: 'cifar10' });
  assert.deepEqual(datasetOfFlags('digits', 'x.csv'), { kind: 'digits', path: resolve('x.csv') });
  assert.deepEqual(datasetOfFlags('csv', 'y.csv'), { kind: 'csv', path: resolve('y.csv') });
  assert.throws(() => datasetOfFlags('csv', undefined), (e) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === '--data-dir');
});
