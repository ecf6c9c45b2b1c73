import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isNasError } from '../core/errors.js';
import { parseCsv, readCsv } from './csv.js';
import { loadDigits } from './sources.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-csv-'));
const dataErr = (re: RegExp) => (e: unknown) => isNasError(e, 'data_error') && re.test((e as Error).message);

test('csv: header auto-detected, label by name, string labels mapped in sorted order', () => {
  const d = parseCsv('a,b,species\n1,2.5,setosa\n-3e1,.5,virginica\n0,0,setosa\n', 'f.csv', { label: 'species' });
  assert.deepEqual(d.shape, [2]);
  assert.deepEqual(Array.from(d.x), [1, 2.5, -30, 0.5, 0, 0]);
  assert.deepEqual(Array.from(d.y), [0, 1, 0]);
  assert.deepEqual(d.classNames, ['setosa', 'virginica']);
});

test('csv: no header, label by index, integer labels kept, gzip', () => {
  const f = join(dir, 't.csv.gz');
  writeFileSync(f, gzipSync('2,1,1.5\n0,2,2.5\n\n1,3,3.5\n'));
  const d = readCsv(f, { label: 0 });
  assert.deepEqual(Array.from(d.y), [2, 0, 1]);
  assert.equal(d.numClasses, 3);
  assert.deepEqual(Array.from(d.x), [1, 1.5, 2, 2.5, 3, 3.5]);
});

test('csv: non-numeric cell, missing cell, ragged row, bad label name the file, row and column', () => {
  assert.throws(() => parseCsv('x,y,label\n1,2,0\n3,abc,1\n', 'f.csv'), dataErr(/f\.csv at row 3, column y: non-numeric value "abc"/));
  assert.throws(() => parseCsv('1,2,0\n3,,1\n', 'g.csv'), dataErr(/g\.csv at row 2, column 2: missing value/));
  assert.throws(() => parseCsv('1,2,0\n3,1\n', 'h.csv'), dataErr(/h\.csv at row 2: has 2 cells, expected 3/));
  assert.throws(() => parseCsv('1,2,0\n3,1,7\n', 'i.csv', { numClasses: 3 }), dataErr(/i\.csv at row 2, column 3: label 7 is out of range \[0, 3\)/));
  assert.throws(() => parseCsv('a,b\n1,2\n', 'j.csv', { label: 'c' }), dataErr(/no column named "c"/));
  assert.throws(() => parseCsv('1,0\n2,0\n', 'k.csv'), dataErr(/1 class/));
});

test('csv: a text column of few values that is not the defaulted label column is named as the likely label (new user 10b, finding 5)', () => {
  const rows = (lab: (i: number) => string) => Array.from({ length: 12 }, (_, i) => `${lab(i)},${i}.5,${i % 5},${(i * 0.37).toFixed(2)}`).join('\n');
  const species = (i: number) => ['x', 'y', 'z'][i % 3]!;
  const hint = (re: RegExp, not?: RegExp) => (e: unknown) => isNasError(e, 'data_error') && re.test(e.hint ?? '') && (not === undefined || !not.test(e.hint ?? ''));
  // Header species,a,b,c: species is x/y/z, the default label c is a decimal feature.
  const text = `species,a,b,c\n${rows(species)}\n`;
  assert.throws(() => parseCsv(text, 'l.csv'), dataErr(/l\.csv at row 2, column species: non-numeric value "x"/));
  assert.throws(() => parseCsv(text, 'l.csv'), hint(/^likely label column: "species" \(index 0\) with 3 distinct values \(--label species; config label: "species"\); no label was given, so the last column "c" \(index 3\) was taken as the label/));
  // ...and with that label it reads, mapping the names to classes.
  const d = parseCsv(text, 'l.csv', { label: 'species' });
  assert.deepEqual(d.classNames, ['x', 'y', 'z']);
  // No header: the index is suggested.
  assert.throws(() => parseCsv(`${rows(species)}\n`, 'n.csv'), hint(/likely label column: index 0 with 3 distinct values \(--label 0; config label: 0\)/));
  // A text column of near-unique values (an id), or a label given explicitly: the encoding advice, unchanged.
  assert.throws(() => parseCsv(`id,a,b,c\n${rows((i) => `r${i}`)}\n`, 'u.csv'), hint(/^features must be numbers; encode categorical/));
  assert.throws(() => parseCsv(`species,a,b,c\n${rows(species)}\n`, 'e.csv', { label: 'b' }), hint(/^features must be numbers; encode categorical/, /likely label/));
});

test('digits fixture: 1,797 images of 1x8x8, values 0-16, 10 classes', () => {
  const { train, test: t } = loadDigits();
  assert.equal(train.notes, undefined, 'no CSV header note about the built-in set');
  assert.equal(t, undefined);
  assert.equal(train.y.length, 1797);
  assert.deepEqual(train.shape, [1, 8, 8]);
  assert.equal(train.numClasses, 10);
  let max = 0;
  for (const v of train.x) max = Math.max(max, v);
  assert.equal(max, 16);
});
