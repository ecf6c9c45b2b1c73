/**
 * The one test suite every Store backend must pass. A backend's test file calls
 * `storeConformance(target)`; each test opens a fresh, empty database from `target.newUrl()`.
 * Concurrency cases use several independent Store instances (separate connections) on one
 * database, the way several workers would.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isNasError, type ErrorCode, type NasError } from '../core/errors.js';
import { studyId, trialId, workerId, type StudyId, type TrialId } from '../core/ids.js';
import { openStore } from './index.js';
import { trialArchitecturesOf, trialArchKeysOf, trialColumnsOf, trialPointsOf } from './common.js';
import { LEASE_EXPIRIES_ATTR, SCHEMA_VERSION, leaseExpiriesOf, type FinishTrial, type ImportedTrial, type OpenStoreOptions, type Store, type StudySpec, type TrialRecord } from './types.js';

export interface ConformanceTarget {
  name: string;
  /** URL of a new, empty database. */
  newUrl(): Promise<string>;
  /** Runs raw SQL on the database at `url` (to fake a newer schema, etc.). */
  rawExec(url: string, sql: string): Promise<void>;
  /** SQL (for rawExec) that makes every later INSERT into `trials` fail, e.g. a trigger. */
  failTrialInsertsSql: string;
  /** The same for `schema_version` (a migration that breaks half-way), and the SQL that undoes it. */
  failSchemaInsertsSql: { install: string; remove: string };
  open?(url: string, opts?: OpenStoreOptions): Promise<Store>;
}

export function studySpec(name: string, over: Partial<StudySpec> = {}): StudySpec {
  return {
    name,
    strategy: { name: 'evolution', options: { population: 8 } },
    space: { name: 'nb201', definition: { kind: 'nb201' } },
    evaluator: { name: 'tabular', options: { dataset: 'cifar10' } },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [{ metric: 'params_m', max: 1 }],
    seed: 7,
    maxTrials: 50,
    config: { note: 'conformance' },
    ...over,
  };
}

/** Asserts that `p` rejects with a NasError of `code` (and, if given, `field`); returns it. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isNasError(e), `expected NasError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected code ${code}, got ${e.code}: ${e.message}`);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return e;
  }
  assert.fail(`expected a NasError ${code}, but it resolved`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A trial's user attributes without the claim's record of lapsed leases. */
const attrsBut = (t: TrialRecord) => Object.fromEntries(Object.entries(t.userAttrs).filter(([k]) => k !== LEASE_EXPIRIES_ATTR));
const W1 = workerId('w1');
const W2 = workerId('w2');
const trialInput = (i: number) => ({ arch: { ops: [i, i + 1] }, archKey: `k${i}`, budget: 1, params: { lr: 0.01 * (i + 1) } });

