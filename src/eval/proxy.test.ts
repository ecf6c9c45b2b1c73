import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MlpArch, Nb201Arch } from '../core/arch.js';
import { liveTensors } from '../tensor/index.js';
import { ProxyEvaluator } from './proxy.js';

const mlp: MlpArch = { family: 'mlp', hidden: [64, 64], activation: 'relu', batchNorm: true, dropout: 0 };
const nb = (ops: string): Nb201Arch => ({ family: 'nb201', ops: ops.split(',') as unknown as Nb201Arch['ops'] });

test('zero-cost proxies: finite, deterministic under a seed, seed-dependent grad_norm, memory freed', async () => {
  const ev = new ProxyEvaluator({ dataset: { kind: 'digits' } });
  await ev.prepared();
  const before = liveTensors();
  const a = await ev.evaluate({ arch: mlp, seed: 1 });
  const b = await ev.evaluate({ arch: mlp, seed: 1 });
  const c = await ev.evaluate({ arch: mlp, seed: 2 });
  assert.equal(liveTensors(), before);
  assert.equal(a.status, 'complete');
  if (a.status !== 'complete' || b.status !== 'complete' || c.status !== 'complete') return;
  assert.ok(a.metrics.proxy_grad_norm! > 0 && Number.isFinite(a.metrics.proxy_grad_norm));
  assert.ok(a.metrics.proxy_synflow! > 0 && Number.isFinite(a.metrics.proxy_synflow));
  const noMs = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'proxy_ms'));
  assert.deepEqual(noMs(a.metrics), noMs(b.metrics));
  assert.ok(a.metrics.proxy_ms! >= 0);
  assert.notEqual(a.metrics.proxy_grad_norm, c.metrics.proxy_grad_norm);
  assert.equal(a.metrics.params, ev.costs(mlp).params);
});

test('synflow ranks a conv-heavy NB201 cell above a cell of only zero and pooling edges', async () => {
  const ev = new ProxyEvaluator({ dataset: { kind: 'digits' }, proxies: ['synflow'], nb201: { width: 4, cells: 1 } });
  const convs = await ev.evaluate({ arch: nb('nor_conv_3x3,nor_conv_3x3,nor_conv_3x3,skip_connect,nor_conv_3x3,nor_conv_1x1'), seed: 0 });
  const empty = await ev.evaluate({ arch: nb('none,avg_pool_3x3,none,none,none,none'), seed: 0 });
  assert.ok(convs.status === 'complete' && empty.status === 'complete');
  // The empty cell has no path from input to output: its synflow is ln(0), a failed value left out
  // of the metrics (ranked last by every consumer), never a number that could outrank a real one.
  if (convs.status === 'complete' && empty.status === 'complete') {
    assert.ok(Number.isFinite(convs.metrics.proxy_synflow));
    assert.equal(empty.metrics.proxy_synflow, undefined);
  }
  assert.equal((await ev.evaluate({ arch: { family: 'mlp', hidden: [0], activation: 'relu', batchNorm: false, dropout: 0 }, seed: 0 })).status, 'failed');
});
