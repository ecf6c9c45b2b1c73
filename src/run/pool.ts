/**
 * Local worker processes: `--workers N` forks N copies of the CLI's `worker` command, which share
 * the study through its store (nothing else is shared: a worker that dies takes nothing with it but
 * its lease). The parent only starts, signals and waits for them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';

export interface WorkerExit {
  readonly index: number;
  readonly pid: number | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface PoolOptions {
  /** Module that runs the worker command: the CLI entry (`.js`, or `.ts` under tsx in development). */
  readonly entry: string;
  /** Arguments for each worker; `{i}` is replaced by the worker's index. */
  readonly args: readonly string[];
  readonly count: number;
  readonly env?: NodeJS.ProcessEnv;
  /** 'inherit' shows workers' stderr in the parent's; 'ignore' for quiet runs. */
  readonly stderr?: 'inherit' | 'ignore' | 'pipe';
}

/**
 * The workers' environment: the parent's, with the CPUs divided among the workers (each one's
 * libtorch pool gets floor(cpus / count), at least 1) unless the user chose OMP_NUM_THREADS; the
 * engine only defaulted it to all CPUs (src/tensor/native.ts marks that). An evaluator's explicit
 * `threads` option still wins inside each worker.
 */
export function workerEnv(count: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env['OMP_NUM_THREADS'] !== undefined && env['TSNAS_THREADS_DEFAULTED'] !== '1') return env;
  return { ...env, OMP_NUM_THREADS: String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, count)))), TSNAS_THREADS_DEFAULTED: '1' };
}

export class WorkerPool {
  readonly children: ChildProcess[];
  private readonly exits: Promise<WorkerExit>[];

  constructor(opts: PoolOptions) {
    // A .ts entry means we run from source under tsx (tests, benchmarks); compiled entries need nothing.
    const execArgv = extname(opts.entry) === '.ts' ? ['--import', 'tsx'] : [];
    this.children = [];
    this.exits = [];
    for (let i = 0; i < opts.count; i++) {
      const child = fork(
        opts.entry,
        opts.args.map((a) => a.replaceAll('{i}', String(i))),
        {
          execArgv,
          env: opts.env ?? workerEnv(opts.count),
          // Own process group: a terminal's Ctrl-C reaches the parent only, which then stops the
          // workers in order (they release their trials), instead of everyone racing at once.
          detached: true,
          stdio: ['ignore', 'ignore', opts.stderr ?? 'inherit', 'ipc'],
        },
      );
      this.children.push(child);
      this.exits.push(
        new Promise((resolve) => {
          child.once('exit', (code, signal) => resolve({ index: i, pid: child.pid, code, signal }));
          child.once('error', () => resolve({ index: i, pid: child.pid, code: 1, signal: null }));
        }),
      );
    }
  }

  /** Sends a signal to every worker still running. */
  signal(sig: NodeJS.Signals): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  }

  wait(): Promise<WorkerExit[]> {
    return Promise.all(this.exits);
  }
}
