/**
 * The native engine against the op-by-op path: values, gradients, running statistics, optimizer
 * trajectories and eval outputs (folded and unfolded) for every built family; errors naming the
 * layer; the fallback for modules it cannot express; against PyTorch for NB201 (as build.test.ts
 * does for the op-by-op path). Tolerances, never exact equality (thread counts vary).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChainCnnArch, DartsArch, DartsCell, MlpArch, Nb201Arch, NetworkArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { Generator, Tensor, crossEntropy, getNumThreads, liveTensors, noGrad, tidy } from '../tensor/index.js';
import { buildNetwork, lenet } from './build/index.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, LeakyReLU, Linear, MaxPool2d, ReLU, Sequential, Tanh } from './layers.js';
import { Module, type Layer } from './module.js';
import { compileNative, type CompileOptions } from './native-exec.js';
import { Adam, SGD, type Optimizer } from './optim.js';

const nb = (ops: string): Nb201Arch => ({ family: 'nb201', ops: ops.split(',') as unknown as Nb201Arch['ops'] });
const dartsCell = (l: [string, number][]) => ({ edges: l.map(([op, input]) => ({ op, input })) }) as unknown as DartsCell;

const chain: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0.2,
  layers: [
    { kernel: 5, channels: 6, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 6, activation: 'gelu', batchNorm: false, pool: 2, skip: true },
    { kernel: 3, channels: 8, activation: 'silu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 8, activation: 'tanh', batchNorm: false, pool: 1, skip: true },
  ],
};
const darts: DartsArch = {
  family: 'darts',
  normal: dartsCell([['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['dil_conv_3x3', 0], ['avg_pool_3x3', 1], ['none', 1], ['skip_connect', 0], ['max_pool_3x3', 2], ['dil_conv_5x5', 3]]),
  reduce: dartsCell([['max_pool_3x3', 0], ['skip_connect', 1], ['skip_connect', 2], ['sep_conv_3x3', 1], ['avg_pool_3x3', 0], ['none', 2], ['dil_conv_3x3', 2], ['max_pool_3x3', 1]]),
};
const mlp: MlpArch = { family: 'mlp', hidden: [24, 16], activation: 'relu', batchNorm: true, dropout: 0.1 };

interface Case {
  name: string;
  make: (gen: Generator) => Layer;
  input: number[];
}
const built = (arch: NetworkArch, shape: number[]) => (gen: Generator) =>
  buildNetwork(arch, { shape, numClasses: 5 }, { gen, nb201: { width: 4, cells: 2 }, darts: { width: 4, layers: 3 } }).module;
const CASES: Case[] = [
  { name: 'lenet', make: (g) => lenet(g), input: [3, 1, 28, 28] },
  { name: 'chain_cnn', make: built(chain, [3, 10, 10]), input: [4, 3, 10, 10] },
  // every NB201 op, same-source convolutions (merged), and a node whose only input edge is `none`
  { name: 'nb201', make: built(nb('nor_conv_3x3,nor_conv_3x3,nor_conv_3x3,skip_connect,nor_conv_1x1,avg_pool_3x3'), [3, 8, 8]), input: [4, 3, 8, 8] },
  { name: 'nb201 none', make: built(nb('none,none,none,skip_connect,nor_conv_1x1,nor_conv_3x3'), [3, 8, 8]), input: [4, 3, 8, 8] },
  { name: 'darts', make: built(darts, [3, 8, 8]), input: [2, 3, 8, 8] },
  { name: 'mlp', make: built(mlp, [3, 4, 4]), input: [6, 3, 4, 4] },
  { name: 'chain_cnn flatten head', make: built({ ...chain, head: { kind: 'flatten', hidden: 7 } }, [3, 10, 10]), input: [4, 3, 10, 10] },
  // poolFirst moves both pools: leaky ReLU before a padded 3x3/2 pool, ReLU before a ceil-mode pool
  { name: 'act-pool orders', make: actPool, input: [3, 3, 9, 9] },
];

function actPool(gen: Generator): Layer {
  return new Sequential(
    new Conv2d(3, 4, 3, { gen, padding: 1 }), new LeakyReLU(0.1), new MaxPool2d(3, { stride: 2, padding: 1 }),
    new Conv2d(4, 4, 3, { gen }), new ReLU(), new MaxPool2d(2, { ceilMode: true }),
    new Flatten(), new Linear(16, 5, { gen }),
  );
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rel = 1e-4, abs = 1e-6): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
  const tol = rel * scale + abs;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]} (tol ${tol})`);
}

function labels(n: number): Tensor {
  return Tensor.fromArray(Array.from({ length: n }, (_, i) => (i * 3) % 5), [n], 'int64');
}

/** Native forward/backward/eval of each case (compiled with `o`) against the op-by-op path. */
function checkParity(cases: Case[], o: CompileOptions): void {
  for (const c of cases) {
    const a = c.make(new Generator(0));
    const b = c.make(new Generator(0));
    const net = compileNative(b, o);
    assert.ok(net, c.name);
    const x = new Generator(1).randn(c.input);
    const y = labels(c.input[0]!);
    const run = (m: Layer, f: (t: Tensor) => Tensor) => {
      m.train();
      m.zeroGrad();
      const [out, loss] = tidy(() => {
        const o = f(x);
        const l = crossEntropy(o, y);
        l.backward();
        return [o.toFloat32Array(), l.item()] as const;
      });
      return { out, loss, grads: m.parameters().map((p) => p.grad?.toFloat32Array()), buffers: m.namedBuffers().map(([, t]) => t.toFloat64Array()) };
    };
    const r1 = run(a, (t) => a.forward(t));
    const r2 = run(b, (t) => net.forward(t));
    close(r1.out, r2.out, `${c.name} train logits`);
    assert.ok(Math.abs(r1.loss - r2.loss) < 1e-5, `${c.name} loss ${r1.loss} vs ${r2.loss}`);
    r1.grads.forEach((g, i) => {
      assert.equal(g === undefined, r2.grads[i] === undefined, `${c.name} grad ${i} presence`);
      if (g) close(g, r2.grads[i]!, `${c.name} grad ${a.namedParameters()[i]![0]}`, 1e-3);
    });
    r1.buffers.forEach((t, i) => close(t, r2.buffers[i]!, `${c.name} buffer ${a.namedBuffers()[i]![0]}`));
    // eval: op-by-op under noGrad vs inference mode, with and without conv+BN folding
    a.eval();
    const ref = tidy(() => noGrad(() => a.forward(x).toFloat32Array()));
    close(ref, tidy(() => net.infer(x, false).toFloat32Array()), `${c.name} eval logits`);
    close(ref, tidy(() => net.infer(x, true).toFloat32Array()), `${c.name} folded eval logits`, 1e-3);
    const ev = net.evalBatch(x, x.shape, y);
    const refLoss = tidy(() => noGrad(() => crossEntropy(a.forward(x), y).item()));
    assert.ok(Math.abs(ev.loss - refLoss) < 1e-4, `${c.name} eval loss ${ev.loss} vs ${refLoss}`);
    assert.equal(ev.predictions.length, c.input[0]);
    net.dispose();
    for (const t of [x, y]) t.dispose();
    a.dispose();
    b.dispose();
  }
}

