/**
 * Data faults of issue 17, by kind (each reported input and its siblings): labels used as class
 * indices as they are (4), a header of numbers read as data (5), a label column given by index (6),
 * values outside float32's range (7), empty validation/test splits and classes missing from training (8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { parseCsv } from './csv.js';
import { prepareData, prepareSplits } from './prepare.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-faults-'));
const dataErr = (re: RegExp) => (e: unknown) => isNasError(e, 'data_error') && re.test((e as Error).message);
const configErr = (re: RegExp) => (e: unknown) => isNasError(e, 'invalid_config') && re.test((e as Error).message);

/** `perClass` rows of each label, 2 features. */
function rows(labels: readonly (string | number)[], perClass: number, header = ''): string {
  const out = header ? [header] : [];
  for (const l of labels) for (let i = 0; i < perClass; i++) out.push(`${i * 0.5},${(i % 3) - 1},${l}`);
  return out.join('\n') + '\n';
}

test('fault 4: labels {1, 2} make 2 classes, {0, 5000} 2 classes; the mapping is kept and reported', () => {
  const a = parseCsv(rows([1, 2], 3), 'a.csv');
  assert.equal(a.numClasses, 2);
  assert.deepEqual([...new Set(a.y)], [0, 1]);
  assert.deepEqual(a.classNames, ['1', '2']);
  assert.match(a.notes!.join('\n'), /labels mapped to classes 0\.\.1: 0=1, 1=2/);
  const b = parseCsv(rows([0, 5000], 3), 'b.csv');
  assert.equal(b.numClasses, 2);
  assert.deepEqual(b.classNames, ['0', '5000']);
  // siblings: negative labels, numeric order (not string order: 10 after 9), "1.0" and "1" one class
  const c = parseCsv(rows([-1, 10, 9], 2), 'c.csv');
  assert.deepEqual(c.classNames, ['-1', '9', '10']);
  assert.deepEqual(Array.from(c.y), [0, 0, 2, 2, 1, 1]);
  const d = parseCsv('1,2,1.0\n3,4,1\n5,6,2\n', 'd.csv');
  assert.equal(d.numClasses, 2);
  // labels already 0..K-1 stay as they are, with no mapping note
  const e = parseCsv(rows([0, 1, 2], 2), 'e.csv');
  assert.deepEqual(e.classNames, ['0', '1', '2']);
  assert.ok(!e.notes!.some((n) => /mapped/.test(n)));
});

test('fault 4: a test-file label never seen in training is an error naming file, row and label', async () => {
  const train = join(dir, 'train.csv');
  const tst = join(dir, 'test.csv');
  writeFileSync(train, rows([1, 2], 10));
  writeFileSync(tst, '0,0,1\n0,0,2\n0,0,3\n');
  await assert.rejects(prepareData({ kind: 'csv', path: train, testPath: tst }), dataErr(/test\.csv at row 3, column 3: label "3" never occurs in the training data \(its classes: 0=1, 1=2\)/));
  writeFileSync(tst, '0,0,2\n0,0,1\n');
  const p = await prepareData({ kind: 'csv', path: train, testPath: tst });
  assert.deepEqual(Array.from(p.test.indices).map((i) => p.test.data.y[i]), [1, 0]); // labels 2, 1 -> classes 1, 0
  assert.equal(p.numClasses, 2);
  assert.deepEqual(p.classNames, ['1', '2']);
  // string labels likewise
  writeFileSync(train, rows(['cat', 'dog'], 10));
  writeFileSync(tst, '0,0,dog\n0,0,cow\n');
  await assert.rejects(prepareData({ kind: 'csv', path: train, testPath: tst }), dataErr(/row 2, column 3: label "cow" never occurs/));
});

