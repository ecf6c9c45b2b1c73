/**
 * Learning-rate schedules as plain data plus a pure function `lrAt(schedule, baseLr, t)`, where t
 * counts scheduler steps (epochs or iterations, the caller's choice). `LrScheduler` applies one to an
 * optimizer: the lr for t=0 is set at construction and each step() advances t by one, as PyTorch's.
 */
import { NasError, assertNever } from '../core/errors.js';
import type { Optimizer } from './optim.js';

export type LrSchedule =
  | { kind: 'constant' }
  /** PyTorch StepLR: lr * gamma^floor(t / stepSize). */
  | { kind: 'step'; stepSize: number; gamma?: number }
  /** PyTorch MultiStepLR: lr * gamma^(number of milestones <= t). */
  | { kind: 'multistep'; milestones: readonly number[]; gamma?: number }
  /** PyTorch ExponentialLR: lr * gamma^t. */
  | { kind: 'exponential'; gamma: number }
  /**
   * Cosine annealing to minLr over totalSteps (PyTorch CosineAnnealingLR with T_max = totalSteps when
   * warmupSteps = 0), after a linear warm-up lr * (t+1)/warmupSteps for t < warmupSteps. Stays at
   * minLr after totalSteps.
   */
  | { kind: 'cosine'; totalSteps: number; warmupSteps?: number; minLr?: number };

export function validateSchedule(s: LrSchedule, field = 'schedule'): void {
  const bad = (f: string, msg: string): never => {
    throw new NasError('invalid_config', msg, { field: `${field}.${f}` });
  };
  switch (s.kind) {
    case 'constant':
      return;
    case 'step':
      if (!Number.isInteger(s.stepSize) || s.stepSize < 1) bad('stepSize', `stepSize must be a positive integer, got ${s.stepSize}`);
      return;
    case 'multistep':
      if (s.milestones.some((m, i) => !Number.isInteger(m) || (i > 0 && m <= s.milestones[i - 1]!))) bad('milestones', 'milestones must be increasing integers');
      return;
    case 'exponential':
      if (!(s.gamma > 0)) bad('gamma', `gamma must be > 0, got ${s.gamma}`);
      return;
    case 'cosine': {
      const w = s.warmupSteps ?? 0;
      if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) bad('totalSteps', `totalSteps must be a positive integer, got ${s.totalSteps}`);
      if (!Number.isInteger(w) || w < 0 || w >= s.totalSteps) bad('warmupSteps', `warmupSteps must be an integer in [0, totalSteps), got ${w}`);
      return;
    }
    default:
      assertNever(s, 'schedule kind');
  }
}

export function lrAt(s: LrSchedule, baseLr: number, t: number): number {
  switch (s.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * (s.gamma ?? 0.1) ** Math.floor(t / s.stepSize);
    case 'multistep':
      return baseLr * (s.gamma ?? 0.1) ** s.milestones.filter((m) => m <= t).length;
    case 'exponential':
      return baseLr * s.gamma ** t;
    case 'cosine': {
      const w = s.warmupSteps ?? 0;
      const minLr = s.minLr ?? 0;
      if (t < w) return (baseLr * (t + 1)) / w;
      const p = Math.min(1, (t - w) / (s.totalSteps - w));
      return minLr + ((baseLr - minLr) * (1 + Math.cos(Math.PI * p))) / 2;
    }
    default:
      return assertNever(s, 'schedule kind');
  }
}

export class LrScheduler {
  private t = 0;
  constructor(private readonly opt: Optimizer, readonly schedule: LrSchedule, readonly baseLr = opt.baseLr) {
    validateSchedule(schedule);
    opt.lr = lrAt(schedule, baseLr, 0);
  }
  /** Advances one step and sets the optimizer's lr; returns the new lr. */
  step(): number {
    this.t += 1;
    const lr = lrAt(this.schedule, this.baseLr, this.t);
    this.opt.lr = lr;
    return lr;
  }
  get lastStep(): number {
    return this.t;
  }
}
