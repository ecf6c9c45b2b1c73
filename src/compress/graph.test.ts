import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch } from '../core/arch.js';
import { buildNetwork, lenet } from '../nn/build/index.js';
import { Generator, Tensor, noGrad, tidy } from '../tensor/index.js';
import { graphCost } from './graph.js';
import { GraphNet } from './graphnet.js';
import { lowerModule } from './lower.js';
import { applyMasks } from './finetune.js';
import { checkPruneSpec, gradualSparsity, magnitudeMasks, planChannels, pruneWeights, prunableWeights, sparsityOf } from './prune.js';
import { isNasError } from '../core/errors.js';
import { CHAIN, FAMILIES, SMALL } from './testing.js';

test('lowered graphs compute what the modules compute, with the analysed cost, on every family', () => {
  for (const f of FAMILIES) {
    const input = { shape: f.shape, numClasses: 10 };
    const { module, report } = buildNetwork(f.arch, input, { gen: new Generator(1), ...SMALL });
    const low = lowerModule(module, f.shape, 10);
    const net = new GraphNet(low.graph, low.weights);
    const cost = graphCost(low.graph);
    assert.equal(cost.params, report.params, `${f.name} params`);
    assert.equal(cost.params, net.numParameters(), `${f.name} module params`);
    assert.equal(cost.flops, report.flops, `${f.name} flops`);
    module.eval();
    net.eval();
    tidy(() => noGrad(() => {
      const x = new Generator(2).randn([3, ...f.shape]);
      const d = module.forward(x).sub(net.forward(x)).abs().max().item();
      assert.ok(d < 1e-5, `${f.name}: max |diff| ${d}`);
    }));
    module.dispose();
    net.dispose();
    for (const t of low.weights.values()) t.dispose();
  }
});

test('LeNet lowers with its flatten of a spatial map', () => {
  const m = lenet(new Generator(0));
  const low = lowerModule(m, [1, 28, 28], 10);
  assert.equal(graphCost(low.graph).params, m.numParameters());
  m.dispose();
  for (const t of low.weights.values()) t.dispose();
});

test('structured pruning removes coupled channels consistently on every family', () => {
  for (const f of FAMILIES) {
    const input = { shape: f.shape, numClasses: 10 };
    const { module } = buildNetwork(f.arch, input, { gen: new Generator(1), ...SMALL });
    const low = lowerModule(module, f.shape, 10);
    module.dispose();
    const plan = planChannels(low.graph, low.weights, { kind: 'channels', ratio: 0.5 });
    const w = pruneWeights(low.graph, plan, low.weights);
    const net = new GraphNet(plan.graph, w);
    assert.equal(net.numParameters(), graphCost(plan.graph).params);
    assert.ok(graphCost(plan.graph).flops < graphCost(low.graph).flops, `${f.name} flops fall`);
    tidy(() => noGrad(() => assert.deepEqual(net.eval().forward(Tensor.zeros([2, ...f.shape])).shape, [2, 10])));
    const byFlops = planChannels(low.graph, low.weights, { kind: 'channels', flops: 0.55 });
    assert.ok(graphCost(byFlops.graph).flops <= 0.55 * graphCost(low.graph).flops, `${f.name} flops target`);
    net.dispose();
    for (const t of [...w.values(), ...low.weights.values()]) t.dispose();
  }
});

test('a pruned channel-class is exactly the original network with those channels silenced', () => {
  // No batch norm and ReLU: zeroing a removed class's filters and biases in every producer makes
  // those channels 0 everywhere (sums included), so outputs must match the pruned network's.
  const arch: ChainCnnArch = { family: 'chain_cnn', dropout: 0, layers: CHAIN.layers.map((l) => ({ ...l, batchNorm: false, activation: 'relu' as const })) };
  const { module } = buildNetwork(arch, { shape: [1, 8, 8], numClasses: 10 }, { gen: new Generator(3) });
  const low = lowerModule(module, [1, 8, 8], 10);
  module.dispose();
  const plan = planChannels(low.graph, low.weights, { kind: 'channels', ratio: 0.4 });
  assert.ok(plan.removed.size > 0);
  noGrad(() => {
    for (const r of plan.removed)
      for (const p of plan.structure.classes.get(r)!) {
        low.weights.get(`n${p.node}.weight`)!.select(0, p.channel).mul_(0);
        low.weights.get(`n${p.node}.bias`)?.select(0, p.channel).mul_(0);
      }
  });
  const w = pruneWeights(low.graph, plan, low.weights);
  const full = new GraphNet(low.graph, low.weights).eval();
  const small = new GraphNet(plan.graph, w).eval();
  tidy(() => noGrad(() => {
    const x = new Generator(4).randn([4, 1, 8, 8]);
    const d = full.forward(x).sub(small.forward(x)).abs().max().item();
    assert.ok(d < 1e-5, `max |diff| ${d}`);
  }));
  full.dispose();
  small.dispose();
  for (const t of [...w.values(), ...low.weights.values()]) t.dispose();
});

test('magnitude masks reach the sparsity, globally and per layer; 100% is an error naming the option', () => {
  const { module } = buildNetwork(CHAIN, { shape: [1, 8, 8], numClasses: 10 }, { gen: new Generator(1) });
  const low = lowerModule(module, [1, 8, 8], 10);
  module.dispose();
  const keys = prunableWeights(low.graph);
  for (const scope of ['global', 'layer'] as const) {
    const masks = magnitudeMasks(low.weights, keys, 0.7, scope);
    const w = new Map([...low.weights].map(([k, t]) => [k, t.clone().keep()]));
    applyMasks(w, masks);
    const s = sparsityOf(w, keys);
    assert.ok(s >= 0.69 && s <= 0.72, `${scope}: ${s}`);
    for (const t of [...masks.values(), ...w.values()]) t.dispose();
  }
  assert.throws(() => checkPruneSpec({ kind: 'magnitude', sparsity: 1 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prune.sparsity');
  assert.throws(() => checkPruneSpec({ kind: 'channels', ratio: 1 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prune.ratio');
  assert.throws(() => planChannels(low.graph, low.weights, { kind: 'channels', flops: 0.0001 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prune.flops');
  assert.ok(Math.abs(gradualSparsity(0.8, 3, 4) - 0.8) < 1e-12 && gradualSparsity(0.8, 1, 4) < 0.8);
  for (const t of low.weights.values()) t.dispose();
});
