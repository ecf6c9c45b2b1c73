import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/rng.js';
import { nb201Space } from '../space/nb201.js';
import { getSpace } from '../space/registry.js';
import { strategyConformanceSuite, toySpace } from './common-suite.js';
import { controllerShapes, reinforceLoss, type ReinforceOptions } from './reinforce.js';
import { allSites } from './sites.js';

// Small controllers keep the suite fast (every call round-trips the weights through JSON).
strategyConformanceSuite('reinforce', { options: { lr: 0.05, hidden: 8, embedding: 8 }, toyQuality: 9 });

const O: ReinforceOptions = { hidden: 4, embedding: 3, lr: 0.01, entropyWeight: 0.1, baselineDecay: 0.9, bins: 4, tanhConstant: 2.5, temperature: 2 };

function randomParams(def: Parameters<typeof controllerShapes>[0], seed: number) {
  const rng = Rng.fromSeed(seed);
  const p: Record<string, number[]> = {};
  for (const [name, shape] of controllerShapes(def, O)) p[name] = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-0.5, 0.5));
  return p;
}

test('reinforce: engine gradients of the controller loss match finite differences', () => {
  // The toy space has a choice, an int and a DAG; joint_mlp adds numeric sites and a sequence.
  for (const def of [toySpace.def, getSpace('mlp' as string).def]) {
    const params = randomParams(def, 3);
    const n = allSites(def).length;
    const rng = Rng.fromSeed(5);
    // Decisions: replay needs valid option indices for the sites actually built; take small ones.
    const decisions = Array.from({ length: n }, () => rng.int(0, 2));
    const { grads } = reinforceLoss(def, params, O, decisions, 0.7, true);
    let checked = 0;
    for (const name of Object.keys(params)) {
      const p = params[name]!;
      for (const i of [0, Math.floor(p.length / 2), p.length - 1]) {
        const eps = 1e-6;
        const save = p[i]!;
        p[i] = save + eps;
        const up = reinforceLoss(def, params, O, decisions, 0.7, false).loss;
        p[i] = save - eps;
        const down = reinforceLoss(def, params, O, decisions, 0.7, false).loss;
        p[i] = save;
        const fd = (up - down) / (2 * eps);
        const g = grads[name]![i]!;
        assert.ok(Math.abs(fd - g) <= 1e-6 + 1e-4 * Math.abs(fd), `${name}[${i}]: autograd ${g} vs finite difference ${fd}`);
        checked++;
      }
    }
    assert.ok(checked > 20);
  }
});

test('reinforce: the controller learns (NB201, reward = number of 3x3 convolutions)', async () => {
  const { createStrategy } = await import('./registry.js');
  const { simulate } = await import('./common-testing.js');
  // Reward = number of nor_conv_3x3 edges: the policy must shift towards them.
  const r = simulate(createStrategy('reinforce', { lr: 0.05, hidden: 16, embedding: 16 }), {
    space: nb201Space,
    objectives: [{ metric: 'score', direction: 'maximize' }],
    evaluate: (a) => ({ score: a.ops.filter((o) => o === 'nor_conv_3x3').length }),
    trials: 120,
    seed: 1,
    roundTrip: false,
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Novel architectures only: once the best region is used up, later rewards fall again, so the
  // check is that some later window of 30 beats the first (mostly random) one clearly.
  const first = mean(r.history.slice(0, 30).map((t) => t.metrics!.score!));
  const later = Math.max(...[30, 60, 90].map((i) => mean(r.history.slice(i, i + 30).map((t) => t.metrics!.score!))));
  assert.ok(later > first + 1, `mean score first 30 ${first}, best later window ${later}`);
});
