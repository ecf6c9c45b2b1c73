/**
 * The `tsnas` command line. It parses flags, calls the programmatic API (src/api) and formats
 * results: tables or `--json` on stdout, progress and messages on stderr.
 * Exit codes: 0 ok, 2 bad input (config, flags, names, files), 1 failure, 130 interrupted.
 */
import { NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, flagError, withFlagNames, interruptible, startCommand, SEARCH_ELSEWHERE, parse, sayDataNotes, UsageError, type CrossCheck, type Flags, type FlagSpec } from './args.js';
import { closest } from '../core/suggest.js';
import { ENSEMBLE_FINAL_SYNONYMS, ENSEMBLE_METHOD_SYNONYMS, ENSEMBLE_METRIC_SYNONYMS, FORMAT_SYNONYMS, TRIAL_STATE_SYNONYMS } from '../core/synonyms.js';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { CONFIG_FLAGS, SEARCH_CHOICE_FLAGS, SEARCH_EVALUATOR_FLAGS, badConfigFields } from './search-flags.js';
import {
  NasError,
  createStudy,
  requireBestTrial,
  noFeasibleTrialError,
  studyInfeasibility,
  oneShotMethodOf,
  evaluatorNames,
  exportWinner,
  listStudies,
  prepareSearch,
  runWorker,
  SETUP_SAID_ENV,
  search,
  upgradeDatabase,
  studyStatus,
  studyProxyTime,
  type StudyProxyTime,
  studyTrials,
  trialsToCsv,
  trialsToJson,
  trialForOutput,
  trialNumbersById,
  metricColumns,
  writeFileAtomic,
  DEFAULT_STORAGE,
  SPACE_NAMES,
  STRATEGY_NAMES,
  isInputError,
  TRIAL_STATES,
  leaseExpiriesOf,
  type StudySummary,
  rerunLine,
  type TrialRecord,
  type PreparedSearch,
  ensembleOfStudy,
  studyPareto,
  parseRefPoint,
  hypervolumeOf,
  refPointText,
  type StudyPareto,
} from '../api/index.js';
import { ensembleText, memberTestAccMeaning } from './ensemble-output.js';
import { COMMANDS_EXTRA } from './commands-extra.js';
import { repeatCmd } from './commands-repeat.js';
import { ONESHOT_HELP, runOneShotSearch } from './commands-oneshot.js';
import { compressCmd } from './commands-compress.js';
import { finetuneCmd } from './commands-finetune.js';
import { Progress } from './progress.js';
import { formatCell, renderTable, type Cell } from './table.js';
import { isSupernetTrial } from '../core/metrics.js';


export { UsageError };

/**
 * The exit code of a failed command: 2 for the user's input or configuration (config, flags,
 * names, files, a storage that cannot be used as given: bad path, wrong password, missing database,
 * unreachable server, newer schema; see isInputError), 130 interrupted, 1 a failure while running
 * (locked or full database, lost connection, divergence, a bug).
 */
export function exitCodeOf(e: NasError): number {
  return e.code === 'aborted' ? 130 : isInputError(e) ? 2 : 1;
}

/** A NasError a worker met before claiming any trial: printed like others, exit code 2. */
class WorkerStartError extends Error {
  constructor(readonly error: NasError) {
    super(error.message);
  }
}
const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

const fmtValue = (v: number | null | undefined) => (v === null || v === undefined ? null : v);

// ------------------------------------------------------------------ help

