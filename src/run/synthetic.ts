/**
 * A synthetic evaluator for exercising the run machinery (workers, leases, resume, benchmarks of
 * storage overhead) without training anything: the "accuracy" of an architecture is a fixed
 * pseudo-random function of its canonical JSON, revealed over `steps` steps, each taking
 * `delayMs` of wall time (sleeping, so it simulates an evaluation-bound worker). It is labelled
 * as synthetic everywhere it is used; it is never a stand-in for a real result.
 */
import { canonicalJson } from '../core/json.js';
import { hash32 } from '../core/rng.js';
import type { EvalOutcome, Evaluator, Progress } from '../eval/types.js';

export interface SyntheticOptions {
  /** Wall time per step. */
  readonly delayMs?: number;
  readonly steps?: number;
  /** Busy-wait (uses a core, like training) instead of sleeping. */
  readonly busy?: boolean;
  /**
   * Fault injection for tests of lost workers: an architecture whose score is below this kills the
   * process evaluating it (SIGKILL at its second step - its first with one step - as the kernel's out-of-memory killer ends
   * a worker that trains a too-large candidate). Every worker that runs it dies.
   */
  readonly killBelow?: number;
}

export function syntheticScore(arch: unknown): number {
  return 50 + (hash32(canonicalJson(arch)) % 5000) / 100;
}

export function syntheticEvaluator(opts: SyntheticOptions = {}): Evaluator<unknown> {
  const steps = opts.steps ?? 3;
  const delayMs = opts.delayMs ?? 0;
  return {
    name: 'synthetic',
    metricNames: ['val_acc', 'val_loss'],
    maxBudget: steps,
    async evaluate(req): Promise<EvalOutcome> {
      const final = syntheticScore(req.arch);
      const n = Math.min(steps, req.budget ?? steps);
      const curve: Progress[] = [];
      for (let s = 1; s <= n; s++) {
        if (delayMs > 0) {
          if (opts.busy) {
            const end = Date.now() + delayMs;
            while (Date.now() < end && !req.signal?.aborted) {
              /* burn the core, like a training step */
            }
          } else await abortableSleep(delayMs, req.signal);
        }
        if (req.signal?.aborted) return { status: 'failed', reason: 'aborted', message: 'aborted', curve };
        if (opts.killBelow !== undefined && final < opts.killBelow && s === Math.min(2, n)) process.kill(process.pid, 'SIGKILL');
        const acc = final - (steps - s) * 2;
        const p: Progress = { step: s, metrics: { val_acc: acc, val_loss: (100 - acc) / 50 } };
        curve.push(p);
        if ((await req.onProgress?.(p)) === 'stop') return { status: 'pruned', step: s, metrics: p.metrics, curve };
      }
      return { status: 'complete', metrics: curve[curve.length - 1]?.metrics ?? { val_acc: final, val_loss: (100 - final) / 50 }, curve };
    },
  };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(finish, ms);
    function finish() {
      clearTimeout(t);
      signal?.removeEventListener('abort', finish);
      resolve();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}
