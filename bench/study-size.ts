/**
 * Study-size scaling (issue 18 item 5), used by bench/study.ts: one process runs the real study
 * loop (Study.optimize: claim, ask, 3 intermediate values, tell, with every store query they make)
 * over the DARTS space with the synthetic evaluator (no delay) on SQLite or PostgreSQL, and the
 * wall ms per trial is measured over a window of trials ending at each study size (1k, 10k, 50k).
 *
 * Growing a study to 50,000 trials through the loop would take far longer than the windows
 * measured, so the trials before each window are seeded through the store in batches
 * (`Store.importTrials`): random DARTS architectures with the synthetic evaluator's outcome
 * (complete, val_acc = syntheticScore), so the history the worker syncs, the seen keys and the
 * strategy's fitness indexes have the study's full size. Then `warm` trials run through the loop
 * (the worker's first sync of the new rows and the strategy's index update happen there, as once
 * per worker start), then the `window` timed trials (the study's first 20 trials run through the
 * loop, so that it has a run state). The seeded trials count as told to the
 * strategy (the run state's told mark is moved past them): a tell per seeded trial would cost
 * what running them costs, and neither evolution's nor TPE's per-ask work depends on it
 * (evolution's population refills from the warm-up trials' tells; TPE keeps no told state).
 */
import type { StudyId } from '../src/core/ids.js';
import { workerId } from '../src/core/ids.js';
import type { JsonObject } from '../src/core/json.js';
import { Rng } from '../src/core/rng.js';
import { strategyDriver } from '../src/run/strategy-driver.js';
import { Study } from '../src/run/study.js';
import { syntheticEvaluator, syntheticScore } from '../src/run/synthetic.js';
import { getSpace } from '../src/space/registry.js';
import type { ImportedTrial, Store } from '../src/store/index.js';
import { createStrategy } from '../src/strategy/registry.js';

export interface SizeRow {
  readonly size: number;
  /** Mean wall ms per trial over the window of trials ending at `size`. */
  readonly msPerTrial: number;
  /** Trials seeded through the store before this window (0 when the loop ran them). */
  readonly seeded: number;
  /** Wall seconds of the seeding, and of the warm-up trials (first sync of the seeded rows included). */
  readonly seedS: number;
  readonly warmS: number;
}

export interface SizeOptions {
  /** Timed trials per size (default 200). */
  readonly window?: number;
  /** Loop trials run between seeding and the window (default 100). */
  readonly warm?: number;
  readonly onRow?: (r: SizeRow) => void;
}

const SEED_BATCH = 5000;

/**
 * Seeds `n` finished trials (DARTS samples not seen before, synthetic outcomes) into the study and
 * marks them told in its run state. Returns the wall seconds it took.
 */
async function seed(store: Store, id: StudyId, n: number, seen: Set<string>, rng: Rng): Promise<number> {
  const t0 = performance.now();
  const space = getSpace('darts');
  for (let done = 0; done < n; ) {
    const rows: ImportedTrial[] = [];
    while (rows.length < Math.min(SEED_BATCH, n - done)) {
      const arch = space.sample(rng);
      const key = space.key(arch);
      if (seen.has(key)) continue;
      seen.add(key);
      const acc = syntheticScore(arch);
      rows.push({
        arch: arch as unknown as JsonObject,
        archKey: key,
        budget: null,
        params: {},
        workerId: workerId('bench-size-seed'),
        outcome: { state: 'complete', values: [acc], metrics: { val_acc: acc, val_loss: (100 - acc) / 50 }, durationMs: 0 },
      });
    }
    await store.importTrials(id, rows);
    done += rows.length;
  }
  // The run state (src/run/study.ts RunState): every trial below `toldBelow` was told.
  const total = (await store.countTrials(id)).total;
  const st = await store.loadStrategyState(id);
  const run = st.state as { format?: string; toldBelow?: number; toldExtra?: number[] } | null;
  if (run === null || run.format !== 'tsnas.run/1' || (run.toldExtra ?? []).length > 0 || run.toldBelow !== total - n)
    throw new Error(`bench study size: unexpected run state before seeding (${JSON.stringify(run)?.slice(0, 200)}, ${total - n} trials before)`);
  await store.saveStrategyState(id, st.version, { ...run, toldBelow: total } as JsonObject);
  return (performance.now() - t0) / 1000;
}

/**
 * Runs one study up to max(sizes) trials on `store`; before each size, the trials up to
 * size - window - warm are seeded, then warm + window trials run through the loop, the window timed.
 */
export async function studySizeScaling(
  store: Store,
  strategy: string,
  sizes: readonly number[],
  opts: SizeOptions = {},
): Promise<{ rows: SizeRow[]; peakRssMb: number }> {
  const window = opts.window ?? 200;
  const warm = opts.warm ?? 100;
  const want = [...sizes].sort((a, b) => a - b);
  const max = want[want.length - 1]!;
  const space = getSpace('darts');
  const objectives = [{ metric: 'val_acc', direction: 'maximize' as const }];
  const rec = await store.createStudy({
    name: `size-${strategy}`,
    strategy: { name: strategy, options: {} },
    space: { name: 'darts', definition: null },
    evaluator: { name: 'synthetic', options: { steps: 3 } },
    objectives,
    constraints: [],
    seed: 1,
    maxTrials: max,
    config: {},
  });
  const driver = strategyDriver({ strategy: createStrategy(strategy), space, objectives, constraints: [], totalTrials: max });
  const study = new Study(store, rec, driver, syntheticEvaluator({ steps: 3 }), { workerId: workerId('bench-size'), maxFailures: max });
  const seen = new Set<string>();
  const rng = Rng.fromSeed(`bench-size:${strategy}`);
  const rows: SizeRow[] = [];
  let peak = process.memoryUsage().rss;
  // A few trials through the loop first, so that the study has a run state to mark seeded trials in.
  const first = await study.optimize({ maxTrials: 20 });
  if (first.finished !== 20) throw new Error(`${strategy}: the first trials did not run (${first.reason})`);
  let n = 20;
  for (const size of want) {
    if (size < window + warm) throw new Error(`bench study size: size ${size} is below window + warm-up (${window + warm})`);
    const start = size - window - warm;
    let seedS = 0;
    let seeded = 0;
    if (start > n) {
      seeded = start - n;
      seedS = await seed(store, rec.id, seeded, seen, rng);
      n = start;
    }
    // The loop to `size`: the untimed trials (the sync of the seeded rows included), then the window.
    const times: number[] = [];
    const t0 = performance.now();
    const r = await study.optimize({
      maxTrials: size - n,
      onEvent: (e) => {
        if (e.type === 'asked') seen.add(e.trial.archKey ?? '');
        if (e.type === 'finished') times.push(performance.now());
      },
    });
    if (r.finished !== size - n) throw new Error(`${strategy}: the loop finished ${r.finished} of ${size - n} trials (${r.reason})`);
    n = size;
    const w = Math.min(window, times.length - 1);
    const end = times[times.length - 1]!;
    const begin = times[times.length - 1 - w]!;
    const row: SizeRow = { size, msPerTrial: (end - begin) / w, seeded, seedS, warmS: (begin - t0) / 1000 };
    rows.push(row);
    peak = Math.max(peak, process.memoryUsage().rss);
    opts.onRow?.(row);
  }
  const total = (await store.countTrials(rec.id)).total;
  if (total !== max) throw new Error(`bench study size: the study has ${total} trials, expected ${max}`);
  return { rows, peakRssMb: peak / 2 ** 20 };
}
