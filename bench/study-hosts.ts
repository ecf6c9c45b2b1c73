/**
 * Multi-host throughput and PostgreSQL overhead over a veth link (issue 18 item 4), on the
 * network-namespace test bed (src/run/testing/testbed.ts: PostgreSQL in one namespace, three
 * "hosts" linked to it by veth pairs).
 *
 *  - trials/hour with 1, 2 and 3 hosts, one `tsnas worker` per host, on an evaluation-bound
 *    tabular study: NB201 table lookups that each sleep `evalMs` first (standing in for training
 *    on a host's own hardware), random strategy. trials/hour = trials / (last finish - first
 *    start), both server times. hostsK_speedup = trials/hour with K hosts / with 1 host.
 *  - postgres_veth_ms_per_trial: the run layer's per-trial store cost (bench/study.ts `overhead`:
 *    counter strategy, evaluator without delay, ask + 3 intermediate values + tell) measured by a
 *    process inside host 1 talking to the server over its veth link (TCP, password login).
 *
 * Needs root (ip netns) and Debian's postgresql; otherwise it says why and returns no figures.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStudy, prepareSearch } from '../src/api/index.js';
import { PostgresStore } from '../src/store/postgres.js';
import { HOSTS, tryStartTestbed, type Testbed } from '../src/run/testing/testbed.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface HostsResult {
  perHour: number[];
  vethMsPerTrial: number | null;
  /** Where each K-host run's time went (see Timeline). */
  timelines: Timeline[];
}

/**
 * Where a K-host run loses time against K x the one-host rate, from the trials' server times:
 *  - startSkewMs: the last host's first trial start minus the first host's (worker start-up);
 *  - tailMs: the last finish minus the earliest "last finish" of a host (hosts idle at the end);
 *  - gapMs: mean time between a worker's finish and its next trial's start (the loop's per-trial
 *    cost: tell, claim, ask over the network; contention shows here);
 *  - steadyPerHour: the sum of the hosts' own rates (each host's trials over its own first start
 *    to last finish): the rate while all run, without start-up and tail.
 */
export interface Timeline {
  hosts: number;
  perHour: number;
  startSkewMs: number;
  tailMs: number;
  gapMs: number;
  steadyPerHour: number;
  perHost: number[];
}

export function timelineOf(trials: readonly { workerId: string | null; startedAt: number | null; finishedAt: number | null }[], hosts: number): Timeline {
  const byWorker = new Map<string, { s: number; f: number }[]>();
  for (const t of trials) {
    if (t.startedAt === null || t.finishedAt === null) continue;
    const k = t.workerId ?? '?';
    const l = byWorker.get(k) ?? [];
    l.push({ s: t.startedAt, f: t.finishedAt });
    byWorker.set(k, l);
  }
  const ws = [...byWorker.values()].map((l) => l.sort((a, b) => a.s - b.s));
  const first = ws.map((l) => l[0]!.s);
  const last = ws.map((l) => Math.max(...l.map((x) => x.f)));
  const start = Math.min(...first);
  const end = Math.max(...last);
  let gaps = 0;
  let nGaps = 0;
  for (const l of ws)
    for (let i = 1; i < l.length; i++) {
      gaps += l[i]!.s - l[i - 1]!.f;
      nGaps++;
    }
  const n = ws.reduce((a, l) => a + l.length, 0);
  return {
    hosts,
    perHour: (n * 3_600_000) / (end - start),
    startSkewMs: Math.max(...first) - start,
    tailMs: end - Math.min(...last),
    gapMs: nGaps === 0 ? 0 : gaps / nGaps,
    steadyPerHour: ws.reduce((a, l, i) => a + (l.length * 3_600_000) / (last[i]! - first[i]!), 0),
    perHost: ws.map((l) => l.length),
  };
}

function runIn(bed: Testbed, host: 1 | 2 | 3, args: string[]): Promise<{ code: number | null; out: string }> {
  const p = bed.spawn(host, process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((res) => p.on('exit', (code) => res({ code, out })));
}

async function hostsRun(bed: Testbed, k: number, trials: number, evalMs: number): Promise<Timeline> {
  const db = `hosts${k}`;
  await bed.createDatabase(db);
  const name = `h${k}`;
  const prepared = prepareSearch({
    config: { study: name, storage: bed.adminUrl(db), space: 'nb201', strategy: 'random', evaluator: { name: 'nb201', delay_ms: evalMs }, trials, seed: k, lease: 30 },
  });
  await (await createStudy(prepared)).close();
  const built = join(ROOT, 'dist/cli/main.js');
  const entry = existsSync(built) ? [built] : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
  const runs = HOSTS.slice(0, k).map((h) => runIn(bed, h, [...entry, 'worker', '--storage', bed.url(h, db), '--study', name, '--quiet', '--poll-ms', '50']));
  const exits = await Promise.all(runs);
  for (const e of exits) if (e.code !== 0) throw new Error(`a worker failed (exit ${e.code}): ${e.out}`);
  const store = await PostgresStore.open(bed.adminUrl(db));
  try {
    const ts = await store.listTrials((await store.requireStudy(name)).id);
    if (ts.length !== trials || ts.some((t) => t.state !== 'complete')) throw new Error(`${k}-host study incomplete`);
    return timelineOf(ts, k);
  } finally {
    await store.close();
  }
}

export async function hostsBench(opts: { trials: number; evalMs: number; overheadTrials: number; log: (s: string) => void }): Promise<HostsResult | null> {
  const r = await tryStartTestbed({ prefix: `tsnasbench${process.pid % 10000}` });
  if ('reason' in r) {
    opts.log(`hosts: skipped (${r.reason})`);
    return null;
  }
  const bed = r.bed;
  try {
    const timelines: Timeline[] = [];
    for (const k of [1, 2, 3]) {
      const t = await hostsRun(bed, k, opts.trials, opts.evalMs);
      timelines.push(t);
      opts.log(`${k} host(s): ${t.perHour.toFixed(0)} trials/hour (${opts.trials} trials of ${opts.evalMs} ms, one worker per host, PostgreSQL over veth)`);
      opts.log(
        `  where the time went: start skew ${t.startSkewMs.toFixed(0)} ms, tail ${t.tailMs.toFixed(0)} ms, ${t.gapMs.toFixed(1)} ms between a worker's trials; ` +
          `trials per host ${t.perHost.join('/')}; rate while all hosts run ${t.steadyPerHour.toFixed(0)}/h`,
      );
    }
    const perHour = timelines.map((t) => t.perHour);
    await bed.createDatabase('veth_overhead');
    const child = await runIn(bed, 1, ['--import', 'tsx', join(ROOT, 'bench/study-overhead-child.ts'), bed.url(1, 'veth_overhead'), String(opts.overheadTrials)]);
    let vethMsPerTrial: number | null = null;
    const m = /ms_per_trial=([0-9.]+)/.exec(child.out);
    if (child.code === 0 && m) vethMsPerTrial = Number(m[1]);
    else opts.log(`postgres over veth: failed (exit ${child.code}): ${child.out.trim().slice(-500)}`);
    if (vethMsPerTrial !== null) opts.log(`postgres over veth: ${vethMsPerTrial.toFixed(3)} ms per trial (process in host 1, TCP over its veth link, ${opts.overheadTrials} trials)`);
    return { perHour, vethMsPerTrial, timelines };
  } finally {
    await bed.stop();
  }
}
