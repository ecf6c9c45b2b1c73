/**
 * New-user finding 1 (session 3) at the search level: `tsnas main --search-minutes 0.5` took 482 s
 * because the cap waited for running trials. search() now stops them at the cap:
 *  - in-process: the running evaluation is aborted and recorded failed (`wallclock: ...`);
 *  - worker processes that do not answer their own timer (blocked event loop: starved, stuck in
 *    native code) are killed after the grace and their trials recorded failed by the parent.
 * Also finding 3: the search time is kept in the study (`search_seconds`) and summed on resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../store/index.js';
import { prepareSearch, search } from './index.js';

const base = (dir: string, over: Record<string, unknown> = {}) => ({
  study: 's',
  storage: `sqlite:${join(dir, 's.db')}`,
  space: 'nb201',
  strategy: 'random',
  // Each trial "evaluates" for 10 minutes (a sleep that the abort ends).
  evaluator: { name: 'nb201', delay_ms: 600_000 },
  trials: 5,
  ...over,
});

test('in-process search: the cap stops the running trial at once, records it failed (wallclock); the search time adds up over resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-wall-'));
  try {
    const r = await search(prepareSearch({ config: base(dir, { wallclock: 1 }) }), { workers: 1 });
    assert.equal(r.reason, 'wallclock');
    assert.equal(r.counts.failed, 1);
    assert.equal(r.counts.running + r.counts.waiting, 0);
    assert.ok(r.seconds < 300, 'returned long before the 600 s evaluation would have ended');
    assert.equal(r.totalSeconds, r.seconds);
    const store = await openStore(`sqlite:${join(dir, 's.db')}`);
    try {
      const rec = await store.requireStudy('s');
      const [t] = await store.listTrials(rec.id);
      assert.match(t!.error ?? '', /^wallclock: stopped by the study's wall-clock cap after [\d.]+ s of attempt 1 \(no step reported\)$/);
      assert.equal(rec.userAttrs['search_seconds'], Math.round(r.seconds * 1000) / 1000);
    } finally {
      await store.close();
    }
    // Resumed: this call's seconds are added to the first call's.
    const r2 = await search(prepareSearch({ config: base(dir, { wallclock: 1 }) }), { workers: 1 });
    assert.equal(r2.resumed, true);
    assert.ok(Math.abs(r2.totalSeconds - (r.seconds + r2.seconds)) < 0.01, `${r2.totalSeconds} = ${r.seconds} + ${r2.seconds}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker processes that do not answer at the cap are killed after the grace; their trials are recorded failed (wallclock)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-wall-'));
  try {
    const events: string[] = [];
    // 10 s for the two stuck workers to start and claim a trial (sleeping: no CPU), 1 s of grace.
    const r = await search(prepareSearch({ config: base(dir, { wallclock: 10 }) }), {
      workers: 2,
      workerEntry: fileURLToPath(new URL('./testing/stuck-worker.ts', import.meta.url)),
      workerStderr: 'inherit',
      capGraceMs: 1000,
      onEvent: (e) => events.push(e.type === 'finished' ? `finished ${e.trial.number} ${e.trial.error}` : e.type),
    });
    // Returning at all shows the kill: the stuck workers never exit by themselves.
    assert.equal(r.reason, 'wallclock');
    assert.deepEqual(r.workerExits?.map((x) => x.signal), ['SIGKILL', 'SIGKILL']);
    assert.equal(r.counts.failed, 2, JSON.stringify(r.counts));
    assert.equal(r.counts.running + r.counts.waiting, 0);
    assert.ok(events.includes('warning'));
    assert.equal(events.filter((e) => /^finished \d+ wallclock: worker .*-w[01] did not stop at the study's wall-clock cap and was killed after/.test(e)).length, 2, events.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
