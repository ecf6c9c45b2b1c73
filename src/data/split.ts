/**
 * Seeded, stratified partitions of a subset into disjoint parts (train/validation/test). The same
 * labels and seed always give the same parts; each class is spread over the parts in proportion
 * to the fractions, so small splits keep the class balance.
 */
import { NasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Subset } from './types.js';

/**
 * Splits `s` into `fractions.length + 1` disjoint subsets that together cover it: part k gets
 * `fractions[k]` of each class (rounded), the last part the rest. Fractions in [0, 1), sum <= 1.
 */
export function stratifiedSplit(s: Subset, fractions: readonly number[], seed: number | string): Subset[] {
  let total = 0;
  fractions.forEach((f, k) => {
    if (!(f >= 0 && f < 1)) throw new NasError('invalid_config', `split fraction ${f} must be in [0, 1)`, { field: `split.fractions[${k}]` });
    total += f;
  });
  if (total > 1) throw new NasError('invalid_config', `split fractions sum to ${total} > 1`, { field: 'split' });
  const rng = Rng.fromSeed(seed);
  const byClass: number[][] = Array.from({ length: s.data.numClasses }, () => []);
  for (const i of s.indices) byClass[s.data.y[i] as number]!.push(i);
  const parts: number[][] = Array.from({ length: fractions.length + 1 }, () => []);
  for (const members of byClass) {
    const shuffled = rng.shuffle(members);
    let at = 0;
    fractions.forEach((f, k) => {
      const take = Math.round(f * shuffled.length);
      parts[k]!.push(...shuffled.slice(at, at + take));
      at += take;
    });
    parts[fractions.length]!.push(...shuffled.slice(at));
  }
  // Interleave classes: sorted indices keep file order, which is what a reader would expect.
  return parts.map((p) => ({ data: s.data, indices: Int32Array.from(p.sort((a, b) => a - b)) }));
}

/**
 * Stratified k-fold partition (as scikit-learn's StratifiedKFold with shuffling): each class's
 * members are shuffled with the seed and dealt round-robin to the k folds, so fold sizes differ by
 * at most one per class. Returns k disjoint folds covering `s`. A class with fewer than k members
 * leaves some folds without it (allowed; sklearn warns the same). Errors: k < 2, or k > |s|.
 */
export function stratifiedKFold(s: Subset, k: number, seed: number | string): Subset[] {
  if (!(Number.isInteger(k) && k >= 2)) throw new NasError('invalid_config', `cv_folds must be an integer >= 2, got ${k}`, { field: 'cv_folds' });
  if (k > s.indices.length)
    throw new NasError('invalid_config', `cv_folds ${k} exceeds the ${s.indices.length} rows available for cross-validation`, { field: 'cv_folds', hint: `use at most ${s.indices.length} folds` });
  const rng = Rng.fromSeed(seed);
  const byClass: number[][] = Array.from({ length: s.data.numClasses }, () => []);
  for (const i of s.indices) byClass[s.data.y[i] as number]!.push(i);
  const folds: number[][] = Array.from({ length: k }, () => []);
  let offset = 0;
  for (const members of byClass) {
    const shuffled = rng.shuffle(members);
    // Continue the round-robin where the previous class stopped, so totals stay balanced too.
    shuffled.forEach((idx, j) => folds[(offset + j) % k]!.push(idx));
    offset = (offset + shuffled.length) % k;
  }
  return folds.map((f) => ({ data: s.data, indices: Int32Array.from(f.sort((a, b) => a - b)) }));
}
