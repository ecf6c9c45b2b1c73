/**
 * The intra-op thread count of small-batch inference, chosen per model by measurement.
 *
 * A network's op at batch 1 can be too small to gain from more threads: splitting a LeNet-sized
 * convolution (tens of microseconds) over two OpenMP threads costs more in hand-off and cache
 * traffic than it saves, so the model runs slower at 2 threads than at 1 (README, compress section:
 * LeNet float 0.157 vs 0.110 ms, int8 0.128 vs 0.052 ms best of 300, idle machine). Latency-focused
 * runtimes therefore choose the thread count per model rather than use every core: cuDNN's
 * `torch.backends.cudnn.benchmark` times the candidate kernels at the first call of each input
 * shape and keeps the fastest; TVM's and oneDNN's tuners do the same per op. ThreadChoice does it for
 * the thread count: at the first call of each key (batch size, threads set), it times the call
 * with each candidate count (the threads set, halved down to 1: 2 -> [2, 1], 8 -> [8, 4, 2, 1]),
 * interleaved round by round so a load change hits every candidate alike, and keeps the candidate
 * with the lowest median; later calls of that key run with it. The threads set are restored after
 * every call (the choice only narrows a call, never widens it).
 *
 * Narrowing is the light way (native callThreads, native/src/graph.cc): the OpenMP count only, and
 * for one thread QNNPACK's pthreadpool bypassed. setNumThreads (at::set_num_threads) would also
 * resize that pool, stopping and starting its threads on every change: with it, LeNet's int8
 * forward narrowed to 1 thread took 0.110 ms best against 0.070 ms at a plain 1 thread (bench
 * compress, 2026-11-30 22:50, load 8), the change costing as much as the forward.
 *
 * Only batches up to `maxBatch` (default 8) are calibrated: larger batches have enough work per op
 * to use the threads given. With one thread set there is nothing to choose. Costs, once per key:
 * (2 + runs) calls per candidate (the calibration calls' results are discarded, in a tidy scope).
 * The choice is a measurement on this machine under its load at that moment; `choices()` reports it.
 */
import { NasError } from '../core/errors.js';
import { tidy } from './scope.js';
import { native } from './native.js';
import { getNumThreads, setNumThreads } from './threads.js';

/**
 * Sets the calling thread's intra-op count the light way (native callThreads); an addon built
 * before callThreads (rebuild with `npm run build:native`) falls back to setNumThreads.
 */
function callThreads(n: number): void {
  if (typeof (native as Partial<typeof native>).callThreads === 'function') native.callThreads(n);
  else setNumThreads(n);
}

export interface ThreadChoiceOptions {
  /** Largest batch calibrated (default 8); larger batches run with the threads set. */
  readonly maxBatch?: number;
  /** Timed calls per candidate (default 9; the medians are compared), after 2 untimed ones. */
  readonly runs?: number;
  /** Clock in milliseconds (default performance.now); tests inject a deterministic one. */
  readonly now?: () => number;
}

/** The candidate thread counts for `threads` set: threads, then halving down to 1. */
export function threadCandidates(threads: number): number[] {
  const out = [threads];
  for (let t = Math.floor(threads / 2); t >= 1; t = Math.floor(t / 2)) if (t < out[out.length - 1]!) out.push(t);
  if (out[out.length - 1] !== 1) out.push(1);
  return out;
}

export class ThreadChoice {
  private readonly chosen = new Map<string, number>();
  private readonly maxBatch: number;
  private readonly runs: number;
  private readonly now: () => number;

  constructor(o: ThreadChoiceOptions = {}) {
    this.maxBatch = o.maxBatch ?? 8;
    this.runs = o.runs ?? 9;
    this.now = o.now ?? (() => performance.now());
    if (!(Number.isInteger(this.maxBatch) && this.maxBatch >= 1)) throw new NasError('invalid_config', `maxBatch must be an integer >= 1, got ${this.maxBatch}`, { field: 'maxBatch' });
    if (!(Number.isInteger(this.runs) && this.runs >= 1)) throw new NasError('invalid_config', `runs must be an integer >= 1, got ${this.runs}`, { field: 'runs' });
  }

  /** The choices made so far: key `<batch>@<threads set>` -> threads used. */
  choices(): ReadonlyMap<string, number> {
    return this.chosen;
  }

  /**
   * Runs `call` (one inference of a batch of `batch` samples) with the thread count chosen for
   * (batch, getNumThreads()), calibrating it first when the key is new (see the file comment).
   * `call` must be repeatable and free of side effects other than the tensors it returns (the
   * calibration runs it more times and disposes its results). The thread count set is restored.
   */
  run<T>(batch: number, call: () => T): T {
    const threads = getNumThreads();
    if (threads === 1 || batch > this.maxBatch) return call();
    const key = `${batch}@${threads}`;
    let t = this.chosen.get(key);
    if (t === undefined) {
      t = this.calibrate(threads, call);
      this.chosen.set(key, t);
    }
    if (t === threads) return call();
    callThreads(t);
    try {
      return call();
    } finally {
      callThreads(threads);
    }
  }

  private calibrate(threads: number, call: () => unknown): number {
    const cands = threadCandidates(threads);
    const times = cands.map(() => [] as number[]);
    try {
      for (let r = -2; r < this.runs; r++)
        cands.forEach((c, i) => {
          callThreads(c);
          const t0 = this.now();
          tidy(() => {
            call();
          });
          const dt = this.now() - t0;
          if (r >= 0) times[i]!.push(dt);
        });
    } finally {
      callThreads(threads);
    }
    const med = times.map((t) => {
      const s = [...t].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    });
    // Ties keep the larger count (the threads set): a fewer-thread choice must be measurably faster.
    let best = 0;
    med.forEach((m, i) => {
      if (m < med[best]!) best = i;
    });
    return cands[best]!;
  }
}
