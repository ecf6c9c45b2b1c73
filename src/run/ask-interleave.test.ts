/**
 * Issue 17, fault 1: two workers must never propose the same architecture. Conformance for the
 * ask path on both backends (SQLite file, PostgreSQL server), each worker with its own store
 * connection, the way separate processes run:
 *
 *  - deterministic interleaving: worker A's ask is paused before its k-th store call, for every k,
 *    while worker B runs a whole ask; the keys of the trials must stay distinct. (Against the old
 *    order - history read before the strategy-state version - pausing A between the two reads
 *    makes A's compare-and-set succeed on a history without B's trial: same key twice.)
 *  - concurrent asks of the real random strategy over a 3-option space, seeds 1, 2 and 5 (the
 *    inputs of the report), and 4 workers asking until the space is exhausted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { workerId } from '../core/ids.js';
import { choice, struct } from '../space/dsl.js';
import { defineSpace } from '../space/space.js';
import { studySpec } from '../store/conformance.js';
import { openStore } from '../store/index.js';
import { tryStartPgServer } from '../store/testing/pg-server.js';
import type { Store, StudyRecord } from '../store/types.js';
import { createStrategy } from '../strategy/registry.js';
import type { StrategyDriver } from './driver.js';
import { strategyDriver } from './strategy-driver.js';
import { Study } from './study.js';
import { syntheticEvaluator } from './synthetic.js';

const OPTIONS = 3;

/** Proposes the lowest x in 0..OPTIONS-1 whose key is not in the history: a stale history repeats a key. */
const lowestUnseen: StrategyDriver = {
  needsIntermediates: false,
  init: () => ({ asks: 0 }),
  ask: (state, history) => {
    const seen = new Set(history.map((h) => h.trial.archKey));
    const asks = (state as { asks: number }).asks + 1;
    for (let x = 0; x < OPTIONS; x++) {
      if (!seen.has(`x${x}`)) return { state: { asks }, result: { kind: 'trial', proposal: { arch: { x }, archKey: `x${x}`, budget: null, params: {} } } };
    }
    return { state: { asks }, result: { kind: 'done', reason: 'exhausted' } };
  },
  tell: (state) => state,
};

const space = defineSpace('three', struct({ x: choice(['a', 'b', 'c']) }));
const randomDriver = (): StrategyDriver =>
  strategyDriver({ strategy: createStrategy('random'), space, objectives: [{ metric: 'val_acc', direction: 'maximize' }], constraints: [] });

/** `inner`, except that `before(n)` runs before its n-th method call (n = 1, 2, ...). */
function pausing(inner: Store, before: (n: number) => Promise<void>): Store {
  let calls = 0;
  return new Proxy(inner, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        await before(++calls);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

interface Backend {
  name: string;
  /** Opens `n` independent connections to one fresh database. */
  stores(n: number): Promise<Store[]>;
}

async function backends(): Promise<{ list: Backend[]; skipped: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-interleave-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let dbs = 0;
  const list: Backend[] = [
    {
      name: 'sqlite',
      stores: async (n) => {
        const url = `sqlite:${join(dir, `db${dbs++}.sqlite`)}`;
        const out: Store[] = [];
        for (let i = 0; i < n; i++) out.push(await openStore(url));
        return out;
      },
    },
  ];
  const skipped: string[] = [];
  const pg = await tryStartPgServer();
  if ('reason' in pg) skipped.push(`postgres: ${pg.reason}`);
  else {
    after(() => pg.server.stop());
    list.push({
      name: 'postgres',
      stores: async (n) => {
        const url = await pg.server.createDatabase(`interleave${dbs++}`);
        const out: Store[] = [];
        for (let i = 0; i < n; i++) out.push(await openStore(url, { poolSize: 2 }));
        return out;
      },
    });
  }
  return { list, skipped };
}

async function keysOf(store: Store, rec: StudyRecord): Promise<string[]> {
  return (await store.listTrials(rec.id)).map((t) => t.archKey ?? '');
}

const { list, skipped } = await backends();
for (const s of skipped) console.log(`# ask interleaving on ${s} - skipped`);

for (const b of list) {
  describe(`ask never repeats a key under concurrent workers: ${b.name}`, () => {
    test('worker B asks at every point inside worker A\'s ask: keys stay distinct', async () => {
      const [sa, sb] = await b.stores(2);
      try {
        let reached = true;
        for (let k = 1; reached; k++) {
          const rec = await sa!.createStudy(studySpec(`interleave-${k}`, { maxTrials: null }));
          const recB = (await sb!.getStudy(rec.id))!;
          reached = false;
          const bAsks = new Study(sb!, recB, lowestUnseen, syntheticEvaluator(), { workerId: workerId('B') });
          const storeA = pausing(sa!, async (n) => {
            if (n !== k) return;
            reached = true;
            const r = await bAsks.ask();
            assert.equal(r.kind, 'trial');
          });
          const a = await new Study(storeA, rec, lowestUnseen, syntheticEvaluator(), { workerId: workerId('A') }).ask();
          assert.equal(a.kind, 'trial');
          const keys = await keysOf(sa!, rec);
          assert.equal(keys.length, reached ? 2 : 1);
          assert.equal(new Set(keys).size, keys.length, `pause before A's store call ${k}: keys ${keys.join(', ')}`);
          assert.ok(k < 50, 'ask makes a bounded number of store calls');
        }
      } finally {
        await sa!.close();
        await sb!.close();
      }
    });

    test('random strategy, 3 options, 2 concurrent asks (seeds 1, 2, 5) and 4 workers to exhaustion', async () => {
      const stores = await b.stores(4);
      try {
        for (const seed of [1, 2, 5]) {
          const rec = await stores[0]!.createStudy(studySpec(`random-${seed}`, { seed, maxTrials: null, constraints: [] }));
          const studies = stores.map((s, i) => new Study(s, rec, randomDriver(), syntheticEvaluator(), { workerId: workerId(`w${i}`) }));
          const two = await Promise.all([studies[0]!.ask(), studies[1]!.ask()]);
          assert.deepEqual(two.map((r) => r.kind), ['trial', 'trial']);
          let keys = await keysOf(stores[0]!, rec);
          assert.equal(new Set(keys).size, 2, `seed ${seed}: ${keys.join(', ')}`);
          // Four workers ask until the strategy says the space is exhausted.
          const outcomes = await Promise.all(studies.map((s) => s.ask()));
          keys = await keysOf(stores[0]!, rec);
          assert.equal(keys.length, OPTIONS, `seed ${seed}: ${JSON.stringify(outcomes.map((o) => o.kind))}`);
          assert.equal(new Set(keys).size, OPTIONS);
          assert.equal(outcomes.filter((o) => o.kind === 'trial').length, 1);
        }
      } finally {
        for (const s of stores) await s.close();
      }
    });
  });
}
