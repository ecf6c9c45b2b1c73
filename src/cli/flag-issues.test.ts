/**
 * Every tsnas command reports all bad flags of a command line at once (issue 17: errors one at a
 * time), through the Issues collector the config parsers use: unknown flags, missing values,
 * switches given a value, values outside their choices or number range, per-flag formats, and the
 * checks across flags (required flags, "applies only to", the config the flags make). The CLI runs
 * in this process with stdout/stderr captured; nothing here trains or opens a store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { parse, POSITIVE_INT, UsageError } from './args.js';
import { run } from './main.js';


async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await run(args), stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tsnas-flag-issues-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The numbered problem lines of a combined message. */
const lines = (stderr: string): string[] => stderr.split('\n').filter((l) => /^ {2}\d+\. /.test(l)).map((l) => l.replace(/^ {2}\d+\. /, ''));

test('every command lists all its bad flags at once, each naming the flag and the fix', async () => {
  const db = `sqlite:${join(dir, 'none.db')}`;
  // [command line, one pattern per expected problem (in the order reported)]
  const cases: [string[], RegExp[]][] = [
    [
      ['search', '--space', 'nb21', '--strategy', 'evolutoin', '--bogus', '--json=1'],
      [/unknown option --bogus; did you mean|unknown option --bogus; the options/, /--json is a switch and takes no value/, /^--space: unknown value "nb21"; did you mean nb201\? \(use one of: .*nb201/, /^--strategy: unknown value "evolutoin"; did you mean evolution\?/],
    ],
    [
      // Flags the config takes are checked with the config: one list with the command-line problems.
      ['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials=-3', '--workers', 'x', '--storage', db, '--quiet=yes'],
      // Config fields the flags set are named by the flags (session 10).
      [/--quiet is a switch/, /^--trials: must be an integer in \[1, /, /^--workers: must be an integer in \[1, 256\], got "x"/],
    ],
    [
      ['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--final-epochs', '0', '--storage', db],
      [/^--final-epochs: must be a positive integer, got "0"/, /^--final-epochs: applies to one-shot strategies/],
    ],
    [
      ['train', 'a.json', '--dataset', 'digitz', '--epochs', '0', '--threads', 'x', '--time-limit', '-1', '--split-seed', '1.5', '--seed', 'y'],
      [
        /--time-limit needs a value, but the next word starts with "-"/,
        /^--dataset: unknown value "digitz"; did you mean digits\?/,
        /^--epochs: must be a positive integer, got "0"/,
        /^--threads: must be a positive integer, got "x"/,
        /^--split-seed: must be an integer >= 0, got "1.5"/,
        /^--seed: "y" is not an integer/,
      ],
    ],
    // --dataset is optional since an export's record gives it (session 10); no architecture and a bad --epochs:
    [['train', '--epochs', '0'], [/^--epochs: must be a positive integer, got "0"/, /give the architecture: ARCH\.json, a directory written by tsnas export, or --study NAME/]],
    [
      ['compress', '--study', 's', '--quantize', 'dynamic', '--prune', 'flops=abc', '--finetune-epochs', '-1', '--finetune-lr=-1', '--qat-freeze-bn', '0', '--per-tensor', '--max-drop', 'x'],
      [
        /--finetune-epochs needs a value, but the next word starts with "-"/,
        /^--prune: must be channels=R, flops=F or sparsity=S, got "flops=abc"/,
        /^--finetune-lr: must be a number >= 0, got "-1"/,
        /^--max-drop: must be a number >= 0, got "x"/,
        /^--qat-freeze-bn: must be an integer >= 1, got "0"/,
        /^--per-tensor: applies only to --quantize static or qat/,
        /^--max-drop: applies only to --quantize static/,
      ],
    ],
    [['compress', 'model-dir', '--study', 's'], [/give either --study NAME or a MODEL_DIR/, /nothing to do: give --prune and\/or --quantize/]],
    [
      ['finetune', 'm', '--dataset', 'csv', '--epochs', '0', '--lr', '0', '--freeze', 'x', '--classes', '5-1', '--batch-size', '1.5'],
      [
        /^--classes: the range 5-1 is empty \(it runs downwards\) \(write 1-5\)/,
        /^--freeze: must be a layer count or "features", got "x"/,
        /^--epochs: must be an integer >= 1, got "0"/,
        /^--lr: must be a positive number, got "0"/,
        /^--batch-size: must be an integer >= 1, got "1.5"/,
        /^--path: is required with --dataset csv/,
      ],
    ],
    [['finetune', 'm', '--body-lr-scale', '0', '--head-epochs', '0.5'], [/^--body-lr-scale: must be a positive number, got "0"/, /^--head-epochs: must be an integer >= 0, got "0.5"/]],
    [
      ['worker', '--lease', '0', '--poll-ms', 'x', '--max-trials', '1.5', '--idle-exit=-1', '--at-wallclock', 'relase'],
      [
        /^--at-wallclock: unknown value "relase"; did you mean release\?/,
        /^--lease: must be a positive number, got "0"/,
        /^--poll-ms: must be a positive number, got "x"/,
        /^--max-trials: must be a positive integer, got "1.5"/,
        /^--idle-exit: must be a number >= 0, got "-1"/,
        /--storage URL \(or --config FILE\) is required/,
        /--study NAME \(or --config FILE\) is required/,
      ],
    ],
    [['dashboard', '--port', '70000', '--storage'], [/--storage needs a value/, /^--port: must be an integer from 0 to 65535, got "70000"/]],
    [['report', '--rows', '0'], [/^--rows: must be a positive integer, got "0"/, /^--study: is required/]],
    [['main', '--trials', '0', '--workers', 'x', '--seeds', '1,1'], [/^--trials: must be a positive integer/, /^--workers: must be a positive integer, got "x"/, /^--seeds: lists seed 1 twice/]],
    [
      ['repeat', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--seeds', '1,1', '--trials', '0', '--storage', db, '--quiet=1'],
      [/--quiet is a switch/, /^--trials: must be an integer in \[1, /, /^--seeds: lists seed 1 twice/],
    ],
    [['export', '--format', 'xml', '--json=1'], [/--json is a switch/, /^--format: unknown value "xml"/, /--study NAME is required/]],
    [['trials', '--state', 'complet'], [/^--state: unknown value "complet"; did you mean complete\?/, /--study NAME is required/]],
    [['db', 'upgrad', '--json=0'], [/--json is a switch/, /unknown subcommand "upgrad"/]],
  ];
  for (const [args, expected] of cases) {
    const r = await cli(args);
    const what = `tsnas ${args.join(' ')}:\n${r.stderr}`;
    assert.equal(r.code, 2, what);
    assert.match(r.stderr, new RegExp(`^tsnas ${args[0]}: ${expected.length} problems on the command line:\n`), what);
    const got = lines(r.stderr);
    assert.equal(got.length, expected.length, what);
    expected.forEach((re, i) => assert.match(got[i]!, re, `${what}\nproblem ${i + 1}`));
    assert.match(r.stderr, new RegExp(`\\(tsnas ${args[0]} --help for usage\\)\n$`), what);
    assert.doesNotMatch(r.stderr, /\(see --help\)/, `${what}: the --help pointer is given once, at the end`);
  }
});

test('one bad flag is reported as before (its own message); --help wins over bad values', async () => {
  const r = await cli(['train', 'a.json', '--dataset', 'digits', '--epochs', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tsnas train: error \[invalid_config\]: --epochs: must be a positive integer, got "0"\n/);
  const h = await cli(['worker', '--lease', '0', '--help']);
  assert.equal(h.code, 0, h.stderr);
});

test('parse: the combined error lists each problem for programs; cross checks wait for unknown flags', () => {
  const spec = { n: { type: 'string', number: POSITIVE_INT }, m: { type: 'string', number: POSITIVE_INT }, on: { type: 'boolean' } } as const;
  let crossRan = false;
  const cross = () => {
    crossRan = true;
  };
  assert.throws(
    () => parse(['--n', '0', '--m', 'x', 'extra'], { ...spec }, 0, cross),
    (e: unknown) => {
      assert.ok(e instanceof UsageError && isNasError(e, 'invalid_config'));
      const issues = e.details?.['issues'] as { field?: string; message: string }[];
      assert.deepEqual(issues.map((i) => i.field), [undefined, '--n', '--m']);
      assert.match(issues[0]!.message, /unexpected argument "extra"/);
      return true;
    },
  );
  assert.ok(crossRan, 'cross checks run when every flag is known');
  crossRan = false;
  // An unknown flag's value is not also reported as a stray argument; the cross checks wait.
  assert.throws(() => parse(['--nn', '3', '--m', '0'], { ...spec }, 0, cross), (e: unknown) => {
    const issues = (e as UsageError).details?.['issues'] as { message: string }[];
    assert.equal(issues.length, 2);
    assert.match(issues[0]!.message, /unknown option --nn; did you mean --n\?/);
    return true;
  });
  assert.equal(crossRan, false);
  // num() reads a good value and hides a bad one from the cross checks.
  const p = parse(['--n', '3', '--on'], { ...spec });
  assert.equal(p.num('n'), 3);
  assert.equal(p.num('m'), undefined);
  assert.equal(p.flags['on'], true);
  // `--` ends the flags; an `=` value may start with "-".
  assert.deepEqual(parse(['--', '--n'], { ...spec }, 1).args, ['--n']);
  assert.throws(() => parse(['--n=-1'], { ...spec }), /--n: must be a positive integer, got "-1"/);
});

test('problems in a config file are headed by that file, not the command line; flags and file together are grouped under each', async () => {
  const { writeFileSync } = await import('node:fs');
  const file = join(dir, 'b1.yaml');
  const db = `sqlite:${join(dir, 'b1.db')}`;
  writeFileSync(file, `study: b1\nstorage: ${db}\nspace: nb201\nstrategy: { name: bananas, options: { members: 0, acquisition: thompsn } }\nevaluator: nb201\ntrials: 0\n`);
  // The file alone: search, repeat and worker --config read it inside their flag checks.
  for (const args of [['search', file], ['repeat', file, '--seeds', '0,1'], ['worker', '--config', file]]) {
    const r = await cli(args);
    const what = `tsnas ${args.join(' ')}:\n${r.stderr}`;
    assert.equal(r.code, 2, what);
    assert.match(r.stderr, new RegExp(`^tsnas ${args[0]}: 3 problems in the config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\n`), what);
    assert.doesNotMatch(r.stderr, /command line/, what);
  }
  // A bad flag value and a flag that overrides a field of the file: both places, each problem under its own.
  const r = await cli(['search', file, '--trials', '0', '--final-epochs', '2']);
  const what = r.stderr;
  assert.equal(r.code, 2, what);
  assert.match(r.stderr, /^tsnas search: \d+ problems on the command line and in the config file .*b1\.yaml:\n on the command line:\n/, what);
  const [cliPart, filePart] = r.stderr.split(/\n in the config file .*:\n/);
  assert.match(cliPart!, /--final-epochs/, what);
  assert.match(cliPart!, /trials: /, `--trials 0 overrides the file's trials: ${what}`);
  assert.match(filePart!, /strategy\.options\.members/, what);
  assert.doesNotMatch(filePart!, /trials: |--final-epochs/, what);
});