test('native forward, gradients and running statistics equal the op-by-op path for every built family', () => {
  checkParity(CASES, {});
});

test('poolFirst (max pooling before the activation that feeds it; off by default) gives the same values and gradients', () => {
  checkParity(CASES.filter((k) => k.name === 'act-pool orders' || k.name.startsWith('chain_cnn') || k.name === 'lenet'), { poolFirst: true });
});

test("poolKernel: false (libtorch's max_pool2d instead of graph.cc's 2x2 kernel) gives the same values and gradients", () => {
  checkParity(CASES.filter((k) => k.name === 'act-pool orders' || k.name === 'lenet' || k.name === 'darts'), { poolKernel: false });
});

test('channels-last activations and conv weights (compileNative channelsLast) give the same values and gradients', () => {
  // The op-by-op path runs NCHW; the gradients reach the NCHW parameters through the layout copy.
  // The default compile above runs NB201 channels-last without merged convolutions ('auto'); this
  // forces channels-last with the merge on every conv family, and NCHW with the merge on NB201.
  checkParity(CASES.filter((k) => k.name !== 'mlp'), { channelsLast: true, fuseConvs: true });
  checkParity(CASES.filter((k) => k.name.startsWith('nb201')), { channelsLast: false });
});

test('the native 2x2 max pooling picks the elements ATen picks: ties, NaN, -Infinity, odd sizes, ceil mode', () => {
  // graph.cc's MaxPool2x2 replaces libtorch's kernel for 2x2/2 windows: values and the gradient
  // routing must be ATen's (first maximum in row-major order wins a tie, a NaN wins, -Infinity
  // windows route to their first element). Integer-valued inputs make ties common. Widths of 4+
  // output columns run the kernel's 4-wide SIMD part and its scalar tail; the largest shape is
  // split over the threads (parallel_for); poolKernel: false is libtorch's kernel (same results).
  const shapes = [
    [[2, 3, 6, 6], false], [[1, 2, 5, 7], false], [[2, 2, 4, 6], true],
    [[2, 3, 10, 18], false], [[1, 2, 9, 11], false], [[2, 2, 8, 16], true], [[4, 64, 32, 34], false],
  ] as const;
  for (const [shape, ceil] of shapes) {
    const n = (shape as readonly number[]).reduce((p, q) => p * q, 1);
    const W = shape[3]!;
    const vals = Array.from({ length: n }, (_, i) => ((i * 7) % 5) - 2);
    for (let i = 3; i < n; i += 37) vals[i] = NaN;
    for (const i of [9, 2 * W + 9]) if (i < n) vals[i] = NaN;
    for (let i = 12; i + W + 1 < n; i += 4 * W + 40) vals[i] = vals[i + 1] = vals[i + W] = vals[i + W + 1] = -Infinity;
    const pool = new MaxPool2d(2, { ceilMode: ceil });
    const run = (f: (t: Tensor) => Tensor) =>
      tidy(() => {
        const x = Tensor.fromArray(vals, [...shape]).requiresGrad_();
        const y = f(x);
        const g = Tensor.fromArray(Array.from({ length: y.numel }, (_, i) => i + 1), y.shape);
        y.backward(g);
        return [y.toFloat32Array(), x.grad!.toFloat32Array()] as const;
      });
    const [y1, g1] = run((t) => pool.forward(t));
    for (const poolKernel of [true, false]) {
      const net = compileNative(pool, { poolKernel })!;
      const [y2, g2] = run((t) => net.forward(t));
      assert.deepEqual([...y2].map(String), [...y1].map(String), `values ${shape} poolKernel ${poolKernel}`);
      assert.deepEqual([...g2], [...g1], `gradients ${shape} poolKernel ${poolKernel}`);
      // inference (no autograd, no window positions kept) gives the same values
      const yi = tidy(() => net.infer(Tensor.fromArray(vals, [...shape]), false).toFloat32Array());
      assert.deepEqual([...yi].map(String), [...y1].map(String), `inference values ${shape} poolKernel ${poolKernel}`);
      net.dispose();
    }
  }
});

