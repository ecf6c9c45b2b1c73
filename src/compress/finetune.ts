/**
 * Fine-tuning of a compressed (pruned) GraphNet on the training split: Adam with a cosine-decayed
 * learning rate (default 1e-3, batch 64), cross-entropy. With masks (unstructured pruning) the
 * masked weights are zeroed again after every optimizer step, so the sparsity holds; with a
 * gradual schedule the masks are recomputed at the start of every epoch (prune.ts). Optionally
 * distilled from a teacher (the unpruned network; Hinton et al. 2015) and trained with augmentation
 * and label smoothing (the recipe the network was trained with).
 */
import { Rng } from '../core/rng.js';
import { NasError } from '../core/errors.js';
import type { Augmentation } from '../data/augment.js';
import { batches, numBatches } from '../data/batch.js';
import type { PreparedData } from '../data/prepare.js';
import { Adam } from '../nn/optim.js';
import { lrAt } from '../nn/schedule.js';
import { Tensor, crossEntropy, noGrad, tidy, trimMemory } from '../tensor/index.js';
import type { Layer, Module } from '../nn/module.js';

export interface FinetuneOptions {
  readonly epochs: number;
  /** Default 1e-3. */
  readonly lr?: number;
  /** Default 64. */
  readonly batchSize?: number;
  readonly seed?: number;
  /** Called before each epoch (1-based) with the net's state dict; returns the masks to hold during that epoch. */
  readonly masksForEpoch?: (epoch: number, weights: ReadonlyMap<string, Tensor>) => ReadonlyMap<string, Tensor> | undefined;
  /** Called after each epoch. */
  readonly onEpoch?: (epoch: number, trainLoss: number) => void;
  /** Called after every batch with the optimizer steps done and the total over all epochs (for progress and ETA). */
  readonly onBatch?: (step: number, totalSteps: number) => void;
  /** The parameters to train (default all of the net's); the others are not touched by the optimizer. */
  readonly params?: readonly Tensor[];
  /** Layers kept in inference mode while the rest trains (frozen batch norms: running statistics fixed). */
  readonly frozenLayers?: readonly Layer[];
  /** Called before each epoch (1-based), after the net is put in training mode (e.g. QAT's freezing schedule). */
  readonly beforeEpoch?: (epoch: number) => void;
  /** Called after every optimizer step (e.g. to update quantization observers' state). */
  readonly afterStep?: () => void;
  /**
   * Knowledge distillation from a teacher (Hinton et al. 2015, "Distilling the Knowledge in a Neural
   * Network"): the loss becomes (1 - weight) * CE(student, labels) + weight * T^2 * CE(student / T,
   * softmax(teacher / T)), whose soft term is T^2 KL(teacher || student) up to a constant (the
   * teacher's entropy). `teacher` maps the batch [N, ...] to logits [N, C] and runs without
   * gradients (e.g. the float network before pruning). Default temperature 4, weight 0.7. Absent:
   * cross-entropy on the labels only.
   */
  readonly distill?: { readonly teacher: (x: Tensor) => Tensor; readonly temperature?: number; readonly weight?: number };
  /** Training-time augmentation of the batches (e.g. the recipe the network was trained with); drawn from the seed. */
  readonly augment?: Augmentation;
  /** Label smoothing of the hard-label cross-entropy (default 0). */
  readonly labelSmoothing?: number;
  /**
   * Transfer recipes (src/api/finetune.ts): parameter groups trained at their own learning rate,
   * `lrScale` x the schedule's (discriminative fine-tuning, Howard & Ruder 2018, ULMFiT), and only
   * from epoch `fromEpoch` (1-based; gradual unfreezing, ULMFiT; LP-FT, Kumar et al. 2022: the
   * head first, then everything). Before its first epoch a group's parameters are not updated and
   * its `layers` stay in inference mode (frozen batch-norm statistics). Each group has its own Adam
   * (per-parameter state, so the same update as one Adam with per-group rates). When given, it
   * replaces `params`.
   */
  readonly groups?: readonly FinetuneGroup[];
  /**
   * Aborting stops the fine-tuning after the current batch (checked when the loop yields, at most
   * every YIELD_EVERY_MS): it throws `aborted` naming the epoch and step, the net left mid-training.
   */
  readonly signal?: AbortSignal;
}

