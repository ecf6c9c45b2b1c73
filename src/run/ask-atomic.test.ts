/**
 * ask() creates a trial and saves the strategy state that proposed it in one store transaction.
 * Each case wraps a real store so that something happens between "state saved" and "trial
 * created" in the old two-step order (a failed insert, another worker taking the last budget
 * slot, another worker asking); each fails against the two-step ask.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NasError } from '../core/errors.js';
import { workerId } from '../core/ids.js';
import { studySpec } from '../store/conformance.js';
import { SqliteStore } from '../store/sqlite.js';
import type { NewTrial, Store, StudyRecord } from '../store/types.js';
import type { StrategyDriver } from './driver.js';
import { Study } from './study.js';
import { syntheticEvaluator } from './synthetic.js';

/** Proposes x = 0, 1, 2... in order; the state is the next x. */
const sequence: StrategyDriver = {
  needsIntermediates: false,
  init: () => 0,
  ask: (next) => ({ state: (next as number) + 1, result: { kind: 'trial', proposal: { arch: { x: next }, archKey: null, budget: null, params: {} } } }),
  tell: (state) => state,
};

/** `inner`, except that createTrial runs `before` first (once per call). */
function interceptCreate(inner: Store, before: (id: StudyRecord['id'], t: NewTrial) => Promise<void>): Store {
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'createTrial') {
        return async (id: StudyRecord['id'], t: NewTrial) => {
          await before(id, t);
          return target.createTrial(id, t);
        };
      }
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function withStudy(maxTrials: number | null, fn: (store: Store, rec: StudyRecord) => Promise<void>): Promise<void> {
  const store = SqliteStore.open('sqlite::memory:', ':memory:');
  try {
    await fn(store, await store.createStudy(studySpec('atomic-ask', { maxTrials })));
  } finally {
    await store.close();
  }
}

const study = (store: Store, rec: StudyRecord, w: string) => new Study(store, rec, sequence, syntheticEvaluator(), { workerId: workerId(w) });

test('a trial insert that fails leaves the strategy state as it was', () =>
  withStudy(null, async (store, rec) => {
    assert.equal((await study(store, rec, 'w0').ask()).kind, 'trial');
    const before = await store.loadStrategyState(rec.id);
    const failing = interceptCreate(store, async () => {
      throw new NasError('storage_error', 'disk full (simulated)');
    });
    await assert.rejects(study(failing, rec, 'w1').ask(), /disk full/);
    assert.deepEqual(await store.loadStrategyState(rec.id), before, 'no state saved for a proposal without a trial');
    assert.equal((await store.countTrials(rec.id)).total, 1);
    // The proposal that failed is made again by the next ask: none is skipped.
    const next = await study(store, rec, 'w2').ask();
    assert.ok(next.kind === 'trial');
    assert.deepEqual(next.trial.arch, { x: 1 });
  }));

test('budget_exhausted between the count and the insert saves no state', () =>
  withStudy(1, async (store, rec) => {
    // Another worker takes the only slot after this worker counted the trials.
    const racing = interceptCreate(store, async (id) => {
      await store.createTrial(id, { arch: { x: 'other' }, archKey: null, budget: null, params: {}, maxTrials: 1 });
    });
    assert.deepEqual(await study(racing, rec, 'w1').ask(), { kind: 'done', reason: 'budget' });
    assert.deepEqual(await store.loadStrategyState(rec.id), { version: 0, state: null });
    assert.equal((await store.countTrials(rec.id)).total, 1);
  }));

test('a concurrent ask in between: conflict, retried; trial numbers follow the proposals', () =>
  withStudy(null, async (store, rec) => {
    let raced = false;
    const racing = interceptCreate(store, async () => {
      if (raced) return;
      raced = true;
      const other = await study(store, rec, 'w2').ask();
      assert.equal(other.kind, 'trial');
    });
    const mine = await study(racing, rec, 'w1').ask();
    assert.ok(mine.kind === 'trial');
    const trials = await store.listTrials(rec.id);
    assert.deepEqual(trials.map((t) => [t.number, t.arch, t.workerId]), [
      [0, { x: 0 }, 'w2'],
      [1, { x: 1 }, 'w1'],
    ]);
    const st = await store.loadStrategyState(rec.id);
    assert.equal(st.version, 2);
    assert.equal((st.state as { strategy: number }).strategy, 2);
  }));
