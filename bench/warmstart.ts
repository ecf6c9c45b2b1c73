/**
 * `npm run bench -- warmstart [--seeds 10] [--source-trials 30] [--trials 100] [--json]`
 *
 * Issue 13 item 4, warm start: on the NAS-Bench-201 CIFAR-10 table (bundled), per seed:
 *  - an earlier study: random search, `--source-trials` queries (seed 1000 + s);
 *  - a cold study: regularized evolution, `--trials` queries (seed s);
 *  - a warm study: the same evolution with `warm_start: [earlier]` (its trials imported and told
 *    to the strategy before the first ask), `--trials` new queries.
 * Reported per side: best validation accuracy (what the search sees) and its test accuracy after
 * `--trials` queries, and the number of new queries the warm study needed to reach the cold
 * study's final best validation accuracy (0 when an imported trial already matched it). All
 * through the real API and SQLite (src/run/warm-start.ts), not a simulation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { studyTrials } from '../src/api/results.js';
import { prepareSearch, search } from '../src/api/study.js';

export default async function main(argv: string[]): Promise<void> {
  const a = { seeds: 10, sourceTrials: 30, trials: 100, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--seeds') a.seeds = Number(argv[++i]);
    else if (k === '--source-trials') a.sourceTrials = Number(argv[++i]);
    else if (k === '--trials') a.trials = Number(argv[++i]);
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-warm-'));
  const storage = `sqlite:${join(dir, 'w.db')}`;
  const run = (study: string, strategy: string, trials: number, seed: number, extra: Record<string, unknown> = {}) =>
    search(prepareSearch({ config: { study, storage, space: 'nb201', strategy, evaluator: 'nb201', trials, seed, ...extra } }));
  const rows: { seed: number; cold_val: number; cold_test: number; warm_val: number; warm_test: number; warm_queries_to_cold: number | null }[] = [];
  try {
    for (let s = 0; s < a.seeds; s++) {
      await run(`earlier-${s}`, 'random', a.sourceTrials, 1000 + s);
      const cold = await run(`cold-${s}`, 'evolution', a.trials, s);
      await run(`warm-${s}`, 'evolution', a.trials, s, { warm_start: [{ study: `earlier-${s}` }] });
      const coldBest = cold.best!.values![0]!;
      const { trials } = await studyTrials(storage, `warm-${s}`);
      let best = -Infinity;
      let bestT = trials[0]!;
      let reached: number | null = null;
      let newQueries = 0;
      for (const t of trials) {
        const imported = t.userAttrs['warm_start'] !== undefined;
        if (!imported) newQueries++;
        const v = t.values?.[0];
        if (t.state === 'complete' && v !== undefined && v > best) {
          best = v;
          bestT = t;
        }
        if (reached === null && best >= coldBest) reached = newQueries;
      }
      const row = {
        seed: s,
        cold_val: coldBest,
        cold_test: cold.best!.metrics!['test_acc']!,
        warm_val: best,
        warm_test: bestT.metrics!['test_acc']!,
        warm_queries_to_cold: reached,
      };
      rows.push(row);
      console.log(a.json ? JSON.stringify(row) : `  seed ${s}: ${JSON.stringify(row)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const reachedRows = rows.filter((r) => r.warm_queries_to_cold !== null);
  const summary = {
    seeds: a.seeds,
    source_trials: a.sourceTrials,
    trials: a.trials,
    cold_test_at_trials: +mean(rows.map((r) => r.cold_test)).toFixed(3),
    warm_test_at_trials: +mean(rows.map((r) => r.warm_test)).toFixed(3),
    warm_reached_cold: reachedRows.length,
    warm_mean_queries_to_cold: reachedRows.length ? +mean(reachedRows.map((r) => r.warm_queries_to_cold!)).toFixed(1) : null,
  };
  if (a.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `NB201 CIFAR-10, evolution, ${a.trials} queries: cold test acc ${summary.cold_test_at_trials}%, warm-started (from ${a.sourceTrials} random trials) ${summary.warm_test_at_trials}%; ` +
        `the warm study reached the cold study's ${a.trials}-query best validation accuracy in ${summary.warm_reached_cold}/${a.seeds} seeds, after ${summary.warm_mean_queries_to_cold} new queries on average (cold: ${a.trials})`,
    );
}
