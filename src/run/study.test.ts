import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerId } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { nb201Space } from '../space/nb201.js';
import { createStrategy } from '../strategy/registry.js';
import { SqliteStore } from '../store/sqlite.js';
import { leaseExpiriesOf, type Store, type StudyRecord, type StudySpec } from '../store/types.js';
import { isNasError } from '../core/errors.js';
import type { StrategyDriver } from './driver.js';
import { strategyDriver } from './strategy-driver.js';
import { DEFAULT_MAX_LEASE_RETRIES, Study, leaseRetriesExhausted, rerunLine, sleep, type StudyEvent } from './study.js';
import { syntheticEvaluator } from './synthetic.js';

function tmpStore(): { store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-study-'));
  const path = join(dir, 's.db');
  return { store: SqliteStore.open(`sqlite:${path}`, path), dir };
}

function spec(name: string, maxTrials: number | null): StudySpec {
  return {
    name,
    strategy: { name: 'counter', options: {} },
    space: { name: 'test', definition: null },
    evaluator: { name: 'synthetic', options: {} },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [],
    seed: 1,
    maxTrials,
    config: {},
  };
}

/** Proposes {x: 0}, {x: 1}, ...; counts tells per trial number, so double tells are visible. */
function counterDriver(opts: { prune?: boolean } = {}): StrategyDriver {
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
    ...(opts.prune ? { shouldPrune: (state: Json, item) => ({ state, prune: (item.trial.arch as { x: number }).x % 2 === 1 }) } : {}),
  };
}

test('optimize runs the budget; every trial told exactly once; resumable after the budget grows', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('a', 7));
    const study = new Study(store, rec, counterDriver(), syntheticEvaluator({ steps: 3 }), { workerId: workerId('w1') });
    const r = await study.optimize();
    assert.equal(r.reason, 'complete');
    assert.equal(r.finished, 7);
    const c = await store.countTrials(rec.id);
    assert.equal(c.complete, 7);
    assert.equal(c.total, 7);
    const st = (await store.loadStrategyState(rec.id)).state as { strategy: { told: Record<string, number> } };
    assert.deepEqual(Object.values(st.strategy.told), [1, 1, 1, 1, 1, 1, 1]);
    const trials = await store.listTrials(rec.id);
    assert.ok(trials.every((t) => t.values !== null && t.values.length === 1 && t.attempt === 1));
    assert.equal((await store.getIntermediates(trials[0]!.id)).length, 3);
    // A second optimize on a finished study does nothing.
    const again = await new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('w2') }).optimize();
    assert.equal(again.finished, 0);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two concurrent studies on one store share the budget without duplicates', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('b', 20));
    const ev = syntheticEvaluator({ steps: 2, delayMs: 3 });
    const a = new Study(store, rec, counterDriver(), ev, { workerId: workerId('a'), pollMs: 5 });
    const b = new Study(store, rec, counterDriver(), ev, { workerId: workerId('b'), pollMs: 5 });
    const [ra, rb] = await Promise.all([a.optimize(), b.optimize()]);
    assert.equal(ra.finished + rb.finished, 20);
    const trials = await store.listTrials(rec.id);
    assert.equal(trials.length, 20);
    assert.equal(new Set(trials.map((t) => t.archKey)).size, 20);
    assert.ok(ra.finished > 0 && rb.finished > 0, `${ra.finished} / ${rb.finished}`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dead worker\'s trial is re-run after its lease expires; its late finish is refused', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('c', 4));
    const dead = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('dead'), leaseMs: 50 });
    const a = await dead.ask();
    assert.equal(a.kind, 'trial');
    // "dead" never heartbeats nor finishes its trial.
    const live = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('live'), leaseMs: 50, pollMs: 10 });
    const r = await live.optimize();
    assert.equal(r.reason, 'complete');
    const trials = await store.listTrials(rec.id);
    assert.equal(trials.length, 4);
    assert.ok(trials.every((t) => t.state === 'complete'));
    const t0 = trials[0]!;
    assert.equal(t0.attempt, 2);
    assert.equal(t0.workerId, 'live');
    // The dead worker wakes up: its finish is refused, nothing is counted twice.
    if (a.kind === 'trial') await assert.rejects(dead.tell(a.trial, { state: 'complete', metrics: { val_acc: 1 }, values: [1] }), /conflict|not running|lease/i);
    const st = (await store.loadStrategyState(rec.id)).state as { strategy: { told: Record<string, number> } };
    assert.deepEqual(Object.values(st.strategy.told), [1, 1, 1, 1]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Trial 0 of `rec` claimed by `n` workers dead-1..dead-n in turn, each lease lapsing (100 ms). */
async function dieRepeatedly(store: Store, rec: StudyRecord, n: number): Promise<void> {
  const first = await new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('dead-1'), leaseMs: 100 }).ask();
  assert.equal(first.kind, 'trial');
  for (let i = 2; i <= n; i++) {
    await sleep(300);
    const t = await store.claimTrial(rec.id, workerId(`dead-${i}`), 100);
    assert.equal(t?.number, 0);
  }
  await sleep(300);
}

