/**
 * Session 9, fault kind 1 from the CLI: `constraints: [{metric: latency_ms, max: -5}]` left a
 * `running` study of 0 trials behind (exit 2; with `workers: 2` the error printed twice, exit 1).
 * Now one error, exit 2, no database, with one worker or two, for a bound outside the metric's
 * range and for one no architecture of the space meets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from './testing/run-captured.js';

const cli = runCaptured;

const dir = mkdtempSync(join(tmpdir(), 'tsnas-constraint-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('an unsatisfiable constraint: one error, exit 2, nothing written, with 1 or 2 workers; the fixed config then runs under the same name', async () => {
  for (const workers of [1, 2])
    for (const bound of ['max: -5', 'max: 0.001']) {
      const db = join(dir, `w${workers}.db`);
      const file = join(dir, `c${workers}.yaml`);
      writeFileSync(
        file,
        `study: neg\nstorage: sqlite:${db}\nspace: nb201\nstrategy: { name: evolution }\nevaluator: { name: nb201 }\n` +
          `constraints:\n  - { metric: latency_ms, ${bound} }\ntrials: 2\nworkers: ${workers}\n`,
      );
      const r = await cli(['search', file]);
      assert.doesNotMatch(r.stderr, /tsnas: study neg in/, 'no banner announcing a search that does not start');
      assert.equal(r.code, 2, `${workers} worker(s), ${bound}: ${r.stderr}`);
      assert.equal(r.stderr.match(/error|problem/g)?.length, 1, r.stderr);
      assert.match(r.stderr, bound === 'max: -5' ? /constraints\[0\]\.max: can never be met: max -5 is below 0/ : /constraint_unsatisfiable.*latency_ms .* to /);
      assert.ok(!existsSync(db), 'no database written');
    }
  const file = join(dir, 'fixed.yaml');
  writeFileSync(file, `study: neg\nstorage: sqlite:${join(dir, 'w1.db')}\nspace: nb201\nstrategy: evolution\nevaluator: nb201\nconstraints:\n  - { metric: latency_ms, max: 40 }\ntrials: 2\n`);
  const ok = await cli(['search', file, '--quiet']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /2 complete/);
});
