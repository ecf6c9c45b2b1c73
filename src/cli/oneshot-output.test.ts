/**
 * The one-shot supernet search trial in the CLI's tables (new user, session 10, findings 1 and
 * 11): `tsnas trials` showed it with `val_loss` but `val_acc -` and no word why; now its state
 * reads `complete (supernet)` and a note under the table says what its metrics are. `best` is
 * the derived network, never the supernet (whose val_acc, 91, is the higher).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { createOneShotStudy, DERIVED_VAL_ACC, SUPERNET_VAL_ACC } from '../server/testing/oneshot-fixture.js';
import { runCaptured as cli } from './testing/run-captured.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('tsnas trials marks the supernet trial and says why it has no objective value; best is the derived network', async () => {
  const db = `sqlite:${join(dir, 'os.db')}`;
  const store = await openStore(db);
  try {
    await createOneShotStudy(store, 3);
  } finally {
    await store.close();
  }
  const args = ['--study', 'oneshot-darts-fixture', '--storage', db];
  const r = await cli(['trials', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n');
  assert.ok(rows.some((l) => /^\s*0\s+complete \(supernet\)\s/.test(l)), r.stdout);
  assert.ok(rows.some((l) => /^\s*1\s+complete\s/.test(l)), r.stdout);
  assert.match(r.stdout, new RegExp(`trial 0 \\(supernet\\) is the one-shot supernet search: its metrics \\(val_acc ${SUPERNET_VAL_ACC}\\) are the supernet's on the architecture half, not a network's; it has no objective value and is never a candidate`));
  const b = await cli(['best', ...args]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, new RegExp(`^\\s*1\\s+complete\\s+1\\s+${DERIVED_VAL_ACC}`, 'm'));
  assert.doesNotMatch(b.stdout, /supernet/);
});
