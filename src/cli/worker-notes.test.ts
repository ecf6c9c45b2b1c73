/**
 * A worker started on its own says what `tsnas search` says before its first trial (the rest-10
 * gap of issue 17's data notes and mofix's nsga2 warning): the data notes (header decision, label
 * mapping, data warnings) and the study's warnings (StudyParts.warnings), once per process and
 * before its first trial; a search's own worker processes leave them to the search (said once).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-worker-notes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const tsnas = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 300_000 });

const csv = join(dir, 'num2.csv');
writeFileSync(csv, '10,20,30,40\n' + Array.from({ length: 40 }, (_, i) => `${i % 5},${(i * 7) % 3},${i % 4},${1 + (i % 2)}`).join('\n') + '\n');
const configOf = (trials: number) => {
  const p = join(dir, `c${trials}.yaml`);
  writeFileSync(p, `space: mlp\nstrategy: nsga2\ntrials: ${trials}\nevaluator:\n  name: train\n  dataset: csv\n  path: ${csv}\n  epochs: 1\n  keep_weights: false\n`);
  return p;
};
// 4 worker runs of one trial each below; the searches run 2.
const config = configOf(2);
const count = (s: string, re: RegExp) => s.match(new RegExp(re.source, 'g'))?.length ?? 0;
const HEADER = /data: header detected: line 1's label cell "40"/;
const LABELS = /data: labels mapped to classes 0\.\.1: 0=1, 1=2/;
const NSGA2 = /warning: strategy nsga2 is multi-objective, but the study has one objective \(val_acc\)/;

test('tsnas worker says the data notes and the study warnings once, before its first trial, as tsnas search does', () => {
  const db = `sqlite:${join(dir, 'w.db')}`;
  // created from the config, then joined by name (the notes come from the stored config)
  for (const args of [['--config', configOf(4)], []]) {
    const r = tsnas('worker', '--storage', db, '--study', 'w', ...args, '--max-trials', '1');
    assert.equal(r.status, 0, r.stderr);
    for (const re of [HEADER, LABELS, NSGA2]) assert.equal(count(r.stderr, re), 1, `${re}: ${r.stderr}`);
    assert.match(r.stderr, /tsnas worker: warning: strategy nsga2/);
    assert.ok(r.stderr.search(NSGA2) < r.stderr.search(/worker \d+: trial \d+ /), r.stderr);
    // --quiet keeps the warnings only
    const q = tsnas('worker', '--storage', db, '--study', 'w', '--max-trials', '1', '--quiet');
    assert.equal(q.status, 0, q.stderr);
    assert.equal(count(q.stderr, HEADER), 0, q.stderr);
    assert.equal(count(q.stderr, NSGA2), 1, q.stderr);
  }
});

test('tsnas search --workers 2 says them once (its worker processes do not repeat them)', () => {
  const r = tsnas('search', config, '--workers', '2', '--storage', `sqlite:${join(dir, 's.db')}`, '--study', 's', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(count(r.stderr, NSGA2), 1, r.stderr);
  assert.match(r.stderr, /tsnas search: warning: strategy nsga2/);
  const v = tsnas('search', config, '--workers', '2', '--storage', `sqlite:${join(dir, 'v.db')}`, '--study', 'v');
  assert.equal(v.status, 0, v.stderr);
  for (const re of [HEADER, LABELS, NSGA2]) assert.equal(count(v.stderr, re), 1, `${re}: ${v.stderr}`);
});
