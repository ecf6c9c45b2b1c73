/**
 * The dashboard source's cache of a study's rows: a changed study is brought up to date from the
 * trials created since and those seen open (Store.listTrialsSince), and the answer equals a fresh
 * read; concurrent first reads share one read; a change of the study record itself is read in full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerId } from '../core/ids.js';
import type { JsonObject } from '../core/json.js';
import { openStore } from '../store/index.js';
import type { Store, StudySpec } from '../store/types.js';
import { dashboardSource, type TrialQuery } from './dashboard.js';
import { isNasError } from '../core/errors.js';

const spec: StudySpec = {
  name: 'incremental',
  strategy: { name: 'random', options: {} },
  space: { name: 'custom', definition: null },
  evaluator: { name: 'synthetic', options: {} },
  objectives: [
    { metric: 'acc', direction: 'maximize' },
    { metric: 'cost', direction: 'minimize' },
  ],
  constraints: [],
  seed: 1,
  maxTrials: null,
  config: {},
};
const w = workerId('w');

async function add(store: Store, id: number, i: number, finish: boolean): Promise<number> {
  const t = await store.createTrial(id as never, { arch: { width: 8 * (i + 1), act: i % 2 ? 'relu' : 'gelu' }, archKey: `k${i}`, budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
  if (finish) await store.finishTrial(t.id, w, { state: 'complete', values: [50 + i, 10 - i], metrics: { acc: 50 + i, cost: 10 - i } });
  return t.id;
}

test('a changed study is updated incrementally and equals a fresh read; concurrent reads share one', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const id = (await store.createStudy(spec)).id;
    for (let i = 0; i < 5; i++) await add(store, id, i, true);
    const open = await add(store, id, 5, false);
    // count the full reads and the incremental ones the source makes
    const calls = { full: 0, since: [] as [number, readonly number[]][] };
    const spy = Object.create(store) as Store;
    spy.listTrials = (sid, o) => ((calls.full += (o?.offset ?? 0) === 0 ? 1 : 0), store.listTrials(sid, o)); // a full read starts at offset 0
    spy.listTrialsSince = (sid, from, numbers = []) => (calls.since.push([from, numbers]), store.listTrialsSince(sid, from, numbers));
    const src = dashboardSource(spy);
    const [a, b] = await Promise.all([src.series(id), src.study(id)]);
    assert.equal(calls.full, 1, 'the view, its series and its detail share one read');
    assert.equal(a.total, 6);
    assert.deepEqual(b.metricNames, ['acc', 'cost']);
    assert.deepEqual(b.paramNames, ['act', 'width']);

    // the open trial finishes and two more arrive
    await store.finishTrial(open as never, w, { state: 'complete', values: [99, 0.5], metrics: { acc: 99, cost: 0.5, extra: 1 } });
    await add(store, id, 6, true);
    await add(store, id, 7, false);
    const s2 = await src.series(id);
    assert.equal(calls.full, 1, 'no second full read');
    assert.deepEqual(calls.since, [[6, [5]]], 'read from trial 6 on, plus trial 5 (open before)');
    assert.equal(s2.total, 8);
    assert.equal(s2.best[s2.best.length - 1]!.best, 99, 'the finished trial counts');
    assert.deepEqual((await src.study(id)).metricNames, ['acc', 'cost', 'extra']);
    const fresh = await dashboardSource(store).series(id);
    assert.deepEqual(s2, fresh, 'incremental rows give the same series as a fresh read');

    // a change of the study record (attributes) is read again in full
    await store.setStudyAttr(id as never, 'final_training', { test_acc: 91.5 });
    const s3 = await src.series(id);
    assert.equal(calls.full, 2);
    assert.deepEqual(s3.finalResults?.sections[0]?.rows, [{ key: 'final_training.test_acc', value: '91.5' }]);
  } finally {
    await store.close();
  }
});

test('the view of an unread study is one columnar read, and its detail, series, Pareto and curves equal those of the full rows', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const id = (await store.createStudy({ ...spec, name: 'view' })).id;
    // every way a trial's params are named: arch leaves (nested objects and arrays, a `family`
    // tag left out), a joint candidate ({arch, hparams}: no `arch.` prefix), the trial's own
    // params (`param.` when an arch leaf has the name), lineage params (never parameters),
    // generations, conditional leaves; values: NaN, failed with metrics, pruned without values
    for (let i = 0; i < 300; i++) {
      const inner = { width: 8 * ((i % 7) + 1), act: i % 3 ? 'relu' : 'gelu', ...(i % 4 === 0 ? { momentum: 0.9 } : {}), ops: [i % 2 ? 'conv' : 'pool', i % 5] };
      const arch = i % 10 === 9 ? { family: 'mlp', arch: inner, hparams: { lr: 10 ** -(1 + (i % 3)) } } : { family: 'mlp', ...inner };
      const params: JsonObject = { lr: 10 ** -(1 + (i % 3)), ...(i % 6 === 0 ? { width: 3 } : {}), ...(i % 8 === 1 ? { parent: i - 1 } : {}), ...(i % 2 ? { generation: Math.floor(i / 50) } : {}) };
      const t = await store.createTrial(id, { arch: arch as never, archKey: `k${i}`, budget: i % 11 === 0 ? 2 : null, params, claim: { workerId: workerId(`w${i % 3}`), leaseMs: 60_000 } });
      const tw = workerId(`w${i % 3}`);
      const acc = 50 + ((i * 37) % 41);
      if (i % 50 === 7) await store.finishTrial(t.id, tw, { state: 'failed', error: 'x', metrics: { acc: 99 } });
      else if (i % 13 === 5) await store.finishTrial(t.id, tw, { state: 'pruned', values: null, metrics: { acc: acc - 5, cost: 3 } });
      else if (i % 17 === 4) await store.finishTrial(t.id, tw, { state: 'complete', values: [Number.NaN, 1], metrics: { acc: Number.NaN, cost: 1, loss: Number.POSITIVE_INFINITY } });
      else await store.finishTrial(t.id, tw, { state: 'complete', values: [acc, 10 - (i % 9)], metrics: { acc, cost: 10 - (i % 9), params: 1000 + i } });
      if (i === 42) await store.setTrialAttr(t.id, 'final_training', { test_acc: 91.5 });
    }
    const calls = { full: 0, columns: 0 };
    const spy = Object.create(store) as Store;
    spy.listTrials = (sid, o) => ((calls.full += (o?.offset ?? 0) === 0 ? 1 : 0), store.listTrials(sid, o)); // a full read starts at offset 0
    spy.listTrialColumns = (...a) => ((calls.columns += 1), store.listTrialColumns(...a));
    const src = dashboardSource(spy);
    const head = await src.head(id);
    const ov = await src.overview(id);
    const pareto = await src.pareto(id, 'params', 'acc');
    const curve = await src.compare([id]);
    assert.deepEqual([calls.columns, calls.full], [1, 0], 'head, overview, Pareto and the curve share one columnar read; no full read');
    assert.equal(ov.complete, true);
    assert.equal(ov.series.partial, undefined);
    assert.ok(ov.series.importance.length > 0 && ov.series.sliceRows.length > 0);
    const { total, withValue, points, sampled, maxGeneration, best } = ov.series;
    assert.deepEqual(head.chart, { total, withValue, points, sampled, maxGeneration, best });
    // the same study read in full rows
    const rows = dashboardSource(store);
    const detail = await rows.study(id);
    assert.deepEqual(ov.detail, detail);
    assert.ok(detail.paramNames.includes('param.width') && detail.paramNames.includes('ops[1]') && !detail.paramNames.includes('family'));
    assert.ok(!detail.paramNames.some((p) => p.startsWith('arch.')), 'a joint candidate has no arch. prefix');
    assert.deepEqual(ov.series, await rows.series(id));
    assert.deepEqual(pareto, await rows.pareto(id, 'params', 'acc'));
    assert.deepEqual(curve, await rows.compare([id]));
    assert.ok(ov.series.finalResults?.sections.some((x) => x.title === 'trial 42'));
    // parameter sorts of the trial table, from the view's columns (no full read), page for page
    // as from the full rows: numbers, texts, absent (conditional) values, ties; filters, offsets
    const fullBefore = calls.full;
    // The same page from both; a name no trial has a value of (nowhere; loss, only ever +Inf) the
    // same refusal from both (field sort).
    const sameTrials = async (query: TrialQuery): Promise<void> => {
      if (!/nowhere|metric:loss/.test(query.sort ?? '')) return assert.deepEqual(await src.trials(id, query), await rows.trials(id, query), JSON.stringify(query));
      const why = async (p: Promise<unknown>): Promise<string> => p.then(() => 'answered', (e: unknown) => (isNasError(e, 'invalid_config') && e.field === 'sort' ? e.message : String(e)));
      const a = await why(src.trials(id, query));
      assert.match(a, /no (metric|parameter) is named "(nowhere|loss)"/, JSON.stringify(query));
      assert.equal(a, await why(rows.trials(id, query)), JSON.stringify(query));
    };
    for (const p of ['param.width', 'width', 'act', 'momentum', 'ops[1]', 'ops[0]', 'hparams.lr', 'nowhere']) {
      for (const q of [{ order: 'asc' as const }, { order: 'desc' as const, offset: 37, limit: 25 }, { order: 'desc' as const, states: ['pruned' as const, 'failed' as const] }]) {
        const query = { sort: `param:${p}`, ...q };
        await sameTrials(query);
      }
    }
    assert.equal(calls.full, fullBefore, 'parameter sorts read no full rows');
    // the other sorts, from the view's rows too (no SQL page, no full read), as from full rows:
    // values (a NaN first value falls back to the objective's metric), non-finite metrics (absent)
    let sqlPages = 0;
    spy.pageTrials = (...a) => ((sqlPages += 1), store.pageTrials(...a));
    for (const sort of ['number', 'state', 'value', 'duration', 'started', 'metric:acc', 'metric:cost', 'metric:loss', 'metric:params', 'metric:nowhere']) {
      for (const q of [{ order: 'asc' as const }, { order: 'desc' as const, offset: 101, limit: 30 }, { order: 'desc' as const, states: ['complete' as const, 'pruned' as const], limit: 40 }]) {
        const query = { sort, ...q };
        await sameTrials(query);
      }
    }
    assert.deepEqual([sqlPages, calls.full], [0, fullBefore], 'no SQL page, no full read');
    // a source without the view pages in SQL
    const bare = dashboardSource(spy);
    await bare.trials(id, { sort: 'metric:acc' });
    assert.deepEqual([sqlPages, calls.full], [1, fullBefore]);
    await bare.close();
    assert.ok((await src.trials(id, { sort: 'param:width', limit: 3 })).trials.every((t) => Object.keys(t.params).length > 0 && t.archKey !== null), 'pages carry full rows');
    assert.ok(!ov.series.importance.some((x) => x.name === 'parent'), 'lineage params are no parameters');
    // asked again (the same version): no read
    await src.overview(id);
    await src.head(id);
    assert.deepEqual([calls.columns, calls.full], [1, 0]);
    // architectures read side by side with the columns (a pooled store), and an architecture
    // answer that misses a trial (its read ran before the trial was created): read again
    let archReads = 0;
    const pooled = Object.create(store) as Store & { concurrentReads: boolean };
    Object.defineProperty(pooled, 'concurrentReads', { value: true });
    pooled.listTrialArchitectures = async (...a) => {
      const r = await store.listTrialArchitectures(...a);
      return ++archReads === 1 ? { count: r.count - 1, number: r.number.slice(0, -1), text: r.text.slice(0, -1) } : r;
    };
    const racing = dashboardSource(pooled);
    await racing.head(id);
    assert.deepEqual(await racing.overview(id), ov);
    assert.equal(archReads, 2, 'read again once');
    for (const q of ['k29', 'k299', 'act=relu k1']) assert.deepEqual(await racing.trials(id, { q }), await rows.trials(id, { q }), q);
    await racing.close();
    await rows.close();
    await src.close();
  } finally {
    await store.close();
  }
});

test('text and comparison filters of a study whose full rows are not cached are evaluated on the view\'s columns, page for page as from the full rows', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const id = (await store.createStudy({ ...spec, name: 'filters' })).id;
    // conditional leaves (absent from some trials), a nested cell, mixed case, a Greek value
    // (final sigma), values of one name that are numbers in some trials and texts in others,
    // null leaves, a param named as a metric, trials without an arch key; failed, pruned, NaN
    // and infinite metrics, waiting trials
    const ops = ['sep_conv_5x5', 'Sep_Conv_3x3', 'max_pool_3x3', 'skip_connect', 'dil_conv_5x5'];
    for (let i = 0; i < 240; i++) {
      const arch = {
        family: 'darts',
        normal: { edges: [{ op: ops[i % 5], from: i % 3 }, { op: ops[(i * 7) % 5], from: (i + 1) % 3 }, ...(i % 4 === 0 ? [{ op: ops[(i * 3) % 5], from: 2 }] : [])] },
        ...(i % 3 === 0 ? { Width: i % 2 ? 16 : 'wide' } : {}),
        ...(i % 10 === 3 ? { note: 'ΑΣ x' } : {}),
        ...(i % 9 === 0 ? { drop: null } : {}),
      };
      const params: JsonObject = { lr: 10 ** -(1 + (i % 3)), ...(i % 5 === 2 ? { acc: 7 } : {}), ...(i % 6 === 1 ? { opt: i % 12 === 1 ? 'SGD' : 'adam' } : {}) };
      const t = await store.createTrial(id, { arch: arch as never, archKey: i % 7 === 6 ? null : `Key_${i}_${ops[i % 5]}`, budget: null, params, claim: i >= 230 ? undefined : { workerId: w, leaseMs: 60_000 } });
      if (i >= 230) continue;
      const acc = 50 + ((i * 37) % 41);
      if (i % 50 === 7) await store.finishTrial(t.id, w, { state: 'failed', error: 'x', metrics: { acc: 99 } });
      else if (i % 31 === 8) await store.finishTrial(t.id, w, { state: 'failed', error: 'x' });
      else if (i % 13 === 5) await store.finishTrial(t.id, w, { state: 'pruned', values: null, metrics: { acc: acc - 5, cost: 3 } });
      else if (i % 17 === 4) await store.finishTrial(t.id, w, { state: 'complete', values: [Number.NaN, 1], metrics: { acc: Number.NaN, cost: 1, loss: Number.POSITIVE_INFINITY } });
      else await store.finishTrial(t.id, w, { state: 'complete', values: [acc, 10 - (i % 9)], metrics: { acc, cost: 10 - (i % 9) } });
    }
    // stopped with trials waiting: not live, so no full read is started behind the overview
    await store.setStudyState(id, 'stopped');
    const calls = { full: 0 };
    let sqlPages = 0;
    const spy = Object.create(store) as Store;
    spy.listTrials = (sid, o) => ((calls.full += (o?.offset ?? 0) === 0 ? 1 : 0), store.listTrials(sid, o));
    spy.pageTrials = (...a) => ((sqlPages += 1), store.pageTrials(...a));
    // the arch keys: read once per view version, on the first search; a first answer that misses
    // a trial (as when a trial is created between the reads) is read again
    let keyReads = 0;
    let keyCalls = 0;
    spy.listTrialArchKeys = async (...a) => {
      keyCalls += 1;
      const r = await store.listTrialArchKeys(...a);
      return ++keyReads === 1 ? { count: r.count - 1, number: r.number.slice(0, -1), key: r.key.slice(0, -1) } : r;
    };
    const src = dashboardSource(spy);
    // the reference: the same study's full rows, read and cached (every page from them)
    const rows = dashboardSource(store);
    await rows.study(id);
    // a filter before the study view was opened starts the view's read (no full read either)
    assert.deepEqual(await src.trials(id, { q: 'sep_conv_5x5' }), await rows.trials(id, { q: 'sep_conv_5x5' }));
    await src.overview(id);
    const queries = [
      'sep_conv_5x5', 'SEP_CONV', 'sep_conv_3x3', '.op=sep', '=sep', 'edges[2]', 'normal.edges[2].op=max_pool_3x3', '[2].op=max', '=wide', '=16', 'wide', 'Width=16',
      'ας', 'σ', 'σ x', 'ΑΣ', 'drop=null', 'null', 'key_1', 'key_6', '_6_', 'key_12_max', 'opt=sgd', 'adam', 'lr=0.01', '0.001', 'acc=7', 'nothing-at-all',
      'sep_conv_5x5 dil_conv', 'skip key_2', 'lr=0.1 sep_conv_5x5 key',
      'acc>=80', 'acc=7', 'acc!=7', 'acc<60', 'cost<=3', 'cost>3', 'Width=wide', 'Width!=wide', 'Width>10', 'drop=null', 'drop!=1', 'opt=sgd', 'opt!=adam',
      'normal.edges[*].op=sep_conv_5x5', 'normal.edges[*].from>=2', 'normal.edges[2].op!=skip_connect', 'state=failed', 'number<20', 'a*c>=85', 'a*=7',
      'acc>=70 sep_conv', 'lr<0.05 normal.edges[0].op=max_pool_3x3 key', 'state!=complete key',
    ];
    const shapes = [{}, { sort: 'value', order: 'desc' as const }, { sort: 'param:Width', limit: 7, offset: 3 }, { sort: 'metric:cost', states: ['complete' as const, 'pruned' as const] }, { sort: 'param:normal.edges[2].op', order: 'desc' as const, limit: 5 }];
    // the same page, or the same error (a name no trial has, a comparison with a text)
    const answer = (from: typeof src, query: Parameters<typeof src.trials>[1]) => from.trials(id, query).then((p) => p, (e: Error) => `error: ${e.message}`);
    const errors = new Set<string>();
    for (const q of [...queries, 'nowhere>=1', 'acc>=high', 'width=wide']) {
      for (const shape of shapes) {
        const query = { q, ...shape };
        const want = await answer(rows, query);
        if (typeof want === 'string') errors.add(q);
        assert.deepEqual(await answer(src, query), want, JSON.stringify(query));
      }
    }
    assert.deepEqual([...errors], ['nowhere>=1', 'acc>=high', 'width=wide']);
    assert.deepEqual([calls.full, sqlPages, keyReads], [0, 0, 2], 'no full read, no SQL page; the keys read once (again once)');
    assert.ok((await src.trials(id, { q: 'sep_conv_5x5' })).total > 0 && (await src.trials(id, { q: 'key_12_max' })).total === 1, 'the queries select something');
    assert.ok((await src.trials(id, { q: 'key_1', limit: 3 })).trials.every((t) => t.archKey !== null && Object.keys(t.params).length > 0), 'pages carry full rows');
    // a page of the table without a filter reads the keys behind its answer, once
    const other = dashboardSource(spy);
    await other.overview(id);
    const before = keyCalls;
    await other.trials(id, { sort: 'value' });
    await new Promise((resolve) => setImmediate(resolve)); // after the read behind the page started
    assert.equal(keyCalls, before + 1, 'keys read behind the first page');
    await other.trials(id, { sort: 'number' });
    assert.deepEqual(await other.trials(id, { q: 'key_12_max' }), await rows.trials(id, { q: 'key_12_max' }));
    assert.deepEqual([keyCalls, calls.full, sqlPages], [before + 1, 0, 0]);
    await other.close();
    // with the server's `readAfter` (the answer written): not before it settles
    const third = dashboardSource(spy);
    await third.overview(id);
    let release!: () => void;
    const sent = new Promise<void>((resolve) => (release = resolve));
    const calls0 = keyCalls;
    await third.trials(id, { sort: 'value' }, { readAfter: sent });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(keyCalls, calls0, 'no key read before the answer is out');
    release();
    await sent;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(keyCalls, calls0 + 1, 'the keys read once it is');
    await third.close();
    await rows.close();
    await src.close();
  } finally {
    await store.close();
  }
});

test('a live study keeps its importance until the complete trials grow by 1%, and says over how many', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const id = (await store.createStudy({ ...spec, name: 'live-importance' })).id;
    for (let i = 0; i < 300; i++) await add(store, id, i % 40, true);
    const src = dashboardSource(store);
    const a = await src.series(id);
    assert.equal(a.importanceOver, 300);
    assert.ok(a.importance.length > 0);
    await add(store, id, 1, true);
    await add(store, id, 2, true);
    const b = await src.series(id);
    assert.equal(b.edf.n, 302, 'the other charts use every trial');
    assert.equal(b.importanceOver, 300, 'two more of 302 (< 1%): importance kept');
    assert.deepEqual(b.importance, a.importance);
    for (let i = 0; i < 3; i++) await add(store, id, 3 + i, true);
    const c = await src.series(id);
    assert.equal(c.importanceOver, 305, 'five more since (>= 1%): recomputed over all');
    // a fresh read computes it over all trials
    const fresh = await dashboardSource(store).series(id);
    assert.deepEqual(c.importance, fresh.importance);
    assert.equal(fresh.importanceOver, 305);
    await src.close();
  } finally {
    await store.close();
  }
});

test('the best trial a view shows is Store.bestTrial\'s, taken from the rows read (ties, budgets, tie-break, constraints; full, incremental and outcome reads)', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const cases: { name: string; objectives: StudySpec['objectives']; constraints: StudySpec['constraints'] }[] = [
      { name: 'plain', objectives: [{ metric: 'acc', direction: 'maximize' }], constraints: [] },
      { name: 'min', objectives: [{ metric: 'acc', direction: 'minimize' }], constraints: [] },
      { name: 'tiebreak', objectives: [{ metric: 'acc', direction: 'maximize', tieBreak: { metric: 'loss', direction: 'minimize' } }], constraints: [] },
      { name: 'constrained', objectives: [{ metric: 'acc', direction: 'maximize' }], constraints: [{ metric: 'cost', max: 5 }] },
    ];
    for (const c of cases) {
      const id = (await store.createStudy({ ...spec, name: `best-${c.name}`, objectives: c.objectives, constraints: c.constraints })).id;
      const addOne = async (i: number, budget: number | null): Promise<void> => {
        const t = await store.createTrial(id, { arch: { i }, archKey: `k${i}`, budget, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
        if (i % 11 === 3) return void (await store.finishTrial(t.id, w, { state: 'failed', error: 'x' }));
        const acc = [70, 90, 90, 80, 90, 60][i % 6]!; // ties at 90
        await store.finishTrial(t.id, w, { state: i % 13 === 5 ? 'pruned' : 'complete', values: [acc], metrics: { acc, loss: (i * 7) % 5, cost: i % 9 } });
      };
      for (let i = 0; i < 40; i++) await addOne(i, i % 4 === 0 ? 2 : null);
      const src = dashboardSource(store);
      const expect = async (): Promise<{ number: number; value: number } | null> => {
        const b = await store.bestTrial(id);
        return b ? { number: b.number, value: b.values![0]! } : null;
      };
      const pick = (s: { best: { number: number; value: number } | null }): unknown => s.best && { number: s.best.number, value: s.best.value };
      assert.deepEqual(pick((await src.study(id)).study), await expect(), `${c.name}: full read`);
      // a better trial at a lower budget does not win; an equal one at full budget later does not either
      for (let i = 40; i < 46; i++) await addOne(i, i === 41 ? 1 : null);
      assert.deepEqual(pick((await src.study(id)).study), await expect(), `${c.name}: incremental`);
      assert.deepEqual(pick((await src.overview(id)).detail.study), await expect(), `${c.name}: overview`);
      assert.deepEqual(pick((await src.compare([id])).studies[0]!.study), await expect(), `${c.name}: compare`);
      assert.deepEqual(pick((await src.head(id)).study), await expect(), `${c.name}: head (cached rows)`);
      const cold = dashboardSource(store);
      assert.deepEqual(pick((await cold.head(id)).study), await expect(), `${c.name}: head (columnar read)`);
      await cold.close();
      await src.close();
    }
  } finally {
    await store.close();
  }
});

test('the head (summary and first chart) equals the overview\'s, point for point, before and after trials are added', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const id = (await store.createStudy({ ...spec, name: 'head' })).id;
    // more trials with a value than the chart draws (2,000), of every kind the value and the
    // generation are read from: values, a pruned trial's metrics only, NaN, failed with metrics,
    // generation as a param, rung as a user attribute, none; and open trials
    const addKind = async (i: number): Promise<void> => {
      const params: JsonObject = i % 5 === 0 ? { generation: Math.floor(i / 100) } : i % 5 === 1 ? { rung: 'text is no generation' } : {};
      const t = await store.createTrial(id, { arch: { w: i % 9 }, archKey: `k${i}`, budget: null, params, claim: { workerId: workerId(`w${i % 3}`), leaseMs: 60_000 } });
      const tw = workerId(`w${i % 3}`);
      const acc = 50 + ((i * 37) % 41) + i / 10_000;
      if (i % 7 === 2) await store.setTrialAttr(t.id, 'rung', i % 4);
      const k = i % 10;
      // a pruned trial is drawn by its recorded value; one recorded without values is no candidate
      // (core candidateValue: metrics are never a fallback; new user, session 10, finding 1)
      if (k === 3) await store.finishTrial(t.id, tw, { state: 'pruned', values: i % 20 === 3 ? null : [acc - 5, 3], metrics: { acc: acc - 5, cost: 3 } });
      else if (k === 4) await store.finishTrial(t.id, tw, { state: 'failed', error: 'x', metrics: { acc: 99.9 } });
      else if (k === 6) await store.finishTrial(t.id, tw, { state: 'complete', values: [Number.NaN, 1], metrics: { acc: Number.NaN, cost: 1 } });
      else if (k !== 8 || i <= 2400) await store.finishTrial(t.id, tw, { state: 'complete', values: [acc, 10 - (i % 9)], metrics: { acc, cost: 10 - (i % 9) } });
      // (k === 8 beyond 2,400: left running)
    };
    // (2,800: over 2,000 of them with a value, pruned trials without values having none)
    for (let i = 0; i < 2800; i++) await addKind(i);
    const calls = { columns: 0 };
    const spy = Object.create(store) as Store;
    spy.listTrialColumns = (...a) => ((calls.columns += 1), store.listTrialColumns(...a));
    const src = dashboardSource(spy);
    const agree = async (label: string): Promise<void> => {
      const head = await src.head(id);
      const ov = await src.overview(id);
      assert.equal(head.version, ov.detail.version, label);
      assert.deepEqual(head.study, ov.detail.study, `${label}: summary`);
      const { total, withValue, points, sampled, maxGeneration, best } = ov.series;
      assert.deepEqual(head.chart, { total, withValue, points, sampled, maxGeneration, best }, `${label}: first chart`);
      const full = await src.series(id);
      assert.deepEqual(head.chart.points, full.points, `${label}: the full series draws the same points`);
    };
    await agree('unread study');
    assert.equal(calls.columns, 1, 'the view\'s read');
    const h = await src.head(id);
    assert.equal(calls.columns, 1, 'cached rows of this version: no read');
    assert.ok(h.chart.sampled && h.chart.points.length <= 2000 && h.chart.withValue > 2000);
    assert.ok(h.chart.maxGeneration !== null && h.chart.points.some((p) => p.generation !== null));
    assert.ok(h.chart.points.some((p) => p.state === 'pruned'), 'pruned trials with values are drawn');
    assert.ok(!h.chart.points.some((p) => p.number % 20 === 3), 'pruned trials without values are not (their metrics are no value)');
    // live: trials finish and arrive
    for (let i = 2800; i < 2820; i++) await addKind(i);
    await agree('after new trials');
    assert.equal(calls.columns, 1, 'a live study\'s full rows (read behind its first overview) are brought up to date instead');
    await src.close();
  } finally {
    await store.close();
  }
});

test('lineage params (evolution\'s parent, a promotion\'s promotes: trial ids) are never analysed as parameters', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const id = (await store.createStudy({ ...spec, name: 'lineage' })).id;
    for (let i = 0; i < 30; i++) {
      // the value follows the lineage ids exactly: ranked as parameters they would come first
      const params: JsonObject = i % 3 === 0 ? { parent: i } : i % 3 === 1 ? { promotes: i } : {};
      const t = await store.createTrial(id, { arch: { width: 8 * ((i % 4) + 1) }, archKey: `k${i}`, budget: null, params, claim: { workerId: w, leaseMs: 60_000 } });
      await store.finishTrial(t.id, w, { state: 'complete', values: [50 + i, 1], metrics: { acc: 50 + i, cost: 1 } });
    }
    const src = dashboardSource(store);
    const [series, detail] = [await src.series(id), await src.study(id)];
    assert.deepEqual(detail.paramNames, ['width']);
    assert.deepEqual(series.importance.map((x) => x.name), ['width']);
    assert.ok(!series.sliceParams.some((p) => p === 'parent' || p === 'promotes'));
    await src.close();
  } finally {
    await store.close();
  }
});
