/**
 * New-user finding 1 (session 3): `tsnas main --search-minutes 0.5` took 482 s - the cap waited for
 * running trials - and trial 0 was re-claimed 7 times after its lease expired without a word.
 *  - a study's wall-clock cap (`atWallclock: 'fail'`) stops the running evaluation at once and
 *    records it failed with reason `wallclock` and its last metrics; a worker's own time slot
 *    (default 'release') gives it back; an `deadline` (absolute) works like wallclockMs;
 *  - a trial claimed again after its lease expired emits `rerun` (previous holder named) and
 *    records `reruns` on the trial; one given back says so;
 *  - failAtCap records the trial of a worker killed at the cap, as its holder, and tells the strategy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerId } from '../core/ids.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store, StudySpec } from '../store/types.js';
import type { StrategyDriver } from './driver.js';
import { Study, rerunLine, sleep, type StudyEvent } from './study.js';
import { syntheticEvaluator } from './synthetic.js';

function tmpStore(): { store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-wall-'));
  const path = join(dir, 's.db');
  return { store: SqliteStore.open(`sqlite:${path}`, path), dir };
}

const spec = (name: string, maxTrials: number | null): StudySpec => ({
  name,
  strategy: { name: 'counter', options: {} },
  space: { name: 'test', definition: null },
  evaluator: { name: 'synthetic', options: {} },
  objectives: [{ metric: 'val_acc', direction: 'maximize' }],
  constraints: [],
  seed: 1,
  maxTrials,
  config: {},
});

/** Proposes {x: 0}, {x: 1}, ...; counts tells per trial number. */
function counterDriver(): StrategyDriver {
  return {
    needsIntermediates: false,
    init: () => ({ next: 0, told: {} }),
    ask(state) {
      const s = state as { next: number; told: Record<string, number> };
      return { state: { ...s, next: s.next + 1 }, result: { kind: 'trial', proposal: { arch: { x: s.next }, archKey: String(s.next), budget: null, params: {} } } };
    },
    tell(state, item) {
      const s = state as { next: number; told: Record<string, number> };
      const k = String(item.trial.number);
      return { ...s, told: { ...s.told, [k]: (s.told[k] ?? 0) + 1 } };
    },
  };
}

const told = async (store: Store, id: Parameters<Store['loadStrategyState']>[0]) =>
  ((await store.loadStrategyState(id)).state as { strategy: { told: Record<string, number> } }).strategy.told;

