/** Commands that need the trainer: `tsnas train` (one architecture) and `tsnas main` (the README's main job). */
import { DATASET_KINDS, DEFAULT_STORAGE, NasError, archOfStudy, seedList, train, trainRepeated, type RepeatedTrain, type Stat, type TrainSummary } from '../api/index.js';
import { readArchRecord, recordOfEvaluator } from '../api/model-record.js';
import { NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, datasetFileOfFlags, flagError, withFlagNames, interruptible, numFlag, parse, TRAIN_ELSEWHERE, UsageError, type FlagSpec } from './args.js';
import { mainCmd } from './main-command.js';
import { formatCell, renderTable } from './table.js';
import { DATASET_SYNONYMS, HEADER_SYNONYMS } from '../core/synonyms.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
// The dashboard server is the other front end beside the CLI; both reach the store only through src/api.
import { DEFAULT_PORT, startDashboard } from '../server/index.js';

export interface ExtraCommand {
  /** One line for `tsnas --help` (every command is listed there). */
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: string[]) => Promise<number>;
}

export { UsageError, parse, numFlag, interruptible };

/**
 * A completed training whose validation or test accuracy is at or near chance (at most 1.5 x 100/k %
 * for k classes, k from the confusion matrix) is warned about, naming the fix (the sibling of
 * finetune's chanceWarnings, session 9): said on stderr, with the table or --json.
 */
export function trainChanceWarning(s: TrainSummary): string | undefined {
  const k = s.classes?.length ?? s.confusion?.length;
  if (s.status !== 'complete' || !k) return undefined;
  const chance = 100 / k;
  const near = (['val_acc', 'test_acc'] as const).filter((m) => typeof s.metrics[m] === 'number' && s.metrics[m]! <= 1.5 * chance);
  if (near.length === 0) return undefined;
  return `${near.map((m) => `${m} ${s.metrics[m]!.toFixed(2)}%`).join(' and ')} ${near.length > 1 ? 'are' : 'is'} at or near chance (${chance.toFixed(1)}% for ${k} classes) after ${s.epochs} epoch(s): train longer (--epochs), or change the learning rate (the architecture file's hparams.lr)`;
}

/** `data: fashion_mnist, 3000 train / 600 val / 10000 test rows (...)`: what a training used and where each setting came from. */
export function dataLine(d: TrainSummary['data']): string {
  if (!d) return '';
  const from = d.record ? `; from ${d.record}: ${d.recorded.length ? d.recorded.join(', ') : 'nothing'}${d.overridden.length ? `; given instead of the record: ${d.overridden.join(', ')}` : ''}` : '';
  return `data: ${d.dataset}, ${d.train} train / ${d.val} val / ${d.test} test rows${d.settings ? ` (${d.settings})` : ''}${from}\n`;
}

function printTrain(s: TrainSummary): string {
  const rows = [...Object.entries(s.metrics), ...Object.entries(s.costs)].map(([k, v]) => [k, v]);
  return (
    (s.dataNotes ?? []).map((n) => `data: ${n}\n`).join('') +
    dataLine(s.data) +
    `status: ${s.status}${s.error ? ` (${s.error})` : ''}; ${s.epochs} epoch(s) in ${s.seconds.toFixed(1)} s\n` + (rows.length ? renderTable(['metric', 'value'], rows) : '')
  );
}

/** `mean ± std` (sample std; `-` for one run), min, max and n per metric; `keys` picks and orders rows. */
export function statTable(summary: Readonly<Record<string, Stat>>, keys: readonly string[] = Object.keys(summary)): string {
  const rows = keys.flatMap((k) => {
    const s = summary[k];
    return s ? [[k, `${formatCell(s.mean)} ± ${s.std === null ? '-' : formatCell(s.std)}`, s.min, s.max, s.n]] : [];
  });
  return renderTable(['metric', 'mean ± std', 'min', 'max', 'n'], rows);
}

/** The metrics shown per seed and summarised in the text output of `train --seeds` (--json has all). */
const SEED_METRICS = ['test_acc', 'test_f1', 'test_loss', 'val_acc', 'val_f1', 'val_loss', 'train_loss', 'train_seconds', 'latency_ms'];

