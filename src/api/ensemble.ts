/**
 * The final models of a study's top-k configurations, as an ensemble (src/eval/ensemble.ts:
 * Caruana et al. 2004's sorted initialization, equal weights): an explicit step after a search
 * with the `train` evaluator, for small data where one winner picked among close candidates is
 * mostly chance.
 *
 *   const r = await ensembleOfStudy('sqlite:./tsnas.db', 'wine-tpe', { k: 5 });
 *   r.acc          // test accuracy (percent) of the averaged class probabilities
 *   r.members      // the k trials (best first) and each one's own test accuracy
 *
 * Members: the k best complete trials by the study's ranking (first objective, its tie-break,
 * constraints: the order `best` uses, so member 1 is the study's winner), fewer when fewer are
 * complete and feasible. Each is retrained from scratch on every non-test row (training +
 * validation split: validation fraction 0, the same test rows) for the evaluator's `epochs`, seed
 * `seed` (default the study's seed), the evaluator's threads, and evaluated on the test split,
 * which the search never saw. Errors: `not_found` (no such study, or no complete feasible trial),
 * `invalid_config` (k < 1, or a study whose evaluator is not `train`).
 */
import { NasError } from '../core/errors.js';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { prepareData } from '../data/prepare.js';
import { trainEnsemble, type EnsembleResult } from '../eval/ensemble.js';
import { checkArchJson } from '../eval/train.js';
import { bestOf, objectiveOf, studyConstraints } from '../store/common.js';
import { openStore, type TrialRecord } from '../store/index.js';
import { parseTrainOptions } from './train-evaluator.js';

export interface EnsembleOfStudyOptions {
  /** Members: the k best trials (>= 1). */
  readonly k: number;
  /** Seed of every member's training; default the study's seed. */
  readonly seed?: number;
}

export interface StudyEnsembleResult extends EnsembleResult {
  /** Trial numbers of the members, best first. */
  readonly trials: readonly number[];
}

/** The k best complete feasible trials in the study's own order (best first). */
export function topTrials(trials: readonly TrialRecord[], study: Parameters<typeof objectiveOf>[0] & Parameters<typeof studyConstraints>[0], k: number): TrialRecord[] {
  const o = objectiveOf(study, 0);
  const constraints = studyConstraints(study);
  const left = trials.filter((t) => t.state === 'complete');
  const out: TrialRecord[] = [];
  while (out.length < k) {
    const b = bestOf(left, 0, o.direction, constraints, o.tieBreak);
    if (!b) break;
    out.push(b);
    left.splice(left.indexOf(b), 1);
  }
  return out;
}

export async function ensembleOfStudy(storage: string, study: string, opts: EnsembleOfStudyOptions): Promise<StudyEnsembleResult> {
  if (!(Number.isInteger(opts.k) && opts.k >= 1)) throw new NasError('invalid_config', `the ensemble size k must be an integer >= 1, got ${opts.k}`, { field: 'k', hint: 'e.g. k: 5' });
  const store = await openStore(storage, { readOnly: true });
  let members: TrialRecord[];
  let rec;
  try {
    rec = await store.requireStudy(study);
    members = topTrials(await store.listTrials(rec.id, { states: ['complete'] }), rec, opts.k);
  } finally {
    await store.close();
  }
  const ev = rec.evaluator as { name?: string; options?: Record<string, unknown> };
  if (ev.name !== 'train' || !ev.options)
    throw new NasError('invalid_config', `study ${study} uses evaluator ${JSON.stringify(ev.name)}: an ensemble retrains its members, which needs the train evaluator`, { field: 'study', hint: 'use a study searched with evaluator: train' });
  if (members.length === 0) throw new NasError('not_found', `study ${study} has no complete trial that satisfies its constraints`, { field: 'study', hint: 'run the search first (tsnas search), or check tsnas status' });
  const { eval: o } = parseTrainOptions(ev.options as never, process.cwd());
  const data = await prepareData(o.dataset, { ...o.split, valFraction: 0 });
  const archs = members.map((t) => checkArchJson(t.arch) as NetworkArch | JointArch);
  const r = await trainEnsemble(archs, data, {
    epochs: o.epochs ?? 10,
    seed: opts.seed ?? rec.seed,
    ...(o.threads === undefined ? {} : { threads: o.threads }),
    ...(o.hparams ? { hparams: o.hparams } : {}),
    ...(o.nb201 ? { nb201: o.nb201 } : {}),
    ...(o.darts ? { darts: o.darts } : {}),
  });
  return { ...r, trials: members.map((t) => t.number) };
}
