/** Pure pieces: the front end's chart computations (dashboard/src/analysis.ts) and the trial query. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestSoFar, importance, niceTicks, paretoFront } from '../report/analysis.js';
import { flattenParams, queryTrials, parseStudyId, type TrialRow } from '../api/dashboard.js';
import { isNasError } from '../core/errors.js';

test('bestSoFar follows the direction', () => {
  const pts = [3, 1, 4, 1, 5].map((value, number) => ({ number, value }));
  assert.deepEqual(bestSoFar(pts, 'maximize'), [3, 3, 4, 4, 5]);
  assert.deepEqual(bestSoFar(pts, 'minimize'), [3, 1, 1, 1, 1]);
});

test('paretoFront keeps exactly the non-dominated points', () => {
  // x = latency (min), y = accuracy (max)
  const pts = [
    { x: 1, y: 70 }, // front
    { x: 2, y: 80 }, // front
    { x: 3, y: 75 }, // dominated by (2, 80)
    { x: 4, y: 90 }, // front
    { x: 5, y: 90 }, // dominated by (4, 90)
    { x: 0.5, y: 10 }, // front (fastest)
  ];
  assert.deepEqual(paretoFront(pts, 'minimize', 'maximize'), [5, 0, 1, 3]);
  assert.deepEqual(paretoFront(pts, 'maximize', 'maximize'), [4]);
  assert.deepEqual(paretoFront([], 'minimize', 'minimize'), []);
});

test('importance: a parameter that decides the value scores 1, an irrelevant one 0', () => {
  const rows = [];
  for (let i = 0; i < 40; i++) rows.push({ params: { op: i % 2 ? 'conv' : 'pool', noise: i % 4 < 2 ? 'a' : 'b' }, value: i % 2 ? 90 : 80 });
  const imp = importance(rows, 'maximize');
  assert.equal(imp[0]!.name, 'op');
  assert.ok(Math.abs(imp[0]!.score - 1) < 1e-12);
  assert.ok(Math.abs(imp.find((x) => x.name === 'noise')!.score) < 1e-12);
  assert.deepEqual(
    imp[0]!.groups.map((g) => [g.label, g.count, g.mean]),
    [
      ['conv', 20, 90],
      ['pool', 20, 80],
    ],
  );
});

test('niceTicks are round numbers covering the range', () => {
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0.12, 0.51, 4), [0.2, 0.3, 0.4, 0.5]);
});

test('flattenParams names leaves by path and drops the family tag', () => {
  assert.deepEqual(flattenParams({ family: 'nb201', ops: ['a', 'b'] }), { 'ops[0]': 'a', 'ops[1]': 'b' });
  assert.deepEqual(flattenParams({ arch: { hidden: [32, 16] }, hparams: { lr: 0.1 } }), { 'arch.hidden[0]': 32, 'arch.hidden[1]': 16, 'hparams.lr': 0.1 });
});

const row = (number: number, state: TrialRow['state'], value: number | null, params: Record<string, string | number>): TrialRow => ({
  id: number + 1,
  number,
  state,
  value,
  metrics: value === null ? {} : { val_acc: value },
  params,
  archKey: null,
  budget: null,
  generation: null,
  attempt: 1,
  startedAt: null,
  finishedAt: null,
  durationMs: null,
});

test('queryTrials filters, sorts with nulls last, pages, and rejects bad input with the field named', () => {
  const rows = [row(0, 'complete', 80, { op: 'conv' }), row(1, 'failed', null, { op: 'pool' }), row(2, 'complete', 90, { op: 'pool' }), row(3, 'pruned', 70, { op: 'conv' })];
  assert.deepEqual(
    queryTrials(rows, { sort: 'value', order: 'desc' }).trials.map((t) => t.number),
    [2, 0, 3, 1],
  );
  assert.deepEqual(
    queryTrials(rows, { sort: 'value', order: 'asc' }).trials.map((t) => t.number),
    [3, 0, 2, 1],
  );
  assert.deepEqual(
    queryTrials(rows, { states: ['complete', 'pruned'], q: 'op=conv' }).trials.map((t) => t.number),
    [0, 3],
  );
  const page = queryTrials(rows, { limit: 2, offset: 1 });
  assert.equal(page.total, 4);
  assert.deepEqual(
    page.trials.map((t) => t.number),
    [1, 2],
  );
  assert.deepEqual(
    queryTrials(rows, { sort: 'param:op' }).trials.map((t) => t.number),
    [0, 3, 1, 2],
  );
  for (const [q, field] of [
    [{ sort: 'nope' }, 'sort'],
    [{ limit: 0 }, 'limit'],
    [{ offset: -1 }, 'offset'],
    [{ states: ['zombie'] }, 'state'],
  ] as const) {
    assert.throws(
      () => queryTrials(rows, q as never),
      (e: unknown) => isNasError(e, 'invalid_config') && e.field === field,
    );
  }
});

test('parseStudyId accepts positive integers only', () => {
  assert.equal(parseStudyId('12'), 12);
  for (const bad of ['0', '-1', '01', '1e3', 'abc', '', '1.0', '99999999999999999999']) {
    assert.throws(
      () => parseStudyId(bad),
      (e: unknown) => isNasError(e, 'invalid_config'),
      bad,
    );
  }
});

test('trial filter terms: name=value, comparisons, globs, state, text; unknown names and bad numbers name the field', () => {
  const rows = [
    row(0, 'complete', 80, { op: 'conv', lr: 0.01, 'edges[0].op': 'sep', 'edges[1].op': 'skip' }),
    row(1, 'failed', null, { op: 'pool', lr: 0.1, 'edges[0].op': 'skip', 'edges[1].op': 'skip' }),
    row(2, 'complete', 90, { op: 'POOL', lr: 0.001, 'edges[0].op': 'skip', 'edges[1].op': 'sep' }),
  ];
  const nums = (q: string): number[] => queryTrials(rows, { q }).trials.map((t) => t.number);
  assert.deepEqual(nums('op=pool'), [1, 2], 'text values compare case-insensitively, whole value');
  assert.deepEqual(nums('op=poo'), [], 'not a substring');
  assert.deepEqual(nums('op!=pool'), [0]);
  assert.deepEqual(nums('lr<0.05'), [0, 2]);
  assert.deepEqual(nums('lr>=0.01 op=pool'), [1], 'terms combine with AND');
  assert.deepEqual(nums('lr=0.001'), [2], 'numbers compare as numbers');
  assert.deepEqual(nums('edges[*].op=sep'), [0, 2], 'a glob name holds when any matching parameter does');
  assert.deepEqual(nums('state=failed'), [1]);
  assert.deepEqual(nums('conv'), [0], 'a bare word is a substring of name=value pairs');
  assert.deepEqual(nums(''), [0, 1, 2]);
  for (const [q, field] of [['nope=1', 'q'], ['lr<abc', 'q']] as const) {
    assert.throws(() => queryTrials(rows, { q }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === field, q);
  }
  // the sorted order is computed once per set of rows and reused for every page
  const a = queryTrials(rows, { sort: 'param:lr', limit: 1, offset: 1 }).trials.map((t) => t.number);
  assert.deepEqual(a, [0]);
  assert.deepEqual(queryTrials(rows, { sort: 'param:lr', order: 'desc', limit: 2 }).trials.map((t) => t.number), [1, 0]);
});