function printRepeatedTrain(r: RepeatedTrain): string {
  const keys = SEED_METRICS.filter((k) => r.runs.some((x) => x.metrics[k] !== undefined || x.costs[k] !== undefined));
  const perSeed = renderTable(
    ['seed', 'status', 'epochs', ...keys],
    r.runs.map((x) => [x.seed, x.status, x.epochs, ...keys.map((k) => x.metrics[k] ?? x.costs[k] ?? null)]),
  );
  const failures = r.runs.filter((x) => x.status !== 'complete').map((x) => `seed ${x.seed} ${x.status}${x.error ? `: ${x.error}` : ''}\n`);
  const ok = r.runs.length - r.failed;
  return (
    dataLine(r.runs[0]?.data) +
    perSeed +
    failures.join('') +
    '\n' +
    (ok > 0 ? statTable(r.summary, keys) : '') +
    `${ok} of ${r.runs.length} seed(s) complete${r.failed ? `; ${r.failed} failed, left out of the statistics` : ''}${r.aborted ? '; interrupted' : ''}` +
    ` (std: sample standard deviation, n-1)\n`
  );
}

/** `tsnas train`'s flags (also how the API's errors about the options they set are named: withFlagNames). */
export const TRAIN_FLAGS: FlagSpec = {
  dataset: { type: 'string', choices: DATASET_KINDS, synonyms: DATASET_SYNONYMS },
  'data-dir': { type: 'string' },
  path: { type: 'string' },
  label: { type: 'string' },
  header: { type: 'string', choices: ['auto', 'true', 'false'], synonyms: HEADER_SYNONYMS },
  'val-fraction': { type: 'string', number: { integer: false, min: 0.01, max: 0.9 } },
  'test-fraction': { type: 'string', number: { integer: false, min: 0.01, max: 0.9 } },
  epochs: { type: 'string', number: POSITIVE_INT },
  'train-per-class': { type: 'string', number: POSITIVE_INT },
  threads: { type: 'string', number: POSITIVE_INT },
  'time-limit': { type: 'string', number: POSITIVE },
  seed: { type: 'string' },
  'split-seed': { type: 'string', number: NON_NEGATIVE_INT },
  seeds: { type: 'string', list: true },
  repeats: { type: 'string' },
  'no-latency': { type: 'boolean' },
  'nb201-width': { type: 'string', number: POSITIVE_INT },
  'nb201-cells': { type: 'string', number: POSITIVE_INT },
  'darts-width': { type: 'string', number: POSITIVE_INT },
  'darts-layers': { type: 'string', number: POSITIVE_INT },
  'no-record': { type: 'boolean' },
  json: { type: 'boolean' },
  study: { type: 'string' },
  storage: { type: 'string' },
  trial: { type: 'string', number: NON_NEGATIVE_INT },
};