test("channelsLast 'auto' picks channels-last for a network without max pooling only", () => {
  for (const [c, want] of [['lenet', false], ['nb201', true], ['darts', false], ['mlp', false]] as const) {
    const m = CASES.find((k) => k.name === c)!.make(new Generator(0));
    const net = compileNative(m)!;
    assert.equal(net.channelsLast, want, c);
    net.dispose();
    m.dispose();
  }
});

test('a native training step equals the op-by-op step (SGD with Nesterov and weight decay, Adam) and leaks nothing', () => {
  for (const c of CASES.filter((k) => ['lenet', 'nb201', 'mlp'].includes(k.name))) {
    // Parameters whose gradient is rounding noise (e.g. a BN bias feeding a BN) may move by up to
    // lr per step under Adam on either side, so Adam's parameters are compared to 2 * steps * lr.
    for (const [mkOpt, abs] of [
      [(m: Layer): Optimizer => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }), 1e-5],
      [(m: Layer): Optimizer => new Adam(m.parameters(), { lr: 1e-3 }), 6e-3],
    ] as const) {
      const a = c.make(new Generator(0)).train();
      const b = c.make(new Generator(0)).train();
      const oa = mkOpt(a), ob = mkOpt(b);
      const net = compileNative(b)!;
      const gen = new Generator(2);
      const before = liveTensors();
      for (let s = 0; s < 3; s++) {
        const x = gen.randn(c.input);
        const y = labels(c.input[0]!);
        const [la, hits] = tidy(() => {
          oa.zeroGrad();
          const out = a.forward(x);
          const l = crossEntropy(out, y);
          l.backward();
          oa.step();
          return [l.item(), out.argmax(1).eq(y).sum().item()] as const;
        });
        const r = net.trainStep(x.toFloat32Array(), x.shape, Int32Array.from(y.toArray()), ob);
        assert.ok(Math.abs(la - r.loss) < 1e-4, `${c.name} step ${s} loss ${la} vs ${r.loss}`);
        assert.ok(Math.abs(hits - r.correct) <= 1, `${c.name} step ${s} hits ${hits} vs ${r.correct}`);
        x.dispose();
        y.dispose();
      }
      assert.equal(liveTensors(), before, `${c.name}: native steps leave no tensor behind`);
      const pa = a.parameters(), pb = b.parameters();
      pa.forEach((p, i) => close(p.toFloat32Array(), pb[i]!.toFloat32Array(), `${c.name} param ${i} after 3 steps`, 1e-3, abs));
      net.dispose();
      a.dispose();
      b.dispose();
    }
  }
});