/** See FinetuneOptions.groups. */
export interface FinetuneGroup {
  readonly params: readonly Tensor[];
  /** Default 1. */
  readonly lrScale?: number;
  /** Default 1. */
  readonly fromEpoch?: number;
  /** Layers of the group held in inference mode before `fromEpoch` (e.g. batch norms). */
  readonly layers?: readonly Layer[];
}

/** Checks `o.distill` (temperature > 0, weight in [0, 1]); throws invalid_config naming the field. */
export function checkDistill(d: FinetuneOptions['distill']): void {
  if (!d) return;
  const t = d.temperature ?? 4;
  const w = d.weight ?? 0.7;
  if (!(t > 0 && Number.isFinite(t))) throw new NasError('invalid_config', `distillation temperature must be > 0, got ${t}`, { field: 'distill.temperature', hint: 'e.g. 4 (Hinton et al. 2015)' });
  if (!(w >= 0 && w <= 1)) throw new NasError('invalid_config', `distillation weight must be in [0, 1], got ${w}`, { field: 'distill.weight', hint: 'the share of the soft (teacher) term, e.g. 0.7' });
}

/** Applies 0/1 masks to the weights they name, in place. */
export function applyMasks(weights: ReadonlyMap<string, Tensor>, masks: ReadonlyMap<string, Tensor>): void {
  noGrad(() => {
    for (const [k, m] of masks) weights.get(k)!.mul_(m);
  });
}

/**
 * 0/1 masks of the exact zeros of the weights named by `keys` (a magnitude-pruned network's
 * sparsity), for the tensors that hold at least one zero (a dense tensor gets none), keyed
 * `prefix + key`. Held through a later training (`masksForEpoch: () => masks`: re-zeroed after
 * every optimizer step), they keep the zeros zero, as pruning's own fine-tuning does. The caller
 * owns the masks (dispose). `zeros` = the number of weights the masks hold at zero.
 */
export function zeroMasks(weights: ReadonlyMap<string, Tensor>, keys: readonly string[], prefix = ''): { masks: Map<string, Tensor>; zeros: number } {
  const masks = new Map<string, Tensor>();
  let zeros = 0;
  for (const k of keys) {
    const w = weights.get(k);
    if (!w) throw new NasError('internal', `zeroMasks: no weight ${k}`);
    tidy(() =>
      noGrad(() => {
        const m = w.ne(0).float();
        const z = w.numel - (m.sum().item() as number);
        if (z > 0) {
          masks.set(prefix + k, m.keep());
          zeros += z;
        }
      }),
    );
  }
  return { masks, zeros };
}

/** How often the fine-tuning loop yields to the event loop (so Ctrl-C handlers run), in ms. */
const YIELD_EVERY_MS = 50;

/**
 * Fine-tunes `net` in place for `o.epochs` epochs; resolves to the last epoch's mean training loss
 * (NaN for 0 epochs). Async only to yield to the event loop between batches (at most every
 * YIELD_EVERY_MS): a signal handler (core/partial.ts, the CLI's interrupt) runs within one batch
 * instead of after the whole fine-tuning; the numbers are those of a synchronous loop.
 */
