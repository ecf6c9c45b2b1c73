import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isNasError } from '../core/errors.js';
import { encodeIdx, parseIdx, readIdx, readIdxPair } from './idx.js';
import { loadFashionMnist } from './sources.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-idx-'));

function tinyImages(n: number, h = 4, w = 3): Uint8Array {
  const d = new Uint8Array(n * h * w);
  for (let i = 0; i < d.length; i++) d[i] = (i * 7) % 256;
  return encodeIdx([n, h, w], d);
}

function dataErr(re: RegExp) {
  return (e: unknown) => isNasError(e, 'data_error') && re.test((e as Error).message);
}

test('idx: round trip, plain and gzipped', () => {
  const bytes = tinyImages(5);
  writeFileSync(join(dir, 'a-idx3-ubyte'), bytes);
  writeFileSync(join(dir, 'a-idx3-ubyte.gz'), gzipSync(bytes));
  for (const f of ['a-idx3-ubyte', 'a-idx3-ubyte.gz']) {
    const r = readIdx(join(dir, f));
    assert.deepEqual(r.dims, [5, 4, 3]);
    assert.equal(r.data.length, 60);
    assert.equal(r.data[3], 21);
  }
});

test('idx: bad magic, truncated header, truncated data, trailing bytes, bad type', () => {
  const good = tinyImages(2);
  const bad = good.slice();
  bad[0] = 7;
  assert.throws(() => parseIdx(bad, 'x.idx'), dataErr(/x\.idx at offset 0: bad idx magic/));
  assert.throws(() => parseIdx(good.subarray(0, 10), 'x.idx'), dataErr(/offset 10: truncated header/));
  assert.throws(() => parseIdx(good.subarray(0, good.length - 5), 'x.idx'), dataErr(new RegExp(`offset ${good.length - 5}: truncated`)));
  const longer = new Uint8Array(good.length + 3);
  longer.set(good);
  assert.throws(() => parseIdx(longer, 'x.idx'), dataErr(new RegExp(`offset ${good.length}: 3 unexpected trailing bytes`)));
  const t = good.slice();
  t[2] = 0x0d;
  assert.throws(() => parseIdx(t, 'x.idx'), dataErr(/offset 2: unsupported idx element type 0x0d/));
});

test('idx: truncated gzip stream names the file', () => {
  const gz = gzipSync(tinyImages(50));
  const f = join(dir, 'cut.gz');
  writeFileSync(f, gz.subarray(0, gz.length - 20));
  assert.throws(() => readIdx(f), dataErr(/cut\.gz: corrupt or truncated gzip/));
});

test('idx pair: label out of range and count mismatch', () => {
  const imgs = join(dir, 'p-images');
  const labs = join(dir, 'p-labels');
  writeFileSync(imgs, tinyImages(3));
  writeFileSync(labs, encodeIdx([3], Uint8Array.from([1, 9, 12])));
  assert.throws(() => readIdxPair(imgs, labs, 'p'), dataErr(/p-labels at offset 10: label 12 of sample 2 is out of range \[0, 10\)/));
  writeFileSync(labs, encodeIdx([2], Uint8Array.from([1, 9])));
  assert.throws(() => readIdxPair(imgs, labs, 'p'), dataErr(/has 2 labels but .* has 3 images/));
  writeFileSync(labs, encodeIdx([3], Uint8Array.from([1, 9, 0])));
  const d = readIdxPair(imgs, labs, 'p');
  assert.deepEqual(d.shape, [1, 4, 3]);
  assert.deepEqual(Array.from(d.y), [1, 9, 0]);
});

test('fashion-mnist: missing dir names the files and the fix', () => {
  assert.throws(
    () => loadFashionMnist({ dataDir: join(dir, 'nope') }),
    (e: unknown) => isNasError(e, 'data_error') && /train-images-idx3-ubyte\.gz/.test((e as Error).message) && e.field === 'data_dir',
  );
});

test('fashion-mnist: the real files when installed', { skip: !existsSync('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz') }, () => {
  const { train, test: t } = loadFashionMnist();
  assert.equal(train.y.length, 60000);
  assert.equal(t!.y.length, 10000);
  assert.deepEqual(train.shape, [1, 28, 28]);
  const counts = new Array(10).fill(0);
  for (const v of t!.y) counts[v]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
});
