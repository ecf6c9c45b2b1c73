/**
 * The shared negligible-margin check of a derived one-shot architecture (new user, session 10,
 * finding 5), on the user's two inputs (DARTS: every softmax(alpha) within 0.2 ± 0.003; GDAS
 * chain CNN: kernel probabilities [0.333331, 0.333333, 0.333336]) and their siblings: a clear
 * choice, a one-candidate edge, a zero runner-up, the DARTS cell's `none`, SPOS's best two paths
 * against one standard error; and indecisionOf's choice of edges (the DARTS cell's kept ones).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accStandardError, alphaDecisions, checkIndecision, indecisionJson, MIN_ALPHA_GAP, pathDecision } from './indecision.js';
import { indecisionOf } from '../api/oneshot.js';
import { parseOneShotOptions } from './options.js';

const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
const edges6 = Array.from({ length: 6 }, (_, i) => ({ name: `e${i}`, ops: NB201_OPS }));

test('the DARTS run of the user: every edge within 0.2 ± 0.003 -> all 6 choices negligible, the fix named', () => {
  const probs = [
    [0.203, 0.2, 0.199, 0.198, 0.2], [0.197, 0.201, 0.202, 0.2, 0.2], [0.2, 0.2, 0.2, 0.203, 0.197],
    [0.201, 0.199, 0.2, 0.2, 0.2], [0.2, 0.2025, 0.1995, 0.199, 0.199], [0.199, 0.199, 0.2, 0.2, 0.202],
  ];
  const d = alphaDecisions(edges6, probs);
  assert.equal(d.length, 6);
  assert.deepEqual([d[0]!.first, d[0]!.second], ['none', 'skip_connect']);
  assert.ok(Math.abs(d[0]!.margin - Math.log(0.203 / 0.2)) < 1e-12);
  const r = checkIndecision('darts', d, MIN_ALPHA_GAP, 'alpha_gap', 3e-4)!;
  assert.ok(r);
  assert.equal(r.negligible.length, 6);
  assert.equal(r.decisions, 6);
  assert.match(r.message, /^6 of 6 choices of the derived architecture were decided by a negligible alpha margin \(ln\(p1\/p2\) < 0\.049/);
  assert.match(r.message, /raise alpha_lr \(strategy options; it is 0\.0003, e\.g\. 10x\) or run more epochs$/);
  assert.match(r.message, /; 3 more\)/, 'three shown, the rest counted');
  const j = indecisionJson(r) as { format: string; negligible: unknown[]; min_margin: number };
  assert.equal(j.format, 'tsnas.indecision/1');
  assert.equal(j.negligible.length, 6);
  assert.equal(j.min_margin, Number(r.minMargin.toPrecision(6)));
});

test('the GDAS chain CNN of the user: a kernel decided by 5e-6 is negligible; a clear channel choice is not', () => {
  const edges = [{ name: 'layers[1].kernel', ops: ['3', '5', '7'] }, { name: 'layers[1].channels', ops: ['32', '64', '128'] }];
  const d = alphaDecisions(edges, [[0.333331, 0.333333, 0.333336], [0.2, 0.3, 0.5]]);
  assert.deepEqual(d.map((x) => [x.name, x.first, x.second]), [['layers[1].kernel', '7', '5'], ['layers[1].channels', '128', '64']]);
  const r = checkIndecision('gdas', d, MIN_ALPHA_GAP, 'alpha_gap')!;
  assert.deepEqual(r.negligible.map((x) => x.name), ['layers[1].kernel']);
  assert.match(r.message, /^1 of 2 choices .*layers\[1\]\.kernel: 7 over 5 by 9\.0e-6.*default 3e-4/);
});

test('siblings: clear choices pass; one-candidate edges make no decision; a zero runner-up is an infinite margin; skipped ops; the threshold is strict', () => {
  assert.equal(checkIndecision('darts', alphaDecisions(edges6, edges6.map(() => [0.1, 0.1, 0.5, 0.2, 0.1])), MIN_ALPHA_GAP, 'alpha_gap'), undefined);
  assert.deepEqual(alphaDecisions([{ name: 'solo', ops: ['a'] }], [[1]]), []);
  assert.equal(checkIndecision('darts', [], MIN_ALPHA_GAP, 'alpha_gap'), undefined);
  assert.equal(alphaDecisions([{ name: 'z', ops: ['a', 'b'] }], [[1, 0]])[0]!.margin, Infinity);
  // the DARTS cell: `none` is no candidate, so a `none`-led edge is decided between the others
  const [n] = alphaDecisions([{ name: 'normal.n2.in0', ops: ['none', 'max_pool_3x3', 'sep_conv_3x3'] }], [[0.9, 0.05, 0.05]], ['none']);
  assert.deepEqual([n!.first, n!.margin], ['max_pool_3x3', 0]);
  // exactly at the threshold is not negligible (ratio 1.05)
  const at = alphaDecisions([{ name: 'e', ops: ['a', 'b'] }], [[1.05 / 2.05, 1 / 2.05]]);
  assert.ok(Math.abs(at[0]!.margin - MIN_ALPHA_GAP) < 1e-12);
  assert.equal(checkIndecision('darts', [{ ...at[0]!, margin: MIN_ALPHA_GAP }], MIN_ALPHA_GAP, 'alpha_gap'), undefined);
});

test('SPOS: the best two paths within one standard error of the accuracy are negligible; apart, not', () => {
  // 90% on 600 images: one standard error is 100 * sqrt(0.9 * 0.1 / 600) = 1.22 points
  assert.ok(Math.abs(accStandardError(90, 600) - 1.2247) < 1e-3);
  const close = pathDecision([{ path: [1, 2, 3], score: 89.5 }, { path: [3, 3, 3], score: 90 }, { path: [0, 0, 0], score: 40 }]);
  assert.deepEqual(close, [{ name: 'path', first: '3,3,3', second: '1,2,3', margin: 0.5 }]);
  const r = checkIndecision('spos', close, accStandardError(90, 600), 'acc_points')!;
  assert.match(r.message, /^the derived path was decided by a negligible margin: path: 3,3,3 over 1,2,3 by 0\.50 accuracy points .*less than one standard error .*\(1\.2 points\).*score_batches/);
  const apart = pathDecision([{ path: [1], score: 80 }, { path: [2], score: 90 }]);
  assert.equal(checkIndecision('spos', apart, accStandardError(90, 600), 'acc_points'), undefined);
  assert.deepEqual(pathDecision([{ path: [1], score: 80 }]), []);
});

test('indecisionOf: the last epoch of alpha, the DARTS cell only over the edges its derivation keeps; SPOS from its details', () => {
  const options = parseOneShotOptions({});
  const uniform = [0.2, 0.2, 0.2, 0.2, 0.2];
  const clear = [0.05, 0.05, 0.8, 0.05, 0.05];
  const hist = (rows: number[][]) => [{ epoch: 1, metrics: {}, probs: rows.map(() => uniform) }, { epoch: 2, metrics: {}, probs: rows }];
  const e6 = edges6.map((e) => ({ ...e, cell: 'cell', from: 0, to: 1 }));
  assert.equal(indecisionOf({ method: 'darts', options }, e6, hist(e6.map(() => clear)), undefined, null, 'nb201'), undefined, 'the last epoch counts, not the first');
  assert.equal(indecisionOf({ method: 'darts', options }, e6, hist(e6.map((_, i) => (i === 4 ? uniform : clear))), undefined, null, 'nb201')!.negligible[0]!.name, 'e4');
  // DARTS cell: node 2 reads inputs 0 and 1 (both kept); an undecided edge that is not kept is no choice
  const ops8 = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'];
  const names: string[] = [];
  for (const cell of ['normal', 'reduce']) for (let j = 2; j < 6; j++) for (let i = 0; i < j; i++) names.push(`${cell}.n${j}.in${i}`);
  const dEdges = names.map((name) => ({ name, cell: name.split('.')[0]!, from: 0, to: 0, ops: ops8 }));
  const c8 = [0.1, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1];
  const u8 = ops8.map(() => 0.125);
  const keptOnly = (name: string) => /n\d\.in[01]$/.test(name);
  const derived = { family: 'darts', normal: { edges: [0, 1, 0, 1, 0, 1, 0, 1].map((input) => ({ op: 'sep_conv_3x3', input })) }, reduce: { edges: [0, 1, 0, 1, 0, 1, 0, 1].map((input) => ({ op: 'sep_conv_3x3', input })) } };
  const rows = names.map((n) => (keptOnly(n) ? c8 : u8));
  assert.equal(indecisionOf({ method: 'darts', options }, dEdges, hist(rows), undefined, derived as never, 'darts'), undefined, 'undecided edges the cell drops are no choices');
  const rows2 = names.map((n) => (n === 'reduce.n3.in1' ? u8 : keptOnly(n) ? c8 : u8));
  const r = indecisionOf({ method: 'darts', options }, dEdges, hist(rows2), undefined, derived as never, 'darts')!;
  assert.equal(r.decisions, 16);
  assert.deepEqual(r.negligible.map((x) => x.name), ['reduce.n3.in1']);
  // SPOS
  const sp = { method: 'spos' as const, options: parseOneShotOptions({}) };
  const details = { evaluated: [{ path: [1], score: 90, generation: 0 }, { path: [2], score: 89.9, generation: 1 }], winner: [1], score: 90, images: 600 };
  assert.match(indecisionOf(sp, [], [{ epoch: 1, metrics: {} }], details, null, 'nb201')!.message, /by 0\.10 accuracy points/);
  assert.equal(indecisionOf(sp, [], [{ epoch: 1, metrics: {} }], { ...details, evaluated: [details.evaluated[0]!, { path: [2], score: 80, generation: 1 }] }, null, 'nb201'), undefined);
});
