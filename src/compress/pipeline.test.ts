import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ChainCnnArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import type { Layer } from '../nn/module.js';
import { Generator, Tensor, tidy } from '../tensor/index.js';
import { quantizedEngines } from '../tensor/quantized.js';
import { threadCandidates } from '../tensor/thread-choice.js';
import { GraphNet } from './graphnet.js';
import { finetune } from './finetune.js';
import { lowerModule } from './lower.js';
import { compressNetwork, interleavedLatencyStats } from './pipeline.js';
import { checkPruneSpec, planChannels, pruneWeights } from './prune.js';
import { decodeStateDict } from '../nn/state.js';

const ARCH: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 24, activation: 'relu', batchNorm: true, pool: 2, skip: false },
  ],
};

let data: PreparedData;
let trained: Layer;

async function setup(): Promise<void> {
  if (trained) return;
  data = await prepareData({ kind: 'digits' }, { seed: 0 });
  const { module } = buildNetwork(ARCH, { shape: data.shape, numClasses: 10 }, { gen: new Generator(0) });
  // Train through the graph (the same weights), 4 epochs on digits: ~95% test accuracy.
  const low = lowerModule(module, data.shape, 10);
  module.dispose();
  const net = new GraphNet(low.graph, low.weights);
  for (const t of low.weights.values()) t.dispose();
  await finetune(net, data, { epochs: 4, lr: 3e-3 });
  trained = net;
}

/** Accuracy (percent) of an ONNX model on the raw test images (normalisation inside the model). */
async function onnxAccuracy(path: string): Promise<number> {
  const s = await ort.InferenceSession.create(readFileSync(path));
  const d = data.test.data;
  const per = data.shape.reduce((a, b) => a * b, 1);
  const idx = data.test.indices;
  const x = new Float32Array(idx.length * per);
  idx.forEach((k, i) => {
    for (let j = 0; j < per; j++) x[i * per + j] = d.x[k * per + j]!;
  });
  const out = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [idx.length, ...data.shape]) }))[s.outputNames[0]!]!.data as Float32Array;
  let hit = 0;
  idx.forEach((k, i) => {
    let best = 0;
    for (let c = 1; c < 10; c++) if (out[i * 10 + c]! > out[i * 10 + best]!) best = c;
    if (best === d.y[k]) hit++;
  });
  return (100 * hit) / idx.length;
}

test('engines: Debian libtorch has qnnpack and onednn', () => {
  const e = quantizedEngines();
  assert.ok(e.includes('qnnpack') || e.includes('onednn'), `engines: ${e.join(', ')}`);
});

