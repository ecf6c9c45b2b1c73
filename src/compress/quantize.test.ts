import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildNetwork } from '../nn/build/index.js';
import { Generator, noGrad, tidy } from '../tensor/index.js';
import { quantizedEngines, setQuantizedEngine } from '../tensor/quantized.js';
import { FAMILIES, SMALL } from './testing.js';
import { lowerModule } from './lower.js';
import { exportQuantizedOnnx } from './onnx.js';
import { decodeInt8, disposeLoadedInt8, encodeInt8 } from './int8file.js';
import { calibrate, disposeFused, fuse, QuantizedNet, runFused } from './quantize.js';

test('int8 networks of every family (GELU/SiLU fallbacks, depthwise convs, cats) track float; onnxruntime runs their QDQ export', async () => {
  for (const engine of quantizedEngines()) {
    setQuantizedEngine(engine);
    for (const f of FAMILIES) {
      const { module } = buildNetwork(f.arch, { shape: f.shape, numClasses: 10 }, { gen: new Generator(1), ...SMALL });
      module.eval();
      const low = lowerModule(module, f.shape, 10);
      module.dispose();
      const fused = fuse(low.graph, low.weights);
      const gen = new Generator(5);
      const cal = [gen.randn([32, ...f.shape]).keep()];
      const qn = new QuantizedNet(fused, 'static', calibrate(fused, cal));
      const x = gen.randn([8, ...f.shape]).keep();
      const [ref, q] = tidy(() => noGrad(() => [runFused(fused, x).toTypedArray() as Float32Array, qn.forward(x).toTypedArray() as Float32Array]));
      const range = Math.max(...ref) - Math.min(...ref);
      const err = Math.max(...ref.map((v, i) => Math.abs(v - q![i]!)));
      assert.ok(err < 0.25 * range + 1e-3, `${engine} ${f.name}: int8 vs float max err ${err}, logit range ${range}`);
      const s = await ort.InferenceSession.create(exportQuantizedOnnx(qn));
      const o = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.toTypedArray() as Float32Array, [8, ...f.shape]) }))[s.outputNames[0]!]!.data as Float32Array;
      const oerr = Math.max(...o.map((v, i) => Math.abs(v - q![i]!)));
      assert.ok(oerr < 0.25 * range + 1e-3, `${engine} ${f.name}: onnxruntime vs tsnas int8 max err ${oerr}, logit range ${range}`);
      qn.dispose();
      disposeFused(fused);
      for (const t of [x, ...cal, ...low.weights.values()]) t.dispose();
    }
  }
});

test('model.int8.bin reads back into the same int8 network (identical outputs), static and dynamic', () => {
  for (const mode of ['static', 'dynamic'] as const)
    for (const f of FAMILIES.slice(0, 2)) {
      const { module } = buildNetwork(f.arch, { shape: f.shape, numClasses: 10 }, { gen: new Generator(1), ...SMALL });
      module.eval();
      const low = lowerModule(module, f.shape, 10);
      module.dispose();
      const fused = fuse(low.graph, low.weights);
      const gen = new Generator(5);
      const cal = [gen.randn([16, ...f.shape]).keep()];
      const qn = new QuantizedNet(fused, mode, mode === 'static' ? calibrate(fused, cal) : undefined);
      const back = decodeInt8(encodeInt8(qn, { engine: 'onednn' }));
      const x = gen.randn([4, ...f.shape]).keep();
      tidy(() => noGrad(() => assert.deepEqual(back.forward(x).toTypedArray(), qn.forward(x).toTypedArray(), `${mode} ${f.name}`)));
      disposeLoadedInt8(back);
      qn.dispose();
      disposeFused(fused);
      for (const t of [x, ...cal, ...low.weights.values()]) t.dispose();
    }
});

test('per-tensor int8 weights: one scale per conv/linear, onnxruntime runs the QDQ export (bias scales from the one weight scale), the file reads back per tensor', async () => {
  setQuantizedEngine(quantizedEngines().includes('onednn') ? 'onednn' : quantizedEngines()[0]!);
  for (const f of [FAMILIES[0]!, FAMILIES[4]!]) {
    // chain CNN, DARTS (depthwise convs)
    const { module } = buildNetwork(f.arch, { shape: f.shape, numClasses: 10 }, { gen: new Generator(1), ...SMALL });
    module.eval();
    const low = lowerModule(module, f.shape, 10);
    module.dispose();
    const fused = fuse(low.graph, low.weights);
    const gen = new Generator(5);
    const cal = [gen.randn([32, ...f.shape]).keep()];
    const qn = new QuantizedNet(fused, 'static', calibrate(fused, cal), undefined, 'per_tensor');
    const back = decodeInt8(encodeInt8(qn, { engine: 'onednn' }));
    try {
      let convs = 0;
      fused.nodes.forEach((n, i) => {
        if (n.kind === 'qconv' || n.kind === 'qlinear') {
          assert.equal(qn.scales.get(i)!.length, 1, `${f.name} node ${i}: one weight scale`);
          convs++;
        }
      });
      assert.ok(convs >= 3);
      assert.equal(back.weightScheme, 'per_tensor');
      const x = gen.randn([8, ...f.shape]).keep();
      const q = tidy(() => noGrad(() => qn.forward(x).toTypedArray() as Float32Array));
      tidy(() => noGrad(() => assert.deepEqual(back.forward(x).toTypedArray(), q, `${f.name}: file round trip`)));
      const range = Math.max(...q) - Math.min(...q);
      const s = await ort.InferenceSession.create(exportQuantizedOnnx(qn));
      const o = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.toTypedArray() as Float32Array, [8, ...f.shape]) }))[s.outputNames[0]!]!.data as Float32Array;
      // The same int8 computation: only the requantization rounding of the two runtimes differs.
      const oerr = Math.max(...o.map((v, i) => Math.abs(v - q[i]!)));
      assert.ok(Number.isFinite(oerr) && oerr < 0.1 * range + 1e-3, `${f.name}: onnxruntime vs tsnas per-tensor int8 max err ${oerr}, logit range ${range}`);
      x.dispose();
    } finally {
      disposeLoadedInt8(back);
      qn.dispose();
      disposeFused(fused);
      for (const t of [...cal, ...low.weights.values()]) t.dispose();
    }
  }
});
