/**
 * Weight inheritance: initialise a network from a trained one where the shapes allow.
 *
 * Tensors are matched by state-dict name (the builder names layers by position, e.g.
 * `layers.2.conv.weight`, so "same-named" means "same position in the same family").
 *
 *   `exact`  only tensors of the same name and the same shape are copied; every other tensor keeps
 *            its fresh initialisation (Real et al. 2017, "Large-Scale Evolution of Image
 *            Classifiers": a child inherits its parent's weights wherever the shapes match).
 *   `morph`  (default) also tensors of the same name and rank but another shape: the overlapping
 *            block is copied, and where the new tensor is larger it is completed as a network
 *            morphism would (Wei et al. 2016, "Network Morphism"; Chen et al. 2016, Net2Net's
 *            widening with new units whose outgoing weights are zero): extra OUTPUT units (dim 0:
 *            new filters, new biases, new batch-norm channels) keep their fresh initialisation, extra
 *            INPUT positions (dim >= 1: new input channels, the border of a larger kernel) are
 *            zero. So a layer that only grew computes what its parent computed on the inherited
 *            units, and the new units start contributing as training moves their zero weights.
 *            Kernel dimensions (dims >= 2 of a 4-d conv weight) are centred (a 3x3 kernel sits in
 *            the middle of a 5x5 one, the same function under "same" padding); channel dimensions
 *            are aligned at 0. A smaller tensor takes the first (centred, for kernels) block.
 *
 * The function is preserved exactly only when every change is a widening or a kernel growth;
 * inserted or removed layers shift the names and inherit whatever sits at their position.
 */
import { NasError } from '../core/errors.js';
import type { Module } from './module.js';
import { Tensor, noGrad, tidy } from '../tensor/index.js';

export type InheritMode = 'exact' | 'morph';

export interface InheritReport {
  /** Same name and shape: copied. */
  readonly copied: string[];
  /** Same name and rank, other shape: block copied, completed as described (morph only). */
  readonly partial: string[];
  /** Left as initialised (no tensor of that name, or another rank / shape under exact). */
  readonly fresh: string[];
  /** Fraction of the target's parameter and buffer elements that came from the source. */
  readonly fraction: number;
}

/** Start offset of the overlap in the larger and the smaller size along one dimension. */
function offsets(dst: number, src: number, centred: boolean): { d: number; s: number; n: number } {
  const n = Math.min(dst, src);
  if (!centred) return { d: 0, s: 0, n };
  return dst >= src ? { d: Math.floor((dst - src) / 2), s: 0, n } : { d: 0, s: Math.floor((src - dst) / 2), n };
}

/**
 * Copies `source` (a state dict, e.g. loadStateDict(path).tensors) into `target`'s parameters and
 * buffers in place, per `mode` (see the file comment). `source` is not changed or disposed.
 * Throws invalid_config naming `inherit` for an unknown mode.
 */
export function inheritWeights(target: Module<any, any>, source: ReadonlyMap<string, Tensor>, mode: InheritMode = 'morph'): InheritReport {
  if (mode !== 'exact' && mode !== 'morph') throw new NasError('invalid_config', `inherit mode must be exact or morph, got ${JSON.stringify(mode)}`, { field: 'inherit', hint: 'morph (default) copies overlapping blocks too; exact only same-shape tensors' });
  const copied: string[] = [];
  const partial: string[] = [];
  const fresh: string[] = [];
  let total = 0;
  let from = 0;
  tidy(() =>
    noGrad(() => {
      for (const [k, dst] of target.stateDict()) {
        total += dst.numel;
        const src = source.get(k);
        const a = dst.shape;
        const b = src?.shape;
        if (!src || !b || a.length !== b.length || src.dtype !== dst.dtype) {
          fresh.push(k);
          continue;
        }
        if (a.every((s, i) => s === b[i])) {
          dst.copy_(src);
          copied.push(k);
          from += dst.numel;
          continue;
        }
        if (mode === 'exact' || a.length === 0) {
          fresh.push(k);
          continue;
        }
        const conv = a.length === 4;
        const offs = a.map((s, i) => offsets(s, b[i]!, conv && i >= 2));
        // In the inherited output units, zero the input positions (dims >= 1) the source does not
        // cover: new input channels and kernel borders. New output units keep their fresh weights.
        if (a.length >= 2 && a.some((n, i) => i >= 1 && n > b[i]!)) {
          const mask = Tensor.onesLike(dst);
          let region = mask.slice(0, offs[0]!.d, offs[0]!.d + offs[0]!.n);
          region.fill_(0);
          for (let i = 1; i < a.length; i++) region = region.slice(i, offs[i]!.d, offs[i]!.d + offs[i]!.n);
          region.fill_(1);
          dst.mul_(mask);
        }
        let d: Tensor = dst;
        let s: Tensor = src;
        offs.forEach((o, i) => {
          d = d.slice(i, o.d, o.d + o.n);
          s = s.slice(i, o.s, o.s + o.n);
        });
        d.copy_(s);
        from += d.numel;
        partial.push(k);
      }
    }),
  );
  return { copied, partial, fresh, fraction: total ? from / total : 0 };
}