test('fault 5: a header of column indices (pandas) is detected and said; header: false reads it as data', () => {
  const text = '0,1,2,3,4\n' + Array.from({ length: 6 }, (_, i) => `${i},1,2,3,${i % 2}`).join('\n') + '\n';
  const d = parseCsv(text, 'p.csv');
  assert.equal(d.y.length, 6);
  assert.equal(d.numClasses, 2);
  assert.match(d.notes![0]!, /header detected: line 1 is the column indices 0\.\.4 \(as pandas writes/);
  const asData = parseCsv(text, 'p.csv', { header: false });
  assert.equal(asData.y.length, 7);
  assert.match(asData.notes![0]!, /line 1 read as data \(header: false\)/);
  // siblings: 1-based (R), a text header, a numeric first row that is data, header: true
  assert.equal(parseCsv('1,2,3\n5,6,0\n7,8,1\n', 'r.csv').y.length, 2);
  assert.match(parseCsv('a,b,y\n5,6,0\n7,8,1\n', 't.csv').notes![0]!, /non-numeric cell \("a"\) where the data has numbers/);
  // a headerless file with string labels: line 1 is data (its text column holds text on line 2 too)
  const str = parseCsv('1,2,setosa\n3,4,virginica\n', 's.csv');
  assert.equal(str.y.length, 2);
  assert.match(str.notes![0]!, /no header: line 1's non-numeric cells \("setosa"\)/);
  assert.equal(parseCsv('a,b,species\n1,2,setosa\n3,4,virginica\n', 's2.csv').y.length, 2);
  const data = parseCsv('5,6,0\n7,8,1\n', 'n.csv');
  assert.equal(data.y.length, 2);
  assert.match(data.notes![0]!, /no header: every cell of line 1 is a number/);
  assert.equal(parseCsv('5,6,0\n7,8,1\n9,9,0\n', 'h.csv', { header: true }).y.length, 2);
});

test('faults 5/6: the label column by 0-based index, as a number or as a string of digits (the CLI)', () => {
  const text = '0,1,2,3,4\n' + Array.from({ length: 6 }, (_, i) => `${i % 2},1,2,3,${i % 3}`).join('\n') + '\n';
  // header "0..4": --label 4 names column "4" (the last); --label 0 the first
  assert.equal(parseCsv(text, 'p.csv', { label: '4' }).numClasses, 3);
  assert.equal(parseCsv(text, 'p.csv', { label: '0' }).numClasses, 2);
  // no header: a string index is an index
  assert.equal(parseCsv('1,0,5\n2,1,6\n3,0,7\n', 'n.csv', { label: '1' }).numClasses, 2);
  assert.equal(parseCsv('1,0,5\n2,1,6\n3,0,7\n', 'n.csv', { label: '-2' }).numClasses, 2);
  // a header name that looks like a number wins over the index (column named "2" is the first)
  assert.equal(parseCsv('2,x,y\n0,5,6\n1,5,7\n', 'q.csv', { label: '2' }).numClasses, 2);
  assert.throws(() => parseCsv('1,0,5\n2,1,6\n', 'n.csv', { label: '7' }), dataErr(/label column index 7 is out of range for 3 columns/));
  assert.throws(() => parseCsv('1,0,5\n2,1,6\n', 'n.csv', { label: 'species' }), dataErr(/given by name but the file has no header/));
});

test('fault 7: a value outside float32 range is a data error naming file, row and column', () => {
  const msg = /o\.csv at row 3, column b: value .* is outside the float32 range/;
  assert.throws(() => parseCsv('a,b,y\n1,2,0\n1,1e39,1\n', 'o.csv'), dataErr(msg));
  assert.throws(() => parseCsv('a,b,y\n1,2,0\n1,-1e39,1\n', 'o.csv'), dataErr(msg));
  assert.throws(() => parseCsv('a,b,y\n1,2,0\n1,1e400,1\n', 'o.csv'), dataErr(msg));
  assert.throws(() => parseCsv('1,2,0\n1,3.5e38,1\n', 'o2.csv'), dataErr(/o2\.csv at row 2, column 2: value 3\.5e38/));
  // the largest float32 and tiny values are fine; inf/nan text is refused as non-numeric
  assert.equal(parseCsv('a,b,y\n1,3.4e38,0\n1,1e-50,1\n', 'ok.csv').x[1], Math.fround(3.4e38));
  assert.throws(() => parseCsv('a,b,y\n1,inf,0\n1,2,1\n', 'i.csv'), dataErr(/row 2, column b: non-numeric value "inf"/));
  assert.throws(() => parseCsv('a,b,y\n1,NaN,0\n1,2,1\n', 'i.csv'), dataErr(/non-numeric value "NaN"/));
});

test('fault 8: an empty validation or test split is an error naming fractions and class counts', () => {
  const four = { train: parseCsv(rows([0, 1], 4), 'four.csv') };
  assert.throws(
    () => prepareSplits(four),
    (e: unknown) =>
      configErr(/the validation split would be empty: val_fraction 0\.1, test_fraction 0\.2 of rows per class \(0: 4, 1: 4\) rounds to 0 rows/)(e) &&
      (e as { field?: string }).field === 'val_fraction' &&
      /raise val_fraction \(flag --val-fraction\) to at least 0\.125/.test((e as { hint?: string }).hint ?? ''),
  );
  // the fix it names works: val_fraction 0.125 gives one validation row per class
  assert.equal(prepareSplits(four, { valFraction: 0.125 }).val.indices.length, 2);
  assert.throws(
    () => prepareSplits({ train: parseCsv(rows([0, 1], 2), 'two.csv') }, { valFraction: 0.5 }),
    (e: unknown) => configErr(/the test split would be empty/)(e) && (e as { field?: string }).field === 'test_fraction' && /raise test_fraction \(flag --test-fraction\)/.test((e as Error).message),
  );
  // a class whose only row goes to validation/test never trains
  const lop = { train: parseCsv(rows([0, 1], 10) + '0,0,2\n', 'lop.csv') };
  assert.throws(() => prepareSplits(lop, { valFraction: 0.5, testFraction: 0.2 }), configErr(/class\(es\) 2 have no row in the training split/));
  // with an official test partition: validation carved from the training data
  assert.throws(() => prepareSplits({ train: parseCsv(rows([0, 1], 4), 'tr.csv'), test: parseCsv(rows([0, 1], 2), 'te.csv') }), configErr(/validation split would be empty: val_fraction 0\.1 of rows/));
  // enough rows: fine; a fraction of 0 asks for no validation split and is not an error
  assert.equal(prepareSplits({ train: parseCsv(rows([0, 1], 10), 'ten.csv') }).val.indices.length, 2);
  assert.equal(prepareSplits(four, { valFraction: 0, testFraction: 0.25 }).val.indices.length, 0);
});
