import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChainCnnArch, DartsArch, DartsCell, MlpArch, Nb201Arch } from '../../core/arch.js';
import { isNasError } from '../../core/errors.js';
import { Generator, Tensor, liveTensors, noGrad, tidy } from '../../tensor/index.js';
import { ChainCnnNet, analyzeArch, buildNetwork } from './index.js';
import type { Linear } from '../layers.js';

const nb = (ops: string): Nb201Arch => ({ family: 'nb201', ops: ops.split(',') as unknown as Nb201Arch['ops'] });

const chain: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0.2,
  layers: [
    { kernel: 5, channels: 8, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 8, activation: 'gelu', batchNorm: false, pool: 2, skip: true },
    { kernel: 7, channels: 12, activation: 'silu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 12, activation: 'tanh', batchNorm: false, pool: 3, skip: false },
  ],
};
const dartsCell = (l: [string, number][]) => ({ edges: l.map(([op, input]) => ({ op, input })) }) as unknown as DartsCell;
const DARTS_V2: DartsArch = {
  family: 'darts',
  normal: dartsCell([['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2]]),
  reduce: dartsCell([['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]]),
};
const mlp: MlpArch = { family: 'mlp', hidden: [32, 16], activation: 'sigmoid', batchNorm: true, dropout: 0.1 };

test('built modules have exactly the analysed parameter count and output shape', () => {
  const cases = [
    { arch: chain, shape: [1, 8, 8] },
    { arch: { ...chain, head: { kind: 'gap' as const } }, shape: [1, 8, 8] },
    { arch: { ...chain, head: { kind: 'flatten' as const, hidden: 0 } }, shape: [1, 13, 11] },
    { arch: { ...chain, head: { kind: 'flatten' as const, hidden: 9 } }, shape: [2, 12, 12] },
    { arch: mlp, shape: [1, 8, 8] },
    { arch: mlp, shape: [13] },
    { arch: nb('nor_conv_3x3,nor_conv_3x3,nor_conv_3x3,skip_connect,nor_conv_3x3,nor_conv_1x1'), shape: [3, 32, 32] },
    { arch: nb('avg_pool_3x3,none,none,none,none,none'), shape: [3, 16, 16] },
    { arch: DARTS_V2, shape: [3, 16, 16] },
    { arch: { ...DARTS_V2, normal: DARTS_V2.reduce, reduce: DARTS_V2.normal }, shape: [1, 8, 8] },
  ];
  for (const { arch, shape } of cases) {
    const before = liveTensors();
    const { module, report } = buildNetwork(arch, { shape, numClasses: 7 }, { gen: new Generator(1) });
    assert.equal(module.numParameters(), report.params, `${arch.family} ${shape}`);
    const out = tidy(() => noGrad(() => module.eval().forward(Tensor.ones([2, ...shape])).shape));
    assert.deepEqual(out, [2, 7]);
    module.dispose();
    assert.equal(liveTensors(), before, 'dispose frees every parameter and buffer');
  }
});

test('NB201 C=16 N=5 built module: 802,426 parameters like the table', () => {
  const { module } = buildNetwork(nb('nor_conv_3x3,nor_conv_3x3,avg_pool_3x3,skip_connect,nor_conv_3x3,skip_connect'), { shape: [3, 32, 32], numClasses: 10 }, { gen: new Generator(0) });
  assert.equal(module.numParameters(), 802426);
  module.dispose();
});

test('an impossible architecture is rejected before anything is allocated', () => {
  const before = liveTensors();
  const bad: ChainCnnArch = { ...chain, layers: [...chain.layers, { kernel: 3, channels: 4, activation: 'relu', batchNorm: false, pool: 5, skip: false }] };
  assert.throws(() => buildNetwork(bad, { shape: [1, 8, 8], numClasses: 10 }, { gen: new Generator(0) }), (e: unknown) => isNasError(e, 'shape_mismatch') && e.field === 'layers[4].pool');
  assert.equal(liveTensors(), before);
});

test('a chain CNN head: absent means gap; a bad flatten head names the field', () => {
  const cost = (a: ChainCnnArch) => buildNetwork(a, { shape: [1, 8, 8], numClasses: 7 }, { gen: new Generator(1) });
  const plain = cost(chain);
  const gap = cost({ ...chain, head: { kind: 'gap' } });
  assert.equal(plain.report.params, gap.report.params);
  plain.module.dispose();
  gap.module.dispose();
  // 8x8 -> pool 2 -> 4x4 -> pool 3 -> 1x1: 12 features; a hidden layer of 5 adds 12*5+5 + (5*7+7) - (12*7+7)
  const flat = cost({ ...chain, head: { kind: 'flatten', hidden: 5 } });
  assert.equal(flat.report.params - plain.report.params, 12 * 5 + 5 + 5 * 7 + 7 - (12 * 7 + 7));
  flat.module.dispose();
  for (const hidden of [-1, 2.5]) {
    assert.throws(() => buildNetwork({ ...chain, head: { kind: 'flatten', hidden } }, { shape: [1, 8, 8], numClasses: 7 }, { gen: new Generator(1) }), (e: unknown) => isNasError(e, 'invalid_arch') && e.field === 'head.hidden');
  }
  assert.throws(() => buildNetwork({ ...chain, head: { kind: 'pool' } as never }, { shape: [1, 8, 8], numClasses: 7 }, { gen: new Generator(1) }), (e: unknown) => isNasError(e, 'invalid_arch') && e.field === 'head.kind');
});

test('the chain CNN\'s flatten head is sized from the cost analysis\'s featureShape, for every family\'s head input', () => {
  const flat: ChainCnnArch = { ...chain, head: { kind: 'flatten', hidden: 0 } };
  // 13x11 -> pool 2 -> 6x5 -> pool 3 -> 2x1 (floors), 12 channels
  const { module, report } = buildNetwork(flat, { shape: [1, 13, 11], numClasses: 7 }, { gen: new Generator(1) });
  assert.deepEqual(report.featureShape, [12, 2, 1]);
  const lin = (module as ChainCnnNet).head.at(2) as Linear;
  assert.equal(lin.weight.shape[1], 12 * 2 * 1);
  module.dispose();
  assert.deepEqual(analyzeArch(mlp, { shape: [13], numClasses: 7 }).featureShape, [16]);
  assert.deepEqual(analyzeArch(nb('none,none,none,none,none,none'), { shape: [3, 16, 16], numClasses: 7 }, { nb201: { width: 4, cells: 1 } }).featureShape, [16, 4, 4]);
  assert.deepEqual(analyzeArch(DARTS_V2, { shape: [3, 16, 16], numClasses: 7 }, { darts: { width: 4, layers: 3 } }).featureShape?.slice(1), [4, 4]);
  // Built directly, a flatten head without the analysis's shape, or with one that disagrees, is refused.
  assert.throws(() => new ChainCnnNet(flat, 1, 7, new Generator(1)), (e: unknown) => isNasError(e, 'invalid_arch') && e.field === 'head');
  assert.throws(() => new ChainCnnNet(flat, 1, 7, new Generator(1), [8, 2, 1]), (e: unknown) => isNasError(e, 'internal'));
});

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test('NB201 network computes what PyTorch\'s NB201Net computes (same seed -> same init -> same logits)', { skip: !torchOk && 'no /usr/bin/python3 with torch' }, () => {
  const arch = '|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
  const ops = arch.split('+').flatMap((n) => n.split('|').filter(Boolean).map((t) => t.split('~')[0]));
  const { module } = buildNetwork(nb(ops.join(',')), { shape: [3, 16, 16], numClasses: 10 }, { gen: new Generator(0), nb201: { width: 4, cells: 2 } });
  const x = Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));
  const ours = tidy(() => {
    const t = Tensor.fromArray(x, [2, 3, 16, 16]);
    return { train: module.train().forward(t).toArray(), eval: noGrad(() => module.eval().forward(t).toArray()) };
  });
  module.dispose();
  const py = [
    'import sys, json, math, torch',
    `sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../../../bench', import.meta.url)))})`,
    'from torch_reference import NB201Net',
    'torch.manual_seed(0)',
    `m = NB201Net(${JSON.stringify(arch)}, C=4, N=2)`,
    'x = torch.tensor([math.sin(i * 0.37) for i in range(2 * 3 * 16 * 16)], dtype=torch.float32).reshape(2, 3, 16, 16)',
    'm.train(); a = m(x).flatten().tolist()',
    'm.eval()',
    'with torch.no_grad(): b = m(x).flatten().tolist()',
    'print(json.dumps({"train": a, "eval": b}))',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const theirs = JSON.parse(r.stdout) as { train: number[]; eval: number[] };
  for (const k of ['train', 'eval'] as const) {
    assert.equal(ours[k].length, 20);
    ours[k].forEach((v, i) => assert.ok(Math.abs(v - theirs[k][i]!) < 1e-4, `${k}[${i}]: ${v} vs ${theirs[k][i]}`));
  }
});
