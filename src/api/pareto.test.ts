/**
 * Multi-objective results (new user, session 10, finding 6): the Pareto set is the complete,
 * feasible, non-dominated trials on every objective (Optuna's best_trials); the reference point is
 * stated, given or computed over the trials it is computed from (one point shared by studies
 * compared); the hypervolume is exact for any number of objectives; the dashboard's pareto endpoint refuses a
 * metric name no trial reports, with did-you-mean, on both store kinds it runs on.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrialRecord } from '../store/types.js';
import { hypervolumeHistory, hypervolumeOf, paretoSet, parseRefPoint, refPointProblem, referencePoint, referenceValues, refPointText } from './pareto.js';
import { openStore } from '../store/index.js';
import { workerId } from '../core/ids.js';
import { dashboardSource } from './dashboard.js';
import { isNasError } from '../core/errors.js';
import { tryStartPgServer } from '../store/testing/pg-server.js';
import { Rng } from '../core/rng.js';
import { GeneralHypervolumeFront } from '../strategy/hypervolume.js';

// Both store backends the dashboard reads (PostgreSQL when a server can be started here, as the
// server's PostgreSQL test does); each test gets a fresh database.
const pg = await tryStartPgServer();
if ('server' in pg) after(() => pg.server.stop());
let dbs = 0;
const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => 'sqlite::memory:'],
  ...('server' in pg ? [['postgres', () => pg.server.createDatabase(`pareto${dbs++}`)] as [string, () => Promise<string>]] : []),
];
if ('reason' in pg) console.log(`# pareto PostgreSQL cases skipped: cannot start a PostgreSQL server: ${pg.reason}`);

const objectives = [
  { metric: 'val_acc', direction: 'maximize' as const },
  { metric: 'latency_ms', direction: 'minimize' as const },
];
const trial = (number: number, acc: number | null, lat: number, state: TrialRecord['state'] = 'complete', params = 1000): TrialRecord =>
  ({ number, state, values: acc === null ? null : [acc, lat], metrics: acc === null ? null : { val_acc: acc, latency_ms: lat, params } }) as unknown as TrialRecord;

test('paretoSet: complete, finite, feasible, non-dominated; sorted by the first objective; ties of equal values all kept', () => {
  const trials = [
    trial(0, 90, 10), // front
    trial(1, 80, 5), // front
    trial(2, 85, 12), // dominated by 0
    trial(3, 95, 30, 'complete', 9999), // front without constraints; infeasible with params <= 5000
    trial(4, 99, 1, 'failed'), // not complete
    trial(5, null, 0), // no values
    trial(6, 90, 10), // equal to 0: kept
    trial(7, Number.NaN, 1), // not finite
  ];
  const all = paretoSet({ objectives, constraints: [] }, trials);
  assert.deepEqual(all.trials.map((t) => t.number), [3, 0, 6, 1]);
  assert.equal(all.complete, 5);
  assert.equal(all.feasible, 5);
  const con = paretoSet({ objectives, constraints: [{ metric: 'params', max: 5000 }] }, trials);
  assert.deepEqual(con.trials.map((t) => t.number), [0, 6, 1]);
  assert.equal(con.feasible, 4);
});

test('referencePoint: 10% of the range beyond the worst value per objective; one value: 10% of it; none: null', () => {
  assert.deepEqual(referencePoint([[90, 10], [80, 5], [85, 30]], objectives), [79, 32.5]);
  assert.deepEqual(referencePoint([[50, 4]], objectives), [45, 4.4]);
  assert.equal(referencePoint([], objectives), null);
  assert.deepEqual(referenceValues([trial(0, 90, 10), trial(1, 80, 5, 'failed'), trial(2, null, 1)], objectives), [[90, 10]]);
});

test('hypervolumeOf: exact area for two objectives in the objectives\' units; a given point is stated as given; 3 objectives: exact too', () => {
  const front = [trial(0, 90, 10), trial(1, 80, 5)];
  // Area over ref (70, 20): maximize acc, minimize latency: (90-70)*(20-10) + (80-70)*(10-5) = 200 + 50.
  const hv = hypervolumeOf(front, objectives, [70, 20], 'given');
  assert.equal(hv.value, 250);
  assert.match(refPointText(hv, objectives), /val_acc=70, latency_ms=20 \(given with --ref-point\)/);
  assert.match(refPointText({ ...hv, refSource: 'shared' }, objectives, 2), /shared by the 2 studies/);
  // A trial not better than the point in both adds nothing.
  assert.equal(hypervolumeOf([trial(0, 60, 10)], objectives, [70, 20], 'study').value, 0);
  const three = [...objectives, { metric: 'params', direction: 'minimize' as const }];
  // (90, 10, 1000) and (80, 5, 1000) over (70, 20, 2000): the 2-D area 250 times the params depth 1000.
  const front3 = front.map((t) => ({ ...t, values: [...t.values!, 1000] }));
  assert.equal(hypervolumeOf(front3, three, [70, 20, 2000], 'given').value, 250 * 1000);
  // A point bounding nothing on the third objective: 0, with the warning naming it.
  const none = hypervolumeOf(front3, three, [70, 20, 500], 'given');
  assert.equal(none.value, 0);
  assert.match(none.warning ?? '', /params=500 is at or below every Pareto-front trial's params/);
  assert.throws(() => hypervolumeOf(front, objectives, [1, 2, 3], 'given'), /3 value\(s\), the study 2 objective/);
});

test('a reference point that bounds none of the front: hypervolume 0 with a warning naming the objective and the fix (new user 10b, finding 6)', () => {
  const front = [trial(0, 90, 10), trial(1, 80, 5)];
  // The values swapped (--ref-point 100,0 for [val_acc max, latency_ms min]): both objectives wrong.
  const swapped = hypervolumeOf(front, objectives, [100, 0], 'given');
  assert.equal(swapped.value, 0);
  assert.match(swapped.warning ?? '', /^the reference point bounds none of the Pareto front, so the hypervolume is 0: /);
  assert.match(swapped.warning ?? '', /val_acc=100 is at or above every Pareto-front trial's val_acc \(lowest 80\); for a maximised objective the reference point is the worst value, below every trial's/);
  assert.match(swapped.warning ?? '', /latency_ms=0 is at or below every Pareto-front trial's latency_ms \(highest 10\); for a minimised objective the reference point is the worst value, above every trial's/);
  assert.match(swapped.warning ?? '', /\(e\.g\. --ref-point 79,10\.5\)$/);
  // One objective wrong: only it is named.
  const one = refPointProblem([[90, 10], [80, 5]], objectives, [70, 4])!;
  assert.match(one, /latency_ms=4 is at or below/);
  assert.doesNotMatch(one, /val_acc=/);
  // Each objective has a better member, but none is better on both at once.
  assert.match(refPointProblem([[90, 10], [80, 5]], objectives, [85, 7])!, /no Pareto-front trial is better than it on every objective at once/);
  // A point that bounds the front, an empty front, 3 objectives: no warning / the same rule.
  assert.equal(hypervolumeOf(front, objectives, [70, 20], 'given').warning, undefined);
  assert.equal(refPointProblem([], objectives, [100, 0]), null);
  const three = [...objectives, { metric: 'params', direction: 'minimize' as const }];
  assert.match(refPointProblem([[90, 10, 1000]], three, [0, 20, 0])!, /params=0 is at or below every Pareto-front trial's params \(highest 1000\)/);
});

test('parseRefPoint: one finite number per objective; errors name --ref-point', () => {
  assert.deepEqual(parseRefPoint('0, 100', objectives), [0, 100]);
  assert.throws(() => parseRefPoint('0', objectives), (e: unknown) => isNasError(e, 'invalid_config') && e.field === '--ref-point' && /1 value\(s\); the study has 2/.test(e.message));
  assert.throws(() => parseRefPoint('0,x', objectives), /"x" is not a number/);
  assert.throws(() => parseRefPoint('0,', objectives), /"" is not a number/);
});

for (const [kind, makeUrl] of backends)
  test(`/api pareto (dashboard source, ${kind}): an unknown metric name is invalid_config naming x or y with did-you-mean; known names answer`, async () => {
    const store = await openStore(await makeUrl());
    try {
      const id = (
        await store.createStudy({ name: `mo-${Date.now()}`, strategy: { name: 'nsga2', options: {} }, space: { name: 'custom', definition: null }, evaluator: { name: 'synthetic', options: {} }, objectives, constraints: [], seed: 0, maxTrials: null, config: {} })
      ).id;
      const w = workerId('w');
      for (let i = 0; i < 4; i++) {
        const t = await store.createTrial(id, { arch: { i }, archKey: `k${i}`, budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
        await store.finishTrial(t.id, w, { state: 'complete', values: [80 + i, 10 - i * (i % 2)], metrics: { val_acc: 80 + i, latency_ms: 10 - i * (i % 2) } });
      }
      const src = dashboardSource(store);
      await assert.rejects(src.pareto(id, 'nope', 'val_acc'), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'x' && /no metric is named "nope"/.test(e.message));
      await assert.rejects(src.pareto(id, 'latency_ms', 'val_ac'), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'y' && /did you mean val_acc\?/.test(e.message));
      const ok = await src.pareto(id, 'latency_ms', 'val_acc');
      assert.equal(ok.of, 4);
      assert.ok(ok.front.length > 0);
    } finally {
      await store.close();
    }
  });

for (const [kind, makeUrl] of backends)
test(`compare (dashboard source, ${kind}): two-objective studies share ONE reference point over all their trials; a given one is used as given; other objectives: no hypervolume, said`, async () => {
  const store = await openStore(await makeUrl());
  try {
    const w = workerId('w');
    const mk = async (name: string, objs: typeof objectives | [(typeof objectives)[0]], pts: [number, number][]) => {
      const id = (await store.createStudy({ name, strategy: { name: 'nsga2', options: {} }, space: { name: 'custom', definition: null }, evaluator: { name: 'synthetic', options: {} }, objectives: [...objs], constraints: [], seed: 0, maxTrials: null, config: {} })).id;
      for (const [i, [a, l]] of pts.entries()) {
        const t = await store.createTrial(id, { arch: { i }, archKey: `k${i}`, budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
        await store.finishTrial(t.id, w, { state: 'complete', values: objs.length === 2 ? [a, l] : [a], metrics: { val_acc: a, latency_ms: l } });
      }
      return id;
    };
    const a = await mk('a', objectives, [[90, 10], [80, 5], [85, 12]]);
    const b = await mk('b', objectives, [[70, 50], [95, 20]]);
    const src = dashboardSource(store);
    const r = await src.compare([a, b]);
    assert.ok(r.hypervolume && r.hypervolume.ref !== null && 'refSource' in r.hypervolume);
    const h = r.hypervolume as unknown as { ref: number[]; refSource: string; note: string };
    // Over both studies: acc 70..95 -> 70 - 2.5; latency 5..50 -> 50 + 4.5.
    assert.deepEqual(h.ref, [67.5, 54.5]);
    assert.equal(h.refSource, 'shared');
    assert.match(h.note, /shared by the 2 studies/);
    const ta = [trial(0, 90, 10), trial(1, 80, 5)];
    assert.equal(r.studies[0]!.pareto!.hypervolume, hypervolumeOf(ta, objectives, h.ref, 'shared').value);
    assert.equal(r.studies[1]!.pareto!.size, 1);
    const given = await src.compare([a, b], [0, 100]);
    const gh = given.hypervolume as unknown as { ref: number[]; refSource: string };
    assert.deepEqual([gh.ref, gh.refSource], [[0, 100], 'given']);
    await assert.rejects(src.compare([a, b], [0]), /ref has 1 value/);
    const so = await mk('so', [objectives[0]!], [[88, 3]]);
    const mixed = await src.compare([a, so]);
    assert.equal(mixed.hypervolume?.ref, null);
    assert.match(mixed.hypervolume!.note, /different objectives/);
    assert.equal((await src.compare([so])).hypervolume, undefined);
  } finally {
    await store.close();
  }
});

test('HTTP: /api/studies/ID/pareto?x=nope&y=val_acc is a 400 naming x with the known names (was 200 with an empty front)', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startDashboard } = await import('../server/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-pareto-http-'));
  try {
    const url = `sqlite:${join(dir, 'p.db')}`;
    const store = await openStore(url);
    let id: number;
    try {
      id = (await store.createStudy({ name: 'p', strategy: { name: 'nsga2', options: {} }, space: { name: 'custom', definition: null }, evaluator: { name: 'synthetic', options: {} }, objectives, constraints: [], seed: 0, maxTrials: null, config: {} })).id as number;
      const w = workerId('w');
      const t = await store.createTrial(id as never, { arch: {}, archKey: 'k', budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
      await store.finishTrial(t.id, w, { state: 'complete', values: [90, 3], metrics: { val_acc: 90, latency_ms: 3 } });
    } finally {
      await store.close();
    }
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    const dash = await startDashboard({ storage: url, port: 0, assetsDir: dir });
    try {
      const bad = await fetch(new URL(`/api/studies/${id}/pareto?x=nope&y=val_acc`, dash.url));
      assert.equal(bad.status, 400);
      const body = JSON.stringify(await bad.json());
      assert.match(body, /no metric is named \\"nope\\"/);
      assert.match(body, /latency_ms, val_acc/);
      const typo = await fetch(new URL(`/api/studies/${id}/pareto?x=latency_m&y=val_acc`, dash.url));
      assert.equal(typo.status, 400);
      assert.match(JSON.stringify(await typo.json()), /did you mean latency_ms\?/);
      assert.equal((await fetch(new URL(`/api/studies/${id}/pareto?x=latency_ms&y=val_acc`, dash.url))).status, 200);
      const cmp = await fetch(new URL(`/api/compare?ids=${id}&ref=0,x`, dash.url));
      assert.equal(cmp.status, 400);
    } finally {
      await dash.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hypervolumeHistory, two objectives: the incremental 2-D path equals the general path on random studies (infeasible, duplicate, failed, valueless trials); last point = status', () => {
  const constraints = [{ metric: 'params', max: 5000 }];
  for (const seed of [11, 12, 13, 14, 15]) {
    const rng = Rng.fromSeed(`history2d-${seed}`);
    const trials: TrialRecord[] = [];
    for (let i = 0; i < 400; i++) {
      const u = rng.float();
      const acc = rng.float() < 0.3 ? 50 + rng.int(0, 10) * 5 : 50 + 45 * Math.sqrt(u) - 8 * rng.float();
      const lat = rng.float() < 0.3 ? rng.int(1, 12) * 5 : 5 + 50 * u + 5 * rng.float();
      const r = rng.float();
      if (r < 0.05) trials.push(trial(i, null, 0, 'failed'));
      else if (r < 0.1 && i > 0) trials.push(trial(i, trials[rng.int(0, i)]!.values?.[0] ?? 70, trials[rng.int(0, i)]!.values?.[1] ?? 30)); // duplicates
      else trials.push(trial(i, acc, lat, 'complete', r < 0.25 ? 9000 : 1000)); // 15%: infeasible
    }
    // in reverse: the history sorts by number
    const shuffled = [...trials].reverse();
    for (const ref of [undefined, [60, 40]]) {
      const study = { objectives, constraints };
      const fast = hypervolumeHistory(study, shuffled, ref)!;
      const general = hypervolumeHistory(study, shuffled, ref, (r) => new GeneralHypervolumeFront(r))!;
      const what = `seed ${seed}, ref ${ref ?? 'own'}`;
      assert.deepEqual(fast.history.map((h) => h.number), general.history.map((h) => h.number), `${what}: the trials that changed it`);
      fast.history.forEach((h, i) => {
        const g = general.history[i]!.hv;
        assert.ok(Math.abs(h.hv - g) <= 1e-9 * Math.max(1, Math.abs(g)), `${what}, trial ${h.number}: ${h.hv} vs ${g}`);
      });
      assert.deepEqual({ ...fast, history: null }, { ...general, history: null }, `${what}: ref, front size, caption`);
      const status = hypervolumeOf(paretoSet(study, trials).trials, objectives, fast.ref, fast.refSource);
      assert.equal(fast.history.at(-1)!.hv, status.value, `${what}: the last point is status's figure`);
      assert.equal(fast.front, paretoSet(study, trials).trials.length, `${what}: front size`);
      assert.ok(fast.history.length > 10, `${what}: the history has steps (${fast.history.length})`);
    }
  }
});
