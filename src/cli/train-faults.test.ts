/**
 * Issue 17 faults 5, 6, 7 and 8 through the real CLI (`tsnas train` in a process): a numeric
 * header is detected and said, `--label` takes a 0-based index, a float32 overflow names file,
 * row and column, and a split that rounds to zero validation rows is refused before training (exit 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-train-'));
const arch = join(dir, 'arch.json');
writeFileSync(arch, JSON.stringify({ family: 'mlp', hidden: [8], activation: 'relu', batchNorm: true, dropout: 0 }));

function tsnas(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** pandas' `to_csv(index=False)` of an unnamed frame: header 0,1,2,3,4; label in column 4 ∈ {1, 2}. */
function pandasCsv(rowsPerClass: number): string {
  const lines = ['0,1,2,3,4'];
  for (let i = 0; i < rowsPerClass * 2; i++) lines.push(`${i % 2 ? 1.5 : -1.5},${Math.sin(i)},${Math.cos(i)},${i % 3},${(i % 2) + 1}`);
  return lines.join('\n') + '\n';
}

test('tsnas train --label 4 on a pandas-style CSV: header detected and said, 2 classes from labels {1, 2}', () => {
  const f = join(dir, 'p.csv');
  writeFileSync(f, pandasCsv(30));
  const r = tsnas('train', arch, '--dataset', 'csv', '--path', f, '--label', '4', '--epochs', '1', '--no-latency', '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.status, 'complete');
  assert.deepEqual(s.classes, ['1', '2']);
  assert.match(s.dataNotes.join('\n'), /header detected: line 1 is the column indices 0\.\.4/);
  assert.equal(s.confusion.length, 2);
  // the text output says it too; --header false reads line 1 as data (labels 1, 2 and "4": 3 classes)
  const t = tsnas('train', arch, '--dataset', 'csv', '--path', f, '--label', '4', '--header', 'false', '--epochs', '1', '--no-latency');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /data: line 1 read as data \(header: false\)/);
  assert.match(t.stdout, /data: warning: 1 class\(es\) with a single row: 4 \(line 1\)/);
  assert.match(tsnas('train', arch, '--dataset', 'csv', '--path', f, '--header', 'maybe').stderr, /--header: unknown value "maybe" \(use one of: auto, true, false\)/);
});

test('tsnas train: float32 overflow and an empty validation split are data/config errors before training (exit 2)', () => {
  const f = join(dir, 'o.csv');
  writeFileSync(f, 'a,b,y\n' + Array.from({ length: 40 }, (_, i) => `${i === 7 ? '1e39' : i},1,${i % 2}`).join('\n') + '\n');
  const r = tsnas('train', arch, '--dataset', 'csv', '--path', f, '--epochs', '1');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /o\.csv at row 9, column a: value 1e39 is outside the float32 range/);
  const g = join(dir, 'four.csv');
  writeFileSync(g, 'a,b,y\n' + Array.from({ length: 8 }, (_, i) => `${i},1,${i % 2}`).join('\n') + '\n');
  const e = tsnas('train', arch, '--dataset', 'csv', '--path', g, '--epochs', '1');
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /validation split would be empty: val_fraction 0\.1, test_fraction 0\.2 of rows per class \(0: 4, 1: 4\)/);
  // the fix it names is spelt as the user writes it, and works from tsnas train (session 10, finding 4)
  assert.match(e.stderr, /raise val_fraction \(flag --val-fraction\) to at least 0\.125/);
  assert.doesNotMatch(e.stderr, /valFraction|testFraction/);
  const fixed = tsnas('train', arch, '--dataset', 'csv', '--path', g, '--epochs', '1', '--no-latency', '--val-fraction', '0.125', '--json');
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.equal(JSON.parse(fixed.stdout).status, 'complete');
  assert.equal(typeof JSON.parse(fixed.stdout).metrics.val_acc, 'number');
  // --test-fraction likewise; both checked as flags (range) with every other flag
  const bad = tsnas('train', arch, '--dataset', 'csv', '--path', g, '--val-fraction', '0', '--test-fraction', '2');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--val-fraction: must be a number from 0\.01 to 0\.9/);
  assert.match(bad.stderr, /--test-fraction: must be a number/);
});

test('tsnas train: --label on a continuous feature is refused naming the column and the likely label (session 10, finding 4)', () => {
  const f = join(dir, 'cont.csv');
  writeFileSync(f, Array.from({ length: 200 }, (_, i) => `${(Math.sin(i) * 3 + 0.001).toFixed(3)},${(i * 1.3).toFixed(2)},${1 + (i % 3)}`).join('\n') + '\n');
  const r = tsnas('train', arch, '--dataset', 'csv', '--path', f, '--label', '0', '--epochs', '1');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /label: .*cont\.csv: the label column index 0 looks continuous/);
  assert.match(r.stderr, /likely label column: index 2 with 3 whole-number values \(--label 2; config label: 2\)/);
  assert.doesNotMatch(r.stderr, /split would be empty/);
});

test('tsnas train: a numeric header 10,20,30,40 is detected and said; no class of one row (session 10, finding 9)', () => {
  const f = join(dir, 'num2.csv');
  writeFileSync(f, '10,20,30,40\n' + Array.from({ length: 40 }, (_, i) => `${i % 5},${(i * 7) % 3},${i % 4},${1 + (i % 2)}`).join('\n') + '\n');
  const r = tsnas('train', arch, '--dataset', 'csv', '--path', f, '--epochs', '1', '--no-latency');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /data: header detected: line 1's label cell "40" is no label of the other 40 rows/);
  assert.match(r.stdout, /data: labels mapped to classes 0\.\.1: 0=1, 1=2\n/);
});
