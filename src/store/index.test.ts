import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStoreUrl, openStore } from './index.js';
import { rejectsWith } from './conformance.js';

test('storage URL forms', () => {
  assert.deepEqual(parseStoreUrl('sqlite:./runs/a.db'), { kind: 'sqlite', path: './runs/a.db' });
  assert.deepEqual(parseStoreUrl('sqlite:/abs/a.db'), { kind: 'sqlite', path: '/abs/a.db' });
  assert.deepEqual(parseStoreUrl('sqlite:///abs/a.db'), { kind: 'sqlite', path: '/abs/a.db' });
  assert.deepEqual(parseStoreUrl('sqlite::memory:'), { kind: 'sqlite', path: ':memory:' });
  assert.deepEqual(parseStoreUrl('runs/a.db'), { kind: 'sqlite', path: 'runs/a.db' });
  assert.deepEqual(parseStoreUrl('/tmp/x.db'), { kind: 'sqlite', path: '/tmp/x.db' });
  assert.deepEqual(parseStoreUrl('postgres://u:p@h:5432/db'), { kind: 'postgres', url: 'postgres://u:p@h:5432/db' });
  assert.deepEqual(parseStoreUrl('postgresql://h/db'), { kind: 'postgres', url: 'postgresql://h/db' });
});

test('bad storage URLs: invalid_config naming the URL and the accepted forms', async () => {
  for (const [url, re] of [
    ['mysql://h/db', /unsupported storage URL "mysql:\/\/h\/db"/],
    ['', /empty storage URL/],
    ['sqlite:', /names no file/],
    ['postgres://h', /names no database/],
    ['postgres://h:notaport/db', /malformed PostgreSQL URL/],
  ] as const) {
    const e = await rejectsWith(openStore(url), 'invalid_config', 'storage');
    assert.match(e.message, re);
    assert.match(e.message, /sqlite:PATH.*postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/);
  }
});

test('an in-memory SQLite store works (for unit tests of other modules)', async () => {
  const s = await openStore('sqlite::memory:');
  assert.equal(s.kind, 'sqlite');
  assert.deepEqual(await s.listStudies(), []);
  await s.close();
});
