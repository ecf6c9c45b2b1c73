/**
 * `npm run bench -- tabular [--seeds 5] [--seed-from 0] [--trials 30] [--epochs 30] [--folds 5]
 *                           [--objective val_loss|val_acc] [--datasets wine,breast_cancer]
 *                           [--no-cv-baseline] [--results FILE] [--json]`
 *
 * `--seed-from K --seeds N` runs split seeds K..K+N-1, so a long run can be split into pieces that
 * each hold the benchmark lock for a short time; `--results FILE` appends every seed's line to FILE
 * (JSON lines) and prints the summary over ALL lines in FILE that were run with the same trials,
 * epochs and folds (a seed run twice counts once: the last line).
 *
 * Issue 17 fault 17: does a search tell candidates apart on small tabular data? On scikit-learn's
 * wine (178 rows) and breast-cancer (569 rows) data, for each split seed (a stratified 20% test
 * split, the same rows on both sides): a TPE search over `joint_mlp` (architecture + training
 * hyperparameters) with the train evaluator's k-fold cross-validation (`cv_folds`) and ties on the
 * mean validation accuracy broken by the mean validation loss (`--objective val_loss`: the mean
 * validation loss is the objective, ties broken by accuracy; the line's `tsnas_cv_val_acc` is then
 * the winner's objective value, a loss); its winner retrained on all
 * non-test rows and evaluated on the test rows. Peer, in the same run: scikit-learn's default
 * `MLPClassifier` with `StandardScaler` fitted on the same non-test rows (bench/sklearn_mlp.py,
 * Debian's /usr/bin/python3 + python3-sklearn). With `--cv-baseline` (default on) the same search
 * without cross-validation or tie-break (the setup the issue reported) is run as well.
 * Reported: test accuracy mean ± std over the seeds per side, the per-seed wins, and the ratio.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareSearch, search } from '../src/api/study.js';
import { prepareData } from '../src/data/prepare.js';
import { trainArchitecture } from '../src/eval/train.js';
import { parseBenchArgs } from './args.js';

type Objective = 'val_loss' | 'val_acc';
const OBJECTIVES: readonly Objective[] = ['val_loss', 'val_acc'];

interface Args {
  objective: Objective;
  seeds: number;
  seedFrom: number;
  results: string | undefined;
  trials: number;
  epochs: number;
  folds: number;
  datasets: string[];
  cvBaseline: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'tabular', {
    seeds: 'number', 'seed-from': 'number', results: 'string', trials: 'number', epochs: 'number', folds: 'number', datasets: 'list', 'no-cv-baseline': 'flag', json: 'flag', objective: 'string',
  });
  const objective = (o.objective ?? 'val_acc') as Objective;
  if (!OBJECTIVES.includes(objective)) throw new Error(`tabular: --objective must be one of ${OBJECTIVES.join(', ')}, got ${JSON.stringify(o.objective)}`);
  return {
    objective,
    seeds: o.seeds ?? 5, seedFrom: o['seed-from'] ?? 0, results: o.results, trials: o.trials ?? 30, epochs: o.epochs ?? 30, folds: o.folds ?? 5,
    datasets: o.datasets ?? ['wine', 'breast_cancer'], cvBaseline: !o['no-cv-baseline'], json: o.json ?? false,
  };
}

const PY = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./sklearn_mlp.py', import.meta.url));

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: m, std: s };
}

/** One search on `csv` with split seed `seed`; the winner retrained on all non-test rows, its test accuracy. */
async function searchAndRetrain(dir: string, csv: string, seed: number, a: Args, cv: boolean): Promise<{ test_acc: number; val_acc: number; best_trial: number; search_s: number; winner: unknown }> {
  const study = `${csv.replace(/^.*\//, '').replace(/\.csv$/, '')}-s${seed}-${cv ? 'cv' : 'plain'}`;
  const p = prepareSearch({
    config: {
      study,
      storage: `sqlite:${join(dir, 'bench.db')}`,
      space: 'joint_mlp',
      strategy: 'tpe',
      seed,
      trials: a.trials,
      evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: a.epochs, split_seed: seed, keep_weights: false, skip_test: true, threads: 1, ...(cv ? { cv_folds: a.folds } : {}) },
      objectives: [
        !cv ? { metric: 'val_acc', direction: 'maximize' } : a.objective === 'val_acc' ? { metric: 'val_acc', direction: 'maximize', tie_break: 'val_loss' } : { metric: 'val_loss', direction: 'minimize', tie_break: 'val_acc' },
      ],
    },
  });
  const t0 = performance.now();
  const r = await search(p);
  const searchS = (performance.now() - t0) / 1000;
  if (!r.best) throw new Error(`${csv} seed ${seed}: no complete trial`);
  // Retrain the winner on every non-test row (validation fraction 0: the same test rows as the peer's).
  const data = await prepareData({ kind: 'csv', path: csv }, { seed, valFraction: 0 });
  const t = await trainArchitecture(r.best.arch, data, { epochs: a.epochs, seed, threads: 1 });
  if (t.outcome.status !== 'complete') throw new Error(`${csv} seed ${seed}: retraining the winner ${t.outcome.status}`);
  return { test_acc: t.outcome.metrics['test_acc']!, val_acc: r.best.values![0]!, best_trial: r.best.number, search_s: searchS, winner: r.best.arch };
}

interface SeedLine {
  dataset: string;
  /** The CV search's objective (lines written before it was a choice: val_acc). */
  objective?: Objective;
  seed: number;
  trials: number;
  epochs: number;
  folds: number;
  tsnas_cv_test_acc: number;
  sklearn_test_acc: number;
  tsnas_plain_test_acc?: number;
}

