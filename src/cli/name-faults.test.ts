/**
 * Session 9, fault kind 2 from the CLI: with a misspelt --strategy (a flag whose values parse()
 * checks), the config the flags make was not checked, so a bad --storage and a misspelt
 * --objective came one run later. Now every problem is in one list, each with "did you mean"; the
 * refused flag is not reported a second time by the config. The same for `tsnas repeat`, and for a
 * config file beside flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from './testing/run-captured.js';

const cli = runCaptured;

const dir = mkdtempSync(join(tmpdir(), 'tsnas-name-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const lines = (s: string) => s.split('\n').filter((l) => /^\s+\d+\. /.test(l));

test('search/repeat flags: a refused --strategy, a bad --storage and a misspelt --objective in one list, each with a suggestion', async () => {
  const flags = ['--space', 'nb201', '--strategy', 'evolutoin', '--evaluator', 'nb201', '--storage', 'sqlit:x.db', '--objective', 'val_accc'];
  for (const cmd of [['search', ...flags, '--study', 'x'], ['repeat', '--seeds', '0,1', ...flags]]) {
    const r = await cli(cmd);
    assert.equal(r.code, 2, r.stderr);
    const l = lines(r.stderr);
    assert.equal(l.length, 3, r.stderr);
    assert.match(r.stderr, /--strategy: unknown value "evolutoin"; did you mean evolution\?/);
    assert.match(r.stderr, /storage: unsupported storage URL "sqlit:x.db" \(scheme sqlit:\); did you mean sqlite:\?/);
    assert.equal(r.stderr.match(/evolutoin/g)?.length, 1, 'the refused flag is reported once');
    // Named by the flag that set it (session 10).
    assert.match(r.stderr, /--objective: evaluator nb201 does not report "val_accc"; did you mean val_acc\?/);
  }
});

test('a config file with a misspelt strategy, space and metric beside a bad direction: one list, suggestions', async () => {
  const file = join(dir, 'c.yaml');
  writeFileSync(file, `study: s\nstorage: sqlite:${join(dir, 's.db')}\nspace: nb201\nstrategy: { name: evolutoin }\nevaluator: nb201\nobjectives:\n  - { metric: val_accc, direction: maximise }\n`);
  const r = await cli(['search', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /3 problems in the config file/);
  assert.match(r.stderr, /objectives\[0\]\.direction: .*did you mean maximize\?/);
  assert.match(r.stderr, /strategy: unknown strategy "evolutoin"; did you mean evolution\?/);
  assert.match(r.stderr, /objectives\[0\]\.metric: .*did you mean val_acc\?/);
});