export function storeConformance(target: ConformanceTarget): void {
  const open = (url: string, opts?: OpenStoreOptions): Promise<Store> => (target.open ?? openStore)(url, opts);
  /** Opens a fresh database, runs `fn`, closes. */
  const withStore = async (fn: (s: Store, url: string) => Promise<void>): Promise<void> => {
    const url = await target.newUrl();
    const s = await open(url);
    try {
      await fn(s, url);
    } finally {
      await s.close();
    }
  };

  describe(`Store conformance: ${target.name}`, () => {
    // ------------------------------------------------------------ studies
    test('creates, finds, lists and deletes studies', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('alpha', { userAttrs: { owner: 'me' } }));
        const b = await s.createStudy(studySpec('beta', { maxTrials: null, objectives: [{ metric: 'val_loss', direction: 'minimize' }] }));
        assert.equal(a.name, 'alpha');
        assert.equal(a.state, 'running');
        assert.deepEqual(a.strategy, { name: 'evolution', options: { population: 8 } });
        assert.deepEqual(a.space, { name: 'nb201', definition: { kind: 'nb201' } });
        assert.deepEqual(a.constraints, [{ metric: 'params_m', max: 1 }]);
        assert.deepEqual(a.userAttrs, { owner: 'me' });
        assert.equal(a.seed, 7);
        assert.equal(a.maxTrials, 50);
        assert.equal(b.maxTrials, null);
        assert.ok(a.createdAt > 1.6e12 && a.createdAt <= Date.now() + 1000);
        assert.deepEqual(await s.getStudy(a.id), a);
        assert.deepEqual(await s.getStudy('beta'), b);
        assert.equal(await s.getStudy('gamma'), null);
        assert.equal(await s.getStudy(studyId(9999)), null);
        const e = await rejectsWith(s.requireStudy('gamma'), 'not_found', 'study');
        assert.match(e.message, /alpha, beta/);
        const list = await s.listStudies();
        assert.deepEqual(list.map((x) => x.name), ['alpha', 'beta']);
        assert.deepEqual(list[0]!.counts, { waiting: 0, running: 0, complete: 0, pruned: 0, failed: 0, total: 0 });
        assert.equal(list[0]!.best, null);
        await s.deleteStudy(a.id);
        assert.equal(await s.getStudy('alpha'), null);
        await rejectsWith(s.deleteStudy(a.id), 'not_found');
        assert.deepEqual((await s.listStudies()).map((x) => x.name), ['beta']);
      }));

    test('study names are unique; bad specs name the field', () =>
      withStore(async (s) => {
        await s.createStudy(studySpec('dup'));
        await rejectsWith(s.createStudy(studySpec('dup')), 'conflict', 'name');
        await rejectsWith(s.createStudy(studySpec('has space')), 'invalid_config', 'name');
        await rejectsWith(s.createStudy(studySpec('x', { objectives: [] })), 'invalid_config', 'objectives');
        await rejectsWith(
          s.createStudy(studySpec('x', { objectives: [{ metric: 'a', direction: 'up' as 'maximize' }] })),
          'invalid_config',
          'objectives[0].direction',
        );
        await rejectsWith(s.createStudy(studySpec('x', { maxTrials: 0 })), 'invalid_config', 'maxTrials');
        await rejectsWith(s.createStudy(studySpec('x', { seed: 1.5 })), 'invalid_config', 'seed');
        await rejectsWith(s.createStudy(studySpec('x', { config: { bad: Number.NaN } })), 'invalid_config', 'config.bad');
        assert.deepEqual((await s.listStudies()).map((x) => x.name), ['dup']);
      }));

    test('study state and attributes', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('st'));
        await s.setStudyState(a.id, 'finished');
        assert.equal((await s.getStudy(a.id))!.state, 'finished');
        await rejectsWith(s.setStudyState(a.id, 'bogus' as 'finished'), 'invalid_config', 'state');
        await rejectsWith(s.setStudyState(studyId(999), 'finished'), 'not_found');
        await s.setStudyAttr(a.id, 'winner', { path: '/tmp/w.bin' });
        await s.setStudyAttr(a.id, 'n', 3);
        await s.setStudyAttr(a.id, 'n', undefined);
        assert.deepEqual((await s.getStudy(a.id))!.userAttrs, { winner: { path: '/tmp/w.bin' } });
      }));

    // ------------------------------------------------------------ strategy state
    test('strategy state is compare-and-set on a version', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('cas'));
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 0, state: null });
        assert.equal(await s.saveStrategyState(a.id, 0, { pop: [1, 2], rng: [1, 2, 3, 4] }), 1);
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 1, state: { pop: [1, 2], rng: [1, 2, 3, 4] } });
        const e = await rejectsWith(s.saveStrategyState(a.id, 0, { pop: [] }), 'conflict');
        assert.match(e.message, /version 1, not 0/);
        assert.equal(await s.saveStrategyState(a.id, 1, { pop: [3] }), 2);
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 2, state: { pop: [3] } });
        await rejectsWith(s.saveStrategyState(a.id, 2, { pop: [{ fitness: Number.NaN }] }), 'invalid_config', 'strategyState.pop[0].fitness');
        assert.equal((await s.loadStrategyState(a.id)).version, 2, 'a refused state is not saved');
        await rejectsWith(s.loadStrategyState(studyId(999)), 'not_found');
        await rejectsWith(s.saveStrategyState(studyId(999), 0, null), 'not_found');
      }));

    test('concurrent strategy-state writers: every increment lands exactly once', async () => {
      const url = await target.newUrl();
      const stores = await Promise.all([0, 1, 2, 3].map(() => open(url)));
      try {
        const a = await stores[0]!.createStudy(studySpec('cas4'));
        await stores[0]!.saveStrategyState(a.id, 0, { n: 0 });
        let conflicts = 0;
        await Promise.all(
          stores.map(async (s) => {
            for (let done = 0; done < 10; ) {
              const cur = await s.loadStrategyState(a.id);
              await sleep(0); // let the others interleave between load and save
              try {
                await s.saveStrategyState(a.id, cur.version, { n: (cur.state as { n: number }).n + 1 });
                done++;
              } catch (e) {
                if (!isNasError(e, 'conflict')) throw e;
                conflicts++;
              }
            }
          }),
        );
        const fin = await stores[0]!.loadStrategyState(a.id);
        assert.deepEqual(fin, { version: 41, state: { n: 40 } });
        assert.ok(conflicts >= 0);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    test('a trial created with the strategy state: both are saved, or neither', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('atomic', { maxTrials: 2 }));
        const t0 = await s.createTrial(a.id, { ...trialInput(0), maxTrials: 2, strategyState: { expectedVersion: 0, state: { issued: 1 } } });
        assert.equal(t0.number, 0);
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 1, state: { issued: 1 } });
        // A stale version: conflict, and no trial (nor trial number) is used up.
        const e = await rejectsWith(s.createTrial(a.id, { ...trialInput(1), strategyState: { expectedVersion: 0, state: { issued: 99 } } }), 'conflict');
        assert.match(e.message, /version 1, not 0/);
        assert.equal((await s.countTrials(a.id)).total, 1);
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 1, state: { issued: 1 } });
        const t1 = await s.createTrial(a.id, { ...trialInput(1), claim: { workerId: W1, leaseMs: 60_000 }, strategyState: { expectedVersion: 1, state: { issued: 2 } } });
        assert.equal(t1.number, 1, 'the refused creation took no number');
        assert.equal(t1.state, 'running');
        // Budget exhausted: nothing created, the state is not saved.
        await rejectsWith(s.createTrial(a.id, { ...trialInput(2), maxTrials: 2, strategyState: { expectedVersion: 2, state: { issued: 3 } } }), 'budget_exhausted');
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 2, state: { issued: 2 } });
        assert.equal((await s.countTrials(a.id)).total, 2);
        // Bad input names the field and saves nothing.
        await rejectsWith(
          s.createTrial(a.id, { ...trialInput(2), strategyState: { expectedVersion: 2, state: { f: Number.NaN } } }),
          'invalid_config',
          'trial.strategyState.state.f',
        );
        await rejectsWith(s.createTrial(a.id, { ...trialInput(2), strategyState: { expectedVersion: -1, state: {} } }), 'invalid_config', 'trial.strategyState.expectedVersion');
        await rejectsWith(s.createTrial(studyId(999), { ...trialInput(2), strategyState: { expectedVersion: 0, state: {} } }), 'not_found');
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 2, state: { issued: 2 } });
        assert.equal((await s.countTrials(a.id)).total, 2);
      }));

    test('a trial insert that fails inside the transaction leaves the strategy state unsaved', () =>
      withStore(async (s, url) => {
        const a = await s.createStudy(studySpec('rollback'));
        await s.saveStrategyState(a.id, 0, { issued: 0 });
        await target.rawExec(url, target.failTrialInsertsSql);
        const e = await rejectsWith(s.createTrial(a.id, { ...trialInput(0), strategyState: { expectedVersion: 1, state: { issued: 1 } } }), 'storage_error');
        assert.match(e.message, /tsnas test: insert refused/);
        assert.deepEqual(await s.loadStrategyState(a.id), { version: 1, state: { issued: 0 } });
        assert.equal((await s.countTrials(a.id)).total, 0);
      }));

    test('concurrent askers on separate connections: one state version per trial, no lost proposal', async () => {
      const url = await target.newUrl();
      const stores = await Promise.all([0, 1, 2, 3].map(() => open(url)));
      try {
        const a = await stores[0]!.createStudy(studySpec('ask4', { maxTrials: 20 }));
        let budget = 0;
        await Promise.all(
          stores.map(async (s, w) => {
            for (;;) {
              const cur = await s.loadStrategyState(a.id);
              const issued = cur.state === null ? [] : (cur.state as { issued: number[] }).issued;
              await sleep(0); // let the others interleave between load and create
              try {
                const t = await s.createTrial(a.id, {
                  ...trialInput(100 * w + issued.length),
                  maxTrials: 20,
                  strategyState: { expectedVersion: cur.version, state: { issued: [...issued, 100 * w + issued.length] } },
                });
                assert.equal(t.number, issued.length, 'the trial number is the count of proposals the state issued before it');
              } catch (e) {
                if (isNasError(e, 'budget_exhausted')) {
                  budget++;
                  return;
                }
                if (!isNasError(e, 'conflict')) throw e;
              }
            }
          }),
        );
        const fin = await stores[0]!.loadStrategyState(a.id);
        const trials = await stores[0]!.listTrials(a.id);
        assert.equal(trials.length, 20);
        assert.equal(fin.version, 20);
        // Every trial is the proposal the saved state recorded for its number, and vice versa.
        assert.deepEqual((fin.state as { issued: number[] }).issued, trials.map((t) => (t.arch as { ops: number[] }).ops[0]));
        assert.equal(budget, 4);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    // ------------------------------------------------------------ trials
    test('trials get sequential numbers; claims take the oldest first', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('seq'));
        const ts = [];
        for (let i = 0; i < 3; i++) ts.push(await s.createTrial(a.id, trialInput(i)));
        assert.deepEqual(ts.map((t) => t.number), [0, 1, 2]);
        assert.equal(ts[0]!.state, 'waiting');
        assert.equal(ts[0]!.attempt, 0);
        assert.equal(ts[0]!.workerId, null);
        assert.deepEqual(ts[1]!.arch, { ops: [1, 2] });
        assert.equal(ts[1]!.archKey, 'k1');
        assert.deepEqual(ts[1]!.params, { lr: 0.02 });
        const c0 = await s.claimTrial(a.id, W1, 60_000);
        assert.ok(c0);
        assert.equal(c0.number, 0);
        assert.equal(c0.state, 'running');
        assert.equal(c0.workerId, W1);
        assert.equal(c0.attempt, 1);
        assert.ok(c0.leaseExpiresAt! >= Date.now() + 50_000);
        assert.ok(c0.startedAt !== null);
        assert.equal((await s.claimTrial(a.id, W2, 60_000))!.number, 1);
        assert.equal((await s.claimTrial(a.id, W1, 60_000))!.number, 2);
        assert.equal(await s.claimTrial(a.id, W1, 60_000), null, 'nothing left: running trials with live leases are not claimable');
        // Trials of another study are not visible to this one.
        const b = await s.createStudy(studySpec('other'));
        assert.equal((await s.createTrial(b.id, trialInput(9))).number, 0);
        assert.equal(await s.claimTrial(a.id, W1, 60_000), null);
        await rejectsWith(s.createTrial(studyId(999), trialInput(0)), 'not_found');
        await rejectsWith(s.claimTrial(a.id, W1, 0), 'invalid_config', 'leaseMs');
        await rejectsWith(s.createTrial(a.id, { ...trialInput(0), budget: Number.NaN }), 'invalid_config', 'trial.budget');
      }));

    test('a trial can be created already running for its worker', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('direct'));
        const t = await s.createTrial(a.id, { ...trialInput(0), claim: { workerId: W1, leaseMs: 60_000 } });
        assert.equal(t.state, 'running');
        assert.equal(t.workerId, W1);
        assert.equal(t.attempt, 1);
        assert.ok(t.leaseExpiresAt! > Date.now());
        assert.equal(await s.claimTrial(a.id, W2, 1000), null);
        const f = await s.finishTrial(t.id, W1, { state: 'complete', metrics: { val_acc: 91.5 }, values: [91.5], durationMs: 12 });
        assert.equal(f.state, 'complete');
        assert.equal(f.durationMs, 12);
      }));

    test('the trial budget guard is atomic and ignores failed trials', async () => {
      const url = await target.newUrl();
      const stores = await Promise.all([0, 1, 2].map(() => open(url)));
      try {
        const a = await stores[0]!.createStudy(studySpec('budget'));
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => stores[i % 3]!.createTrial(a.id, { ...trialInput(i), maxTrials: 5 })),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
        for (const r of results) if (r.status === 'rejected') assert.ok(isNasError(r.reason, 'budget_exhausted'), String(r.reason));
        const t = (await stores[0]!.claimTrial(a.id, W1, 60_000))!;
        await stores[0]!.finishTrial(t.id, W1, { state: 'failed', error: 'out of memory' });
        const extra = await stores[1]!.createTrial(a.id, { ...trialInput(99), maxTrials: 5 });
        assert.equal(extra.number, 5, 'numbers stay sequential although refused creations happened');
        await rejectsWith(stores[2]!.createTrial(a.id, { ...trialInput(100), maxTrials: 5 }), 'budget_exhausted');
        assert.equal((await stores[0]!.countTrials(a.id)).total, 6);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    test('finishing: once, by the lease holder only', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('finish'));
        await s.createTrial(a.id, trialInput(0));
        const t = (await s.claimTrial(a.id, W1, 60_000))!;
        await rejectsWith(s.finishTrial(t.id, W2, { state: 'complete', values: [1] }), 'conflict');
        await rejectsWith(s.finishTrial(t.id, W1, { state: 'waiting' as 'complete' }), 'invalid_config', 'result.state');
        await rejectsWith(s.finishTrial(t.id, W1, { state: 'complete', metrics: { a: 'x' as unknown as number } }), 'invalid_config', 'result.metrics.a');
        const f = await s.finishTrial(t.id, W1, {
          state: 'complete', metrics: { val_acc: 93.1, train_loss: Number.POSITIVE_INFINITY, x: Number.NaN }, values: [93.1], durationMs: 1500,
        });
        assert.equal(f.state, 'complete');
        assert.deepEqual(f.values, [93.1]);
        assert.equal(f.metrics!.train_loss, Number.POSITIVE_INFINITY);
        assert.ok(Number.isNaN(f.metrics!.x));
        assert.equal(f.leaseExpiresAt, null);
        assert.ok(f.finishedAt! >= f.startedAt!);
        const e = await rejectsWith(s.finishTrial(t.id, W1, { state: 'complete', values: [99] }), 'conflict');
        assert.match(e.message, /complete, not running/);
        assert.deepEqual((await s.getTrial(t.id))!.values, [93.1], 'the second finish changed nothing');
        await rejectsWith(s.finishTrial(trialId(9999), W1, { state: 'failed' }), 'not_found');
        await rejectsWith(s.heartbeat(t.id, W1, 1000), 'conflict');
        await rejectsWith(s.reportIntermediate(t.id, W1, 5, { a: 1 }), 'conflict');
        await rejectsWith(s.releaseTrial(t.id, W1), 'conflict');
        // A finished trial is never claimed again.
        assert.equal(await s.claimTrial(a.id, W2, 1), null);
      }));

    test('an expired lease is taken over; the stale worker is refused', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('lease'));
        await s.createTrial(a.id, trialInput(0));
        // Leases of seconds, not milliseconds: the live-lease check must not depend on a loaded
        // machine answering within a tenth of a second (it did not, under load 16).
        const t1 = (await s.claimTrial(a.id, W1, 2000))!;
        await s.reportIntermediate(t1.id, W1, 0, { val_acc: 40 });
        assert.equal(await s.claimTrial(a.id, W2, 60_000), null, 'live lease: not claimable');
        await sleep(2100);
        const t2 = (await s.claimTrial(a.id, W2, 60_000))!;
        assert.ok(t2, 'expired lease: claimable');
        assert.equal(t2.id, t1.id);
        assert.equal(t2.attempt, 2);
        assert.equal(t2.workerId, W2);
        assert.deepEqual(await s.getIntermediates(t1.id), [], 'the lost attempt\'s intermediate values are dropped');
        const e = await rejectsWith(s.heartbeat(t1.id, W1, 60_000), 'conflict');
        assert.match(e.message, /lost the lease/);
        await rejectsWith(s.reportIntermediate(t1.id, W1, 1, { val_acc: 50 }), 'conflict');
        await rejectsWith(s.finishTrial(t1.id, W1, { state: 'complete', values: [50] }), 'conflict');
        await s.reportIntermediate(t2.id, W2, 0, { val_acc: 45 });
        const f = await s.finishTrial(t2.id, W2, { state: 'complete', values: [60] });
        assert.equal(f.attempt, 2);
        assert.deepEqual((await s.countTrials(a.id)), { waiting: 0, running: 0, complete: 1, pruned: 0, failed: 0, total: 1 });
      }));

    test('fencing by attempt: an older attempt is refused even when the same worker id claimed the trial again', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('fence'));
        await s.createTrial(a.id, trialInput(0));
        // Attempt 1 by W1 (say a pod that was cut off); its lease lapses and W1's restarted
        // process (same id: a stable pod name) claims the trial again as attempt 2.
        const t1 = (await s.claimTrial(a.id, W1, 100))!;
        assert.equal(t1.attempt, 1);
        await s.heartbeat(t1.id, W1, 100, 1);
        await s.reportIntermediate(t1.id, W1, 0, { val_acc: 40 }, 1);
        await sleep(200);
        const t2 = (await s.claimTrial(a.id, W1, 60_000))!;
        assert.equal(t2.id, t1.id);
        assert.equal(t2.attempt, 2);
        assert.equal(t2.workerId, W1);
        // Without the token, ownership is by worker id alone: the old process would pass.
        const hb = await rejectsWith(s.heartbeat(t1.id, W1, 60_000, 1), 'conflict');
        assert.match(hb.message, /attempt 1 of trial \d+ by worker .* is stale: the trial is at attempt 2/);
        assert.equal((hb as { details?: Record<string, unknown> }).details?.['currentAttempt'], 2);
        await rejectsWith(s.reportIntermediate(t1.id, W1, 1, { val_acc: 50 }, 1), 'conflict');
        await rejectsWith(s.releaseTrial(t1.id, W1, 1), 'conflict');
        await rejectsWith(s.finishTrial(t1.id, W1, { state: 'complete', values: [50] }, 1), 'conflict');
        assert.equal((await s.getTrial(t1.id))!.state, 'running', 'the stale finish changed nothing');
        assert.deepEqual(await s.getIntermediates(t1.id), [], 'nothing of attempt 1 remains');
        await rejectsWith(s.heartbeat(t1.id, W1, 1000, 0), 'invalid_config', 'attempt');
        await rejectsWith(s.finishTrial(t1.id, W1, { state: 'complete', values: [1] }, 1.5), 'invalid_config', 'attempt');
        // The current attempt goes through, once.
        await s.heartbeat(t2.id, W1, 60_000, 2);
        await s.reportIntermediate(t2.id, W1, 0, { val_acc: 45 }, 2);
        const f = await s.finishTrial(t2.id, W1, { state: 'complete', values: [60] }, 2);
        assert.equal(f.attempt, 2);
        assert.deepEqual(f.values, [60]);
        const again = await rejectsWith(s.finishTrial(t1.id, W1, { state: 'complete', values: [50] }, 1), 'conflict');
        assert.match(again.message, /stale: the trial is at attempt 2 \(complete/);
        assert.deepEqual(await s.countTrials(a.id), { waiting: 0, running: 0, complete: 1, pruned: 0, failed: 0, total: 1 });
        // A released trial's next claim is a new attempt too: the releaser's token no longer works.
        await s.createTrial(a.id, trialInput(1));
        const r1 = (await s.claimTrial(a.id, W2, 60_000))!;
        await s.releaseTrial(r1.id, W2, r1.attempt);
        const r2 = (await s.claimTrial(a.id, W2, 60_000))!;
        assert.equal(r2.attempt, r1.attempt + 1);
        await rejectsWith(s.finishTrial(r1.id, W2, { state: 'complete', values: [1] }, r1.attempt), 'conflict');
        await s.finishTrial(r2.id, W2, { state: 'complete', values: [2] }, r2.attempt);
      }));

    test('fenced attribute writes: a taken-over, released or foreign attempt writes nothing; the finishing attempt and unfenced (user) writes go through', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('fence-attrs'));
        await s.createTrial(a.id, trialInput(0));
        const t1 = (await s.claimTrial(a.id, W1, 100))!;
        const w1 = { workerId: W1, attempt: t1.attempt };
        // While it holds the trial (and after its lease lapsed, while nobody took it over).
        await s.setTrialAttr(t1.id, 'alpha', { epoch: 0 }, w1);
        await sleep(200);
        await s.setTrialAttr(t1.id, 'alpha', { epoch: 1 }, w1);
        assert.deepEqual((await s.getTrial(t1.id))!.userAttrs['alpha'], { epoch: 1 });
        // Taken over by the same worker id (a restarted pod): the old attempt writes nothing.
        const t2 = (await s.claimTrial(a.id, W1, 60_000))!;
        assert.equal(t2.attempt, t1.attempt + 1);
        const e = await rejectsWith(s.setTrialAttr(t1.id, 'derived_arch', { ops: ['stale'] }, w1), 'conflict');
        assert.match(e.message, /setTrialAttr\("derived_arch"\): attempt 1 of trial \d+ by worker w1 is stale: the trial is at attempt 2/);
        await rejectsWith(s.setTrialAttr(t1.id, 'alpha', undefined, w1), 'conflict');
        await rejectsWith(s.setTrialAttr(t1.id, 'x', 1, { workerId: W2, attempt: t2.attempt }), 'conflict');
        assert.deepEqual(attrsBut((await s.getTrial(t1.id))!), { alpha: { epoch: 1 } }, 'nothing of the refused writes');
        assert.deepEqual(leaseExpiriesOf(t2).map((x) => [x.attempt, x.worker]), [[1, 'w1']], 'the take-over is recorded by the claim');
        // The current attempt writes, finishes, and may still annotate what it finished.
        const w2 = { workerId: W1, attempt: t2.attempt };
        await s.setTrialAttr(t2.id, 'derived_arch', { ops: ['rerun'] }, w2);
        await s.finishTrial(t2.id, W1, { state: 'complete', values: [1] }, t2.attempt);
        await s.setTrialAttr(t2.id, 'weights_path', '/w/t0-a2.sd', w2);
        await rejectsWith(s.setTrialAttr(t2.id, 'weights_path', '/w/t0-a1.sd', w1), 'conflict');
        assert.deepEqual(attrsBut((await s.getTrial(t2.id))!), { alpha: { epoch: 1 }, derived_arch: { ops: ['rerun'] }, weights_path: '/w/t0-a2.sd' });
        // A user (no writer) annotates any trial in any state.
        await s.setTrialAttr(t2.id, 'note', 'checked by hand');
        await s.setTrialAttr(t2.id, 'alpha', undefined);
        assert.deepEqual(Object.keys((await s.getTrial(t2.id))!.userAttrs).sort(), ['derived_arch', LEASE_EXPIRIES_ATTR, 'note', 'weights_path']);
        // A given-back trial: its releaser's writer is refused until it claims the trial again.
        await s.createTrial(a.id, trialInput(1));
        const r1 = (await s.claimTrial(a.id, W2, 60_000))!;
        await s.releaseTrial(r1.id, W2, r1.attempt);
        const rel = await rejectsWith(s.setTrialAttr(r1.id, 'alpha', 1, { workerId: W2, attempt: r1.attempt }), 'conflict');
        assert.match(rel.message, /is waiting, not running/);
        await s.setTrialAttr(r1.id, 'user_tag', 'waiting trials take user attributes');
        // Bad writers and missing trials.
        await rejectsWith(s.setTrialAttr(r1.id, 'alpha', 1, { workerId: W2, attempt: 0 }), 'invalid_config', 'attempt');
        await rejectsWith(s.setTrialAttr(r1.id, 'alpha', 1, { workerId: workerId(''), attempt: 1 }), 'invalid_config', 'writer.workerId');
        await rejectsWith(s.setTrialAttr(trialId(99_999), 'alpha', 1, w2), 'not_found');
      }));

    test('a claim that takes over an expired lease records the lost attempt in lease_expiries (a given-back trial records none), keeping other attributes, \\u0000 included', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('expiries'));
        const t0 = await s.createTrial(a.id, { ...trialInput(0), userAttrs: { origin: 'mutation' } });
        // A lease meant to lapse (100 ms) and one meant to hold (60 s).
        const c1 = (await s.claimTrial(a.id, W1, 100))!;
        assert.equal(c1.id, t0.id);
        assert.deepEqual(leaseExpiriesOf(c1), [], 'a first claim records nothing');
        await sleep(300);
        const c2 = (await s.claimTrial(a.id, W2, 60_000))!;
        assert.equal(c2.attempt, 2);
        const e2 = leaseExpiriesOf(c2);
        assert.deepEqual(e2.map((x) => [x.attempt, x.worker]), [[1, 'w1']]);
        assert.equal(e2[0]!.expiredAt, c1.leaseExpiresAt, 'expired_at is the lost lease\'s end');
        assert.deepEqual(await s.getTrial(c2.id), c2, 'the claim returns what it stored');
        assert.equal(c2.userAttrs['origin'], 'mutation');
        // Given back, then claimed: no lease expired, nothing recorded.
        await s.releaseTrial(c2.id, W2, c2.attempt);
        const c3 = (await s.claimTrial(a.id, W1, 100))!;
        assert.equal(c3.attempt, 3);
        assert.equal(leaseExpiriesOf(c3).length, 1);
        await sleep(300);
        const c4 = (await s.claimTrial(a.id, W2, 60_000))!;
        assert.deepEqual(leaseExpiriesOf(c4).map((x) => [x.attempt, x.worker]), [[1, 'w1'], [3, 'w1']]);
        await s.finishTrial(c4.id, W2, { state: 'complete', values: [1] }, c4.attempt);
        // Attributes JSON cannot store as jsonb (an escaped NUL) and a lease_expiries that is not a list.
        const t1 = await s.createTrial(a.id, { ...trialInput(1), userAttrs: { tag: 'a\u0000b', [LEASE_EXPIRIES_ATTR]: 'overwritten by a user' } });
        const d1 = (await s.claimTrial(a.id, W1, 100))!;
        assert.equal(d1.id, t1.id);
        await sleep(300);
        const d2 = (await s.claimTrial(a.id, W2, 60_000))!;
        assert.equal(d2.id, t1.id);
        assert.deepEqual(leaseExpiriesOf(d2).map((x) => [x.attempt, x.worker]), [[1, 'w1']]);
        assert.deepEqual(await s.getTrial(d2.id), d2);
        assert.equal(d2.userAttrs['tag'], 'a\u0000b');
      }));

    test('heartbeats keep a lease alive; a lapsed lease nobody took is still renewable', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('hb'));
        await s.createTrial(a.id, trialInput(0));
        // Margins of about a second between a renewal and its deadline (a loaded machine).
        const t = (await s.claimTrial(a.id, W1, 1500))!;
        for (let i = 0; i < 3; i++) {
          await sleep(600);
          await s.heartbeat(t.id, W1, 1500);
        }
        assert.equal(await s.claimTrial(a.id, W2, 1000), null, 'renewed 3 times past the first deadline: still held');
        const r = (await s.getTrial(t.id))!;
        assert.ok(r.leaseExpiresAt! > t.leaseExpiresAt!);
        assert.ok(r.heartbeatAt! >= t.heartbeatAt!);
        await sleep(1600);
        await s.heartbeat(t.id, W1, 60_000);
        assert.equal(await s.claimTrial(a.id, W2, 1000), null);
        // Finishing after a lapse nobody exploited is accepted too: the work is done, nobody redid it.
        await s.createTrial(a.id, trialInput(1));
        const u = (await s.claimTrial(a.id, W1, 50))!;
        await sleep(120);
        assert.equal((await s.finishTrial(u.id, W1, { state: 'complete', values: [1] })).state, 'complete');
        await rejectsWith(s.heartbeat(t.id, W2, 1000), 'conflict');
        await rejectsWith(s.heartbeat(trialId(9999), W1, 1000), 'not_found');
        await rejectsWith(s.heartbeat(t.id, W1, -5), 'invalid_config', 'leaseMs');
      }));

    test('released trials go back to waiting', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('release'));
        await s.createTrial(a.id, trialInput(0));
        const t = (await s.claimTrial(a.id, W1, 60_000))!;
        await rejectsWith(s.releaseTrial(t.id, W2), 'conflict');
        await s.releaseTrial(t.id, W1);
        const r = (await s.getTrial(t.id))!;
        assert.equal(r.state, 'waiting');
        assert.equal(r.leaseExpiresAt, null);
        const again = (await s.claimTrial(a.id, W2, 60_000))!;
        assert.equal(again.id, t.id);
        assert.equal(again.attempt, 2);
      }));

    test('intermediate values: idempotent per step, ordered, per study', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('inter'));
        await s.createTrial(a.id, trialInput(0));
        await s.createTrial(a.id, trialInput(1));
        const t0 = (await s.claimTrial(a.id, W1, 60_000))!;
        const t1 = (await s.claimTrial(a.id, W2, 60_000))!;
        await s.reportIntermediate(t0.id, W1, 1, { val_acc: 50 });
        await s.reportIntermediate(t0.id, W1, 0, { val_acc: 30, loss: Number.NaN });
        await s.reportIntermediate(t0.id, W1, 1, { val_acc: 55 });
        await s.reportIntermediate(t1.id, W2, 0, { val_acc: 20 });
        const iv = await s.getIntermediates(t0.id);
        assert.deepEqual(iv.map((x) => [x.step, x.metrics.val_acc]), [[0, 30], [1, 55]]);
        assert.ok(Number.isNaN(iv[0]!.metrics.loss));
        assert.equal(iv[0]!.trialId, t0.id);
        const all = await s.listIntermediates(a.id);
        assert.deepEqual(all.map((x) => [x.trialId, x.step]), [[t0.id, 0], [t0.id, 1], [t1.id, 0]]);
        await rejectsWith(s.reportIntermediate(t0.id, W1, -1, { a: 1 }), 'invalid_config', 'step');
        await rejectsWith(s.reportIntermediate(t0.id, W1, 2, { a: '1' as unknown as number }), 'invalid_config', 'metrics.a');
        await rejectsWith(s.reportIntermediate(t0.id, W2, 2, { a: 1 }), 'conflict');
        await rejectsWith(s.reportIntermediate(trialId(9999), W1, 2, { a: 1 }), 'not_found');
      }));

    test('listing, counting and the best trial', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('list', { objectives: [{ metric: 'val_acc', direction: 'maximize' }, { metric: 'latency_ms', direction: 'minimize' }] }));
        const outcomes: [string, number[] | null][] = [
          ['complete', [80, 5]], ['complete', [92, 9]], ['pruned', [95, 1]], ['failed', null], ['complete', [88, 2]],
          ['complete', [Number.NaN, 0.5]], ['running', null], ['waiting', null],
        ];
        for (let i = 0; i < outcomes.length; i++) await s.createTrial(a.id, { ...trialInput(i), archKey: i % 2 ? 'odd' : 'even' });
        for (const [state, values] of outcomes) {
          if (state === 'waiting') break;
          const t = (await s.claimTrial(a.id, W1, 60_000))!;
          if (state !== 'running') await s.finishTrial(t.id, W1, { state: state as 'complete', values, error: state === 'failed' ? 'diverged' : null });
        }
        assert.deepEqual(await s.countTrials(a.id), { waiting: 1, running: 1, complete: 4, pruned: 1, failed: 1, total: 8 });
        const best = (await s.bestTrial(a.id))!;
        assert.equal(best.number, 1, 'the pruned 95 does not count; NaN never wins');
        assert.equal((await s.bestTrial(a.id, 1))!.number, 5, 'objective 1 minimizes latency over complete trials');
        await rejectsWith(s.bestTrial(a.id, 2), 'invalid_config', 'objective');
        const summary = (await s.listStudies())[0]!;
        assert.deepEqual(summary.best, { trialId: best.id, number: 1, value: 92 });
        assert.equal(summary.counts.total, 8);
        assert.deepEqual((await s.listTrials(a.id)).map((t) => t.number), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert.deepEqual((await s.listTrials(a.id, { desc: true, limit: 3 })).map((t) => t.number), [7, 6, 5]);
        assert.deepEqual((await s.listTrials(a.id, { limit: 2, offset: 3 })).map((t) => t.number), [3, 4]);
        assert.deepEqual((await s.listTrials(a.id, { states: ['complete'], orderBy: 'value', desc: true })).map((t) => t.number), [1, 4, 0, 5]);
        assert.deepEqual((await s.listTrials(a.id, { states: ['complete', 'pruned'], orderBy: 'value' })).map((t) => t.number), [0, 4, 1, 2, 5]);
        assert.deepEqual((await s.listTrials(a.id, { states: ['failed', 'waiting'] })).map((t) => [t.number, t.state, t.error]), [
          [3, 'failed', 'diverged'], [7, 'waiting', null],
        ]);
        assert.deepEqual((await s.listTrials(a.id, { archKey: 'odd', states: ['complete'] })).map((t) => t.number), [1, 5]);
        assert.deepEqual(await s.listTrials(a.id, { states: [] }), []);
        await rejectsWith(s.listTrials(a.id, { states: ['done' as 'complete'] }), 'invalid_config', 'states');
        assert.equal((await s.getTrialByNumber(a.id, 4))!.values![0], 88);
        assert.equal(await s.getTrialByNumber(a.id, 40), null);
        assert.equal(await s.getTrial(trialId(9999)), null);
        const empty = await s.createStudy(studySpec('empty'));
        assert.equal(await s.bestTrial(empty.id), null);
        // multi-fidelity: a high value at a low budget does not beat the top rung; null = full budget
        const mf = await s.createStudy(studySpec('mf', { objectives: [{ metric: 'val_acc', direction: 'maximize' }, { metric: 'latency_ms', direction: 'minimize' }] }));
        const rungs: [number | null, number[]][] = [[1, [99, 1]], [3, [90, 4]], [3, [91, 5]], [1, [50, 0.1]]];
        for (const [budget, values] of rungs) {
          await s.createTrial(mf.id, { ...trialInput(0), budget });
          const t = (await s.claimTrial(mf.id, W1, 60_000))!;
          await s.finishTrial(t.id, W1, { state: 'complete', values });
        }
        assert.equal((await s.bestTrial(mf.id))!.number, 2, 'best val_acc among budget-3 trials');
        assert.equal((await s.bestTrial(mf.id, 1))!.number, 1, 'best latency among budget-3 trials');
        assert.deepEqual((await s.listStudies()).find((x) => x.name === 'mf')!.best, { trialId: (await s.getTrialByNumber(mf.id, 2))!.id, number: 2, value: 91 });
        await s.createTrial(mf.id, { ...trialInput(0), budget: null });
        const full = (await s.claimTrial(mf.id, W1, 60_000))!;
        await s.finishTrial(full.id, W1, { state: 'complete', values: [60, 9] });
        assert.equal((await s.bestTrial(mf.id))!.number, 4, 'a full-budget (null) trial ranks above numeric budgets');
        await s.createTrial(mf.id, { ...trialInput(0), budget: null });
        const full2 = (await s.claimTrial(mf.id, W1, 60_000))!;
        await s.finishTrial(full2.id, W1, { state: 'complete', values: [55, 2] });
        assert.equal((await s.bestTrial(mf.id))!.number, 4, 'among null budgets, by value');
        assert.equal((await s.bestTrial(mf.id, 1))!.number, 5, 'among null budgets, by value (objective 1)');
        await rejectsWith(s.bestTrial(studyId(999)), 'not_found');
      }));

    test('the best trial is feasible: a trial whose recorded metrics violate a constraint never wins (issue 17.2)', () =>
      withStore(async (s) => {
        const spec = studySpec('constrained', {
          objectives: [{ metric: 'val_acc', direction: 'maximize' }, { metric: 'latency_ms', direction: 'minimize' }],
          constraints: [{ metric: 'latency_ms', max: 3 }, { metric: 'params', min: 10 }],
        });
        const a = await s.createStudy(spec);
        // val_acc, latency_ms, params: #0 feasible, #1 best but too slow, #2 too small, #3 lacks the
        // latency metric (not judged, like strategies do), #4 NaN latency (violates)
        const rows: [number, number | undefined, number][] = [[80, 2, 50], [95, 9, 50], [93, 1, 5], [85, undefined, 20], [99, Number.NaN, 20]];
        for (let i = 0; i < rows.length; i++) {
          await s.createTrial(a.id, trialInput(i));
          const t = (await s.claimTrial(a.id, W1, 60_000))!;
          const [acc, lat, params] = rows[i]!;
          await s.finishTrial(t.id, W1, { state: 'complete', values: [acc, lat ?? 4], metrics: { val_acc: acc, params, ...(lat === undefined ? {} : { latency_ms: lat }) } });
        }
        assert.equal((await s.bestTrial(a.id))!.number, 3, 'best feasible val_acc (85): not 99 (NaN latency), 95 (latency 9) nor 93 (params 5)');
        assert.equal((await s.bestTrial(a.id, 1))!.number, 0, 'objective 1 among feasible trials');
        assert.equal((await s.listStudies()).find((x) => x.name === 'constrained')!.best!.number, 3, 'the study list agrees');
        const none = await s.createStudy(studySpec('infeasible', { constraints: [{ metric: 'latency_ms', max: 1e-6 }] }));
        await s.createTrial(none.id, trialInput(0));
        const t = (await s.claimTrial(none.id, W1, 60_000))!;
        await s.finishTrial(t.id, W1, { state: 'complete', values: [90], metrics: { val_acc: 90, latency_ms: 0.4 } });
        assert.equal(await s.bestTrial(none.id), null, 'no feasible trial: no best');
        assert.equal((await s.listStudies()).find((x) => x.name === 'infeasible')!.best, null);
      }));

    test('pageTrials: filtered, sorted pages and the filtered count, nulls last', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('page'));
        // number: state, val_acc, metrics
        const plan: [string, number | null, Record<string, number>][] = [
          ['complete', 80, { val_acc: 80, latency_ms: 5 }], ['complete', 92, { val_acc: 92, latency_ms: 9 }],
          ['failed', null, { val_loss: Number.NaN }], ['complete', 88, { val_acc: 88, latency_ms: 2, params: 1e6 }],
          ['pruned', 60, { val_acc: 60 }], ['complete', 70, { val_acc: 70, latency_ms: Number.POSITIVE_INFINITY }], ['waiting', null, {}],
        ];
        for (let i = 0; i < plan.length; i++) {
          await s.createTrial(a.id, { arch: { ops: [i % 2 ? 'nor_conv_3x3' : 'skip_connect', 'none'] }, archKey: `K${i}`, budget: null, params: {} });
        }
        for (const [state, v, metrics] of plan) {
          if (state === 'waiting') break;
          const t = (await s.claimTrial(a.id, W1, 60_000))!;
          await s.finishTrial(t.id, W1, { state: state as 'complete', values: v === null ? null : [v], metrics, durationMs: 100 - t.number });
        }
        const nums = (r: { trials: { number: number }[] }): number[] => r.trials.map((t) => t.number);
        const all = await s.pageTrials(a.id, {});
        assert.equal(all.total, 7);
        assert.deepEqual(nums(all), [0, 1, 2, 3, 4, 5, 6]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { limit: 2, offset: 2 })), [2, 3]);
        const past = await s.pageTrials(a.id, { offset: 50 });
        assert.deepEqual([past.total, past.trials.length], [7, 0], 'the count survives a page past the end');
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'number', desc: true, limit: 3 })), [6, 5, 4]);
        // value: nulls (failed, waiting) last in both directions
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'value', desc: true })), [1, 3, 0, 5, 4, 2, 6]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'value' })), [4, 5, 0, 3, 1, 2, 6]);
        // metric: non-finite and missing values count as absent
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'metric', metric: 'latency_ms' })), [3, 0, 1, 2, 4, 5, 6]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'metric', metric: 'latency_ms', desc: true, limit: 2 })), [1, 0]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'metric', metric: 'params' })), [3, 0, 1, 2, 4, 5, 6]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'duration', states: ['complete'] })), [5, 3, 1, 0]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'started', desc: true })).slice(-1), [6], 'never started: last');
        assert.deepEqual(nums(await s.pageTrials(a.id, { sortBy: 'state' })), [0, 1, 3, 5, 2, 4, 6]);
        // filters: states and a case-insensitive substring of arch / params / arch key
        const f = await s.pageTrials(a.id, { states: ['complete', 'pruned'], text: 'NOR_CONV', sortBy: 'value', desc: true, limit: 1 });
        assert.deepEqual([f.total, nums(f)], [3, [1]]);
        assert.deepEqual(nums(await s.pageTrials(a.id, { text: 'k4' })), [4]);
        assert.deepEqual(await s.pageTrials(a.id, { states: [] }), { total: 0, trials: [] });
        assert.equal((await s.pageTrials(studyId(999), {})).total, 0);
        await rejectsWith(s.pageTrials(a.id, { sortBy: 'bogus' as 'value' }), 'invalid_config', 'sortBy');
        await rejectsWith(s.pageTrials(a.id, { sortBy: 'metric' }), 'invalid_config', 'metric');
        await rejectsWith(s.pageTrials(a.id, { sortBy: 'metric', metric: 'a"b' }), 'invalid_config', 'metric');
        await rejectsWith(s.pageTrials(a.id, { limit: 0 }), 'invalid_config', 'limit');
        await rejectsWith(s.pageTrials(a.id, { offset: -1 }), 'invalid_config', 'offset');
        await rejectsWith(s.pageTrials(a.id, { states: ['x' as 'complete'] }), 'invalid_config', 'states');
      }));

    test('listStudyCounts: every study with its counts by state, no best trial', () =>
      withStore(async (s) => {
        assert.deepEqual(await s.listStudyCounts(), []);
        const a = await s.createStudy(studySpec('counts-a'));
        const b = await s.createStudy(studySpec('counts-b'));
        for (let i = 0; i < 3; i++) await s.createTrial(a.id, trialInput(i));
        const t = (await s.claimTrial(a.id, W1, 60_000))!;
        await s.finishTrial(t.id, W1, { state: 'complete', values: [1] });
        await s.claimTrial(a.id, W1, 60_000);
        const list = await s.listStudyCounts();
        assert.deepEqual(list.map((x) => x.name), ['counts-a', 'counts-b']);
        assert.deepEqual(list[0]!.counts, { waiting: 1, running: 1, complete: 1, pruned: 0, failed: 0, total: 3 });
        assert.deepEqual(list[1]!.counts, { waiting: 0, running: 0, complete: 0, pruned: 0, failed: 0, total: 0 });
        assert.deepEqual({ ...list[0]!, counts: undefined }, { ...(await s.getStudy(a.id))!, counts: undefined });
        assert.equal(list[1]!.id, b.id);
      }));

    test('trial attributes', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('attrs'));
        const t = await s.createTrial(a.id, { ...trialInput(0), userAttrs: { origin: 'mutation' } });
        await s.setTrialAttr(t.id, 'weights', '/runs/w0.bin');
        await s.setTrialAttr(t.id, 'origin', undefined);
        assert.deepEqual((await s.getTrial(t.id))!.userAttrs, { weights: '/runs/w0.bin' });
        await rejectsWith(s.setTrialAttr(trialId(9999), 'a', 1), 'not_found');
        await rejectsWith(s.setTrialAttr(t.id, '', 1), 'invalid_config', 'key');
      }));

    test('deleting a study deletes its trials and values', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('del'));
        await s.createTrial(a.id, trialInput(0));
        const t = (await s.claimTrial(a.id, W1, 60_000))!;
        await s.reportIntermediate(t.id, W1, 0, { a: 1 });
        await s.deleteStudy(a.id);
        assert.equal(await s.getTrial(t.id), null);
        await rejectsWith(s.claimTrial(a.id, W1, 1000), 'not_found');
        await rejectsWith(s.finishTrial(t.id, W1, { state: 'complete' }), 'not_found');
        assert.deepEqual(await s.getIntermediates(t.id), []);
        // The name is free again.
        const b = await s.createStudy(studySpec('del'));
        assert.notEqual(b.id, a.id);
      }));

    test('workers registry', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('workers'));
        await s.registerWorker({ id: W1, studyId: a.id, host: 'h1', pid: 11, info: { cores: 2 } });
        await s.registerWorker({ id: W2, studyId: null, host: 'h2', pid: 22 });
        const ws = await s.listWorkers();
        assert.deepEqual(ws.map((w) => [w.id, w.host, w.pid, w.state, w.studyId]), [[W1, 'h1', 11, 'active', a.id], [W2, 'h2', 22, 'active', null]]);
        assert.deepEqual(ws[0]!.info, { cores: 2 });
        assert.deepEqual((await s.listWorkers(a.id)).map((w) => w.id), [W1]);
        const seen = ws[0]!.lastSeenAt;
        await sleep(20);
        await s.createTrial(a.id, trialInput(0));
        const t = (await s.claimTrial(a.id, W1, 60_000))!;
        await s.heartbeat(t.id, W1, 60_000);
        assert.ok((await s.listWorkers(a.id))[0]!.lastSeenAt > seen, 'heartbeats touch the worker');
        await s.touchWorker(W2);
        await s.stopWorker(W2);
        assert.equal((await s.listWorkers()).find((w) => w.id === W2)!.state, 'stopped');
        await rejectsWith(s.touchWorker(workerId('nobody')), 'not_found');
        await rejectsWith(s.registerWorker({ id: W1, studyId: null, host: '', pid: 1 }), 'invalid_config', 'worker.host');
      }));

    // ------------------------------------------------------------ concurrency
    test('4 concurrent claimers on separate connections never share a trial', async () => {
      const url = await target.newUrl();
      const stores = await Promise.all([0, 1, 2, 3].map(() => open(url)));
      try {
        const a = await stores[0]!.createStudy(studySpec('claims'));
        // Trials are created concurrently too: numbers must still be unique and gap-free.
        const created = await Promise.all(Array.from({ length: 60 }, (_, i) => stores[i % 4]!.createTrial(a.id, trialInput(i))));
        assert.deepEqual(created.map((t) => t.number).sort((x, y) => x - y), Array.from({ length: 60 }, (_, i) => i));
        const got = await Promise.all(
          stores.map(async (s, k) => {
            const mine: number[] = [];
            const w = workerId(`c${k}`);
            for (;;) {
              const t = await s.claimTrial(a.id, w, 60_000);
              if (t === null) return mine;
              mine.push(t.id);
              await s.finishTrial(t.id, w, { state: 'complete', values: [t.number] });
            }
          }),
        );
        const all = got.flat();
        assert.equal(all.length, 60, `claimed ${all.length} times`);
        assert.equal(new Set(all).size, 60, 'no trial claimed twice');
        const counts = await stores[0]!.countTrials(a.id);
        assert.equal(counts.complete, 60);
        assert.ok(got.filter((g) => g.length > 0).length >= 2, `work spread over claimers: ${got.map((g) => g.length).join(',')}`);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    test('concurrent re-claim of one expired trial: exactly one winner', async () => {
      const url = await target.newUrl();
      const stores = await Promise.all([0, 1, 2, 3].map(() => open(url)));
      try {
        const a = await stores[0]!.createStudy(studySpec('reclaim'));
        await stores[0]!.createTrial(a.id, trialInput(0));
        const t = (await stores[0]!.claimTrial(a.id, W1, 50))!;
        await sleep(120);
        const res = await Promise.all(stores.map((s, k) => s.claimTrial(a.id, workerId(`r${k}`), 60_000)));
        const winners = res.filter((r) => r !== null);
        assert.equal(winners.length, 1);
        assert.equal(winners[0]!.id, t.id);
        assert.equal(winners[0]!.attempt, 2);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    // ------------------------------------------------------------ lifecycle
    test('concurrent first opens of a fresh database all succeed and migrate once', async () => {
      const url = await target.newUrl();
      const stores = await Promise.all([0, 1, 2, 3].map(() => open(url)));
      try {
        assert.equal(stores.filter((s) => s.schema.found === 0).length, 1, 'one open created the schema');
        for (const s of stores) assert.equal(s.schema.version, SCHEMA_VERSION);
        await stores[0]!.createStudy(studySpec('first'));
        for (const s of stores) assert.deepEqual((await s.listStudies()).map((x) => x.name), ['first']);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    test('reopening keeps the data; a newer schema is refused', async () => {
      const url = await target.newUrl();
      const s1 = await open(url);
      const a = await s1.createStudy(studySpec('persist'));
      await s1.createTrial(a.id, trialInput(0));
      await s1.saveStrategyState(a.id, 0, { gen: 1 });
      await s1.close();
      await rejectsWith(s1.getStudy(a.id), 'storage_error');
      const s2 = await open(url);
      assert.equal((await s2.requireStudy('persist')).id, a.id);
      assert.equal((await s2.countTrials(a.id)).waiting, 1);
      assert.deepEqual(await s2.loadStrategyState(a.id), { version: 1, state: { gen: 1 } });
      await s2.close();
      await target.rawExec(url, `INSERT INTO schema_version (version, applied_at) VALUES (${SCHEMA_VERSION + 1}, 0)`);
      const e = await rejectsWith(open(url), 'storage_error');
      assert.match(e.message, /newer tsnas/);
      await rejectsWith(open(url, { readOnly: true }), 'storage_error');
    });

    /**
     * A database as tsnas of schema 1 left it: made at the current version, then the one change
     * of migration 2 (schema_version.compat) undone. Update when a migration is added.
     */
    const atSchema1 = async (url: string): Promise<void> => {
      assert.equal(SCHEMA_VERSION, 2, 'atSchema1 undoes exactly migration 2');
      await target.rawExec(url, 'DELETE FROM schema_version WHERE version >= 2; ALTER TABLE schema_version DROP COLUMN compat');
    };

    test('an older schema is refused by every open but the explicit upgrade; the upgrade keeps the data, is all-or-nothing and idempotent', async () => {
      const url = await target.newUrl();
      const s0 = await open(url);
      const a = await s0.createStudy(studySpec('kept'));
      await s0.createTrial(a.id, trialInput(0));
      await s0.saveStrategyState(a.id, 0, { gen: 3 });
      await s0.close();
      await atSchema1(url);
      // A worker, a search, a viewer: refused, with the command that fixes it; nothing changed.
      for (const o of [{}, { readOnly: true }]) {
        const e = await rejectsWith(open(url, o), 'storage_error');
        assert.match(e.message, /has schema version 1, older than version 2 that this tsnas needs; it is not upgraded implicitly/);
        assert.match((e as NasError).hint ?? '', /tsnas db upgrade --storage /);
        assert.equal((e as NasError).details?.['reason'], 'old_schema');
      }
      // A migration that fails half-way (its version row refused) leaves the schema as it was.
      await target.rawExec(url, target.failSchemaInsertsSql.install);
      await rejectsWith(open(url, { upgrade: true }), 'storage_error');
      await target.rawExec(url, target.failSchemaInsertsSql.remove);
      await rejectsWith(open(url), 'storage_error');
      // Concurrent upgrades (two admins, or a script run twice): one upgrades, the others find it done.
      const ups = await Promise.all([0, 1, 2].map(() => open(url, { upgrade: true })));
      try {
        assert.deepEqual(ups.map((s) => s.schema.found).sort(), [1, 2, 2], 'the rolled-back ALTER left nothing behind: upgraded once');
        for (const s of ups) assert.equal(s.schema.version, 2);
        assert.equal((await ups[0]!.requireStudy('kept')).id, a.id);
        assert.equal((await ups[0]!.countTrials(a.id)).waiting, 1);
        assert.deepEqual(await ups[0]!.loadStrategyState(a.id), { version: 1, state: { gen: 3 } });
      } finally {
        await Promise.all(ups.map((s) => s.close()));
      }
      // Idempotent; and now every open works.
      const again = await open(url, { upgrade: true });
      assert.deepEqual(again.schema, { found: 2, version: 2 });
      await again.close();
      const w = await open(url);
      try {
        const t = (await w.claimTrial(a.id, W1, 60_000))!;
        await w.finishTrial(t.id, W1, { state: 'complete', values: [1] }, t.attempt);
      } finally {
        await w.close();
      }
      await (await open(url, { readOnly: true })).close();
    });

    test('a newer schema is used when it records that this version can still use it (rolling upgrade), refused otherwise', async () => {
      const url = await target.newUrl();
      await (await open(url)).close();
      await target.rawExec(url, `INSERT INTO schema_version (version, applied_at, compat) VALUES (${SCHEMA_VERSION + 1}, 0, ${SCHEMA_VERSION})`);
      for (const o of [{}, { readOnly: true }, { upgrade: true }]) {
        const s = await open(url, o);
        try {
          assert.deepEqual(s.schema, { found: SCHEMA_VERSION + 1, version: SCHEMA_VERSION + 1 }, 'used as it is, never downgraded');
          assert.deepEqual(await s.listStudies(), []);
        } finally {
          await s.close();
        }
      }
      // A later breaking change: usable only from schema SCHEMA_VERSION + 1 on.
      await target.rawExec(url, `INSERT INTO schema_version (version, applied_at, compat) VALUES (${SCHEMA_VERSION + 2}, 0, ${SCHEMA_VERSION + 1})`);
      for (const o of [{}, { readOnly: true }, { upgrade: true }]) {
        const e = await rejectsWith(open(url, o), 'storage_error');
        assert.match(e.message, new RegExp(`schema version ${SCHEMA_VERSION + 2} \\(usable by tsnas of schema ${SCHEMA_VERSION + 1} or later\\), written by a newer tsnas; this build reads up to version ${SCHEMA_VERSION}`));
        assert.equal((e as NasError).details?.['reason'], 'newer_schema');
      }
    });

    test('read-only opening: reads work, writes are refused, no migration happens', async () => {
      const url = await target.newUrl();
      // A fresh URL holds no database: a reader (readOnly) and a joiner (create: false) are refused
      // (SQLite: not_found, no file; PostgreSQL: storage_error not_tsnas) and create nothing, so
      // the next such open is refused the same way (issue 17's kind: read-only commands and a
      // worker on a mistyped store made an empty database, or its schema).
      for (const o of [{ readOnly: true }, { create: false }, { readOnly: true }]) {
        try {
          await open(url, o);
          assert.fail(`${JSON.stringify(o)}: opened a URL with no database`);
        } catch (e) {
          assert.ok(isNasError(e, 'not_found') || (isNasError(e, 'storage_error') && e.details?.['reason'] === 'not_tsnas'), `${JSON.stringify(o)}: ${String(e)}`);
        }
      }
      const w = await open(url);
      const a = await w.createStudy(studySpec('ro'));
      await w.createTrial(a.id, trialInput(0));
      const r = await open(url, { readOnly: true });
      try {
        assert.equal((await r.listStudies())[0]!.counts.waiting, 1);
        assert.equal((await r.listTrials(a.id)).length, 1);
        await rejectsWith(r.createStudy(studySpec('ro2')), 'storage_error');
        await rejectsWith(r.claimTrial(a.id, W1, 1000), 'storage_error');
      } finally {
        await r.close();
        await w.close();
      }
    });

    test('listTrialOutcomes is listTrials without arch, by number, this study only', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('outcomes', { maxTrials: null }));
        const other = await s.createStudy(studySpec('outcomes-other', { maxTrials: null }));
        for (let i = 0; i < 4; i++) await s.createTrial(a.id, trialInput(i));
        await s.createTrial(other.id, trialInput(9));
        const c = (await s.claimTrial(a.id, W1, 60_000))!;
        await s.finishTrial(c.id, W1, { state: 'complete', values: [0.5], metrics: { val_acc: 0.5, loss: Number.NaN } });
        await s.setTrialAttr(c.id, 'note', { k: 1 });
        const full = await s.listTrials(a.id);
        const got = await s.listTrialOutcomes(a.id);
        assert.deepEqual(got.map((t) => t.number), [0, 1, 2, 3]);
        for (const [i, t] of got.entries()) {
          assert.equal('arch' in t, false);
          const { arch: _arch, ...rest } = full[i]!;
          assert.deepEqual(t, rest);
        }
        assert.deepEqual(await s.listTrialOutcomes(studyId(987654)), []);
      }));

    test('listTrialPoints: scalar columns and the asked-for values, as trialPointsOf reads full records', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('points', { maxTrials: null }));
        const other = await s.createStudy(studySpec('points-other', { maxTrials: null }));
        // awkward keys: dots, spaces, brackets, quotes, backslashes, unicode, LIKE wildcards
        const odd = ['a.b', 'x y', 'w[0]', 'q"uote', 'back\\slash', 'μ', '50%_off'];
        const inputs: { params: Record<string, unknown>; metrics: Record<string, number>; values: number[] | null }[] = [
          { params: { generation: 3, rung: 'two', lr: 0.1 }, metrics: { val_acc: 0.5, loss: Number.NaN, 'a.b': 1, 'x y': 2 }, values: [0.5, 3] },
          { params: { generation: 1.5e-7, nested: { generation: 9 } }, metrics: { val_acc: Number.POSITIVE_INFINITY, 'q"uote': -0.25 }, values: [Number.NaN] },
          { params: { 'w[0]': 7, 'μ': 1 / 3, '50%_off': 2 }, metrics: { 'back\\slash': 0.1 + 0.2, 'μ': Number.NEGATIVE_INFINITY }, values: null },
          { params: {}, metrics: {}, values: [] },
        ];
        for (const [i, x] of inputs.entries()) await s.createTrial(a.id, { ...trialInput(i), params: x.params as never });
        await s.createTrial(a.id, trialInput(8)); // stays waiting: no metrics at all
        await s.createTrial(other.id, trialInput(9));
        for (const x of inputs) {
          const c = (await s.claimTrial(a.id, W1, 60_000))!;
          await s.finishTrial(c.id, W1, { state: x.values === null ? 'pruned' : 'complete', values: x.values, metrics: x.metrics, durationMs: 12.5 });
        }
        const first = (await s.listTrials(a.id))[0]!;
        await s.setTrialAttr(first.id, 'generation', 4);
        await s.setTrialAttr(first.id, 'note', { rung: 2 });
        await s.setTrialAttr(first.id, 'rung', 'x');
        // val_acc only where a trial has no value0; back\\slash and loss are also in metrics: read for every trial
        const keys = {
          metrics: ['loss', 'missing', ...odd],
          fallbackMetrics: ['val_acc', 'back\\slash', 'loss'],
          params: ['generation', 'rung', 'lr', ...odd],
          userAttrs: ['generation', 'rung', 'note'],
        };
        const full = await s.listTrials(a.id);
        const got = await s.listTrialPoints(a.id, keys);
        assert.equal(got.count, 5);
        assert.deepEqual([...got.number], [0, 1, 2, 3, 4]);
        assert.deepEqual([...got.id], full.map((t) => t.id));
        assert.deepEqual(got, trialPointsOf(full, keys));
        assert.equal(got.params.get('generation')![0], 3);
        assert.ok(Number.isNaN(got.params.get('rung')![0]!), 'a text param is not a number');
        assert.equal(got.userAttrs.get('generation')![0], 4);
        assert.ok(Number.isNaN(got.userAttrs.get('note')![0]!), 'an object attribute is not a number');
        assert.equal(got.params.get('generation')![1], 1.5e-7, 'top-level key only, exact');
        assert.ok(Number.isNaN(got.metrics.get('loss')![0]!));
        assert.equal(got.metrics.get('val_acc')![0], null, 'a fallback metric is not read where the trial has a value0');
        assert.equal(got.metrics.get('val_acc')![1], Number.POSITIVE_INFINITY, 'a NaN first value is no value0: its fallback is read');
        assert.ok(Number.isNaN(got.value0[1]!), 'a NaN first value is no value0');
        assert.equal(got.value0[0], 0.5);
        assert.equal(got.metrics.get('back\\slash')![2], 0.1 + 0.2);
        assert.equal(got.metrics.get('val_acc')![2], null, 'absent');
        assert.equal(got.metrics.get('x y')![0], 2);
        assert.equal(got.params.get('50%_off')![2], 2);
        assert.equal(got.state[4], 'waiting');
        assert.ok(Number.isNaN(got.finishedAt[4]!), 'a waiting trial has not finished');
        assert.equal(got.budget[4], 1);
        // without keys: the scalar columns only
        const bare = await s.listTrialPoints(a.id);
        assert.deepEqual(bare, trialPointsOf(full));
        assert.equal(bare.metrics.size + bare.params.size + bare.userAttrs.size, 0);
        const none = await s.listTrialPoints(studyId(987654), keys);
        assert.equal(none.count, 0);
        assert.deepEqual(none.metrics.get('val_acc'), []);
        await rejectsWith(s.listTrialPoints(a.id, { metrics: [''] }), 'invalid_config');
        await rejectsWith(s.listTrialPoints(a.id, { fallbackMetrics: [''] }), 'invalid_config');
        await rejectsWith(s.listTrialPoints(a.id, { params: 'generation' as never }), 'invalid_config');
        await rejectsWith(s.listTrialPoints(a.id, { metrics: Array.from({ length: 33 }, (_, i) => `m${i}`) }), 'invalid_config');
      }));

    test('listTrialColumns, listTrialArchitectures and listTrialArchKeys: every trial column by column, as trialColumnsOf, trialArchitecturesOf and trialArchKeysOf read full records', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('columns', { maxTrials: null }));
        const other = await s.createStudy(studySpec('columns-other', { maxTrials: null }));
        // texts that must survive being joined into one answer: commas, brackets, quotes,
        // backslashes, newlines, unicode, and JSON that looks like a separator
        const odd = 'a,b],[{"x":"\\n\n"}]\u2028μ\u001e';
        const archs = [{ ops: [odd, 1] }, { ops: [] }, { nested: { deep: [1, [2, [3]]], s: '' } }, { ops: [0.1 + 0.2, -0, 1e300] }, { ops: [null, true] }];
        const create = (i: number) => s.createTrial(a.id, { arch: archs[i] as never, archKey: i === 1 ? null : `${odd}${i}`, budget: i === 2 ? null : i + 0.5, params: { lr: 0.01 * (i + 1), tag: odd } });
        for (let i = 0; i < 3; i++) await create(i);
        await s.createTrial(other.id, trialInput(9));
        const w3 = workerId(`w,"3"\n${odd}`);
        // finished out of number order (on PostgreSQL the rows move in the heap), one with
        // non-finite metrics, one failed without any, one lease lost and re-run (attempt 2)
        const c0 = (await s.claimTrial(a.id, W1, 60_000))!;
        const c1 = (await s.claimTrial(a.id, w3, 60_000))!;
        const c2 = (await s.claimTrial(a.id, W2, 1))!;
        await s.finishTrial(c1.id, w3, { state: 'failed', error: 'boom', durationMs: 3 });
        await s.finishTrial(c0.id, W1, { state: 'complete', values: [0.5, 2], metrics: { val_acc: 0.5, loss: Number.NaN, up: Number.POSITIVE_INFINITY, down: Number.NEGATIVE_INFINITY, [odd]: 1 }, durationMs: 12.5 });
        await sleep(50);
        const again = (await s.claimTrial(a.id, W1, 60_000))!;
        assert.equal(again.id, c2.id, 'the expired lease is the only claimable trial');
        await s.finishTrial(again.id, W1, { state: 'pruned', values: [Number.NaN], metrics: { val_acc: 0.25 } });
        for (let i = 3; i < 5; i++) await create(i); // stay waiting
        await s.setTrialAttr(c0.id, 'note', { text: odd, n: [1, 2] });
        const full = await s.listTrials(a.id);
        const got = await s.listTrialColumns(a.id);
        assert.equal(got.count, 5);
        assert.deepEqual([...got.number], [0, 1, 2, 3, 4]);
        assert.deepEqual(got, trialColumnsOf(full));
        // the architectures are stored texts: compared parsed (another writer may space them)
        const texts = await s.listTrialArchitectures(a.id);
        const want = trialArchitecturesOf(full);
        assert.equal(texts.count, 5);
        assert.deepEqual(texts.number, want.number);
        assert.deepEqual(texts.text.map((x) => JSON.parse(x) as unknown), want.text.map((x) => JSON.parse(x) as unknown));
        assert.deepEqual(JSON.parse(texts.text[0]!), { ops: [odd, 1] });
        const keys = await s.listTrialArchKeys(a.id);
        assert.deepEqual(keys, trialArchKeysOf(full));
        assert.deepEqual(keys.key, [`${odd}0`, null, `${odd}2`, `${odd}3`, `${odd}4`], 'each key, null where a trial has none');
        // in parts: from a number, at most a limit
        const part = async (range: { fromNumber?: number; limit?: number }) => {
          const r = await s.listTrialArchKeys(a.id, range);
          assert.equal(r.count, r.key.length);
          return [[...r.number], r.key];
        };
        assert.deepEqual(await part({ fromNumber: 1, limit: 2 }), [[1, 2], [null, `${odd}2`]]);
        assert.deepEqual(await part({ fromNumber: 3 }), [[3, 4], [`${odd}3`, `${odd}4`]]);
        assert.deepEqual(await part({ limit: 1 }), [[0], [`${odd}0`]]);
        assert.deepEqual(await part({ fromNumber: 4, limit: 10 }), [[4], [`${odd}4`]]);
        assert.deepEqual(await part({ fromNumber: 5 }), [[], []]);
        await rejectsWith(s.listTrialArchKeys(a.id, { fromNumber: -1 }), 'invalid_config', 'fromNumber');
        await rejectsWith(s.listTrialArchKeys(a.id, { fromNumber: 1.5 }), 'invalid_config', 'fromNumber');
        await rejectsWith(s.listTrialArchKeys(a.id, { limit: 0 }), 'invalid_config', 'limit');
        assert.equal(got.attempt[2], 2, 'a re-run after a lost lease');
        assert.ok(Number.isNaN(got.value0[2]!), 'a NaN first value is no value0');
        assert.ok(Number.isNaN(got.metrics[0]!['loss']!));
        assert.equal(got.metrics[0]!['up'], Number.POSITIVE_INFINITY);
        assert.equal(got.metrics[1], null, 'failed without metrics');
        assert.equal(got.metrics[3], null, 'waiting');
        assert.equal(got.workerId[1], w3);
        assert.ok(Number.isNaN(got.budget[2]!), 'no budget');
        assert.ok(Number.isNaN(got.startedAt[4]!) && Number.isNaN(got.finishedAt[4]!), 'never started');
        const none = await s.listTrialColumns(studyId(987654));
        assert.equal(none.count, 0);
        assert.deepEqual(none.params, []);
        const noArchs = await s.listTrialArchitectures(studyId(987654));
        assert.equal(noArchs.count, 0);
        assert.deepEqual(noArchs.text, []);
        assert.deepEqual(await s.listTrialArchKeys(studyId(987654)), { count: 0, number: new Float64Array(0), key: [] });
      }));

    test('pageTrials: a metric sort orders ties, absent, NaN, non-number and beyond-float8 values alike on every backend', () =>
      withStore(async (s, url) => {
        const a = await s.createStudy(studySpec('page-ties', { maxTrials: null }));
        // number -> the metric `m` as stored (JSON text; a raw row as another writer may leave it)
        const plan: (number | string)[] = [
          2, Number.NaN, 2, 'missing', -1, 0, '-0', Number.POSITIVE_INFINITY, '2.0', 'null', '"3"', '2e400', '1e400', 0.1, '0.10000000000000001',
        ];
        for (let i = 0; i < plan.length; i++) {
          const c = await s.createTrial(a.id, { ...trialInput(i), claim: { workerId: W1, leaseMs: 60_000 } });
          const m = plan[i]!;
          const metrics: Record<string, number> = typeof m === 'number' ? { m, other: i } : { other: i };
          await s.finishTrial(c.id, W1, { state: i === 2 ? 'failed' : 'complete', values: i === 2 ? null : [i % 3], metrics });
          if (typeof m === 'string' && m !== 'missing') await target.rawExec(url, `UPDATE trials SET metrics = '{"other": ${i}, "m": ${m}}' WHERE number = ${i}`);
        }
        const nums = async (q: Parameters<Store['pageTrials']>[1]): Promise<number[]> => (await s.pageTrials(a.id, q)).trials.map((t) => t.number);
        // -0 = 0, 2 = 2.0, 0.1 = 0.10000000000000001 (one double), 2e400 = 1e400 = +Infinity
        // (JSON.parse's reading): ties by number; NaN, missing, null, text: absent, last either way
        assert.deepEqual(await nums({ sortBy: 'metric', metric: 'm' }), [4, 5, 6, 13, 14, 0, 2, 8, 11, 12, 1, 3, 7, 9, 10]);
        assert.deepEqual(await nums({ sortBy: 'metric', metric: 'm', desc: true }), [11, 12, 0, 2, 8, 13, 14, 5, 6, 4, 1, 3, 7, 9, 10]);
        assert.deepEqual(await nums({ sortBy: 'metric', metric: 'm', desc: true, limit: 3, offset: 1 }), [12, 0, 2], 'a page cut inside ties');
        assert.deepEqual(await nums({ sortBy: 'metric', metric: 'm', states: ['complete'], limit: 4, offset: 8 }), [12, 1, 3, 7], 'filtered');
        assert.deepEqual(await nums({ sortBy: 'metric', metric: 'nowhere', desc: true, limit: 3 }), [0, 1, 2], 'no trial has it: by number');
        // value (i % 3; trial 2 failed without one): ties by number ascending in both directions
        assert.deepEqual(await nums({ sortBy: 'value', desc: true }), [5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 2]);
        assert.deepEqual(await nums({ sortBy: 'value' }), [0, 3, 6, 9, 12, 1, 4, 7, 10, 13, 5, 8, 11, 14, 2]);
        assert.deepEqual(await nums({ sortBy: 'state', desc: true, limit: 2 }), [2, 0]);
        const total = await s.pageTrials(a.id, { sortBy: 'metric', metric: 'm', offset: 100 });
        assert.deepEqual([total.total, total.trials.length], [15, 0]);
      }));

    test('JSON numbers beyond float8 written by another tool (1e400, 1e-400) read as JSON.parse reads them, in every read', async () => {
      const url = await target.newUrl();
      const s = await open(url);
      try {
        const a = await s.createStudy(studySpec('huge', { maxTrials: null }));
        for (let i = 0; i < 4; i++) {
          const c = await s.createTrial(a.id, { ...trialInput(i), claim: { workerId: W1, leaseMs: 60_000 } });
          await s.finishTrial(c.id, W1, { state: 'complete', values: [i], metrics: { val_acc: i, loss: 1 } });
        }
        // params, metrics and attributes as another writer left them: numbers no float8 holds,
        // a number text, any text
        const params = '{"generation": 1e400, "rung": -1e-400, "lr": -1e400, "tiny": 5e-324}';
        const metrics = '{"val_acc": 1e400, "loss": "12.5", "x": "abc", "neg": -1e-400, "big": -2e308}';
        await target.rawExec(url, `UPDATE trials SET params = '${params}', metrics = '${metrics}', user_attrs = '{"generation": 1e-400}' WHERE number = 1`);
        await target.rawExec(url, `UPDATE trials SET metrics = '{"val_acc": -1e400, "loss": 1e-400}' WHERE number = 2`);
        const full = await s.listTrials(a.id);
        assert.equal(full[1]!.metrics!['val_acc'], Number.POSITIVE_INFINITY, 'JSON.parse: beyond float8 is Infinity');
        const keys = { metrics: ['val_acc', 'loss', 'x', 'neg', 'big'], params: ['generation', 'rung', 'lr', 'tiny'], userAttrs: ['generation'] };
        assert.deepEqual(await s.listTrialPoints(a.id, keys), trialPointsOf(full, keys));
        const cols = await s.listTrialColumns(a.id);
        assert.deepEqual(cols.metrics, trialColumnsOf(full).metrics);
        assert.deepEqual(cols.params, trialColumnsOf(full).params);
        // sorted by the metric: -Infinity first, +Infinity last (ascending)
        const page = await s.pageTrials(a.id, { sortBy: 'metric', metric: 'val_acc', desc: false, limit: 10, offset: 0 });
        assert.deepEqual(page.trials.map((t) => t.number), [2, 0, 3, 1]);
        const byLoss = await s.pageTrials(a.id, { sortBy: 'metric', metric: 'loss', desc: true, limit: 10, offset: 0 });
        assert.deepEqual(byLoss.trials.map((t) => t.number), [0, 3, 2, 1], 'a text metric sorts as none (last)');
      } finally {
        await s.close();
      }
    });

    test('listTrialsSince returns new trials and the current records of the listed ones', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('since', { maxTrials: null }));
        const other = await s.createStudy(studySpec('since-other', { maxTrials: null }));
        for (let i = 0; i < 5; i++) await s.createTrial(a.id, trialInput(i));
        await s.createTrial(other.id, trialInput(9));
        assert.deepEqual((await s.listTrialsSince(a.id, 0)).map((t) => t.number), [0, 1, 2, 3, 4]);
        assert.deepEqual((await s.listTrialsSince(a.id, 3)).map((t) => t.number), [3, 4]);
        const c = (await s.claimTrial(a.id, W1, 60_000))!;
        await s.finishTrial(c.id, W1, { state: 'complete', values: [0.5], metrics: { val_acc: 0.5 } });
        await s.createTrial(a.id, trialInput(5));
        // The reader saw trials 0..4 (0 and 2 unfinished): it gets their records now, and trial 5.
        const got = await s.listTrialsSince(a.id, 5, [2, 0]);
        assert.deepEqual(got.map((t) => [t.number, t.state]), [[0, 'complete'], [2, 'waiting'], [5, 'waiting']]);
        assert.deepEqual((await s.listTrialsSince(a.id, 6, [])).length, 0);
        // A listed number at or above fromNumber is not returned twice.
        assert.deepEqual((await s.listTrialsSince(a.id, 4, [4, 5])).map((t) => t.number), [4, 5]);
        await rejectsWith(s.listTrialsSince(a.id, -1), 'invalid_config', 'fromNumber');
        // Intermediate values of listed trials only.
        const d = (await s.claimTrial(a.id, W1, 60_000))!;
        await s.reportIntermediate(d.id, W1, 1, { val_acc: 0.1 });
        const e = (await s.claimTrial(a.id, W2, 60_000))!;
        await s.reportIntermediate(e.id, W2, 1, { val_acc: 0.2 });
        await s.reportIntermediate(e.id, W2, 2, { val_acc: 0.3 });
        assert.deepEqual((await s.listIntermediates(a.id, [e.id])).map((r) => [r.trialId, r.step]), [[e.id, 1], [e.id, 2]]);
        assert.deepEqual((await s.listIntermediates(a.id, [])).length, 0);
        assert.equal((await s.listIntermediates(a.id)).length, 3);
      }));

    test('importTrials appends finished trials in order, all or none, and claims never take them', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('import', { maxTrials: 3 }));
        await s.createTrial(a.id, trialInput(0));
        const rows = Array.from({ length: 2500 }, (_, i): ImportedTrial & { outcome: FinishTrial } => ({
          arch: { ops: [i, 'x"\\y'] },
          archKey: `imp${i}`,
          budget: i % 2 === 0 ? null : 3,
          params: { i },
          ...(i % 3 === 0 ? { workerId: W2 } : {}),
          outcome:
            i % 10 === 1
              ? { state: 'failed', error: 'boom', durationMs: 5 }
              : i % 10 === 2
                ? { state: 'pruned', values: [i / 10], metrics: { val_acc: i / 10 }, error: 'pruned at step 1' }
                : { state: 'complete', values: [i / 10], metrics: { val_acc: i / 10, loss: Infinity }, durationMs: 7 },
        }));
        // More rows than the budget and one PostgreSQL batch: an import is not checked against either.
        assert.deepEqual(await s.importTrials(a.id, rows), { first: 1, count: 2500 });
        const all = await s.listTrials(a.id);
        assert.equal(all.length, 2501);
        assert.deepEqual(all.map((t) => t.number), Array.from({ length: 2501 }, (_, i) => i));
        for (const i of [0, 1, 2, 3, 1999, 2000, 2499]) {
          const t = all[i + 1]!;
          const r = rows[i]!;
          assert.deepEqual([t.arch, t.archKey, t.budget, t.params, t.state], [r.arch, r.archKey, r.budget, r.params, r.outcome.state], `row ${i}`);
          assert.deepEqual(t.values, r.outcome.values ?? null);
          assert.deepEqual(t.metrics, r.outcome.metrics ?? null);
          assert.equal(t.error, r.outcome.error ?? null);
          assert.equal(t.workerId, i % 3 === 0 ? W2 : null);
          assert.equal(t.attempt, i % 3 === 0 ? 1 : 0);
          assert.equal(t.leaseExpiresAt, null);
          assert.ok(t.finishedAt !== null && t.startedAt !== null && t.finishedAt >= t.createdAt);
        }
        const c = await s.countTrials(a.id);
        assert.deepEqual([c.total, c.waiting, c.failed, c.pruned], [2501, 1, 250, 250]);
        // The next trial is numbered after them; a claim takes the one waiting trial, none of them.
        assert.equal((await s.createTrial(a.id, trialInput(1))).number, 2501);
        assert.equal((await s.claimTrial(a.id, W1, 60_000))!.number, 0);
        assert.deepEqual((await s.listTrialsSince(a.id, 2500)).map((t) => t.number), [2500, 2501]);
        assert.equal((await s.bestTrial(a.id))!.number, 2499); // row 2498: the best complete value at the full (null) budget
        // A bad row names itself; nothing of the batch is written.
        const e = await rejectsWith(s.importTrials(a.id, [rows[0]!, { ...rows[1]!, outcome: { state: 'running' as 'failed' } }]), 'invalid_config', 'trials[1].outcome.state');
        assert.match(e.message, /cannot finish a trial as "running"/);
        await rejectsWith(s.importTrials(a.id, [{ ...rows[0]!, arch: { x: NaN } }]), 'invalid_config', 'trials[0].arch.x');
        assert.equal((await s.countTrials(a.id)).total, 2502);
        assert.deepEqual(await s.importTrials(a.id, []), { first: 2502, count: 0 });
        await rejectsWith(s.importTrials(studyId(987654), rows.slice(0, 2)), 'not_found');
        await rejectsWith(s.importTrials(studyId(987654), []), 'not_found');
      }));

    test('uniqueKey refuses a second trial of a seen key and budget, saving nothing', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('unique', { maxTrials: null }));
        await s.createTrial(a.id, { ...trialInput(0), budget: null });
        const before = await s.loadStrategyState(a.id);
        const e = await rejectsWith(
          s.createTrial(a.id, { ...trialInput(0), budget: null, uniqueKey: true, strategyState: { expectedVersion: before.version, state: { x: 1 } } }),
          'conflict',
        );
        assert.match(e.message, /already has trial 0 with key k0/);
        assert.deepEqual(await s.loadStrategyState(a.id), before);
        assert.equal((await s.countTrials(a.id)).total, 1);
        // Another budget (a multi-fidelity promotion), another key, or no uniqueKey: created.
        await s.createTrial(a.id, { ...trialInput(0), budget: 3, uniqueKey: true });
        await s.createTrial(a.id, { ...trialInput(1), uniqueKey: true });
        await s.createTrial(a.id, { ...trialInput(0), budget: null });
        assert.deepEqual((await s.listTrials(a.id)).map((t) => t.number), [0, 1, 2, 3]);
        await rejectsWith(s.createTrial(a.id, { ...trialInput(0), budget: 3, uniqueKey: true, maxTrials: 100 }), 'conflict');
      }));

    test('claiming from a deleted study is not_found; from an empty one, null', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('claim-gone'));
        assert.equal(await s.claimTrial(a.id, W1, 1000), null);
        await s.deleteStudy(a.id);
        await rejectsWith(s.claimTrial(a.id, W1, 1000), 'not_found');
      }));

    test('ids are branded numbers that survive a round trip', () =>
      withStore(async (s) => {
        const a = await s.createStudy(studySpec('ids'));
        const t = await s.createTrial(a.id, trialInput(0));
        const sid: StudyId = a.id;
        const tid: TrialId = t.id;
        assert.equal(typeof sid, 'number');
        assert.equal(typeof tid, 'number');
        assert.equal((await s.getTrial(trialId(Number(tid))))!.studyId, sid);
      }));
  });
}
