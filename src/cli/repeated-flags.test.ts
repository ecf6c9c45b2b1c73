/**
 * New user, session 10, finding 2 (issue 17's kind): a flag given twice kept the last value without
 * a word, so `--objective val_acc --objective latency_ms --direction maximize --direction minimize`
 * became a single-objective latency search, and `--direction maximize,minimize` was an unknown
 * value. Now, for every command (one parser, src/cli/args.ts): a single-valued flag given twice is
 * an error naming it (exit 2); list flags (--objective, --direction, --seeds, --classes) take a comma
 * list and/or repetition, the same either way; a multi-objective strategy on one objective is
 * warned about; a single-objective strategy given several names the multi-objective ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, UsageError } from './args.js';
import { objectivesFromFlags } from '../api/config.js';
import { MULTI_OBJECTIVE_STRATEGIES } from '../strategy/registry.js';
import { runCaptured as cli } from './testing/run-captured.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-repeated-flags-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('parse: a single-valued flag given twice is an error naming it and both values; a switch twice is not', () => {
  const spec = { strategy: { type: 'string' }, trials: { type: 'string' }, json: { type: 'boolean' } } as const;
  assert.throws(
    () => parse(['--strategy', 'random', '--strategy', 'evolution'], spec),
    (e: unknown) => e instanceof Error && /--strategy/.test(String((e as { field?: string }).field ?? e.message)) && /given 2 times \("random", "evolution"\); it takes one value/.test(e.message),
  );
  // The same value twice is still a repeat (a script that appends overrides would hide a change).
  assert.throws(() => parse(['--trials=5', '--trials', '5'], spec), /given 2 times/);
  // Two repeated flags: both reported at once.
  assert.throws(() => parse(['--trials', '1', '--trials', '2', '--strategy', 'a', '--strategy', 'b'], spec), (e: unknown) => e instanceof UsageError && /2 problems/.test(e.message) && /--trials/.test(e.message) && /--strategy/.test(e.message));
  assert.equal(parse(['--json', '--json'], spec).flags['json'], true);
});

test('parse: a list flag takes a comma list, repetition, or both, the same; choices apply to each item', () => {
  const spec = { direction: { type: 'string', choices: ['maximize', 'minimize'], list: true }, objective: { type: 'string', list: true } } as const;
  const a = parse(['--direction', 'maximize,minimize'], spec);
  const b = parse(['--direction', 'maximize', '--direction=minimize'], spec);
  assert.deepEqual(a.list('direction'), ['maximize', 'minimize']);
  assert.deepEqual(b.list('direction'), ['maximize', 'minimize']);
  assert.equal(a.flags['direction'], b.flags['direction']);
  assert.deepEqual(parse(['--objective', 'val_acc,params', '--objective', 'latency_ms'], spec).list('objective'), ['val_acc', 'params', 'latency_ms']);
  assert.deepEqual(parse([], spec).list('objective'), []);
  assert.throws(() => parse(['--direction', 'maximize,minimise'], spec), /--direction.*unknown value "minimise"; did you mean minimize\?/s);
  assert.throws(() => parse(['--direction', 'maximize,'], spec), /has an empty item in "maximize,"/);
});

test('objectivesFromFlags: one direction per objective in order; mismatched counts, duplicates and an undirected cost are errors naming the flag', () => {
  assert.deepEqual(objectivesFromFlags('val_acc,latency_ms', 'maximize,minimize'), [
    { metric: 'val_acc', direction: 'maximize' },
    { metric: 'latency_ms', direction: 'minimize' },
  ]);
  assert.deepEqual(objectivesFromFlags('val_acc', undefined), [{ metric: 'val_acc', direction: 'maximize' }]);
  assert.equal(objectivesFromFlags(undefined, undefined), undefined);
  assert.throws(() => objectivesFromFlags('val_acc,latency_ms', 'minimize'), /gives 1 direction\(s\) for 2 objective\(s\) \(val_acc, latency_ms\).*--objective val_acc,latency_ms --direction maximize,minimize/s);
  assert.throws(() => objectivesFromFlags('val_acc', 'maximize,minimize'), /gives 2 direction\(s\) for 1 objective/);
  assert.throws(() => objectivesFromFlags('val_acc,val_acc', undefined), /lists val_acc twice/);
  assert.throws(() => objectivesFromFlags('val_acc,latency_ms', undefined), /--direction.*is required with --objective val_acc,latency_ms \(latency_ms: a cost/s);
  assert.throws(() => objectivesFromFlags(undefined, 'minimize'), /needs --objective/);
});

const db = (name: string) => `sqlite:${join(dir, `${name}.db`)}`;
const nb = ['--space', 'nb201', '--evaluator', 'nb201', '--quiet'];

test('tsnas search: the session-10 command line (repeated --objective/--direction) is a two-objective nsga2 study; the comma form is the same study', async () => {
  const rep = await cli(['search', ...nb, '--strategy', 'nsga2', '--trials', '6', '--objective', 'val_acc', '--objective', 'latency_ms', '--direction', 'maximize', '--direction', 'minimize', '--storage', db('mo'), '--study', 'mo1', '--json']);
  assert.equal(rep.code, 0, rep.stderr);
  const t = await cli(['trials', '--study', 'mo1', '--storage', db('mo'), '--format', 'json']);
  const objectives = (JSON.parse(t.stdout) as { objectives: unknown }).objectives;
  assert.deepEqual(objectives, [
    { metric: 'val_acc', direction: 'maximize' },
    { metric: 'latency_ms', direction: 'minimize' },
  ]);
  // The comma form names the same study config: resuming it under the same name is accepted.
  const comma = await cli(['search', ...nb, '--strategy', 'nsga2', '--trials', '6', '--objective', 'val_acc,latency_ms', '--direction', 'maximize,minimize', '--storage', db('mo'), '--study', 'mo1']);
  assert.equal(comma.code, 0, comma.stderr);
  assert.doesNotMatch(comma.stderr, /different/);
});

test('tsnas search/repeat/train/finetune: a repeated single-valued flag is exit 2 naming it, nothing written', async () => {
  const cases: [string[], RegExp][] = [
    [['search', ...nb, '--strategy', 'random', '--strategy', 'evolution', '--trials', '2', '--storage', db('rep1')], /--strategy: is given 2 times \("random", "evolution"\); it takes one value/],
    [['search', ...nb, '--strategy', 'random', '--trials', '2', '--trials', '3', '--storage', db('rep2')], /--trials: is given 2 times/],
    [['repeat', ...nb, '--strategy', 'random', '--trials', '2', '--seeds', '0', '--storage', db('rep3'), '--storage', db('rep3b')], /--storage: is given 2 times/],
    [['train', 'a.json', '--dataset', 'digits', '--epochs', '1', '--epochs', '2'], /--epochs: is given 2 times/],
    [['finetune', join(dir, 'model'), '--dataset', 'digits', '--out', join(dir, 'f1'), '--out', join(dir, 'f2')], /--out: is given 2 times/],
    [['status', '--study', 'a', '--study', 'b', '--storage', db('rep4')], /--study: is given 2 times/],
    [['export', '--study', 'a', '--storage', db('rep4'), '--out', join(dir, 'o1'), '--out', join(dir, 'o2')], /--out: is given 2 times/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  for (const n of ['rep1', 'rep2', 'rep3', 'rep3b', 'rep4']) assert.ok(!existsSync(join(dir, `${n}.db`)), `${n}: nothing written`);
});

test('tsnas search: nsga2 on one objective warns; a single-objective strategy on two names the multi-objective ones', async () => {
  assert.ok(MULTI_OBJECTIVE_STRATEGIES.includes('nsga2'));
  const one = await cli(['search', ...nb, '--strategy', 'nsga2', '--trials', '2', '--storage', db('one'), '--study', 'one']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stderr, /warning: strategy nsga2 is multi-objective, but the study has one objective \(val_acc\).*--objective val_acc,latency_ms --direction maximize,minimize/);
  const two = await cli(['search', ...nb, '--strategy', 'random', '--trials', '2', '--objective', 'val_acc,latency_ms', '--direction', 'maximize,minimize', '--storage', db('two')]);
  assert.equal(two.code, 2, two.stderr);
  assert.match(two.stderr, /strategy random optimizes one objective; 2 were given \(val_acc, latency_ms\).*use a multi-objective strategy: nsga2/s);
  const wrong = await cli(['search', ...nb, '--strategy', 'nsga2', '--trials', '2', '--objective', 'val_acc,latency_ms', '--direction', 'minimize', '--storage', db('three')]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--direction: gives 1 direction\(s\) for 2 objective\(s\)/);
});

test('as a process: `tsnas search --strategy random --strategy evolution` exits 2 naming --strategy', () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'search', ...nb, '--strategy', 'random', '--strategy', 'evolution', '--storage', db('proc')], { encoding: 'utf8', cwd: root, env: { ...process.env, TSNAS_TEST: '1' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--strategy: is given 2 times/);
  assert.ok(!existsSync(join(dir, 'proc.db')));
});