const trainCmd: ExtraCommand = {
  summary: 'train one architecture (JSON file) on a dataset; print metrics and costs (--seeds: mean ± std)',
  help: `usage: tsnas train ARCH.json|EXPORT_DIR [--dataset KIND] [options]   (EXPORT_DIR: a winner written by tsnas export)
       tsnas train --study NAME [--storage URL] [--trial N] [--dataset KIND] [options]

Trains one architecture (a NetworkArch JSON, or {"arch": ..., "hparams": ...} as exported by
tsnas export) and prints validation and test metrics and costs (params, FLOPs, latency). The
architecture is a JSON file, a directory written by tsnas export (its arch.json; the same
directories tsnas finetune and compress take), or a study's best trial (--study) or trial N
(--trial), trained anew from scratch.

An exported winner (metrics.json beside arch.json) is rebuilt as it was searched: the recorded
builder options (nb201 width/cells, darts width/layers) and data settings (dataset, files,
train_per_class, val_per_class, val/test fraction, split seed) are used unless a flag gives them
(the output's data: line says which came from the record and which were given instead), and a
network whose parameter count differs from the recorded one is an error (a warning when a flag
changed the data or builder options).

options:
  --dataset KIND          fashion_mnist, mnist, cifar10, digits, csv (default: an export's or the study's record)
  --study NAME            train the architecture of this study's best (feasible) trial
  --storage URL           the study's storage (default sqlite:./tsnas.db)
  --trial N               with --study: trial number N instead of the best
  --data-dir DIR          idx/CIFAR files (default for fashion_mnist: /usr/share/datasets/fashion-mnist)
  --path FILE             digits/csv file (--data-dir FILE is accepted too, as in finetune/compress)
  --label COL             the CSV label column: a header name or a 0-based index (default: last)
  --header auto|true|false  whether CSV line 1 is a header (default auto: yes when a cell is not a
                          number above numbers, is the --label name, the cells are the column
                          indices 0..n-1 / 1..n, the label cell would be a class of one row, or
                          integers stand above decimals; the choice is printed)
  --val-fraction F        held out for validation (default 0.1)
  --test-fraction F       digits/csv: held out for test (default 0.2)
  --epochs N              default: the record's epochs (an export or --study), else 10
  --train-per-class N     class-balanced training subset (low fidelity)
  --threads N             libtorch threads
  --time-limit SECONDS
  --seed N                default 0 (--study: the trial's seed); fixes weight init, batch order and augmentation
  --split-seed N          fixes the train/validation(/test) split, default 0
  --seeds 0,1,2           train once per seed; print each seed's metrics and, per metric,
                          mean ± sample std (n-1), min, max over the seeds that completed
  --repeats N             the same with seeds --seed, --seed+1, ..., --seed+N-1
  --nb201-width N, --nb201-cells N   NB201 network size (default: the record's, else C=16, N=5)
  --darts-width N, --darts-layers N  DARTS network size (default: the record's, else the proxy's)
  --no-record             ignore an export's metrics.json (build and data only from the flags)
  --no-latency            skip the latency measurement
  --json                  machine-readable result (with --seeds: {seeds, runs, failed, summary:
                          {metric: {mean, std, min, max, n}}})

With --seeds or --repeats only the training seed varies: every run uses the same data split
(--split-seed), so the spread is that of initialisation, data order and augmentation. A failed seed
is reported and left out of the statistics; the exit code is then 1.
`,
  async run(argv) {
    let seeds: number[] | undefined;
    const { flags, args, num } = parse(
      argv,
      TRAIN_FLAGS,
      1,
      (p, issues) => {
        const sv = (k: string) => (typeof p.flags[k] === 'string' ? (p.flags[k] as string) : undefined);
        if (p.flags['seeds'] !== undefined || p.flags['repeats'] !== undefined) seeds = issues.take(() => seedList({ seeds: sv('seeds'), repeats: sv('repeats'), seed: sv('seed') }), undefined);
        else if (sv('seed') !== undefined) issues.take(() => seedList({ repeats: '1', seed: sv('seed') }), undefined);
        // The architecture: a file, an export directory (readArchPath), or a study's trial.
        const st = p.flags['study'];
        if (p.args[0] === undefined && typeof st !== 'string') issues.add(new UsageError('give the architecture: ARCH.json, a directory written by tsnas export, or --study NAME [--trial N]'));
        if (p.args[0] !== undefined && typeof st === 'string') issues.add(flagError('study', `and ${p.args[0]} both name an architecture`, 'give one of them'));
        for (const k of ['trial', 'storage'] as const) if (p.flags[k] !== undefined && typeof st !== 'string') issues.add(flagError(k, 'applies with --study NAME', 'e.g. --study my-search --trial 3'));
        // Without --dataset an exported winner's (or the study's) recorded dataset is used (the API says when there is none).
      },
      TRAIN_ELSEWHERE,
    );
    if (flags['help']) return process.stdout.write(trainCmd.help), 0;
    const sv = (k: string) => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
    const options: Record<string, string | number | boolean | Record<string, number>> = { ...(typeof flags['dataset'] === 'string' ? { dataset: flags['dataset'] } : {}), latency: !flags['no-latency'] };
    // Builder options: a flag given replaces the record's object for that family (width and depth together).
    for (const [fam, depth] of [['nb201', 'cells'], ['darts', 'layers']] as const) {
      const w = num(`${fam}-width`);
      const d = num(`${fam}-${depth}`);
      if (w !== undefined || d !== undefined) options[fam] = { ...(w !== undefined ? { width: w } : {}), ...(d !== undefined ? { [depth]: d } : {}) };
    }
    const str = (f: string, k: string) => typeof flags[f] === 'string' && (options[k] = flags[f] as string);
    // digits/csv read a file: --path FILE, or --data-dir FILE as finetune and compress once spelt it.
    const fileKind = flags['dataset'] === 'csv' || flags['dataset'] === 'digits';
    const file = fileKind ? datasetFileOfFlags(sv('data-dir'), sv('path')) : sv('path');
    if (!fileKind) str('data-dir', 'data_dir');
    if (file !== undefined) options['path'] = file;
    str('label', 'label');
    if (typeof flags['header'] === 'string') {
      const h = flags['header'];
      options['header'] = h === 'auto' ? 'auto' : h === 'true';
    }
    for (const [f, k] of [['epochs', 'epochs'], ['train-per-class', 'train_per_class'], ['threads', 'threads'], ['time-limit', 'time_limit'], ['split-seed', 'split_seed'], ['val-fraction', 'val_fraction'], ['test-fraction', 'test_fraction']] as const) {
      const n = num(f);
      if (n !== undefined) options[k] = n;
    }
    const study = typeof flags['study'] === 'string' ? flags['study'] : undefined;
    const trial = num('trial');
    // The study's best trial (feasible) or trial N; its architecture is trained anew on --dataset.
    // Its record (the study's train evaluator: dataset, builder options) is used as an export's is.
    const fromStudy = study === undefined ? undefined : await archOfStudy({ study, storage: typeof flags['storage'] === 'string' ? flags['storage'] : DEFAULT_STORAGE, ...(trial === undefined ? {} : { trial }) }).catch((e: unknown) => Promise.reject(withFlagNames(e, TRAIN_FLAGS)));
    const arch: unknown = fromStudy ? fromStudy.arch : args[0]!;
    const record = fromStudy ? recordOfEvaluator(fromStudy.evaluator, fromStudy.name, fromStudy.params, fromStudy.final) : undefined;
    // Named when the study records no dataset (e.g. an nb201 table study), not an export's metrics.json.
    const from = fromStudy ? { from: { name: fromStudy.name, evaluator: fromStudy.evaluator } } : {};
    const ctl = interruptible('the training is stopped (nothing is kept)');
    // The evaluator options built from the flags are checked by the API: its errors name the flags.
    const inFlags = <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => Promise.reject(withFlagNames(e, TRAIN_FLAGS, { 'evaluator.latency': 'no-latency', latency: 'no-latency' })));
    if (seeds) {
      const r = await inFlags(trainRepeated({ arch, options, signal: ctl.signal, progress: !flags['json'], useRecord: !flags['no-record'], ...(record ? { record } : {}), ...from }, seeds));
      process.stdout.write(flags['json'] ? JSON.stringify(r, null, 2) + '\n' : printRepeatedTrain(r));
      return r.aborted ? 130 : r.failed > 0 ? 1 : 0;
    }
    // The training seed: --seed; else a study trial's own seed (trialSeed, from the stored study seed); an export records none.
    const seed = sv('seed') === undefined && fromStudy ? fromStudy.seed : seedList({ repeats: '1', seed: sv('seed') })[0]!;
    if (!flags['json'] && sv('seed') === undefined && !flags['no-record'])
      if (fromStudy) process.stderr.write(`tsnas train: seed ${seed}, the training seed of ${fromStudy.name} (its weights are reproduced only if that trial trained from scratch with the same budget)\n`);
      else if (args[0] !== undefined && (record ?? readArchRecord(args[0]))) process.stderr.write(`tsnas train: seed 0: the trial's training seed is not recorded in an export (give --seed N, or train --study S --trial N, which uses it)\n`);
    const s = await inFlags(train({ arch, options, seed, signal: ctl.signal, progress: !flags['json'], useRecord: !flags['no-record'], ...(record ? { record } : {}), ...from }));
    process.stdout.write(flags['json'] ? JSON.stringify(s, null, 2) + '\n' : printTrain(s));
    for (const w of s.warnings ?? []) process.stderr.write(`tsnas train: warning: ${w}\n`);
    const chance = trainChanceWarning(s);
    if (chance) process.stderr.write(`tsnas train: warning: ${chance}\n`);
    // Stopped by Ctrl-C/SIGTERM: the interrupted code, as search and repeat return it.
    return ctl.signal.aborted ? 130 : s.status === 'failed' ? 1 : 0;
  },
};

