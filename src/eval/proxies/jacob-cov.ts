/**
 * jacob_cov (Mellor et al. 2020, "Neural Architecture Search without Training", arXiv v1; as a
 * NAS proxy, Abdelfattah et al. 2021): J = d(sum of outputs)/d(input) per sample of one real batch
 * (training mode), flattened to rows; with the eigenvalues v of the rows' correlation matrix,
 * score = -sum(log(v + k) + 1 / (v + k)), k = 1e-5. Data-dependent. Samples whose Jacobian is
 * constant make the correlation undefined: NaN (ranked last by the caller).
 */
import { Tensor, tidy } from '../../tensor/index.js';
import { needBatch, withNet } from './common.js';
import { symEigenvalues } from './linalg.js';
import type { ZeroCostProxy } from './types.js';

/** Pearson correlation matrix of the rows of x [n, d] (float64). */
export function rowCorrelation(x: Float32Array, n: number, d: number): Float64Array {
  const c = new Float64Array(n * n);
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < d; j++) m += x[i * d + j]!;
    m /= d;
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]! - m;
      z[i * d + j] = v;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < d; j++) z[i * d + j]! *= inv;
  }
  for (let i = 0; i < n; i++)
    for (let k = i; k < n; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += z[i * d + j]! * z[k * d + j]!;
      c[i * n + k] = s;
      c[k * n + i] = s;
    }
  return c;
}

export const jacobCovProxy: ZeroCostProxy = {
  name: 'jacob_cov',
  paper: 'Mellor et al. 2020, Neural Architecture Search without Training (v1, Jacobian covariance)',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) => {
      const b = needBatch(input, 'jacob_cov');
      const n = b.shape[0]!;
      const d = b.x.length / n;
      const jac = tidy(() => {
        net.train();
        net.zeroGrad();
        const x = Tensor.fromArray(b.x, b.shape).requiresGrad_(true);
        net.forward(x).sum().backward();
        return x.grad!.toFloat32Array();
      });
      const c = rowCorrelation(jac, n, d);
      if (c.some((v) => !Number.isFinite(v))) return NaN;
      const k = 1e-5;
      let s = 0;
      for (const v of symEigenvalues(c, n)) s += Math.log(Math.max(v, 0) + k) + 1 / (Math.max(v, 0) + k);
      return -s;
    }),
};
