/**
 * Ensembles of zero-cost proxies (Abdelfattah et al. 2021 sec. 5 vote over synflow, jacob_cov and
 * snip; Krishnakumar et al. 2022, "NAS-Bench-Suite-Zero", combine proxies by learned models):
 *  - rank aggregation (Borda count): an architecture's score is minus its mean rank over the
 *    proxies; a failed (non-finite) value ranks last in that proxy (`rankScores`);
 *  - a learned combination: ridge regression from the proxies' empirical-CDF values (each
 *    proxy's value as the fraction of the fitted architectures' values below it, so scales and
 *    monotone transforms do not matter) to an observed accuracy; it needs more labelled
 *    architectures than features (`minPoints`), else `invalid_config` naming the option.
 */
import { NasError } from '../../core/errors.js';
import { solveSpd } from './linalg.js';
import { rankScores } from './score.js';

type Column = readonly (number | undefined | null)[];

/** -(mean rank) per architecture over the given proxy columns (each column: one value per architecture). */
export function rankAggregate(columns: readonly Column[]): Float64Array {
  if (!columns.length) throw new NasError('invalid_config', 'rank aggregation of no proxy', { field: 'proxies', hint: 'name at least one proxy' });
  const n = columns[0]!.length;
  const out = new Float64Array(n);
  for (const c of columns) {
    const r = rankScores(c);
    for (let i = 0; i < n; i++) out[i]! -= r[i]! / columns.length;
  }
  return out;
}

export interface ProxyCombination {
  readonly kind: 'proxy_combination';
  /** Sorted finite values of each proxy over the fitted architectures (the CDF reference). */
  readonly reference: readonly number[][];
  /** Bias first, then one weight per proxy. */
  readonly weights: readonly number[];
}

const cdf = (sorted: readonly number[], v: number | undefined | null): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m]! < v) lo = m + 1;
    else hi = m;
  }
  return sorted.length ? lo / sorted.length : 0.5;
};

/** Labelled architectures needed to fit `k` proxies: k + 2 (bias, weights, one degree of freedom). */
export const minPoints = (k: number): number => k + 2;

/**
 * Fits the learned combination: `columns[p][i]` the value of proxy p on architecture i, `targets[i]`
 * its observed accuracy. `field` names the option that set the number of points (for the error).
 */
export function fitCombination(columns: readonly Column[], targets: readonly number[], o: { ridge?: number; field?: string } = {}): ProxyCombination {
  const k = columns.length;
  const n = targets.length;
  if (n < minPoints(k))
    throw new NasError('invalid_config', `a learned proxy combination of ${k} proxies needs at least ${minPoints(k)} labelled architectures, got ${n}`, {
      field: o.field ?? 'points',
      hint: `label at least ${minPoints(k)} architectures, or use rank aggregation`,
    });
  const reference = columns.map((c) => c.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b));
  const d = k + 1;
  const feats = (i: number) => [1, ...columns.map((c, p) => cdf(reference[p]!, c[i]))];
  const ata = new Float64Array(d * d);
  const atb = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const f = feats(i);
    for (let a = 0; a < d; a++) {
      atb[a]! += f[a]! * targets[i]!;
      for (let b = 0; b < d; b++) ata[a * d + b]! += f[a]! * f[b]!;
    }
  }
  const w = solveSpd(ata, atb, d, o.ridge ?? 1e-3 * n);
  return { kind: 'proxy_combination', reference, weights: [...w] };
}

/** Predicted accuracy of each architecture (one value per index of the columns). */
export function predictCombination(m: ProxyCombination, columns: readonly Column[]): Float64Array {
  if (columns.length !== m.reference.length)
    throw new NasError('invalid_config', `the combination was fitted on ${m.reference.length} proxies, got ${columns.length}`, { field: 'proxies' });
  const n = columns[0]?.length ?? 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = m.weights[0]!;
    columns.forEach((c, p) => (s += m.weights[p + 1]! * cdf(m.reference[p]!, c[i])));
    out[i] = s;
  }
  return out;
}
