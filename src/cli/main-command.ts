/** `tsnas main`: the README's main job (src/api/main-job.ts), one seed or several with mean ± std. */
import { MAIN_DEFAULTS, runMainSeeds, seedList, type MainOptions, type MainResult, type MainSeedsResult } from '../api/index.js';
import { POSITIVE, POSITIVE_INT, interruptible, parse } from './args.js';
import type { ExtraCommand } from './commands-extra.js';
import { renderTable } from './table.js';

const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}%`);
const si = (v: number | null) => (v === null ? '-' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : String(v));

/**
 * The comparison table of one seed: test accuracy, params, FLOPs, latency, size, training epochs and
 * the row's seconds. The int8 row is the winner's trained network quantized (no training of its
 * own): its epochs are 0 and its seconds the quantization and evaluation (new user 11 read "3
 * epochs" beside 17 s of quantization as a training); a footnote says so.
 */
export function printMainRun(r: MainResult): string {
  const table = renderTable(
    ['model', 'test acc', 'params', 'FLOPs', 'latency ms (batch 1)', 'size', 'train epochs', 'seconds'],
    r.rows.map((x) => [
      x.model + (x.status === 'complete' ? '' : ` (${x.status})`),
      pct(x.test_acc),
      si(x.params),
      si(x.flops),
      x.latency_ms === null ? null : Number(x.latency_ms.toFixed(3)),
      x.size_bytes === null ? '-' : `${(x.size_bytes / 1024).toFixed(0)} KiB`,
      x.key === 'compressed' ? 0 : x.epochs,
      Math.round(x.train_seconds),
    ]),
  );
  const q = r.rows.find((x) => x.key === 'compressed' && x.status === 'complete');
  const note = q ? `${q.model}: the winner's trained network quantized, not trained again; its seconds are the quantization and its evaluation\n` : '';
  const failures = r.rows.filter((x) => x.error).map((x) => `${x.model}: ${x.error}\n`);
  return (
    `seed ${r.seed} (study ${r.study}):\n` +
    table +
    note +
    failures.join('') +
    // The search time counts earlier runs of a resumed study, the total only this run: said so
    // (new user 11 saw 'total 0.1 min (search 2.2 min'); the winner's budget in training samples, as the search log says.
    `${r.searchSeconds > r.seconds ? 'this run' : 'total'} ${(r.seconds / 60).toFixed(1)} min (search ${(r.searchSeconds / 60).toFixed(1)} min${r.searchSeconds > r.seconds ? ', counting earlier runs' : ''}, ${r.trials} trials; winner #${r.winnerTrial}, ` +
    `val_acc ${r.winnerSearchValAcc?.toFixed(2) ?? '-'} after ${r.winnerBudget === null ? '-' : (r.winnerBudget * r.budgetSamples).toLocaleString('en-US')} training samples of the subset)\n` +
    `winner: ${JSON.stringify(r.winner)}\n` +
    (r.reportPath ? `report: ${r.reportPath}\n` : '')
  );
}

/** Every seed's table, then mean ± sample std of each model's test accuracy over the seeds. */
export function printMainSeeds(r: MainSeedsResult): string {
  const runs = r.runs.map(printMainRun).join('\n');
  if (r.runs.length < 2) return runs;
  const stat = Object.entries(r.testAcc).map(([k, s]) => [
    r.runs[0]!.rows.find((x) => x.key === k)?.model ?? k,
    `${s.mean.toFixed(2)} ± ${s.std === null ? '-' : s.std.toFixed(2)}`,
    s.min.toFixed(2),
    s.max.toFixed(2),
    s.n,
  ]);
  return `${runs}\ntest accuracy over seeds ${r.runs.map((x) => x.seed).join(',')} (mean ± sample std, %):\n${renderTable(['model', 'mean ± std', 'min', 'max', 'n'], stat)}total ${(r.seconds / 60).toFixed(1)} min\n`;
}