const dashboardCmd: ExtraCommand = {
  summary: 'serve the read-only web dashboard of a storage (studies, trials, plots)',
  help: `usage: tsnas dashboard [--storage URL] [--port N] [--host ADDR] [--token T]

Serves a read-only web app over the studies in a store: live best-so-far curves, every trial's value,
Pareto fronts, a sortable trial table, learning curves and architecture drawings, study comparison.
  --storage URL   sqlite:./tsnas.db (default) or postgres://user@host:port/db
  --port N        default ${DEFAULT_PORT}; 0 picks a free port
  --host ADDR     default 127.0.0.1; any other address exposes the app and then requires an access token
                  (generated and printed in the URL, or --token / TSNAS_DASHBOARD_TOKEN); requests without it get 401
  --token T       access token (16-200 characters of A-Z a-z 0-9 . _ ~ -); also required on loopback when given
`,
  async run(argv) {
    const { flags, num } = parse(argv, { storage: { type: 'string' }, port: { type: 'string', number: { integer: true, min: 0, max: 65535 } }, host: { type: 'string' }, token: { type: 'string' } }, 0);
    if (flags['help']) return process.stdout.write(dashboardCmd.help), 0;
    const port = num('port') ?? DEFAULT_PORT;
    const d = await startDashboard({
      storage: typeof flags['storage'] === 'string' ? flags['storage'] : DEFAULT_STORAGE,
      port,
      ...(typeof flags['host'] === 'string' ? { host: flags['host'] } : {}),
      ...(typeof flags['token'] === 'string' ? { token: flags['token'] } : {}),
    });
    process.stdout.write(`tsnas dashboard: ${d.url} (Ctrl-C to stop)\n`);
    // Listening on every interface: each address it answers on (never the unusable 0.0.0.0).
    for (const u of d.urls.slice(1)) process.stdout.write(`  also at ${u}\n`);
    // The dashboard only reads: nothing to release or resume (session 9: its line spoke of trials).
    const ctl = interruptible('the dashboard server closes; the study is not touched');
    await new Promise<void>((resolve) => ctl.signal.addEventListener('abort', () => resolve(), { once: true }));
    await d.close();
    return 0;
  },
};

