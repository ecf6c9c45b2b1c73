/**
 * SPOS: Single Path One-Shot Neural Architecture Search with Uniform Sampling (Guo et al., ECCV
 * 2020). The supernet is trained one uniformly sampled path per step (every edge one op, each op
 * equally likely), so every path's weights are trained about equally and inherited weights rank
 * paths. After training, an evolutionary search over paths (paper section 3.3: keep the top-k of
 * everything scored, make half of each new generation by mutation, each edge resampled with
 * probability `mutationProb`, half by uniform crossover of two top-k parents) scores each path
 * by its accuracy on the architecture half, after re-estimating batch-norm statistics for that
 * path on batches of the weights half (the paper's BN recalibration: running statistics reset,
 * then a cumulative average over `recalibrationBatches` training batches). The winner is the
 * best-scoring path; the study retrains it from scratch.
 */
import { Rng } from '../core/rng.js';
import type { Batch } from '../data/batch.js';
import { batches } from '../data/batch.js';
import { crossEntropy, noGrad, tidy } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import { inputOf, labelsOf, weightStep, type Derivation, type MethodContext, type OneShotData, type OneShotMethod, type ReportMode, type StepResult } from './method.js';
import type { OneShotOptions } from './options.js';
import type { Supernet } from './supernet.js';

/** A uniformly random path: one op index per edge. */
export function randomPath(edges: readonly { ops: readonly unknown[] }[], rng: Rng): number[] {
  return edges.map((e) => rng.int(0, e.ops.length));
}

interface BnLike {
  runningMean: { fill_(v: number): unknown } | undefined;
  runningVar: { fill_(v: number): unknown } | undefined;
  momentum: number;
}

function batchNorms(m: Module<any, any>): BnLike[] {
  return m.modules().filter((x) => 'runningMean' in x && 'runningVar' in x && 'momentum' in x) as unknown as BnLike[];
}

/**
 * Re-estimates every batch-norm layer's running statistics for one path: reset to (0, 1), then a
 * cumulative average (momentum 1/(k+1) at batch k) over `n` batches of `data.weights`, forward
 * only. The layers' momentum is restored afterwards.
 */
export function recalibrateBatchNorm<A>(net: Supernet<A>, index: readonly number[], data: OneShotData, n: number, batchSize: number, rng: Rng): void {
  const bns = batchNorms(net.module);
  const saved = bns.map((b) => b.momentum);
  const wasTraining = net.module.training;
  try {
    for (const b of bns) {
      b.runningMean?.fill_(0);
      b.runningVar?.fill_(1);
    }
    net.module.train();
    let k = 0;
    for (const b of batches(data.weights, { batchSize, normalization: data.normalization, shuffle: rng, dropLast: data.weights.indices.length >= batchSize })) {
      if (k >= n) break;
      for (const bn of bns) bn.momentum = 1 / (k + 1);
      tidy(() =>
        noGrad(() => {
          net.setMode({ kind: 'path', index });
          net.module.forward(inputOf(b));
        }),
      );
      k++;
    }
  } finally {
    bns.forEach((b, i) => (b.momentum = saved[i]!));
    net.module.train(wasTraining);
  }
}

/**
 * Accuracy (percent) and mean loss of one path on the architecture half (at most
 * `opts.scoreBatches` batches when > 0), after recalibrating batch norm for it. `rng` orders the
 * recalibration batches.
 */
export function scorePath<A>(net: Supernet<A>, index: readonly number[], data: OneShotData, opts: OneShotOptions, rng: Rng): { acc: number; loss: number } {
  recalibrateBatchNorm(net, index, data, opts.recalibrationBatches, opts.batchSize, rng);
  const wasTraining = net.module.training;
  net.module.eval();
  let correct = 0;
  let seen = 0;
  let lossSum = 0;
  try {
    let k = 0;
    for (const b of batches(data.arch, { batchSize: Math.max(opts.batchSize, 256), normalization: data.normalization }) as Iterable<Batch>) {
      if (opts.scoreBatches > 0 && k >= opts.scoreBatches) break;
      const [l, c] = tidy(() =>
        noGrad(() => {
          net.setMode({ kind: 'path', index });
          const out = net.module.forward(inputOf(b));
          const y = labelsOf(b);
          return [crossEntropy(out, y).item(), out.argmax(1).eq(y).sum().item()] as const;
        }),
      );
      lossSum += l * b.size;
      correct += c;
      seen += b.size;
      k++;
    }
  } finally {
    net.module.train(wasTraining);
  }
  return { acc: (100 * correct) / Math.max(1, seen), loss: lossSum / Math.max(1, seen) };
}