test('a trial whose lease expired more than maxLeaseRetries times is recorded failed without running it (lease_retries_exhausted, naming each attempt and worker); the search goes on', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('exhausted', 3));
    await dieRepeatedly(store, rec, 3);
    const seen: unknown[] = [];
    const inner = syntheticEvaluator();
    const evaluator = { ...inner, evaluate: (req: Parameters<typeof inner.evaluate>[0]) => (seen.push(req.arch), inner.evaluate(req)) };
    const events: StudyEvent[] = [];
    const live = new Study(store, rec, counterDriver(), evaluator, { workerId: workerId('live'), pollMs: 10, maxLeaseRetries: 2 });
    const r = await live.optimize({ onEvent: (e) => events.push(e) });
    assert.equal(r.reason, 'complete');
    assert.equal(r.finished, 4, 'the failed trial and the 3 of the budget');
    const trials = await store.listTrials(rec.id);
    assert.deepEqual(trials.map((t) => t.state), ['failed', 'complete', 'complete', 'complete']);
    const t0 = trials[0]!;
    assert.equal(t0.attempt, 4);
    assert.equal(t0.workerId, 'live');
    assert.equal(
      t0.error,
      leaseRetriesExhausted(0, leaseExpiriesOf(t0), 2),
    );
    assert.match(t0.error!, /^lease_retries_exhausted: the lease of trial 0 expired 3 times \(attempt 1 on worker dead-1, attempt 2 on worker dead-2, attempt 3 on worker dead-3\), more than max_lease_retries = 2; not run again/);
    assert.ok(!seen.some((a) => (a as { x: number }).x === 0), 'trial 0 was not evaluated again');
    assert.equal(seen.length, 3);
    const ex = events.find((e) => e.type === 'lease_retries_exhausted');
    assert.ok(ex && ex.type === 'lease_retries_exhausted');
    assert.deepEqual(ex.expiries.map((x) => [x.attempt, x.worker]), [[1, 'dead-1'], [2, 'dead-2'], [3, 'dead-3']]);
    assert.ok(events.some((e) => e.type === 'finished' && e.trial.number === 0 && e.trial.state === 'failed'));
    assert.ok(!events.some((e) => e.type === 'rerun'), 'no re-run was started');
    // The strategy was told of every trial once, the failed one included.
    const st = (await store.loadStrategyState(rec.id)).state as { strategy: { told: Record<string, number> } };
    assert.deepEqual(st.strategy.told, { 0: 1, 1: 1, 2: 1, 3: 1 });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a trial whose lease expired exactly maxLeaseRetries times runs again (the default is 3); given-back attempts do not count; bad values are refused', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('at-cap', 2));
    await dieRepeatedly(store, rec, 3);
    // A claim that is given back afterwards (Ctrl-C) adds an attempt but no lost lease.
    const g = (await store.claimTrial(rec.id, workerId('stopped'), 60_000))!;
    assert.equal(g.attempt, 4);
    await store.releaseTrial(g.id, workerId('stopped'), g.attempt);
    const events: StudyEvent[] = [];
    const live = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('live'), pollMs: 10 });
    assert.equal(live.maxLeaseRetries, DEFAULT_MAX_LEASE_RETRIES);
    assert.equal(DEFAULT_MAX_LEASE_RETRIES, 3);
    const r = await live.optimize({ onEvent: (e) => events.push(e) });
    assert.equal(r.reason, 'complete');
    const t0 = (await store.listTrials(rec.id))[0]!;
    assert.equal(t0.state, 'complete');
    assert.equal(t0.attempt, 5);
    assert.deepEqual(leaseExpiriesOf(t0).map((x) => x.worker), ['dead-1', 'dead-2', 'dead-3']);
    const rerun = events.find((e) => e.type === 'rerun');
    assert.ok(rerun && rerun.type === 'rerun');
    assert.equal(rerun.why, 'given_back');
    for (const bad of [-1, 1.5, Number.NaN])
      assert.throws(() => new Study(store, rec, counterDriver(), syntheticEvaluator(), { maxLeaseRetries: bad }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'max_lease_retries');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a re-run names the worker whose lease expired, as the claim recorded it', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('why', 1));
    await dieRepeatedly(store, rec, 1);
    const events: StudyEvent[] = [];
    // A fresh worker that never saw the trial: the store's record, not its view, says why.
    await new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('live'), pollMs: 10 }).optimize({ onEvent: (e) => events.push(e) });
    const rerun = events.find((e) => e.type === 'rerun');
    assert.ok(rerun && rerun.type === 'rerun');
    assert.equal(rerun.why, 'lease_expired');
    assert.equal(rerun.previousWorker, 'dead-1');
    assert.equal(rerunLine(rerun), 'trial 0: lease expired (attempt 1, worker dead-1), run again by worker live (attempt 2)');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('abort releases the running trial; a resumed study re-runs it and completes', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('d', 3));
    const ctl = new AbortController();
    const s1 = new Study(store, rec, counterDriver(), syntheticEvaluator({ steps: 50, delayMs: 10 }), { workerId: workerId('s1') });
    const p = s1.optimize({ signal: ctl.signal, onEvent: (e) => e.type === 'progress' && e.progress.step === 2 && ctl.abort() });
    const r = await p;
    assert.equal(r.reason, 'aborted');
    const c = await store.countTrials(rec.id);
    assert.equal(c.waiting, 1);
    assert.equal(c.running, 0);
    const s2 = new Study(store, rec, counterDriver(), syntheticEvaluator({ steps: 2 }), { workerId: workerId('s2') });
    assert.equal((await s2.optimize()).reason, 'complete');
    const c2 = await store.countTrials(rec.id);
    assert.equal(c2.complete, 3);
    assert.equal(c2.total, 3);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pruning through the strategy; failed trials do not stop the study; wall clock stops it', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('e', 6));
    const s = new Study(store, rec, counterDriver({ prune: true }), syntheticEvaluator({ steps: 3 }), { workerId: workerId('p') });
    await s.optimize();
    const c = await store.countTrials(rec.id);
    assert.equal(c.pruned, 3);
    assert.equal(c.complete, 3);

    const rec2 = await store.createStudy(spec('f', 5));
    const failing = { ...syntheticEvaluator(), evaluate: async () => { throw new Error('boom'); } };
    const r = await new Study(store, rec2, counterDriver(), failing, { workerId: workerId('f'), maxFailures: 4 }).optimize();
    assert.equal(r.reason, 'failures');
    assert.equal((await store.countTrials(rec2.id)).failed, 4);
    assert.match((await store.listTrials(rec2.id))[0]!.error ?? '', /boom/);

    const rec3 = await store.createStudy(spec('g', null));
    const t0 = Date.now();
    const r3 = await new Study(store, rec3, counterDriver(), syntheticEvaluator({ delayMs: 20 }), { workerId: workerId('g') }).optimize({ wallclockMs: 300 });
    assert.equal(r3.reason, 'wallclock');
    assert.ok(Date.now() - t0 < 2000);
    const c3 = await store.countTrials(rec3.id);
    assert.equal(c3.running, 0);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a trial finished but not told (crash between the two) is told once by the next worker', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy(spec('i', 3));
    const s1 = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('i1') });
    const a = await s1.ask();
    assert.equal(a.kind, 'trial');
    if (a.kind === 'trial') await store.finishTrial(a.trial.id, workerId('i1'), { state: 'complete', metrics: { val_acc: 1 }, values: [1] });
    const s2 = new Study(store, rec, counterDriver(), syntheticEvaluator(), { workerId: workerId('i2') });
    assert.equal((await s2.optimize()).reason, 'complete');
    const st = (await store.loadStrategyState(rec.id)).state as { strategy: { told: Record<string, number> } };
    assert.deepEqual(st.strategy.told, { '0': 1, '1': 1, '2': 1 });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real strategy (random on NB201) through the adapter: unique keys, budget honoured', async () => {
  const { store, dir } = tmpStore();
  try {
    const rec = await store.createStudy({ ...spec('h', 15), strategy: { name: 'random', options: {} } });
    const driver = strategyDriver({ strategy: createStrategy('random'), space: nb201Space, objectives: rec.objectives, constraints: [] });
    const s = new Study(store, rec, driver, syntheticEvaluator(), { workerId: workerId('r'), decode: (a) => nb201Space.validate(a) });
    assert.equal((await s.optimize()).reason, 'complete');
    const trials = await store.listTrials(rec.id);
    assert.equal(trials.length, 15);
    assert.equal(new Set(trials.map((t) => t.archKey)).size, 15);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
