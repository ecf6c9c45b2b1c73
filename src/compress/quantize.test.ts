import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Generator, getNumThreads, maxPool2d, noGrad, setNumThreads, tidy } from '../tensor/index.js';
import { lenet } from '../nn/build/lenet.js';
import { lowerModule } from './lower.js';
import { dequantize, hasQuantizedLut, intRepr, prepackConv2d, qparamsOf, prepackLinear, quantizedConv2d, quantizedEngine, quantizedEngines, quantizedLinear, quantizedLut, quantizePerTensor, setQuantizedEngine, withQuantizedEngine } from '../tensor/quantized.js';
import type { ChainCnnArch } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import { requantizedValues } from './qat.js';
import { FAMILIES, loweredAndFused } from './testing.js';
import { exportQuantizedOnnx } from './onnx.js';
import { decodeInt8, disposeLoadedInt8, encodeInt8 } from './int8file.js';
import { activationTable, calibrate, disposeFused, fuse, isInt8, MAX_PACK_KEYS, QuantizedNet, quantizeWeight, runFused } from './quantize.js';

test('int8 networks of every family (GELU/SiLU fallbacks, depthwise convs, cats) track float; onnxruntime runs their QDQ export', async () => {
  for (const engine of quantizedEngines()) {
    setQuantizedEngine(engine);
    for (const f of FAMILIES) {
      const { low, fused } = loweredAndFused(f.arch, f.shape);
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
      const { low, fused } = loweredAndFused(f.arch, f.shape);
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
    const { low, fused } = loweredAndFused(f.arch, f.shape);
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

test('GELU/SiLU/tanh/sigmoid run in int8 by a 256-entry table: the codes equal quantize(act(dequantize(x))) on conv outputs of every engine; float input and a short table are refused', () => {
  assert.ok(hasQuantizedLut(), 'the addon has qLut (rebuild it: npm run build:native)');
  const fns = ['gelu', 'silu', 'tanh', 'sigmoid'] as const;
  for (const engine of quantizedEngines()) {
    setQuantizedEngine(engine);
    tidy(() =>
      noGrad(() => {
        const gen = new Generator(3);
        const x = quantizePerTensor(gen.randn([2, 3, 9, 9]), { scale: 0.03, zeroPoint: 120 });
        const w = quantizeWeight(gen.randn([8, 3, 3, 3]).mul(0.4));
        const convOut = { scale: 0.05, zeroPoint: 131 };
        // The conv's output is in whatever memory layout the engine returns (onednn/qnnpack: channels-last).
        const y = quantizedConv2d(x, prepackConv2d(w, gen.randn([8]), { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 }), convOut);
        for (const fn of fns) {
          const out = { scale: fn === 'tanh' ? 2 / 255 : fn === 'sigmoid' ? 1 / 255 : 0.04, zeroPoint: fn === 'tanh' ? 128 : fn === 'sigmoid' ? 0 : 20 };
          const table = activationTable(fn, convOut, out);
          const got = quantizedLut(y, table, out);
          const act = dequantize(y)[fn]();
          const want = intRepr(quantizePerTensor(act, out)).toTypedArray() as Int32Array;
          assert.deepEqual(got.shape, y.shape);
          assert.deepEqual(qparamsOf(got), out, `${engine} ${fn}: output parameters`);
          assert.deepEqual(intRepr(got).toTypedArray(), want, `${engine} ${fn}: table codes vs dequantize -> ${fn} -> quantize`);
        }
        assert.throws(() => quantizedLut(dequantize(y), new Uint8Array(256), convOut), (e: unknown) => e instanceof NasError && e.code === 'dtype_error');
        assert.throws(() => quantizedLut(y, new Uint8Array(255), convOut), (e: unknown) => e instanceof NasError && e.code === 'dtype_error');
      }),
    );
  }
});

test('int8 SiLU chain CNN: every node runs in int8 (no dequantize between convs), within the float tolerance; QAT fake-quantizes the table activations', () => {
  setQuantizedEngine(quantizedEngines().includes('onednn') ? 'onednn' : quantizedEngines()[0]!);
  const f = FAMILIES[0]!;
  const arch = { ...f.arch, layers: (f.arch as ChainCnnArch).layers.map((l) => ({ ...l, activation: 'silu' as const })) } as ChainCnnArch;
  const { low, fused } = loweredAndFused(arch, f.shape);
  const acts = fused.nodes.filter((n) => n.kind === 'act' && n.fn === 'silu').length;
  assert.ok(acts >= 2, `the chain CNN has SiLU nodes (${acts})`);
  assert.ok(fused.nodes.every(isInt8), 'every fused node of a SiLU chain CNN runs in int8');
  const req = requantizedValues(fused);
  fused.nodes.forEach((n, i) => {
    if (n.kind === 'act' && n.fn === 'silu') assert.ok(req.has(i + 1), `QAT fake-quantizes the SiLU output ${i + 1}`);
  });
  const gen = new Generator(5);
  const cal = [gen.randn([32, ...f.shape]).keep()];
  const qn = new QuantizedNet(fused, 'static', calibrate(fused, cal));
  const x = gen.randn([8, ...f.shape]).keep();
  const [ref, q] = tidy(() => noGrad(() => [runFused(fused, x).toTypedArray() as Float32Array, qn.forward(x).toTypedArray() as Float32Array]));
  const range = Math.max(...ref) - Math.min(...ref);
  const err = Math.max(...ref.map((v, i) => Math.abs(v - q![i]!)));
  assert.ok(err < 0.25 * range + 1e-3, `int8 vs float max err ${err}, logit range ${range}`);
  qn.dispose();
  disposeFused(fused);
  for (const t of [x, ...cal, ...low.weights.values()]) t.dispose();
});

test('per-op engines at 1 thread (oneDNN convs, QNNPACK linear/pools/add): every family tracks the one-engine network; the process engine is restored, also after a failed forward', { skip: !(quantizedEngines().includes('onednn') && quantizedEngines().includes('qnnpack')) && 'needs oneDNN and QNNPACK' }, () => {
  const threads = getNumThreads();
  setQuantizedEngine('onednn');
  try {
    for (const f of FAMILIES) {
      const { low, fused } = loweredAndFused(f.arch, f.shape);
      const gen = new Generator(6);
      const cal = [gen.randn([32, ...f.shape]).keep()];
      const qp = calibrate(fused, cal);
      const mixed = new QuantizedNet(fused, 'static', qp);
      const single = new QuantizedNet(fused, 'static', qp, undefined, 'per_channel', { perOpEngines: false });
      const x = gen.randn([8, ...f.shape]).keep();
      setNumThreads(1);
      assert.equal(mixed.enginesNow(), 'onednn+qnnpack', f.name);
      assert.equal(single.enginesNow(), 'packed', f.name);
      const [ref, a, b] = tidy(() => noGrad(() => [runFused(fused, x), mixed.forward(x), single.forward(x)].map((t) => t.toTypedArray() as Float32Array)));
      assert.equal(quantizedEngine(), 'onednn', `${f.name}: the process engine is restored after a per-op forward`);
      setNumThreads(2);
      assert.equal(mixed.enginesNow(), 'packed', `${f.name}: 2 threads run one engine`);
      const [c, d] = tidy(() => noGrad(() => [mixed, single].map((n) => n.forward(x).toTypedArray() as Float32Array)));
      const range = Math.max(...ref!) - Math.min(...ref!);
      const maxErr = (p: Float32Array, q: Float32Array) => Math.max(...p.map((v, i) => Math.abs(v - q[i]!)));
      // The two engines round requantization differently (a code here and there), so the outputs agree closely, not bit for bit.
      assert.ok(maxErr(a!, b!) < 0.05 * range + 1e-3, `${f.name}: per-op vs one-engine max err ${maxErr(a!, b!)}, logit range ${range}`);
      assert.ok(maxErr(a!, ref!) < 0.25 * range + 1e-3, `${f.name}: per-op int8 vs float max err ${maxErr(a!, ref!)}, logit range ${range}`);
      assert.deepEqual(c, d, `${f.name}: at 2 threads the network runs its oneDNN packs, as the one-engine network does`);
      setNumThreads(1);
      const gone = gen.randn([1, ...f.shape]);
      gone.dispose();
      assert.throws(() => tidy(() => mixed.forward(gone)), `${f.name}: a forward of a freed tensor fails`);
      assert.equal(quantizedEngine(), 'onednn', `${f.name}: the process engine is restored after a failed forward`);
      mixed.dispose();
      single.dispose();
      disposeFused(fused);
      for (const t of [x, ...cal, ...low.weights.values()]) t.dispose();
    }
  } finally {
    setNumThreads(threads);
  }
});

test('a flatten read only by linear layers runs in (h, w, c) order with the columns permuted: the same outputs as the (c, h, w) flatten with the weights as quantized, on both paths', () => {
  const threads = getNumThreads();
  const engines = quantizedEngines();
  setQuantizedEngine(engines.includes('onednn') ? 'onednn' : engines[0]!);
  const low = lowerModule(lenet(new Generator(2)), [1, 28, 28], 10);
  const fused = fuse(low.graph, low.weights);
  const gen = new Generator(8);
  const cal = [gen.randn([16, 1, 28, 28]).keep()];
  const qp = calibrate(fused, cal);
  const qn = new QuantizedNet(fused, 'static', qp);
  const x = gen.randn([3, 1, 28, 28]).keep();
  assert.deepEqual(fused.nodes.map((n) => n.kind), ['qconv', 'maxpool', 'qconv', 'maxpool', 'flatten', 'qlinear']);
  try {
    for (const t of [1, 2]) {
      setNumThreads(t);
      // The reference: every node as written, flatten in (c, h, w) order, the weights as quantized
      // (qn.qweights): convs packed for the packing engine, the linear for the engine the forward runs it on.
      const eng = qn.enginesNow() === 'onednn+qnnpack' ? 'qnnpack' : qn.engine;
      const packs = new Map(fused.nodes.flatMap((n, i) => (n.kind === 'qconv' ? [[i, prepackConv2d(qn.qweights.get(i)!, fused.weights.get(i)!.get('bias')!, n)] as const] : [])));
      const lin = fused.nodes.length - 1;
      const linPack = withQuantizedEngine(eng, () => prepackLinear(qn.qweights.get(lin)!, fused.weights.get(lin)!.get('bias')!));
      const want = tidy(() =>
        noGrad(() =>
          withQuantizedEngine(eng, () => {
            let v = quantizePerTensor(x, qp[0]!);
            fused.nodes.forEach((n, i) => {
              if (n.kind === 'qconv') v = quantizedConv2d(v, packs.get(i)!, qp[i + 1]!, n.relu);
              else if (n.kind === 'maxpool') v = maxPool2d(v, n.kernel, { stride: n.stride, padding: n.padding });
              else if (n.kind === 'flatten') v = v.contiguous().flatten(1);
              else if (n.kind === 'qlinear') v = quantizedLinear(v, linPack, qp[i + 1]!, n.relu);
            });
            return dequantize(v).toTypedArray() as Float32Array;
          }),
        ),
      );
      const got = tidy(() => noGrad(() => qn.forward(x).toTypedArray() as Float32Array));
      assert.deepEqual(got, want, `${t} thread(s), ${qn.enginesNow()}`);
    }
  } finally {
    setNumThreads(threads);
    qn.dispose();
    disposeFused(fused);
    for (const t of [x, ...cal, ...low.weights.values()]) t.dispose();
  }
});

// An int8 conv fed the wrong channel count did not fail on every engine (it could read past the
// input); a quantized network checks its input's shape itself, as calibration does.
test('a quantized network refuses an input that is not [N, ...inputShape] (static and dynamic, every family), naming the field', () => {
  for (const f of FAMILIES) {
    const { low, fused } = loweredAndFused(f.arch, f.shape);
    const gen = new Generator(7);
    const cal = [gen.randn([8, ...f.shape]).keep()];
    const nets = [new QuantizedNet(fused, 'static', calibrate(fused, cal)), new QuantizedNet(fused, 'dynamic', undefined)];
    const [c, ...rest] = f.shape;
    const bad = [gen.randn([2, c! + 1, ...rest]).keep(), gen.randn([...f.shape]).keep()];
    for (const net of nets) {
      for (const x of bad) {
        assert.throws(
          () => tidy(() => net.forward(x)),
          (e: unknown) => e instanceof NasError && e.code === 'shape_mismatch' && e.field === 'input' && e.message.includes(`[N, ${f.shape.join(', ')}]`),
          `${f.name} ${net.mode}: [${x.shape.join(', ')}]`,
        );
      }
      // A right-shaped input still runs.
      tidy(() => net.forward(cal[0]!));
      net.dispose();
    }
    disposeFused(fused);
    for (const t of [...bad, ...cal, ...low.weights.values()]) t.dispose();
  }
});

// libtorch's oneDNN int8 packs cache one primitive keyed by their first call's input shape and
// thread count: a network first run on a large batch rebuilt its primitive on every batch-1 call
// (twice the time). Each (batch, threads) now gets its own packs; the outputs must not change.
test('oneDNN int8 packs per call key (batch, threads), static and dynamic: every family and LeNet give the same outputs as a network only ever run at that key; at most MAX_PACK_KEYS keys; none on QNNPACK', { skip: !quantizedEngines().includes('onednn') && 'needs oneDNN' }, () => {
  const threads = getNumThreads();
  const cases = [...FAMILIES.map((f) => ({ name: f.name, ...loweredAndFused(f.arch, f.shape), shape: f.shape })), (() => {
    const low = lowerModule(lenet(new Generator(2)), [1, 28, 28], 10);
    return { name: 'lenet', low, fused: fuse(low.graph, low.weights), shape: [1, 28, 28] };
  })()];
  try {
    for (const c of cases) {
      setQuantizedEngine('onednn');
      const gen = new Generator(9);
      const cal = [gen.randn([16, ...c.shape]).keep()];
      const qp = calibrate(c.fused, cal);
      const xs = new Map([5, 1, 3, 2].map((b) => [b, gen.randn([b, ...c.shape]).keep()]));
      const run = (q: QuantizedNet, b: number, t: number) => {
        setNumThreads(t);
        return tidy(() => noGrad(() => q.forward(xs.get(b)!).toTypedArray() as Float32Array));
      };
      for (const mode of ['static', 'dynamic'] as const) {
        const make = () => new QuantizedNet(c.fused, mode, mode === 'static' ? qp : undefined);
        const alone = (b: number, t: number) => {
          const q = make();
          try {
            return run(q, b, t);
          } finally {
            q.dispose();
          }
        };
        const qn = make();
        // The pipeline's order: an accuracy pass on a batch with all threads, then batch 1 with all threads and with 1.
        const seq: [number, number][] = [[5, 2], [1, 2], [1, 1], [3, 1], [2, 1], [2, 2]];
        for (const [b, t] of seq) assert.deepEqual(run(qn, b, t), alone(b, t), `${c.name} ${mode}: batch ${b}, ${t} thread(s), after ${JSON.stringify(seq)}`);
        assert.deepEqual(qn.packKeys(), ['5@2', '1@2', '1@1', '3@1'], `${c.name} ${mode}: the first MAX_PACK_KEYS (${MAX_PACK_KEYS}) keys get packs, later ones share the first`);
        // Read back from its file: the same.
        const back = decodeInt8(encodeInt8(qn, { engine: 'onednn' }), 'test');
        assert.deepEqual(run(back, 1, 1), alone(1, 1), `${c.name} ${mode}: read back`);
        disposeLoadedInt8(back);
        qn.dispose();
      }
      if (quantizedEngines().includes('qnnpack')) {
        setQuantizedEngine('qnnpack');
        const qq = new QuantizedNet(c.fused, 'static', qp);
        run(qq, 5, 2);
        run(qq, 1, 1);
        assert.deepEqual(qq.packKeys(), [], `${c.name}: QNNPACK packs have no first-call primitive cache`);
        qq.dispose();
      }
      for (const t of [...cal, ...xs.values()]) t.dispose();
    }
  } finally {
    setNumThreads(threads);
    setQuantizedEngine(quantizedEngines().includes('onednn') ? 'onednn' : quantizedEngines()[0]!);
    for (const c of cases) {
      disposeFused(c.fused);
      for (const t of c.low.weights.values()) t.dispose();
    }
  }
});
