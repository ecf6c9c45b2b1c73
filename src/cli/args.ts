/**
 * The CLI's one argument parser, usage error and interrupt handler, shared by every command
 * (`main.ts` and the command modules). Parsing is Node's own `util.parseArgs` (its tokens: unknown
 * flags and stray positionals are usage errors); this file adds `--help`, enumerated values
 * (`choices`), number ranges (`number`) and per-flag checks, all checked here for every command,
 * and messages that name the flag: an unknown flag gets the closest valid one (src/core/suggest.ts),
 * a missing value says which flag needs it. Every bad flag of a command line is reported at once
 * (issue 17), through the Issues collector the config parsers use.
 *
 * Why not `commander`: parseArgs already does the parsing and ships with Node; commander would
 * replace every command's hand-written help, treat our `--no-onnx`/`--no-latency` flags as
 * negations of options that do not exist, and exit the process itself unless overridden. What
 * parseArgs lacks (typo suggestions, friendly messages, choices) is this file.
 */
import { parseArgs } from 'node:util';
import { NasError, issueListText, renameFields, type Issue } from '../core/errors.js';
import { Issues } from '../core/issues.js';
import { sayOnStop } from '../core/partial.js';
import { closest, didYouMeanValue, type Synonyms } from '../core/suggest.js';
import { resolve } from 'node:path';
import type { DatasetSpec } from '../data/prepare.js';

/**
 * Wrong words on the command line (unknown flag, missing argument). A NasError (`invalid_config`,
 * exit code 2) so API-level callers treat it like any bad input; `run` prints it with the
 * command's `--help` pointer. Several problems found together are one UsageError listing each.
 */
export class UsageError extends NasError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_config', message, { hint: 'see --help', ...(details === undefined ? {} : { details }) });
  }
}

export type Flags = Record<string, string | boolean | undefined>;

/**
 * The range of a number flag, checked by `parse` with every other flag (all bad flags reported at
 * once) and read with `Parsed.num`. Messages: `must be a positive integer`, `must be a number >= 0`,
 * `must be an integer from 0 to 65535`.
 */
export interface NumberRule {
  readonly integer: boolean;
  readonly min: number;
  /** `min` itself is refused (the value must be > min); default false (>= min). */
  readonly above?: boolean;
  readonly max?: number;
}
export const POSITIVE_INT: NumberRule = { integer: true, min: 0, above: true };
export const POSITIVE: NumberRule = { integer: false, min: 0, above: true };
export const NON_NEGATIVE_INT: NumberRule = { integer: true, min: 0 };
export const NON_NEGATIVE: NumberRule = { integer: false, min: 0 };

export interface FlagDef {
  type: 'string' | 'boolean';
  short?: string;
  /** The values a string flag accepts; anything else is an error naming the flag, the value and these. */
  choices?: readonly string[];
  /** Other names of the choices (src/core/synonyms.ts): `--quantize int8` is answered with `did you mean static (...)?`. */
  synonyms?: Synonyms;
  /** A number flag and its range (parse checks it; `Parsed.num` reads it). */
  number?: NumberRule;
  /** Any other check of a string flag's value: throws a flagError naming the flag (collected by parse). */
  check?: (value: string) => void;
  /**
   * A list flag: a comma list, repeatable (`--objective val_acc,latency_ms` is `--objective val_acc
   * --objective latency_ms`, as Optuna's `--directions`); `flags[name]` holds the items joined with
   * commas, `Parsed.list(name)` them as an array. `choices` apply to each item; an empty item is an
   * error. Any other string flag takes one value: given twice it is an error naming the flag.
   */
  list?: true;
}
export type FlagSpec = Record<string, FlagDef>;

/**
 * An `invalid_config` error about flag `--name`: printed `--name: MESSAGE (HINT)`, field `--name`.
 * Every flag value the CLI itself checks is reported through this (one format for all commands).
 */
export function flagError(name: string, message: string, hint?: string): NasError {
  return new NasError('invalid_config', message, { field: `--${name}`, ...(hint === undefined ? {} : { hint }) });
}

