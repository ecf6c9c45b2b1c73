/**
 * The one-shot search loop shared by every method: build the supernet, split the training data in
 * two halves, train epoch by epoch (each step one batch of each half, `method.step`), report the
 * supernet's loss/accuracy on the architecture half and the per-edge softmax of alpha after every
 * epoch, checkpoint supernet, alpha and both optimizers' states after every epoch, then derive the
 * discrete architecture.
 *
 * Resume: with `checkpoint`, a run finds the file of an earlier run with the same fingerprint and
 * continues after its last finished epoch (all randomness of an epoch derives from the seed and
 * the epoch number, so the resumed run repeats what the killed one would have done). The file is
 * written atomically (temporary name + rename): a kill leaves the previous epoch's checkpoint.
 *
 * Errors: a NaN/Inf loss or alpha ends the search with NasError `diverged` (naming the epoch and
 * step); an aborted signal with NasError `aborted`. Native memory is freed in every case.
 */
import { existsSync, rmSync } from 'node:fs';
import { NasError, assertNever } from '../core/errors.js';
import type { Json } from '../core/json.js';
import { Rng, hash32 } from '../core/rng.js';
import { batches, numBatches, type Batch } from '../data/batch.js';
import type { PreparedData } from '../data/prepare.js';
import { stratifiedSplit } from '../data/split.js';
import type { InputSpec } from '../nn/build/analyze.js';
import { Adam, SGD, type OptimizerState } from '../nn/optim.js';
import { loadStateDict, saveStateDict } from '../nn/state.js';
import { Generator, Tensor, crossEntropy, getNumThreads, noGrad, setNumThreads, tidy, trimMemory } from '../tensor/index.js';
import { darts, darts2 } from './darts.js';
import { gdas } from './gdas.js';
import { alphaProbs, cosineLr, inputOf, labelsOf, type MethodContext, type OneShotData, type OneShotMethod } from './method.js';
import type { OneShotMethodName, OneShotOptions } from './options.js';
import { spos } from './spos.js';
import { argmaxRows, hasParamFreeOps, opCounts, type Supernet } from './supernet.js';

export function getMethod(name: OneShotMethodName): OneShotMethod {
  switch (name) {
    case 'darts':
      return darts;
    case 'darts2':
      return darts2;
    case 'gdas':
      return gdas;
    case 'spos':
      return spos;
    default:
      return assertNever(name, 'one-shot method');
  }
}

/**
 * The two class-stratified halves of `data.train` (seeded by `seed`). Each must hold at least one
 * batch and one sample per class: else NasError `invalid_config` naming `field`.
 */
export function splitHalves(data: PreparedData, batchSize: number, seed: number, field = 'evaluator.dataset'): OneShotData {
  const [weights, arch] = stratifiedSplit(data.train, [0.5], `oneshot-halves:${seed}`) as [typeof data.train, typeof data.train];
  const need = Math.max(batchSize, data.numClasses);
  const small = Math.min(weights.indices.length, arch.indices.length);
  if (small < need)
    throw new NasError('invalid_config', `the training split of ${data.name} has ${data.train.indices.length} samples: too few for two halves of at least ${need} (one batch of ${batchSize} and one sample per class each)`, {
      field,
      hint: 'use more training data (a larger train_per_class or the whole dataset) or a smaller batch_size',
      details: { train: data.train.indices.length, halves: [weights.indices.length, arch.indices.length] },
    });
  return { weights, arch, normalization: data.normalization, shape: data.shape, numClasses: data.numClasses };
}

export interface EpochRecord {
  /** 1-based. */
  readonly epoch: number;
  readonly metrics: Record<string, number>;
  /** softmax(alpha_e) per edge [edge][op] (methods with alpha). */
  readonly probs?: number[][];
  /** The architecture derived from this epoch's alpha (methods with alpha). */
  readonly derived?: Json;
}

