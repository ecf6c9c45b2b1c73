/**
 * An ensemble of trained configurations: each member (an architecture, with its training
 * hyperparameters for a joint space) is trained on `data.train` with the same trainer as a search's
 * evaluations (trainOnData), and the ensemble's prediction on `data.test` is the mean of the
 * members' class probabilities (softmax of the logits), its class the argmax of that mean.
 *
 * This is the "sorted ensemble initialization" of Caruana et al. 2004 (Ensemble Selection from
 * Libraries of Models, ICML; the start of auto-sklearn's ensemble selection, Feurer et al. 2015):
 * the N best models of the library by validation score, averaged with equal weights. The greedy
 * forward steps that follow in Caruana et al. need every model's held-out predictions: they are
 * src/eval/ensemble-selection.ts (over out-of-fold predictions, src/eval/cv-predictions.ts), whose
 * weights `averagePredictions` takes.
 *
 * Shapes and units: `probs` is [test rows x classes] row-major, each row summing to 1; `acc` in
 * percent; `loss` the mean negative log of the probability given to the true class (natural log,
 * probabilities floored at 1e-12). Errors: a member whose training does not complete throws
 * `NasError` (code `diverged`/`invalid_arch`/... from the trainer's outcome) naming the member;
 * an empty member list or data without test rows is `invalid_config`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import { batches } from '../data/batch.js';
import type { PreparedData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { loadModule } from '../nn/state.js';
import { Generator, Tensor, noGrad, tidy } from '../tensor/index.js';
import { trainOnData, type TrainOptions } from './train.js';
import { holdPartial } from '../core/partial.js';

export interface EnsembleMemberResult {
  readonly arch: NetworkArch | JointArch;
  /** The member's own test accuracy, percent. */
  readonly testAcc: number;
  /** The member's class probabilities, [test rows x classes] row-major (for ensembles of a prefix of the members). */
  readonly probs: Float32Array;
}

export interface EnsembleResult {
  /** Test accuracy of the averaged prediction, percent. */
  readonly acc: number;
  /** Test log loss of the averaged probabilities. */
  readonly loss: number;
  /** Mean class probabilities, [test rows x classes] row-major. */
  readonly probs: Float32Array;
  readonly members: readonly EnsembleMemberResult[];
}

/**
 * Trains every member on `data.train` (`epochs` each, seed `seed`, the trainer's `opts`) and
 * averages their test-set probabilities. Members are trained one after the other; each network
 * is disposed before the next one is built.
 */
export async function trainEnsemble(members: readonly (NetworkArch | JointArch)[], data: PreparedData, opts: TrainOptions & { readonly epochs: number; readonly seed: number; readonly signal?: AbortSignal }): Promise<EnsembleResult> {
  if (members.length === 0) throw new NasError('invalid_config', 'an ensemble needs at least one member', { field: 'ensemble', hint: 'give k >= 1' });
  const n = data.test.indices.length;
  if (n === 0) throw new NasError('invalid_config', 'the data has no test rows to evaluate the ensemble on', { field: 'split', hint: 'keep a test split' });
  const c = data.numClasses;
  const out: EnsembleMemberResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-ensemble-'));
  // The members' weight files are removed on Ctrl-C / SIGTERM and exit too (core/partial.ts), not
  // only here; scratch: not named as an unfinished output in the stop line.
  const release = holdPartial(dir, { scratch: true });
  try {
    for (const [m, arch] of members.entries()) {
      const file = join(dir, `member-${m}.sd`);
      const { weightsFile: _w, signal, ...rest } = opts as TrainOptions & { weightsFile?: string; signal?: AbortSignal };
      void _w;
      // An aborted signal stops the training after the current batch (failed/aborted, thrown as `aborted` below).
      const r = await trainOnData(data, { arch, seed: opts.seed, budget: opts.epochs, ...(signal ? { signal } : {}) }, { ...rest, weightsFile: file });
      const o = r.outcome;
      if (o.status !== 'complete')
        throw new NasError(o.status === 'failed' ? (o.error instanceof NasError ? o.error.code : 'diverged') : 'internal', `ensemble member ${m + 1} of ${members.length} did not train: ${o.status === 'failed' ? o.message : o.status}`, {
          field: `ensemble[${m}]`,
          hint: 'drop this configuration from the ensemble (a smaller k), or fix its hyperparameters',
        });
      const net = 'hparams' in arch ? arch.arch : arch;
      const { module } = buildNetwork(net, { shape: data.shape, numClasses: c }, { gen: new Generator(0), ...(opts.nb201 ? { nb201: opts.nb201 } : {}), ...(opts.darts ? { darts: opts.darts } : {}) });
      try {
        loadModule(file, module);
        module.eval();
        let row = 0;
        let hits = 0;
        const own = new Float32Array(n * c);
        for (const b of batches(data.test, { batchSize: 1000, normalization: data.normalization })) {
          const p = tidy(() => noGrad(() => module.forward(Tensor.fromArray(b.x, b.shape)).softmax(1).toFloat32Array()));
          for (let i = 0; i < b.size; i++) {
            let best = 0;
            for (let j = 0; j < c; j++) {
              own[(row + i) * c + j] = p[i * c + j]!;
              if (p[i * c + j]! > p[i * c + best]!) best = j;
            }
            if (best === b.y[i]) hits++;
          }
          row += b.size;
        }
        out.push({ arch, testAcc: (100 * hits) / n, probs: own });
      } finally {
        module.dispose();
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    release();
  }
  return { ...averagePredictions(out.map((m) => m.probs), data), members: out };
}

/**
 * The average of members' test probabilities ([test rows x classes] each; equal weights, or
 * `weights`, one non-negative number per member, normalised by their sum) and its
 * accuracy (percent) and log loss on `data.test`; e.g. the ensemble of the first j members of a
 * trainEnsemble result. Ties in the argmax go to the lower class index.
 */
export function averagePredictions(members: readonly Float32Array[], data: Pick<PreparedData, 'test' | 'numClasses'>, weights?: readonly number[]): { acc: number; loss: number; probs: Float32Array } {
  const c = data.numClasses;
  const n = data.test.indices.length;
  if (members.length === 0 || members.some((p) => p.length !== n * c))
    throw new NasError('invalid_config', `averagePredictions needs at least one member of ${n} x ${c} probabilities`, { field: 'members' });
  if (weights !== undefined && (weights.length !== members.length || !weights.every((w) => Number.isFinite(w) && w >= 0) || !(weights.reduce((a, b) => a + b, 0) > 0)))
    throw new NasError('invalid_config', `averagePredictions needs one non-negative weight per member (${members.length}), not all zero; got ${JSON.stringify(weights)}`, { field: 'weights' });
  const total = weights === undefined ? members.length : weights.reduce((a, b) => a + b, 0);
  const w = weights ?? members.map(() => 1);
  const probs = new Float32Array(n * c);
  let hits = 0;
  let loss = 0;
  const y = data.test.data.y;
  data.test.indices.forEach((idx, i) => {
    let best = 0;
    for (let j = 0; j < c; j++) {
      let v = 0;
      members.forEach((p, m) => (v += w[m]! * p[i * c + j]!));
      probs[i * c + j] = v / total;
      if (probs[i * c + j]! > probs[i * c + best]!) best = j;
    }
    const t = y[idx] as number;
    if (best === t) hits++;
    loss -= Math.log(Math.max(1e-12, probs[i * c + t]!));
  });
  return { acc: (100 * hits) / n, loss: loss / n, probs };
}
