/**
 * Study configs: YAML or JSON files (or CLI flags), validated in full before anything is opened or
 * written. Every error names the field and says what is allowed. Relative paths are resolved
 * against the config file's directory (the working directory for flags) and stored absolute, so a
 * worker started elsewhere on the same machine finds the same files.
 *
 *   study: nb201-evolution          # name; rerunning with the same name resumes the study
 *   storage: sqlite:./tsnas.db      # or postgres://user:pass@host:5432/db
 *   space: nb201                    # a built-in space name
 *   strategy: evolution             # or { name: evolution, options: { population: 20 } }
 *   evaluator: { name: nb201 }            (the bundled CIFAR-10 table; or table: PATH)
 *   objectives: [ { metric: val_acc, direction: maximize } ]
 *   constraints: [ { metric: params, max: 1000000 } ]
 *   trials: 100                     # budget: trials that did not fail
 *   wallclock: 3600                 # optional budget in seconds
 *   seed: 0
 *   workers: 1
 *   lease: 30                       # seconds; a dead worker's trial is re-run after it
 *   max_lease_retries: 3            # then a trial that keeps losing its worker is recorded failed
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { NasError, renameFields } from '../core/errors.js';
import { impossibleConstraint, metricBounds, metricSense } from '../core/metrics.js';
import { canonicalJson, type Json, type JsonObject } from '../core/json.js';
import { parsePrescreen } from './proxy-parts.js';
import { parseStoreUrl } from '../store/index.js';
import { DEFAULT_MAX_LEASE_RETRIES } from '../run/study.js';
import { Issues, fail, isObj, noExtraKeys, num, obj, oneOf, optNum, parseJsonStrict, str, type Obj } from './validate.js';
import { DIRECTION_SYNONYMS } from '../core/synonyms.js';

export interface ObjectiveConfig extends JsonObject {
  metric: string;
  direction: 'maximize' | 'minimize';
}
/** An objective with the tie-break of `tie_break: val_loss` (kept as `tieBreak`, the store's and core's field). */
export type ObjectiveWithTieBreak = ObjectiveConfig & { tieBreak?: { metric: string; direction: 'maximize' | 'minimize' } };
export interface ConstraintConfig extends JsonObject {
  metric: string;
}

export interface StudyConfig {
  study: string;
  storage: string;
  space: string;
  strategy: { name: string; options: JsonObject };
  evaluator: { name: string; options: JsonObject };
  objectives: ObjectiveConfig[];
  constraints: ConstraintConfig[];
  /** Budget: trials that did not fail. */
  trials: number;
  /** Optional wall-clock budget, seconds. */
  wallclock: number | null;
  seed: number;
  workers: number;
  /** Lease length in seconds (a dead worker's trial is re-run this long after its last heartbeat). */
  lease: number;
  /**
   * `max_lease_retries`: how many times a trial is run again after its lease expired; the next
   * claim records it failed (`lease_retries_exhausted`). Default 3 (src/run/study.ts).
   */
  maxLeaseRetries: number;
  /** Zero-cost prescreening of the strategy's random draws (src/api/proxy-parts.ts); null = none. */
  prescreen?: JsonObject | null;
  /** Earlier studies whose complete trials this study starts from (src/run/warm-start.ts). */
  warmStart?: { study: string; storage: string }[];
  /** Architectures proposed first, in order (src/strategy/enqueue.ts); checked against the space by buildParts. */
  enqueue?: JsonObject[];
}

export const CONFIG_FIELDS = [
  'study',
  'storage',
  'space',
  'strategy',
  'evaluator',
  'objectives',
  'constraints',
  'trials',
  'wallclock',
  'seed',
  'workers',
  'lease',
  'max_lease_retries',
  'prescreen',
  'warm_start',
  'enqueue',
] as const;

export const DEFAULT_STORAGE = 'sqlite:./tsnas.db';

/** Reads and parses a config file (YAML or JSON by extension; YAML is a superset, so .json parses too). */
export function readConfigFile(path: string): { raw: unknown; baseDir: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NasError('invalid_config', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      field: 'config',
      hint: 'pass the path of a YAML or JSON study config',
    });
  }
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  try {
    raw = ext === '.json' ? parseJsonStrict(text) : parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new NasError('invalid_config', `${path} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`, {
      field: 'config',
      hint: 'fix the syntax at the position given',
    });
  }
  return { raw, baseDir: dirname(resolve(path)) };
}

