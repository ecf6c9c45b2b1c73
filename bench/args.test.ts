import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../src/core/errors.js';
import { BenchHelp, parseBenchArgs } from './args.js';

const SPEC = { seeds: 'number', space: 'string', proxies: 'list', from: 'repeat', json: 'flag', 'train-per-class': 'number' } as const;

test('bench arguments: each kind, --x=value, absent options undefined', () => {
  const o = parseBenchArgs(['--seeds', '3', '--space=nb201', '--proxies', 'naswot, synflow,', '--from', 'a.json', '--from', 'b.json', '--json', '--train-per-class', '2.5'], 'demo', SPEC);
  assert.deepEqual(o, { seeds: 3, space: 'nb201', proxies: ['naswot', 'synflow'], from: ['a.json', 'b.json'], json: true, 'train-per-class': 2.5 });
  assert.deepEqual(parseBenchArgs([], 'demo', SPEC), {});
});

test('bench arguments: unknown option, missing value, stray positional and a non-number name the option', () => {
  const bad = (argv: string[], field: string) =>
    assert.throws(() => parseBenchArgs(argv, 'demo', SPEC), (e: unknown) => isNasError(e, 'invalid_config') && e.field === field && /bench\/demo\.ts/.test(e.hint ?? ''), argv.join(' '));
  bad(['--seed', '3'], '--seed');
  bad(['--space'], '--space');
  bad(['nb201'], 'argv');
  for (const v of ['x', '', '1e999', 'NaN']) bad(['--seeds', v], '--seeds');
  bad(['--json=yes'], '--json');
});

test('bench arguments: --help and -h throw BenchHelp listing every option; a mistyped option gets the closest name', () => {
  for (const h of ['--help', '-h']) {
    assert.throws(
      () => parseBenchArgs(['--seeds', '3', h], 'demo', SPEC),
      (e: unknown) => e instanceof BenchHelp && /--seeds <number>/.test(e.text) && /--json\n/.test(e.text) && /bench\/demo\.ts/.test(e.text),
    );
  }
  // A bench with its own `help` option keeps it.
  assert.deepEqual(parseBenchArgs(['--help'], 'demo', { help: 'flag' }), { help: true });
  assert.throws(() => parseBenchArgs(['--seed', '3'], 'demo', SPEC), (e: unknown) => isNasError(e, 'invalid_config') && /did you mean --seeds\?/.test(e.message));
  assert.throws(() => parseBenchArgs(['--zzz'], 'demo', SPEC), (e: unknown) => isNasError(e, 'invalid_config') && !/did you mean/.test(e.message));
});
