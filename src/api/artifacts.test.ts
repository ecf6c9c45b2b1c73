import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { exportWinner, loadStudy, prepareSearch, search } from './index.js';

// Issue 17.11: a study's folder (database + <db>.artifacts/) moved elsewhere. Export must find the
// moved weights (or say clearly that they are missing), and a worker on the moved database must
// write under the new folder, never recreate the old one.
test('a moved study folder: export resolves the weights against the database, warns when missing; workers follow the database', { timeout: 300_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsnas-moved-'));
  try {
    const before = join(root, 'before');
    mkdirSync(before);
    const storage = `sqlite:${join(before, 's.db')}`;
    const config = { study: 'mv', storage, space: 'mlp', strategy: 'random', evaluator: { name: 'train', dataset: 'digits', epochs: 1, threads: 1 }, trials: 2, seed: 3 };
    // The first trial only (stopped like Ctrl-C after it); the second runs after the move.
    const stop = new AbortController();
    const r = await search(prepareSearch({ config }), { signal: stop.signal, onProgress: (p) => p.counts.complete >= 1 && stop.abort() });
    assert.equal(r.counts.complete, 1);
    const recorded = r.best!.userAttrs['weights_path'] as string;
    assert.ok(recorded.startsWith(join(before, 's.db.artifacts', 'mv')), recorded);

    const after = join(root, 'after');
    renameSync(before, after);
    const moved = `sqlite:${join(after, 's.db')}`;
    const ex = await exportWinner(moved, 'mv', join(root, 'out'));
    assert.deepEqual(ex.warnings, []);
    assert.ok(ex.files.includes('weights.bin') && ex.files.includes('model.onnx'), ex.files.join(','));

    // A worker (loadStudy, what `tsnas worker` and local worker processes do) on the moved database.
    const h = await loadStudy(moved, 'mv');
    try {
      assert.equal(h.parts.config.evaluator.options['artifacts_dir'], join(after, 's.db.artifacts', 'mv'));
    } finally {
      await h.close();
    }
    // Resuming the search from the moved database: the new trial's weights land in the new folder.
    assert.equal((await search(prepareSearch({ config: { ...config, storage: moved } }))).counts.complete, 2);
    assert.ok(!existsSync(before), 'the old folder is not recreated');
    assert.equal(readdirSync(join(after, 's.db.artifacts', 'mv')).filter((f) => f.endsWith('.sd')).length, 2);

    // The weights removed: export still writes the architecture and metrics, and says what is missing.
    rmSync(join(after, 's.db.artifacts'), { recursive: true });
    const store = await openStore(moved);
    await store.close();
    const ex2 = await exportWinner(moved, 'mv', join(root, 'out2'));
    assert.deepEqual(ex2.files, ['arch.json', 'metrics.json']);
    assert.equal(ex2.warnings.length, 1);
    assert.match(ex2.warnings[0]!, /weights file is missing/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