/** Resolves a storage URL's relative SQLite path against `baseDir`; checks the URL's form. */
export function resolveStorage(url: string, baseDir: string, field = 'storage'): string {
  const loc = parseStoreUrl(url, field);
  if (loc.kind === 'postgres') return url;
  if (loc.path === ':memory:') fail(field, 'an in-memory database cannot hold a study that workers share or resume', 'use sqlite:PATH');
  return `sqlite:${resolve(baseDir, loc.path)}`;
}

/**
 * The study's SQLite storage must be in a directory that exists: a missing one is a config error
 * naming it (joining the config's other problems, before anything is loaded or written), never
 * created. sqlite3 and Optuna refuse such a path too; the store says the same when opened.
 */
function storageDirExists(url: string): string {
  const loc = parseStoreUrl(url);
  if (loc.kind === 'sqlite' && !existsSync(dirname(loc.path)))
    fail('storage', `directory ${dirname(loc.path)} of the database ${loc.path} does not exist`, `check the path, or create the directory first (mkdir -p ${dirname(loc.path)}); tsnas creates the database file, never missing directories`);
  return url;
}

/** Longest study name (characters A-Z a-z 0-9 _ . -). */
export const STUDY_NAME_MAX = 200;
const STUDY_NAME = new RegExp(`^[A-Za-z0-9_.-]{1,${STUDY_NAME_MAX}}$`);

/**
 * Checks the shape of a config and fills defaults. Names (strategy, space, evaluator) and their
 * options are checked against the registries by `buildStudyParts` (also before anything runs).
 */
export function validateConfig(rawIn: unknown, baseDir: string): StudyConfig {
  const { config, issues } = validateConfigCollect(rawIn, baseDir);
  issues.throwIfAny('the config');
  return config;
}

/**
 * validateConfig without throwing: every field is checked (a bad field gets a placeholder value),
 * and `issues` holds every problem found, each naming its field and the fix. The registries'
 * checks (buildParts) then run on the result, leaving out problems on fields already found bad
 * (Issues.takeBeyond).
 */
