// torch.autograd.grad through the engine: first and second derivatives (double backward), unused inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, grad, liveTensors, tidy } from './index.js';

test('grad: d(x^3)/dx = 3x^2 without touching .grad; createGraph gives d2/dx2 = 6x; an unused input is undefined', () => {
  const before = liveTensors();
  tidy(() => {
    const x = Tensor.fromArray(new Float32Array([1, -2, 0.5]), [3]);
    x.requiresGrad_(true);
    const u = Tensor.fromArray(new Float32Array([4]), [1]);
    u.requiresGrad_(true);
    const y = x.mul(x).mul(x).sum();
    const [g, gu] = grad([y], [x, u], { createGraph: true });
    assert.equal(x.grad, undefined);
    assert.equal(gu, undefined);
    assert.deepEqual([...g!.toFloat32Array()], [3, 12, 0.75]);
    assert.ok(g!.requiresGrad);
    const [h] = grad([g!.sum()], [x]);
    assert.deepEqual([...h!.toFloat32Array()], [6, -12, 3]);
    // Without createGraph the result is a plain tensor, and the graph is freed: a second grad throws.
    const z = x.mul(x).sum();
    const [g2] = grad([z], [x]);
    assert.equal(g2!.requiresGrad, false);
    assert.throws(() => grad([z], [x]));
  });
  assert.equal(liveTensors(), before);
});