export interface OneShotRunOptions<A> {
  readonly method: OneShotMethodName;
  readonly options: OneShotOptions;
  readonly seed: number;
  readonly data: OneShotData;
  readonly supernet: (input: InputSpec, gen: Generator) => Supernet<A>;
  /** Checkpoint file (created, replaced each epoch) and the fingerprint of this search's identity. */
  readonly checkpoint?: { readonly path: string; readonly fingerprint: string };
  readonly signal?: AbortSignal;
  /** libtorch threads during the search (restored afterwards). */
  readonly threads?: number;
  /** After each finished epoch, after its checkpoint was written. */
  readonly onEpoch?: (rec: EpochRecord, history: readonly EpochRecord[]) => void | Promise<void>;
  /**
   * After the last epoch, before the derivation: a look at the trained supernet (benchmarks score
   * paths in it). The supernet is disposed afterwards; do not keep it.
   */
  readonly inspect?: (net: Supernet<A>, ctx: MethodContext<A>) => void | Promise<void>;
  /** Called once with the history found in a checkpoint (empty when starting afresh). */
  readonly onResume?: (history: readonly EpochRecord[]) => void | Promise<void>;
}

export interface OneShotResult<A> {
  readonly arch: A;
  readonly history: readonly EpochRecord[];
  /** Search wall time: the epochs (summed across resumed runs) plus the derivation. */
  readonly searchSeconds: number;
  /** Epoch the run resumed after (0 = fresh). */
  readonly resumedAfter: number;
  readonly details?: Json;
  /** Supernet weights (without alpha). */
  readonly supernetParams: number;
}

const CKPT_FORMAT = 'tsnas.oneshot-checkpoint/1';

function stateTensors(prefix: string, s: OptimizerState, out: Map<string, Tensor>): { lr: number; steps: number[]; layout: boolean[][] } {
  const layout = s.buffers.map((b, i) =>
    b.map((t, j) => {
      if (t) out.set(`${prefix}.${i}.${j}`, t);
      return t !== undefined;
    }),
  );
  return { lr: s.lr, steps: s.steps, layout };
}

function restoreState(prefix: string, meta: { lr: number; steps: number[]; layout: boolean[][] }, tensors: ReadonlyMap<string, Tensor>): OptimizerState {
  return {
    lr: meta.lr,
    steps: meta.steps,
    buffers: meta.layout.map((b, i) => b.map((present, j) => (present ? tensors.get(`${prefix}.${i}.${j}`) : undefined))),
  };
}