export function validateConfigCollect(rawIn: unknown, baseDir: string): { config: StudyConfig; issues: Issues } {
  const I = new Issues();
  const raw = obj(rawIn ?? undefined, '(config)');
  I.take(() => noExtraKeys(raw, '', CONFIG_FIELDS), undefined);
  const study = I.take(() => {
    const v = str(raw['study'], 'study', 'give the study a name, e.g. study: my-search');
    if (!STUDY_NAME.test(v)) fail('study', `${JSON.stringify(v)} is not a valid study name`, `use 1-${STUDY_NAME_MAX} characters of A-Z a-z 0-9 _ . -`);
    return v;
  }, 'invalid');
  const storage = I.take(() => storageDirExists(resolveStorage(raw['storage'] === undefined ? DEFAULT_STORAGE : str(raw['storage'], 'storage'), baseDir)), DEFAULT_STORAGE);
  const space = I.take(() => str(raw['space'], 'space', 'name a search space, e.g. space: nb201'), '');

  const named = (v: unknown, field: string): { name: string; options: JsonObject } => {
    if (typeof v === 'string') return { name: str(v, field), options: {} };
    const o = obj(v, field);
    noExtraKeys(o, field, ['name', 'options']);
    const options = o['options'] === undefined ? {} : (obj(o['options'], `${field}.options`) as JsonObject);
    return { name: str(o['name'], `${field}.name`), options };
  };
  const strategy = I.take(() => named(raw['strategy'], 'strategy'), { name: '', options: {} });
  // Evaluator options sit beside its name: { name: nb201, table: ... }.
  const evaluator = I.take((): { name: string; options: JsonObject } => {
    const evRaw = raw['evaluator'];
    if (typeof evRaw === 'string') return { name: str(evRaw, 'evaluator'), options: {} };
    const o = obj(evRaw, 'evaluator');
    const { name, ...options } = o;
    return { name: str(name, 'evaluator.name', 'e.g. evaluator: { name: nb201, table: PATH }'), options: options as JsonObject };
  }, { name: '', options: {} });

  // Inside one objective or constraint too, each key is checked on its own (every problem at once).
  const objectives: ObjectiveConfig[] = [];
  const objRaw = raw['objectives'] ?? [{ metric: 'val_acc', direction: 'maximize' }];
  if (!Array.isArray(objRaw) || objRaw.length === 0) I.take(() => fail('objectives', 'must be a non-empty list', 'e.g. objectives: [{ metric: val_acc, direction: maximize }]'), undefined);
  else
    objRaw.forEach((o: unknown, i: number) =>
      I.take(() => {
        const f = `objectives[${i}]`;
        const oo: Obj = typeof o === 'string' ? { metric: o } : obj(o, f);
        I.take(() => noExtraKeys(oo, f, ['metric', 'direction', 'tie_break']), undefined);
        const tb = oo['tie_break'];
        const tieBreak = tb === undefined ? undefined : I.take((): { metric: string; direction: 'maximize' | 'minimize' } => {
          // `tie_break: val_loss` (a *_loss metric is minimised, anything else maximised) or { metric, direction }.
          const t = typeof tb === 'string' ? { metric: tb } : obj(tb, `${f}.tie_break`);
          I.take(() => noExtraKeys(t, `${f}.tie_break`, ['metric', 'direction']), undefined);
          const metric = str(t['metric'], `${f}.tie_break.metric`, 'e.g. tie_break: val_loss');
          return { metric, direction: oneOf(t['direction'] ?? (/_loss$/.test(metric) ? 'minimize' : 'maximize'), `${f}.tie_break.direction`, ['maximize', 'minimize'] as const, DIRECTION_SYNONYMS) };
        }, undefined);
        const metric = I.take(() => str(oo['metric'], `${f}.metric`), '');
        // No default direction for a cost or loss (latency_ms, params, val_loss): maximize would
        // silently search for the slowest / largest network, and minimize would change what an
        // older study's config meant, so the direction must be written (metricSense).
        if (oo['direction'] === undefined && metric && metricSense(metric) === 'minimize')
          I.take(() => fail(`${f}.direction`, `is required for ${metric} (a cost or loss: lower is better)`, `write { metric: ${metric}, direction: minimize }; a study created before this check maximized it: write direction: maximize to resume that one`), undefined);
        const direction = I.take(() => oneOf(oo['direction'] ?? 'maximize', `${f}.direction`, ['maximize', 'minimize'] as const, DIRECTION_SYNONYMS), 'maximize' as const);
        objectives.push({ metric, direction, ...(tieBreak ? { tieBreak: tieBreak as unknown as JsonObject } : {}) });
      }, undefined),
    );

  const constraints: ConstraintConfig[] = [];
  const conRaw = raw['constraints'] ?? [];
  if (!Array.isArray(conRaw)) I.take(() => fail('constraints', 'must be a list', 'e.g. constraints: [{ metric: params, max: 1000000 }]'), undefined);
  else
    conRaw.forEach((c: unknown, i: number) =>
      I.take(() => {
        const f = `constraints[${i}]`;
        const cc = obj(c, f);
        I.take(() => noExtraKeys(cc, f, ['metric', 'max', 'min']), undefined);
        const max = I.take(() => optNum(cc['max'], `${f}.max`), NaN);
        const min = I.take(() => optNum(cc['min'], `${f}.min`), NaN);
        if (max === undefined && min === undefined) I.take(() => fail(f, 'needs max or min', `e.g. { metric: params, max: 1000000 }`), undefined);
        const metric = I.take(() => str(cc['metric'], `${f}.metric`), '');
        const con = { metric, ...(max === undefined ? {} : { max }), ...(min === undefined ? {} : { min }) };
        // A bound no value of the metric can meet (max: -5 on latency_ms) is a config error here,
        // before any study is written, not a search that stops at its first ask.
        const impossible = metric && !Number.isNaN(max) && !Number.isNaN(min) ? impossibleConstraint(con) : undefined;
        if (impossible) {
          const crossed = con.min !== undefined && con.max !== undefined && con.min > con.max;
          I.take(() => fail(crossed ? f : `${f}.${impossible.startsWith('max') ? 'max' : 'min'}`, `can never be met: ${impossible}`, crossed ? 'give min <= max (swapped?)' : `give a bound ${metric} can meet (${boundsText(metric)})`), undefined);
        }
        constraints.push(con);
      }, undefined),
    );

  const trials = I.take(() => num(raw['trials'] ?? 100, 'trials', { integer: true, min: 1, max: 10_000_000 }), 1);
  const wallclock = I.take(() => (raw['wallclock'] === undefined || raw['wallclock'] === null ? null : num(raw['wallclock'], 'wallclock', { min: 1 })), null);
  const seed = I.take(() => num(raw['seed'] ?? 0, 'seed', { integer: true, min: 0, max: 2 ** 32 - 1 }), 0);
  const workers = I.take(() => num(raw['workers'] ?? 1, 'workers', { integer: true, min: 1, max: 256 }), 1);
  const lease = I.take(() => num(raw['lease'] ?? 30, 'lease', { min: 0.1, max: 86400 }), 30);
  const maxLeaseRetries = I.take(() => num(raw['max_lease_retries'] ?? DEFAULT_MAX_LEASE_RETRIES, 'max_lease_retries', { integer: true, min: 0, max: 1_000_000 }), DEFAULT_MAX_LEASE_RETRIES);
  const prescreen = I.take(() => parsePrescreen(raw['prescreen']), undefined);
  const warmStart = I.take((): { study: string; storage: string }[] | undefined => {
    if (raw['warm_start'] === undefined) return undefined;
    const ws = raw['warm_start'];
    if (!Array.isArray(ws) || ws.length === 0) fail('warm_start', 'must be a non-empty list', 'e.g. warm_start: [{ study: earlier-search, storage: sqlite:./old.db }]');
    const W = new Issues();
    const list = ws.map((w: unknown, i: number) =>
      W.take(() => {
        const f = `warm_start[${i}]`;
        const o = typeof w === 'string' ? { study: w } : obj(w, f);
        W.take(() => noExtraKeys(o, f, ['study', 'storage']), undefined);
        const name = W.take(() => str(o['study'], `${f}.study`, 'the name of an earlier study'), '');
        return { study: name, storage: o['storage'] === undefined ? storage : W.take(() => resolveStorage(str(o['storage'], `${f}.storage`), baseDir, `${f}.storage`), storage) };
      }, { study: '', storage }),
    );
    W.throwIfAny('warm_start');
    return list;
  }, undefined);
  const enqueue = I.take((): JsonObject[] | undefined => {
    const q = raw['enqueue'];
    if (q === undefined) return undefined;
    if (!Array.isArray(q) || q.length === 0) fail('enqueue', 'must be a non-empty list of architectures of the space', 'e.g. enqueue: [{ arch: { family: mlp, hidden: [128], activation: relu, batchNorm: false, dropout: 0 }, hparams: { optimizer: adam, lr: 0.001, batchSize: 32, weightDecay: 0.000001 } }]');
    return (q as unknown[]).map((a, i) => obj(a, `enqueue[${i}]`) as JsonObject);
  }, undefined);
  const config: StudyConfig = { study, storage, space, strategy, evaluator, objectives, constraints, trials, wallclock, seed, workers, lease, maxLeaseRetries, ...(prescreen ? { prescreen } : {}), ...(warmStart ? { warmStart } : {}), ...(enqueue ? { enqueue } : {}) };
  return { config, issues: I };
}

