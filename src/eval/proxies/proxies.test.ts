import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MlpArch, Nb201Arch } from '../../core/arch.js';
import { isNasError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { analyzeArch, buildNetwork } from '../../nn/build/index.js';
import { Generator, Tensor, liveTensors, noGrad, tidy } from '../../tensor/index.js';
import { Linear } from '../../nn/layers.js';
import { synflowLog } from './synflow.js';
import { NB201_PROXIES_CSV } from './table.js';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { nb201Space } from '../../space/nb201.js';
import { graspFiniteDifference, graspProxy } from './grasp.js';
import { PROXY_NAMES, checkProxyNames, fitCombination, getProxy, predictCombination, rankAggregate, rankScores, resizeBatch, scoreArch, spearman, type ProxyBatch } from './index.js';
import { logAbsDet, symEigenvalues } from './linalg.js';

const nb = (ops: string): Nb201Arch => ({ family: 'nb201', ops: ops.split(',') as unknown as Nb201Arch['ops'] });
const input = { shape: [3, 8, 8], numClasses: 4 };
const small = { nb201: { width: 4, cells: 1 } };
function batch(n = 8): ProxyBatch {
  const rng = Rng.fromSeed('batch');
  const x = Float32Array.from({ length: n * 3 * 8 * 8 }, () => rng.float() * 2 - 1);
  return { x, shape: [n, 3, 8, 8], y: Int32Array.from({ length: n }, (_, i) => i % 4) };
}
const convs = nb('nor_conv_3x3,nor_conv_3x3,nor_conv_3x3,skip_connect,nor_conv_3x3,nor_conv_1x1');
const pools = nb('avg_pool_3x3,skip_connect,avg_pool_3x3,avg_pool_3x3,none,nor_conv_1x1');
/** No path from the cell's input to its output: every edge into node 3 is `none`. */
const cut = nb('nor_conv_3x3,nor_conv_3x3,nor_conv_3x3,none,none,none');

test('every proxy: finite on a real NB201 network, the same under the same seed, memory freed; each names its paper', () => {
  const b = batch();
  const before = liveTensors();
  const a = scoreArch(convs, input, PROXY_NAMES, { ...small, seed: 1, batch: b });
  const again = scoreArch(convs, input, PROXY_NAMES, { ...small, seed: 1, batch: b });
  assert.equal(liveTensors(), before);
  for (const [i, s] of a.entries()) {
    assert.ok(s.ok, `${s.proxy}: ${s.ok ? '' : s.reason}`);
    const t = again[i]!;
    assert.ok(s.ok && t.ok);
    if (s.ok && t.ok) {
      assert.ok(Number.isFinite(s.value), s.proxy);
      // Same seed, same machine: equal up to float summation order.
      assert.ok(Math.abs(s.value - t.value) <= 1e-4 * Math.max(1, Math.abs(s.value)), `${s.proxy}: ${s.value} vs ${t.value}`);
      assert.ok(s.ms >= 0);
    }
    assert.match(getProxy(s.proxy).paper, /\d{4}/);
  }
  // The data-dependent ones say so, and fail (not crash) without a batch.
  const noData = scoreArch(convs, input, ['snip', 'synflow'], { ...small, seed: 1 });
  assert.equal(noData[0]!.ok, false);
  assert.equal(noData[1]!.ok, true);
});

test('synflow, params and flops rank a conv-heavy cell above a pooling cell', () => {
  const [c, p] = [convs, pools].map((a) => scoreArch(a, input, ['synflow', 'params', 'flops'], { ...small, seed: 0 }));
  for (let i = 0; i < 3; i++) {
    const x = c![i]!;
    const y = p![i]!;
    assert.ok(x.ok && y.ok && x.value > y.value, `${x.proxy}`);
  }
});

test('a cell with no path from input to output: failed scores with reasons, ranked last, never poisoning the ranking', () => {
  const b = batch();
  const s = scoreArch(cut, input, ['synflow', 'grad_norm', 'snip', 'naswot'], { ...small, seed: 0, batch: b });
  const synflow = s[0]!;
  assert.equal(synflow.ok, false);
  if (!synflow.ok) assert.match(synflow.reason, /^threw: synflow is 0: no weight has a gradient, the network has no path from input to output$/);
  const r = rankScores([3, NaN, 5, Infinity, undefined, 1]);
  assert.deepEqual([...r], [2, 5, 1, 5, 5, 3]);
  assert.deepEqual([...rankScores([2, 2, 1])], [1.5, 1.5, 3]);
});

test('unknown proxy names are errors naming the option', () => {
  assert.throws(() => getProxy('synflo'), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'proxies' && /synflow/.test(e.hint ?? ''));
  assert.throws(() => checkProxyNames(['snip', 'nope'], 'prescreen.proxies'), (e: unknown) => isNasError(e) && e.field === 'prescreen.proxies[1]');
  assert.throws(() => scoreArch(convs, input, ['nope' as never], { seed: 0 }), (e: unknown) => isNasError(e, 'invalid_config'));
});

test('ensembles: rank aggregation and a learned combination; too few points is an error naming the option', () => {
  const y = [1, 2, 3, 4, 5, 6, 7, 8];
  const good = y.map((v) => v * 10);
  const noisy = [NaN, 1, 4, 3, 6, 5, 8, 7];
  assert.equal(spearman(good, y), 1);
  const agg = rankAggregate([good, noisy]);
  assert.ok(spearman([...agg], y) > 0.9);
  const m = fitCombination([good, noisy], y);
  assert.ok(spearman([...predictCombination(m, [good, noisy])], y) > 0.9);
  assert.throws(
    () => fitCombination([good, noisy], y.slice(0, 3), { field: 'prescreen.fit' }),
    (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.fit' && /needs at least 4/.test(e.message),
  );
});

test('linear algebra: log-determinant and symmetric eigenvalues', () => {
  const a = Float64Array.from([4, 1, 0, 1, 3, 1, 0, 1, 2]);
  const ev = symEigenvalues(a, 3);
  const det = ev.reduce((p, v) => p * v, 1);
  assert.ok(Math.abs(Math.log(det) - logAbsDet(a, 3)) < 1e-9);
  assert.ok(Math.abs(ev.reduce((s, v) => s + v, 0) - 9) < 1e-9);
  assert.equal(logAbsDet(Float64Array.from([1, 1, 1, 1]), 2), -Infinity);
});

test('resizeBatch: 1-channel 28x28 to 3-channel 32x32, constant images stay constant', () => {
  const b: ProxyBatch = { x: new Float32Array(2 * 28 * 28).fill(0.5), shape: [2, 1, 28, 28], y: Int32Array.from([0, 1]) };
  const r = resizeBatch(b, 3, 32, 32);
  assert.deepEqual(r.shape, [2, 3, 32, 32]);
  assert.ok(r.x.every((v) => Math.abs(v - 0.5) < 1e-6));
});

test('proxies work on other families (an MLP)', () => {
  const mlp: MlpArch = { family: 'mlp', hidden: [16, 16], activation: 'relu', batchNorm: true, dropout: 0 };
  const s = scoreArch(mlp, { shape: [12], numClasses: 3 }, PROXY_NAMES, {
    seed: 3,
    batch: { x: Float32Array.from({ length: 6 * 12 }, (_, i) => Math.sin(i)), shape: [6, 12], y: Int32Array.from([0, 1, 2, 0, 1, 2]) },
  });
  for (const x of s) assert.ok(x.ok, `${x.proxy}: ${x.ok ? '' : x.reason}`);
});

test('grasp: the exact Hessian-vector product (double backward) matches a central finite difference on a smooth network; no leak', () => {
  // tanh, no batch norm: the gradient is smooth in the weights, so a small central difference converges.
  const mlp: MlpArch = { family: 'mlp', hidden: [16, 8], activation: 'tanh', batchNorm: false, dropout: 0 };
  const spec = { shape: [12], numClasses: 3 };
  const rng = Rng.fromSeed('grasp-batch');
  const b: ProxyBatch = { x: Float32Array.from({ length: 16 * 12 }, () => rng.float() * 2 - 1), shape: [16, 12], y: Int32Array.from({ length: 16 }, (_, i) => i % 3) };
  for (const seed of [1, 2, 3]) {
    const pi = { build: () => buildNetwork(mlp, spec, { gen: new Generator(seed) }).module, sampleShape: spec.shape, numClasses: 3, batch: b, costs: analyzeArch(mlp, spec, {}), gen: () => new Generator(9) };
    const before = liveTensors();
    const exact = graspProxy.compute(pi);
    assert.equal(liveTensors(), before);
    const fd = graspFiniteDifference(pi, 1e-2);
    assert.ok(Number.isFinite(exact) && exact !== 0, String(exact));
    assert.ok(Math.abs(exact - fd) <= 0.02 * Math.abs(exact), `seed ${seed}: exact ${exact} vs finite difference ${fd}`);
  }
  // A real (ReLU, batch-norm) NB201 network: finite, deterministic, no leaked tensors.
  const costs = analyzeArch(convs, input, small);
  const pi = { build: () => buildNetwork(convs, input, { gen: new Generator(7), nb201: small.nb201 }).module, sampleShape: input.shape, numClasses: 4, batch: batch(), costs, gen: () => new Generator(8) };
  const before = liveTensors();
  const v = graspProxy.compute(pi);
  assert.equal(liveTensors(), before);
  assert.ok(Number.isFinite(v));
});

test('naswot: tanh- and sigmoid-only networks get a finite score (session 10: NaN, reported as "no path"); a linear model and identical codes fail with their real reason', () => {
  const b = batch(8);
  const flat = { shape: [3, 8, 8], numClasses: 4 };
  const mlp = (activation: MlpArch['activation'], hidden: number[]): MlpArch => ({ family: 'mlp', hidden, activation, batchNorm: false, dropout: 0 });
  for (const act of ['tanh', 'sigmoid', 'relu'] as const) {
    const [s] = scoreArch(mlp(act, [32, 16]), flat, ['naswot'], { seed: 0, batch: b });
    assert.ok(s!.ok && Number.isFinite(s!.value), `${act}: ${s!.ok ? '' : s!.reason}`);
  }
  const [linear] = scoreArch(mlp('relu', []), flat, ['naswot'], { seed: 0, batch: b });
  assert.ok(!linear!.ok && /no activation module \(a linear model\)/.test(linear!.reason), JSON.stringify(linear));
  // Eight copies of one sample: every code agrees, K is singular.
  const same: ProxyBatch = { x: Float32Array.from({ length: b.x.length }, (_, i) => b.x[i % (3 * 8 * 8)]!), shape: b.shape, y: b.y };
  const [dup] = scoreArch(mlp('relu', [16]), flat, ['naswot'], { seed: 0, batch: same });
  assert.ok(!dup!.ok && /identical activation codes \(K is singular/.test(dup!.reason), JSON.stringify(dup));
});

test('synflow: a connected network whose float32 synflow overflows gets its finite score (session 11: failed as "no path", ranked last); the rescaling is exact', () => {
  // 48 ReLU layers of 256: with absolute weights each multiplies the flow by ~8, so R ~ 1e43 > float32's 3.4e38.
  const arch: MlpArch = { family: 'mlp', hidden: Array(48).fill(256), activation: 'relu', batchNorm: false, dropout: 0 };
  const spec = { shape: [64], numClasses: 10 };
  const build = () => buildNetwork(arch, spec, { gen: new Generator(3) }).module;
  const lin = (net: ReturnType<typeof build>) => net.modules().filter((m): m is Linear => m instanceof Linear);
  // The unscaled computation (session 10's first and only successful scaling on such a network) overflows.
  const net0 = build();
  try {
    net0.eval();
    noGrad(() => { for (const p of net0.parameters()) tidy(() => void p.copy_(p.abs())); });
    tidy(() => net0.forward(Tensor.full([1, 64], 1)).sum().backward());
    const raw = lin(net0).reduce((s, l) => s + tidy(() => l.weight.mul(l.weight.grad!).abs().sum().item()), 0);
    assert.ok(!Number.isFinite(raw), `unscaled synflow ${raw}`);
  } finally {
    net0.dispose();
  }
  const v = synflowLog(build(), [64]);
  assert.ok(Number.isFinite(v) && v > Math.log(3.4e38), `ln synflow ${v}`);
  // Independent check: layer l's weights times 2^-4 and its bias times 2^-4l scale every weight's
  // theta * dR/dtheta by exactly 2^-4L (L Linear layers); that copy does not overflow unscaled.
  const scaled = build();
  const ls = lin(scaled);
  noGrad(() => ls.forEach((l, i) => tidy(() => { l.weight.copy_(l.weight.mul(2 ** -4)); l.bias?.copy_(l.bias.mul(2 ** (-4 * (i + 1)))); })));
  const vs = synflowLog(scaled, [64]);
  assert.ok(Math.abs(vs + 4 * ls.length * Math.LN2 - v) < 1e-4, `${vs} + ${4 * ls.length} ln 2 vs ${v}`);
  // A disconnected network still fails, with the disconnected reason (not an overflow).
  const s = scoreArch(cut, input, ['synflow'], { ...small, seed: 0 })[0]!;
  assert.ok(!s.ok && /no path from input to output/.test(s.reason) && !/overflow/.test(s.reason));
});

test('the shipped NB201 proxy table: every architecture without synflow has no path from input to output (session 11: 125 of 126 had overflowed)', () => {
  const lines = gunzipSync(readFileSync(NB201_PROXIES_CSV)).toString().trim().split('\n');
  assert.equal(lines[0]!.split(',')[1], 'synflow');
  const connected = (ops: readonly string[]): boolean => {
    const on = (i: number) => ops[i] !== 'none';
    const n1 = on(0);
    const n2 = on(1) || (n1 && on(2));
    return on(3) || (n1 && on(4)) || (n2 && on(5));
  };
  const missing = lines.slice(1).map((l) => l.split(',')).filter((c) => c[1] === '').map((c) => c[0]!);
  assert.ok(missing.length >= 1, 'the disconnected cells stay failed');
  assert.ok(lines.length > 4900, 'the whole table was read');
  for (const s of missing) assert.equal(connected(nb201Space.parse(s).ops), false, s);
});