/** Runs a one-shot search to its derived architecture. */
export async function runOneShot<A>(o: OneShotRunOptions<A>): Promise<OneShotResult<A>> {
  const method = getMethod(o.method);
  const opts = o.options;
  const data = o.data;
  const input: InputSpec = { shape: data.shape, numClasses: data.numClasses };
  const prevThreads = getNumThreads();
  if (o.threads !== undefined) setNumThreads(o.threads);
  const net = o.supernet(input, new Generator(hash32(`oneshot-init:${o.seed}`)));
  const params = net.module.parameters();
  const wOpt = new SGD(params, { lr: opts.lr, momentum: opts.momentum, weightDecay: opts.weightDecay });
  const aOpt = method.usesAlpha ? new Adam(net.alpha, { lr: opts.alphaLr, betas: [opts.alphaBeta1, opts.alphaBeta2], weightDecay: opts.alphaWeightDecay }) : undefined;
  let history: EpochRecord[] = [];
  let resumedAfter = 0;
  try {
    // ---- resume
    if (o.checkpoint && existsSync(o.checkpoint.path)) {
      const { tensors, meta } = loadStateDict(o.checkpoint.path);
      try {
        if (meta['format'] === CKPT_FORMAT && meta['fingerprint'] === o.checkpoint.fingerprint) {
          const sd = new Map([...tensors].filter(([k]) => k.startsWith('net.')).map(([k, v]) => [k.slice(4), v]));
          net.module.loadStateDict(sd);
          noGrad(() => net.alpha.forEach((a, i) => a.copy_(tensors.get(`alpha.${i}`)!)));
          wOpt.loadState(restoreState('wopt', meta['wopt'] as never, tensors));
          if (aOpt) aOpt.loadState(restoreState('aopt', meta['aopt'] as never, tensors));
          history = meta['history'] as EpochRecord[];
          resumedAfter = meta['epoch'] as number;
        }
      } finally {
        for (const t of tensors.values()) t.dispose();
      }
    }
    await o.onResume?.(history);

    const ctxFor = (epoch: number): MethodContext<A> => ({
      net,
      opts,
      params,
      wOpt,
      aOpt,
      epoch,
      epochs: opts.epochs,
      gen: new Generator(hash32(`oneshot-gen:${o.seed}:${epoch}`)),
      rng: Rng.fromSeed(`oneshot-rng:${o.seed}:${epoch}`),
      data,
    });

    // ---- epochs
    for (let epoch = resumedAfter + 1; epoch <= opts.epochs; epoch++) {
      const t0 = performance.now();
      const ctx = ctxFor(epoch);
      wOpt.lr = cosineLr(opts, epoch, opts.epochs);
      net.module.train();
      const perEpoch = numBatches(data.weights.indices.length, opts.batchSize, true);
      const orderW = Rng.fromSeed(`oneshot-order-w:${o.seed}:${epoch}`);
      const orderA = Rng.fromSeed(`oneshot-order-a:${o.seed}:${epoch}`);
      let archIter: Iterator<Batch> = batches(data.arch, { batchSize: opts.batchSize, normalization: data.normalization, shuffle: orderA, dropLast: true });
      let lossSum = 0;
      let archLossSum = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      for (const wb of batches(data.weights, { batchSize: opts.batchSize, normalization: data.normalization, shuffle: orderW, dropLast: true })) {
        let next = archIter.next();
        if (next.done) {
          archIter = batches(data.arch, { batchSize: opts.batchSize, normalization: data.normalization, shuffle: orderA, dropLast: true });
          next = archIter.next();
        }
        const r = method.step(ctx, wb, next.value as Batch);
        step++;
        if (!Number.isFinite(r.loss) || (r.archLoss !== undefined && !Number.isFinite(r.archLoss)))
          throw new NasError('diverged', `${o.method}: the ${Number.isFinite(r.loss) ? 'architecture' : 'training'} loss became ${Number.isFinite(r.loss) ? r.archLoss : r.loss} at epoch ${epoch}, step ${step}`, {
            hint: 'lower lr / alpha_lr, or use a guard',
          });
        if (method.usesAlpha && !alphaFinite(net.alpha))
          throw new NasError('diverged', `${o.method}: alpha became NaN/Inf at epoch ${epoch}, step ${step}`, { field: 'alpha', hint: 'lower alpha_lr' });
        lossSum += r.loss * wb.size;
        archLossSum += (r.archLoss ?? 0) * wb.size;
        correct += r.correct;
        seen += wb.size;
        // Yield after every step (a setImmediate costs microseconds; a supernet step, tens of ms or
        // much more on a busy machine), so Ctrl-C and lease heartbeats are served between steps.
        await new Promise((res) => setImmediate(res));
        if (o.signal?.aborted) throw new NasError('aborted', `${o.method}: aborted during epoch ${epoch}`);
      }
      void perEpoch;
      const trainSeconds = (performance.now() - t0) / 1000;
      const val = await reportPass(ctx, method, o.signal, `${o.method}: aborted during the validation pass of epoch ${epoch}`);
      const probs = method.usesAlpha ? alphaProbs(net.alpha) : undefined;
      const derived = probs ? net.derive(probs) : undefined;
      // skip / parameter-free counts only where the supernet has such ops (a chain CNN has none:
      // its counts were a constant 0 every epoch)
      const counts = derived !== undefined && hasParamFreeOps(net.edges) ? opCounts(net.archOps(derived)) : undefined;
      const metrics: Record<string, number> = {
        train_loss: lossSum / Math.max(1, seen),
        train_acc: (100 * correct) / Math.max(1, seen),
        val_loss: val.loss,
        val_acc: val.acc,
        ...(method.usesAlpha ? { arch_loss: archLossSum / Math.max(1, seen) } : {}),
        ...(counts ? { skip_edges: counts.skip, param_free_edges: counts.paramFree } : {}),
        lr: wOpt.lr,
        steps: step,
        epoch_seconds: (performance.now() - t0) / 1000,
        train_seconds: trainSeconds,
      };
      if (o.method === 'gdas') metrics['tau'] = gdasTau(opts, epoch);
      const rec: EpochRecord = { epoch, metrics, ...(probs ? { probs } : {}), ...(derived !== undefined ? { derived: derived as unknown as Json } : {}) };
      history = [...history, rec];
      if (o.checkpoint) saveCheckpoint(o.checkpoint.path, o.checkpoint.fingerprint, epoch, history, net, wOpt, aOpt);
      await o.onEpoch?.(rec, history);
      if (o.signal?.aborted) throw new NasError('aborted', `${o.method}: aborted after epoch ${epoch}`);
    }

    // ---- derivation
    await o.inspect?.(net, ctxFor(opts.epochs + 1));
    const t1 = performance.now();
    const d = await method.derive(ctxFor(opts.epochs + 1), o.signal);
    if (o.signal?.aborted) throw new NasError('aborted', `${o.method}: aborted during the derivation`);
    const epochSeconds = history.reduce((s, h) => s + (h.metrics['epoch_seconds'] ?? 0), 0);
    return {
      arch: d.arch,
      history,
      searchSeconds: epochSeconds + (performance.now() - t1) / 1000,
      resumedAfter,
      ...(d.details !== undefined ? { details: d.details } : {}),
      supernetParams: params.reduce((s, p) => s + p.numel, 0),
    };
  } finally {
    net.dispose();
    if (o.threads !== undefined) setNumThreads(prevThreads);
    // As every training run (eval/train.ts): give the caching allocator's idle blocks back. The
    // supernet's steps leave up to its limit (2 GiB) of freed buffers cached, which the retraining
    // that follows in the same process cannot reuse: kept, they added to its peak (4.07 GB RSS).
    trimMemory();
  }
}