/** The range of a metric in words, for hints: `0 to 100`, `0 or more`. */
function boundsText(metric: string): string {
  const { lo, hi } = metricBounds(metric);
  return lo !== undefined && hi !== undefined ? `${metric} lies in ${lo} to ${hi}` : lo !== undefined ? `${metric} is ${lo} or more` : `${metric} is at most ${hi}`;
}

/** `tsnas search`/`repeat` flags that set a train evaluator option, with `tsnas train`'s names: [flag, option]. */
export const EVALUATOR_NUMBER_FLAGS: readonly (readonly [string, string])[] = [
  ['epochs', 'epochs'],
  ['train-per-class', 'train_per_class'],
  ['threads', 'threads'],
  ['time-limit', 'time_limit'],
  ['split-seed', 'split_seed'],
];

/**
 * The flag of `tsnas search`/`repeat`/`worker` that sets config field `field` (configFromFlags'
 * inverse), or undefined: `evaluator.path` -> `--path`, `objectives[0].direction` -> `--direction`.
 * prepareSearch reports a problem of a field the flags set (or, with no config file, a missing
 * one) under the flag's name (renameFields), so a CLI user reads the flag they typed.
 */
export function flagOfConfigField(field: string): string | undefined {
  // `--objective M1,M2 --direction D1,D2`: objective i is item i of both flags.
  const f = CONFIG_FIELD_FLAGS[field.replace(/^objectives\[\d+\]/, 'objectives[0]')];
  return f === undefined ? undefined : `--${f}`;
}

