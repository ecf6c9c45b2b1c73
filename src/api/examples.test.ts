/**
 * Every shipped example config (examples/*.yaml|json) passes the same validation `tsnas search`
 * runs before anything starts, and keeps its database under the git-ignored runs/ folder (not in
 * the repository root or beside the example).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneShotMethodOf, prepareOneShot } from './oneshot.js';
import { prepareSearch } from './study.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'examples');

test('every example config validates and writes its database under runs/', () => {
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 3, `examples found: ${files.join(', ')}`);
  for (const f of files) {
    const input = { configPath: join(dir, f) };
    // As `tsnas search FILE`: a one-shot method (darts, gdas, spos, ...) goes through its own preparation.
    const { config } = oneShotMethodOf(input) ? prepareOneShot(input) : prepareSearch(input);
    const m = /^sqlite:(.*)$/.exec(config.storage);
    assert.ok(m, `${f}: storage ${config.storage}`);
    assert.ok(resolve(m[1]!).startsWith(join(root, 'runs') + '/'), `${f}: database ${m[1]} is not under runs/`);
  }
});
