/**
 * Every shipped example config (examples/*.yaml|json):
 *  - passes the same validation `tsnas search` runs before anything starts, and keeps its database
 *    under the git-ignored runs/ folder (not in the repository root or beside the example);
 *  - triggers none of the warnings tsnas itself gives (session 9's new user: nb201-darts.yaml warned
 *    that its supernet got only 390 of the 400 weight steps it asks for). One-shot examples are
 *    checked for the warnings their search gives before it trains (oneShotStartWarnings: the data
 *    is loaded and halved, nothing is trained); the table examples that answer in seconds are run
 *    in full into a temporary database, every `warning` event collected. nb201-workers.json is not
 *    run here (2 processes, 40 trials of 500 ms of busy work each: ~20 s of both cores);
 *  - has its run time stated, measured, in examples/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneShotMethodOf, oneShotStartWarnings, prepareOneShot } from './oneshot.js';
import { prepareSearch, search } from './study.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'examples');
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
/** Not run by this test (see the file comment). */
const NOT_RUN = new Set(['nb201-workers.json']);

test('every example config validates and writes its database under runs/ (which ships, empty)', () => {
  assert.ok(files.length >= 3, `examples found: ${files.join(', ')}`);
  assert.ok(existsSync(join(root, 'runs', '.gitkeep')), 'runs/ ships: tsnas creates a database file, never its missing directory');
  for (const f of files) {
    const input = { configPath: join(dir, f) };
    // As `tsnas search FILE`: a one-shot method (darts, gdas, spos, ...) goes through its own preparation.
    const { config } = oneShotMethodOf(input) ? prepareOneShot(input) : prepareSearch(input);
    const m = /^sqlite:(.*)$/.exec(config.storage);
    assert.ok(m, `${f}: storage ${config.storage}`);
    assert.ok(resolve(m[1]!).startsWith(join(root, 'runs') + '/'), `${f}: database ${m[1]} is not under runs/`);
  }
});

test('every example states its measured run time in examples/README.md', () => {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  for (const f of files) {
    const row = readme.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${f}\``));
    assert.ok(row, `${f} has no row in examples/README.md`);
    assert.match(row, /\d+(\.\d+)? (s|min)\b/, `${f}: its row states no run time: ${row}`);
  }
  assert.match(readme, /load/, 'the machine and its load are stated with the times');
});

test('no example triggers a warning of its own', { timeout: 600_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'tsnas-examples-'));
  try {
    for (const f of files) {
      const input = { configPath: join(dir, f), flags: { storage: `sqlite:${join(tmp, `${f}.db`)}` } };
      if (oneShotMethodOf(input)) {
        let warnings: string[];
        try {
          warnings = await oneShotStartWarnings(prepareOneShot(input));
        } catch (e) {
          // Fashion-MNIST is read from the machine's datasets folder (it does not ship): said, not failed.
          if (/cannot read dataset directory|no such file/i.test((e as Error).message)) {
            t.diagnostic(`${f}: not checked, its dataset is not on this machine: ${(e as Error).message}`);
            continue;
          }
          throw e;
        }
        assert.deepEqual(warnings, [], `${f} warns before it trains`);
        continue;
      }
      if (NOT_RUN.has(f)) continue;
      const warnings: string[] = [];
      const r = await search(prepareSearch(input), { onEvent: (e) => e.type === 'warning' && warnings.push(e.message) });
      assert.deepEqual(warnings, [], `${f} warns while it runs`);
      assert.equal(r.counts.failed, 0, `${f}: failed trials`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
