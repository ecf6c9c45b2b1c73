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

test('digits fixture: 1,797 images of 1x8x8, values 0-16, 10 classes', () => {
  const { train, test: t } = loadDigits();
  assert.equal(t, undefined);
  assert.equal(train.y.length, 1797);
  assert.deepEqual(train.shape, [1, 8, 8]);
  assert.equal(train.numClasses, 10);
  let max = 0;
  for (const v of train.x) max = Math.max(max, v);
  assert.equal(max, 16);
});