export interface ScoredPath {
  readonly index: readonly number[];
  readonly acc: number;
  readonly generation: number;
}

/**
 * The evolutionary search over paths (section 3.3 of the paper, with population/generation sizes
 * from the options). Deterministic for a given rng. Yields to the event loop between paths.
 */
export async function evolvePaths<A>(ctx: MethodContext<A>, rng: Rng, signal?: AbortSignal): Promise<ScoredPath[]> {
  const o = ctx.opts;
  const edges = ctx.net.edges;
  const seen = new Map<string, ScoredPath>();
  const scoreRng = rng.derive('recalibration');
  const evaluate = async (index: number[], generation: number): Promise<void> => {
    const key = index.join(',');
    if (seen.has(key)) return;
    if (signal?.aborted) throw new Error('aborted');
    const { acc } = scorePath(ctx.net, index, ctx.data, o, scoreRng.derive(key));
    seen.set(key, { index, acc, generation });
    await new Promise((r) => setImmediate(r));
  };
  const total = edges.reduce((p, e) => p * e.ops.length, 1);
  const want = (n: number) => Math.min(n, total - seen.size);
  // generation 0: random paths
  for (let tries = 0; seen.size < want(o.population) && tries < 100 * o.population; tries++) await evaluate(randomPath(edges, rng), 0);
  for (let g = 1; g <= o.generations; g++) {
    const top = [...seen.values()].sort((a, b) => b.acc - a.acc).slice(0, o.topK);
    const target = seen.size + want(o.population);
    const half = Math.floor(o.population / 2);
    let made = 0;
    for (let tries = 0; seen.size < target && tries < 100 * o.population; tries++) {
      let child: number[];
      if (made < half || top.length < 2) {
        const parent = rng.choice(top).index;
        child = parent.map((k, e) => (rng.float() < o.mutationProb ? rng.int(0, edges[e]!.ops.length) : k));
      } else {
        const [p, q] = rng.sample(top, 2);
        child = p!.index.map((k, e) => (rng.bool() ? k : q!.index[e]!));
      }
      const before = seen.size;
      await evaluate(child, g);
      if (seen.size > before) made++;
    }
  }
  return [...seen.values()].sort((a, b) => b.acc - a.acc);
}

export const spos: OneShotMethod = {
  name: 'spos',
  usesAlpha: false,
  step<A>(ctx: MethodContext<A>, w: Batch): StepResult {
    const index = randomPath(ctx.net.edges, ctx.rng);
    return weightStep(ctx, w, () => ({ kind: 'path', index }));
  },
  reportMode<A>(ctx: MethodContext<A>): ReportMode {
    // The same sequence of paths every epoch (batch i of the report pass: path i), so the curve
    // follows the same paths as they train. Was: fresh random paths each epoch (a different ~3 on
    // digits), and the per-epoch val_acc jumped with the paths drawn (19-60% within 10 epochs,
    // session 9), hiding whether the supernet learned.
    const rng = Rng.fromSeed('spos-report-paths');
    return { mode: () => ({ kind: 'path', index: randomPath(ctx.net.edges, rng) }), batchStats: true };
  },
  async derive<A>(ctx: MethodContext<A>, signal?: AbortSignal): Promise<Derivation<A>> {
    const scored = await evolvePaths(ctx, ctx.rng.derive('evolution'), signal);
    const best = scored[0]!;
    // images each path was scored on (scorePath): the architecture half, or its first score_batches batches
    const all = ctx.data.arch.indices.length;
    const o = ctx.opts;
    const images = o.scoreBatches > 0 ? Math.min(all, o.scoreBatches * Math.max(o.batchSize, 256)) : all;
    return {
      arch: ctx.net.pathArch(best.index),
      details: {
        evaluated: scored.map((s) => ({ path: [...s.index], score: Number(s.acc.toFixed(3)), generation: s.generation })),
        winner: [...best.index],
        score: Number(best.acc.toFixed(3)),
        images,
      },
    };
  },
};
