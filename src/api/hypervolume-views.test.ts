/**
 * Hypervolume for three and more objectives in every output that shows one, with one
 * reference-point rule (src/api/pareto.ts): `tsnas status`/`best` (the study's own point), the
 * dashboard's study view and the report (its history ends at status's figure, same point, same
 * feasible front), /api/compare (one point shared by the compared studies, or given). The study
 * has a constraint that an otherwise dominant trial violates, and a one-shot-like supernet trial
 * (complete, values null, extreme metrics) that is no candidate: either one counted would change
 * the figures. The product's figure is checked against inclusion-exclusion.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { workerId } from '../core/ids.js';
import { Rng } from '../core/rng.js';
import { dashboardSource } from './dashboard.js';
import { hypervolumeOf, paretoSet, referencePoint, referenceValues, type ParetoTrial } from './pareto.js';
import { studyPareto } from './results.js';
import { tryStartPgServer } from '../store/testing/pg-server.js';
import { runCaptured as cli } from '../cli/testing/run-captured.js';
import { writeStudyReport } from '../report/index.js';

const pg = await tryStartPgServer();
if ('server' in pg) after(() => pg.server.stop());
if ('reason' in pg) console.log(`# hypervolume-views PostgreSQL cases skipped: cannot start a PostgreSQL server: ${pg.reason}`);

const OBJ3 = [
  { metric: 'val_acc', direction: 'maximize' as const },
  { metric: 'latency_ms', direction: 'minimize' as const },
  { metric: 'params', direction: 'minimize' as const },
];
const OBJ4 = [...OBJ3, { metric: 'flops', direction: 'minimize' as const }];
type Obj = typeof OBJ4;

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Inclusion-exclusion over the front (minimisation after negating maximised objectives): the brute-force hypervolume. */
function bruteForce(front: readonly number[][], objectives: Obj, ref: readonly number[]): number {
  const pts = front.map((v) => v.map((x, j) => (objectives[j]!.direction === 'maximize' ? -x : x)));
  const r = ref.map((x, j) => (objectives[j]!.direction === 'maximize' ? -x : x));
  let hv = 0;
  for (let mask = 1; mask < 1 << pts.length; mask++) {
    let vol = 1;
    let size = 0;
    for (let j = 0; j < r.length; j++) {
      let worst = -Infinity;
      for (let i = 0; i < pts.length; i++) if (mask & (1 << i)) worst = Math.max(worst, pts[i]![j]!);
      vol *= Math.max(0, r[j]! - worst);
    }
    for (let i = 0; i < pts.length; i++) if (mask & (1 << i)) size++;
    hv += (size % 2 ? 1 : -1) * vol;
  }
  return hv;
}

/**
 * A multi-objective study of `n` random trials (seeded), a constraint latency_ms <= 40 that trial
 * "infeasible" (dominant) violates, a failed trial and a complete supernet trial with values null.
 */
async function makeStudy(store: Store, name: string, objectives: Obj, seed: number, n = 14): Promise<number> {
  const id = (
    await store.createStudy({ name, strategy: { name: 'nsga2', options: {} }, space: { name: 'custom', definition: null }, evaluator: { name: 'synthetic', options: {} }, objectives: [...objectives], constraints: [{ metric: 'latency_ms', max: 40 }], seed: 0, maxTrials: null, config: {} })
  ).id as number;
  const w = workerId('w');
  const rng = Rng.fromSeed(seed);
  const add = async (k: number, state: 'complete' | 'failed', metrics: Record<string, number> | null, values: number[] | null) => {
    const t = await store.createTrial(id as never, { arch: { k }, archKey: `k${k}`, budget: null, params: k === 0 ? { oneshot_role: 'search' } : {}, claim: { workerId: w, leaseMs: 60_000 } });
    await store.finishTrial(t.id, w, state === 'failed' ? { state, error: 'boom' } : { state, values, metrics: metrics ?? {} });
  };
  // trial 0: the supernet (no candidate; its metrics would dominate everything and move the point)
  await add(0, 'complete', { val_acc: 100, latency_ms: 0.1, params: 1, flops: 1 }, null);
  for (let k = 1; k <= n; k++) {
    const m = { val_acc: 60 + 35 * rng.float(), latency_ms: 5 + 30 * rng.float(), params: 1e5 * (1 + 9 * rng.float()), flops: 1e7 * (1 + 4 * rng.float()) };
    await add(k, 'complete', m, objectives.map((o) => m[o.metric as keyof typeof m]));
  }
  // dominant but infeasible (latency 41 > 40 only on latency: so it is worse there, better everywhere else)
  const bad = { val_acc: 99, latency_ms: 41, params: 5e4, flops: 5e6 };
  await add(n + 1, 'complete', bad, objectives.map((o) => bad[o.metric as keyof typeof bad]));
  await add(n + 2, 'failed', null, null);
  return id;
}

