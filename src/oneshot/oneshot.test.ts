import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NB201_OPS, type Nb201Arch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { Generator, Tensor, liveTensors, memoryCacheStats, noGrad, tidy } from '../tensor/index.js';
import { buildNetwork, type InputSpec } from '../nn/build/index.js';
import { nb201Space } from '../space/nb201.js';
import { gdasTemperature, gumbelHard } from './gumbel.js';
import { nb201Path, nb201Supernet } from './nb201.js';
import { parseOneShotOptions, type OneShotOptions } from './options.js';
import { runOneShot, splitHalves } from './search.js';
import { scorePath } from './spos.js';

let digits: PreparedData | undefined;
async function data(): Promise<PreparedData> {
  digits ??= await prepareData({ kind: 'digits' }, { seed: 0, trainPerClass: 40 });
  return digits;
}
const tiny = (o: Record<string, unknown> = {}): OneShotOptions => parseOneShotOptions({ epochs: 2, batch_size: 32, width: 4, cells: 1, ...o });

test('options: defaults, snake_case keys, errors name the field', () => {
  const o = tiny({ guard: 'beta_decay' });
  assert.equal(o.epochs, 2);
  assert.equal(o.guard, 'beta_decay');
  assert.throws(() => parseOneShotOptions({ epoch: 3 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.options.epoch');
  assert.throws(() => parseOneShotOptions({ guard: 'drnas' }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.options.guard');
  assert.throws(() => parseOneShotOptions({ tau_min: 20 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.options.tau_min');
});

test('gumbel: hard sample is one-hot in value with a gradient to every logit; temperature schedule', () => {
  const gen = new Generator(1);
  tidy(() => {
    const a = Tensor.fromArray([0.1, 0.5, -0.2, 0.3, 0]).requiresGrad_(true);
    const s = gumbelHard(a, 1, gen);
    const v = Array.from(s.hard.toFloat32Array());
    assert.equal(v.filter((x) => Math.abs(x) > 1e-6).length, 1);
    assert.ok(Math.abs(v[s.index]! - 1) < 1e-6);
    s.hard.select(0, s.index).backward();
    const g = Array.from(a.grad!.toFloat32Array());
    assert.ok(g.every((x) => Number.isFinite(x)) && g.some((x) => Math.abs(x) > 0));
  });
  assert.equal(gdasTemperature(1, 5, 10, 0.1), 10);
  assert.ok(Math.abs(gdasTemperature(5, 5, 10, 0.1) - 0.1) < 1e-12);
});

test('NB201 supernet: a path forward equals the stand-alone network with the same weights', async () => {
  const d = await data();
  const input = { shape: d.shape, numClasses: d.numClasses };
  const net = nb201Supernet(input, new Generator(3), { width: 4, cells: 1 });
  const arch: Nb201Arch = { family: 'nb201', ops: ['nor_conv_3x3', 'skip_connect', 'none', 'avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3'] };
  const solo = buildNetwork(arch, input, { gen: new Generator(4), nb201: { width: 4, cells: 1 } }).module;
  try {
    // copy the chosen candidates' weights into the stand-alone network, by its module layout
    const sup = net.module.stateDict();
    const live = (e: number, k: number) => NB201_OPS.slice(0, k).filter((op) => op !== 'none').length;
    for (const [name, t] of solo.stateDict()) {
      const m = /^net\.(\d+)\.ops\.(\d+)\.(.*)$/.exec(name);
      const src = m ? `net.${m[1]}.edges.${m[2]}.ops.${live(Number(m[2]), NB201_OPS.indexOf(arch.ops[Number(m[2])]!))}.${m[3]}` : name;
      const s = sup.get(src);
      assert.ok(s, `supernet has ${src}`);
      noGrad(() => t.copy_(s));
    }
    net.module.eval();
    solo.eval();
    tidy(() => {
      const x = new Generator(5).randn([3, ...d.shape]);
      net.setMode({ kind: 'path', index: nb201Path(arch) });
      const a = net.module.forward(x).toFloat32Array();
      const b = solo.forward(x).toFloat32Array();
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `logit ${i}: ${a[i]} vs ${b[i]}`);
    });
    // alpha is kept apart from the weights
    const ids = new Set(net.module.parameters());
    assert.ok(net.alpha.every((a) => !ids.has(a)));
    assert.equal(net.alpha.length, 6);
  } finally {
    net.dispose();
    solo.dispose();
  }
});

for (const method of ['darts', 'darts2', 'gdas', 'spos'] as const) {
  test(`${method}: a 2-epoch search on digits derives a valid NB201 architecture, frees its memory`, async () => {
    const d = await data();
    // A freed 4 MiB buffer: the caching allocator keeps it idle until a trim (native/src/alloc.cc).
    tidy(() => new Generator(0).randn([1 << 20]).sum().item());
    assert.ok(memoryCacheStats().idleBytes > 0);
    const before = liveTensors();
    // darts2 (second order) with the beta-decay guard
    const opts = tiny(method === 'spos' ? { population: 4, generations: 1, top_k: 2, recalibration_batches: 2 } : method === 'darts2' ? { guard: 'beta_decay', guard_lambda: 1 } : {});
    // Native tensors alive after each epoch (after its steps, validation pass and alpha record):
    // equal after epoch 1 and 2, else every step or epoch leaks tensors.
    const live: number[] = [];
    const r = await runOneShot({ method, options: opts, seed: 1, data: splitHalves(d, opts.batchSize, 0), supernet: (i, g) => nb201Supernet(i, g, { width: 4, cells: 1 }), onEpoch: () => void live.push(liveTensors()) });
    assert.equal(live.length, 2);
    assert.equal(live[1], live[0], `live native tensors after epoch 1 and 2: ${live.join(', ')}`);
    assert.equal(liveTensors(), before);
    // The search gave the allocator's idle blocks back (the retraining that follows cannot use them).
    assert.equal(memoryCacheStats().idleBytes, 0);
    nb201Space.validate(r.arch);
    assert.equal(r.history.length, 2);
    for (const h of r.history) {
      assert.ok(Number.isFinite(h.metrics['train_loss']) && h.metrics['val_acc']! >= 0);
      if (method !== 'spos') {
        assert.equal(h.probs!.length, 6);
        assert.ok(h.probs!.flat().every((p) => p > 0 && p < 1));
        for (const row of h.probs!) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-3);
        assert.equal(typeof h.metrics['skip_edges'], 'number');
      } else assert.equal(h.probs, undefined);
    }
    if (method === 'spos') {
      const ev = (r.details as { evaluated: { score: number }[] }).evaluated;
      assert.ok(ev.length >= 4 && ev.length <= 8);
      assert.ok(ev.every((e, i) => i === 0 || e.score <= ev[i - 1]!.score));
    }
    // alpha moved away from its near-uniform start
    if (method !== 'spos') assert.ok(r.history[1]!.probs!.flat().some((p) => Math.abs(p - 0.2) > 1e-4));
  });
}

test('checkpoint: a search killed after epoch 1 resumes at epoch 2 with the same result', async () => {
  const d = await data();
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-'));
  try {
    const opts = tiny();
    const halves = splitHalves(d, opts.batchSize, 0);
    const base = { method: 'darts' as const, options: opts, seed: 4, data: halves, supernet: (i: InputSpec, g: Generator) => nb201Supernet(i, g, { width: 4, cells: 1 }) };
    const ref = await runOneShot(base);
    const checkpoint = { path: join(dir, 'ckpt.sd'), fingerprint: 'f1' };
    await assert.rejects(
      runOneShot({
        ...base,
        checkpoint,
        onEpoch: (rec) => {
          if (rec.epoch === 1) throw new Error('killed');
        },
      }),
      /killed/,
    );
    let resumed: number | undefined;
    const r = await runOneShot({ ...base, checkpoint, onResume: (h) => void (resumed = h.length) });
    assert.equal(resumed, 1);
    assert.equal(r.resumedAfter, 1);
    assert.deepEqual(r.arch, ref.arch);
    const a = r.history[1]!.probs!.flat();
    const b = ref.history[1]!.probs!.flat();
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-3));
    // another fingerprint starts afresh
    const fresh = await runOneShot({ ...base, options: { ...opts, epochs: 1 }, checkpoint: { ...checkpoint, fingerprint: 'f2' } });
    assert.equal(fresh.resumedAfter, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: a training split too small for two halves; NaN alpha ends as diverged', async () => {
  const d = await data();
  const small: PreparedData = { ...d, train: { data: d.train.data, indices: d.train.indices.slice(0, 40) } };
  assert.throws(() => splitHalves(small, 32, 0), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'evaluator.dataset' && /too few for two halves/.test((e as Error).message));
  const opts = tiny({ epochs: 1, alpha_lr: 1e30 });
  await assert.rejects(
    runOneShot({
      method: 'darts',
      options: opts,
      seed: 0,
      data: splitHalves(d, opts.batchSize, 0),
      supernet: (i, g) => {
        const net = nb201Supernet(i, g, { width: 4, cells: 1 });
        noGrad(() => net.alpha[0]!.fill_(NaN));
        return net;
      },
    }),
    (e: unknown) => isNasError(e, 'diverged'),
  );
  void scorePath;
  void Rng;
});

test('DARTS cell supernet: 28 alpha rows, a 2-epoch GDAS search on digits derives a valid DARTS arch, live tensors flat per epoch; genotype rule', async () => {
  const { dartsSupernet, deriveDartsCell, DARTS_EDGES } = await import('./darts-cell.js');
  const { dartsSpace } = await import('../space/darts.js');
  assert.equal(DARTS_EDGES.length, 28);
  assert.equal(DARTS_EDGES[0]!.name, 'normal.n2.in0');
  assert.equal(DARTS_EDGES[27]!.name, 'reduce.n5.in4');
  // node 2: input 1's best non-none op (sep_conv_3x3 0.5) beats input 0's (0.3 max_pool); `none` is never chosen
  const rows = Array.from({ length: 14 }, () => [0.9, 0.1, 0, 0, 0, 0, 0, 0]);
  rows[0] = [0.6, 0.3, 0, 0.1, 0, 0, 0, 0];
  rows[1] = [0.1, 0, 0, 0, 0.5, 0, 0.4, 0];
  const cell = deriveDartsCell(rows);
  assert.deepEqual(cell.edges.slice(0, 2), [{ op: 'sep_conv_3x3', input: 1 }, { op: 'max_pool_3x3', input: 0 }]);
  assert.equal(cell.edges.length, 8);
  const d = await data();
  const opts = tiny({ epochs: 2, width: 2, layers: 3 });
  const live: number[] = [];
  const r = await runOneShot({ method: 'gdas', options: opts, seed: 3, data: splitHalves(d, opts.batchSize, 0), supernet: (i, g) => dartsSupernet(i, g, { width: 2, layers: 3 }), onEpoch: () => void live.push(liveTensors()) });
  assert.equal(live[1], live[0], `live native tensors after epoch 1 and 2: ${live.join(', ')}`);
  dartsSpace.validate(r.arch);
  assert.equal(r.history[0]!.probs!.length, 28);
});

test('chain-CNN supernet: a path forward equals the stand-alone ChainCnnNet with sliced weights; SPOS derives a valid chain, live tensors flat per epoch', async () => {
  const { chainSupernet } = await import('./chain.js');
  const { chainCnnSpace } = await import('../space/chain-cnn.js');
  const d = await data();
  const input = { shape: d.shape, numClasses: d.numClasses };
  const net = chainSupernet(input, new Generator(3), { layers: 3 });
  const path = [1, 0, 2, 1, 0, 2]; // (5x5, 32), (7x7, 64), (3x3, 128)
  const arch = net.pathArch(path);
  const solo = buildNetwork(arch, input, { gen: new Generator(4) }).module;
  try {
    const sup = net.module.stateDict();
    const cin = [1, 32, 64];
    noGrad(() => {
      arch.layers.forEach((l, i) => {
        const k = [3, 5, 7].indexOf(l.kernel);
        const own = solo.stateDict();
        own.get(`layers.${i}.body.0.weight`)!.copy_(sup.get(`layers.${i}.convs.${k}.weight`)!.slice(0, 0, l.channels).slice(1, 0, cin[i]!));
        for (const b of ['weight', 'bias', 'running_mean', 'running_var']) own.get(`layers.${i}.body.1.${b}`)!.copy_(sup.get(`layers.${i}.bn.${b}`)!.slice(0, 0, l.channels));
      });
      const own = solo.stateDict();
      own.get('head.3.weight')!.copy_(sup.get('head.2.weight')!.slice(1, 0, 128));
      own.get('head.3.bias')!.copy_(sup.get('head.2.bias')!);
    });
    net.module.eval();
    solo.eval();
    tidy(() => {
      const x = new Generator(5).randn([3, ...d.shape]);
      net.setMode({ kind: 'path', index: path });
      const a = net.module.forward(x).toFloat32Array();
      const b = solo.forward(x).toFloat32Array();
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `logit ${i}: ${a[i]} vs ${b[i]}`);
    });
  } finally {
    net.dispose();
    solo.dispose();
  }
  const opts = tiny({ epochs: 2, layers: 3, population: 3, generations: 1, top_k: 2, recalibration_batches: 1 });
  const live: number[] = [];
  const r = await runOneShot({ method: 'spos', options: opts, seed: 3, data: splitHalves(d, opts.batchSize, 0), supernet: (i, g) => chainSupernet(i, g, { layers: 3 }), onEpoch: () => void live.push(liveTensors()) });
  assert.equal(live[1], live[0], `live native tensors after epoch 1 and 2: ${live.join(', ')}`);
  chainCnnSpace.validate(r.arch);
});
