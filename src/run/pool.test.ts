import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { workerEnv } from './pool.js';

test('workerEnv divides the CPUs among local workers unless the user chose OMP_NUM_THREADS', () => {
  const cpus = availableParallelism();
  // defaulted by the engine (or absent): divided, at least 1 each
  assert.equal(workerEnv(1, { TSNAS_THREADS_DEFAULTED: '1', OMP_NUM_THREADS: String(cpus) })['OMP_NUM_THREADS'], String(cpus));
  assert.equal(workerEnv(2, { TSNAS_THREADS_DEFAULTED: '1', OMP_NUM_THREADS: String(cpus) })['OMP_NUM_THREADS'], String(Math.max(1, Math.floor(cpus / 2))));
  assert.equal(workerEnv(4 * cpus, {})['OMP_NUM_THREADS'], '1');
  // the user's own setting is kept, whatever the worker count
  assert.equal(workerEnv(8, { OMP_NUM_THREADS: '3' })['OMP_NUM_THREADS'], '3');
});
