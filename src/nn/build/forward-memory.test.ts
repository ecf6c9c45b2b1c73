/**
 * Op-by-op forward passes hold about one stage's tensors at a time, not every tensor of the whole
 * network (forwardStage in src/nn/layers.ts; ValueRelease in src/compress/graph.ts for the
 * compression graph runners). Checked without timing or sizes: the native tensors alive when the
 * classifier runs are counted for a shallow and a deep network of each family; with every
 * intermediate kept to the end of the enclosing tidy (the fault) the deep one holds more, by about
 * the tensors of its extra stages. Also: values unchanged across repeated passes, nothing left after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch, ChainLayer, DartsArch, DartsCell, Nb201Arch, NetworkArch } from '../../core/arch.js';
import { Generator, liveTensors, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import { Linear } from '../layers.js';
import type { Layer } from '../module.js';
import { buildNetwork } from './index.js';

/** Live native tensors (beyond those alive before the pass) when the last Linear layer runs, and the output. */
function liveAtHead(module: Layer, x: Tensor, grad: boolean): { live: number; out: Float32Array } {
  const head = module.modules().filter((m): m is Linear => m instanceof Linear).at(-1)!;
  let at = -1;
  const before = liveTensors();
  const forward = head.forward.bind(head);
  head.forward = (t: Tensor) => {
    at = liveTensors() - before;
    return forward(t);
  };
  try {
    const out = tidy(() => {
      const run = () => module.forward(x);
      if (!grad) return noGrad(run).toFloat32Array();
      const y = run();
      y.sum().backward();
      return y.toFloat32Array();
    });
    assert.equal(liveTensors(), before, 'nothing left after the pass');
    return { live: at, out };
  } finally {
    delete (head as unknown as { forward?: unknown }).forward;
  }
}

const nb201: Nb201Arch = { family: 'nb201', ops: ['nor_conv_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_3x3', 'avg_pool_3x3', 'nor_conv_3x3'] };
const cell = (l: [string, number][]) => ({ edges: l.map(([op, input]) => ({ op, input })) }) as unknown as DartsCell;
const darts: DartsArch = {
  family: 'darts',
  normal: cell([['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['skip_connect', 0], ['dil_conv_3x3', 1], ['sep_conv_3x3', 1], ['skip_connect', 0], ['avg_pool_3x3', 0], ['dil_conv_3x3', 2]]),
  reduce: cell([['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]]),
};
const layer = (channels: number, pool: ChainLayer['pool']): ChainLayer => ({ kernel: 3, channels, activation: 'relu', batchNorm: true, pool, skip: true });
const chain = (n: number): ChainCnnArch => ({ family: 'chain_cnn', dropout: 0, layers: [layer(8, 2), ...Array.from({ length: n }, () => layer(8, 1))] });

const cases: { name: string; shallow: [NetworkArch, object]; deep: [NetworkArch, object] }[] = [
  { name: 'NB201 (1 vs 4 cells per stage)', shallow: [nb201, { nb201: { width: 4, cells: 1 } }], deep: [nb201, { nb201: { width: 4, cells: 4 } }] },
  { name: 'DARTS (3 vs 8 cells)', shallow: [darts, { darts: { width: 4, layers: 3 } }], deep: [darts, { darts: { width: 4, layers: 8 } }] },
  { name: 'chain CNN (2 vs 7 layers)', shallow: [chain(1), {}], deep: [chain(6), {}] },
];

for (const c of cases)
  for (const grad of [false, true])
    test(`${c.name}, ${grad ? 'with' : 'without'} grad: the tensors alive at the classifier do not grow with depth`, () => {
      const input = { shape: [3, 16, 16], numClasses: 10 };
      const x = new Generator(7).randn([4, 3, 16, 16]);
      const live: number[] = [];
      try {
        for (const [arch, o] of [c.shallow, c.deep]) {
          const { module } = buildNetwork(arch, input, { gen: new Generator(1), ...o });
          try {
            module.eval();
            const a = liveAtHead(module, x, grad);
            const b = liveAtHead(module, x, grad);
            assert.deepEqual(b.out, a.out, 'the same values on a second pass');
            assert.equal(b.live, a.live);
            live.push(a.live);
          } finally {
            module.dispose();
          }
        }
      } finally {
        x.dispose();
      }
      assert.ok(live[0]! > 0);
      assert.equal(live[1], live[0], `live tensors at the classifier, shallow vs deep: ${live.join(' vs ')}`);
    });

test('the op-by-op evaluation pass (train.ts evaluateSubset without the native engine): the same tensors alive at every batch, none left after', async () => {
  const { evaluateSubset } = await import('../../eval/train.js');
  const n = 100;
  const gen = new Generator(3);
  const xs = gen.randn([n, 3, 16, 16]);
  const data = {
    name: 'random',
    numClasses: 10,
    shape: [3, 16, 16],
    normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    train: { data: { x: xs.toFloat32Array(), y: Int32Array.from({ length: n }, (_, i) => i % 10), shape: [3, 16, 16] }, indices: Int32Array.from({ length: n }, (_, i) => i) },
  };
  xs.dispose();
  const { module } = buildNetwork(nb201, { shape: [3, 16, 16], numClasses: 10 }, { gen: new Generator(1), nb201: { width: 4, cells: 2 } });
  try {
    const head = module.modules().filter((m): m is Linear => m instanceof Linear).at(-1)!;
    const forward = head.forward.bind(head);
    const before = liveTensors();
    const live: number[] = [];
    head.forward = (t: Tensor) => {
      live.push(liveTensors() - before);
      return forward(t);
    };
    const m = evaluateSubset(module, data.train as never, data as never, 16);
    assert.equal(live.length, 7, '7 batches of at most 16');
    assert.ok(live.every((v) => v === live[0]), `live tensors at the classifier per batch: ${live.join(', ')}`);
    assert.equal(liveTensors(), before);
    assert.ok(Number.isFinite(m.loss));
  } finally {
    module.dispose();
  }
});