test('a study cap stops the running trial at the cap and records it failed (wallclock) with its last metrics', async () => {
  const { store, dir } = tmpStore();
  try {
    // Steps of 150 ms, 40 steps: 6 s per trial; the cap is 500 ms.
    const rec = await store.createStudy(spec('cap', 10));
    const t0 = Date.now();
    const r = await new Study(store, rec, counterDriver(), syntheticEvaluator({ delayMs: 150, steps: 40 }), { workerId: workerId('w') }).optimize({
      wallclockMs: 500,
      atWallclock: 'fail',
    });
    assert.equal(r.reason, 'wallclock');
    assert.ok(Date.now() - t0 < 5000, 'the cap did not wait for the 6 s trial');
    const trials = await store.listTrials(rec.id);
    assert.equal(trials.length, 1);
    const t = trials[0]!;
    assert.equal(t.state, 'failed');
    assert.match(t.error ?? '', /^wallclock: stopped by the study's wall-clock cap after [\d.]+ s of attempt 1 \(last reported step \d+\)$/);
    assert.equal(typeof t.metrics?.['val_acc'], 'number', 'the last reported metrics are kept');
    assert.deepEqual(await told(store, rec.id), { '0': 1 }, 'the strategy was told once');
    const c = await store.countTrials(rec.id);
    assert.equal(c.running + c.waiting, 0, 'nothing is left running or waiting');

    // Stopped before any step: failed, no metrics; an absolute deadline works the same way.
    const rec2 = await store.createStudy(spec('cap2', 10));
    const r2 = await new Study(store, rec2, counterDriver(), syntheticEvaluator({ delayMs: 5000, steps: 2 }), { workerId: workerId('w2') }).optimize({
      deadline: Date.now() + 300,
      atWallclock: 'fail',
    });
    assert.equal(r2.reason, 'wallclock');
    const t2 = (await store.listTrials(rec2.id))[0]!;
    assert.equal(t2.state, 'failed');
    assert.match(t2.error ?? '', /\(no step reported\)$/);
    assert.equal(t2.metrics, null);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a worker's own time slot (default) gives the stopped trial back; a later worker re-runs it and says so", async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('slot', 1));
    const r = await new Study(store, rec, counterDriver(), syntheticEvaluator({ delayMs: 5000, steps: 2 }), { workerId: workerId('a') }).optimize({ wallclockMs: 300 });
    assert.equal(r.reason, 'wallclock');
    assert.equal((await store.listTrials(rec.id))[0]!.state, 'waiting');
    const events: StudyEvent[] = [];
    const r2 = await new Study(store, rec, counterDriver(), syntheticEvaluator({ steps: 1 }), { workerId: workerId('b') }).optimize({ onEvent: (e) => events.push(e) });
    assert.equal(r2.reason, 'complete');
    const rerun = events.find((e) => e.type === 'rerun');
    assert.ok(rerun && rerun.type === 'rerun');
    assert.equal(rerun.why, 'given_back');
    assert.equal(rerunLine(rerun), 'trial 0: given back (attempt 1, worker a), run again by worker b (attempt 2)');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a trial whose lease expired is re-run visibly: rerun event naming the previous worker, reruns attribute', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('lease', 1));
    // Worker a claims trial 0 under a 50 ms lease and is never heard of again (starved, dead).
    const a = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('a'), leaseMs: 50 });
    const asked = await a.ask();
    assert.equal(asked.kind, 'trial');
    await sleep(120);
    const events: StudyEvent[] = [];
    const b = new Study(store, rec, counterDriver(), syntheticEvaluator({ steps: 1 }), { workerId: workerId('b') });
    assert.equal((await b.optimize({ onEvent: (e) => events.push(e) })).reason, 'complete');
    const rerun = events.find((e) => e.type === 'rerun');
    assert.ok(rerun && rerun.type === 'rerun', 'a rerun event');
    assert.equal(rerun.why, 'lease_expired');
    assert.equal(rerun.previousWorker, 'a');
    assert.equal(rerunLine(rerun), 'trial 0: lease expired (attempt 1, worker a), run again by worker b (attempt 2)');
    const t = (await store.listTrials(rec.id))[0]!;
    assert.equal(t.state, 'complete');
    assert.equal(t.attempt, 2);
    const reruns = t.userAttrs['reruns'] as { attempt: number; why: string; previous_worker: string; worker: string }[];
    assert.deepEqual(reruns.map((x) => [x.attempt, x.why, x.previous_worker, x.worker]), [[2, 'lease_expired', 'a', 'b']]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failAtCap records the trial of a worker killed at the cap as failed (wallclock), once, and tells the strategy', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('kill', 3));
    const dead = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('dead') });
    const asked = await dead.ask();
    assert.ok(asked.kind === 'trial');
    await store.reportIntermediate(asked.trial.id, workerId('dead'), 1, { val_acc: 42 }, asked.trial.attempt);
    const parent = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('parent') });
    const running = (await store.listTrials(rec.id, { states: ['running'] }))[0]!;
    const f = await parent.failAtCap(running, 'worker dead did not stop at the cap and was killed');
    assert.ok(f);
    assert.equal(f.state, 'failed');
    assert.match(f.error ?? '', /^wallclock: worker dead did not stop at the cap and was killed after [\d.]+ s of attempt 1 \(last reported step 1\)$/);
    assert.equal(f.metrics?.['val_acc'], 42);
    assert.deepEqual(await told(store, rec.id), { '0': 1 });
    // A second call (the trial is finished) does nothing.
    assert.equal(await parent.failAtCap(running, 'again'), null);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
