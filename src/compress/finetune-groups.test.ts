/**
 * finetune()'s parameter groups (discriminative rates, late unfreezing): a group before its first
 * epoch is not updated and its batch norms stay in inference mode (bit-identical, running
 * statistics included) while the other group trains; from its first epoch it trains; a rate
 * factor 0 updates nothing of its group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { prepareData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { Generator, noGrad, tidy, type Tensor } from '../tensor/index.js';
import { finetune } from './finetune.js';
import { GraphNet } from './graphnet.js';
import { lowerModule } from './lower.js';
import { outputLayers } from './prune.js';

const ARCH: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 6, activation: 'relu', batchNorm: true, pool: 2, skip: false },
    { kernel: 3, channels: 6, activation: 'relu', batchNorm: true, pool: 1, skip: false },
  ],
};

const snapshot = (net: GraphNet): Map<string, Float32Array> => new Map([...net.stateDict()].map(([k, t]) => [k, tidy(() => noGrad(() => (t.toTypedArray() as Float32Array).slice()))]));
const equal = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

test('finetune groups: the late group stays bit-identical (BN statistics too) until its first epoch, then trains; lrScale 0 freezes', async () => {
  const data = await prepareData({ kind: 'digits' }, { seed: 0 });
  const { module } = buildNetwork(ARCH, { shape: data.shape, numClasses: 10 }, { gen: new Generator(3) });
  const low = lowerModule(module, data.shape, 10);
  module.dispose();
  const net = new GraphNet(low.graph, low.weights, 3);
  for (const t of low.weights.values()) t.dispose();
  try {
    const heads = outputLayers(low.graph);
    const head: Tensor[] = [];
    const body: Tensor[] = [];
    const bodyLayers = [];
    for (const [i, l] of net.layers) {
      if (heads.has(i)) head.push(...l.parameters());
      else {
        body.push(...l.parameters());
        bodyLayers.push(l);
      }
    }
    const isHead = (k: string) => heads.has(Number(/^n(\d+)\./.exec(k)![1]));
    const start = snapshot(net);
    const after: Map<string, Float32Array>[] = [];
    await finetune(net, data, { epochs: 2, lr: 3e-3, seed: 0, groups: [{ params: head }, { params: body, fromEpoch: 2, layers: bodyLayers }], onEpoch: () => void after.push(snapshot(net)) });
    let bodyTensors = 0;
    for (const [k, v] of start) {
      if (isHead(k)) {
        if (k.endsWith('weight')) assert.ok(!equal(v, after[0]!.get(k)!), `${k}: the head trains in epoch 1`);
        continue;
      }
      if (k.endsWith('num_batches_tracked')) continue;
      bodyTensors++;
      assert.ok(equal(v, after[0]!.get(k)!), `${k}: unchanged during epoch 1`);
      assert.ok(!equal(v, after[1]!.get(k)!), `${k}: trained (or its statistics updated) in epoch 2`);
    }
    assert.ok(bodyTensors >= 8, `conv weights/biases and BN weights, biases, running statistics: ${bodyTensors}`);

    // lrScale 0: the group's parameters do not move (its batch norms still update their statistics).
    const s0 = snapshot(net);
    await finetune(net, data, { epochs: 1, lr: 3e-3, seed: 1, groups: [{ params: head }, { params: body, lrScale: 0 }] });
    const s1 = snapshot(net);
    const bodyParams = [...s0.keys()].filter((k) => !isHead(k) && (k.endsWith('.weight') || k.endsWith('.bias')));
    assert.ok(bodyParams.length >= 6, bodyParams.join());
    for (const k of bodyParams) assert.ok(equal(s0.get(k)!, s1.get(k)!), `${k}: lrScale 0`);
    assert.ok([...s0.keys()].some((k) => isHead(k) && !equal(s0.get(k)!, s1.get(k)!)), 'the head still trains');

    for (const g of [{ params: body, lrScale: -1 }, { params: body, fromEpoch: 0 }, { params: body, fromEpoch: 1.5 }])
      await assert.rejects(() => finetune(net, data, { epochs: 1, groups: [g] }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'groups', JSON.stringify({ ...g, params: undefined }));
  } finally {
    net.dispose();
  }
});