test("the BatchNorm1d training kernel (bnKernel, with the ReLU it absorbs) gives libtorch's loss, gradients and running statistics", () => {
  // One thread and channel blocks split over threads (300 x 262 > 64k elements), SIMD tails
  // (C % 4 != 0), a ReLU after the batch norm (absorbed) and a dropout after it, other
  // activations and a batch norm as the program's output (not absorbed), no running statistics,
  // no affine parameters (libtorch's op), other momentum and eps.
  const nets: [string, (g: Generator) => Layer, number[]][] = [
    ['relu absorbed, C=7', (g) => new Sequential(new Linear(5, 7, { gen: g }), new BatchNorm1d(7), new ReLU(), new Linear(7, 5, { gen: g })), [9, 5]],
    [
      'threaded channel blocks, dropout',
      (g) => new Sequential(new Linear(6, 262, { gen: g }), new BatchNorm1d(262, { momentum: 0.3 }), new ReLU(), new Dropout(0.2, g), new Linear(262, 5, { gen: g })),
      [300, 6],
    ],
    [
      'tanh, no running statistics, no affine, output batch norm',
      (g) =>
        new Sequential(
          new Linear(5, 12, { gen: g }), new BatchNorm1d(12, { trackRunningStats: false }), new Tanh(),
          new Linear(12, 10, { gen: g }), new BatchNorm1d(10, { affine: false }), new ReLU(),
          new Linear(10, 5, { gen: g }), new BatchNorm1d(5, { eps: 1e-3 }),
        ),
      [8, 5],
    ],
  ];
  for (const [name, make, shape] of nets) {
    const a = make(new Generator(0)).train();
    const b = make(new Generator(0)).train();
    const net = compileNative(b)!;
    const gen = new Generator(3);
    for (let s = 0; s < 2; s++) {
      const x = gen.randn(shape).mul(2).add(0.5);
      const y = labels(shape[0]!);
      a.zeroGrad();
      const la = tidy(() => {
        const l = crossEntropy(a.forward(x), y);
        l.backward();
        return l.item();
      });
      // No optimizer: the step leaves the gradients on the parameters.
      const r = net.trainStep(x.toFloat32Array(), x.shape, Int32Array.from(y.toArray()), undefined);
      assert.ok(Math.abs(la - r.loss) < 1e-5, `${name} step ${s} loss ${la} vs ${r.loss}`);
      const pa = a.namedParameters(), pb = b.parameters();
      pa.forEach(([pn, p], i) => close(p.grad!.toFloat32Array(), pb[i]!.grad!.toFloat32Array(), `${name} step ${s} grad ${pn}`, 1e-3, 1e-6));
      const ba = a.namedBuffers(), bb = b.namedBuffers();
      ba.forEach(([bn, t], i) => close(t.toFloat64Array(), bb[i]![1].toFloat64Array(), `${name} step ${s} buffer ${bn}`, 1e-5));
      x.dispose();
      y.dispose();
    }
    net.dispose();
    a.dispose();
    b.dispose();
  }
});