const HELP: Record<string, string> = {
  tsnas: `tsnas: neural architecture search for TypeScript

usage: tsnas COMMAND [options]      (tsnas COMMAND --help for details)

commands:
\${COMMAND_LIST}
exit codes (every command):
  0    ok
  2    bad input: config, flags, names, files, or a storage that cannot be used as given
       (bad URL or path, wrong password, missing database, unreachable server, newer schema)
  1    a failure while running (locked or full database, lost connection, failed trials)
  130  interrupted (Ctrl-C)
`,
  search: `usage: tsnas search [CONFIG.yaml|json] [options]

Runs a search to its budget. Rerunning the same command resumes the study (same --study name
and config); a different config under an existing name is an error. Ctrl-C stops cleanly.

options (override the config file's fields):
  --study NAME          study name (default from space, strategy and seed)
  --storage URL         sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB (default ${DEFAULT_STORAGE});
                        PATH's directory must exist (the database file is created, never directories)
  --space NAME          ${SPACE_NAMES.join(', ')}
  --strategy NAME       ${STRATEGY_NAMES.join(', ')}
  --evaluator NAME      ${evaluatorNames().join(', ')}
  --table PATH          NAS-Bench-201 CSV (evaluator nb201)
  --latency PATH        latency CSV joined to the table (metrics latency_ms, latency_<device>)
  --objective METRIC    default val_acc (maximize); a cost or loss (latency_ms, params,
                        val_loss, ...) needs --direction minimize (or maximize): it has no default
                        several objectives (--strategy nsga2): a comma list or the flag repeated,
                        one direction each in order: --objective val_acc,latency_ms
                        --direction maximize,minimize
                        every other flag takes one value: given twice it is an error
  --trials N            budget: trials that did not fail (default 100)
  --wallclock SECONDS   optional wall-clock budget
  --workers N           local worker processes (default 1: in this process)
  --seed N              default 0
  --lease SECONDS       a dead worker's trial is re-run this long after its last heartbeat (default 30)
  --max-lease-retries N a trial whose lease expired more than N times (its worker died, e.g. out of
                        memory, each time) is recorded failed (lease_retries_exhausted) (default 3)
  --json                print the result as JSON
  --quiet               no progress output

data (the train evaluator's fields, as in tsnas train):
  --dataset KIND        fashion_mnist, mnist, cifar10, digits, csv (alone: --evaluator train)
  --data-dir DIR        idx/CIFAR files;  --path FILE: the digits/csv file
  --label COL           CSV label column: a header name or a 0-based index (default: last)
  --header auto|true|false  whether CSV line 1 is a header (default auto; the choice is printed)
  --val-fraction F      held out for validation (default 0.1; config val_fraction)
  --test-fraction F     digits/csv: held out for test (default 0.2; config test_fraction)
  --epochs N, --train-per-class N, --threads N, --time-limit SECONDS, --split-seed N
                        the train evaluator's options, as tsnas train's flags (other options, e.g.
                        cv_folds, go in a config file's evaluator)

zero-cost proxies and predictors (README "Zero-cost proxies"; examples/nb201-prescreen.yaml):
  prescreen: {candidates: 1000, top: 10, proxies: [synflow], pool: 0}   (config field, any strategy)
                        rank that many random candidates by the proxies and start from the best
                        top; pool K > 0: every later random draw is the best of K scored ones
  --evaluator proxy     the cheapest fidelity, metrics proxy_<name> and proxy_ms: pick one with
                        --objective proxy_synflow (nb201 space: the shipped table of synflow,
                        params, flops; other spaces: computed live on a batch of --dataset)
  --strategy bananas    MLP-ensemble predictor; strategy options in a config, e.g.
                        strategy: {name: bananas, options: {proxy_features: true}}
${ONESHOT_HELP}`,
  worker: `usage: tsnas worker --storage URL --study NAME [options]
       tsnas worker --config FILE [--storage URL] [options]

Joins a study created by tsnas search, on this or any machine that reaches the storage, and
runs trials until the study is done. Its config comes from the store. With --config, the study
is first created from FILE if it does not exist yet (many workers may start at once: one
creates it, the others join; a study of that name with another config is an error), so one
Kubernetes Job of N identical pods runs a whole search (deploy/k8s). Before its first trial it says
what tsnas search says: the data notes (data: header detected ..., labels mapped ..., warnings)
and the study's warnings (e.g. nsga2 on one objective), once; with --quiet only the warnings.

options:
  --wallclock SECONDS   stop after this long, counted from the worker's start; the running trial
                        is given back (released) for the workers that stay
  --deadline EPOCH_MS   stop at this instant (ms since 1970; tsnas search passes its cap)
  --at-wallclock fail|release
                        what a trial stopped by --wallclock/--deadline becomes: release (default)
                        or fail (recorded failed, reason wallclock: the study's time is spent)
  --max-trials N        finish at most N trials, then exit 0
  --idle-exit SECONDS   exit 0 after this long with no trial to run (the study's last trials are
                        running elsewhere): lets a Kubernetes Job complete
  --lease SECONDS       override the study's lease
  --max-lease-retries N override the study's max_lease_retries (a trial whose lease expired more
                        than N times is recorded failed, reason lease_retries_exhausted)

exit codes: 0 the study is done (or --max-trials / --idle-exit reached), 1 too many trials failed,
2 bad input or storage (unreachable, wrong password, missing database, newer schema, a config this
worker cannot build) - found before any trial is claimed, 130 interrupted.
  --json                print the result as JSON
  --quiet               no per-trial lines and no data notes (warnings stay)
`,
  status: `usage: tsnas status [--storage URL] [--study NAME [--ref-point A,B]] [--json]

Without --study: every study in the storage with its trial counts and best value (by the first
objective), and under the table a line per multi-objective study with its Pareto front's size and
hypervolume (JSON: field "pareto" on each such study). With --study, a
study that used zero-cost proxies (prescreen, proxy evaluator) also shows its proxy time: ms per
candidate and in total (JSON: field "proxy"); on the nb201 table these are the compute times recorded
in the table when it was made, looked up (the line says so), not time this run spent. Prescreen
candidates that lacked a proxy value (ranked last) are listed by reason with their first keys; a
trained one has the reason in its param prescreen_failed (tsnas trials). A multi-objective study
also shows its Pareto front's size and hypervolume (JSON: field "pareto"; exact for any number of
objectives), with the reference point stated: by default 10% of the range beyond the study's worst
complete trial (its own, as in the dashboard's study view and the report; not comparable across
studies: tsnas repeat and the dashboard's compare view bound the studies they compare by one shared
point); --ref-point A,B (one value per objective, in order) fixes it, e.g. the same for studies you
compare.`,
  trials: `usage: tsnas trials --study NAME [--storage URL] [--format table|csv|json] [--state STATE]

--format as tsnas export's (default table); --csv and --json are accepted as its older spellings.
To a file: tsnas export --study NAME --format csv --out FILE (which never replaces a file unless --force).`,
  best: `usage: tsnas best --study NAME [--storage URL] [--ref-point A,B] [--json]

The best trial. A multi-objective study has no single best: its Pareto set is listed (Optuna's
best_trials): every complete trial that satisfies the constraints and that no other such trial
dominates on all objectives, sorted by the first objective, with the front's hypervolume (exact
for any number of objectives; reference point and --ref-point as in tsnas status). tsnas export --trial N exports any of them.`,
  ensemble: `usage: tsnas ensemble --study NAME [--storage URL] --k K [--final retrain|folds]
                      [--seed N] [--repeats 1] [--json]
       tsnas ensemble --study NAME [--storage URL] --method caruana [--size 50] [--metric loss|acc]
                      [--final retrain|folds] [--seed N] [--repeats 1] [--json]

An ensemble of a study's trials (searched with the train evaluator), each member retrained from
scratch on every non-test row (training + validation) and their class probabilities averaged on the
test split, which the search never saw (src/api/ensemble.ts). Prints each member's weight and own
test accuracy, the ensemble's beside its best member's (with the gap when the ensemble is below it),
and, when the study had fewer candidates than --k, how many and why (e.g. a one-shot study's
supernet trial 0 is no candidate).
Its retraining and test rows are checked against the study's split (its test rows must be none the
search trained or selected on). Ctrl-C (or SIGTERM) during the retraining stops after the current
batch and says which trial stopped; nothing is kept (exit 130; again to force).
  --final retrain (default)  members retrained, --repeats S trainings each (seeds --seed, +1, ...,
                          as tsnas train/repeat --repeats; --seeds S is its older spelling here;
                          the member's probabilities their mean)
  --final folds           nothing retrained: each member is its cross-validation fold networks from
                          the search, their test probabilities averaged (auto-sklearn's cv final
                          model, AutoGluon's bagging); the search must run with cv_folds and
                          cv_predictions: true and without skip_test
  --method top (default)  the k best trials in the order \`best\` uses (member 1 is the winner),
                          equal weights (Caruana et al. 2004's sorted ensemble initialization)
  --method caruana        Caruana et al. 2004's greedy ensemble selection with replacement over
                          every complete trial's out-of-fold predictions (the search must run with
                          cv_folds and cv_predictions: true): --size greedy steps (default 50),
                          each adding the trial that most improves the held-out --metric (loss:
                          mean log loss, default; acc); a trial's weight = how often it was added`,
  export: `usage: tsnas export --study NAME [--storage URL] --out DIR [--trial N] [--no-onnx]
       tsnas export --study NAME [--storage URL] --format csv|json [--out FILE [--force]]

The first form writes the best trial (--trial N: that complete trial, e.g. another member of a
multi-objective study's Pareto set, which tsnas best lists; the best of such a study is the best
by its first objective and the export says so) into DIR (a new directory): arch.json, metrics.json
(metrics, objective values, costs) and, when the trial kept its trained weights, weights.bin
and model.onnx: the network as an ONNX model (opset 13) for other runtimes, taking raw inputs
(the training normalisation is inside it); see docs/export.md. --no-onnx skips model.onnx.
The second writes all trials as CSV or JSON (stdout without --out), as tsnas trials --format does;
an existing FILE is replaced only with --force (as tsnas report; directories are never replaced).`,
  repeat: repeatCmd.help,
  compress: compressCmd.help,
  db: `usage: tsnas db upgrade [--storage URL] [--json]

Brings the database's schema to the version this tsnas writes: every pending migration in one
transaction (all or none), serialized against other processes opening it; running it again does
nothing. A database with no tsnas schema is created. Needed once per release that changes the
schema: no other command upgrades a schema implicitly (a worker or search refuses an older one
and names this command), so the workers of a cluster never see their tables change under them.

Rolling upgrade of a cluster: run \`tsnas db upgrade\` with the new release (workers of the old
one keep running), then replace the workers. A later release whose migrations are additive
records that the previous release can still use the database, so its workers may keep
(re)starting until they are replaced.

exit codes: 0 upgraded (or nothing to do), 2 bad input or storage (unreachable, wrong password,
missing database, a schema newer than this tsnas can use), 1 a failure while upgrading
(nothing of it is kept).`,
  finetune: finetuneCmd.help,
};

