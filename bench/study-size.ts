/**
 * Study-size scaling (issue 18 item 5), used by bench/study.ts: one process runs Study.optimize on
 * a SQLite file over the DARTS space with the synthetic evaluator (no delay, 3 intermediate
 * values per trial), and the per-trial cost of the whole loop (ask + reports + tell + the loop's
 * store queries) is measured over a window of trials ending at each study size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerId } from '../src/core/ids.js';
import { strategyDriver } from '../src/run/strategy-driver.js';
import { Study } from '../src/run/study.js';
import { syntheticEvaluator } from '../src/run/synthetic.js';
import { getSpace } from '../src/space/registry.js';
import { openStore } from '../src/store/index.js';
import { createStrategy } from '../src/strategy/registry.js';

export interface SizeRow {
  readonly size: number;
  /** Mean wall ms per trial over the window of trials ending at `size`. */
  readonly msPerTrial: number;
}

/** Runs one study to max(sizes) trials; `window` trials before each size are timed. */
export async function studySizeScaling(
  strategy: string,
  sizes: readonly number[],
  opts: { window?: number; onRow?: (r: SizeRow) => void } = {},
): Promise<{ rows: SizeRow[]; peakRssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-size-'));
  const store = await openStore(`sqlite:${join(dir, 's.db')}`);
  try {
    const max = Math.max(...sizes);
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
    const times: number[] = [];
    const rows: SizeRow[] = [];
    const want = [...sizes].sort((a, b) => a - b);
    let peak = process.memoryUsage().rss;
    const r = await study.optimize({
      onEvent: (e) => {
        if (e.type !== 'finished') return;
        times.push(performance.now());
        const n = times.length;
        if (n % 500 === 0) peak = Math.max(peak, process.memoryUsage().rss);
        if (n === want[rows.length]) {
          const w = Math.min(opts.window ?? 200, n - 1);
          const row = { size: n, msPerTrial: (times[n - 1]! - times[n - 1 - w]!) / w };
          rows.push(row);
          opts.onRow?.(row);
        }
      },
    });
    if (r.finished !== max) throw new Error(`${strategy}: study finished ${r.finished} of ${max} trials (${r.reason})`);
    return { rows, peakRssMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