/** Config field -> the flag (without `--`) of `tsnas search` that sets it (see flagOfConfigField). */
export const CONFIG_FIELD_FLAGS: Readonly<Record<string, string>> = {
    study: 'study', storage: 'storage', space: 'space', strategy: 'strategy', 'strategy.name': 'strategy', evaluator: 'evaluator', 'evaluator.name': 'evaluator',
    trials: 'trials', seed: 'seed', workers: 'workers', wallclock: 'wallclock', lease: 'lease', max_lease_retries: 'max-lease-retries',
    objectives: 'objective', 'objectives[0]': 'objective', 'objectives[0].metric': 'objective', 'objectives[0].direction': 'direction',
    'evaluator.dataset': 'dataset', 'evaluator.table': 'table', 'evaluator.latency': 'latency', 'evaluator.path': 'path', 'evaluator.data_dir': 'data-dir',
    'evaluator.label': 'label', 'evaluator.header': 'header', 'evaluator.val_fraction': 'val-fraction', 'evaluator.test_fraction': 'test-fraction',
  ...Object.fromEntries(EVALUATOR_NUMBER_FLAGS.map(([flag, key]) => [`evaluator.${key}`, flag])),
};

/**
 * `e` (an error of prepareSearch) with each problem the flags of `input` wrote, or that no config
 * file could have (flags only), named by its flag: `--path: is required` rather than
 * `evaluator.path: must be a non-empty string, got nothing`. Problems of the config file keep
 * their field names.
 */
export function withSearchFlagNames(e: unknown, input: PrepareInput): unknown {
  if (!input.flags || !(e instanceof NasError)) return e;
  const sourceOf = configSourceOf(input);
  return renameFields(e, (field, message) => {
    const flag = sourceOf === null || sourceOf(field) === 'on the command line' ? flagOfConfigField(field) : undefined;
    // A train evaluator flag given to another evaluator: say so, not "unknown field".
    if (flag !== undefined && EVALUATOR_NUMBER_FLAGS.some(([f]) => `--${f}` === flag) && message.startsWith('unknown field'))
      return { field: flag, message: 'applies to the train evaluator (--dataset KIND or --evaluator train); this evaluator does not train' };
    return flag;
  });
}

