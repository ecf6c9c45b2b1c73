/**
 * Issue 17, messages by kind: a value the user typed as a flag is named by that flag in every
 * command (`--val-fraction:`, `--label:`, `--seeds:`), a value from a config file by its config
 * field (`evaluator.val_fraction:`). Session 10's new user found `tsnas search` saying
 * `val_fraction:` / `label:` where `tsnas train` said `--val-fraction:` / `--label:`, and `train
 * --seeds 0,1 --seed 3` saying `seeds:`: the data layer names the evaluator's options, which a
 * search's data load (StudyParts.ready, a one-shot study's data) did not rename, and seedList, a
 * parser of flags, named its fields without `--`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withSearchFlagNames } from '../api/config.js';
import { asEvaluatorFields } from '../api/parts.js';
import { NasError } from '../core/errors.js';
import { withFlagNames } from './args.js';
import { TRAIN_FLAGS } from './commands-extra.js';
import { runCaptured } from './testing/run-captured.js';

const SRC = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-flag-naming-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The fields the data layer names (`field: 'val_fraction'`), read from its source. */
function dataLayerFields(): string[] {
  const out = new Set<string>();
  for (const f of readdirSync(join(SRC, 'data')).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts')))
    for (const re of [/field(?::|\s*=)\s*'([^']+)'/g, /(?:checkFraction|tooSmall|balancedSubset)\([^;]*?, '([a-z_.]+)'\);/g])
      for (const m of readFileSync(join(SRC, 'data', f), 'utf8').matchAll(re)) out.add(m[1]!);
  return [...out];
}

test('scan: every field the data layer names is the same flag in train and search (flags), its config field from a config file', () => {
  const fields = dataLayerFields();
  // The scan reads what it should: the fields of the faults found, and more.
  for (const f of ['val_fraction', 'test_fraction', 'label', 'data_dir', 'train_per_class', 'val_per_class']) assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
  const searchFlags = { flags: { space: 'mlp', strategy: 'random', dataset: 'csv', path: 'x.csv' } };
  const bad: string[] = [];
  for (const f of fields) {
    const e = new NasError('invalid_config', 'is wrong', { field: f });
    const inTrain = (withFlagNames(e, TRAIN_FLAGS) as NasError).field!;
    const inSearch = (withSearchFlagNames(asEvaluatorFields(e), searchFlags) as NasError).field!;
    const inFile = (withSearchFlagNames(asEvaluatorFields(e), { configPath: config, flags: { storage: 'sqlite:x.db' } }) as NasError).field!;
    // A flag both commands have names the field in both; a field with no flag keeps its config name.
    if (inTrain.startsWith('--') && inSearch.startsWith('--') && inTrain !== inSearch) bad.push(`${f}: train ${inTrain}, search ${inSearch}`);
    if (inTrain.startsWith('--') && !inSearch.startsWith('--') && inSearch !== `evaluator.${f}`) bad.push(`${f}: search names it ${inSearch}`);
    if (!inSearch.startsWith('--') && inSearch !== `evaluator.${f}` && !f.startsWith('dataset.')) bad.push(`${f}: search names it ${inSearch}, not evaluator.${f}`);
    if (inFile !== `evaluator.${f}` && !f.startsWith('dataset.')) bad.push(`${f}: from a config file named ${inFile}`);
  }
  assert.deepEqual(bad, []);
});

/** `new NasError(code, '--flag ...', { field: 'x' ...})` and `fail('x', '--flag ...')` in the sources (not tests). */
function flagMessagesWithFieldNames(): string[] {
  const bad: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts') && !n.endsWith('.test.ts')) {
        const text = readFileSync(p, 'utf8');
        const res = [
          /NasError\(\s*'[a-z_]+',\s*[`'"](--[a-z][^`'"]*)[`'"],\s*\{[^}]*?field:\s*[`'"]([^`'"]+)[`'"]/g,
          /\bfail\(\s*[`'"]([^`'"]+)[`'"],\s*[`'"](--[a-z][^`'"]*)[`'"]/g,
        ];
        for (const [k, re] of res.entries())
          for (const m of text.matchAll(re)) {
            const [message, field] = k === 0 ? [m[1]!, m[2]!] : [m[2]!, m[1]!];
            // `field: message` printed: a flag message under a config field name, or the flag twice.
            if (!field.startsWith('--') || message.startsWith(`${field} `) || message.startsWith(`${field}:`)) bad.push(`${p.slice(SRC.length + 1)}: ${field}: ${message}`);
          }
      }
    }
  };
  walk(SRC);
  return bad;
}

test('scan: no error about a flag names a config field (seeds: --seeds lists every seed)', () => {
  assert.deepEqual(flagMessagesWithFieldNames(), []);
});

// 4 rows per class: 0.1 of 4 rounds to 0 validation rows; column a is continuous (a wrong --label).
const tiny = join(dir, 'tiny.csv');
writeFileSync(tiny, 'a,b,c,y\n' + Array.from({ length: 12 }, (_, i) => `${(i * 0.137).toFixed(3)},${(i * 0.071) % 1},${i % 5},${1 + (i % 3)}`).join('\n') + '\n');
const big = join(dir, 'big.csv');
writeFileSync(big, 'a,b,c,y\n' + Array.from({ length: 60 }, (_, i) => `${(i * 0.137).toFixed(3)},${(i * 0.071) % 1},${i % 5},${1 + (i % 3)}`).join('\n') + '\n');
const arch = join(dir, 'm.json');
writeFileSync(arch, JSON.stringify({ family: 'mlp', hidden: [4], activation: 'relu', batchNorm: false, dropout: 0 }));
const config = join(dir, 'c.yaml');
writeFileSync(config, `study: cfg\nspace: mlp\nstrategy: random\ntrials: 2\nevaluator:\n  name: train\n  dataset: csv\n  path: ${tiny}\n  epochs: 1\n`);
const db = (n: string) => ['--storage', `sqlite:${join(dir, `${n}.db`)}`];
const ERR = (field: string) => new RegExp(`error \\[[a-z_]+\\]: ${field.replace('.', '\\.')}: `);

test('an empty validation split: --val-fraction in search, repeat, one-shot search and train (flags); evaluator.val_fraction from a config file', async () => {
  const flags = ['--dataset', 'csv', '--path', tiny, '--epochs', '1'];
  const cases: [string[], string][] = [
    [['search', '--space', 'mlp', '--strategy', 'random', '--trials', '2', ...flags, ...db('s')], '--val-fraction'],
    [['repeat', '--space', 'mlp', '--strategy', 'random', '--trials', '2', '--seeds', '0,1', ...flags, ...db('r')], '--val-fraction'],
    [['search', '--space', 'chain_cnn', '--strategy', 'gdas', ...flags, ...db('o')], '--val-fraction'],
    [['train', arch, ...flags], '--val-fraction'],
    [['search', config, ...db('c')], 'evaluator.val_fraction'],
    [['worker', '--config', config, ...db('w')], 'evaluator.val_fraction'],
    // the config file's value given again by the flag: the flag is what the user typed
    [['search', config, '--val-fraction', '0.05', ...db('f')], '--val-fraction'],
  ];
  for (const [args, field] of cases) {
    const r = await runCaptured(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, ERR(field), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /the validation split would be empty/, r.stderr);
    // said before anything is written, and before a one-shot search's banner
    assert.doesNotMatch(r.stderr, /tsnas: study /, r.stderr);
  }
  for (const n of ['s', 'r', 'o', 'c', 'w', 'f']) assert.ok(!existsSync(join(dir, `${n}.db`)), n);
});

test('a continuous label column: --label in search, repeat, one-shot search and train; evaluator.label from a config file', async () => {
  const flags = ['--dataset', 'csv', '--path', big, '--label', 'a', '--epochs', '1'];
  const labelled = join(dir, 'l.yaml');
  writeFileSync(labelled, `study: lab\nspace: mlp\nstrategy: random\ntrials: 2\nevaluator:\n  name: train\n  dataset: csv\n  path: ${big}\n  label: a\n`);
  const cases: [string[], string][] = [
    [['search', '--space', 'mlp', '--strategy', 'random', '--trials', '2', ...flags, ...db('ls')], '--label'],
    [['repeat', '--space', 'mlp', '--strategy', 'random', '--trials', '2', '--seeds', '0,1', ...flags, ...db('lr')], '--label'],
    [['search', '--space', 'chain_cnn', '--strategy', 'gdas', ...flags, ...db('lo')], '--label'],
    [['train', arch, ...flags], '--label'],
    [['search', labelled, ...db('lc')], 'evaluator.label'],
  ];
  for (const [args, field] of cases) {
    const r = await runCaptured(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, ERR(field), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /looks continuous/, r.stderr);
  }
});

test('seeds: --seeds / --repeats / --seed named as flags in train, repeat and main (was seeds:)', async () => {
  const cases: [string[], RegExp][] = [
    [['train', arch, '--dataset', 'csv', '--path', big, '--seeds', '0,1', '--seed', '3'], /--seeds: lists every seed; it cannot be combined with --seed/],
    [['train', arch, '--dataset', 'csv', '--path', big, '--seeds', '0,x'], /--seeds: "x" is not an integer/],
    [['repeat', config, '--seeds', '2,2'], /--seeds: lists seed 2 twice/],
    [['repeat', config, '--repeats', '2', '--seeds', '1'], /--seeds: lists every seed; it cannot be combined with --repeats/],
    [['main', '--seeds', '1,1'], /--seeds: lists seed 1 twice/],
  ];
  for (const [args, re] of cases) {
    const r = await runCaptured(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /(^|\s)seeds: /, r.stderr);
  }
});