/** One line per command; the extra commands' lines come from their own `summary`, so none is left out. */
const CORE_SUMMARIES: Record<string, string> = {
  search: 'run or resume a search (config file or flags); --workers N for local worker processes',
  worker: 'join a running study as one more worker (any machine that reaches the storage)',
  status: 'studies and their trial counts, or one study',
  trials: 'all trials of a study (--format table|csv|json)',
  best: 'the best trial of a study',
  ensemble: 'retrain the k best trials (or a Caruana selection) on all non-test rows and average their test predictions',
  export: 'write the winner (architecture, weights, metrics, costs) to a directory, or all trials as CSV/JSON',
  db: 'database administration: `tsnas db upgrade` migrates an older schema (explicitly, once)',
  repeat: repeatCmd.summary,
  compress: compressCmd.summary,
  finetune: finetuneCmd.summary,
};

export function commandList(): string {
  const rows: [string, string][] = [
    ...Object.keys(COMMANDS).map((c): [string, string] => [c, CORE_SUMMARIES[c] ?? COMMANDS_EXTRA[c]?.summary ?? '']),
    ...Object.entries(COMMANDS_EXTRA).filter(([c]) => !(c in COMMANDS)).map(([c, e]): [string, string] => [c, e.summary]),
  ];
  const w = Math.max(...rows.map(([c]) => c.length)) + 2;
  return rows.map(([c, s]) => `  ${c.padEnd(w)}${s}\n`).join('');
}

/** A command's help; the overview (every command listed) for no or an unknown command. */
function help(cmd?: string): string {
  const c = cmd === undefined ? undefined : HELP[cmd] ?? COMMANDS_EXTRA[cmd]?.help;
  return c ?? HELP['tsnas']!.replace('${COMMAND_LIST}', commandList());
}

// ------------------------------------------------------------------ commands

function summaryRows(studies: readonly StudySummary[]): string {
  return renderTable(
    ['study', 'state', 'strategy', 'space', 'evaluator', 'trials', 'complete', 'pruned', 'failed', 'running', 'waiting', 'budget', 'best'],
    studies.map((s) => [
      s.name,
      s.state,
      s.strategy.name,
      s.space.name,
      s.evaluator.name,
      s.counts.total,
      s.counts.complete,
      s.counts.pruned,
      s.counts.failed,
      s.counts.running,
      s.counts.waiting,
      s.maxTrials,
      s.best ? s.best.value : null,
    ]),
  );
}

/**
 * `proxy time: 1.23 ms per candidate, 246.0 ms in total (prescreen: 200 candidates, ...)`, said as
 * recorded in the table when the times were looked up (not spent by this run), and one line per
 * reason the failed candidates lacked a proxy value (how many, the first keys).
 */
function proxyLine(p: StudyProxyTime): string {
  const rec = (x: { recordedIn?: string }): string => (x.recordedIn ? ` as recorded in ${x.recordedIn} when it was made (looked up, not spent by this run)` : '');
  const parts = [
    ...(p.prescreen ? [`prescreen: ${p.prescreen.candidates} candidates, ${p.prescreen.ms.toFixed(1)} ms${rec(p.prescreen)}${p.prescreen.failed ? `, ${p.prescreen.failed} failed` : ''}`] : []),
    ...(p.evaluator ? [`proxy evaluator: ${p.evaluator.trials} trials, ${p.evaluator.ms.toFixed(1)} ms${rec(p.evaluator)}`] : []),
  ];
  const allRecorded = (!p.prescreen || p.prescreen.recordedIn) && (!p.evaluator || p.evaluator.recordedIn);
  const head = `proxy time${allRecorded ? ' (table-recorded)' : ''}: ${p.msPerCandidate.toFixed(2)} ms per candidate, ${p.totalMs.toFixed(1)} ms in total (${parts.join('; ')})\n`;
  const f = p.prescreen?.failures ?? [];
  const why = f.map((x) => `  ${x.count} without ${x.proxy}: ${x.reason} (e.g. ${x.keys.slice(0, 3).join(', ')}${x.count > 3 ? ', ...' : ''})\n`).join('');
  return head + (f.length ? `prescreen candidates ranked last for a missing proxy value, by reason:\n${why}` : p.prescreen?.failed ? '  (why they failed was not recorded by the build that ran the prescreen)\n' : '');
}

/**
 * `3`, or `3 (2 lease expired)` when earlier attempts were lost (user attribute `lease_expiries`
 * recorded by the store's claim; `reruns` of src/run/study.ts for trials claimed by older builds).
 */
function attemptCell(t: TrialRecord): Cell {
  const reruns = t.userAttrs['reruns'];
  const n = Array.isArray(reruns) ? reruns.length : 0;
  const expired = Math.max(leaseExpiriesOf(t).length, Array.isArray(reruns) ? reruns.filter((r) => typeof r === 'object' && r !== null && !Array.isArray(r) && r['why'] === 'lease_expired').length : 0);
  if (expired === 0 && n === 0) return t.attempt;
  return `${t.attempt} (${expired > 0 ? `${expired} lease expired` : `${n} re-run`})`;
}

function trialRows(trials: readonly TrialRecord[], objectives: readonly { metric: string }[]): string {
  const metrics = metricColumns(trials).filter((m) => !objectives.some((o) => o.metric === m)).slice(0, 6);
  // The trial a child was mutated from or a promotion continues (run layer: user attr parent_trial).
  const parentOf = (t: TrialRecord) => (typeof t.userAttrs['parent_trial'] === 'number' ? (t.userAttrs['parent_trial'] as number) : null);
  const parents = trials.some((t) => parentOf(t) !== null);
  return renderTable(
    ['#', 'state', 'attempt', ...(parents ? ['parent'] : []), ...objectives.map((o) => o.metric), ...metrics, 'seconds', 'arch'],
    trials.map((t): Cell[] => {
      const arch = JSON.stringify(t.arch);
      // A trial imported by a warm start (src/run/warm-start.ts) says where it came from.
      const warm = t.userAttrs['warm_start'] as { study?: string; number?: number } | undefined;
      return [
        t.number,
        warm ? `${t.state} (warm start: ${warm.study}#${warm.number})` : isSupernetTrial(t) ? `${t.state} (supernet)` : t.state,
        attemptCell(t),
        ...(parents ? [parentOf(t)] : []),
        ...objectives.map((_, i) => fmtValue(t.values?.[i])),
        ...metrics.map((m) => fmtValue(t.metrics?.[m])),
        t.durationMs === null ? null : t.durationMs / 1000,
        arch.length > 60 ? `${arch.slice(0, 57)}...` : arch,
      ];
    }),
  ) + supernetNote(trials, objectives);
}

