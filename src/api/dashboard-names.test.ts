/**
 * Issue 17, messages by kind: a name the dashboard's API is given (a sort column, a filter's
 * field, a query parameter) that the study or the route does not have is refused (400) naming the
 * field, with the closest name and the known ones, as /api/studies/ID/pareto's x and y are. Before,
 * `sort=metric:NAME` with an unknown NAME sorted by nothing and `?sortt=value` was ignored.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { workerId } from '../core/ids.js';
import { isNasError } from '../core/errors.js';
import { dashboardSource } from './dashboard.js';
import { startDashboard } from '../server/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-dash-names-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const url = `sqlite:${join(dir, 'd.db')}`;

async function makeStudy(): Promise<number> {
  const store = await openStore(url);
  try {
    const id = (
      await store.createStudy({ name: 'names', strategy: { name: 'random', options: {} }, space: { name: 'custom', definition: null }, evaluator: { name: 'synthetic', options: {} }, objectives: [{ metric: 'val_acc', direction: 'maximize' }], constraints: [], seed: 0, maxTrials: null, config: {} })
    ).id as number;
    const w = workerId('w');
    for (let i = 0; i < 5; i++) {
      const t = await store.createTrial(id as never, { arch: { width: 8 * (i + 1) }, archKey: `k${i}`, budget: null, params: { width: 8 * (i + 1), act: i % 2 ? 'relu' : 'gelu' }, claim: { workerId: w, leaseMs: 60_000 } });
      await store.finishTrial(t.id, w, { state: 'complete', values: [80 + i], metrics: { val_acc: 80 + i, latency_ms: 10 - i, params: 1000 * (i + 1) } });
    }
    return id;
  } finally {
    await store.close();
  }
}
const idP = makeStudy();

const refused = (field: string, re: RegExp) => (e: unknown) => isNasError(e, 'invalid_config') && e.field === field && re.test(e.message);

test('sort=metric:NAME / param:NAME that no trial has: invalid_config naming sort, the closest name and the known ones; on every read path', async () => {
  const id = await idP;
  const store = await openStore(url, { readOnly: true });
  try {
    const src = dashboardSource(store);
    // From SQL (nothing cached yet), then from the study's view, then from the cached rows.
    for (const phase of ['sql', 'view', 'cached']) {
      if (phase === 'view') await src.head(id);
      if (phase === 'cached') await src.series(id);
      await assert.rejects(src.trials(id, { sort: 'metric:val_ac' }), refused('sort', /no metric is named "val_ac" in study names; did you mean metric:val_acc\?.*use one of: metric:latency_ms, metric:params, metric:val_acc, or number, state/), phase);
      // a metric's other spelling (closestMetric): latency -> latency_ms
      await assert.rejects(src.trials(id, { sort: 'metric:latency', order: 'desc' }), refused('sort', /did you mean metric:latency_ms\?/), phase);
      await assert.rejects(src.trials(id, { sort: 'param:widht' }), refused('sort', /no parameter is named "widht" in study names; did you mean param:width\?.*use one of: param:act, param:width/), phase);
      // with a filter (the rows' path) the same
      await assert.rejects(src.trials(id, { sort: 'metric:nope', q: 'width' }), refused('sort', /no metric is named "nope"/), phase);
      // known names answer, in order
      const ok = await src.trials(id, { sort: 'metric:latency_ms' });
      assert.deepEqual(ok.trials.map((t) => t.number), [4, 3, 2, 1, 0], phase);
      assert.equal((await src.trials(id, { sort: 'param:width', order: 'desc' })).trials[0]!.number, 4, phase);
      // a state filter with no trial of that state: a known metric is still no error
      assert.equal((await src.trials(id, { sort: 'metric:params', states: ['failed'] })).total, 0, phase);
    }
  } finally {
    await store.close();
  }
});

test('a filter by a field no trial has (q=NAME>V): did-you-mean and the known names', async () => {
  const id = await idP;
  const store = await openStore(url, { readOnly: true });
  try {
    const src = dashboardSource(store);
    await assert.rejects(src.trials(id, { q: 'val_ac>81' }), refused('q', /no parameter or metric is named "val_ac"; did you mean val_acc\?.*use one of: .*act.*latency_ms.*width/));
    await assert.rejects(src.trials(id, { q: 'widht=8' }), refused('q', /did you mean width\?/));
    assert.equal((await src.trials(id, { q: 'val_acc>82' })).total, 2);
  } finally {
    await store.close();
  }
});

test('HTTP: an unknown sort name or query parameter is a 400 naming it; the route\'s own names answer', async () => {
  const id = await idP;
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  const dash = await startDashboard({ storage: url, port: 0, assetsDir: dir });
  try {
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const r = await fetch(new URL(path, dash.url));
      return { status: r.status, body: JSON.stringify(await r.json()) };
    };
    const sort = await get(`/api/studies/${id}/trials?sort=metric:val_ac`);
    assert.equal(sort.status, 400);
    assert.match(sort.body, /did you mean metric:val_acc\?/);
    const sortt = await get(`/api/studies/${id}/trials?sortt=value`);
    assert.equal(sortt.status, 400);
    assert.match(sortt.body, /unknown query parameter \\"sortt\\"; did you mean sort\?/);
    assert.match(sortt.body, /reads sort, order, state, q, limit, offset/);
    const pz = await get(`/api/studies/${id}/pareto?x=latency_ms&y=val_acc&z=params`);
    assert.equal(pz.status, 400);
    assert.match(pz.body, /unknown query parameter \\"z\\"/);
    const cmp = await get(`/api/compare?id=${id}`);
    assert.equal(cmp.status, 400);
    assert.match(cmp.body, /did you mean ids\?/);
    const none = await get(`/api/studies/${id}?sort=value`);
    assert.equal(none.status, 400);
    assert.match(none.body, /takes no query parameters/);
    for (const ok of [`/api/studies/${id}/trials?sort=metric:val_acc&order=desc&limit=2&offset=0&state=complete&q=width`, `/api/studies/${id}/pareto?x=latency_ms&y=val_acc`, `/api/compare?ids=${id}`, `/api/studies/${id}`, '/api/health'])
      assert.equal((await get(ok)).status, 200, ok);
  } finally {
    await dash.close();
  }
});
