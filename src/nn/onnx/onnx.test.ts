import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ChainCnnArch, DartsArch, DartsCell, MlpArch, Nb201Arch, NetworkArch } from '../../core/arch.js';
import { isNasError } from '../../core/errors.js';
import { Generator, Tensor, liveTensors, noGrad, tidy } from '../../tensor/index.js';
import { buildNetwork, lenet } from '../build/index.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, GELU, Hardswish, LayerNorm, LeakyReLU, Linear, LogSoftmax, ReLU6, Sequential, Softmax } from '../layers.js';
import type { Layer } from '../module.js';
import { ProtoWriter } from './proto.js';
import { exportOnnx } from './index.js';

/** Non-trivial BatchNorm state (as after training): random affine parameters and running statistics. */
function randomizeBatchNorm(m: Layer, gen: Generator): void {
  tidy(() =>
    noGrad(() => {
      for (const b of m.modules()) {
        if (!(b instanceof BatchNorm1d || b instanceof BatchNorm2d)) continue;
        const n = b.numFeatures;
        b.weight!.copy_(gen.randn([n]).mul(0.3).add(1));
        b.bias!.copy_(gen.randn([n]).mul(0.3));
        b.runningMean!.copy_(gen.randn([n]).mul(0.5));
        b.runningVar!.copy_(gen.randn([n]).abs().add(0.3));
      }
    }),
  );
}

/** Runs the exported model in onnxruntime and tsnas's eval-mode forward on the same input; returns the max abs difference. */
async function compare(m: Layer, shape: readonly number[], batch = 3, seed = 7, affine?: { a: number[]; b: number[] }): Promise<{ diff: number; out: number[] }> {
  const gen = new Generator(seed);
  const bytes = exportOnnx(m, shape, affine ? { inputAffine: affine } : {});
  const session = await ort.InferenceSession.create(bytes);
  const x = gen.randn([batch, ...shape]);
  try {
    const xs = x.toTypedArray() as Float32Array;
    // With an input affine the model takes raw x and applies x * a + b (per channel) itself.
    const prep = (t: Tensor): Tensor => {
      if (!affine) return t;
      const dims = [1, affine.a.length, ...new Array<number>(shape.length - 1).fill(1)];
      return t.mul(Tensor.fromArray(affine.a, dims)).add(Tensor.fromArray(affine.b, dims));
    };
    const want = tidy(() => noGrad(() => m.eval().forward(prep(x)).toTypedArray() as Float32Array));
    const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(xs), [batch, ...shape]) });
    const got = res[session.outputNames[0]!]!;
    assert.equal(got.data.length, want.length);
    let diff = 0;
    (got.data as Float32Array).forEach((v, i) => (diff = Math.max(diff, Math.abs(v - want[i]!))));
    return { diff, out: [...got.dims] };
  } finally {
    x.dispose();
    await session.release();
  }
}

