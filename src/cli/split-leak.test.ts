/**
 * Session 10, new user 10b finding 1: an after-search stage on the model's own data must not
 * measure on rows the source model trained on. `finetune --test-fraction 0.5` / `--val-fraction 0.3`
 * re-split the data so that the new test/validation rows held training rows of the export; they are
 * refused with the overlap counted from the indices, and the recorded split is accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-leak-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function tsnas(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('finetune of an export: a split with the model\'s training rows in val/test is refused; the recorded split is accepted', () => {
  const csv = join(dir, 'num.csv');
  writeFileSync(csv, '10,20,30,40\n' + Array.from({ length: 60 }, (_, i) => `${(i % 7) / 7},${((i * 3) % 5) / 5},${(i % 11) / 11},${1 + (i % 3)}`).join('\n') + '\n');
  const db = `sqlite:${join(dir, 's.db')}`;
  const s = tsnas('search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'csv', '--path', csv, '--epochs', '1', '--trials', '1', '--storage', db, '--study', 's');
  assert.equal(s.code, 0, s.stderr);
  const cw = join(dir, 'cw');
  const e = tsnas('export', '--study', 's', '--storage', db, '--out', cw);
  assert.equal(e.code, 0, e.stderr);
  const t = tsnas('finetune', cw, '--epochs', '1', '--test-fraction', '0.5', '--out', join(dir, 'f5'));
  assert.equal(t.code, 2, t.stderr);
  assert.match(t.stderr, /--test-fraction: this split differs from the one recorded with the model.* \d+ of its 30 test rows .*are rows the model was trained on/s);
  assert.match(t.stderr, /use the recorded split/);
  assert.ok(!existsSync(join(dir, 'f5')), 'nothing written');
  const v = tsnas('finetune', cw, '--epochs', '1', '--val-fraction', '0.3', '--out', join(dir, 'f3'));
  assert.equal(v.code, 2, v.stderr);
  assert.match(v.stderr, /--val-fraction: .* \d+ of its \d+ validation rows are rows the model was trained on/s);
  const ok = tsnas('finetune', cw, '--epochs', '1', '--test-fraction', '0.2', '--val-fraction', '0.1', '--out', join(dir, 'fok'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout + ok.stderr, /as the model was trained/);
  // a smaller test fraction takes test rows only from the old test rows: allowed, and not said "as the model was trained"
  const sm = tsnas('finetune', cw, '--epochs', '1', '--test-fraction', '0.1', '--out', join(dir, 'fsm'));
  assert.equal(sm.code, 0, sm.stderr);
  assert.match(sm.stdout + sm.stderr, /--test-fraction 0\.1, not the model's 0\.2 \(no overlap with its training rows\)/);
  assert.doesNotMatch(sm.stdout + sm.stderr, /as the model was trained/);

  // finding 2: train of the export takes the recorded epochs (1, not the default 10) and says so;
  // --study S --trial N uses the trial's seed and reproduces its val_acc; an export says its seed is not recorded
  const tr = tsnas('train', cw);
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stdout, /from .*metrics\.json: [^;\n]*epochs/);
  assert.match(tr.stdout, /; 1 epoch\(s\) in/);
  assert.match(tr.stderr, /seed 0: the trial's training seed is not recorded in an export/);
  const te = tsnas('train', cw, '--epochs', '2');
  assert.equal(te.code, 0, te.stderr);
  assert.match(te.stdout, /given instead of the record: epochs/);
  const st = tsnas('train', '--study', 's', '--storage', db, '--trial', '0', '--json');
  assert.equal(st.code, 0, st.stderr);
  const trials = tsnas('trials', '--study', 's', '--storage', db, '--format', 'csv');
  assert.equal(trials.code, 0, trials.stderr);
  const [head, row] = trials.stdout.trim().split('\n');
  const val = Number(row!.split(',')[head!.split(',').indexOf('val_acc')]);
  assert.equal((JSON.parse(st.stdout) as { metrics: { val_acc: number } }).metrics.val_acc.toFixed(2), val.toFixed(2), `${st.stdout}\n${trials.stdout}`);

  // finding 4: --path without --dataset is read as the record's dataset kind in finetune and compress, as in train
  const named = join(dir, 'named.csv');
  writeFileSync(named, 'a,b,c,species\n' + Array.from({ length: 60 }, (_, i) => `${(i % 5) / 5},${((i * 2) % 7) / 7},${(i % 3) / 3},${['x', 'y', 'z'][i % 3]}`).join('\n') + '\n');
  const fp = tsnas('finetune', cw, '--path', named, '--epochs', '1', '--out', join(dir, 'fp'));
  assert.equal(fp.code, 0, fp.stderr);
  assert.match(fp.stdout + fp.stderr, /data: .*named\.csv.*other data than the model's/);
  const cp = tsnas('compress', cw, '--path', named, '--quantize', 'dynamic', '--out', join(dir, 'cp'));
  assert.equal(cp.code, 0, cp.stderr);
  assert.match(cp.stdout + cp.stderr, /data: .*named\.csv.*other data than the model's/);
});
