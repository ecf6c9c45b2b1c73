/** `tsnas repeat` and `tsnas train --seeds` through the real CLI (tiny budgets). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listStudies, type RepeatResult, type RepeatedTrain } from '../api/index.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TABLE = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('tsnas repeat: studies NAME-seed<k>, best of each and mean ± std; a rerun runs nothing; bad seeds exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-repeat-cli-'));
  try {
    const storage = `sqlite:${join(dir, 'r.db')}`;
    const flags = ['--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--table', TABLE, '--trials', '6', '--storage', storage];
    const first = await cli(['repeat', ...flags, '--repeats', '2', '--seed', '3', '--json', '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    const r = JSON.parse(first.stdout) as RepeatResult;
    assert.deepEqual(r.runs.map((x) => [x.seed, x.study, x.action]), [
      [3, 'nb201-random-seed3', 'ran'],
      [4, 'nb201-random-seed4', 'ran'],
    ]);
    assert.equal(r.summary['val_acc']!.n, 2);
    assert.equal(r.summary['test_acc']!.n, 2);

    const again = await cli(['repeat', ...flags, '--seeds', '3,4']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /study nb201-random-seed3 already finished, not run again/);
    const fmt = (v: number) => String(Number(v.toPrecision(6)));
    const line = again.stdout.split('\n').find((l) => l.startsWith('val_acc '));
    assert.ok(line, again.stdout);
    assert.ok(line.includes(`${fmt(r.summary['val_acc']!.mean)} ± ${fmt(r.summary['val_acc']!.std!)}`), line);
    assert.match(again.stdout, /2 of 2 seed\(s\) in the statistics/);

    const names = (await listStudies(storage)).map((s) => [s.name, s.counts.total]);
    assert.deepEqual(names.sort(), [
      ['nb201-random-seed3', 6],
      ['nb201-random-seed4', 6],
    ]);

    const bad = await cli(['repeat', ...flags, '--seeds', '1,1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--seeds: lists seed 1 twice/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas train --seeds on digits: one result per seed and the summary in --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-train-seeds-'));
  try {
    const arch = join(dir, 'arch.json');
    writeFileSync(arch, JSON.stringify({ family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 }));
    const res = await cli(['train', arch, '--dataset', 'digits', '--epochs', '1', '--threads', '1', '--no-latency', '--seeds', '0,1', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as RepeatedTrain;
    assert.deepEqual(r.runs.map((x) => [x.seed, x.status]), [
      [0, 'complete'],
      [1, 'complete'],
    ]);
    assert.notEqual(r.runs[0]!.metrics['test_loss'], r.runs[1]!.metrics['test_loss']);
    for (const k of ['test_acc', 'val_acc', 'test_f1', 'test_loss', 'train_seconds']) assert.equal(r.summary[k]?.n, 2, k);
    const text = await cli(['train', arch, '--dataset', 'digits', '--epochs', '1', '--threads', '1', '--no-latency', '--repeats', '2']);
    assert.equal(text.code, 0, text.stderr);
    // Same seeds as above (--repeats 2 from --seed 0): the same results, so the same summary line.
    const fmt = (v: number) => String(Number(v.toPrecision(6)));
    const acc = r.summary['test_acc']!;
    assert.match(text.stdout, new RegExp(`^test_acc +${fmt(acc.mean)} ± ${fmt(acc.std!)} `, 'm'), text.stdout);
    assert.match(text.stdout, /2 of 2 seed\(s\) complete/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