async function checkViews(store: Store, objectives: Obj, storage: string | null): Promise<void> {
  const name = `hv${objectives.length}-${Date.now()}`;
  const id = await makeStudy(store, name, objectives, 3);
  const id2 = await makeStudy(store, `${name}-b`, objectives, 4, 10);
  const src = dashboardSource(store);
  const trials = (await store.listTrials(id as never)) as ParetoTrial[];

  // The study's own point and front, as status computes them; checked against inclusion-exclusion.
  const own = referencePoint(referenceValues(trials, objectives), objectives)!;
  const set = paretoSet({ objectives, constraints: [{ metric: 'latency_ms', max: 40 }] }, trials);
  assert.ok(set.trials.length >= 3, `a front of ${set.trials.length}`);
  assert.ok(!set.trials.some((t) => t.number === 0 || t.number === 15), 'neither the supernet nor the infeasible trial is on the front');
  const expected = bruteForce(set.trials.map((t) => t.values as number[]), objectives, own);
  assert.ok(expected > 0);
  close(hypervolumeOf(set.trials, objectives, own, 'study').value, expected, 'hypervolumeOf vs inclusion-exclusion');

  // Dashboard study view (and the report, the same series): the history ends at that figure, same point.
  const series = await src.series(id);
  const hv = series.hypervolume!;
  assert.ok(hv, 'a hypervolume history');
  assert.deepEqual(hv.metrics, objectives.map((o) => o.metric));
  assert.deepEqual(hv.ref, own);
  assert.equal(hv.refSource, 'study');
  assert.equal(hv.front, set.trials.length);
  close(hv.history[hv.history.length - 1]!.hv, expected, 'series last point vs inclusion-exclusion');
  for (let i = 1; i < hv.history.length; i++) assert.ok(hv.history[i]!.hv >= hv.history[i - 1]!.hv * (1 - 1e-12), `non-decreasing: ${JSON.stringify(hv.history)}`);
  // every point of the history: the hypervolume of the feasible front of the trials up to it
  for (const p of hv.history) {
    const upTo = paretoSet({ objectives, constraints: [{ metric: 'latency_ms', max: 40 }] }, trials.filter((t) => t.number <= p.number));
    close(p.hv, hypervolumeOf(upTo.trials, objectives, own, 'study').value, `history at trial ${p.number}`);
  }
  assert.match(hv.caption, new RegExp(`Pareto front of the complete feasible trials so far on ${objectives.map((o) => `${o.metric} \\(${o.direction}\\)`).join(', ')}`));
  assert.match(hv.caption, /worst complete trial of this study: its own point/);

  // /api/compare: one study alone gets the same point and figure; two share one point over both.
  const alone = await src.compare([id]);
  assert.deepEqual((alone.hypervolume as unknown as { ref: number[] }).ref, own);
  close(alone.studies[0]!.pareto!.hypervolume!, expected, 'compare of one study');
  const both = await src.compare([id, id2]);
  const h = both.hypervolume as unknown as { ref: number[]; refSource: string; note: string; metrics: string[] };
  const trials2 = (await store.listTrials(id2 as never)) as ParetoTrial[];
  const shared = referencePoint([...referenceValues(trials, objectives), ...referenceValues(trials2, objectives)], objectives)!;
  assert.deepEqual(h.ref, shared);
  assert.equal(h.refSource, 'shared');
  assert.match(h.note, /shared by the 2 studies/);
  close(both.studies[0]!.pareto!.hypervolume!, bruteForce(set.trials.map((t) => t.values as number[]), objectives, shared), 'compare, shared point');
  const given = await src.compare([id, id2], objectives.map((o) => (o.direction === 'maximize' ? 0 : 1e9)));
  assert.equal((given.hypervolume as unknown as { refSource: string }).refSource, 'given');
  assert.match((given.hypervolume as unknown as { note: string }).note, /given with ref=/);

  if (storage === null) return;
  // tsnas status / best: the same figure and point, stated; the list of studies too.
  const st = await cli(['status', '--study', name, '--storage', storage, '--json']);
  assert.equal(st.code, 0, st.stderr);
  const pj = (JSON.parse(st.stdout) as { pareto: { hypervolume: number; ref_point: number[]; ref_source: string; size: number } }).pareto;
  assert.deepEqual([pj.ref_point, pj.ref_source, pj.size], [own, 'study', set.trials.length]);
  close(pj.hypervolume, expected, 'status --json');
  const bt = await cli(['best', '--study', name, '--storage', storage]);
  assert.equal(bt.code, 0, bt.stderr);
  assert.match(bt.stdout, new RegExp(`pareto front: ${set.trials.length} of ${trials.length - 3} feasible complete trial\\(s\\) \\(1 complete ones violate the constraints\\).*; hypervolume [\\d.e+]+ \\(reference point val_acc=`));
  assert.doesNotMatch(bt.stdout, /not computed/);
  const list = await cli(['status', '--storage', storage]);
  assert.match(list.stdout, new RegExp(`^${name} \\(${objectives.length} objectives; .*hypervolume [\\d.e+]+ \\(reference point`, 'm'));
  const given2 = await cli(['status', '--study', name, '--storage', storage, '--ref-point', objectives.map((o) => (o.direction === 'maximize' ? 0 : 1e9)).join(','), '--json']);
  const gj = (JSON.parse(given2.stdout) as { pareto: { hypervolume: number } }).pareto;
  close(gj.hypervolume, given.studies[0]!.pareto!.hypervolume!, 'status --ref-point vs compare ref=');

  // The static report: the history section with every objective and the stated point.
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-hv-report-'));
  try {
    await writeStudyReport({ store, study: id, out: join(dir, 'r.html') });
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    assert.match(html, new RegExp(`Hypervolume history \\(${objectives.map((o) => o.metric).join(' × ')}\\)`));
    assert.match(html, /bounded by the reference point val_acc=[^<]*this study: its own point/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const objectives of [OBJ3, OBJ4])
  test(`${objectives.length} objectives (sqlite): status, best, the study view, the report and compare give the hypervolume by one reference-point rule`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-hv-views-'));
    const storage = `sqlite:${join(dir, 'hv.db')}`;
    const store = await openStore(storage);
    try {
      await checkViews(store, objectives, storage);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

if ('server' in pg)
  test('3 objectives (postgres): the study view and compare give the same hypervolumes and points', async () => {
    const store = await openStore(await pg.server.createDatabase('hvviews'));
    try {
      await checkViews(store, OBJ3, null);
    } finally {
      await store.close();
    }
  });
