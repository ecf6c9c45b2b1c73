/** Class lists for transfer (`--classes`): what parseClassList / checkClasses accept and refuse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { checkClasses, parseClassList } from './classes.js';

const refused = (f: () => unknown, text: RegExp): void =>
  assert.throws(f, (e: unknown) => isNasError(e) && e.code === 'invalid_config' && e.field === 'classes' && text.test(e.message));

test('parseClassList: ranges and lists in the order given', () => {
  assert.deepEqual(parseClassList('5-9'), [5, 6, 7, 8, 9]);
  assert.deepEqual(parseClassList('7,3-4'), [7, 3, 4]);
});

test('class lists that select no task are refused naming the field: empty, one class (a new user got "100%"), repeats, downward ranges, out of range', () => {
  refused(() => parseClassList(''), /selects no class/);
  refused(() => parseClassList('3'), /selects one class \(3\): a classifier needs at least 2/);
  refused(() => parseClassList('4-4'), /selects one class/);
  refused(() => checkClasses([2], 10), /selects one class/);
  refused(() => parseClassList('1,1'), /selected twice/);
  refused(() => parseClassList('9-5'), /runs downwards/);
  refused(() => checkClasses([0, 10], 10), /class 10 does not exist/);
});
