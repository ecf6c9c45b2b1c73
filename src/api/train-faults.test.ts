/** Issue 17 fault 8 in a search: a split that rounds to zero validation rows is refused before the study database is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { prepareSearch, search } from './index.js';

test('fault 8: a search on 4 rows per class fails up front naming fractions and class counts; nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-split-'));
  try {
    const csv = join(dir, 'four.csv');
    writeFileSync(csv, 'a,b,y\n' + Array.from({ length: 12 }, (_, i) => `${i},${i % 3},${i % 3}`).join('\n') + '\n');
    const db = join(dir, 's.db');
    const p = prepareSearch({ config: { study: 's', storage: `sqlite:${db}`, space: 'mlp', strategy: 'random', trials: 20, evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: 1 } } });
    await assert.rejects(search(p), (e: unknown) => isNasError(e, 'invalid_config') && /validation split would be empty: .*\(0: 4, 1: 4, 2: 4\)/.test((e as Error).message));
    assert.ok(!existsSync(db), 'no study database was written');
    assert.deepEqual(readdirSync(dir), ['four.csv'], 'and no <db>.artifacts/<study>/ directory (new user, session 9)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
