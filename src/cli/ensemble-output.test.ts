/**
 * tsnas ensemble's notes (ensembleText), each case given directly: fewer members than --k, an
 * ensemble of one member (fewer, left out, a Caruana selection of one trial; not --k 1 as asked),
 * and an ensemble below its best member on test. A real ensemble's accuracy relative to its best
 * member cannot be chosen, so the CLI test (ensemble.test.ts) only checks the note agrees with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StudyEnsembleResult } from '../api/index.js';
import { ensembleText, memberTestAccMeaning } from './ensemble-output.js';

const member = (testAcc: number) => ({ arch: {}, testAcc, probs: new Float32Array() }) as unknown as StudyEnsembleResult['members'][number];
const result = (accs: number[], acc: number, extra: Partial<StudyEnsembleResult> = {}): StudyEnsembleResult => {
  const best = accs.reduce((b, a, i) => (a > accs[b]! ? i : b), 0);
  return {
    acc,
    loss: 0.5,
    probs: new Float32Array(),
    members: accs.map(member),
    trials: accs.map((_, i) => i + 3),
    weights: accs.map(() => 1 / accs.length),
    bestMember: { trial: best + 3, testAcc: accs[best]! },
    final: 'retrain',
    seeds: 1,
    ...extra,
  } as StudyEnsembleResult;
};

test('below its best member: a note line with the gap and the trial; at or above: none', () => {
  const below = ensembleText(result([90, 80], 85), { method: 'top', k: 2 });
  assert.match(below, /^note: the ensemble's test_acc is 5\.00 points below its best member's \(trial 3\); members are chosen on validation/m);
  assert.match(below, /^ensemble of 2 \(each member retrained\): test_acc 85\.00% test_loss 0\.5000; best member: trial 3 test_acc 90\.00%$/m);
  assert.doesNotMatch(ensembleText(result([90, 80], 90), { method: 'top', k: 2 }), /note:/);
  assert.doesNotMatch(ensembleText(result([90, 80], 91), { method: 'top', k: 2 }), /note:/);
});

test('fewer than --k: a note with how many and why; one member left: said, unless --k 1 was asked', () => {
  const fewer = ensembleText(result([88, 86, 84, 80], 89, { fewer: { asked: 10, available: 4, why: 'the study has 4 trial(s), 4 complete' } }), { method: 'top', k: 10 });
  assert.match(fewer, /^note: --k 10 asked for 10 members, 4 available: the study has 4 trial\(s\), 4 complete$/m);
  assert.match(fewer, /^ensemble of 4 /m);
  const one = ensembleText(result([73.6], 73.6, { fewer: { asked: 2, available: 1, why: "the study has 2 trial(s), 2 complete, 1 without a val_acc value (trial 0; a one-shot study's supernet trial 0 is no network's result)" } }), { method: 'top', k: 2 });
  assert.match(one, /^note: --k 2 asked for 2 members, 1 available: .*supernet trial 0/m);
  assert.match(one, /^note: an ensemble of 1 member is trial 3's own retraining; nothing is averaged \(the study had one candidate\)$/m);
  assert.doesNotMatch(ensembleText(result([73.6], 73.6), { method: 'top', k: 1 }), /note:/);
  const left = ensembleText(result([70], 70, { failed: [{ trial: 4, message: 'diverged' }] }), { method: 'top', k: 2 });
  assert.match(left, /^left out: trial 4 did not retrain \(diverged\); the others reweighted$/m);
  assert.match(left, /nothing is averaged \(the other members did not retrain\)/);
  const caruana = ensembleText(result([81], 81, { selection: { loss: 0.4, acc: 80, library: 6, withoutPredictions: [], size: 50, metric: 'loss' } }), { method: 'caruana' });
  assert.match(caruana, /note: an ensemble of 1 member is trial 3's own retraining; nothing is averaged \(the Caruana selection added trial 3 on every step \(no other trial improved the out-of-fold loss\)\)/);
});

test('--final folds: a member\'s test_acc is said to be its fold networks\' averaged predictions, not tsnas trials\' mean of fold accuracies (new user 11: 90.25% here, 85.24% there, both "test_acc"); retrained members get no such note', () => {
  const folds = ensembleText(result([90.25, 80], 88, { final: 'folds' }), { method: 'top', k: 2 });
  assert.match(folds, /^member 1: trial 3 weight 0\.500 test_acc 90\.25% \(fold networks averaged\)$/m);
  assert.match(folds, /^note: a member's test_acc here is the accuracy on the test split of the member's fold networks' averaged predictions \(tsnas trials' test_acc of the trial is the mean of its fold networks' own accuracies, a different number\)$/m);
  const retrained = ensembleText(result([90.25, 80], 88), { method: 'top', k: 2 });
  assert.match(retrained, /^member 1: trial 3 weight 0\.500 test_acc 90\.25%$/m);
  assert.doesNotMatch(retrained, /fold networks/);
  assert.match(memberTestAccMeaning('retrain', 3), /retrained \(its 3 seeds' averaged predictions\)$/);
});
