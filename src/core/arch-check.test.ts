/**
 * The complete architecture check (src/core/arch-check.ts via checkArchJson), new-user finding of
 * session 9: a malformed architecture crashed the builder with a TypeError (`layers` for `hidden`,
 * `"hidden": 16`), and the checks reported one problem at a time, a missing field as "got undefined",
 * and ignored unknown fields. Every family: all problems at once, missing said as missing, unknown
 * fields refused with did-you-mean, each issue naming its field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NasError, isNasError, issuesOf, type Issue } from './errors.js';
import { checkArchJson } from '../eval/train.js';
import { inArchFile } from './arch-check.js';
import type { NetworkArch } from './arch.js';
import { analyzeArch, buildNetwork } from '../nn/build/index.js';
import { Generator } from '../tensor/index.js';

function problems(j: unknown): Issue[] {
  try {
    checkArchJson(j);
  } catch (e) {
    assert.ok(isNasError(e), `not a NasError: ${String(e)}`);
    return issuesOf(e);
  }
  assert.fail(`accepted: ${JSON.stringify(j)}`);
}
const byField = (l: Issue[]) => Object.fromEntries(l.map((i) => [i.field, i]));

const MLP = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 };
const LAYER = { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 2, skip: false };
const CHAIN = { family: 'chain_cnn', layers: [LAYER, LAYER], dropout: 0.1, head: { kind: 'flatten', hidden: 0 } };
const NB201 = { family: 'nb201', ops: ['nor_conv_3x3', 'skip_connect', 'none', 'avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3'] };
const CELL = { edges: Array.from({ length: 8 }, (_, i) => ({ op: 'sep_conv_3x3', input: i % 2 })) };
const DARTS = { family: 'darts', normal: CELL, reduce: CELL };

test('well-formed architectures of every family (and joint ones) pass', () => {
  for (const a of [MLP, CHAIN, { ...CHAIN, head: undefined }, NB201, DARTS, { arch: MLP, hparams: { lr: 0.01 } }]) assert.doesNotThrow(() => checkArchJson(JSON.parse(JSON.stringify(a))));
});

test('mlp: `layers` for `hidden` and a number for `hidden` are field errors, every problem at once', () => {
  const f = byField(problems({ family: 'mlp', layers: [16], activation: 'relu' }));
  assert.deepEqual(Object.keys(f).sort(), ['batchNorm', 'dropout', 'hidden', 'layers']);
  assert.equal(f['hidden']!.message, 'missing');
  assert.match(f['layers']!.message, /unknown field "layers".*did you mean hidden/);
  assert.ok(f['layers']!.code === 'invalid_arch');
  const n = problems({ ...MLP, hidden: 16 });
  assert.equal(n.length, 1);
  assert.equal(n[0]!.field, 'hidden');
  assert.match(n[0]!.hint ?? '', /\[16\]/);
  const m = byField(problems({ family: 'mlp', hidden: [16] }));
  assert.deepEqual(Object.keys(m).sort(), ['activation', 'batchNorm', 'dropout']);
  for (const i of Object.values(m)) assert.equal((i as Issue).message, 'missing');
  const v = byField(problems({ ...MLP, hidden: [16, -2, 'x'], activation: 'rellu', batchNorm: 'yes', dropout: 1.5, hiden: [3] }));
  assert.deepEqual(Object.keys(v).sort(), ['activation', 'batchNorm', 'dropout', 'hidden[1]', 'hidden[2]', 'hiden']);
  assert.match(v['activation']!.message, /did you mean relu/);
  assert.match(v['hiden']!.message, /did you mean hidden/);
});

test('chain_cnn: each layer field, head and unknown fields are named', () => {
  const f = byField(problems({ family: 'chain_cnn', layers: [LAYER, { ...LAYER, kernel: 4, channels: 0, skip: undefined, stride: 1 }], head: { kind: 'flaten' } }));
  assert.deepEqual(Object.keys(f).sort(), ['dropout', 'head.kind', 'layers[1].channels', 'layers[1].kernel', 'layers[1].skip', 'layers[1].stride']);
  assert.equal(f['layers[1].skip']!.message, 'missing');
  assert.match(f['head.kind']!.message, /did you mean flatten/);
  assert.equal(problems({ ...CHAIN, layers: { kernel: 3 } })[0]!.field, 'layers');
  assert.equal(problems({ ...CHAIN, head: { kind: 'flatten' } })[0]!.field, 'head.hidden');
});

test('nb201 and darts: ops, cells and edges are named', () => {
  assert.equal(problems({ family: 'nb201' })[0]!.message, 'missing');
  assert.equal(problems({ ...NB201, ops: ['none'] })[0]!.field, 'ops');
  const o = problems({ ...NB201, ops: [...NB201.ops.slice(0, 5), 'conv_3x3'] });
  assert.equal(o[0]!.field, 'ops[5]');
  const d = byField(problems({ family: 'darts', normal: { edges: CELL.edges.map((e, i) => (i === 3 ? { op: 'sep_conv_3', input: 9 } : e)) } }));
  assert.deepEqual(Object.keys(d).sort(), ['normal.edges[3].input', 'normal.edges[3].op', 'reduce']);
  assert.match(d['normal.edges[3].op']!.message, /did you mean sep_conv_3x3/);
  assert.equal(problems({ ...DARTS, reduce: 'x' })[0]!.field, 'reduce');
});

test('joint {arch, hparams}: fields under arch., hparams problems and unknown keys together', () => {
  const f = byField(problems({ arch: { family: 'mlp', hidden: 8 }, hparams: { lr: -1 }, hparms: {} }));
  assert.ok(f['arch.hidden'] && f['arch.activation'] && f['hparms'], JSON.stringify(Object.keys(f)));
  assert.ok(Object.keys(f).some((k) => /lr/.test(k)), JSON.stringify(Object.keys(f)));
  assert.equal(problems({ arch: MLP })[0]!.field, 'hparams');
  assert.equal(problems({ family: 'mpl', hidden: [1] })[0]!.field, 'family');
  assert.match(problems({ family: 'mpl' })[0]!.message, /did you mean mlp/);
  assert.equal(problems({ hidden: [1] })[0]!.message, 'missing');
  assert.equal(problems([MLP])[0]!.code, 'invalid_arch');
});

test('the direct API (analyzeArch, buildNetwork) reports every problem at once, as the CLI does', () => {
  const bad = { family: 'mlp', hidden: 16 } as unknown as NetworkArch;
  for (const call of [() => analyzeArch(bad, { shape: [4], numClasses: 2 }), () => buildNetwork(bad, { shape: [4], numClasses: 2 }, { gen: new Generator(0) })])
    assert.throws(call, (e: unknown) => {
      assert.ok(isNasError(e, 'invalid_arch'), String(e));
      assert.deepEqual(issuesOf(e).map((i) => i.field).sort(), ['activation', 'batchNorm', 'dropout', 'hidden']);
      return true;
    });
  const cnn = { family: 'chain_cnn', layers: [{ kernel: 4 }], dropout: 0 } as unknown as NetworkArch;
  assert.throws(() => analyzeArch(cnn, { shape: [1, 8, 8], numClasses: 2 }), (e: unknown) => isNasError(e) && issuesOf(e).length > 2 && issuesOf(e).some((i) => i.field === 'layers[0].kernel'));
});

test('inArchFile: errors of an architecture read from a file name it', () => {
  const many = (() => {
    try {
      checkArchJson({ family: 'mlp', hidden: [4] }, 'runs/a.json');
    } catch (e) {
      return e;
    }
  })();
  assert.ok(isNasError(many, 'invalid_arch') && /^3 problems in the architecture file runs\/a\.json:/.test(many.message), String(many));
  assert.throws(() => checkArchJson({ family: 'mlp', hidden: 4, activation: 'relu', batchNorm: false, dropout: 0 }, 'b.json'), (e: unknown) => isNasError(e) && e.field === 'b.json:hidden');
  assert.throws(() => checkArchJson({ family: 'mlp', hidden: 4, activation: 'relu', batchNorm: false, dropout: 0 }), (e: unknown) => isNasError(e) && e.field === 'hidden', 'no file: the field alone');
  const other = new NasError('data_error', 'x');
  assert.equal(inArchFile(other, 'f.json'), other);
});