test("stepThreads 'auto' alternates one and all threads in steps 2-9, keeps one, restores the thread count and trains as the op-by-op path", () => {
  const all = getNumThreads();
  const c = CASES.find((k) => k.name === 'mlp')!;
  for (const mode of ['auto', 'all'] as const) {
    const a = c.make(new Generator(0)).train();
    const b = c.make(new Generator(0)).train();
    const oa = new SGD(a.parameters(), { lr: 0.01 }), ob = new SGD(b.parameters(), { lr: 0.01 });
    const net = compileNative(b, { stepThreads: mode })!;
    const gen = new Generator(2);
    const used: number[] = [];
    for (let s = 0; s < 12; s++) {
      const x = gen.randn(c.input);
      const y = labels(c.input[0]!);
      const la = tidy(() => {
        oa.zeroGrad();
        const l = crossEntropy(a.forward(x), y);
        l.backward();
        oa.step();
        return l.item();
      });
      const r = net.trainStep(x.toFloat32Array(), x.shape, Int32Array.from(y.toArray()), ob);
      used.push(r.threads);
      assert.ok(Math.abs(la - r.loss) < 2e-4, `${mode} step ${s} loss ${la} vs ${r.loss}`);
      assert.equal(getNumThreads(), all, `${mode} step ${s}: the configured thread count is back after the step`);
      x.dispose();
      y.dispose();
    }
    if (mode === 'all' || all === 1) assert.ok(used.every((t) => t === all), `${mode}: ${used.join(',')}`);
    else {
      assert.deepEqual(used.slice(0, 9), [all, 1, all, 1, all, 1, all, 1, all], `tuning steps: ${used.join(',')}`);
      assert.ok(used.slice(9).every((t) => t === used[9] && (t === 1 || t === all)), `kept: ${used.join(',')}`);
    }
    const pa = a.parameters(), pb = b.parameters();
    pa.forEach((p, i) => close(p.toFloat32Array(), pb[i]!.toFloat32Array(), `${mode} param ${i} after 12 steps`, 1e-3, 1e-5));
    net.dispose();
    a.dispose();
    b.dispose();
  }
});