test('prune (FLOPs target) + fine-tune + static int8 on digits: rows, files, ONNX within 0.3 points', async () => {
  await setup();
  const out = mkdtempSync(join(tmpdir(), 'tsnas-compress-'));
  try {
    const r = await compressNetwork(trained, data, { name: 'chain', prune: { kind: 'channels', flops: 0.55 }, finetuneEpochs: 4, quantize: 'static', calibration: 128, outDir: join(out, 'm'), latencyRuns: 5 });
    assert.deepEqual(r.rows.map((x) => x.stage), ['float', 'pruned', 'int8']);
    const [f, p, q] = r.rows as [typeof r.rows[0], typeof r.rows[0], typeof r.rows[0]];
    assert.ok(f.test_acc > 85, `float ${f.test_acc}`);
    assert.ok(p.flops <= 0.55 * f.flops && p.params < f.params, `pruned flops ${p.flops} / ${f.flops}`);
    assert.ok(p.test_acc > f.test_acc - 12, `pruned ${p.test_acc} vs ${f.test_acc}`);
    assert.ok(q.size_bytes < 0.45 * p.size_bytes, `int8 ${q.size_bytes} vs ${p.size_bytes} bytes`);
    assert.ok(q.test_acc > p.test_acc - 3, `int8 ${q.test_acc} vs ${p.test_acc}`);
    for (const row of r.rows) {
      assert.equal(statSync(join(row.dir!, row.stage === 'int8' ? 'model.int8.bin' : 'weights.bin')).size, row.size_bytes);
      const acc = await onnxAccuracy(join(row.dir!, 'model.onnx'));
      assert.ok(Math.abs(acc - row.test_acc) <= 0.3, `${row.stage}: onnxruntime ${acc} vs tsnas ${row.test_acc}`);
    }
    assert.ok(existsSync(join(out, 'm', 'report.json')));
    // chooseThreads (default): every stage ran its all-threads batch-1 forwards with a candidate count.
    for (const row of r.rows) assert.ok(threadCandidates(availableParallelism()).includes(row.latency_threads!), `${row.stage}: latency_threads ${row.latency_threads}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('magnitude pruning (gradual) keeps its sparsity through fine-tuning; dynamic int8; Taylor channel ranking', async () => {
  await setup();
  const r = await compressNetwork(trained, data, { prune: { kind: 'magnitude', sparsity: 0.6, schedule: 'gradual' }, finetuneEpochs: 2, quantize: 'dynamic', latencyRuns: 3, chooseThreads: false });
  assert.deepEqual(r.rows.map((x) => x.latency_threads), [undefined, undefined, undefined], 'chooseThreads false: the threads set, no choice');
  assert.ok(r.rows[1]!.sparsity! >= 0.59, `sparsity ${r.rows[1]!.sparsity}`);
  assert.ok(r.rows[2]!.test_acc > 80);
  const t = await compressNetwork(trained, data, { prune: { kind: 'channels', ratio: 0.25, criterion: 'taylor' }, finetuneEpochs: 1, latencyRuns: 2 });
  assert.ok(t.rows[1]!.params < t.rows[0]!.params && t.rows[1]!.test_acc > 50, `taylor: ${t.rows[1]!.test_acc}`);
});

test('distill: the pruned stage is fine-tuned against the float network (the same weights as finetune() with that teacher); bad distill options fail before any file is written', async () => {
  await setup();
  const out = mkdtempSync(join(tmpdir(), 'tsnas-compress-'));
  const owned: { dispose(): void }[] = [];
  const keep = <T extends { dispose(): void }>(x: T): T => (owned.push(x), x);
  try {
    const prune = { kind: 'channels', ratio: 0.5 } as const;
    const run = async (dir: string, distill: boolean) => {
      await compressNetwork(trained, data, { prune, finetuneEpochs: 1, distill, outDir: join(out, dir), onnx: false, latencyRuns: 1 });
      const sd = decodeStateDict(readFileSync(join(out, dir, 'pruned', 'weights.bin'))).tensors;
      for (const t of sd.values()) keep(t);
      return sd;
    };
    const kd = await run('kd', true);
    const plain = await run('plain', false);
    // The same fine-tuning done by hand: the float network of the same graph and weights as the teacher.
    const low = lowerModule(trained, data.shape, 10);
    for (const t of low.weights.values()) keep(t);
    const teacher = keep(new GraphNet(low.graph, low.weights).eval());
    const spec = checkPruneSpec(prune);
    if (spec.kind !== 'channels') throw new Error('spec');
    const plan = planChannels(low.graph, low.weights, spec);
    const pw = pruneWeights(low.graph, plan, low.weights);
    for (const t of pw.values()) keep(t);
    const student = keep(new GraphNet(plan.graph, pw, 0));
    await finetune(student, data, { epochs: 1, seed: 0, distill: { teacher: (x) => teacher.forward(x) } });
    const diff = (a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>) => {
      let m = 0;
      for (const [k, t] of a) {
        const u = b.get(k);
        assert.ok(u, `weight ${k}`);
        m = Math.max(m, tidy(() => t.sub(u).abs().max().item() as number));
      }
      return m;
    };
    const byHand = student.stateDict();
    assert.deepEqual([...kd.keys()].sort(), [...byHand.keys()].sort());
    assert.ok(diff(kd, byHand) < 1e-4, `pipeline kd vs finetune(distill): ${diff(kd, byHand)}`);
    assert.ok(diff(plain, byHand) > 1e-3, `plain fine-tuning differs from the distilled one: ${diff(plain, byHand)}`);
    const bad = [
      [{ distill: true }, 'distill'],
      [{ prune, distill: true, finetuneEpochs: 0 }, 'finetuneEpochs'],
      [{ prune, distill: { temperature: 0 } }, 'distill.temperature'],
      [{ prune, distill: { weight: 1.5 } }, 'distill.weight'],
    ] as const;
    for (const [o, field] of bad) {
      const dir = join(out, 'bad');
      await assert.rejects(compressNetwork(trained, data, { ...(o as object), outDir: dir }), (e: unknown) => isNasError(e) && e.field === field, field);
      assert.ok(!existsSync(dir), `${field}: nothing written`);
    }
  } finally {
    for (const x of owned) x.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

test('bad input fails before any file is written; a failed or impossible compression leaves no partial output', async () => {
  await setup();
  const out = mkdtempSync(join(tmpdir(), 'tsnas-compress-'));
  try {
    const dir = join(out, 'm');
    const bad = [
      [{ prune: { kind: 'magnitude', sparsity: 1 } }, 'prune.sparsity'],
      [{ prune: { kind: 'channels', ratio: 1 } }, 'prune.ratio'],
      [{ prune: { kind: 'channels', flops: 0.0001 } }, 'prune.flops'],
      [{ prune: { kind: 'magnitude', sparsity: 0.8, minDensity: 0.5 } }, 'prune.minDensity'],
      [{ quantize: 'static', calibration: 0 }, 'calibration'],
      [{ quantize: 'static', calibrationInputs: [] }, 'calibration'],
      [{ quantize: 'static', calibrationInputs: [Tensor.zeros([4, 1, 28, 28])] }, 'calibration'],
    ] as const;
    for (const [o, field] of bad) {
      await assert.rejects(compressNetwork(trained, data, { ...(o as object), outDir: dir }), (e: unknown) => isNasError(e) && e.field === field, field);
      assert.deepEqual(readdirSync(out), [], `${field}: nothing written`);
    }
    // Fine-tuning with an absurd learning rate (weights overflow to Inf) diverges in the pruned stage,
    // after float/ was written to the work directory: nothing is left, and the same --out works again.
    await assert.rejects(compressNetwork(trained, data, { prune: { kind: 'channels', ratio: 0.3 }, finetuneLr: 1e30, finetuneEpochs: 1, outDir: dir, latencyRuns: 2 }), (e: unknown) => isNasError(e, 'diverged') || isNasError(e, 'native_error'));
    assert.deepEqual(readdirSync(out), [], 'no partial output after a failed stage');
    const ok = await compressNetwork(trained, data, { quantize: 'dynamic', outDir: dir, latencyRuns: 1, onnx: false });
    assert.equal(ok.outDir, dir);
    assert.deepEqual(readdirSync(out), ['m']);
    assert.deepEqual(readdirSync(dir).sort(), ['float', 'int8', 'report.json']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('interleavedLatencyStats: one (median, best) per forward, every forward run 5 + runs times in turn on a [1, ...shape] input', () => {
  const calls: number[][] = [[], [], []];
  let clock = 0;
  const fw = [0, 1, 2].map((k) => (x: Tensor) => {
    calls[k]!.push(clock++);
    assert.deepEqual(x.shape, [1, 1, 4, 4]);
    return x.mul(k);
  });
  const r = interleavedLatencyStats(fw, [1, 4, 4], 1, 7);
  assert.equal(r.length, 3);
  for (const [k, s] of r.entries()) {
    assert.equal(calls[k]!.length, 12, `forward ${k}: 5 untimed + 7 timed`);
    assert.ok(s.min <= s.median && s.min >= 0, `forward ${k}: best ${s.min} <= median ${s.median}`);
  }
  // Timed runs alternate: between two timed runs of one forward, the others ran once each.
  const timed = calls.map((c) => c.slice(5));
  for (let r2 = 0; r2 < 7; r2++) {
    const round = timed.map((t) => t[r2]!).sort((a, b) => a - b);
    assert.equal(round[2]! - round[0]!, 2, `round ${r2} runs the three forwards back to back`);
  }
  // In turns of 3: each turn is 1 untimed + 3 timed calls of one forward back to back (the last turn 1 timed).
  for (const c of calls) c.length = 0;
  const rb = interleavedLatencyStats(fw, [1, 4, 4], 1, 7, 3);
  assert.equal(rb.length, 3);
  for (const [k, c] of calls.entries()) {
    assert.equal(c.length, 5 + 7 + 3, `forward ${k}: 5 untimed, 7 timed, 3 turns each with 1 untimed warm-up`);
    const turns = c.slice(5);
    for (const [start, len] of [[0, 4], [4, 4], [8, 2]] as const) {
      const t = turns.slice(start, start + len);
      assert.equal(t[t.length - 1]! - t[0]!, len - 1, `forward ${k}: a turn of ${len} calls runs back to back`);
    }
  }
  assert.throws(() => interleavedLatencyStats(fw, [1, 4, 4], 1, 7, 0), (e: unknown) => isNasError(e) && e.field === 'block');
});