/**
 * Under a table holding the one-shot supernet search trial: why its objective cell is empty while
 * other metrics are shown (docs/oneshot.md, trial 0).
 */
function supernetNote(trials: readonly TrialRecord[], objectives: readonly { metric: string }[]): string {
  const sn = trials.find((t) => isSupernetTrial(t));
  if (sn === undefined) return '';
  const m = objectives[0]?.metric ?? 'value';
  const v = sn.metrics?.[m];
  const own = typeof v === 'number' ? ` (${m} ${formatCell(v)})` : '';
  return `trial ${sn.number} (supernet) is the one-shot supernet search: its metrics${own} are the supernet's on the architecture half, not a network's; it has no objective value and is never a candidate (docs/oneshot.md)\n`;
}

async function cmdSearch(argv: string[]): Promise<number> {
  let oneShot = false as boolean;
  let prepared: PreparedSearch | undefined;
  const { flags, args } = parse(
    argv,
    {
      study: { type: 'string' },
      storage: { type: 'string' },
      ...SEARCH_CHOICE_FLAGS,
      ...SEARCH_EVALUATOR_FLAGS,
      table: { type: 'string' },
      latency: { type: 'string' },
      objective: { type: 'string', list: true },
      trials: { type: 'string' },
      wallclock: { type: 'string' },
      workers: { type: 'string' },
      seed: { type: 'string' },
      lease: { type: 'string' },
      'max-lease-retries': { type: 'string' },
      'data-dir': { type: 'string' },
      path: { type: 'string' },
      label: { type: 'string' },
      'val-fraction': { type: 'string' },
      'test-fraction': { type: 'string' },
      'final-epochs': { type: 'string', number: POSITIVE_INT },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    1,
    // The config the flags make (or override) is checked with them: every problem in one list.
    (p, issues) => {
      const configPath = p.args[0];
      const input = { ...(configPath === undefined ? {} : { configPath }), flags: p.flags };
      const method = issues.take(() => ({ name: oneShotMethodOf(input) }), undefined);
      if (method === undefined) return; // the config file cannot be read: said once
      oneShot = method.name !== undefined;
      if (oneShot) {
        if (configPath === undefined && (p.flags['space'] === undefined || (p.flags['evaluator'] === undefined && p.flags['dataset'] === undefined)))
          issues.add(new UsageError('a one-shot search needs a config file, or --space and --dataset (or --evaluator train)'));
        return; // checked by runOneShotSearch (prepareOneShot)
      }
      if (p.flags['final-epochs'] !== undefined) issues.add(flagError('final-epochs', 'applies to one-shot strategies (darts, darts2, gdas, spos)'));
      if (configPath === undefined && (p.flags['space'] === undefined || p.flags['strategy'] === undefined || (p.flags['evaluator'] === undefined && p.flags['dataset'] === undefined))) {
        issues.add(new UsageError('give a config file, or at least --space, --strategy and --evaluator'));
        return;
      }
      // A bad value of a flag the config takes was reported: the config's other problems join it
      // (a bad --storage or --objective beside a misspelt --strategy), not the same one again.
      const badFields = badConfigFields(p.bad);
      const pr = issues.takeBeyond(() => prepareSearch(input), undefined, badFields);
      if (![...p.bad].some((k) => CONFIG_FLAGS.has(k))) prepared = pr;
    },
    SEARCH_ELSEWHERE,
  );
  if (flags['help']) return out(help('search')), 0;
  const configPath = args[0];
  if (oneShot) return runOneShotSearch(configPath, flags, interruptible('the supernet search keeps its last epoch checkpoint: the same command resumes there').signal);
  prepared ??= prepareSearch({ ...(configPath === undefined ? {} : { configPath }), flags });
  const ctl = interruptible();
  const quiet = Boolean(flags['quiet']);
  let bar: Progress | undefined;
  const c = prepared.config;
  // A config no architecture can satisfy is said alone, not after a banner announcing the search
  // (search() checks it again before writing; ready() is memoised).
  const notes = (await prepared.parts.ready?.()) ?? [];
  prepared.parts.checkProposable();
  sayDataNotes(notes, quiet);
  for (const w of prepared.parts.warnings) err(`tsnas search: warning: ${w}\n`);
  if (!quiet) err(`tsnas: study ${c.study} in ${c.storage}: ${c.strategy.name} on ${c.space} with ${c.evaluator.name}, ${c.trials} trials, ${c.workers} worker(s)\n`);
  const result = await search(prepared, {
    signal: ctl.signal,
    ...(quiet
      ? {}
      : {
          onProgress: (p) => {
            bar ??= new Progress({ label: 'trials', total: p.budget });
            const done = p.counts.complete + p.counts.pruned;
            bar.update(done, `${p.counts.running} running${p.counts.failed ? `, ${p.counts.failed} failed` : ''}${p.best ? `, best ${p.best.value.toFixed(3)} (#${p.best.number})` : ''}`);
          },
          onEvent: (e) => {
            if (e.type === 'rerun') (bar ? bar.log(rerunLine(e)) : err(rerunLine(e) + '\n'));
            if (e.type === 'warning' || e.type === 'lease_lost') bar?.log(e.type === 'warning' ? `warning: ${e.message}` : `trial ${e.trial.number}: lease lost (taken over)`);
            if (e.type === 'finished' && e.trial.state === 'failed') bar?.log(`trial ${e.trial.number} failed: ${e.trial.error}`);
          },
        }),
  });
  bar?.finish();
  if (flags['json']) out(JSON.stringify(result, null, 2) + '\n');
  else {
    const b = result.best;
    out(
      `study ${result.study}: ${result.reason}${result.resumed ? ' (resumed)' : ''} in ${result.seconds.toFixed(1)} s; ` +
        `${result.counts.complete} complete, ${result.counts.pruned} pruned, ${result.counts.failed} failed, ${result.counts.waiting + result.counts.running} left\n`,
    );
    // A multi-objective study has no single best: its front (tsnas best lists it), not the first objective's best.
    if (b && c.objectives.length > 1) out(paretoLine(await studyPareto(c.storage, result.study)) + `the Pareto set: tsnas best --study ${result.study} (with this --storage)\n`);
    else if (b) out(`best: trial ${b.number} ${c.objectives[0]!.metric}=${formatCell(b.values?.[0])} ${JSON.stringify(b.arch)}\n`);
    // Trials completed but none is feasible: say so, with the constraints and the fix, instead of
    // a summary with no best line. The exit code stays 0: the search ran its budget as asked
    // (`tsnas best` is the command that fails, constraint_unsatisfiable).
    const infeasible = b ? undefined : noFeasibleTrialError({ name: result.study, constraints: c.constraints }, result.counts.complete);
    if (infeasible) out(`no best: ${infeasible.text}; ${infeasible.hint}\n`);
    if (result.reason === 'aborted')
      out(`resume with the same command (study ${result.study}, ${result.counts.waiting + result.counts.running} trial(s) will be re-run)\n`);
    if (result.reason === 'wallclock')
      out(`the wall-clock cap stopped the search (trials running at the cap are recorded failed, reason wallclock); the same command searches on (study ${result.study})\n`);
    if (result.resumed && result.totalSeconds > result.seconds) out(`search time over all runs: ${result.totalSeconds.toFixed(1)} s\n`);
  }
  if (result.reason === 'aborted') return 130;
  return result.reason === 'workers_failed' || result.reason === 'failures' ? 1 : 0;
}

async function cmdWorker(argv: string[]): Promise<number> {
  let prepared: PreparedSearch | undefined;
  const { flags, num } = parse(
    argv,
    {
      storage: { type: 'string' },
      study: { type: 'string' },
      config: { type: 'string' },
      wallclock: { type: 'string', number: POSITIVE },
      deadline: { type: 'string', number: POSITIVE },
      'at-wallclock': { type: 'string', choices: ['fail', 'release'] },
      lease: { type: 'string', number: POSITIVE },
      'max-lease-retries': { type: 'string', number: NON_NEGATIVE_INT },
      'poll-ms': { type: 'string', number: POSITIVE },
      'worker-id': { type: 'string' },
      'max-trials': { type: 'string', number: POSITIVE_INT },
      'idle-exit': { type: 'string', number: NON_NEGATIVE },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    0,
    (p, issues) => {
      const { storage, study, config } = p.flags;
      if (typeof config === 'string') {
        // Validated in full here (with the flags); created (or joined) below, with the other start-up checks.
        prepared = issues.take(
          () => prepareSearch({ configPath: config, flags: { ...(typeof storage === 'string' ? { storage } : {}), ...(typeof study === 'string' ? { study } : {}) } }),
          undefined,
        );
        return;
      }
      if (typeof storage !== 'string') issues.add(new UsageError('--storage URL (or --config FILE) is required'));
      if (typeof study !== 'string') issues.add(new UsageError('--study NAME (or --config FILE) is required'));
    },
  );
  if (flags['help']) return out(help('worker')), 0;
  let storage = flags['storage'] as string;
  let study = flags['study'] as string;
  let created: (() => Promise<void>) | undefined;
  if (prepared) {
    const pr = prepared;
    storage = pr.config.storage;
    study = pr.config.study;
    created = async () => (await createStudy(pr)).close();
  }
  const wall = num('wallclock');
  const deadline = num('deadline');
  const atWallclock = flags['at-wallclock'] === 'fail' ? 'fail' : flags['at-wallclock'] === 'release' ? 'release' : undefined;
  const lease = num('lease');
  const maxLeaseRetries = num('max-lease-retries');
  const poll = num('poll-ms');
  const maxTrials = num('max-trials');
  const idle = num('idle-exit');
  const ctl = interruptible();
  const quiet = Boolean(flags['quiet']);
  let started = false;
  if (created) {
    try {
      await created();
    } catch (e) {
      if (e instanceof NasError && e.code !== 'aborted') throw new WorkerStartError(e);
      throw e;
    }
  }
  const r = await runWorker({
    onStarted: (setup) => {
      started = true;
      // What tsnas search says before its first trial, said once by a worker started on its own
      // (a search's own worker processes leave it to the search: SETUP_SAID_ENV).
      if (process.env[SETUP_SAID_ENV] === '1') return;
      sayDataNotes(setup.notes, quiet);
      for (const w of setup.warnings) err(`tsnas worker: warning: ${w}\n`);
    },
    storage,
    study,
    signal: ctl.signal,
    ...(wall === undefined ? {} : { wallclockMs: wall * 1000 }),
    ...(deadline === undefined ? {} : { deadline }),
    ...(atWallclock === undefined ? {} : { atWallclock }),
    ...(lease === undefined ? {} : { leaseMs: lease * 1000 }),
    ...(maxLeaseRetries === undefined ? {} : { maxLeaseRetries }),
    ...(poll === undefined ? {} : { pollMs: poll }),
    ...(typeof flags['worker-id'] === 'string' ? { workerId: flags['worker-id'] } : {}),
    ...(maxTrials === undefined ? {} : { maxTrials }),
    ...(idle === undefined ? {} : { idleExitMs: idle * 1000 }),
    onStoreRetry: (m) => err(`worker ${process.pid}: ${m}\n`),
    onEvent: (e) => {
      // A re-run and a trial stopped at the wall clock are reported even with --quiet (the
      // search's worker pool runs quiet): a silent re-run hides a starved or dying worker.
      if (e.type === 'rerun') return err(`worker ${process.pid}: ${rerunLine(e)}\n`);
      if (e.type === 'finished' && (e.trial.error?.startsWith('wallclock:') || e.trial.error?.startsWith('lease_retries_exhausted:'))) return err(`worker ${process.pid}: trial ${e.trial.number} failed: ${e.trial.error}\n`);
      if (quiet) return;
      if (e.type === 'finished')
        err(`worker ${process.pid}: trial ${e.trial.number} ${e.trial.state}${e.trial.values ? ` ${e.trial.values.map((v) => formatCell(v)).join(',')}` : ''}${e.trial.error ? ` (${e.trial.error})` : ''}\n`);
      else if (e.type === 'released') err(`worker ${process.pid}: released trial ${e.trial.number}\n`);
      else if (e.type === 'lease_lost') err(`worker ${process.pid}: lost the lease of trial ${e.trial.number}: ${e.reason}\n`);
      else if (e.type === 'warning') err(`worker ${process.pid}: warning: ${e.message}\n`);
    },
  }).catch((e: unknown) => {
    // Found before any claim (unreachable or refused storage, other schema version, missing
    // study, a config or host this worker cannot run): bad input, exit 2 (see the help).
    if (!started && e instanceof NasError && e.code !== 'aborted') throw new WorkerStartError(e);
    throw e;
  });
  if (flags['json']) out(JSON.stringify(r) + '\n');
  else if (!quiet) err(`worker ${process.pid}: ${r.reason}, ${r.finished} trial(s) finished\n`);
  return r.reason === 'aborted' ? 130 : r.reason === 'failures' ? 1 : 0;
}

const readFlags: FlagSpec = { storage: { type: 'string' }, study: { type: 'string' }, json: { type: 'boolean' } };
/** `--ref-point A,B`: the hypervolume's reference point, one value per objective (checked against the study's objectives). */
const refPointFlag: FlagSpec = { 'ref-point': { type: 'string', list: true } };

/** The study's Pareto set, its hypervolume bounded by --ref-point when given (else the study's own point). */
async function paretoOfFlags(storage: string, study: string, flags: Flags): Promise<StudyPareto> {
  const p = await studyPareto(storage, study);
  const rp = flags['ref-point'];
  if (typeof rp !== 'string') return p;
  if (p.objectives.length < 2) throw flagError('ref-point', `applies to a multi-objective study; ${p.study.name} has one objective (${p.objectives[0]?.metric})`);
  const ref = parseRefPoint(rp, p.objectives);
  return { ...p, hypervolume: p.trials.length ? hypervolumeOf(p.trials, p.objectives, ref, 'given') : null };
}

/** `pareto front: 14 of 280 feasible complete trials; hypervolume 5410.9 (reference point ...)`. */
function paretoLine(p: StudyPareto): string {
  const hv = p.hypervolume;
  const hvText = hv === null ? '' : `; hypervolume ${formatCell(hv.value)} (reference point ${refPointText(hv, p.objectives)})${hv.warning ? `\nwarning: ${hv.warning}` : ''}`;
  return `pareto front: ${p.trials.length} of ${p.feasible} feasible complete trial(s)${p.feasible < p.complete ? ` (${p.complete - p.feasible} complete ones violate the constraints)` : ''}, non-dominated on ${p.objectives.map((o) => `${o.metric} (${o.direction})`).join(', ')}${hvText}\n`;
}

const paretoJson = (p: StudyPareto) => ({
  size: p.trials.length,
  trials: p.trials.map((t) => t.number),
  feasible: p.feasible,
  complete: p.complete,
  hypervolume: p.hypervolume?.value ?? null,
  ref_point: p.hypervolume?.ref ?? null,
  ref_source: p.hypervolume?.refSource ?? null,
  ...(p.hypervolume?.warning ? { ref_point_warning: p.hypervolume.warning } : {}),
});

/** `--study NAME is required` (a CrossCheck: reported with the other bad flags). */
const studyRequired: CrossCheck = (p, issues) => {
  if (typeof p.flags['study'] !== 'string') issues.add(new UsageError('--study NAME is required'));
};
/** The study flag that studyRequired checked. */
const needStudy = (flags: Flags): string => flags['study'] as string;
const storageOf = (flags: Flags) => (typeof flags['storage'] === 'string' ? flags['storage'] : DEFAULT_STORAGE);

async function cmdStatus(argv: string[]): Promise<number> {
  const { flags } = parse(argv, { ...readFlags, ...refPointFlag }, 0, (p, issues) => {
    if (p.flags['ref-point'] !== undefined && p.flags['study'] === undefined) issues.add(flagError('ref-point', 'applies to one study: give --study NAME'));
  });
  if (flags['help']) return out(help('status') + '\n'), 0;
  const storage = storageOf(flags);
  if (typeof flags['study'] === 'string') {
    const one = await studyStatus(storage, flags['study']);
    const proxy = await studyProxyTime(storage, flags['study']);
    const pareto = one.objectives.length > 1 || flags['ref-point'] !== undefined ? await paretoOfFlags(storage, flags['study'], flags) : null;
    if (flags['json']) out(JSON.stringify({ ...one, ...(proxy ? { proxy } : {}), ...(pareto ? { pareto: paretoJson(pareto) } : {}) }, null, 2) + '\n');
    else {
      const infeasible = one.best ? null : await studyInfeasibility(storage, flags['study']);
      out(summaryRows([one]) + (pareto ? paretoLine(pareto) : '') + (proxy ? proxyLine(proxy) : '') + (infeasible ? `no best: ${infeasible.text}; ${infeasible.hint}\n` : ''));
    }
    return 0;
  }
  const studies = await listStudies(storage);
  // A multi-objective study has no single best: its Pareto front (size; hypervolume with its own
  // reference point) as status --study gives it, one line per such study under the table.
  const fronts = new Map<string, StudyPareto>();
  for (const s of studies) if (s.objectives.length > 1) fronts.set(s.name, await studyPareto(storage, s.name));
  if (flags['json']) out(JSON.stringify(studies.map((s) => (fronts.has(s.name) ? { ...s, pareto: paretoJson(fronts.get(s.name)!) } : s)), null, 2) + '\n');
  else
    out(
      studies.length
        ? summaryRows(studies) +
            [...fronts].map(([name, p]) => `${name} (${p.objectives.length} objectives; its best column is ${p.objectives[0]!.metric} alone): ${paretoLine(p).trimEnd()}; tsnas best --study ${name} lists the front\n`).join('')
        : `no studies in ${storage}\n`,
    );
  return 0;
}

async function cmdTrials(argv: string[]): Promise<number> {
  // --format table|csv|json as `tsnas export --format`; --csv and --json are its older spellings.
  const { flags } = parse(argv, { ...readFlags, csv: { type: 'boolean' }, format: { type: 'string', choices: ['table', 'csv', 'json'], synonyms: FORMAT_SYNONYMS }, state: { type: 'string', choices: TRIAL_STATES, synonyms: TRIAL_STATE_SYNONYMS } }, 0, (p, issues) => {
    studyRequired(p, issues);
    const given = (['json', 'csv'] as const).filter((k) => p.flags[k]);
    const fmt = p.flags['format'];
    if (given.length > 1 || (given.length === 1 && typeof fmt === 'string' && fmt !== given[0]))
      issues.add(flagError(given.length > 1 ? 'csv' : given[0]!, `conflicts with ${given.length > 1 ? '--json' : `--format ${fmt}`}`, 'give one output format: --format table|csv|json'));
  });
  if (flags['help']) return out(help('trials') + '\n'), 0;
  const format = typeof flags['format'] === 'string' ? flags['format'] : flags['json'] ? 'json' : flags['csv'] ? 'csv' : 'table';
  const { study, trials } = await studyTrials(storageOf(flags), needStudy(flags));
  const st = flags['state'];
  const shown = typeof st === 'string' ? trials.filter((t) => t.state === st) : trials;
  if (format === 'json') out(trialsToJson(study, shown));
  else if (format === 'csv') out(trialsToCsv(study, shown));
  else out(shown.length ? trialRows(shown, study.objectives) : `no trials\n`);
  return 0;
}

async function cmdBest(argv: string[]): Promise<number> {
  const { flags } = parse(argv, { ...readFlags, ...refPointFlag }, 0, studyRequired);
  if (flags['help']) return out(help('best') + '\n'), 0;
  const { study, best } = await requireBestTrial(storageOf(flags), needStudy(flags));
  if (study.objectives.length > 1 || flags['ref-point'] !== undefined) {
    // No single best: the Pareto set (Optuna's best_trials), sorted by the first objective.
    const p = await paretoOfFlags(storageOf(flags), needStudy(flags), flags);
    const numbers = trialNumbersById((await studyTrials(storageOf(flags), needStudy(flags))).trials);
    if (flags['json']) out(JSON.stringify({ study: study.name, objectives: study.objectives, pareto: paretoJson(p), best_trials: p.trials.map((t) => trialForOutput(t, numbers)) }, null, 2) + '\n');
    else {
      out(`study ${study.name}: ${study.objectives.length} objectives, no single best; its Pareto set:\n`);
      out(trialRows(p.trials, study.objectives));
      out(paretoLine(p));
      out(`export one: tsnas export --study ${study.name} --trial N --out DIR\n`);
    }
    return 0;
  }
  if (flags['json']) {
    // Lineage as a trial number only (trialForOutput); ids resolved when it is not yet recorded.
    const lineage = best.params['parent'] !== undefined || best.params['promotes'] !== undefined;
    const numbers = lineage && typeof best.userAttrs['parent_trial'] !== 'number' ? trialNumbersById((await studyTrials(storageOf(flags), needStudy(flags))).trials) : new Map<number, number>();
    out(JSON.stringify(trialForOutput(best, numbers), null, 2) + '\n');
  }
  else {
    out(trialRows([best], study.objectives));
    out(`arch: ${JSON.stringify(best.arch)}\n`);
  }
  return 0;
}

async function cmdEnsemble(argv: string[]): Promise<number> {
  const flags0 = {
    ...readFlags,
    k: { type: 'string', number: POSITIVE_INT },
    seed: { type: 'string', number: NON_NEGATIVE_INT },
    method: { type: 'string', choices: ['top', 'caruana'], synonyms: ENSEMBLE_METHOD_SYNONYMS },
    size: { type: 'string', number: POSITIVE_INT },
    metric: { type: 'string', choices: ['loss', 'acc'], synonyms: ENSEMBLE_METRIC_SYNONYMS },
    final: { type: 'string', choices: ['retrain', 'folds'], synonyms: ENSEMBLE_FINAL_SYNONYMS },
    // --repeats N: N trainings per member, seeds --seed, +1, ... (as train/repeat --repeats);
    // --seeds N is this command's older spelling of it (train/repeat's --seeds is a list of seeds).
    repeats: { type: 'string', number: POSITIVE_INT },
    seeds: { type: 'string', number: POSITIVE_INT },
  } as const;
  const { flags, num } = parse(argv, flags0, 0, (p, issues) => {
    studyRequired(p, issues);
    const caruana = p.flags['method'] === 'caruana';
    if (!caruana && p.flags['k'] === undefined) issues.add(new UsageError('--k K is required (the number of best trials to ensemble), or give --method caruana'));
    if (caruana && p.flags['k'] !== undefined) issues.add(new UsageError('--k applies only to --method top (caruana chooses its members; its steps are --size)'));
    for (const f of ['size', 'metric'] as const) if (!caruana && p.flags[f] !== undefined) issues.add(new UsageError(`--${f} applies only to --method caruana`));
    if (p.flags['final'] === 'folds') for (const f of ['seed', 'seeds', 'repeats'] as const) if (p.flags[f] !== undefined) issues.add(new UsageError(`--${f} applies only to --final retrain (--final folds trains nothing)`));
    if (p.flags['repeats'] !== undefined && p.flags['seeds'] !== undefined && p.flags['repeats'] !== p.flags['seeds'])
      issues.add(flagError('seeds', 'is the older spelling of --repeats here (trainings per member); they differ', 'give --repeats N alone'));
  });
  if (flags['help']) return out(help('ensemble') + '\n'), 0;
  const seed = num('seed');
  const size = num('size');
  const method = (flags['method'] as 'top' | 'caruana' | undefined) ?? 'top';
  // Ctrl-C / SIGTERM: the retraining stops after the current batch; nothing is kept (again to force).
  const ctl = flags['final'] === 'folds' ? undefined : interruptible('the ensemble\'s retraining stops after the current batch (nothing is kept)');
  // Checked by the API: its errors name the flags that set the options (seeds is --repeats here).
  const r = await ensembleOfStudy(storageOf(flags), needStudy(flags), {
    ...(ctl ? { signal: ctl.signal } : {}),
    ...(flags['json'] ? {} : { log: (l: string) => void process.stderr.write(`tsnas ensemble: ${l}\n`) }),
    method,
    ...(method === 'top' ? { k: num('k')! } : {}),
    ...(size === undefined ? {} : { size }),
    ...(flags['metric'] === undefined ? {} : { metric: flags['metric'] as 'loss' | 'acc' }),
    ...(seed === undefined ? {} : { seed }),
    ...((num('repeats') ?? num('seeds')) === undefined ? {} : { seeds: (num('repeats') ?? num('seeds'))! }),
    ...(flags['final'] === undefined ? {} : { final: flags['final'] as 'retrain' | 'folds' }),
    onDataNotes: (notes) => sayDataNotes(notes),
  }).catch((e: unknown) => {
    // The library's option fields said as this command's flags (its seeds is --repeats here).
    throw withFlagNames(e, flags0, { seeds: 'repeats' });
  });
  if (flags['json'])
    out(
      JSON.stringify(
        {
          method,
          final: r.final,
          ...(r.seeds === undefined ? {} : { seeds: r.seeds }),
          ...(r.failed ? { failed: r.failed } : {}),
          test_acc: r.acc,
          test_loss: r.loss,
          best_member: { trial: r.bestMember.trial, test_acc: r.bestMember.testAcc },
          ...(r.fewer ? { fewer: r.fewer } : {}),
          members: r.members.map((m, i) => ({ trial: r.trials[i], weight: r.weights[i], test_acc: m.testAcc })),
          member_test_acc: memberTestAccMeaning(r.final, r.seeds),
          ...(r.selection ? { selection: { oof_loss: r.selection.loss, oof_acc: r.selection.acc, library: r.selection.library, without_predictions: r.selection.withoutPredictions, size: r.selection.size, metric: r.selection.metric } } : {}),
        },
        null,
        2,
      ) + '\n',
    );
  else out(ensembleText(r, { method, ...(method === 'top' ? { k: num('k')! } : {}) }));
  return 0;
}

async function cmdExport(argv: string[]): Promise<number> {
  const { flags, num } = parse(argv, { ...readFlags, out: { type: 'string' }, format: { type: 'string', choices: ['csv', 'json'], synonyms: FORMAT_SYNONYMS }, 'no-onnx': { type: 'boolean' }, force: { type: 'boolean' }, trial: { type: 'string', number: NON_NEGATIVE_INT } }, 0, (p, issues) => {
    studyRequired(p, issues);
    if (p.flags['trial'] !== undefined && p.flags['format'] !== undefined) issues.add(flagError('trial', 'applies to the winner export (--out DIR); --format writes every trial'));
    if (p.flags['format'] === undefined && typeof p.flags['out'] !== 'string') issues.add(new UsageError('--out DIR is required (or --format csv|json)'));
    if (p.flags['force'] && p.flags['format'] === undefined) issues.add(flagError('force', 'applies to --format csv|json --out FILE', 'the winner is exported into a new directory; give a new --out DIR'));
    // As every command that writes a file (report, export): an existing one is replaced only when asked.
    const o = p.flags['out'];
    if (p.flags['format'] !== undefined && typeof o === 'string' && !p.flags['force'] && existsSync(o)) issues.add(flagError('out', `${resolve(o)} already exists`, 'give a new file name, or --force to replace it'));
  });
  if (flags['help']) return out(help('export') + '\n'), 0;
  const storage = storageOf(flags);
  const name = needStudy(flags);
  const format = flags['format'];
  if (format !== undefined) {
    // format is csv or json (parse checked its choices)
    const { study, trials } = await studyTrials(storage, name);
    const text = format === 'csv' ? trialsToCsv(study, trials) : trialsToJson(study, trials);
    if (typeof flags['out'] === 'string') {
      writeFileAtomic(flags['out'], text);
      err(`wrote ${trials.length} trials to ${flags['out']}\n`);
    } else out(text);
    return 0;
  }
  const trial = num('trial');
  // --trial's errors are train's, compress's and finetune's (noSuchTrial, field trial): said as the flag.
  const r = await exportWinner(storage, name, flags['out'] as string, { onnx: !flags['no-onnx'], ...(trial === undefined ? {} : { trial }) }).catch((e: unknown) => Promise.reject(withFlagNames(e, { trial: { type: 'string' } })));
  for (const w of r.warnings) err(`tsnas export: warning: ${w}\n`);
  if (flags['json']) out(JSON.stringify({ dir: r.dir, files: r.files, trial: r.trial.number, warnings: r.warnings }) + '\n');
  else out(`exported trial ${r.trial.number} to ${r.dir}: ${r.files.join(', ')}\n`);
  return 0;
}

async function cmdDb(argv: string[]): Promise<number> {
  const { flags } = parse(argv, { storage: { type: 'string' }, json: { type: 'boolean' } }, 1, (p, issues) => {
    const sub = p.args[0];
    if (sub === undefined) issues.add(new UsageError('a subcommand is required: tsnas db upgrade'));
    else if (sub !== 'upgrade') issues.add(new UsageError(`unknown subcommand ${JSON.stringify(sub)} (tsnas db has: upgrade)`));
  });
  if (flags['help']) return out(help('db') + '\n'), 0;
  const r = await upgradeDatabase(storageOf(flags));
  if (flags['json']) out(JSON.stringify(r) + '\n');
  else {
    const what = r.action === 'upgraded' ? `upgraded from schema version ${r.from} to ${r.to}`
      : r.action === 'created' ? `created at schema version ${r.to}`
      : r.to === r.current ? `already at schema version ${r.to}; nothing to do`
      : `at schema version ${r.to}, newer than this tsnas (${r.current}) but usable by it; nothing to do`;
    out(`${r.storage}: ${what}\n`);
  }
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  search: cmdSearch,
  worker: cmdWorker,
  status: cmdStatus,
  trials: cmdTrials,
  best: cmdBest,
  ensemble: cmdEnsemble,
  export: cmdExport,
  repeat: repeatCmd.run,
  compress: compressCmd.run,
  db: cmdDb,
  finetune: finetuneCmd.run,
};

const WRITES_AT_END = 'nothing was written (the --out directory is made only when it finishes)';

/**
 * What each command says when SIGINT/SIGTERM stops it outside its own graceful stop
 * (`interruptible`, installed once a search, worker, repeat, main, train, ensemble or dashboard is running):
 * what stopped, and what was kept when no unfinished output was removed (core/partial.ts
 * sayOnStop). A stop was silent before a finetune made its output directory (new user 10b).
 */
export const STOP_NOTICES: Readonly<Record<string, { readonly stopped: string; readonly kept: string }>> = {
  search: { stopped: 'the search before it started', kept: 'nothing was written to the study' },
  worker: { stopped: 'the worker before it claimed a trial', kept: 'nothing was written to the study' },
  repeat: { stopped: 'the repeated search before it started', kept: 'nothing was written' },
  main: { stopped: 'tsnas main before it started', kept: 'nothing was written' },
  train: { stopped: 'the training before it started', kept: 'nothing is kept (tsnas train writes no file)' },
  ensemble: { stopped: 'the ensemble before its retraining', kept: 'nothing is kept (tsnas ensemble writes no file)' },
  finetune: { stopped: 'the fine-tuning', kept: WRITES_AT_END },
  compress: { stopped: 'the compression', kept: WRITES_AT_END },
  export: { stopped: 'the export', kept: WRITES_AT_END },
  report: { stopped: 'the report', kept: 'nothing was written (the report file is written only when it finishes)' },
  dashboard: { stopped: 'the dashboard before it started', kept: 'nothing was written (the dashboard only reads)' },
  db: { stopped: 'the schema upgrade', kept: 'its migrations are one transaction: applied whole or not at all (tsnas db upgrade says which)' },
  status: { stopped: 'tsnas status', kept: 'nothing was written (it only reads)' },
  trials: { stopped: 'tsnas trials', kept: 'nothing was written (it only reads)' },
  best: { stopped: 'tsnas best', kept: 'nothing was written (it only reads)' },
};

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const end = cmd === undefined ? undefined : startCommand(cmd, Object.hasOwn(STOP_NOTICES, cmd) ? STOP_NOTICES[cmd] : undefined);
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      out(help(rest[0]));
      return cmd === undefined ? 2 : 0;
    }
    const f = COMMANDS[cmd] ?? COMMANDS_EXTRA[cmd]?.run;
    if (!f) {
      const names = [...Object.keys(COMMANDS), ...Object.keys(COMMANDS_EXTRA)];
      const near = closest(cmd.replace(/^-+/, ''), names);
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}${near === undefined ? '' : `; did you mean ${near}?`} (commands: ${names.join(', ')})`);
    }
    return await f(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`tsnas ${cmd ?? ''}: ${e.text}\n(tsnas ${cmd && (COMMANDS[cmd] || COMMANDS_EXTRA[cmd]) ? cmd + ' ' : ''}--help for usage)\n`);
      return 2;
    }
    if (e instanceof WorkerStartError) {
      err(`tsnas ${cmd}: error [${e.error.code}]: ${e.error.message}\n`);
      return 2;
    }
    if (e instanceof NasError) {
      err(`tsnas ${cmd}: error [${e.code}]: ${e.message}\n`);
      return exitCodeOf(e);
    }
    err(`tsnas ${cmd}: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  } finally {
    end?.();
  }
}

/**
 * Runs the CLI as this process: `run(argv)`, then exits with its code once stdout and stderr have
 * drained (open handles such as pg pools must not keep the process alive). bin/tsnas.js calls it,
 * whatever name or symlink started it (`npx tsnas`, node_modules/.bin/tsnas, a global link).
 */
export async function runProcess(argv: readonly string[]): Promise<void> {
  const code = await run([...argv]);
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// Run when this module itself is the entry (`node dist/cli/main.js`, `tsx src/cli/main.ts`; tests and
// workers fork it). Importing it (bin/tsnas.js, tests) runs nothing.
if (process.argv[1] !== undefined && /[\\/]cli[\\/]main\.(js|ts)$/.test(process.argv[1])) await runProcess(process.argv.slice(2));
