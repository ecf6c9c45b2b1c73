/**
 * `npm run bench -- study [--json] [--trials N] [--eval-ms MS] [--eval-trials N]`
 *
 * 1. Run-layer storage overhead per trial, SQLite and PostgreSQL: Study.optimize over a trivial
 *    strategy (a counter; no search cost) and an evaluator that reports 3 intermediate values and
 *    takes no time, so all that is measured is ask (load state, CAS save, create+claim) + 3
 *    intermediate reports + tell (finish, CAS save) + the loop's claim/count queries.
 * 2. Throughput with 1 vs 2 local worker processes (`tsnas worker`) on an evaluation-bound
 *    tabular study: NB201 table lookups that each busy-compute a fixed time first (simulating
 *    training that occupies one core). trials/hour = trials / (last finish - first start).
 *
 * 3. Study size (issue 18 item 5): ms per trial of the whole loop (claim, ask, 3 intermediate
 *    values, tell) at 1k, 10k and 50k trials for regularized evolution and TPE, on SQLite and
 *    PostgreSQL (DARTS space, synthetic evaluator without delay, one process; the trials before
 *    each timed window are seeded through Store.importTrials, see study-size.ts), and the ratio
 *    50k / 1k (target <= 2). `--sizes 1000,10000,50000`, `--size-strategies evolution,tpe`,
 *    `--size-backends sqlite,postgres`, `--size-window 200` change them.
 *
 * 4. Hosts (issue 18 item 4, study-hosts.ts): trials/hour with 1, 2 and 3 hosts of the network-
 *    namespace test bed around one PostgreSQL, one `tsnas worker` each, on an evaluation-bound
 *    tabular study (NB201 lookups that sleep `--host-eval-ms` (1000) each, `--host-trials` (45)
 *    trials), and the per-trial overhead of a worker reaching PostgreSQL over a veth link.
 *    Figures hosts2_speedup, hosts3_speedup, postgres_veth_ms_per_trial. Needs root.
 *
 * `--only overhead,throughput,hosts,size` runs a subset. --json prints one object per figure:
 * {"figure": ..., "value": n} (size figures: ms_per_trial_at_1k... for evolution on SQLite,
 * tpe_ms_per_trial_at_1k... for TPE, with a `postgres_` prefix on PostgreSQL, e.g.
 * postgres_tpe_ms_per_trial_at_50k, and ..._ms_per_trial_ratio_50k_1k).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerId } from '../src/core/ids.js';
import { createStudy, prepareSearch } from '../src/api/index.js';
import type { StrategyDriver } from '../src/run/driver.js';
import { WorkerPool } from '../src/run/pool.js';
import { Study } from '../src/run/study.js';
import { syntheticEvaluator } from '../src/run/synthetic.js';
import { openStore, type Store, type StudySpec } from '../src/store/index.js';
import { tryStartPgServer } from '../src/store/testing/pg-server.js';
import { hostsBench } from './study-hosts.js';
import { studySizeScaling } from './study-size.js';
import { loadavg } from 'node:os';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function list(argv: string[], name: string, def: string): string[] {
  const i = argv.indexOf(`--${name}`);
  return (i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def).split(',').filter((x) => x !== '');
}

const sizeLabel = (n: number): string => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

function arg(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : def;
}

const counter: StrategyDriver = {
  needsIntermediates: false,
  init: () => ({ next: 0 }),
  ask: (state) => {
    const n = (state as { next: number }).next;
    return { state: { next: n + 1 }, result: { kind: 'trial', proposal: { arch: { x: n }, archKey: String(n), budget: null, params: {} } } };
  },
  tell: (state) => state,
};

function spec(name: string, trials: number): StudySpec {
  return {
    name,
    strategy: { name: 'counter', options: {} },
    space: { name: 'bench', definition: null },
    evaluator: { name: 'synthetic', options: { steps: 3 } },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [],
    seed: 0,
    maxTrials: trials,
    config: {},
  };
}

export async function overhead(store: Store, trials: number): Promise<number> {
  // Warm-up study (statement caches, connection pool), then the measured one.
  const warm = await store.createStudy(spec('warmup', 20));
  await new Study(store, warm, counter, syntheticEvaluator({ steps: 3 }), { workerId: workerId('bench-warm') }).optimize();
  const rec = await store.createStudy(spec('overhead', trials));
  const study = new Study(store, rec, counter, syntheticEvaluator({ steps: 3 }), { workerId: workerId('bench') });
  const t0 = process.hrtime.bigint();
  const r = await study.optimize();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.finished !== trials) throw new Error(`overhead study finished ${r.finished} of ${trials}`);
  return ms / trials;
}

async function throughput(dir: string, workers: number, trials: number, evalMs: number): Promise<{ perHour: number; wallS: number }> {
  const db = join(dir, `w${workers}.db`);
  const prepared = prepareSearch({
    config: {
      study: `w${workers}`,
      storage: `sqlite:${db}`,
      space: 'nb201',
      strategy: 'random',
      evaluator: { name: 'nb201', delay_ms: evalMs, busy: true },
      trials,
      seed: 1,
    },
  });
  await (await createStudy(prepared)).close();
  const built = join(ROOT, 'dist/cli/main.js');
  const entry = existsSync(built) ? built : join(ROOT, 'src/cli/main.ts');
  const t0 = Date.now();
  const pool = new WorkerPool({ entry, args: ['worker', '--storage', `sqlite:${db}`, '--study', `w${workers}`, '--quiet', '--poll-ms', '50'], count: workers });
  const exits = await pool.wait();
  const wallS = (Date.now() - t0) / 1000;
  if (exits.some((e) => e.code !== 0)) throw new Error(`a worker failed: ${JSON.stringify(exits)}`);
  const store = await openStore(`sqlite:${db}`);
  try {
    const rec = await store.requireStudy(`w${workers}`);
    const ts = await store.listTrials(rec.id);
    if (ts.length !== trials || ts.some((t) => t.state !== 'complete')) throw new Error('throughput study incomplete');
    const start = Math.min(...ts.map((t) => t.startedAt ?? Infinity));
    const end = Math.max(...ts.map((t) => t.finishedAt ?? 0));
    return { perHour: (trials * 3_600_000) / (end - start), wallS };
  } finally {
    await store.close();
  }
}

export default async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const trials = arg(argv, 'trials', 500);
  const evalMs = arg(argv, 'eval-ms', 200);
  const evalTrials = arg(argv, 'eval-trials', 40);
  const log = (s: string) => (json ? undefined : console.log(s));
  const figures: { figure: string; value: number }[] = [];
  const only = new Set(list(argv, 'only', 'overhead,throughput,hosts,size'));
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-study-'));
  try {
    if (only.has('overhead')) await overheads(dir, trials, log, figures);
    if (only.has('throughput')) {
      const one = await throughput(dir, 1, evalTrials, evalMs);
      const two = await throughput(dir, 2, evalTrials, evalMs);
      const speedup = two.perHour / one.perHour;
      log(`1 worker:  ${one.perHour.toFixed(0)} trials/hour (${evalTrials} trials of ${evalMs} ms compute; wall ${one.wallS.toFixed(1)} s incl. process start)`);
      log(`2 workers: ${two.perHour.toFixed(0)} trials/hour (wall ${two.wallS.toFixed(1)} s)`);
      log(`speedup:   ${speedup.toFixed(2)}x (target >= 1.6); by wall time incl. start-up ${(one.wallS / two.wallS).toFixed(2)}x`);
      figures.push({ figure: 'workers2_speedup', value: speedup });
    }
    if (only.has('hosts')) {
      const hostTrials = arg(argv, 'host-trials', 45);
      const hostEvalMs = arg(argv, 'host-eval-ms', 1000);
      const r = await hostsBench({ trials: hostTrials, evalMs: hostEvalMs, overheadTrials: trials, log });
      if (r !== null) {
        const [one, two, three] = r.perHour as [number, number, number];
        log(`hosts speedup: 2 hosts ${(two / one).toFixed(2)}x, 3 hosts ${(three / one).toFixed(2)}x (target >= 2.7)`);
        const steady = r.timelines.map((t) => t.steadyPerHour);
        log(`  while all hosts run (no start-up skew or tail): 2 hosts ${(steady[1]! / steady[0]!).toFixed(2)}x, 3 hosts ${(steady[2]! / steady[0]!).toFixed(2)}x`);
        figures.push({ figure: 'hosts1_trials_per_hour', value: one }, { figure: 'hosts2_speedup', value: two / one }, { figure: 'hosts3_speedup', value: three / one });
        figures.push({ figure: 'hosts3_steady_speedup', value: steady[2]! / steady[0]! }, { figure: 'hosts3_start_skew_ms', value: r.timelines[2]!.startSkewMs }, { figure: 'hosts3_gap_ms', value: r.timelines[2]!.gapMs }, { figure: 'hosts1_gap_ms', value: r.timelines[0]!.gapMs });
        if (r.vethMsPerTrial !== null) figures.push({ figure: 'postgres_veth_ms_per_trial', value: r.vethMsPerTrial });
      }
    }
    if (only.has('size')) await sizes(argv, dir, log, figures);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) for (const f of figures) console.log(JSON.stringify(f));
}

async function overheads(dir: string, trials: number, log: (s: string) => void, figures: { figure: string; value: number }[]): Promise<void> {
  {
    const sq = await openStore(`sqlite:${join(dir, 'overhead.db')}`);
    try {
      const ms = await overhead(sq, trials);
      figures.push({ figure: 'sqlite_ms_per_trial', value: ms });
      log(`sqlite:   ${ms.toFixed(3)} ms per trial (ask + 3 intermediate values + tell, ${trials} trials; target <= 5)`);
    } finally {
      await sq.close();
    }
    const pg = await tryStartPgServer();
    if ('reason' in pg) log(`postgres: skipped (${pg.reason})`);
    else {
      try {
        const store = await openStore(await pg.server.createDatabase('bench_study'));
        try {
          const ms = await overhead(store, trials);
          figures.push({ figure: 'postgres_ms_per_trial', value: ms });
          log(`postgres: ${ms.toFixed(3)} ms per trial (loopback server, ${trials} trials)`);
        } finally {
          await store.close();
        }
      } finally {
        await pg.server.stop();
      }
    }
  }
}

async function sizes(argv: string[], dir: string, log: (s: string) => void, figures: { figure: string; value: number }[]): Promise<void> {
  const want = list(argv, 'sizes', '1000,10000,50000').map(Number);
  const window = arg(argv, 'size-window', 200);
  for (const backend of list(argv, 'size-backends', 'sqlite,postgres')) {
    if (backend !== 'sqlite' && backend !== 'postgres') throw new Error(`--size-backends: sqlite or postgres, not ${backend}`);
    const pg = backend === 'postgres' ? await tryStartPgServer() : null;
    if (pg !== null && 'reason' in pg) {
      log(`study size postgres: skipped (${pg.reason})`);
      continue;
    }
    try {
      for (const strategy of list(argv, 'size-strategies', 'evolution,tpe')) {
        const prefix = `${backend === 'sqlite' ? '' : 'postgres_'}${strategy === 'evolution' ? '' : `${strategy}_`}`;
        const url = pg !== null ? await pg.server.createDatabase(`size_${strategy}`) : `sqlite:${join(dir, `size-${strategy}.db`)}`;
        const store = await openStore(url);
        try {
          log(`study size ${backend} ${strategy}: load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
          const r = await studySizeScaling(store, strategy, want, {
            window,
            onRow: (row) => {
              log(
                `study size ${backend} ${strategy}: ${row.msPerTrial.toFixed(2)} ms per trial at ${row.size} trials (mean of the ${window} before;` +
                  ` ${row.seeded} seeded in ${row.seedS.toFixed(1)} s, warm-up ${row.warmS.toFixed(1)} s)`,
              );
              figures.push({ figure: `${prefix}ms_per_trial_at_${sizeLabel(row.size)}`, value: row.msPerTrial });
            },
          });
          const first = r.rows[0]!;
          const last = r.rows[r.rows.length - 1]!;
          const ratio = last.msPerTrial / first.msPerTrial;
          log(`study size ${backend} ${strategy}: ${ratio.toFixed(2)}x from ${first.size} to ${last.size} trials (target <= 2); peak RSS ${r.peakRssMb.toFixed(0)} MB`);
          figures.push({ figure: `${prefix}ms_per_trial_ratio_${sizeLabel(last.size)}_${sizeLabel(first.size)}`, value: ratio });
        } finally {
          await store.close();
        }
      }
    } finally {
      if (pg !== null) await pg.server.stop();
    }
  }
}
