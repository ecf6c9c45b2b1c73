/**
 * Session 9, fault kind 3: the same thing spelt differently across commands. Now:
 *  - output format: `--format table|csv|json` in `trials` as in `export` (`--csv`/`--json` still work);
 *  - a digits/csv file: `--path FILE` in train, search, finetune and compress (`--data-dir FILE`, the
 *    older spelling of finetune/compress, still works everywhere; see dataset-flags.test.ts);
 *  - writing a file: `report` and `export --format --out` refuse to replace an existing file
 *    unless `--force`, as export/compress/finetune refuse an existing directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configFromFlags } from '../api/config.js';
import { isNasError } from '../core/errors.js';
import { runCaptured } from './testing/run-captured.js';

const cli = runCaptured;

const dir = mkdtempSync(join(tmpdir(), 'tsnas-flags-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const db = ['--storage', `sqlite:${join(dir, 's.db')}`, '--study', 's'];

test.before(async () => {
  const r = await cli(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '3', '--quiet', ...db]);
  assert.equal(r.code, 0, r.stderr);
});

test('trials --format csv|json equals its old --csv/--json and export --format; conflicting formats are refused', async () => {
  for (const fmt of ['csv', 'json']) {
    const a = await cli(['trials', ...db, '--format', fmt]);
    const b = await cli(['trials', ...db, `--${fmt}`]);
    const c = await cli(['export', ...db, '--format', fmt]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout, fmt);
    assert.equal(a.stdout, c.stdout, fmt);
  }
  const table = await cli(['trials', ...db, '--format', 'table']);
  assert.equal(table.stdout, (await cli(['trials', ...db])).stdout);
  const bad = await cli(['trials', ...db, '--csv', '--format', 'json']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--csv: conflicts with --format json/);
  assert.match((await cli(['trials', ...db, '--format', 'cvs'])).stderr, /did you mean csv\?/);
});

test('report and export --format --out: an existing file is kept unless --force; nothing read or written before the refusal', async () => {
  const out = join(dir, 'r.html');
  assert.equal((await cli(['report', ...db, '--out', out])).code, 0);
  writeFileSync(out, 'mine');
  const again = await cli(['report', ...db, '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /--out: .*r\.html already exists \(give a new file name, or --force to replace it\)/);
  assert.equal(readFileSync(out, 'utf8'), 'mine');
  assert.equal((await cli(['report', ...db, '--out', out, '--force'])).code, 0);
  assert.match(readFileSync(out, 'utf8'), /<html/);
  const csv = join(dir, 't.csv');
  writeFileSync(csv, 'mine');
  const e = await cli(['export', ...db, '--format', 'csv', '--out', csv]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /--out: .*t\.csv already exists/);
  assert.equal(readFileSync(csv, 'utf8'), 'mine');
  assert.equal((await cli(['export', ...db, '--format', 'csv', '--out', csv, '--force'])).code, 0);
  assert.match(readFileSync(csv, 'utf8'), /^number,state/);
  // --force has no meaning for the winner's directory, which is never replaced.
  const d = await cli(['export', ...db, '--out', join(dir, 'w'), '--force']);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /--force: applies to --format csv\|json --out FILE/);
  assert.ok(!existsSync(join(dir, 'w')));
});

test('search flags: --path FILE for digits/csv, --data-dir FILE its older spelling; two different files refused', () => {
  const ev = (f: Record<string, string>) => (configFromFlags(f)['evaluator'] as Record<string, unknown>);
  assert.equal(ev({ dataset: 'csv', path: 'a.csv' })['path'], 'a.csv');
  assert.equal(ev({ dataset: 'csv', 'data-dir': 'a.csv' })['path'], 'a.csv');
  assert.equal(ev({ dataset: 'csv', 'data-dir': 'a.csv' })['data_dir'], undefined);
  assert.equal(ev({ dataset: 'fashion_mnist', 'data-dir': 'd' })['data_dir'], 'd');
  assert.throws(() => configFromFlags({ dataset: 'csv', path: 'a.csv', 'data-dir': 'b.csv' }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === '--path');
  assert.doesNotThrow(() => configFromFlags({ dataset: 'csv', path: 'a.csv', 'data-dir': resolve('a.csv') }));
});