export const mainCmd: ExtraCommand = {
  summary: "the README's main job: search Fashion-MNIST, retrain the winner, compress it, compare with two baselines",
  help: `usage: tsnas main [options]

The README's main job on Fashion-MNIST: ASHA over a chain-CNN space joined with training
hyperparameters (candidates trained on ${(MAIN_DEFAULTS.minBudget * MAIN_DEFAULTS.budgetSamples).toLocaleString('en-US')} to ${(MAIN_DEFAULTS.maxBudget * MAIN_DEFAULTS.budgetSamples).toLocaleString('en-US')} training images, ${MAIN_DEFAULTS.workers} worker processes,
the study in SQLite), then the winner, a hand-designed VGG-style network of the same MACs and LeNet
trained with one final recipe on all 60,000 training images; prints test accuracy, params, FLOPs,
latency, weights size and train time, and writes an HTML report of the study (with its plots as PNG)
whose path it prints. Rerunning after an interruption
(Ctrl-C or kill -9) resumes: finished candidates and finished final trainings are not redone.

options:
  --storage URL           default ${MAIN_DEFAULTS.storage}
  --study NAME            default ${MAIN_DEFAULTS.study} (seed k > 0: NAME-seed<k>)
  --seeds 0,1,2           run once per seed and print mean ± std of the test accuracies
  --seed N                one seed (default 0)
  --trials N              search budget in trials, promotions included (default ${MAIN_DEFAULTS.trials})
  --search-minutes M      wall-clock cap of the search phase (default ${MAIN_DEFAULTS.searchSeconds / 60})
  --job-minutes M         time budget of the whole job: the winner is the best candidate whose final
                          training is estimated to fit what the search leaves (default ${MAIN_DEFAULTS.jobSeconds / 60}; 0 = no limit)
  --final-epochs N        epochs of the final trainings (default ${MAIN_DEFAULTS.finalEpochs})
  --max-macs N            MACs cap per image for candidates (default ${MAIN_DEFAULTS.maxMacs})
  --workers N             search worker processes (default ${MAIN_DEFAULTS.workers})
  --threads N             libtorch threads in all (default ${MAIN_DEFAULTS.threads})
  --data-dir DIR          Fashion-MNIST idx files (default /usr/share/datasets/fashion-mnist)
  --no-report             do not write the HTML report
  --json                  print the results as JSON
`,
  async run(argv) {
    let seeds: number[] = [];
    const { flags, num } = parse(
      argv,
      {
        storage: { type: 'string' },
        study: { type: 'string' },
        trials: { type: 'string', number: POSITIVE_INT },
        'search-minutes': { type: 'string', number: POSITIVE },
        'job-minutes': { type: 'string', number: POSITIVE },
        'final-epochs': { type: 'string', number: POSITIVE_INT },
        'max-macs': { type: 'string', number: POSITIVE_INT },
        workers: { type: 'string', number: POSITIVE_INT },
        threads: { type: 'string', number: POSITIVE_INT },
        'data-dir': { type: 'string' },
        seed: { type: 'string' },
        seeds: { type: 'string', list: true },
        'no-report': { type: 'boolean' },
        json: { type: 'boolean' },
      },
      0,
      (p, issues) => {
        const { seeds: list, seed } = p.flags;
        seeds = issues.take(
          () =>
            typeof list === 'string'
              ? seedList({ seeds: list, ...(seed === undefined ? {} : { seed: String(seed) }) })
              : seedList({ repeats: '1', ...(typeof seed === 'string' ? { seed } : {}) }),
          [],
        );
      },
    );
    if (flags['help']) return process.stdout.write(mainCmd.help), 0;
    const o: { -readonly [K in keyof MainOptions]: MainOptions[K] } = {};
    if (typeof flags['storage'] === 'string') o.storage = flags['storage'];
    if (typeof flags['study'] === 'string') o.study = flags['study'];
    if (typeof flags['data-dir'] === 'string') o.dataDir = flags['data-dir'];
    const n = (k: string, set: (v: number) => void) => {
      const v = num(k);
      if (v !== undefined) set(v);
    };
    n('trials', (v) => (o.trials = v));
    n('search-minutes', (v) => (o.searchSeconds = v * 60));
    n('job-minutes', (v) => (o.jobSeconds = v * 60));
    n('final-epochs', (v) => (o.finalEpochs = v));
    n('max-macs', (v) => (o.maxMacs = v));
    n('workers', (v) => (o.workers = v));
    n('threads', (v) => (o.threads = v));
    if (flags['no-report']) o.report = false;
    const ctl = interruptible('finished stages are kept: the same command resumes there');
    const r = await runMainSeeds(seeds, { ...o, signal: ctl.signal, log: (s) => process.stderr.write(s + '\n') });
    process.stdout.write(flags['json'] ? JSON.stringify(r, null, 2) + '\n' : printMainSeeds(r));
    // A failed compression is reported in the table but does not fail the job.
    return r.runs.some((x) => x.rows.some((y) => y.key !== 'compressed' && y.status !== 'complete')) ? 1 : 0;
  },
};