function gdasTau(o: OneShotOptions, epoch: number): number {
  return o.epochs <= 1 ? o.tauMin : o.tauMax - ((o.tauMax - o.tauMin) * (epoch - 1)) / (o.epochs - 1);
}

function alphaFinite(alpha: readonly Tensor[]): boolean {
  return tidy(() => alpha.every((a) => a.isfinite().all().item() === 1));
}

/** Loss and accuracy of the supernet on the architecture half, in the method's report mode. */
async function reportPass<A>(ctx: MethodContext<A>, method: OneShotMethod, signal: AbortSignal | undefined, abortMessage: string): Promise<{ loss: number; acc: number }> {
  const rm = method.reportMode(ctx);
  const m = ctx.net.module;
  const wasTraining = m.training;
  if (rm.batchStats) m.train();
  else m.eval();
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  try {
    for (const b of batches(ctx.data.arch, { batchSize: Math.max(256, ctx.opts.batchSize), normalization: ctx.data.normalization })) {
      const [l, c] = tidy(() =>
        noGrad(() => {
          ctx.net.setMode(rm.mode());
          const out = m.forward(inputOf(b));
          const y = labelsOf(b);
          return [crossEntropy(out, y).item(), out.argmax(1).eq(y).sum().item()] as const;
        }),
      );
      lossSum += l * b.size;
      correct += c;
      seen += b.size;
      // As the training steps: yield per batch so an interrupt stops the pass within one batch.
      await new Promise((res) => setImmediate(res));
      if (signal?.aborted) throw new NasError('aborted', abortMessage);
    }
  } finally {
    m.train(wasTraining);
  }
  return { loss: lossSum / Math.max(1, seen), acc: (100 * correct) / Math.max(1, seen) };
}

function saveCheckpoint<A>(path: string, fingerprint: string, epoch: number, history: readonly EpochRecord[], net: Supernet<A>, wOpt: SGD, aOpt: Adam | undefined): void {
  const sd = new Map<string, Tensor>();
  for (const [k, v] of net.module.stateDict()) sd.set(`net.${k}`, v);
  net.alpha.forEach((a, i) => sd.set(`alpha.${i}`, a));
  const ws = wOpt.state();
  const as = aOpt?.state();
  try {
    const meta = {
      format: CKPT_FORMAT,
      fingerprint,
      epoch,
      history,
      wopt: stateTensors('wopt', ws, sd),
      ...(as ? { aopt: stateTensors('aopt', as, sd) } : {}),
    };
    saveStateDict(path, sd, meta);
  } catch (e) {
    rmSync(`${path}.tmp-${process.pid}`, { force: true });
    throw e;
  } finally {
    for (const b of [...ws.buffers, ...(as?.buffers ?? [])]) for (const t of b) t?.dispose();
  }
}

/** The derived architecture's op preferences at the end of a history (for tools that re-derive). */
export function lastProbs(history: readonly EpochRecord[]): number[][] | undefined {
  return history[history.length - 1]?.probs;
}

export { argmaxRows };
