import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchHeader, benchNames, runBench } from './run.js';

async function call(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runBench(argv, (s) => void (out += s), (s) => void (err += s));
  return { code, out, err };
}

test('npm run bench: --help lists the benchmarks (not helper modules); an unknown name gets the closest one, exit 2', async () => {
  const names = benchNames();
  assert.ok(names.includes('prescreen') && names.includes('nb201') && names.includes('proxies'));
  assert.ok(!names.includes('args') && !names.includes('run'), names.join(','));
  for (const h of ['--help', '-h']) {
    const r = await call([h]);
    assert.equal(r.code, 0);
    assert.match(r.out, /NAME: one of .*prescreen/);
  }
  const typo = await call(['prescren', '--seeds', '1']);
  assert.equal(typo.code, 2);
  assert.match(typo.err, /unknown benchmark "prescren"; did you mean prescreen\?/);
  const none = await call([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /usage: npm run bench -- NAME/);
  const helper = await call(['args']);
  assert.equal(helper.code, 2);
});

test('npm run bench -- NAME --help: the header comment and the exact options, exit 0, nothing run', async () => {
  const r = await call(['prescreen', '--seeds', '1', '--help']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Issue 12, real training/);
  assert.match(r.out, /--pool <number>/);
  assert.match(r.out, /--from <value> \(repeatable\)/);
  assert.match(r.out, /--proxies <a,b,\.\.\.>/);
  assert.doesNotMatch(r.out, /^\s*\*/m, 'comment markers stripped');
  // A bench with its own option parser is never started for --help: its header is printed.
  const own = benchNames().find((n) => n === 'compress');
  if (own) {
    const c = await call([own, '--help']);
    assert.equal(c.code, 0);
    assert.equal(c.out, benchHeader(own));
  }
});

test('npm run bench: a bad option is one message naming it and its fix (no stack), exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['prescreen', '--seed', '3'], /error \[invalid_config\]: --seed: prescreen bench: Unknown option '--seed'; did you mean --seeds\?/],
    [['prescreen', '--seeds', 'x'], /--seeds: prescreen bench: --seeds needs a number, got "x"/],
    [['nb201', '--budget', '30'], /--budget: nb201 bench: Unknown option '--budget'; did you mean --budgets\?/],
    [['proxies', '--archs'], /--archs: proxies bench: Option '--archs <value>' argument missing/],
  ];
  for (const [argv, re] of cases) {
    const r = await call(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, re);
    assert.match(r.err, /options of bench\/\w+\.ts/);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
});
