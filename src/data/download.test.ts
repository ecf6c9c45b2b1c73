import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isNasError } from '../core/errors.js';
import { downloadMissing, type RemoteFile } from './download.js';
import { encodeIdx } from './idx.js';
import { loadMnist, MNIST_FILES } from './sources.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-dl-'));

test('mnist: no files and downloads disabled: says exactly which files to place where', async () => {
  const cache = join(dir, 'c1');
  await assert.rejects(loadMnist({ cacheDir: cache, download: false }), (e: unknown) => {
    const m = (e as Error).message;
    assert.ok(isNasError(e, 'data_error'));
    assert.ok(m.includes(`Place these files in ${join(cache, 'mnist')}:`), m);
    for (const f of MNIST_FILES) assert.ok(m.includes(`${f.name}  from ${f.url}  (md5 ${f.md5})`), m);
    return true;
  });
});

test('mnist: an unreachable source fails fast with the same placement message', async () => {
  const cache = join(dir, 'c2');
  // A loopback port that was just freed: connection refused at once, no network needed.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const t0 = Date.now();
  await assert.rejects(loadMnist({ cacheDir: cache, download: true, mirror: `http://127.0.0.1:${port}/mnist` }), (e: unknown) => {
    const m = (e as Error).message;
    return isNasError(e, 'data_error') && m.includes('download failed') && m.includes('ECONNREFUSED') && m.includes(`Place these files in ${join(cache, 'mnist')}`);
  });
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(existsSync(join(cache, 'mnist')), false);
});

test('download: verified files are written, a checksum mismatch leaves nothing behind', async () => {
  const images = gzipSync(encodeIdx([2, 2, 2], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7])));
  const labels = gzipSync(encodeIdx([2], Uint8Array.from([3, 4])));
  const served: Record<string, Buffer> = { '/m/train-images-idx3-ubyte.gz': images, '/m/train-labels-idx1-ubyte.gz': labels, '/m/t10k-images-idx3-ubyte.gz': images, '/m/t10k-labels-idx1-ubyte.gz': labels };
  const server = createServer((req, res) => {
    const b = served[req.url ?? ''];
    if (!b) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    const ok: RemoteFile[] = [
      { name: 'train-images-idx3-ubyte.gz', url: `http://x/train-images-idx3-ubyte.gz`, md5: md5(images) },
      { name: 'train-labels-idx1-ubyte.gz', url: `http://x/train-labels-idx1-ubyte.gz`, sha256: createHash('sha256').update(labels).digest('hex') },
    ];
    const d1 = join(dir, 'ok');
    await downloadMissing('t', ok, d1, { mirror: `http://127.0.0.1:${port}/m/` });
    assert.deepEqual(readFileSync(join(d1, 'train-images-idx3-ubyte.gz')), images);
    assert.deepEqual(readFileSync(join(d1, 'train-labels-idx1-ubyte.gz')), labels);

    const d2 = join(dir, 'bad');
    const bad: RemoteFile[] = [{ name: 't10k-images-idx3-ubyte.gz', url: 'http://x/t10k-images-idx3-ubyte.gz', md5: '0'.repeat(32) }];
    await assert.rejects(downloadMissing('t', bad, d2, { mirror: `http://127.0.0.1:${port}/m` }), (e: unknown) => isNasError(e, 'data_error') && /md5 checksum mismatch/.test((e as Error).message));
    assert.ok(!existsSync(d2) || readdirSync(d2).length === 0);

    const d3 = join(dir, '404');
    await assert.rejects(downloadMissing('t', [{ name: 'nothing.gz', url: 'http://x/nothing.gz' }], d3, { mirror: `http://127.0.0.1:${port}/m` }), /HTTP 404/);

    // loadMnist downloading through the mirror; MNIST_FILES' real checksums do not match our tiny files.
    await assert.rejects(loadMnist({ cacheDir: join(dir, 'c3'), download: true, mirror: `http://127.0.0.1:${port}/m` }), /md5 checksum mismatch/);
  } finally {
    server.close();
  }
});
