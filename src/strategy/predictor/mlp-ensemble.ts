/**
 * An ensemble of small MLP performance predictors on the engine, as in BANANAS (White et al. 2021,
 * "BANANAS: Bayesian Optimization with Neural Architectures for Neural Architecture Search", AAAI):
 * `members` fully connected networks (ReLU, `hidden` units per layer), each from its own seeded
 * initialisation, trained by Adam on mean absolute error over every labelled point (full batch,
 * `epochs` steps). The ensemble's mean and standard deviation are the prediction and its
 * uncertainty. Inputs are rows of features (e.g. the path encoding, optionally with proxy scores);
 * targets are standardised inside. Fitting needs at least `minPoints` rows, else `invalid_config`
 * naming the option that set them.
 */
import { NasError } from '../../core/errors.js';
import { Adam } from '../../nn/optim.js';
import { Generator, Tensor, l1Loss, linear, noGrad, tidy } from '../../tensor/index.js';

export interface MlpEnsembleOptions {
  readonly members: number;
  readonly hidden: readonly number[];
  readonly epochs: number;
  readonly lr: number;
  /** Fewest labelled rows the ensemble fits on (at least 2). */
  readonly minPoints: number;
  /** The option named in the error when too few points are given. */
  readonly field?: string;
}

export interface FittedEnsemble {
  /** Mean and sd of the members' predictions (in target units) for each row. */
  predict(x: readonly Float64Array[]): { mean: Float64Array; sd: Float64Array };
  dispose(): void;
}

export function fitMlpEnsemble(x: readonly Float64Array[], y: readonly number[], seed: number, o: MlpEnsembleOptions): FittedEnsemble {
  const n = x.length;
  if (n < Math.max(2, o.minPoints) || y.length !== n)
    throw new NasError('invalid_config', `the MLP ensemble predictor needs at least ${Math.max(2, o.minPoints)} labelled architectures to fit, got ${Math.min(n, y.length)}`, {
      field: o.field ?? 'minPoints',
      hint: `evaluate at least ${Math.max(2, o.minPoints)} architectures before the predictor is used (raise ${o.field ?? 'minPoints'}'s value, or lower the predictor's minimum)`,
    });
  const d = x[0]!.length;
  let my = 0;
  for (const v of y) my += v;
  my /= n;
  let sy = 0;
  for (const v of y) sy += (v - my) ** 2;
  sy = Math.sqrt(sy / n) || 1;
  const flat = new Float32Array(n * d);
  x.forEach((r, i) => flat.set(r, i * d));
  const members: Tensor[][] = [];
  const X = Tensor.fromArray(flat, [n, d]).keep();
  const Y = Tensor.fromArray(Float32Array.from(y, (v) => (v - my) / sy), [n, 1]).keep();
  try {
    for (let m = 0; m < o.members; m++) {
      const gen = new Generator((seed + 7919 * m) >>> 1);
      const params: Tensor[] = [];
      const sizes = [d, ...o.hidden, 1];
      for (let l = 0; l + 1 < sizes.length; l++) {
        const bound = 1 / Math.sqrt(sizes[l]!);
        params.push(gen.uniform([sizes[l + 1]!, sizes[l]!], -bound, bound).requiresGrad_(true).keep());
        params.push(gen.uniform([sizes[l + 1]!], -bound, bound).requiresGrad_(true).keep());
      }
      const opt = new Adam(params, { lr: o.lr });
      for (let e = 0; e < o.epochs; e++)
        tidy(() => {
          opt.zeroGrad();
          l1Loss(forward(params, X), Y).backward();
          opt.step();
        });
      members.push(params);
    }
  } catch (e) {
    for (const ps of members) for (const p of ps) p.dispose();
    X.dispose();
    Y.dispose();
    throw e;
  }
  X.dispose();
  Y.dispose();
  return {
    predict(rows) {
      const k = rows.length;
      const mean = new Float64Array(k);
      const sd = new Float64Array(k);
      if (!k) return { mean, sd };
      const f = new Float32Array(k * d);
      rows.forEach((r, i) => f.set(r, i * d));
      const preds = noGrad(() => tidy(() => members.map((ps) => forward(ps, Tensor.fromArray(f, [k, d])).toFloat32Array())));
      for (let i = 0; i < k; i++) {
        let s = 0;
        for (const p of preds) s += p[i]!;
        const mu = s / preds.length;
        let v = 0;
        for (const p of preds) v += (p[i]! - mu) ** 2;
        mean[i] = mu * sy + my;
        sd[i] = Math.sqrt(v / preds.length) * sy;
      }
      return { mean, sd };
    },
    dispose() {
      for (const ps of members) for (const p of ps) p.dispose();
      members.length = 0;
    },
  };
}

function forward(params: readonly Tensor[], x: Tensor): Tensor {
  let h = x;
  for (let l = 0; l < params.length; l += 2) {
    h = linear(h, params[l]!, params[l + 1]!);
    if (l + 2 < params.length) h = h.relu();
  }
  return h;
}