/** The dataset kinds a command may offer through `--dataset KIND [--data-dir PATH]`. */
export type DatasetFlagKind = 'fashion_mnist' | 'mnist' | 'cifar10' | 'digits' | 'csv';

/**
 * The DatasetSpec of `--dataset KIND [--data-dir DIR] [--path FILE]` (KIND already checked against
 * the command's `choices`), the same in every command (train, search, finetune, compress): DIR is
 * an image dataset's directory, FILE the digits or csv file (required for csv). `--data-dir FILE`
 * for digits/csv is the older spelling of finetune and compress and still works. Relative paths
 * resolve against the cwd.
 */
export function datasetOfFlags(kind: DatasetFlagKind, dir: string | undefined, path?: string, csv: { label?: string; header?: string } = {}): DatasetSpec {
  if (kind !== 'csv')
    for (const k of ['label', 'header'] as const)
      if (csv[k] !== undefined) throw flagError(k, `applies to --dataset csv, not ${kind}`, `drop --${k}`);
  switch (kind) {
    case 'fashion_mnist':
    case 'mnist':
    case 'cifar10':
      if (path !== undefined) throw flagError('path', `is the file of a digits or csv dataset; ${kind} is read from a directory`, 'use --data-dir DIR');
      return { kind, ...(dir ? { dataDir: resolve(dir) } : {}) };
    case 'digits':
    case 'csv': {
      const file = datasetFileOfFlags(dir, path);
      if (kind === 'digits') return { kind, ...(file ? { path: resolve(file) } : {}) };
      if (!file) throw flagError('path', 'is required with --dataset csv', 'give the CSV file: --path FILE.csv');
      const h = csv.header;
      return {
        kind,
        path: resolve(file),
        ...(csv.label !== undefined ? { label: csv.label } : {}),
        ...(h !== undefined ? { header: h === 'auto' ? ('auto' as const) : h === 'true' } : {}),
      };
    }
  }
}

/** The digits/csv file of `--path FILE` or its older spelling `--data-dir FILE`; both naming different files is an error. */
export function datasetFileOfFlags(dir: string | undefined, path: string | undefined): string | undefined {
  if (path !== undefined && dir !== undefined && resolve(path) !== resolve(dir))
    throw flagError('path', `and --data-dir name two different files (${path}, ${dir})`, 'give the file once, as --path FILE');
  return path ?? dir;
}

/**
 * The error for a value of `--name` outside `choices`: the choice a synonym stands for (with why),
 * else the closest choice when it looks like a typo (didYouMeanValue, as every config enum).
 */
export function choiceError(name: string, value: string, choices: readonly string[], synonyms?: Synonyms): NasError {
  return flagError(name, `unknown value ${JSON.stringify(value)}${didYouMeanValue(value, choices, synonyms)}`, `use one of: ${choices.join(', ')}`);
}

/** `value` of `--name` as a number within `rule`; a flagError naming the flag, the rule and the value otherwise. */
export function checkNumber(name: string, value: string | boolean, rule: NumberRule): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  const ok = Number.isFinite(n) && (rule.above ? n > rule.min : n >= rule.min) && (rule.max === undefined || n <= rule.max) && (!rule.integer || Number.isInteger(n));
  if (ok) return n;
  const kind = rule.integer ? 'integer' : 'number';
  const what =
    rule.max !== undefined
      ? `${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}`
      : rule.above && rule.min === 0
        ? `a positive ${kind}`
        : `${rule.integer ? 'an integer' : 'a number'} ${rule.above ? '>' : '>='} ${rule.min}`;
  throw flagError(name, `must be ${what}, got ${JSON.stringify(value)}`);
}

/** What `parse` returns: the flags, the positionals, and the number flags read by their rules. */
export interface Parsed {
  readonly flags: Flags;
  readonly args: string[];
  /**
   * The value of number flag `name` (its FlagDef.number), undefined when absent or reported bad;
   * so a cross-flag check never reports a consequence of a bad value.
   */
  num(name: string): number | undefined;
  /** The items of list flag `name` (FlagDef.list; a comma list and/or repeated), [] when absent. */
  list(name: string): string[];
  /** Flags whose own value was reported bad (unknown ones are not in `flags`). */
  readonly bad: ReadonlySet<string>;
}

