/**
 * The benches' one command-line parser: a typed wrapper around node:util `parseArgs` (strict: an
 * unknown option, a missing value or a stray positional is an error). Each bench declares its
 * options once as plain data, `{ 'train-per-class': 'number', json: 'flag', from: 'repeat', ... }`,
 * and gets back the values given, keyed by option name (absent options are undefined; the bench
 * applies its defaults):
 *   number  `--x 3` -> 3 (a finite number, else an error naming the option)
 *   string  `--x a` -> 'a'
 *   list    `--x a,b` -> ['a', 'b'] (comma-separated, blanks trimmed and dropped)
 *   repeat  `--x a --x b` -> ['a', 'b']
 *   flag    `--x` -> true
 * `--x=value` works as well. Errors are NasError('invalid_config') with field = the option and a hint
 * listing the bench's options (a mistyped option also gets the closest valid name). `--help` or `-h`
 * (unless the bench declares an option `help`) throws BenchHelp, whose text lists the options;
 * bench/run.ts prints it with the bench's header comment and exits 0.
 */
import { parseArgs } from 'node:util';
import { NasError, assertNever } from '../src/core/errors.js';
import { closest } from '../src/core/suggest.js';

/** How each kind's value is shown in the option list. */
const VALUE_USAGE: Readonly<Record<ArgKind, string>> = { number: ' <number>', string: ' <value>', list: ' <a,b,...>', repeat: ' <value> (repeatable)', flag: '' };

/** Thrown by parseBenchArgs for `--help`/`-h`: `text` lists the bench's options, one per line. */
export class BenchHelp extends Error {
  constructor(readonly text: string) {
    super(text);
    this.name = 'BenchHelp';
  }
}

export type ArgKind = 'number' | 'string' | 'list' | 'repeat' | 'flag';
export type ArgSpec = Readonly<Record<string, ArgKind>>;
type ValueOf<K extends ArgKind> = K extends 'number' ? number : K extends 'string' ? string : K extends 'flag' ? boolean : string[];
export type ParsedArgs<S extends ArgSpec> = { -readonly [N in keyof S]?: ValueOf<S[N]> };

/**
 * Parses `argv` (the arguments after the bench's name) against `spec`. `bench` names the bench in
 * error messages (e.g. 'prescreen' -> "see bench/prescreen.ts").
 */
export function parseBenchArgs<S extends ArgSpec>(argv: readonly string[], bench: string, spec: S): ParsedArgs<S> {
  const names = Object.keys(spec);
  const usage = (n: string) => `--${n}${VALUE_USAGE[spec[n]!]}`;
  const hint = `options of bench/${bench}.ts: ${names.map(usage).join(' ')}`;
  if (!('help' in spec) && argv.some((a) => a === '--help' || a === '-h'))
    throw new BenchHelp(`options of npm run bench -- ${bench} (defaults and meaning: the comment above, bench/${bench}.ts):\n${names.map((n) => `  ${usage(n)}\n`).join('')}`);
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(names.map((n) => [n, { type: spec[n] === 'flag' ? 'boolean' : 'string', multiple: spec[n] === 'repeat' }])),
    }).values;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const opt = /'(--?[\w-]+)/.exec(msg)?.[1];
    const near = opt !== undefined && /^Unknown option/.test(msg) ? closest(opt.replace(/^-+/, ''), names) : undefined;
    throw new NasError('invalid_config', `${bench} bench: ${msg}${near === undefined ? '' : `; did you mean --${near}?`}`, { field: opt ?? 'argv', hint });
  }
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const v = values[n];
    if (v === undefined) continue;
    const kind = spec[n]!;
    switch (kind) {
      case 'flag':
      case 'string':
      case 'repeat':
        out[n] = v;
        break;
      case 'number': {
        const x = Number(v);
        if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x)) throw new NasError('invalid_config', `${bench} bench: --${n} needs a number, got ${JSON.stringify(v)}`, { field: `--${n}`, hint });
        out[n] = x;
        break;
      }
      case 'list':
        out[n] = String(v).split(',').map((s) => s.trim()).filter(Boolean);
        break;
      default:
        return assertNever(kind, 'argument kind');
    }
  }
  return out as ParsedArgs<S>;
}