export async function finetune(net: Module<[Tensor], Tensor>, data: PreparedData, o: FinetuneOptions): Promise<number> {
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0)) throw new NasError('invalid_config', `fine-tuning epochs must be an integer >= 0, got ${o.epochs}`, { field: 'finetuneEpochs' });
  if (o.epochs === 0) return NaN;
  const batchSize = o.batchSize ?? 64;
  const lr = o.lr ?? 1e-3;
  const groups = (o.groups ?? [{ params: o.params ?? net.parameters() }]).map((g, i) => {
    const lrScale = g.lrScale ?? 1;
    const fromEpoch = g.fromEpoch ?? 1;
    if (!(lrScale >= 0 && Number.isFinite(lrScale))) throw new NasError('invalid_config', `groups[${i}].lrScale must be a number >= 0, got ${lrScale}`, { field: 'groups' });
    if (!(Number.isInteger(fromEpoch) && fromEpoch >= 1)) throw new NasError('invalid_config', `groups[${i}].fromEpoch must be an integer >= 1, got ${fromEpoch}`, { field: 'groups' });
    return { opt: new Adam(g.params, { lr: lr * lrScale }), lrScale, fromEpoch, layers: g.layers ?? [] };
  });
  checkDistill(o.distill);
  const T = o.distill?.temperature ?? 4;
  const alpha = o.distill?.weight ?? 0.7;
  const order = Rng.fromSeed(o.seed ?? 0).derive('finetune');
  const augmentRng = o.augment ? Rng.fromSeed(o.seed ?? 0).derive('finetune-augment') : undefined;
  const total = numBatches(data.train.indices.length, batchSize) * o.epochs;
  const sched = { kind: 'cosine', totalSteps: Math.max(1, total), warmupSteps: 0 } as const;
  const sd = net.stateDict();
  let step = 0;
  let last = NaN;
  let yielded = Date.now();
  net.train();
  for (const l of o.frozenLayers ?? []) l.eval();
  try {
    for (let e = 1; e <= o.epochs; e++) {
      // A group not yet unfrozen keeps its layers in inference mode; they train from its first epoch.
      for (const g of groups)
        for (const l of g.layers) {
          if (e < g.fromEpoch) l.eval();
          else if (e === g.fromEpoch && e > 1) l.train();
        }
      o.beforeEpoch?.(e);
      const masks = o.masksForEpoch?.(e, sd);
      if (masks) applyMasks(sd, masks);
      let sum = 0;
      let n = 0;
      for (const b of batches(data.train, { batchSize, normalization: data.normalization, shuffle: order, ...(o.augment ? { augment: o.augment, augmentRng } : {}) })) {
        const at = lrAt(sched, lr, step++);
        for (const g of groups) g.opt.lr = at * g.lrScale;
        const l = tidy(() => {
          const x = Tensor.fromArray(b.x, b.shape);
          const soft = o.distill ? noGrad(() => o.distill!.teacher(x).div(T).softmax(1)) : undefined;
          const out = net.forward(x);
          const hard = crossEntropy(out, Tensor.fromArray(b.y, [b.size], 'int64'), o.labelSmoothing ? { labelSmoothing: o.labelSmoothing } : {});
          const loss = soft ? hard.mul(1 - alpha).add(crossEntropy(out.div(T), soft).mul(alpha * T * T)) : hard;
          for (const g of groups) g.opt.zeroGrad();
          loss.backward();
          for (const g of groups) if (e >= g.fromEpoch) g.opt.step();
          return loss.item() as number;
        });
        if (masks) applyMasks(sd, masks);
        o.afterStep?.();
        if (!Number.isFinite(l)) throw new NasError('diverged', `fine-tuning diverged at epoch ${e} (loss ${l})`, { field: 'finetuneLr', hint: 'use a smaller fine-tuning learning rate' });
        sum += l * b.size;
        n += b.size;
        o.onBatch?.(step, total);
        if (Date.now() - yielded >= YIELD_EVERY_MS) {
          await new Promise<void>((r) => setImmediate(r));
          yielded = Date.now();
          if (o.signal?.aborted) throw new NasError('aborted', `fine-tuning stopped after step ${step} of ${total} (epoch ${e} of ${o.epochs})`);
        }
      }
      last = sum / Math.max(1, n);
      o.onEpoch?.(e, last);
    }
  } finally {
    net.eval();
    // As every training run (eval/train.ts): the freed activation buffers the caching allocator
    // kept for this loop's steps go back to the system (the network's own tensors stay live).
    trimMemory();
  }
  return last;
}