/**
 * Checks that need several flags (`--x applies only to --y`), required flags, and what a command
 * checks beyond single values (a config built from the flags): record each problem in `issues`
 * (`issues.take(() => ..., fallback)` or `issues.add`), so parse reports them with the others.
 */
export type CrossCheck = (p: Parsed, issues: Issues) => void;

/**
 * Settings a command takes elsewhere than in a flag, by the flag a user would write for them
 * (`cv-folds`, `lr`): where they go, said in place of the list of flags when such a flag is given
 * (`tsnas search --cv-folds 5`: `... is a train evaluator option: write it in a config file ...`).
 */
export type Elsewhere = Readonly<Record<string, string>>;

const EVALUATOR_OPTION = (opt: string, example: string): string => `${opt} is a train evaluator option: write it in a config file's evaluator (e.g. evaluator: { name: train, dataset: digits, ${example} }) and run tsnas search CONFIG`;
const HPARAM = (h: string, example: string): string =>
  `${h} is a training hyperparameter: in a config file, evaluator: { name: train, ..., hparams: { ${example} } }, or searched by a joint space (e.g. --space joint_mlp)`;

/** Where `tsnas search` / `tsnas repeat` take the settings they have no flag for. */
export const SEARCH_ELSEWHERE: Elsewhere = {
  'cv-folds': EVALUATOR_OPTION('cv_folds', 'cv_folds: 5'),
  'cv-repeats': EVALUATOR_OPTION('cv_repeats', 'cv_folds: 5, cv_repeats: 3'),
  'val-per-class': EVALUATOR_OPTION('val_per_class', 'val_per_class: 200'),
  'budget-samples': EVALUATOR_OPTION('budget_samples', 'budget_samples: 6000'),
  'keep-weights': EVALUATOR_OPTION('keep_weights', 'keep_weights: false'),
  'artifacts-dir': EVALUATOR_OPTION('artifacts_dir', 'artifacts_dir: ./weights'),
  inherit: EVALUATOR_OPTION('inherit', 'inherit: exact'),
  'skip-test': EVALUATOR_OPTION('skip_test', 'skip_test: true'),
  lr: HPARAM('lr', 'lr: 0.01'),
  'learning-rate': HPARAM('lr', 'lr: 0.01'),
  'batch-size': HPARAM('batchSize', 'batchSize: 64'),
  optimizer: HPARAM('optimizer', 'optimizer: adam'),
  'weight-decay': HPARAM('weightDecay', 'weightDecay: 0.0001'),
  constraint: 'constraints go in a config file: constraints: [{ metric: params, max: 1000000 }]',
  constraints: 'constraints go in a config file: constraints: [{ metric: params, max: 1000000 }]',
  population: 'strategy options go in a config file: strategy: { name: evolution, options: { population: 20 } }',
  'tie-break': 'a tie-break goes in a config file: objectives: [{ metric: val_acc, direction: maximize, tie_break: val_loss }]',
};

/** Where `tsnas train` takes the settings it has no flag for: the architecture file's hyperparameters. */
export const TRAIN_ELSEWHERE: Elsewhere = Object.fromEntries(
  ([['lr', 'lr'], ['learning-rate', 'lr'], ['batch-size', 'batchSize'], ['optimizer', 'optimizer'], ['weight-decay', 'weightDecay']] as const).map(([flag, h]) => [
    flag,
    `${h} is a hyperparameter of the architecture file: write it as {"arch": {...}, "hparams": {"${h}": ...}} (what tsnas export writes for a joint space)`,
  ]),
);

