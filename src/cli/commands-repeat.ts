/**
 * `tsnas repeat`: one search config run once per seed as studies `<name>-seed<k>`, then the best
 * trial of each seed and mean ± std over the seeds (src/api/repeat.ts).
 */
import { parseRefPoint, prepareSearch, refPointText, repeatSearch, seedList, type PrepareInput, type RepeatResult } from '../api/index.js';
import { invariant } from '../core/errors.js';
import { interruptible, parse, statTable, UsageError, type ExtraCommand } from './commands-extra.js';
import { flagError, sayDataNotes } from './args.js';
import { SEARCH_ELSEWHERE } from './args.js';
import { Progress } from './progress.js';
import { CONFIG_FLAGS, SEARCH_CHOICE_FLAGS, SEARCH_EVALUATOR_FLAGS, badConfigFields } from './search-flags.js';
import { renderTable, type Cell } from './table.js';

/** A multi-objective repeat: each seed's Pareto set size and hypervolume, one reference point for all (stated). */
function printRepeatMo(r: RepeatResult): string {
  const perSeed = renderTable(
    ['seed', 'study', 'run', 'reason', 'complete', 'failed', 'pareto size', 'hypervolume'],
    r.runs.map((x): Cell[] => [x.seed, x.study, x.action, x.reason, x.counts.complete, x.counts.failed, x.pareto?.size, x.pareto?.hypervolume]),
  );
  const n = r.runs.length - r.excluded;
  const hv = r.hypervolume!;
  const ref = hv.ref
    ? refPointText({ ref: hv.ref, refSource: hv.refSource }, r.objectives, n)
    : 'none (no complete trial)';
  return (
    perSeed +
    '\n' +
    (n > 0 ? statTable(r.summary) : '') +
    `${n} of ${r.runs.length} seed(s) in the statistics${r.excluded ? ` (${r.excluded} left out: not finished or no complete trial)` : ''}${r.aborted ? '; interrupted' : ''}` +
    ` (pareto size: feasible non-dominated trials on ${r.objectives.map((o) => `${o.metric} (${o.direction})`).join(', ')}; std: sample standard deviation, n-1)\n` +
    `hypervolume reference point, the same for every seed: ${ref}\n` +
    (hv.warning ? `warning: ${hv.warning}\n` : '')
  );
}

function printRepeat(r: RepeatResult): string {
  if (r.hypervolume) return printRepeatMo(r);
  const tests = [...new Set(r.runs.flatMap((x) => Object.keys(x.best?.test ?? {})))].sort();
  const perSeed = renderTable(
    ['seed', 'study', 'run', 'reason', 'complete', 'failed', 'best #', ...r.objectives.map((o) => o.metric), ...tests],
    r.runs.map((x): Cell[] => [
      x.seed,
      x.study,
      x.action,
      x.reason,
      x.counts.complete,
      x.counts.failed,
      x.best?.number,
      ...r.objectives.map((_, i) => x.best?.values[i]),
      ...tests.map((k) => x.best?.test[k]),
    ]),
  );
  const n = r.runs.length - r.excluded;
  return (
    perSeed +
    '\n' +
    (n > 0 ? statTable(r.summary) : '') +
    `${n} of ${r.runs.length} seed(s) in the statistics${r.excluded ? ` (${r.excluded} left out: not finished or no complete trial)` : ''}${r.aborted ? '; interrupted' : ''}` +
    ` (best trial of each seed by ${r.objectives[0]!.metric}; std: sample standard deviation, n-1)\n`
  );
}

/** The flags of `tsnas search` that override config fields (src/api/config.ts configFromFlags). */
const SEARCH_FLAGS = ['study', 'storage', 'table', 'latency', 'objective', 'trials', 'wallclock', 'workers', 'lease', 'data-dir', 'path', 'label', 'val-fraction', 'test-fraction'];