const nb = (ops: string): Nb201Arch => ({ family: 'nb201', ops: ops.split(',') as unknown as Nb201Arch['ops'] });
const chain: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0.2,
  layers: [
    { kernel: 5, channels: 8, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 8, activation: 'gelu', batchNorm: false, pool: 2, skip: true },
    { kernel: 7, channels: 12, activation: 'silu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 12, activation: 'tanh', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 6, activation: 'sigmoid', batchNorm: false, pool: 3, skip: false },
  ],
};
const mlp: MlpArch = { family: 'mlp', hidden: [32, 16], activation: 'relu', batchNorm: true, dropout: 0.1 };
const dartsCell = (l: [string, number][]) => ({ edges: l.map(([op, input]) => ({ op, input })) }) as unknown as DartsCell;
const darts: DartsArch = {
  family: 'darts',
  normal: dartsCell([['sep_conv_3x3', 0], ['dil_conv_3x3', 1], ['none', 0], ['sep_conv_5x5', 1], ['avg_pool_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_5x5', 2]]),
  reduce: dartsCell([['max_pool_3x3', 0], ['none', 1], ['skip_connect', 2], ['avg_pool_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 1], ['sep_conv_3x3', 2], ['max_pool_3x3', 1]]),
};
const TOL = 1e-4;

function built(arch: NetworkArch, shape: number[], numClasses: number, seed: number, nb201 = { width: 4, cells: 1 }): Layer {
  const { module } = buildNetwork(arch, { shape, numClasses }, { gen: new Generator(seed), nb201, darts: { width: 4, layers: 5 } });
  randomizeBatchNorm(module, new Generator(seed + 100));
  return module;
}

/** One network of every family (small widths), with random weights and BatchNorm statistics. */
function familyCases(): { name: string; m: Layer; shape: number[] }[] {
  return [
    { name: 'lenet', m: lenet(new Generator(1)), shape: [1, 28, 28] },
    { name: 'nb201 (conv, avg pool, skip, none)', m: built(nb('nor_conv_3x3,avg_pool_3x3,none,skip_connect,nor_conv_1x1,nor_conv_3x3'), [3, 16, 16], 10, 2, { width: 4, cells: 2 }), shape: [3, 16, 16] },
    // node 1 receives only a `none` edge: the x*0 fallback path
    { name: 'nb201 (all none but one)', m: built(nb('none,none,avg_pool_3x3,none,none,skip_connect'), [3, 8, 8], 5, 3), shape: [3, 8, 8] },
    { name: 'chain cnn with skips, projections, pools, every activation', m: built(chain, [2, 12, 12], 4, 4), shape: [2, 12, 12] },
    { name: 'chain cnn with a flatten head and a hidden layer', m: built({ ...chain, head: { kind: 'flatten', hidden: 9 } }, [2, 13, 13], 4, 8), shape: [2, 13, 13] },
    { name: 'mlp with batch norm and dropout', m: built(mlp, [20], 3, 5), shape: [20] },
    { name: 'mlp on images (flatten)', m: built({ ...mlp, activation: 'gelu' }, [1, 8, 8], 10, 6), shape: [1, 8, 8] },
    { name: 'darts (sep/dil convs, factorized reduce, strided zero)', m: built(darts, [3, 8, 8], 10, 7), shape: [3, 8, 8] },
  ];
}

test('onnxruntime reproduces the eval-mode forward of every network family (max abs diff < 1e-4)', async () => {
  const before = liveTensors();
  for (const c of familyCases()) {
    const { diff, out } = await compare(c.m, c.shape);
    assert.ok(diff < TOL, `${c.name}: max |onnxruntime - tsnas| = ${diff}`);
    assert.equal(out[0], 3, c.name);
    c.m.dispose();
  }
  assert.equal(liveTensors(), before, 'export allocates nothing that outlives it');
});

test('the ONNX checker (Debian python3-onnx) accepts every family: full check, strict shape inference to [batch, classes]', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status !== 0) return t.skip('python3-onnx is not installed (scripts/setup installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-onnx-'));
  try {
    const files = familyCases().map((c, i) => {
      const f = join(dir, `m${i}.onnx`);
      writeFileSync(f, exportOnnx(c.m, c.shape));
      c.m.dispose();
      return f;
    });
    const py = [
      'import json, sys, onnx',
      'out = []',
      'for f in json.loads(sys.stdin.read()):',
      '    m = onnx.load(f)',
      '    onnx.checker.check_model(m, full_check=True)',
      '    g = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True).graph',
      '    out.append([d.dim_param or d.dim_value for d in g.output[0].type.tensor_type.shape.dim])',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(files), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [['batch', 10], ['batch', 10], ['batch', 5], ['batch', 4], ['batch', 4], ['batch', 3], ['batch', 10], ['batch', 10]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the other layers: grouped/dilated/strided conv, activations, softmax, 3-D linear, count_include_pad', async () => {
  const gen = new Generator(11);
  const { AvgPool2d, Flatten, MaxPool2d } = await import('../layers.js');
  const m = new Sequential(
    new Conv2d(4, 8, 3, { gen, stride: 2, padding: 2, dilation: 2, groups: 2 }),
    new LeakyReLU(0.2),
    new AvgPool2d(3, { stride: 1, padding: 1 }),
    new ReLU6(),
    new MaxPool2d([2, 3], { stride: 1, padding: 1 }),
    new Hardswish(),
    new GELU(),
    new Flatten(2),
    new Linear(36, 5, { gen }),
    new Softmax(1),
    new Flatten(),
    new Linear(40, 6, { gen, bias: false }),
    new LogSoftmax(),
  );
  const { diff, out } = await compare(m, [4, 9, 11]);
  assert.ok(diff < TOL, `max diff ${diff}`);
  assert.deepEqual(out, [3, 6]);
  m.dispose();
});

test('input affine (the training normalisation) is baked in front of the network', async () => {
  const m = built({ family: 'chain_cnn', dropout: 0, layers: [{ kernel: 3, channels: 4, activation: 'relu', batchNorm: true, pool: 2, skip: false }] }, [3, 6, 6], 5, 12);
  const { diff } = await compare(m, [3, 6, 6], 2, 3, { a: [1 / 255, 2 / 255, 0.5], b: [-0.5, 0.25, 1] });
  assert.ok(diff < TOL, `max diff ${diff}`);
  const mlpNet = built(mlp, [20], 3, 13);
  assert.ok((await compare(mlpNet, [20], 2, 3, { a: [0.1], b: [-2] })).diff < TOL);
  assert.throws(() => exportOnnx(mlpNet, [20], { inputAffine: { a: [1, 2], b: [0, 0] } }), (e: unknown) => isNasError(e, 'shape_mismatch') && e.field === 'inputAffine');
  m.dispose();
  mlpNet.dispose();
});

test('initializers are named like the state dict keys; unsupported modules name their path and class', async () => {
  const { module } = buildNetwork(nb('nor_conv_3x3,none,none,none,none,skip_connect'), { shape: [3, 8, 8], numClasses: 10 }, { gen: new Generator(0), nb201: { width: 4, cells: 1 } });
  const bytes = exportOnnx(module, [3, 8, 8]);
  const text = new TextDecoder('latin1').decode(bytes);
  for (const k of module.stateDict().keys()) {
    if (k.endsWith('num_batches_tracked')) assert.ok(!text.includes(k), `${k} is not exported`);
    else assert.ok(text.includes(k), `initializer ${k}`);
  }
  module.dispose();
  const bad = new Sequential(new Linear(4, 4, { gen: new Generator(0) }), new Sequential(new LayerNorm(4)));
  assert.throws(
    () => exportOnnx(bad, [4]),
    (e: unknown) => isNasError(e, 'not_found') && e.field === '1.0' && /LayerNorm/.test((e as Error).message),
  );
  assert.throws(() => exportOnnx(bad, [0]), (e: unknown) => isNasError(e, 'shape_mismatch') && e.field === 'inputShape');
  // The shape check is tsnas's own forward: an input the module cannot take fails before export.
  assert.throws(() => exportOnnx(new Sequential(new Linear(4, 2, { gen: new Generator(0) })), [5]));
  bad.dispose();
});

test('protobuf varints: 64-bit two\'s complement for negatives, as protoc writes them', () => {
  const w = new ProtoWriter();
  w.varint(1);
  w.varint(300);
  w.varint(-1);
  assert.deepEqual([...w.finish()], [1, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});
