/**
 * tsnas ensemble, as finetune/compress (issue 17, kinds "split overlap" and "interrupt"): its
 * retraining and test rows are checked against the study's split (checkHeldOut), and Ctrl-C during
 * its retraining stops after the current batch, says which member stopped, keeps nothing (the
 * members' temporary weight files are removed) and exits 130.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { prepareData } from '../data/prepare.js';
import { checkHeldOut } from '../api/model-record.js';
import { prepareSearch, search } from '../api/study.js';
import { interruptCli } from './testing/interrupt.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-ensemble-int-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('checkHeldOut: the ensemble\'s own split (valFraction 0 of the study\'s) passes; a split whose test rows the search trained on is refused with the counts', async () => {
  const spec = { kind: 'digits' } as const;
  const study = { seed: 3, trainPerClass: 20 };
  // What ensembleOfStudy prepares: the study's split with no validation part.
  await checkHeldOut(spec, study, 'study s', await prepareData(spec, { ...study, valFraction: 0 }), 'the ensemble');
  // Another split seed deals other rows to test: some are the search's training or validation rows.
  const other = await prepareData(spec, { ...study, seed: 4, valFraction: 0 });
  await assert.rejects(checkHeldOut(spec, study, 'study s', other, 'the ensemble'), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'study' && /\d+ of its \d+ test rows are rows the search trained or selected on, and \d+ of the rows it trains on are the study's test rows/.test(e.message));
});

test('Ctrl-C during tsnas ensemble\'s retraining: stops after the current batch, names the member, keeps nothing, exit 130', { timeout: 600_000 }, async () => {
  const storage = `sqlite:${join(dir, 'e.db')}`;
  await search(prepareSearch({ config: { study: 'e', storage, space: 'mlp', strategy: 'random', seed: 1, trials: 1, evaluator: { name: 'train', dataset: 'digits', epochs: 3, train_per_class: 10, keep_weights: false, threads: 1, latency: false } } }));
  // Its own temporary directory: the members' weight files (tsnas-ensemble-*) must be gone after the stop.
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  // Many trainings per member, so the signal (sent when the first one starts) lands mid-retraining.
  const r = await interruptCli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1', '--repeats', '100000'], /retraining trial \d+ \(member 1 of 1/, { env: { TMPDIR: tmp } });
  assert.ok(r.sent, r.stderr);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGINT: stopping; the ensemble's retraining stops after the current batch/);
  assert.match(r.stderr, /the ensemble stopped while retraining trial \d+ \(member 1 of 1, seed \d+\): (aborted during epoch \d+ \(after batch \d+ of \d+\)|aborted after|stopped before its training started)[^\n]*0 member\(s\) had finished, nothing is kept/);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('tsnas-ensemble-')), [], 'no tsnas-ensemble-* left (tsx keeps its own cache there)');
  assert.equal(r.stdout, '', 'no result printed');
});
