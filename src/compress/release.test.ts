/**
 * The compression graph runners free each value after its last reader (ValueRelease, graph.ts):
 * GraphNet's float forward, runFused (the calibration pass and the float reference of the int8
 * network) and the dynamic and static int8 forwards hold the values still to be read, not every value of the
 * network until the enclosing tidy ends. Checked by depth: the native tensors alive when the output
 * is produced are the same for an NB201 network with 1 and with 4 cells per stage (they grew with
 * the cells before: the fault), values unchanged on a second pass, nothing left afterwards; and a
 * node returning its input (dropout in eval mode) keeps that tensor for the later readers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Nb201Arch } from '../core/arch.js';
import { buildNetwork } from '../nn/build/index.js';
import { Generator, Tensor, liveTensors, noGrad, tidy } from '../tensor/index.js';
import { ValueRelease } from './graph.js';
import { GraphNet } from './graphnet.js';
import { lowerModule } from './lower.js';
import { QuantizedNet, calibrate, disposeFused, fuse, runFused } from './quantize.js';

const arch: Nb201Arch = { family: 'nb201', ops: ['nor_conv_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_3x3', 'avg_pool_3x3', 'nor_conv_3x3'] };
const SHAPE = [3, 16, 16];

function lowered(cells: number) {
  const { module } = buildNetwork(arch, { shape: SHAPE, numClasses: 10 }, { gen: new Generator(1), nb201: { width: 4, cells } });
  module.eval();
  const low = lowerModule(module, SHAPE, 10);
  module.dispose();
  return low;
}

/** Live tensors (beyond those before the pass) when the output value is produced, and the output. */
function measure(run: (x: Tensor, atOutput: () => void) => Tensor, x: Tensor): { live: number; out: Float32Array } {
  const before = liveTensors();
  let live = -1;
  const out = tidy(() => noGrad(() => run(x, () => (live = liveTensors() - before)).toFloat32Array()));
  assert.equal(liveTensors(), before, 'nothing left after the pass');
  return { live, out };
}

test('GraphNet, runFused, calibrate and the dynamic and static int8 forwards: the tensors alive at the output do not grow with depth', () => {
  const x = new Generator(7).randn([4, ...SHAPE]);
  const res: Record<string, number[]> = { graphnet: [], runFused: [], dynamic: [], static: [] };
  try {
    for (const cells of [1, 4]) {
      const low = lowered(cells);
      const net = new GraphNet(low.graph, low.weights, 0).eval();
      const fused = fuse(low.graph, low.weights);
      const dyn = new QuantizedNet(fused, 'dynamic', undefined);
      const stat = new QuantizedNet(fused, 'static', calibrate(fused, [x]));
      try {
        // GraphNet: counted when its last node (the classifier's linear layer) runs
        const last = low.graph.nodes.length - 1;
        const head = net.layers.get(last)!;
        const runs = {
          graphnet: (t: Tensor, at: () => void) => {
            const f = head.forward.bind(head);
            head.forward = (y: Tensor) => (at(), f(y));
            try {
              return net.forward(t);
            } finally {
              delete (head as unknown as { forward?: unknown }).forward;
            }
          },
          runFused: (t: Tensor, at: () => void) => runFused(fused, t, (v) => void (v === fused.output && at())),
          dynamic: (t: Tensor, at: () => void) => {
            const y = dyn.forward(t);
            at();
            return y;
          },
          static: (t: Tensor, at: () => void) => {
            const y = stat.forward(t);
            at();
            return y;
          },
        };
        for (const [name, run] of Object.entries(runs)) {
          const a = measure(run, x);
          const b = measure(run, x);
          assert.deepEqual(b.out, a.out, `${name}: the same values on a second pass`);
          res[name]!.push(a.live);
        }
        // calibration leaves nothing behind and observes every value
        const before = liveTensors();
        const qp = calibrate(fused, [x]);
        assert.equal(qp.length, fused.nodes.length + 1);
        assert.equal(liveTensors(), before);
      } finally {
        dyn.dispose();
        stat.dispose();
        disposeFused(fused);
        net.dispose();
        for (const t of low.weights.values()) t.dispose();
      }
    }
  } finally {
    x.dispose();
  }
  for (const [name, [shallow, deep]] of Object.entries(res)) {
    assert.ok(shallow! > 0, `${name}: ${shallow}`);
    assert.equal(deep, shallow, `${name}: live tensors at the output, 1 vs 4 cells per stage: ${shallow} vs ${deep}`);
  }
});

test('ValueRelease: a tensor shared by two values (a node returning its input) is freed after the last read of either', () => {
  tidy(() => {
    const x = Tensor.ones([2]);
    const a = x.mul(2); // value 1
    // node 0: a = f(x); node 1: b = a (returns its input); node 2: c = g(a); node 3: d = h(b, c)
    const inputs = [[0], [1], [1], [2, 3]];
    const rel = new ValueRelease(inputs, 4);
    const v: Tensor[] = [x];
    rel.produced(0, x);
    v.push(a);
    rel.produced(1, a);
    rel.consumed(inputs[0]!, v);
    v.push(a); // node 1 returns its input
    rel.produced(2, a);
    rel.consumed(inputs[1]!, v);
    assert.ok(!a.isDisposed, 'value 2 (the same tensor) is still to be read');
    const c = a.add(1);
    v.push(c);
    rel.produced(3, c);
    rel.consumed(inputs[2]!, v);
    assert.ok(!a.isDisposed, 'node 3 still reads it as value 2');
    const d = a.add(c);
    v.push(d);
    rel.produced(4, d);
    rel.consumed(inputs[3]!, v);
    assert.ok(a.isDisposed && c.isDisposed, 'freed after their last read');
    assert.ok(!x.isDisposed && !d.isDisposed, 'the input and the output are never freed');
    assert.deepEqual(Array.from(d.toFloat32Array()), [5, 5]);
  });
});
