/**
 * The CLI's one argument parser, usage error and interrupt handler, shared by every command
 * (`main.ts` and the command modules). Parsing is Node's own `util.parseArgs` (strict: unknown
 * flags and stray positionals are usage errors); this file only adds `--help` and the error type.
 */
import { parseArgs } from 'node:util';
import { NasError } from '../core/errors.js';

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
export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parses `argv` against `spec` (+ `--help`/`-h`); at most `positionals` positional arguments. */
export function parse(argv: string[], spec: FlagSpec, positionals = 0): { flags: Flags; args: string[] } {
  let r;
  try {
    r = parseArgs({ args: argv, options: { ...spec, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (r.positionals.length > positionals) throw new UsageError(`unexpected argument ${JSON.stringify(r.positionals[positionals])}`);
  return { flags: r.values as Flags, args: r.positionals };
}

/** A positive number flag (`--epochs 5`), undefined when absent; an error naming the flag otherwise. */
export function numFlag(flags: Flags, k: string, integer = true): number | undefined {
  const v = flags[k];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new NasError('invalid_config', `--${k} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`, { field: k });
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
