/**
 * The CLI's one argument parser, usage error and interrupt handler, shared by every command
 * (`main.ts` and the command modules). Parsing is Node's own `util.parseArgs` (strict: unknown
 * flags and stray positionals are usage errors); this file adds `--help`, enumerated values
 * (`choices`, checked for every command here), and messages that name the flag: an unknown flag
 * gets the closest valid one (src/core/suggest.ts), a missing value says which flag needs it.
 *
 * Why not `commander`: parseArgs already does the parsing and ships with Node; commander would
 * replace every command's hand-written help, treat our `--no-onnx`/`--no-latency` flags as
 * negations of options that do not exist, and exit the process itself unless overridden. What
 * parseArgs lacks (typo suggestions, friendly messages, choices) is this file.
 */
import { parseArgs } from 'node:util';
import { NasError } from '../core/errors.js';
import { closest } from '../core/suggest.js';
import { resolve } from 'node:path';
import type { DatasetSpec } from '../data/prepare.js';

/**
 * Wrong words on the command line (unknown flag, missing argument). A NasError (`invalid_config`,
 * exit code 2) so API-level callers treat it like any bad input; `run` prints it with the
 * command's `--help` pointer.
 */
export class UsageError extends NasError {
  constructor(message: string) {
    super('invalid_config', message, { hint: 'see --help' });
  }
}

export type Flags = Record<string, string | boolean | undefined>;
export interface FlagDef {
  type: 'string' | 'boolean';
  short?: string;
  /** The values a string flag accepts; anything else is an error naming the flag, the value and these. */
  choices?: readonly string[];
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
 * The DatasetSpec of `--dataset KIND --data-dir PATH` (KIND already checked against the command's
 * `choices`): PATH is the image datasets' directory, the digits CSV, or the file of `csv`, where it
 * is required (a flagError naming --data-dir otherwise). Relative paths resolve against the cwd.
 */
export function datasetOfFlags(kind: DatasetFlagKind, dir: string | undefined): DatasetSpec {
  switch (kind) {
    case 'fashion_mnist':
    case 'mnist':
    case 'cifar10':
      return { kind, ...(dir ? { dataDir: resolve(dir) } : {}) };
    case 'digits':
      return { kind, ...(dir ? { path: resolve(dir) } : {}) };
    case 'csv':
      if (!dir) throw flagError('data-dir', 'is required with --dataset csv', 'give the CSV file: --data-dir FILE.csv');
      return { kind, path: resolve(dir) };
  }
}

/** The error for a value of `--name` outside `choices`, with the closest choice when it looks like a typo. */
export function choiceError(name: string, value: string, choices: readonly string[]): NasError {
  const near = closest(value, choices);
  return flagError(name, `unknown value ${JSON.stringify(value)}${near === undefined ? '' : `; did you mean ${near}?`}`, `use one of: ${choices.join(', ')}`);
}

/** Turns Node's parseArgs errors into messages that name the flag, and the closest valid flag for a typo. */
function usageFromParseError(e: unknown, spec: FlagSpec): UsageError {
  const code = (e as { code?: string }).code;
  const msg = e instanceof Error ? e.message : String(e);
  const names = Object.keys(spec);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const opt = /Unknown option '([^']+)'/.exec(msg)?.[1] ?? msg;
    const bare = opt.replace(/^-+/, '').replace(/=.*$/, '');
    const near = closest(bare, [...names, 'help']);
    return new UsageError(
      `unknown option ${opt}` +
        (near !== undefined
          ? `; did you mean --${near}?`
          : names.length
            ? `; the options of this command are ${names.map((n) => `--${n}`).join(', ')}`
            : '; this command takes no options'),
    );
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const opt = /'(-[^' ]+)/.exec(msg)?.[1] ?? '';
    if (/does not take an argument/.test(msg)) return new UsageError(`${opt} is a switch and takes no value (write ${opt} alone)`);
    if (/ambiguous/.test(msg)) return new UsageError(`${opt} needs a value, but the next word starts with "-"; write ${opt}=VALUE if the value itself starts with -`);
    if (/argument missing/.test(msg)) return new UsageError(`${opt} needs a value (${opt} VALUE)`);
  }
  return new UsageError(msg);
}

/**
 * Parses `argv` against `spec` (+ `--help`/`-h`); at most `positionals` positional arguments.
 * String flags with `choices` are checked here, for every command alike.
 */
export function parse(argv: string[], spec: FlagSpec, positionals = 0): { flags: Flags; args: string[] } {
  let r;
  const options = Object.fromEntries(Object.entries(spec).map(([k, d]) => [k, { type: d.type, ...(d.short === undefined ? {} : { short: d.short }) }]));
  try {
    r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageFromParseError(e, spec);
  }
  const flags = r.values as Flags;
  if (flags['help']) return { flags, args: r.positionals };
  if (r.positionals.length > positionals)
    throw new UsageError(`unexpected argument ${JSON.stringify(r.positionals[positionals])}${positionals === 0 ? ' (this command takes no positional argument)' : ''}`);
  for (const [k, d] of Object.entries(spec)) {
    const v = flags[k];
    if (d.choices !== undefined && typeof v === 'string' && !d.choices.includes(v)) throw choiceError(k, v, d.choices);
  }
  return { flags, args: r.positionals };
}

/** A positive number flag (`--epochs 5`), undefined when absent; an error naming the flag otherwise. */
export function numFlag(flags: Flags, k: string, integer = true): number | undefined {
  const v = flags[k];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw flagError(k, `must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Ctrl-C (or SIGTERM) once: abort the returned controller, so the command stops cleanly (running
 * trials are released and the study stays resumable). Twice: exit 130 now. A worker forked by
 * `tsnas search --workers N` also stops when its parent goes away.
 */
export function interruptible(): AbortController {
  const ctl = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      process.stderr.write(`\ntsnas: ${sig}: stopping; running trials are released so the study can be resumed (again to force)\n`);
      ctl.abort('interrupted');
    } else process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  if (process.connected) process.once('disconnect', () => ctl.abort('parent exited'));
  return ctl;
}