/**
 * Parses `argv` against `spec` (+ `--help`/`-h`); at most `positionals` positional arguments.
 * Every problem is found before anything is reported, and all are reported at once (the same
 * Issues collector as configs, src/core/issues.ts): unknown flags (with the closest valid one),
 * a string flag without its value, a switch given a value, a single-valued flag given twice
 * (`--strategy random --strategy evolution`: never the last one silently; a list flag, FlagDef.list,
 * collects its repeats instead), extra positionals, values outside
 * `choices`, numbers outside their `number` rule, each flag's `check`, then `crossCheck` (when
 * every flag is known: an unknown one may be a misspelt flag it needs). One
 * problem is thrown as it is (a UsageError or a flagError naming the flag); several as one
 * UsageError, `N problems on the command line:` and one numbered line each (`N problems in the
 * config file F:` when a crossCheck's config file holds them all; both, grouped, when both do). With `--help` only
 * unknown or malformed flags are reported. Parsing is Node's `util.parseArgs` (its tokens).
 */
export function parse(argv: string[], spec: FlagSpec, positionals = 0, crossCheck?: CrossCheck, elsewhere?: Elsewhere): Parsed {
  const issues = new Issues();
  const names = Object.keys(spec);
  const unknown = (opt: string): UsageError => {
    const bare = opt.replace(/^-+/, '').replace(/=.*$/, '');
    const near = closest(bare, [...names, 'help']);
    const there = elsewhere?.[bare];
    return new UsageError(
      `unknown option ${opt}` +
        (near !== undefined
          ? `; did you mean --${near}?`
          : there !== undefined
            ? `: this command has no flag for it; ${there}`
            : names.length
            ? `; the options of this command are ${names.map((n) => `--${n}`).join(', ')}`
            : '; this command takes no options'),
    );
  };
  // A string flag followed by a word that starts with "-" (`--epochs -5`, `--out --json`): refused
  // as ambiguous, like parseArgs' strict mode; a negative number goes with it, any other word is
  // parsed on its own, so a following flag is still read (and checked) as a flag.
  const byShort = new Map(Object.entries(spec).flatMap(([k, d]) => (d.short === undefined ? [] : [[d.short, k] as const])));
  const stringFlagOf = (w: string): string | undefined => {
    const name = w.startsWith('--') ? w.slice(2) : /^-[^-]$/.test(w) ? byShort.get(w.slice(1)) : undefined;
    return name !== undefined && spec[name]?.type === 'string' ? name : undefined;
  };
  const words: string[] = [];
  const ambiguous = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      words.push(...argv.slice(i));
      break;
    }
    const name = stringFlagOf(w);
    const next = argv[i + 1];
    if (name !== undefined && next !== undefined && next.startsWith('-') && next !== '-') {
      issues.add(new UsageError(`${w} needs a value, but the next word starts with "-"; write ${w}=VALUE if the value itself starts with -`));
      ambiguous.add(name);
      if (/^-\.?\d/.test(next)) i++; // a negative number was meant as the value, not as a flag
      continue;
    }
    words.push(w);
  }
  const options = Object.fromEntries(Object.entries(spec).map(([k, d]) => [k, { type: d.type, ...(d.short === undefined ? {} : { short: d.short }) }]));
  const r = parseArgs({ args: words, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false, tokens: true });
  const flags: Flags = {};
  const bad = new Set<string>(ambiguous);
  // Every value of each single-valued string flag, in order: given twice is an error (the last
  // one silently winning turned `--direction maximize --direction minimize` into one objective).
  const given = new Map<string, string[]>();
  let unknownCount = 0;
  for (const t of r.tokens) {
    if (t.kind !== 'option') continue;
    const d = t.name === 'help' ? ({ type: 'boolean' } as const) : Object.hasOwn(spec, t.name) ? spec[t.name] : undefined;
    if (d === undefined) {
      unknownCount++;
      issues.add(unknown(t.rawName));
      continue;
    }
    if (d.type === 'boolean') {
      if (t.value !== undefined) {
        issues.add(new UsageError(`${t.rawName} is a switch and takes no value (write ${t.rawName} alone)`));
        bad.add(t.name);
      } else flags[t.name] = true;
    } else if (t.value === undefined) {
      issues.add(new UsageError(`${t.rawName} needs a value (${t.rawName} VALUE)`));
      bad.add(t.name);
    } else if (d.list && typeof flags[t.name] === 'string') flags[t.name] = `${flags[t.name] as string},${t.value}`;
    else {
      given.set(t.name, [...(given.get(t.name) ?? []), t.value]);
      flags[t.name] = t.value;
    }
  }
  for (const [k, vs] of given)
    if (vs.length > 1) {
      issues.add(flagError(k, `is given ${vs.length} times (${vs.map((v) => JSON.stringify(v)).join(', ')}); it takes one value`, 'give it once'));
      bad.add(k);
    }
  const num = (k: string): number | undefined => {
    const v = flags[k];
    const rule = spec[k]?.number;
    if (v === undefined || rule === undefined || bad.has(k)) return undefined;
    return checkNumber(k, v, rule);
  };
  const list = (k: string): string[] => (typeof flags[k] === 'string' ? listItems(flags[k] as string) : []);
  const parsed: Parsed = { flags, args: r.positionals, num, list, bad };
  if (!flags['help']) {
    // Stray words after an unknown flag are most likely its value: not reported twice.
    if (r.positionals.length > positionals && unknownCount === 0)
      issues.add(new UsageError(`unexpected argument ${JSON.stringify(r.positionals[positionals])}${positionals === 0 ? ' (this command takes no positional argument)' : ''}`));
    for (const [k, d] of Object.entries(spec)) {
      const v = flags[k];
      if (typeof v !== 'string') continue;
      const n = issues.count;
      if (d.list) checkListItems(k, v, d, issues);
      else if (d.choices !== undefined && !d.choices.includes(v)) issues.add(choiceError(k, v, d.choices, d.synonyms));
      else if (d.number !== undefined) issues.take(() => checkNumber(k, v, d.number!), 0);
      else if (d.check !== undefined) issues.take(() => d.check!(v), undefined);
      if (issues.count > n) bad.add(k);
    }
    // Checks across flags (required ones, a config built from them) need every flag read as
    // meant: an unknown flag may be a misspelt one they need, so they wait until it is fixed.
    if (crossCheck && unknownCount === 0) crossCheck(parsed, issues);
  }
  throwAll(issues);
  return parsed;
}

