/**
 * Issue 17, second round (a new user's report): exit codes of bad storage, enumerated flags taken
 * silently, error messages that printed the field and hint twice, typo'd flags, and a dataset that
 * tried to download. Each reported input is here with its siblings. The CLI runs in this process
 * (`run`), with stdout/stderr captured, so the cases cost no process start-up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NasError, STORAGE_INPUT_REASONS, STORAGE_RUNTIME_REASONS, isInputError, isNasError, nestError, storageError } from '../core/errors.js';
import { closest, editDistance } from '../core/suggest.js';
import { openStore } from '../store/index.js';
import { loadCifar10, loadMnist } from '../data/sources.js';
import { exitCodeOf, run } from './main.js';
import { prepareSearch } from '../api/index.js';


/** Runs the CLI in this process; returns the exit code and what it wrote. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await run(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tsnas-usage-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// ------------------------------------------------------------------ 1. exit codes

test('exit codes: every storage error reason is input (2) or runtime (1), never both; aborted is 130', () => {
  for (const r of STORAGE_INPUT_REASONS) assert.equal(exitCodeOf(storageError(r, 'x')), 2, r);
  for (const r of STORAGE_RUNTIME_REASONS) assert.equal(exitCodeOf(storageError(r, 'x')), 1, r);
  assert.equal(STORAGE_INPUT_REASONS.filter((r) => (STORAGE_RUNTIME_REASONS as readonly string[]).includes(r)).length, 0);
  assert.equal(exitCodeOf(new NasError('storage_error', 'no reason given')), 1);
  assert.equal(exitCodeOf(new NasError('invalid_config', 'x')), 2);
  assert.equal(exitCodeOf(new NasError('diverged', 'x')), 1);
  assert.equal(exitCodeOf(new NasError('aborted', 'x')), 130);
});

test('exit codes: a storage the user named wrongly exits 2 in every command (bad URL, missing directory, not a database, unreachable server)', async () => {
  const notDb = join(dir, 'not-a-db.db');
  writeFileSync(notDb, 'this is not an SQLite file, just text long enough to have a header page'.repeat(20));
  // (a missing directory is created by a search, and is `not_found` for the read commands; under a file it cannot be)
  const urls = ['foo:bar', `sqlite:${join(notDb, 'x.db')}`, `sqlite:${notDb}`, 'postgres://u:secret@127.0.0.1:1/db'];
  const commands: string[][] = [
    ['status'],
    ['trials', '--study', 's'],
    ['best', '--study', 's'],
    ['export', '--study', 's', '--format', 'csv'],
    ['worker', '--study', 's', '--quiet'],
    ['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '1', '--quiet'],
  ];
  for (const url of urls)
    for (const c of commands) {
      const r = await cli([...c, '--storage', url]);
      assert.equal(r.code, 2, `${c.join(' ')} --storage ${url}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /secret/, 'the password is masked');
    }
  // The store classifies the reasons; the CLI only maps them.
  const e1 = await openStore(`sqlite:${notDb}`).then(() => undefined, (e: unknown) => e);
  assert.ok(isNasError(e1, 'storage_error') && e1.details?.['reason'] === 'not_a_database', String(e1));
  const e2 = await openStore('postgres://u:secret@127.0.0.1:1/db').then(() => undefined, (e: unknown) => e);
  assert.ok(isNasError(e2, 'storage_error') && e2.details?.['reason'] === 'unreachable' && isInputError(e2), String(e2));
});

test('exit codes are documented in tsnas --help and in each command help that has its own', async () => {
  const r = await cli(['--help']);
  assert.match(r.stdout, /exit codes.*0 +ok.*2 +bad input.*1 +a failure while running.*130 +interrupted/s);
  assert.match(r.stdout, /wrong password|missing database/);
});

// ------------------------------------------------------------------ 2. enumerated flags

test('every enumerated flag refuses other values, naming the flag, the value and the allowed values', async () => {
  const cases: [string[], string, string[]][] = [
    [['trials', '--study', 's', '--state', 'bogus'], 'state', ['waiting', 'running', 'complete', 'pruned', 'failed']],
    [['export', '--study', 's', '--format', 'xml'], 'format', ['csv', 'json']],
    [['search', '--space', 'bogus', '--strategy', 'random', '--evaluator', 'nb201'], 'space', ['nb201', 'mlp', 'chain_cnn']],
    [['search', '--space', 'nb201', '--strategy', 'bogus', '--evaluator', 'nb201'], 'strategy', ['random', 'evolution', 'darts', 'spos']],
    [['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'bogus'], 'evaluator', ['nb201', 'train']],
    [['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--objective', 'val_acc', '--direction', 'up'], 'direction', ['maximize', 'minimize']],
    [['search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'imagenet'], 'dataset', ['fashion_mnist', 'digits', 'csv']],
    [['search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'csv', '--header', 'yes'], 'header', ['auto', 'true', 'false']],
    [['repeat', '--space', 'nb201', '--strategy', 'bogus', '--evaluator', 'nb201', '--seeds', '0'], 'strategy', ['random']],
    [['repeat', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--seeds', '0', '--direction', 'down'], 'direction', ['maximize']],
    [['train', 'a.json', '--dataset', 'imagenet'], 'dataset', ['fashion_mnist', 'mnist', 'cifar10', 'digits', 'csv']],
    [['train', 'a.json', '--dataset', 'csv', '--header', 'maybe'], 'header', ['auto', 'true', 'false']],
    [['compress', '--study', 's', '--quantize', 'int4'], 'quantize', ['static', 'dynamic']],
    [['compress', '--study', 's', '--prune', 'flops=0.5', '--prune-criterion', 'l2'], 'prune-criterion', ['l1', 'taylor']],
    [['compress', '--study', 's', '--prune', 'sparsity=0.5', '--prune-scope', 'net'], 'prune-scope', ['global', 'layer']],
    [['compress', '--study', 's', '--prune', 'sparsity=0.5', '--prune-schedule', 'slow'], 'prune-schedule', ['oneshot', 'gradual']],
    [['compress', '--study', 's', '--quantize', 'static', '--qengine', 'fbgemm'], 'qengine', ['onednn', 'qnnpack']],
    [['compress', '--study', 's', '--quantize', 'static', '--dataset', 'csv'], 'dataset', ['fashion_mnist', 'digits']],
  ];
  for (const [args, flag, allowed] of cases) {
    const r = await cli(args[0] === 'train' ? args : [...args, '--storage', `sqlite:${join(dir, 'never.db')}`]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const bad = args[args.indexOf(`--${flag}`) + 1]!;
    assert.match(r.stderr, new RegExp(`--${flag}: unknown value "${bad}"`), r.stderr);
    for (const a of allowed) assert.ok(r.stderr.includes(a), `${flag}: ${a} not listed in ${r.stderr}`);
  }
  // A near miss gets the closest value.
  const r = await cli(['trials', '--study', 's', '--state', 'complet']);
  assert.match(r.stderr, /did you mean complete\?/);
});

// ------------------------------------------------------------------ 3. field and hint once

test('an error put in context prints its field and hint once (the NB201 table, the CIFAR download)', async () => {
  const inner = new NasError('data_error', 'missing column "arch"', { field: 't.csv:header', hint: 'the header has a, b' });
  const outer = nestError(inner, 'evaluator.table');
  assert.equal(outer.message, 'evaluator.table: t.csv:header: missing column "arch" (the header has a, b)');
  assert.equal(outer.field, 'evaluator.table');
  assert.equal(outer.code, 'data_error');
  assert.equal(nestError(new NasError('data_error', 'm', { hint: 'h' }), undefined, { extra: 'x' }).message, 'm\nx (h)');
  const table = join(dir, 'bad-table.csv');
  writeFileSync(table, 'a,b\n1,2\n');
  const r = await cli(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--table', table, '--storage', `sqlite:${join(dir, 't.db')}`]);
  assert.equal(r.code, 2, r.stderr);
  const count = (s: string) => r.stderr.split(s).length - 1;
  // The field is the flag the user typed (session 10), once.
  assert.equal(count('--table'), 1, r.stderr);
  assert.equal(count('the header has a, b'), 1, r.stderr);
  // The hint names the config option that exists (snake_case), and that option is accepted.
  assert.match(r.stderr, /evaluator\.arch_column/);
  writeFileSync(table, 'cell,valid_acc,test_acc,params_m\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10,10,0.1\n');
  const config = { study: 'cell', storage: `sqlite:${join(dir, 't.db')}`, space: 'nb201', strategy: 'random', trials: 1 };
  assert.throws(() => prepareSearch({ config: { ...config, evaluator: { name: 'nb201', table, allow_partial: true } } }), /evaluator\.arch_column/);
  assert.equal(prepareSearch({ config: { ...config, evaluator: { name: 'nb201', table, allow_partial: true, arch_column: 'cell' } } }).config.evaluator.options['arch_column'], 'cell');
});

// ------------------------------------------------------------------ 9. typos

test('a mistyped flag or command names the closest valid one and points to --help', async () => {
  const cases: [string[], RegExp][] = [
    [['search', '--stategy', 'random'], /unknown option --stategy; did you mean --strategy\?/],
    [['search', '--trial', '3'], /did you mean --trials\?/],
    [['search', '--strategy=random', '--sed=1'], /unknown option --sed; did you mean --seed\?/],
    [['trials', '--studdy', 's'], /did you mean --study\?/],
    [['worker', '--max-trial', '3'], /did you mean --max-trials\?/],
    [['compress', '--prune-sheduel', 'gradual'], /did you mean --prune-schedule\?/],
    [['train', 'a.json', '--epoch', '3'], /did you mean --epochs\?/],
    [['dashboard', '--prot', '1'], /did you mean --port\?/],
    [['status', '--zzzzzz'], /unknown option --zzzzzz; the options of this command are --storage, --study, --json/],
    [['serch'], /unknown command "serch"; did you mean search\?/],
    [['search', '--study'], /--study needs a value/],
    [['search', '--json=yes'], /--json is a switch and takes no value/],
    [['worker', '--lease', '-1', '--study', 's', '--storage', 'x'], /--lease needs a value, but the next word starts with "-"; write --lease=VALUE/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /--help for usage/);
    assert.doesNotMatch(r.stderr, /To specify a positional argument|see --help\)/, 'Node\'s raw wording and the doubled pointer are gone');
  }
});

test('closest: edit distance with transpositions, a limit by length, unique prefixes', () => {
  assert.equal(editDistance('stategy', 'strategy'), 1);
  assert.equal(editDistance('tiral', 'trial'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(closest('stategy', ['study', 'strategy', 'storage']), 'strategy');
  assert.equal(closest('xyz', ['study', 'strategy']), undefined);
  assert.equal(closest('work', ['workers', 'worker-id', 'wallclock']), undefined, 'two candidates share the prefix: no guess');
  assert.equal(closest('wall', ['workers', 'wallclock']), 'wallclock');
  assert.equal(closest('JSON', ['json', 'csv']), 'json');
});

// ------------------------------------------------------------------ 7. nothing is downloaded

test('mnist and cifar10 are never downloaded: the error names the files, --data-dir and the offline datasets', async () => {
  const cache = join(dir, 'empty-cache');
  mkdirSync(cache);
  const t0 = Date.now();
  await assert.rejects(loadMnist({ cacheDir: cache }), (e: unknown) => isNasError(e, 'data_error') && /downloads nothing/.test(e.message) && !/download failed/.test(e.message));
  await assert.rejects(loadCifar10({ cacheDir: cache }), (e: unknown) => isNasError(e, 'data_error') && /downloads nothing/.test(e.message));
  assert.ok(Date.now() - t0 < 10_000, 'no network attempt');
  const arch = join(dir, 'a.json');
  writeFileSync(arch, JSON.stringify({ family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 }));
  for (const args of [
    ['train', arch, '--dataset', 'mnist', '--epochs', '1'],
    ['search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'mnist', '--trials', '1', '--storage', `sqlite:${join(dir, 'm.db')}`],
    ['search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'cifar10', '--trials', '1', '--storage', `sqlite:${join(dir, 'm.db')}`],
  ]) {
    const r = await cli(args, { TSNAS_CACHE: cache });
    assert.equal(r.code, 2, r.stderr);
    for (const s of ['downloads nothing', '--data-dir', 'fashion_mnist', '/usr/share/datasets/fashion-mnist', 'digits', 'csv']) assert.ok(r.stderr.includes(s), `${s} not in ${r.stderr}`);
  }
  // Checked before anything is written.
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(join(dir, 'm.db')), false);
});