export const repeatCmd: ExtraCommand = {
  summary: 'run one search config once per seed (studies NAME-seed<k>); best of each, mean ± std',
  help: `usage: tsnas repeat [CONFIG.yaml|json | --config FILE] --seeds 0,1,2 [options]
       tsnas repeat [CONFIG] --repeats N [--seed S]

Runs the same search once per seed, as separate studies NAME-seed<k> in the same storage (each one
resumable and visible in tsnas status and the dashboard), then prints the best trial of each seed
(by the first objective): its objective values and test metrics, and per metric mean ± sample
std (n-1), min, max over the seeds. A multi-objective config (nsga2) has no single best: each
seed's Pareto set size and hypervolume are shown and summarised instead, every seed's hypervolume
bounded by the same reference point (so they compare), which the output states. NAME is the config's study (flags only: SPACE-STRATEGY).
The seed sets the study's seed (strategy sampling and each trial's training seed); everything else
in the config is the same for all seeds. Rerunning the command resumes: a seed whose study finished
is not run again, an interrupted one continues. A seed that stopped without finishing is shown and
left out of the statistics (exit code 1).

options:
  --seeds 0,1,2         the seeds
  --repeats N           seeds --seed, --seed+1, ..., --seed+N-1 (--seed defaults to the config's seed)
  --config FILE         the config file (or give it as the first argument)
  --ref-point A,B       multi-objective configs: the hypervolume's reference point, one value per
                        objective in order (default: one point shared by all seeds, 10% of the range
                        beyond the worst complete trial of any seed; stated in the output)
  --study, --storage, --space, --strategy, --evaluator, --table, --latency, --objective,
  --direction, --trials, --wallclock, --workers, --lease, --dataset, --data-dir, --path,
  --label, --header, --val-fraction, --test-fraction, --epochs, --train-per-class, --threads,
  --time-limit, --split-seed
                        as in tsnas search (override the config's fields)
  --json                print {name, storage, objectives, runs, excluded, aborted,
                        summary: {metric: {mean, std, min, max, n}}}
  --quiet               no progress output
`,
  async run(argv) {
    let seeds: number[] = [];
    let input: PrepareInput | undefined;
    let warnings: readonly string[] = [];
    let refPoint: number[] | undefined;
    const { flags } = parse(
      argv,
      {
        config: { type: 'string' },
        seeds: { type: 'string', list: true },
        repeats: { type: 'string' },
        seed: { type: 'string' },
        'ref-point': { type: 'string', list: true },
        ...Object.fromEntries(SEARCH_FLAGS.map((k) => [k, { type: 'string' as const, ...(k === 'objective' ? { list: true as const } : {}) }])),
        ...SEARCH_CHOICE_FLAGS,
        ...SEARCH_EVALUATOR_FLAGS,
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
      1,
      // The seeds and the config the flags make (or override) are checked with the flags: one list.
      (p, issues) => {
        const sv = (k: string) => (typeof p.flags[k] === 'string' ? (p.flags[k] as string) : undefined);
        if (p.args[0] !== undefined && p.flags['config'] !== undefined) issues.add(new UsageError('give the config once: as the argument or with --config'));
        const configPath = p.args[0] ?? sv('config');
        const { seeds: _a, repeats: _b, seed: _c, config: _d, json: _e, quiet: _f, 'ref-point': _g, ...searchFlags } = p.flags;
        void [_a, _b, _c, _d, _e, _f, _g];
        let configSeed = 0;
        if (configPath === undefined && (p.flags['space'] === undefined || p.flags['strategy'] === undefined || (p.flags['evaluator'] === undefined && p.flags['dataset'] === undefined)))
          issues.add(new UsageError('give a config file, or at least --space, --strategy and --evaluator'));
        else {
          // A refused flag's field is left out of the config's problems (the same mistake again).
          const i: PrepareInput = { ...(configPath === undefined ? {} : { configPath }), flags: searchFlags };
          const prepared = issues.takeBeyond(() => prepareSearch(i), undefined, badConfigFields(p.bad));
          if (prepared && ![...p.bad].some((k) => CONFIG_FLAGS.has(k))) {
            input = i;
            configSeed = prepared.config.seed;
            warnings = prepared.parts.warnings;
            const rp = sv('ref-point');
            const objs = prepared.config.objectives;
            if (rp !== undefined)
              refPoint = issues.take(() => {
                if (objs.length < 2) throw flagError('ref-point', `applies to a multi-objective config; this one has one objective (${objs[0]!.metric})`);
                return parseRefPoint(rp, objs);
              }, undefined);
          }
        }
        // --repeats without --seed counts up from the config's seed.
        seeds = issues.take(() => seedList({ seeds: sv('seeds'), repeats: sv('repeats'), seed: sv('seed') }, sv('repeats') !== undefined && sv('seed') === undefined ? configSeed : 0), []);
      },
      SEARCH_ELSEWHERE,
    );
    if (flags['help']) return process.stdout.write(repeatCmd.help), 0;
    invariant(input !== undefined, 'repeat: parse accepted a command line without a config');
    for (const w of warnings) process.stderr.write(`tsnas repeat: warning: ${w}\n`);
    const ctl = interruptible();
    const quiet = Boolean(flags['quiet']);
    let bar: Progress | undefined;
    const r = await repeatSearch(
      { ...input, seeds, ...(refPoint ? { refPoint } : {}) },
      {
        signal: ctl.signal,
        onDataNotes: (notes) => sayDataNotes(notes, quiet),
        ...(quiet
          ? {}
          : {
              onSeed: (e) => {
                bar?.finish();
                bar = undefined;
                process.stderr.write(`tsnas: seed ${e.seed} (${e.index + 1}/${e.count}): study ${e.study}${e.action === 'skip' ? ' already finished, not run again' : ''}\n`);
              },
              onProgress: (_seed, p) => {
                bar ??= new Progress({ label: 'trials', total: p.budget });
                bar.update(p.counts.complete + p.counts.pruned, `${p.counts.failed ? `${p.counts.failed} failed, ` : ''}${p.best ? `best ${p.best.value.toFixed(3)} (#${p.best.number})` : ''}`);
              },
              onEvent: (_seed, e) => {
                if (e.type === 'finished' && e.trial.state === 'failed') bar?.log(`trial ${e.trial.number} failed: ${e.trial.error}`);
              },
            }),
      },
    );
    bar?.finish();
    process.stdout.write(flags['json'] ? JSON.stringify(r, null, 2) + '\n' : printRepeat(r));
    if (!flags['json'] && !quiet) process.stderr.write(`the studies: tsnas status --storage ${r.storage}\n`);
    return r.aborted ? 130 : r.excluded > 0 ? 1 : 0;
  },
};