/** The items of a list flag's value (`a,b` -> [a, b]; spaces around items dropped). */
export function listItems(v: string): string[] {
  return v.split(',').map((x) => x.trim());
}

/** Each item of list flag `--k`: not empty, one of `d.choices`, passing `d.check`; every bad item reported. */
function checkListItems(k: string, v: string, d: FlagDef, issues: Issues): void {
  const items = listItems(v);
  if (items.some((x) => x === '')) issues.add(flagError(k, `has an empty item in ${JSON.stringify(v)}`, `a comma list without empty items, e.g. --${k} ${d.choices ? d.choices.slice(0, 2).join(',') : 'a,b'}`));
  for (const x of items) if (x !== '' && d.choices !== undefined && !d.choices.includes(x)) issues.add(choiceError(k, x, d.choices, d.synonyms));
  if (d.check !== undefined) issues.take(() => d.check!(v), undefined);
}

/** One problem as it is; several as one UsageError listing each (`field: message (hint)`). */
function throwAll(issues: Issues): void {
  if (issues.count === 0) return;
  try {
    issues.throwIfAny('the command line');
  } catch (e) {
    if (!(e instanceof NasError) || e instanceof UsageError || e.details?.['issues'] === undefined) throw e;
    // The per-problem "see --help" hints are dropped: the footer gives the --help pointer once.
    // The header names where the problems are: the flags, and the config file for problems a
    // crossCheck's prepareSearch attributes to it (Issue.source).
    const list = (e.details['issues'] as Issue[]).map(({ hint, ...i }) => (hint === 'see --help' || hint === undefined ? i : { ...i, hint }));
    throw new UsageError(issueListText(list, 'on the command line'), { issues: list });
  }
}

/**
 * A positive number flag (`--epochs 5`), undefined when absent; an error naming the flag otherwise.
 * Prefer a FlagDef `number` rule and `Parsed.num` (checked with every other flag).
 */