/** Flags of `tsnas search` given without a config file, shaped like a raw config. */
export function configFromFlags(f: Readonly<Record<string, string | boolean | undefined>>): Obj {
  const raw: Obj = {};
  const s = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
  if (s('study')) raw['study'] = s('study');
  if (s('storage')) raw['storage'] = s('storage');
  if (s('space')) raw['space'] = s('space');
  if (s('strategy')) raw['strategy'] = s('strategy');
  // Evaluator flags: --evaluator/--dataset name it (--dataset alone means the train evaluator:
  // `tsnas search --strategy darts --dataset fashion_mnist`); the others override the config
  // file's evaluator options (merged by mergeFlags), e.g. `tsnas search c.yaml --path other.csv`.
  // --path/--label/--header/--val-fraction/--test-fraction are `tsnas train`'s data flags, so a README example works with either command.
  const ev: Obj = {};
  if (s('evaluator') || s('dataset')) ev['name'] = s('evaluator') ?? 'train';
  if (s('table')) ev['table'] = s('table');
  if (s('latency')) ev['latency'] = s('latency');
  if (s('dataset')) ev['dataset'] = s('dataset');
  // digits/csv read a file: --path FILE, or --data-dir FILE (finetune's and compress's older spelling).
  const fileKind = s('dataset') === 'csv' || s('dataset') === 'digits';
  if (fileKind && s('data-dir') !== undefined && s('path') !== undefined && resolve(s('data-dir')!) !== resolve(s('path')!))
    fail('--path', `and --data-dir name two different files (${s('path')}, ${s('data-dir')})`, 'give the file once, as --path FILE');
  if (s('data-dir') && !fileKind) ev['data_dir'] = s('data-dir');
  const file = s('path') ?? (fileKind ? s('data-dir') : undefined);
  if (file) ev['path'] = file;
  if (s('label')) ev['label'] = s('label');
  // The train evaluator's numeric options, as `tsnas train`'s flags of the same names (numbers as
  // numbers, so a study from flags has the identity of the same config file; a non-number is left
  // as written for the evaluator's check to name).
  for (const [flag, key] of EVALUATOR_NUMBER_FLAGS) {
    const v = s(flag);
    if (v !== undefined) ev[key] = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  const h = s('header');
  if (h !== undefined) ev['header'] = h === 'auto' ? 'auto' : h === 'true' ? true : h === 'false' ? false : h;
  if (s('val-fraction') !== undefined) ev['val_fraction'] = s('val-fraction');
  if (s('test-fraction') !== undefined) ev['test_fraction'] = s('test-fraction');
  if (Object.keys(ev).length) raw['evaluator'] = ev;
  const objectives = objectivesFromFlags(s('objective'), s('direction'));
  if (objectives) raw['objectives'] = objectives;
  for (const k of ['trials', 'seed', 'workers', 'wallclock', 'lease'] as const) if (s(k) !== undefined) raw[k] = s(k);
  if (s('max-lease-retries') !== undefined) raw['max_lease_retries'] = s('max-lease-retries');
  if (raw['study'] === undefined && raw['space'] !== undefined && raw['strategy'] !== undefined)
    raw['study'] = `${String(raw['space'])}-${String(raw['strategy'])}-seed${String(raw['seed'] ?? 0)}`;
  return raw;
}

/**
 * The objectives of `--objective M1,M2 --direction D1,D2` (each flag a comma list and/or repeated,
 * tsnas's parse joins repeats with commas; as Optuna's `--directions`): one direction per
 * objective, in the same order; without --direction every objective is maximized, which a cost or
 * loss (metricSense) refuses. Undefined without --objective. Errors name the flag:
 * `--direction needs --objective`, `--direction gives 1 direction for 2 objectives`,
 * `--objective lists val_acc twice`, `--direction is required with --objective latency_ms`.
 */
export function objectivesFromFlags(objective: string | undefined, direction: string | undefined): { metric: string; direction: string }[] | undefined {
  const items = (v: string | undefined) => (v === undefined ? [] : v.split(',').map((x) => x.trim()));
  const metrics = items(objective);
  const dirs = items(direction);
  if (dirs.length && !metrics.length)
    fail('--direction', 'needs --objective METRIC (the direction of that metric)', 'e.g. --objective latency_ms --direction minimize');
  if (!metrics.length) return undefined;
  const example = `--objective ${metrics.join(',')} --direction ${metrics.map((m) => metricSense(m) ?? 'maximize').join(',')}`;
  if (metrics.some((m) => m === ''))
    fail('--objective', `has an empty item in ${JSON.stringify(objective)}`, `a comma list of metric names, e.g. --objective val_acc,latency_ms`);
  const dup = metrics.find((m, i) => metrics.indexOf(m) !== i);
  if (dup !== undefined) fail('--objective', `lists ${dup} twice`, 'give each objective once');
  if (dirs.length && dirs.length !== metrics.length)
    fail('--direction', `gives ${dirs.length} direction(s) for ${metrics.length} objective(s) (${metrics.join(', ')})`, `one direction per objective, in the same order: ${example}`);
  if (!dirs.length) {
    const costs = metrics.filter((m) => metricSense(m) === 'minimize');
    if (costs.length)
      fail('--direction', `is required with --objective ${metrics.join(',')} (${costs.join(', ')}: a cost or loss, lower is better; the default, maximize, would search for the worst)`, metrics.length === 1 ? 'add --direction minimize' : `one direction per objective: ${example}`);
  }
  return metrics.map((metric, i) => ({ metric, direction: dirs[i] ?? 'maximize' }));
}

/**
 * Where a field of `input`'s config was written, for the header of its problems (Issue.source):
 * a field the flags set (configFromFlags, e.g. `trials` from --trials, `evaluator.dataset` from
 * --dataset) is "on the command line", any other field "in the config file PATH". Null for a
 * config given as an object (its problems are "in the config").
 */
export function configSourceOf(input: PrepareInput): ((field: string | undefined) => string) | null {
  const cli = 'on the command line';
  if (input.configPath === undefined) return input.flags && input.config === undefined ? () => cli : null;
  const file = `in the config file ${input.configPath}`;
  let flagRaw: Obj = {};
  try {
    flagRaw = input.flags ? configFromFlags(input.flags) : {};
  } catch {
    // A flag combination configFromFlags refuses is reported by it, with a `--flag` field.
  }
  // As rawConfig: with a config file, only a --study flag sets the study.
  if (input.flags && typeof input.flags['study'] !== 'string') delete flagRaw['study'];
  return (field) => {
    if (field === undefined) return file;
    if (field.startsWith('--')) return cli;
    let v: unknown = flagRaw;
    for (const k of field.split(/[.[\]]+/).filter(Boolean)) {
      if (!isObj(v) || !Object.hasOwn(v, k)) return file;
      v = v[k];
      // A value the flags set whole (a name, a number, the objectives list) is theirs.
      if (!isObj(v)) return cli;
    }
    // The flags set part of this object (e.g. evaluator.name); its other fields are the file's.
    return file;
  };
}

/** Overrides from flags on top of a config file (flags win), e.g. `--workers 4 --storage ...`. */
export function mergeFlags(raw: unknown, flags: Obj): unknown {
  if (!isObj(raw)) return raw;
  const out: Obj = { ...raw };
  for (const [k, v] of Object.entries(flags)) {
    const base = out['evaluator'];
    if (k === 'evaluator' && isObj(v) && (isObj(base) || typeof base === 'string'))
      out['evaluator'] = { ...(typeof base === 'string' ? { name: base } : base), ...v };
    else out[k] = v;
  }
  return out;
}

/**
 * The default directory of a study's kept artifacts (trained weights): `<db file>.artifacts/<study>`
 * beside a SQLite database; null for PostgreSQL (no file system the workers are known to share)
 * and in-memory databases.
 */
export function defaultArtifactsDir(storage: string, study: string): string | null {
  const loc = parseStoreUrl(storage);
  if (loc.kind !== 'sqlite' || loc.path === ':memory:') return null;
  if (/^\.+$/.test(study)) fail('study', `a study named ${JSON.stringify(study)} cannot name its artifacts directory`, 'choose another study name, or set evaluator.artifacts_dir');
  return resolve(`${loc.path}.artifacts`, study);
}

/**
 * Evaluator options that say where results are kept, not what they are: they may differ between
 * runs of one study (a moved database, a new artifacts directory) without making it another study.
 */
export const OUTPUT_OPTIONS: readonly string[] = ['keep_weights', 'artifacts_dir'];

/** The parts of a config that must match for a rerun to resume an existing study. */
export function identityOf(c: StudyConfig): JsonObject {
  const evOptions = Object.fromEntries(Object.entries(c.evaluator.options).filter(([k]) => !OUTPUT_OPTIONS.includes(k)));
  return {
    space: c.space,
    strategy: c.strategy,
    evaluator: { name: c.evaluator.name, options: evOptions },
    objectives: c.objectives,
    constraints: c.constraints,
    trials: c.trials,
    seed: c.seed,
    ...(c.prescreen ? { prescreen: c.prescreen } : {}),
    ...(c.enqueue ? { enqueue: c.enqueue } : {}),
  };
}

/** One field in which a stored study's identity and a new config's differ (identityDiff). */
export interface IdentityDifference {
  /** As the config file names it: `strategy.options.epochs`, `evaluator.train_per_class`, `objectives[1].direction`. */
  readonly path: string;
  /** The stored study's value and the new config's (null: absent). */
  readonly stored: Json;
  readonly now: Json;
}

/**
 * Where a stored study's identity (`identityOf`, kept in its config) and a new config's differ:
 * every leaf that differs, by its path in the config file (the evaluator's options are the
 * evaluator's own fields there: `evaluator.options.x` is `evaluator.x`); lists of another length
 * (or anything of another kind) as one path. The same rule for every section (space, strategy,
 * evaluator, objectives, constraints, trials, seed, prescreen, enqueue) and both kinds of study.
 */
export function identityDiff(stored: unknown, now: JsonObject): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  const plain = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
  const walk = (a: Json | undefined, b: Json | undefined, path: string): void => {
    if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return;
    if (plain(a) && plain(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk(a[k], b[k], path === 'evaluator.options' ? `evaluator.${k}` : `${path}.${k}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((x, i) => walk(x, b[i], `${path}[${i}]`));
      return;
    }
    out.push({ path, stored: a ?? null, now: b ?? null });
  };
  const s = plain(stored) ? stored : {};
  for (const k of Object.keys(now)) walk(s[k], now[k], k);
  return out;
}

/**
 * The error for a config that differs from the stored study of the same name: names every
 * differing field path with both values (the first five, then how many more), field = the first.
 */
export function identityConflict(study: string, url: string, diff: readonly IdentityDifference[]): NasError {
  const show = (v: Json): string => {
    const t = canonicalJson(v);
    return t.length > 40 ? `${t.slice(0, 37)}...` : t;
  };
  const listed = diff.slice(0, 5).map((d) => `${d.path} (stored ${show(d.stored)}, now ${show(d.now)})`).join(', ');
  const more = diff.length > 5 ? ` and ${diff.length - 5} more` : '';
  return new NasError('invalid_config', `study ${JSON.stringify(study)} already exists in ${url} with a different config: ${listed}${more}`, {
    field: diff[0]!.path,
    hint: 'rerun with the same config to resume it, or choose another study name (--study NAME)',
    details: { differs: diff.map((d) => d.path) },
  });
}

export function configToJson(c: StudyConfig): JsonObject {
  return { ...c } as unknown as JsonObject;
}

/**
 * A config as stored with a study (`configToJson`: the validated StudyConfig, camelCase fields)
 * back in the shape `validateConfig` reads (the file's snake_case fields), so a worker rebuilds
 * the study from the store: `warmStart` -> `warm_start`, `maxLeaseRetries` -> `max_lease_retries`,
 * `objectives[i].tieBreak` -> `tie_break`, `evaluator: {name, options}` -> `{name, ...options}`.
 * validateConfig(configToRaw(configToJson(c))) equals c. Fields this build does not know are
 * kept, so validateConfig names them.
 */
export function configToRaw(stored: JsonObject): Obj {
  const RENAMED: Record<string, string> = { warmStart: 'warm_start', maxLeaseRetries: 'max_lease_retries' };
  const out: Obj = {};
  for (const [k, v] of Object.entries(stored)) out[RENAMED[k] ?? k] = v;
  if (Array.isArray(stored['objectives']))
    out['objectives'] = stored['objectives'].map((o) => {
      if (!isObj(o) || o['tieBreak'] === undefined) return o;
      const { tieBreak, ...rest } = o;
      return { ...rest, tie_break: tieBreak };
    });
  const ev = stored['evaluator'];
  if (isObj(ev) && typeof ev['name'] === 'string' && isObj(ev['options']) && Object.keys(ev).every((k) => k === 'name' || k === 'options'))
    out['evaluator'] = { ...ev['options'], name: ev['name'] };
  return out;
}

export interface PrepareInput {
  /** A YAML or JSON config file. */
  readonly configPath?: string;
  /** A config object (already parsed). */
  readonly config?: unknown;
  /** CLI flags (`--space`, `--strategy`, ...); they override the file's fields. */
  readonly flags?: Readonly<Record<string, string | boolean | undefined>>;
  /** Base for relative paths when no file is given; default: the working directory. */
  readonly baseDir?: string;
}

/**
 * The raw config of `input` and the base of its relative paths: the file's (or object's) fields
 * with the flags merged over them; flags alone when there is neither. Not yet validated.
 */
export function rawConfig(input: PrepareInput): { raw: unknown; baseDir: string } {
  let raw: unknown = input.config;
  let baseDir = input.baseDir ?? process.cwd();
  if (input.configPath !== undefined) {
    const r = readConfigFile(input.configPath);
    raw = r.raw;
    baseDir = r.baseDir;
  }
  const flagRaw: Obj = input.flags ? configFromFlags(input.flags) : {};
  if (raw === undefined) raw = flagRaw;
  else {
    // With a config file, the derived study name of flags-only runs does not apply.
    if (input.flags && typeof input.flags['study'] !== 'string') delete flagRaw['study'];
    raw = mergeFlags(raw, flagRaw);
  }
  return { raw, baseDir };
}