const reportCmd: ExtraCommand = {
  summary: 'write a self-contained HTML report of a study (plots inline, optional PNGs)',
  help: `usage: tsnas report --study NAME [--storage URL] [--out report.html] [--png DIR] [--rows N]

Writes one self-contained HTML report of a study (inline SVG, no script, nothing loaded from the
network): summary, final results, fitness of every trial with the best so far, best so far vs time,
Pareto front, parameter importance, distribution, hypervolume, timeline, parallel coordinates, the
winner's architecture and learning curves, and the trial table.
  --study NAME    study name or id (required)
  --storage URL   sqlite:./tsnas.db (default) or postgres://user@host:port/db
  --out FILE      default report.html; an existing file is not replaced without --force
  --force         replace an existing --out file (and PNGs in --png DIR)
  --png DIR       also write every plot as DIR/<plot>.png
  --rows N        rows of the trial table (the best N by the first objective; default 200)
`,
  async run(argv) {
    const { flags, num } = parse(argv, { study: { type: 'string' }, storage: { type: 'string' }, out: { type: 'string' }, png: { type: 'string' }, rows: { type: 'string', number: POSITIVE_INT }, force: { type: 'boolean' } }, 0, (p, issues) => {
      const st = p.flags['study'];
      if (typeof st !== 'string' || st === '') issues.add(flagError('study', 'is required', 'tsnas status lists the studies'));
      // As every command that writes a file (export --format --out): an existing one is replaced only when asked.
      const o = typeof p.flags['out'] === 'string' ? p.flags['out'] : 'report.html';
      if (!p.flags['force'] && existsSync(o)) issues.add(flagError('out', `${resolve(o)} already exists`, 'give a new file name, or --force to replace it'));
    });
    if (flags['help']) return process.stdout.write(reportCmd.help), 0;
    const study = flags['study'] as string;
    const rows = num('rows');
    // Loaded on use: the report's DOM (linkedom) and PNG renderer stay out of every other command's start-up.
    const { writeStudyReport } = await import('../report/index.js');
    const r = await writeStudyReport({
      storage: typeof flags['storage'] === 'string' ? flags['storage'] : DEFAULT_STORAGE,
      study: /^[1-9][0-9]*$/.test(study) ? Number(study) : study,
      out: typeof flags['out'] === 'string' ? flags['out'] : 'report.html',
      ...(typeof flags['png'] === 'string' ? { pngDir: flags['png'] } : {}),
      ...(rows !== undefined ? { tableRows: rows } : {}),
      overwrite: Boolean(flags['force']),
    });
    process.stdout.write(`tsnas report: ${r.html} (${r.plots.length} plots${r.pngs.length ? `; ${r.pngs.length} PNG files in ${flags['png']}` : ''})\n`);
    return 0;
  },
};

export const COMMANDS_EXTRA: Record<string, ExtraCommand> = { train: trainCmd, main: mainCmd, dashboard: dashboardCmd, report: reportCmd };
