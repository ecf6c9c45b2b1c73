/** Class-balanced subsets for low-fidelity evaluation (fewer samples, same class mix). */
import { NasError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { Subset } from './types.js';

/**
 * `perClass` samples of each class (all of a class that has fewer), drawn with `rng`, in
 * ascending index order.
 */
export function balancedSubset(s: Subset, perClass: number, rng: Rng, field = 'train_per_class'): Subset {
  if (!Number.isInteger(perClass) || perClass < 1)
    throw new NasError('invalid_config', `must be a positive integer, got ${perClass}`, { field });
  const byClass: number[][] = Array.from({ length: s.data.numClasses }, () => []);
  for (const i of s.indices) byClass[s.data.y[i] as number]!.push(i);
  const out: number[] = [];
  for (const members of byClass) out.push(...(members.length <= perClass ? members : rng.sample(members, perClass)));
  return { data: s.data, indices: Int32Array.from(out.sort((a, b) => a - b)) };
}

/** A class-balanced `fraction` (0, 1] of `s`: round(fraction * n / classes) per class. */
export function balancedFraction(s: Subset, fraction: number, rng: Rng): Subset {
  if (!(fraction > 0 && fraction <= 1))
    throw new NasError('invalid_config', `fraction must be in (0, 1], got ${fraction}`, { field: 'fraction' });
  if (fraction === 1) return s;
  const per = Math.max(1, Math.round((fraction * s.indices.length) / s.data.numClasses));
  return balancedSubset(s, per, rng);
}
