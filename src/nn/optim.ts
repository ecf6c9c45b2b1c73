/**
 * Optimizers. Each step is one native call looping over the parameters with PyTorch 1.13's exact
 * single-tensor update formulas (SGD with momentum/dampening/Nesterov/weight decay; Adam and AdamW,
 * optionally amsgrad). Parameters without a gradient are skipped, as in PyTorch.
 */
import { NasError } from '../core/errors.js';
import { Tensor, clipGradNorm as clip } from '../tensor/index.js';
import { native, type OptimHandle } from '../tensor/native.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}
export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (Adam) or decoupled decay (AdamW, default 0.01). */
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

/** Serializable optimizer state: per-parameter step counts and buffers (copies). */
export interface OptimizerState {
  lr: number;
  steps: number[];
  buffers: (Tensor | undefined)[][];
}

function nonNeg(v: number | undefined, field: string): void {
  if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new NasError('invalid_config', `${field} must be a finite number >= 0, got ${v}`, { field });
}

export abstract class Optimizer {
  /** @internal the native optimizer (the native training step applies it, src/nn/native-exec.ts). */
  readonly o: OptimHandle;
  readonly params: readonly Tensor[];
  /** The learning rate set at construction (schedules scale from it). */
  readonly baseLr: number;

  protected constructor(kind: number, params: readonly Tensor[], opts: Record<string, number | boolean>) {
    if (params.length === 0) throw new NasError('invalid_config', 'optimizer got an empty parameter list', { field: 'params' });
    this.params = [...params];
    this.o = native.optimNew(kind, this.params.map((p) => p.h), opts);
    this.baseLr = opts.lr as number;
  }
  /** Applies one update from the parameters' current gradients. */
  step(): void {
    native.optimStep(this.o);
  }
  /** Drops all gradients (set to none, PyTorch's default). */
  zeroGrad(): void {
    native.optimZeroGrad(this.o);
  }
  get lr(): number {
    return native.optimGetLr(this.o);
  }
  set lr(v: number) {
    nonNeg(v, 'lr');
    native.optimSetLr(this.o, v);
  }
  /** Copies of the state (caller disposes the tensors). */
  state(): OptimizerState {
    const s = native.optimState(this.o);
    return { lr: this.lr, steps: s.steps, buffers: s.buffers.map((b) => b.map((h) => (h ? new Tensor(h) : undefined))) };
  }
  loadState(s: OptimizerState): void {
    native.optimLoadState(this.o, s.steps, s.buffers.map((b) => b.map((t) => t?.h)));
    this.lr = s.lr;
  }
}

export class SGD extends Optimizer {
  constructor(params: readonly Tensor[], o: SgdOptions) {
    nonNeg(o.lr, 'lr');
    nonNeg(o.momentum, 'momentum');
    nonNeg(o.weightDecay, 'weightDecay');
    if (o.nesterov && (!(o.momentum! > 0) || (o.dampening ?? 0) !== 0))
      throw new NasError('invalid_config', 'Nesterov momentum requires momentum > 0 and dampening = 0', { field: 'nesterov' });
    super(0, params, { lr: o.lr, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false, maximize: o.maximize ?? false });
  }
}

function adamOpts(o: AdamOptions, defaultWd: number): Record<string, number | boolean> {
  nonNeg(o.lr, 'lr');
  nonNeg(o.eps, 'eps');
  nonNeg(o.weightDecay, 'weightDecay');
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new NasError('invalid_config', `betas must be in [0, 1), got [${b1}, ${b2}]`, { field: 'betas' });
  return { lr: o.lr ?? 1e-3, beta1: b1, beta2: b2, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? defaultWd, amsgrad: o.amsgrad ?? false, maximize: o.maximize ?? false };
}

export class Adam extends Optimizer {
  constructor(params: readonly Tensor[], o: AdamOptions = {}) {
    super(1, params, adamOpts(o, 0));
  }
}

/** Adam with decoupled weight decay (default 0.01). */
export class AdamW extends Optimizer {
  constructor(params: readonly Tensor[], o: AdamOptions = {}) {
    super(2, params, adamOpts(o, 1e-2));
  }
}

/** Scales gradients so their total norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, normType = 2): number {
  nonNeg(maxNorm, 'maxNorm');
  return clip(params, maxNorm, normType);
}
