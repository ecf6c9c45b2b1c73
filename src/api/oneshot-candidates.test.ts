/**
 * The one-shot supernet search trial (docs/oneshot.md trial 0, `values: null`) is no candidate
 * anywhere a trial is ranked, drawn or picked by objective value (new user, session 10,
 * finding 1): the dashboard's series (best so far, points, EDF, importance), its trial table's
 * value sort on every path (cached rows, the view's rows, the SQL page), the Pareto front, the
 * comparison curves, the study summary, ensembles' candidate lists, warm-start imports and the
 * strategies' history. The fixture's supernet has a higher val_acc (91) than the derived network
 * (84.2), as the user's DARTS run had, so anything that counts it shows. On SQLite and, when a
 * server can be started, PostgreSQL.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidateValue, isSupernetTrial } from '../core/metrics.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { tryStartPgServer } from '../store/testing/pg-server.js';
import { createOneShotStudy, DERIVED_VAL_ACC, SUPERNET_VAL_ACC } from '../server/testing/oneshot-fixture.js';
import { dashboardSource } from './dashboard.js';
import { topTrials } from './ensemble.js';
import { checkWarmStart } from '../run/warm-start.js';
import { nb201Space } from '../space/nb201.js';

test('candidateValue: the recorded finite objective value, never a metric', () => {
  assert.equal(candidateValue({ values: [3, 4] }), 3);
  assert.equal(candidateValue({ values: [3, 4] }, 1), 4);
  assert.equal(candidateValue({ values: null }), null);
  assert.equal(candidateValue({ values: [Number.NaN] }), null);
  assert.equal(candidateValue({ values: [Number.POSITIVE_INFINITY] }), null);
  assert.equal(candidateValue({}), null);
  assert.equal(isSupernetTrial({ params: { oneshot_role: 'search', method: 'darts' } }), true);
  assert.equal(isSupernetTrial({ params: { oneshot_role: 'derived' } }), false);
  assert.equal(isSupernetTrial({ params: {} }), false);
});

async function checkBackend(url: string): Promise<void> {
  const store: Store = await openStore(url);
  try {
    const id = await createOneShotStudy(store, 4);
    // Three readers: the trial table asked first (the SQL page / the view's rows), the overview
    // first (the view), and full rows (series after study).
    for (const order of ['trials-first', 'overview-first', 'full'] as const) {
      const src = dashboardSource(store);
      const page = async () => src.trials(id, { sort: 'value', order: 'desc' });
      const first = order === 'trials-first' ? await page() : null;
      const ov = order === 'overview-first' ? await src.overview(id) : null;
      const detail = order === 'full' ? await src.study(id) : (ov?.detail ?? (await src.study(id)));
      const sr = ov?.series ?? (await src.series(id));
      const head = await src.head(id);
      assert.deepEqual(detail.study.best, { number: 1, value: DERIVED_VAL_ACC }, order);
      for (const chart of [sr, head.chart]) {
        assert.deepEqual(chart.best.map((b) => [b.number, b.best]), [[1, DERIVED_VAL_ACC]], `${order}: best so far without the supernet`);
        assert.deepEqual(chart.points.map((p) => p.number), [1], `${order}: points`);
        assert.equal(chart.withValue, 1);
      }
      assert.deepEqual(sr.edf.points.map((p) => p.x), [DERIVED_VAL_ACC], `${order}: EDF`);
      assert.equal(sr.importanceOver, 1);
      for (const p of [first, await page()]) {
        if (p === null) continue;
        assert.deepEqual(p.trials.map((t) => [t.number, t.value, t.supernet ?? false]), [[1, DERIVED_VAL_ACC, false], [0, null, true]], `${order}: value sort, supernet last and marked`);
      }
      const asc = await src.trials(id, { sort: 'value', order: 'asc' });
      assert.deepEqual(asc.trials.map((t) => t.number), [1, 0], `${order}: nulls last ascending too`);
      const t0 = await src.trial(id, 0);
      assert.equal(t0.value, null);
      assert.equal(t0.supernet, true);
      assert.equal(t0.params['method'], 'darts');
      assert.ok(!('param.method' in t0.params), `${order}: method not repeated as param.method`);
      assert.equal((await src.trial(id, 1)).supernet, undefined);
      const pareto = await src.pareto(id, 'val_loss', 'val_acc');
      assert.deepEqual([...pareto.front, ...pareto.others].map((p) => p.number), [1], `${order}: Pareto`);
      const cmp = await src.compare([id]);
      assert.deepEqual(cmp.studies[0]!.curve.map((p) => [p.number, p.best]), [[1, DERIVED_VAL_ACC]], `${order}: comparison curve`);
      assert.ok(!(await src.studies()).some((s) => s.best?.value === SUPERNET_VAL_ACC));
    }
    // ensembles' candidate list
    const rec = (await store.getStudy('oneshot-darts-fixture'))!;
    assert.deepEqual(topTrials(await store.listTrials(rec.id), rec, 5).map((t) => t.number), [1]);
  } finally {
    await store.close();
  }
  // a warm start from the one-shot study imports the derived network only (the supernet trial's
  // arch is no NB201 cell: before, importing it failed the whole warm start)
  const plan = await checkWarmStart([{ storage: url, study: 'oneshot-darts-fixture' }], { name: 'warm', space: nb201Space as never, objectives: [{ metric: 'val_acc', direction: 'maximize' }] });
  assert.deepEqual(plan.trials.map((t) => t.number), [1]);
  assert.deepEqual(plan.perSource.map((p) => [p.imported, p.skipped]), [[1, 1]]);
}

test('the supernet trial is no candidate: SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-cand-'));
  try {
    await checkBackend(`sqlite:${join(dir, 's.db')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const started = await tryStartPgServer();
if ('reason' in started) {
  test('the supernet trial is no candidate: PostgreSQL', { skip: `cannot start a PostgreSQL server: ${started.reason}` }, () => {});
} else {
  const server = started.server;
  after(() => server.stop());
  test('the supernet trial is no candidate: PostgreSQL', async () => {
    await checkBackend(await server.createDatabase('oneshot_candidates'));
  });
}
