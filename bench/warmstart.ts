/**
 * `npm run bench -- warmstart [--seeds 10] [--source evolution|random] [--source-trials 50] [--trials 100] [--json]`
 *
 * Issue 13 item 4, warm start: on the NAS-Bench-201 CIFAR-10 table (bundled), per seed s:
 *  - an earlier study of the same task: `--source` (default `evolution`: regularized evolution,
 *    what a user most likely ran before; `random`: random search, the setting of sessions <= 7)
 *    with `--source-trials` queries (default 50: half the new study's default budget) and its own seed 1000 + s;
 *  - a cold study: regularized evolution, `--trials` queries (seed s);
 *  - a warm study: the same evolution with `warm_start: [earlier]` (its trials imported and told
 *    to the strategy before the first ask, which seeds the population with the best of them:
 *    src/strategy/evolution.ts), `--trials` new queries.
 * Reported per seed: best validation accuracy (what the search sees) and its test accuracy after
 * `--trials` queries on both sides; the earlier study's best validation accuracy; and the number of
 * new queries the warm study needed to reach the cold study's final best validation accuracy (0
 * when an imported trial already matched it; null = not within `--trials`). All through the real
 * API and SQLite (src/run/warm-start.ts), not a simulation; tabular, seeded, so the figures do not
 * depend on the machine's load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NasError } from '../src/core/errors.js';
import { studyTrials } from '../src/api/results.js';
import { prepareSearch, search } from '../src/api/study.js';
import { parseBenchArgs } from './args.js';

export default async function main(argv: string[]): Promise<void> {
  const o = parseBenchArgs(argv, 'warmstart', { seeds: 'number', source: 'string', 'source-trials': 'number', trials: 'number', json: 'flag' });
  const a = { seeds: o.seeds ?? 10, source: o.source ?? 'evolution', sourceTrials: o['source-trials'] ?? 50, trials: o.trials ?? 100, json: o.json ?? false };
  if (a.source !== 'evolution' && a.source !== 'random')
    throw new NasError('invalid_config', `--source must be evolution or random, got ${JSON.stringify(a.source)}`, { field: 'source', hint: 'evolution (default) or random' });
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-warm-'));
  const storage = `sqlite:${join(dir, 'w.db')}`;
  const run = (study: string, strategy: string, trials: number, seed: number, extra: Record<string, unknown> = {}) =>
    search(prepareSearch({ config: { study, storage, space: 'nb201', strategy, evaluator: 'nb201', trials, seed, ...extra } }));
  const rows: { seed: number; source_val: number; cold_val: number; cold_test: number; warm_val: number; warm_test: number; warm_queries_to_cold: number | null }[] = [];
  try {
    for (let s = 0; s < a.seeds; s++) {
      const src = await run(`earlier-${s}`, a.source, a.sourceTrials, 1000 + s);
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
        source_val: src.best!.values![0]!,
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
  const q = reachedRows.map((r) => r.warm_queries_to_cold!).sort((x, y) => x - y);
  const summary = {
    seeds: a.seeds,
    source: a.source,
    source_trials: a.sourceTrials,
    trials: a.trials,
    cold_test_at_trials: +mean(rows.map((r) => r.cold_test)).toFixed(3),
    warm_test_at_trials: +mean(rows.map((r) => r.warm_test)).toFixed(3),
    warm_reached_cold: reachedRows.length,
    warm_reached_cold_in_fewer: rows.filter((r) => r.warm_queries_to_cold !== null && r.warm_queries_to_cold < a.trials).length,
    source_already_matched: rows.filter((r) => r.warm_queries_to_cold === 0).length,
    warm_mean_queries_to_cold: reachedRows.length ? +mean(q).toFixed(1) : null,
    warm_median_queries_to_cold: q.length ? q[Math.floor((q.length - 1) / 2)]! : null,
  };
  if (a.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `NB201 CIFAR-10, evolution, ${a.trials} queries: cold test acc ${summary.cold_test_at_trials}%, warm-started (from ${a.sourceTrials} ${a.source} trials) ${summary.warm_test_at_trials}%; ` +
        `the warm study reached the cold study's ${a.trials}-query best validation accuracy in ${summary.warm_reached_cold}/${a.seeds} seeds (in fewer than ${a.trials} new queries: ${summary.warm_reached_cold_in_fewer}; already among the imported trials: ${summary.source_already_matched}), ` +
        `after ${summary.warm_mean_queries_to_cold} new queries on average (median ${summary.warm_median_queries_to_cold}; cold: ${a.trials})`,
    );
}
