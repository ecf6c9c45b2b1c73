import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch, MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { Generator, noGrad, tidy } from '../tensor/index.js';
import { buildNetwork } from './build/index.js';
import { inheritWeights } from './inherit.js';

const IN = { shape: [1, 8, 8], numClasses: 10 };
const maxDiff = (a: ReturnType<typeof buildNetwork>['module'], b: ReturnType<typeof buildNetwork>['module']): number =>
  tidy(() =>
    noGrad(() => {
      const x = new Generator(5).randn([4, ...IN.shape]);
      return a.eval().forward(x).sub(b.eval().forward(x)).abs().max().item() as number;
    }),
  );

test('exact: the same architecture inherits everything (a promoted trial continues from its parent)', () => {
  const arch: MlpArch = { family: 'mlp', hidden: [16, 8], activation: 'relu', batchNorm: true, dropout: 0 };
  const p = buildNetwork(arch, IN, { gen: new Generator(1) }).module;
  const c = buildNetwork(arch, IN, { gen: new Generator(2) }).module;
  assert.ok(maxDiff(p, c) > 1e-3);
  const r = inheritWeights(c, p.stateDict(), 'exact');
  assert.equal(r.fresh.length, 0);
  assert.equal(r.fraction, 1);
  assert.ok(maxDiff(p, c) < 1e-6);
  p.dispose();
  c.dispose();
});

test('morph: a widened MLP layer computes what its parent computed (new units fresh, their outgoing weights zero); exact leaves them fresh', () => {
  const parent: MlpArch = { family: 'mlp', hidden: [16, 8], activation: 'relu', batchNorm: true, dropout: 0 };
  const child: MlpArch = { ...parent, hidden: [24, 8] };
  const p = buildNetwork(parent, IN, { gen: new Generator(1) }).module;
  const c = buildNetwork(child, IN, { gen: new Generator(2) }).module;
  const r = inheritWeights(c, p.stateDict());
  assert.ok(r.partial.length >= 2, `partial: ${r.partial.join(', ')}`);
  assert.ok(r.fraction > 0.5 && r.fraction < 1, `fraction ${r.fraction}`);
  assert.ok(maxDiff(p, c) < 1e-5, `max diff ${maxDiff(p, c)}`);
  // The new units' own incoming weights stay random (they can learn something else).
  const w0 = [...c.stateDict()].find(([k, t]) => k.endsWith('weight') && t.shape[0] === 24 && t.shape.length === 2)![1];
  tidy(() => assert.ok((w0.slice(0, 16).abs().sum().item() as number) > 0 && (w0.slice(0, 16, 24).abs().sum().item() as number) > 0));
  const e = buildNetwork(child, IN, { gen: new Generator(2) }).module;
  const re = inheritWeights(e, p.stateDict(), 'exact');
  assert.equal(re.partial.length, 0);
  assert.ok(re.fresh.length >= 2 && maxDiff(p, e) > 1e-3);
  for (const m of [p, c, e]) m.dispose();
  assert.throws(() => inheritWeights(c, new Map(), 'nope' as 'exact'), (err: unknown) => isNasError(err, 'invalid_config') && err.field === 'inherit');
});

test('morph: a larger kernel (3x3 -> 5x5, centred, zero border) and more filters keep the function of a chain CNN', () => {
  const parent: ChainCnnArch = {
    family: 'chain_cnn',
    dropout: 0,
    layers: [
      { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 2, skip: false },
      { kernel: 3, channels: 12, activation: 'relu', batchNorm: true, pool: 1, skip: false },
    ],
  };
  const child: ChainCnnArch = { ...parent, layers: [{ ...parent.layers[0]!, kernel: 5, channels: 10 }, parent.layers[1]!] };
  const p = buildNetwork(parent, IN, { gen: new Generator(1) }).module;
  const c = buildNetwork(child, IN, { gen: new Generator(2) }).module;
  const r = inheritWeights(c, p.stateDict());
  assert.ok(r.partial.length >= 3, `partial: ${r.partial.join(', ')}`);
  assert.ok(maxDiff(p, c) < 1e-5, `max diff ${maxDiff(p, c)}`);
  p.dispose();
  c.dispose();
});
