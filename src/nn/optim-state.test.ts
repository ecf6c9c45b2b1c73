import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { Generator, Tensor, crossEntropy, liveTensors, tidy } from '../tensor/index.js';
import { buildNetwork } from './build/index.js';
import { inheritWeights } from './inherit.js';
import type { Layer } from './module.js';
import { Adam, SGD, type Optimizer } from './optim.js';
import { saveStateDict } from './state.js';
import { disposeOptimizerState, loadOptimizerState, optimizerStatePath, restoreOptimizerState, saveOptimizerState } from './optim-state.js';

const IN = { shape: [1, 6, 6], numClasses: 4 };
const ARCH: MlpArch = { family: 'mlp', hidden: [12], activation: 'relu', batchNorm: false, dropout: 0 };
const build = (a: MlpArch, seed: number) => buildNetwork(a, IN, { gen: new Generator(seed) }).module;

/** `n` Adam/SGD steps on fixed seeded batches (batch k is the same for every caller). */
function steps(m: Layer, opt: Optimizer, from: number, n: number): void {
  for (let k = from; k < from + n; k++)
    tidy(() => {
      const g = new Generator(100 + k);
      const x = g.randn([8, ...IN.shape]);
      const y = Tensor.fromArray(Int32Array.from({ length: 8 }, (_, i) => (i + k) % 4), [8], 'int64');
      opt.zeroGrad();
      crossEntropy(m.forward(x), y).backward();
      opt.step();
    });
}
const names = (m: Layer) => m.namedParameters().map(([n]) => n);
const flat = (m: Layer) => m.parameters().map((p) => Array.from(p.toTypedArray() as Float32Array));

test('optimizer state kept beside the weights: a training resumed from weights + state continues exactly as the uninterrupted one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-optim-state-'));
  const before = liveTensors();
  try {
    for (const kind of ['adam', 'sgd'] as const) {
      const make = (m: Layer) => (kind === 'adam' ? new Adam(m.parameters(), { lr: 1e-2 }) : new SGD(m.parameters(), { lr: 1e-2, momentum: 0.9 }));
      // Uninterrupted: 6 steps.
      const a = build(ARCH, 1);
      const oa = make(a);
      steps(a, oa, 0, 6);
      // Interrupted after 3: weights + optimizer state saved, a new network inherits both, 3 more steps.
      const b = build(ARCH, 1);
      const ob = make(b);
      steps(b, ob, 0, 3);
      const path = optimizerStatePath(join(dir, `w-${kind}.sd`));
      assert.equal(path, join(dir, `w-${kind}.optim.sd`));
      saveOptimizerState(path, ob, kind, names(b));
      const c = build(ARCH, 2);
      const rep = inheritWeights(c, b.stateDict(), 'exact');
      const oc = make(c);
      const saved = loadOptimizerState(path);
      const r = restoreOptimizerState(oc, kind, names(c), saved, new Set(rep.copied));
      disposeOptimizerState(saved);
      assert.equal(r.fraction, 1);
      assert.deepEqual(r.fresh, []);
      steps(c, oc, 3, 3);
      // Same machine, same thread count, same kernels: the same floats.
      assert.deepEqual(flat(c), flat(a), kind);
      // Without the state (fresh moments) the continuation differs.
      const d = build(ARCH, 2);
      inheritWeights(d, b.stateDict(), 'exact');
      const od = make(d);
      steps(d, od, 3, 3);
      assert.notDeepEqual(flat(d), flat(a), `${kind}: fresh state gives another continuation`);
      for (const m of [a, b, c, d]) m.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(liveTensors(), before);
});

test('restoreOptimizerState: a child whose shapes differ gets fresh state for the new and reshaped tensors, the parent\'s for the tensors copied whole; another optimizer kind restores nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-optim-state-'));
  try {
    const p = build(ARCH, 1);
    const op = new Adam(p.parameters(), { lr: 1e-2 });
    steps(p, op, 0, 4);
    const path = join(dir, 'p.optim.sd');
    saveOptimizerState(path, op, 'adam', names(p));
    // Widened hidden layer: layer 0's weight and bias and the head's weight change shape; the head's bias keeps it.
    const child: MlpArch = { ...ARCH, hidden: [16] };
    const c = build(child, 2);
    const rep = inheritWeights(c, p.stateDict(), 'morph');
    const oc = new Adam(c.parameters(), { lr: 1e-2 });
    const saved = loadOptimizerState(path);
    // Claiming a reshaped tensor was inherited whole does not pass a buffer of the wrong shape.
    const r = restoreOptimizerState(oc, 'adam', names(c), saved, new Set([...rep.copied, ...rep.partial]));
    assert.deepEqual(new Set(r.restored), new Set(rep.copied));
    assert.ok(r.restored.length >= 1 && r.fresh.length >= 3, `restored ${r.restored} fresh ${r.fresh}`);
    const st = oc.state();
    const ps = op.state();
    names(c).forEach((n, i) => {
      const pi = names(p).indexOf(n);
      if (r.restored.includes(n)) {
        assert.equal(st.steps[i], 4);
        assert.deepEqual(Array.from(st.buffers[1]![i]!.toTypedArray() as Float32Array), Array.from(ps.buffers[1]![pi]!.toTypedArray() as Float32Array), `${n} exp_avg_sq`);
      } else {
        assert.equal(st.steps[i], 0, n);
        assert.equal(st.buffers[0]![i], undefined, n);
      }
    });
    // The child trains with the mixed state (fresh moments are created on its first step).
    steps(c, oc, 4, 2);
    assert.equal(oc.state().steps.every((s, i) => s === (r.restored.includes(names(c)[i]!) ? 6 : 2)), true);
    // Another optimizer kind: nothing restored.
    const os = new SGD(c.parameters(), { lr: 1e-2, momentum: 0.9 });
    assert.equal(restoreOptimizerState(os, 'sgd', names(c), saved, new Set(rep.copied)).fraction, 0);
    disposeOptimizerState(saved);
    for (const s of [st, ps]) for (const b of s.buffers) for (const t of b) t?.dispose();
    // A weights file is not an optimizer-state file: data_error; no file: not_found.
    saveStateDict(join(dir, 'w.sd'), p.stateDict());
    assert.throws(() => loadOptimizerState(join(dir, 'w.sd')), (e: unknown) => isNasError(e, 'data_error'));
    assert.throws(() => loadOptimizerState(join(dir, 'none.sd')), (e: unknown) => isNasError(e, 'not_found'));
    p.dispose();
    c.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