test('a shape error inside a native call names the layer and the shapes, and the process goes on', () => {
  const m = lenet(new Generator(0));
  const net = compileNative(m)!;
  const bad = Tensor.zeros([2, 3, 28, 28]);
  const opByOp = (() => {
    try {
      tidy(() => m.forward(bad));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(isNasError(opByOp, 'shape_mismatch'));
  const before = liveTensors();
  for (const call of [() => net.forward(bad), () => net.trainStep(bad, bad.shape, Int32Array.from([0, 1]), undefined), () => net.infer(bad)]) {
    assert.throws(call, (e: unknown) => {
      assert.ok(isNasError(e, 'shape_mismatch'), String(e));
      assert.match(e.message, /conv2d: .*\[2,3,28,28\].*\[16,1,3,3\].* in layer 0 \(Conv2d\)/);
      assert.equal(e.details?.layer, '0');
      return true;
    });
  }
  assert.equal(liveTensors(), before);
  // the same network still trains on good input
  const good = new Generator(3).randn([2, 1, 28, 28]);
  const r = net.trainStep(good, good.shape, Int32Array.from([0, 1]), undefined);
  assert.ok(Number.isFinite(r.loss));
  // the MLP's first linear layer, fed the wrong number of features
  const mm = built(mlp, [3, 4, 4])(new Generator(0));
  const mn = compileNative(mm)!;
  const wrong = Tensor.zeros([6, 40]);
  assert.throws(() => mn.forward(wrong), (e: unknown) => isNasError(e, 'shape_mismatch') && /in layer 1 \(Linear\)/.test(e.message) && /\[6,40\]/.test(e.message));
  // BatchNorm2d's rank check, as the op-by-op layer does it
  const bnNet = new Sequential(new Linear(4, 4, { gen: new Generator(0) }), new BatchNorm2d(4));
  const bnc = compileNative(bnNet)!;
  const flat = Tensor.zeros([6, 4]);
  assert.throws(() => tidy(() => bnNet.forward(flat)), (e: unknown) => isNasError(e, 'shape_mismatch'));
  assert.throws(() => bnc.forward(flat), (e: unknown) => isNasError(e, 'shape_mismatch') && /BatchNorm2d expects 4-D input, got shape \[6,4\].* in layer 1 \(BatchNorm2d\)/.test(e.message));
  bnc.dispose();
  flat.dispose();
  for (const t of [bad, good, wrong]) t.dispose();
  net.dispose();
  mn.dispose();
  m.dispose();
  mm.dispose();
  bnNet.dispose();
});

class Custom extends Module {
  forward(x: Tensor): Tensor {
    return x.mul(2);
  }
}

test('a module the native engine cannot express falls back with one notice; mixed train/eval modes fall back per call', () => {
  const notices: string[] = [];
  const m = new Sequential(new Linear(4, 3, { gen: new Generator(0) }), new ReLU(), new Custom());
  assert.equal(compileNative(m, { notice: (s) => notices.push(s) }), undefined);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /Custom \(at 2\).*op-by-op/);
  m.dispose();
  // a subclass that overrides forward() is not lowered as its parent
  class Doubled extends Sequential {
    override forward(x: Tensor): Tensor {
      return super.forward(x).mul(2);
    }
  }
  const d = new Doubled(new Linear(4, 3, { gen: new Generator(0) }));
  assert.equal(compileNative(d, { notice: (s) => notices.push(s) }), undefined);
  assert.match(notices[1]!, /Doubled \(at the root\)/);
  d.dispose();
  // one BN in eval mode inside a training network: the native forward defers to the module
  const c = CASES[2]!;
  const a = c.make(new Generator(0));
  const net = compileNative(a)!;
  a.train();
  const bn = a.modules().find((k) => k.constructor.name === 'BatchNorm2d')!;
  bn.eval();
  const x = new Generator(1).randn(c.input);
  const ref = tidy(() => noGrad(() => a.forward(x).toFloat32Array()));
  close(ref, tidy(() => noGrad(() => net.forward(x).toFloat32Array())), 'mixed-mode forward');
  net.dispose();
  assert.throws(() => net.forward(x), (e: unknown) => isNasError(e, 'disposed'));
  x.dispose();
  a.dispose();
});

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test('the native NB201 network computes what PyTorch\'s NB201Net computes', { skip: !torchOk && 'no /usr/bin/python3 with torch' }, () => {
  const arch = '|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
  const ops = arch.split('+').flatMap((n) => n.split('|').filter(Boolean).map((t) => t.split('~')[0]));
  const { module } = buildNetwork(nb(ops.join(',')), { shape: [3, 16, 16], numClasses: 10 }, { gen: new Generator(0), nb201: { width: 4, cells: 2 } });
  const net = compileNative(module)!;
  const x = Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));
  const ours = tidy(() => {
    const t = Tensor.fromArray(x, [2, 3, 16, 16]);
    module.train();
    const train = net.forward(t).toArray();
    return { train, eval: net.infer(t).toArray() };
  });
  net.dispose();
  module.dispose();
  const py = [
    'import sys, json, math, torch',
    `sys.path.insert(0, ${JSON.stringify(fileURLToPath(new URL('../../bench', import.meta.url)))})`,
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
