/**
 * `--trial N` means the same in every command that takes `--study NAME` (issue 17, by kind: the
 * rest-10 gap): train and export had it, compress and finetune always took the best trial. Both
 * now resolve `--study [--trial]` with train's resolver (src/api/arch-source.ts trialOfStudy) and
 * load that trial's weights (src/api/model-source.ts), with the same errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-study-trial-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });

test('compress and finetune --study S --trial N take trial N\'s weights; a missing trial and --trial without --study are refused as train refuses them', { timeout: 600_000 }, () => {
  const db = `sqlite:${join(dir, 's.db')}`;
  const s = cli(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--epochs', '1', '--trials', '2', '--study', 's', '--storage', db, '--quiet']);
  assert.equal(s.status, 0, s.stderr);
  const best = JSON.parse(cli(['best', '--study', 's', '--storage', db, '--json']).stdout) as { number?: number; trial?: number };
  const bestNo = best.number ?? best.trial;
  assert.ok(bestNo === 0 || bestNo === 1, JSON.stringify(best));
  const other = 1 - bestNo!;

  // compress: the report names the trial whose weights were compressed.
  for (const [extra, want] of [[[], `s`], [['--trial', String(other)], `s-trial-${other}`]] as const) {
    const out = join(dir, `c-${want}`);
    const c = cli(['compress', '--study', 's', '--storage', db, ...extra, '--quantize', 'dynamic', '--json', '--no-onnx', '--out', out]);
    assert.equal(c.status, 0, c.stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { model: string };
    assert.equal(report.model, `s-trial-${extra.length ? other : bestNo}`);
  }
  // The help lists the flag.
  assert.match(cli(['compress', '--help']).stdout, /--trial N +with --study: trial number N's weights/);

  // finetune: metrics.json's source records the trial.
  for (const t of [undefined, other]) {
    const out = join(dir, `f-${t ?? 'best'}`);
    const f = cli(['finetune', '--study', 's', '--storage', db, ...(t === undefined ? [] : ['--trial', String(t)]), '--dataset', 'digits', '--epochs', '1', '--no-onnx', '--json', '--out', out]);
    assert.equal(f.status, 0, f.stderr);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { source: { study: string; trial: number } };
    assert.deepEqual([m.source.study, m.source.trial], ['s', t ?? bestNo]);
  }

  // The same errors as train's (and export's): no such trial (the range), --trial / --storage without --study.
  const never = ['--out', join(dir, 'never')];
  for (const cmd of [['compress', '--quantize', 'dynamic', ...never], ['finetune', '--dataset', 'digits', ...never], ['train', '--dataset', 'digits'], ['export', ...never]]) {
    const r = cli([cmd[0]!, '--study', 's', '--storage', db, '--trial', '9', ...cmd.slice(1)]);
    assert.equal(r.status, 2, `${cmd[0]}: ${r.stderr}`);
    assert.match(r.stderr, /--trial: study s has no trial number 9 \(trial numbers run from 0 to 1/, cmd[0]);
    if (cmd[0] === 'export') continue;
    const lone = cli([cmd[0]!, join(dir, 'c-s'), '--trial', '1', ...cmd.slice(1)]);
    assert.equal(lone.status, 2, `${cmd[0]}: ${lone.stderr}`);
    assert.match(lone.stderr, /--trial: applies with --study NAME/, cmd[0]);
  }
});
