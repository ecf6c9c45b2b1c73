/**
 * What `tsnas ensemble` prints (text form): the Caruana selection's score, one line per member,
 * the members left out, then `note:` lines for what a user should not take silently, then the
 * ensemble's line beside its best member's. Notes (issue 17, new users of sessions 10 and 11):
 *  - fewer members than --k (the study had fewer complete feasible trials, and why);
 *  - one member only (fewer, left-out members, or a Caruana selection that kept one trial): the
 *    "ensemble" is that trial's own retraining, nothing is averaged;
 *  - the ensemble below its best member on the test split, with the gap;
 *  - with --final folds, that a member's test_acc is its fold networks' averaged predictions, not
 *    `tsnas trials`' test_acc of the same trial (the mean of the fold networks' accuracies): new
 *    user 11 saw 90.25% here and 85.24% there for one trial, both labelled test_acc.
 */
import type { StudyEnsembleResult } from '../api/index.js';

/** What a member's test_acc is, by `final` (also the JSON's `member_test_acc`). */
export function memberTestAccMeaning(final: StudyEnsembleResult['final'], seeds?: number): string {
  return final === 'folds'
    ? "the accuracy on the test split of the member's fold networks' averaged predictions (tsnas trials' test_acc of the trial is the mean of its fold networks' own accuracies, a different number)"
    : `the accuracy on the test split of the member retrained${(seeds ?? 1) > 1 ? ` (its ${seeds} seeds' averaged predictions)` : ''}`;
}

export function ensembleText(r: StudyEnsembleResult, asked: { readonly method: 'top' | 'caruana'; readonly k?: number }): string {
  const out: string[] = [];
  if (r.selection)
    out.push(`caruana selection: ${r.selection.size} steps on out-of-fold ${r.selection.metric} over ${r.selection.library} trials: oof_loss ${r.selection.loss.toFixed(4)} oof_acc ${r.selection.acc.toFixed(2)}%${r.selection.withoutPredictions.length ? ` (${r.selection.withoutPredictions.length} complete trials without out-of-fold predictions left out)` : ''}`);
  for (const [i, m] of r.members.entries()) out.push(`member ${i + 1}: trial ${r.trials[i]} weight ${r.weights[i]!.toFixed(3)} test_acc ${m.testAcc.toFixed(2)}%${r.final === 'folds' ? ' (fold networks averaged)' : ''}`);
  for (const f of r.failed ?? []) out.push(`left out: trial ${f.trial} did not retrain (${f.message}); the others reweighted`);
  if (r.fewer) out.push(`note: --k ${r.fewer.asked} asked for ${r.fewer.asked} members, ${r.fewer.available} available: ${r.fewer.why}`);
  if (r.members.length === 1 && !(asked.method === 'top' && asked.k === 1)) {
    const why =
      asked.method === 'caruana'
        ? `the Caruana selection added trial ${r.trials[0]} on every step (no other trial improved the out-of-fold ${r.selection?.metric ?? 'score'})`
        : r.failed?.length
          ? 'the other members did not retrain'
          : 'the study had one candidate';
    out.push(`note: an ensemble of 1 member is trial ${r.trials[0]}'s own retraining; nothing is averaged (${why})`);
  }
  if (r.final === 'folds') out.push(`note: a member's test_acc here is ${memberTestAccMeaning('folds')}`);
  const gap = r.bestMember.testAcc - r.acc;
  if (r.members.length > 1 && gap > 0)
    out.push(`note: the ensemble's test_acc is ${gap.toFixed(2)} points below its best member's (trial ${r.bestMember.trial}); members are chosen on validation, so a single member can still be better on test`);
  out.push(
    `ensemble of ${r.members.length} (${r.final === 'folds' ? 'each member its fold networks' : `each member retrained${r.seeds! > 1 ? `, ${r.seeds} seeds` : ''}`}): test_acc ${r.acc.toFixed(2)}% test_loss ${r.loss.toFixed(4)}; ` +
      `best member: trial ${r.bestMember.trial} test_acc ${r.bestMember.testAcc.toFixed(2)}%`,
  );
  return out.map((l) => `${l}\n`).join('');
}
