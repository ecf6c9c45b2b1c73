/**
 * Storage overhead per trial: create + claim + N intermediate values + finish, sequentially, on a
 * fresh study. For `bench/study.ts` and for a quick look:
 *   node --import tsx src/store/overhead.ts sqlite [trials]
 *   node --import tsx src/store/overhead.ts postgres [trials]   (starts a throw-away server)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerId } from '../core/ids.js';
import { openStore } from './index.js';
import { startPgServer } from './testing/pg-server.js';
import type { Store } from './types.js';

export interface OverheadResult {
  kind: Store['kind'];
  trials: number;
  intermediates: number;
  totalMs: number;
  msPerTrial: number;
}

export async function measureTrialOverhead(
  store: Store,
  opts: { trials?: number; intermediates?: number; warmup?: number; studyName?: string } = {},
): Promise<OverheadResult> {
  const trials = opts.trials ?? 200;
  const inter = opts.intermediates ?? 3;
  const warmup = opts.warmup ?? 10;
  const study = await store.createStudy({
    name: opts.studyName ?? `overhead-${process.pid}-${Date.now()}`,
    strategy: { name: 'random', options: {} },
    space: { name: 'nb201', definition: null },
    evaluator: { name: 'none', options: {} },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [],
    seed: 0,
    maxTrials: null,
    config: {},
  });
  const w = workerId(`overhead-${process.pid}`);
  const one = async (i: number): Promise<void> => {
    await store.createTrial(study.id, { arch: { ops: [i % 5, 1, 2, 3, 4, 0] }, archKey: `a${i}`, budget: 1, params: { lr: 0.1 } });
    const t = await store.claimTrial(study.id, w, 60_000);
    if (t === null) throw new Error('overhead: claim returned nothing');
    for (let s = 0; s < inter; s++) await store.reportIntermediate(t.id, w, s, { val_acc: 50 + s, train_loss: 1 / (s + 1) });
    await store.finishTrial(t.id, w, { state: 'complete', metrics: { val_acc: 60, test_acc: 59 }, values: [60], durationMs: 1 });
  };
  for (let i = 0; i < warmup; i++) await one(-1 - i);
  const t0 = performance.now();
  for (let i = 0; i < trials; i++) await one(i);
  const totalMs = performance.now() - t0;
  const c = await store.countTrials(study.id);
  if (c.complete !== trials + warmup) throw new Error(`overhead: ${c.complete} complete trials, expected ${trials + warmup}`);
  return { kind: store.kind, trials, intermediates: inter, totalMs, msPerTrial: totalMs / trials };
}

/** Measures on a fresh SQLite file in a temp directory (removed afterwards). */
export async function measureSqliteOverhead(trials = 200): Promise<OverheadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-overhead-'));
  try {
    const store = await openStore(`sqlite:${join(dir, 'o.db')}`);
    try {
      return await measureTrialOverhead(store, { trials });
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Measures on a throw-away PostgreSQL server (see testing/pg-server.ts). */
export async function measurePostgresOverhead(trials = 200): Promise<OverheadResult> {
  const server = await startPgServer();
  try {
    const store = await openStore(await server.createDatabase('overhead'));
    try {
      return await measureTrialOverhead(store, { trials });
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kind = process.argv[2] ?? 'sqlite';
  const n = Number(process.argv[3] ?? 500);
  const r = kind === 'postgres' ? await measurePostgresOverhead(n) : await measureSqliteOverhead(n);
  console.log(`${r.kind}: ${r.msPerTrial.toFixed(3)} ms per trial (create + claim + ${r.intermediates} intermediates + finish; ${r.trials} trials in ${r.totalMs.toFixed(0)} ms)`);
}
