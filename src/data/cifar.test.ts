import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { CIFAR_RECORD, readCifarBatches } from './cifar.js';
import { loadCifar10 } from './sources.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-cifar-'));

function records(labels: number[]): Uint8Array {
  const b = new Uint8Array(labels.length * CIFAR_RECORD);
  labels.forEach((l, r) => {
    b[r * CIFAR_RECORD] = l;
    for (let j = 1; j < CIFAR_RECORD; j++) b[r * CIFAR_RECORD + j] = (r + j) % 256;
  });
  return b;
}

const dataErr = (re: RegExp) => (e: unknown) => isNasError(e, 'data_error') && re.test((e as Error).message);

test('cifar: reads records as CHW bytes with labels', () => {
  const f = join(dir, 'b1.bin');
  writeFileSync(f, records([3, 0, 9]));
  const d = readCifarBatches([f, f], 'c');
  assert.equal(d.y.length, 6);
  assert.deepEqual(Array.from(d.y), [3, 0, 9, 3, 0, 9]);
  assert.deepEqual(d.shape, [3, 32, 32]);
  assert.equal(d.x[3072 + 5], (1 + 6) % 256); // record 1, pixel 5 = byte 6 of the record
});

test('cifar: truncated file and bad label name the file and offset', () => {
  const f = join(dir, 'trunc.bin');
  writeFileSync(f, records([1, 2]).subarray(0, CIFAR_RECORD + 100));
  assert.throws(() => readCifarBatches([f], 'c'), dataErr(new RegExp(`trunc\\.bin at offset ${CIFAR_RECORD}: truncated or corrupt.*record 1 is incomplete`)));
  const g = join(dir, 'label.bin');
  writeFileSync(g, records([1, 2, 17]));
  assert.throws(() => readCifarBatches([g], 'c'), dataErr(new RegExp(`label\\.bin at offset ${2 * CIFAR_RECORD}: label 17 of record 2 is out of range`)));
  assert.throws(() => readCifarBatches([join(dir, 'absent.bin')], 'c'), dataErr(/absent\.bin: cannot read CIFAR-10 batch \(ENOENT\)/));
});

test('cifar: a directory with the six batches (also under cifar-10-batches-bin/)', async () => {
  const root = join(dir, 'ds');
  const sub = join(root, 'cifar-10-batches-bin');
  mkdirSync(sub, { recursive: true });
  for (let i = 1; i <= 5; i++) writeFileSync(join(sub, `data_batch_${i}.bin`), records([i, i]));
  writeFileSync(join(sub, 'test_batch.bin'), records([7]));
  const r = await loadCifar10({ dataDir: root });
  assert.equal(r.train.y.length, 10);
  assert.deepEqual(Array.from(r.test!.y), [7]);
});

test('cifar: missing files and no download say which archive to place where', async () => {
  const cache = join(dir, 'cache');
  await assert.rejects(
    loadCifar10({ cacheDir: cache, download: false }),
    (e: unknown) =>
      isNasError(e, 'data_error') &&
      (e as Error).message.includes(`Place these files in ${join(cache, 'cifar10')}`) &&
      (e as Error).message.includes('cifar-10-binary.tar.gz  from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz  (md5 c32a1d4ab5d03f1284b67883e8d87530)') &&
      (e as Error).message.includes(join(cache, 'cifar10', 'cifar-10-batches-bin', 'data_batch_1.bin')),
  );
  await assert.rejects(loadCifar10({ dataDir: join(dir, 'empty') }), dataErr(/does not hold the CIFAR-10 binary batches/));
});
