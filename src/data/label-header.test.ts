/**
 * Session 10, new-user findings 4 and 9 (data input), by kind:
 *  - a numeric header that is not 0..n-1 / 1..n (`10,20,30,40`) was read as data and added a class
 *    of one row: header rules 2, 4, 5 of csv.ts's detectHeader, each with a sibling that must stay data;
 *  - a class of a single row is warned about in the notes;
 *  - a label column that is continuous or near-unique (`--label 0` on a feature) is refused before any
 *    split, naming the column and the likely label column (was: an empty-validation-split error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { parseCsv } from './csv.js';
import { prepareData } from './prepare.js';
import { loadDigits } from './sources.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-labhead-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const dataErr = (re: RegExp) => (e: unknown) => isNasError(e, 'data_error') && re.test((e as Error).message);
const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';
/** 12 rows of small integer features and labels {1, 2}. */
const ints = lines(12, (i) => `${i % 5},${(i * 7) % 3},${i % 4},${1 + (i % 2)}`);
/** 12 rows of decimal features and labels {1, 2}. */
const decs = lines(12, (i) => `${(i * 0.37).toFixed(2)},${(i * 1.3 + 0.1).toFixed(2)},${(i * 0.11 + 0.01).toFixed(2)},${1 + (i % 2)}`);

test('finding 9: header 10,20,30,40 over labels {1, 2} is a header (its label cell would be a class of one row), and says so', () => {
  const d = parseCsv('10,20,30,40\n' + ints, 'num2.csv');
  assert.equal(d.y.length, 12);
  assert.deepEqual(d.classNames, ['1', '2']);
  assert.match(d.notes![0]!, /header detected: line 1's label cell "40" is no label of the other 12 rows .* a class of one row; --header false/);
  assert.ok(!d.notes!.some((n) => /warning/.test(n)));
  // forced to data it is the user's choice, and the class of one row is warned about
  const asData = parseCsv('10,20,30,40\n' + ints, 'num2.csv', { header: false });
  assert.equal(asData.y.length, 13);
  assert.match(asData.notes!.join('\n'), /warning: 1 class\(es\) with a single row: 40 \(line 1\)/);
  // siblings that stay data: a headerless integer file; line 1's label a class seen elsewhere
  const plain = parseCsv(ints, 'plain.csv');
  assert.equal(plain.y.length, 12);
  assert.match(plain.notes![0]!, /no header: every cell of line 1 is a number/);
  assert.equal(parseCsv('10,20,30,2\n' + ints, 'k.csv').y.length, 13);
  // a label column given by index: its cell decides (line 1 "7" is no label of column 0's {0, 1})
  assert.equal(parseCsv('7,20,30\n' + lines(8, (i) => `${i % 2},${i},${i * 2}`), 'c0.csv', { label: 0 }).y.length, 8);
});

test('finding 9 siblings: integers above decimals (csv.Sniffer), the label name, a test file against the training classes', () => {
  // line 1's label "1" is a class of the data, but its integers stand above 3 decimal columns
  const d = parseCsv('11,12,13,1\n' + decs, 'sniff.csv');
  assert.equal(d.y.length, 12);
  assert.match(d.notes![0]!, /header detected: line 1 is distinct integers above 3 column\(s\) of decimals/);
  // not distinct, or above integer columns: data
  assert.equal(parseCsv('11,11,13,1\n' + decs, 'same.csv').y.length, 13);
  assert.equal(parseCsv('11,12,13,1\n' + ints, 'intcols.csv').y.length, 13);
  // the label given by a name that is a cell of line 1 (the column below holds text too)
  const named = parseCsv('0,1,species\n' + lines(6, (i) => `${i}.5,2.5,${i % 2 ? 'a' : 'b'}`), 'named.csv', { label: 'species' });
  assert.equal(named.y.length, 6);
  assert.match(named.notes![0]!, /header detected: line 1 holds the label column's name "species"/);
  // a test file is judged against the training classes: its line 1 "40" is none of them
  const t = parseCsv('10,20,30,40\n1,2,3,2\n4,5,6,1\n', 'test.csv', { classes: ['1', '2'] });
  assert.equal(t.y.length, 2);
  assert.match(t.notes![0]!, /no class of the training data/);
  // ... and a test file whose first row is a training class stays data
  assert.equal(parseCsv('1,2,3,2\n4,5,6,1\n', 'test2.csv', { classes: ['1', '2'] }).y.length, 2);
  // the explicit option still wins both ways
  assert.equal(parseCsv('10,20,30,40\n' + ints, 'f.csv', { header: true }).y.length, 12);
  assert.equal(parseCsv(ints, 'f.csv', { header: true }).y.length, 11);
});

test('finding 4 (c): a continuous label column is refused before any split, naming it and the likely label column', async () => {
  // --label 0 on a continuous feature of 200 rows whose last column is the real label
  const text = lines(200, (i) => `${(Math.sin(i) * 3 + 0.001).toFixed(3)},${(i * 1.3).toFixed(2)},${(i * 0.11).toFixed(2)},${1 + (i % 3)}`);
  assert.throws(
    () => parseCsv(text, 'cont.csv', { label: 0 }),
    (e: unknown) =>
      dataErr(/cont\.csv: the label column index 0 looks continuous: 19\d of its 200 values are not whole numbers \(e\.g\. /)(e) &&
      (e as { field?: string }).field === 'label' &&
      /is the label column right\? likely label column: index 3 with 3 whole-number values \(--label 3; config label: 3\)/.test((e as { hint?: string }).hint ?? ''),
  );
  // with a header, the names; through prepareData the same error (not the split's)
  const f = join(dir, 'cont.csv');
  writeFileSync(f, 'x,y,z,species\n' + text);
  await assert.rejects(prepareData({ kind: 'csv', path: f, label: 'x' }), dataErr(/the label column "x" \(index 0\) looks continuous/));
  await assert.rejects(prepareData({ kind: 'csv', path: f, label: 'x' }), (e: unknown) => /"species" \(index 3\) .*--label species; config label: "species"/.test((e as Error).message));
  assert.equal((await prepareData({ kind: 'csv', path: f })).numClasses, 3);
});

test('finding 4 (c): near-unique label columns (identifiers, counts) are refused; small and fixed-class data are not', () => {
  const ids = lines(40, (i) => `${i},${(i * 0.3).toFixed(1)},${i % 2}`);
  assert.throws(() => parseCsv(ids, 'ids.csv', { label: 0 }), dataErr(/the label column index 0 has 40 distinct values in 40 rows \(fewer than 2 rows per class on average\)/));
  // string identifiers too; no likely label column: the generic hint
  const names = lines(30, (i) => `${(i * 0.3).toFixed(1)},name${i}`);
  assert.throws(
    () => parseCsv(names, 'names.csv'),
    (e: unknown) => dataErr(/has 30 distinct values in 30 rows/)(e) && /give it with --label \(config: label\)/.test((e as { hint?: string }).hint ?? ''),
  );
  // fewer than 10 classes is left to the split check; "1.0" is a whole number
  assert.equal(parseCsv('1,0\n2,1\n3,2\n', 'tiny.csv').numClasses, 3);
  assert.equal(parseCsv('1,2,1.0\n3,4,1\n5,6,2\n6,7,2.0\n', 'whole.csv').numClasses, 2);
  // many classes with enough rows each are fine
  assert.equal(parseCsv(lines(60, (i) => `${(i * 0.5).toFixed(1)},${i % 12}`), 'many.csv').numClasses, 12);
  // the digits (declared classes) are not judged: 10 classes of about 180 rows
  assert.equal(loadDigits().train.numClasses, 10);
});