/** The lines to summarise for `name`: this run's, or with --results every matching line of the file (last per seed). */
function linesFor(name: string, a: Args, run: readonly SeedLine[]): SeedLine[] {
  if (a.results === undefined || !existsSync(a.results)) return run.filter((l) => l.dataset === name);
  const bySeed = new Map<number, SeedLine>();
  for (const t of readFileSync(a.results, 'utf8').split('\n')) {
    if (!t.trim()) continue;
    const l = JSON.parse(t) as SeedLine;
    if (l.dataset === name && l.trials === a.trials && l.epochs === a.epochs && l.folds === a.folds && (l.objective ?? 'val_acc') === a.objective) bySeed.set(l.seed, l);
  }
  return [...bySeed.values()].sort((x, y) => x.seed - y.seed);
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-tabular-'));
  const run: SeedLine[] = [];
  try {
    execFileSync(PY, [PEER, 'export', dir]);
    for (const name of a.datasets) {
      const csv = join(dir, `${name}.csv`);
      const seeds = Array.from({ length: a.seeds }, (_, i) => a.seedFrom + i);
      // The test rows of each split seed, for the peer (prepareData's stratified 20% test split).
      const splits: Record<string, number[]> = {};
      for (const s of seeds) splits[String(s)] = Array.from((await prepareData({ kind: 'csv', path: csv }, { seed: s })).test.indices);
      const splitsFile = join(dir, `${name}-splits.json`);
      writeFileSync(splitsFile, JSON.stringify(splits));
      const peer = JSON.parse(execFileSync(PY, [PEER, 'eval', csv, splitsFile], { encoding: 'utf8' })) as Record<string, number>;
      for (const s of seeds) {
        const r = await searchAndRetrain(dir, csv, s, a, true);
        const line: SeedLine & Record<string, unknown> = {
          dataset: name,
          objective: a.objective,
          seed: s,
          trials: a.trials,
          epochs: a.epochs,
          folds: a.folds,
          tsnas_cv_test_acc: r.test_acc,
          sklearn_test_acc: peer[String(s)]!,
          tsnas_cv_val_acc: r.val_acc,
          best_trial: r.best_trial,
          search_s: +r.search_s.toFixed(1),
          winner: r.winner,
        };
        if (a.cvBaseline) {
          const b = await searchAndRetrain(dir, csv, s, a, false);
          Object.assign(line, { tsnas_plain_test_acc: b.test_acc, plain_val_acc: b.val_acc, plain_best_trial: b.best_trial });
        }
        run.push(line);
        if (a.results !== undefined) appendFileSync(a.results, JSON.stringify(line) + '\n');
        console.log(a.json ? JSON.stringify(line) : `  ${name} seed ${s}: ${JSON.stringify(line)}`);
      }
      const lines = linesFor(name, a, run);
      const ours = lines.map((l) => l.tsnas_cv_test_acc);
      const sk = lines.map((l) => l.sklearn_test_acc);
      const plain = lines.flatMap((l) => (l.tsnas_plain_test_acc === undefined ? [] : [l.tsnas_plain_test_acc]));
      const n = lines.length;
      const o = meanStd(ours);
      const k = meanStd(sk);
      // Accuracies are k/n computed in two languages: 97.22222222222223 and 97.22222222222221 are the same 35/36.
      const same = (x: number, y: number) => Math.abs(x - y) < 1e-9;
      const wins = lines.filter((_, i) => ours[i]! > sk[i]! && !same(ours[i]!, sk[i]!)).length;
      const ties = lines.filter((_, i) => same(ours[i]!, sk[i]!)).length;
      const diff = meanStd(lines.map((_, i) => ours[i]! - sk[i]!));
      const summary: Record<string, unknown> = {
        dataset: name,
        seeds: n,
        tsnas_cv: { mean: +o.mean.toFixed(2), std: +o.std.toFixed(2) },
        sklearn_default_mlp: { mean: +k.mean.toFixed(2), std: +k.std.toFixed(2) },
        paired_diff: { mean: +diff.mean.toFixed(2), se: +(diff.std / Math.sqrt(n)).toFixed(2) },
        wins,
        ties,
        losses: n - wins - ties,
        ...(plain.length ? { tsnas_plain: { mean: +meanStd(plain).mean.toFixed(2), std: +meanStd(plain).std.toFixed(2), n: plain.length } } : {}),
      };
      if (a.json) {
        console.log(JSON.stringify(summary));
        console.log(JSON.stringify({ figure: `${name}_test_acc_ratio_vs_sklearn`, value: +(o.mean / k.mean).toFixed(4) }));
      } else
        console.log(
          `${name} (${n} split seeds${a.results ? ` in ${a.results}` : ''}): tsnas TPE + ${a.folds}-fold CV, objective ${a.objective} (tie-break ${a.objective === 'val_acc' ? 'val_loss' : 'val_acc'}) ${o.mean.toFixed(2)} ± ${o.std.toFixed(2)}%` +
            (plain.length ? `, without CV/tie-break ${meanStd(plain).mean.toFixed(2)} ± ${meanStd(plain).std.toFixed(2)}% (n=${plain.length})` : '') +
            `; scikit-learn MLPClassifier() + StandardScaler ${k.mean.toFixed(2)} ± ${k.std.toFixed(2)}%; paired difference ${diff.mean.toFixed(2)} ± ${(diff.std / Math.sqrt(n)).toFixed(2)} (s.e.) points;` +
            ` per seed ${wins} wins, ${ties} ties, ${n - wins - ties} losses; ratio ${(o.mean / k.mean).toFixed(4)}`,
        );
    }
    console.log(`(${a.trials} trials of ${a.epochs} epochs per search, ${a.folds}-fold CV, test rows: stratified 20% of each data set)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
