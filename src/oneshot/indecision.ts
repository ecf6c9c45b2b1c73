/**
 * The one check every one-shot method shares for a derived architecture whose choices were
 * decided by a negligible margin (new user, session 10, finding 5: a DARTS run whose every
 * softmax(alpha) stayed within 0.2 ± 0.003, a GDAS chain CNN whose kernel was picked by a
 * probability difference of 5e-6). Such a cell is close to a random pick, however well the
 * supernet trained, and is presented with a warning saying what to change.
 *
 * A decision is one choice the derivation makes: per edge (DARTS, DARTS2, GDAS) the op with the
 * largest softmax(alpha) (the DARTS cell: among the non-`none` ops, as its derivation); for SPOS
 * the winning path against the best other path the evolutionary search scored. Margins:
 * - alpha: ln(p1 / p2) = alpha_1 - alpha_2, the logit gap of the two most likely ops (does not
 *   depend on the number of ops). Negligible below ln(1.05) = 0.0488: the first op less than 5%
 *   more likely than the second. Alpha starts at 1e-3 * N(0,1), so a gap of 0.05 is ~50 times the
 *   initial noise; Adam moves each alpha by at most about alpha_lr per step (3e-4 by default),
 *   so closing it takes ~160 consistent steps. The user's 4-epoch DARTS run ended with every
 *   gap below 0.03; the GDAS run's kernel gap was 1.5e-5.
 * - SPOS: the accuracy difference (points) of the best two paths on the `images` scored.
 *   Negligible below one binomial standard error of the winner's accuracy on those images,
 *   100 * sqrt(p (1 - p) / n): a difference the choice of images alone makes.
 */
import type { Json } from '../core/json.js';
import type { OneShotMethodName } from './options.js';

/** ln(1.05): an alpha decision whose top op is less than 5% more likely than the runner-up is negligible. */
export const MIN_ALPHA_GAP = Math.log(1.05);

export interface Decision {
  /** The edge (`e3`, `normal.n2.in0`, `layers[1].kernel`) or `path` (SPOS). */
  readonly name: string;
  /** The chosen op (or path, ops joined by `,`) and the runner-up. */
  readonly first: string;
  readonly second: string;
  /** In `Indecision.unit`. */
  readonly margin: number;
}

/** What is recorded (trial 0's user attribute `indecision`) and warned about. */
export interface Indecision {
  readonly format: 'tsnas.indecision/1';
  readonly method: OneShotMethodName;
  /** `alpha_gap`: ln(p1/p2); `acc_points`: accuracy difference in points (SPOS). */
  readonly unit: 'alpha_gap' | 'acc_points';
  /** Margins below it are negligible. */
  readonly threshold: number;
  /** Decisions the derivation made. */
  readonly decisions: number;
  /** Smallest margin over all decisions. */
  readonly minMargin: number;
  /** The negligible ones, smallest margin first. */
  readonly negligible: readonly Decision[];
  readonly message: string;
}

/**
 * The alpha decisions of `probs` (softmax(alpha) [edge][op], rows of `edges`): per edge the two
 * most likely ops and ln(p1/p2) (Infinity when the runner-up has probability 0; an edge with
 * one candidate makes no decision). Ops named in `skip` (the DARTS cell's `none`) are not
 * candidates.
 */
export function alphaDecisions(edges: readonly { readonly name: string; readonly ops: readonly string[] }[], probs: readonly (readonly number[])[], skip: readonly string[] = []): Decision[] {
  const out: Decision[] = [];
  edges.forEach((e, i) => {
    const row = probs[i];
    if (!row) return;
    const cand = e.ops.map((op, k) => ({ op, p: row[k]! })).filter((c) => !skip.includes(c.op)).sort((a, b) => b.p - a.p);
    if (cand.length < 2) return;
    const [a, b] = [cand[0]!, cand[1]!];
    out.push({ name: e.name, first: a.op, second: b.op, margin: b.p > 0 ? Math.log(a.p / b.p) : Infinity });
  });
  return out;
}

/**
 * SPOS's decision: its best path against the best other path scored (`evaluated`, any order;
 * scores are accuracies in %). None with fewer than two paths.
 */
export function pathDecision(evaluated: readonly { readonly path: readonly number[]; readonly score: number }[]): Decision[] {
  const s = [...evaluated].sort((a, b) => b.score - a.score);
  if (s.length < 2) return [];
  return [{ name: 'path', first: s[0]!.path.join(','), second: s[1]!.path.join(','), margin: s[0]!.score - s[1]!.score }];
}

/** One binomial standard error (points) of an accuracy `acc` (%) measured on `n` images. */
export function accStandardError(acc: number, n: number): number {
  const p = Math.min(1, Math.max(0, acc / 100));
  return 100 * Math.sqrt((p * (1 - p)) / Math.max(1, n));
}

const fmt = (x: number): string => (x === Infinity ? 'inf' : x === 0 ? '0' : Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toPrecision(2));

/**
 * The check: undefined when every decision's margin is at least `threshold`; else the record,
 * with a message naming how many decisions are negligible, the smallest, and what to change.
 */
export function checkIndecision(method: OneShotMethodName, decisions: readonly Decision[], threshold: number, unit: Indecision['unit'], alphaLr?: number): Indecision | undefined {
  if (decisions.length === 0) return undefined;
  const sorted = [...decisions].sort((a, b) => a.margin - b.margin);
  const negligible = sorted.filter((d) => d.margin < threshold);
  if (negligible.length === 0) return undefined;
  const shown = negligible.slice(0, 3).map((d) => `${d.name}: ${d.first} over ${d.second} by ${fmt(d.margin)}`).join('; ');
  const more = negligible.length > 3 ? `; ${negligible.length - 3} more` : '';
  const message =
    unit === 'alpha_gap'
      ? `${negligible.length} of ${decisions.length} choices of the derived architecture were decided by a negligible alpha margin (ln(p1/p2) < ${fmt(threshold)}, the chosen op less than 5% more likely than the runner-up; ${shown}${more}): alpha hardly moved, so those choices are close to random; raise alpha_lr (strategy options; ${alphaLr === undefined ? 'default 3e-4' : `it is ${alphaLr}`}, e.g. 10x) or run more epochs`
      : `the derived path was decided by a negligible margin: ${shown} accuracy points on the architecture half, less than one standard error of the accuracy there (${fmt(threshold)} points): the best paths score alike, so the pick is close to random among them; score on more images (score_batches: 0 = all, a larger train_per_class) or train the supernet longer (epochs)`;
  return { format: 'tsnas.indecision/1', method, unit, threshold, decisions: decisions.length, minMargin: sorted[0]!.margin, negligible, message };
}

/** The record as JSON for a user attribute (Infinity margins as null). */
export function indecisionJson(r: Indecision): Json {
  const num = (x: number): number | null => (Number.isFinite(x) ? Number(x.toPrecision(6)) : null);
  return {
    format: r.format,
    method: r.method,
    unit: r.unit,
    threshold: num(r.threshold),
    decisions: r.decisions,
    min_margin: num(r.minMargin),
    negligible: r.negligible.map((d) => ({ name: d.name, first: d.first, second: d.second, margin: num(d.margin) })),
    message: r.message,
  };
}
