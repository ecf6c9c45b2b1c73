/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, whose default export is `(argv) => Promise<void>`.
 * Each benchmark measures tsnas against a peer in the same run and prints the ratio.
 *
 * `npm run bench -- --help` lists the benchmarks; `npm run bench -- NAME --help` prints NAME's header
 * comment (what it measures, its options and their defaults) and, for the benches that parse their
 * options with bench/args.ts, the exact option list; exit 0. A NasError from a bench (a bad option,
 * missing data) is printed as one message naming the option and its fix, exit 2 for the user's input
 * (src/core/errors.ts isInputError) and 1 otherwise, like the CLI; any other error keeps its stack.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NasError, isInputError } from '../src/core/errors.js';
import { closest } from '../src/core/suggest.js';
import { BenchHelp } from './args.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const source = (name: string): string => readFileSync(`${dir}/${name}.ts`, 'utf8');

/** The benchmarks: bench/*.ts files with a default export (helpers such as args.ts are not listed). */
export function benchNames(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .filter((n) => /^export default /m.test(source(n)))
    .sort();
}

/** The header comment of bench/NAME.ts (its first `/** ... *\/` block), without the comment markers. */
export function benchHeader(name: string): string {
  const m = /\/\*\*([\s\S]*?)\*\//.exec(source(name));
  if (!m) return `(bench/${name}.ts has no header comment)\n`;
  return m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim() + '\n';
}

const usage = (names: readonly string[]) =>
  `usage: npm run bench -- NAME [options]      (npm run bench -- NAME --help for NAME's options)\n  NAME: one of ${names.join(', ')}\n`;

/** Runs `npm run bench -- ...argv`; returns the exit code. */
export async function runBench(argv: readonly string[], out: (s: string) => unknown = (s) => process.stdout.write(s), err: (s: string) => unknown = (s) => process.stderr.write(s)): Promise<number> {
  const [name, ...rest] = argv;
  const names = benchNames();
  if (name === '--help' || name === '-h') {
    out(usage(names));
    return 0;
  }
  if (!name || !names.includes(name)) {
    const near = name === undefined ? undefined : closest(name, names);
    err(`${name === undefined ? 'no benchmark named' : `unknown benchmark ${JSON.stringify(name)}${near ? `; did you mean ${near}?` : ''}`}\n${usage(names)}`);
    return 2;
  }
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  // A bench that does not parse with bench/args.ts is never run for --help (it might start measuring).
  if (wantsHelp && !/\bparseBenchArgs\(/.test(source(name))) {
    out(benchHeader(name));
    return 0;
  }
  try {
    // Inside the try: importing a bench loads the libtorch addon, whose set-up errors are NasErrors.
    const mod = (await import(`./${name}.ts`)) as { default: (argv: string[]) => Promise<void> };
    await mod.default(wantsHelp ? ['--help'] : rest);
    return 0;
  } catch (e) {
    if (e instanceof BenchHelp) {
      out(`${benchHeader(name)}\n${e.text}`);
      return 0;
    }
    if (e instanceof NasError) {
      err(`npm run bench -- ${name}: error [${e.code}]: ${e.message}\n`);
      return e.code === 'aborted' ? 130 : isInputError(e) ? 2 : 1;
    }
    throw e;
  }
}

// A bench may set process.exitCode itself (a figure out of range): only a non-zero code of ours replaces it.
if (process.argv[1] !== undefined && /[\\/]bench[\\/]run\.ts$/.test(process.argv[1])) {
  const code = await runBench(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
}