export function numFlag(flags: Flags, k: string, integer = true): number | undefined {
  const v = flags[k];
  return v === undefined ? undefined : checkNumber(k, v, integer ? POSITIVE_INT : POSITIVE);
}

/** What a study command says on Ctrl-C / SIGTERM (search, worker, repeat): its trials are kept resumable. */
export const STOPPING_TRIALS = 'running trials are released so the study can be resumed';

/**
 * Ctrl-C (or SIGTERM) once: abort the returned controller, so the command stops cleanly (running
 * trials are released and the study stays resumable). Twice: exit 130 now. A worker forked by
 * `tsnas search --workers N` also stops when its parent goes away.
 */
export function interruptible(stopping: string = STOPPING_TRIALS): AbortController {
  const ctl = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      process.stderr.write(`\ntsnas${currentCommand === undefined ? '' : ` ${currentCommand}`}: ${sig}: stopping; ${stopping} (again to force)\n`);
      ctl.abort('interrupted');
    } else process.exit(130);
  };
  const onDisconnect = () => ctl.abort('parent exited');
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  if (process.connected) process.once('disconnect', onDisconnect);
  installedStops.push(() => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    process.off('disconnect', onDisconnect);
  });
  return ctl;
}

const installedStops: (() => void)[] = [];
let currentCommand: string | undefined;

/**
 * A command starts (`run`): its name is said in the stop lines (`tsnas train: SIGTERM: stopping;
 * ...`), and a signal no graceful stop takes says what stopped and what was kept (`notice`,
 * core/partial.ts sayOnStop). The returned end removes the handlers `interruptible` installed
 * and the notice, so a process running several commands (tests, an embedding program) does not
 * collect them.
 */
export function startCommand(command: string, notice?: { readonly stopped: string; readonly kept: string }): () => void {
  currentCommand = command;
  const release = notice ? sayOnStop({ command, ...notice }) : undefined;
  return () => {
    for (const off of installedStops.splice(0)) off();
    release?.();
    if (currentCommand === command) currentCommand = undefined;
  };
}

/**
 * What loading the data decided (CSV header, label mapping), said once per command on stderr as
 * `data: ...` lines, as `tsnas train` prints them; warnings (a class of one row) even with --quiet.
 */
export function sayDataNotes(notes: readonly string[], quiet = false): void {
  for (const n of notes) if (!quiet || n.startsWith('warning:')) process.stderr.write(`data: ${n}\n`);
}

/**
 * An error of a library call made for a command (train, finetune, compress, ensemble) with its
 * option fields named as the command's flags: the library names them as its options (`headEpochs`,
 * `prune.minDensity`, `evaluator.path`), which a CLI user cannot write. A field that `rename` maps
 * (e.g. `keepZeros` -> `no-keep-zeros`, `prune.minDensity` -> `prune-min-density`), or whose
 * kebab-case name (without an `evaluator.` prefix) is a flag of `spec` (`label` -> `--label`,
 * `train_per_class` -> `--train-per-class`), becomes `--flag`, and a camelCase one in the text too;
 * every problem of a combined error is renamed (renameFields); other errors are returned as they are.
 */
export function withFlagNames(e: unknown, spec: FlagSpec, rename: Readonly<Record<string, string>> = {}): unknown {
  if (!(e instanceof NasError) || e instanceof UsageError) return e;
  return renameFields(e, (name, text) => {
    if (name.startsWith('--')) return undefined;
    const flag = rename[name] ?? name.replace(/^evaluator\./, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
    if (!Object.hasOwn(spec, flag)) return undefined;
    // In the text only identifiers are replaced (headEpochs, not the word "label"); "headEpochs must
    // be ..." after the field would name it twice: the field says it.
    const word = name.split('.').pop()!;
    const esc = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const message = /[A-Z]/.test(word) ? text.replace(new RegExp(`^${esc} `), '').replace(new RegExp(`\\b${esc}\\b`, 'g'), `--${flag}`) : text;
    return { field: `--${flag}`, message };
  });
}
