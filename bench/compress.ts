/**
 * `npm run bench -- compress [--json] [--epochs 2] [--finetune-epochs 2] [--flops 0.5]
 *   [--calibration 256] [--engine onednn] [--runs 200] [--model DIR] [--data-dir DIR] [--seed 0]
 *   [--only chain_cnn|winner|lenet]`
 *
 * The compression pipeline on Fashion-MNIST, on two networks: a fixed chain CNN (4 conv layers
 * 16-32 channels, 3x3, BN, ReLU, 2 skips, 2 max pools; or a trained model with --model DIR: a
 * `tsnas export` directory, a `tsnas finetune` output or a `tsnas compress` float/pruned stage, such
 * as the main job's winner in `<artifacts>/compressed-sN/float`, not retrained, its inputs
 * normalised as recorded in its weights file) and the LeNet baseline. Each is trained `--epochs` (Adam 1e-3, cosine, batch 64,
 * the full training split minus a 10% validation hold-out), then compressed by tsnas: structured
 * L1 channel pruning to <= `--flops` of the FLOPs + `--finetune-epochs` of fine-tuning, then
 * post-training static int8 (per-channel weights, `--calibration` training images). Per stage:
 * test accuracy (10,000 official test images), parameters, model file bytes, FLOPs, batch-1
 * latency (median of `--runs`, all threads and 1 thread). With all threads set, every stage's
 * network runs batch 1 with the thread count it measured fastest at its first call (the pipeline's
 * `chooseThreads`, src/tensor/thread-choice.ts; shown as `tN` in the table); the float and int8
 * stages are also read back from their files with the choice off and timed interleaved at exactly
 * all threads (the fixed-threads figures, printed after the table).
 *
 * Peer, same run: PyTorch 1.13 (Debian's /usr/bin/python3) quantizes the same pruned network
 * (tsnas's pruned weights) with torch.ao.quantization eager-mode post-training static quantization
 * (get_default_qconfig(engine), fuse_modules, prepare, calibrate on the same images, convert), and
 * reports its int8 accuracy and batch-1 latency, eager and traced+frozen. Latencies are the median
 * and the best of `--runs` timed runs; on a machine shared with other jobs the best is the figure
 * that measures the code rather than the scheduler. The figure `int8_latency_ratio_vs_pytorch` =
 * tsnas int8 batch-1 ms / PyTorch's faster path (eager or traced) int8 batch-1 ms, best of runs,
 * 1 thread, for the first network (chain CNN or winner; the one run with --only); <= 1.1 is the target.
 * `--only NAME[,NAME]` runs a part (each network is trained and compressed independently, so the
 * parts add up to the whole run).
 *
 * --json: one object per model and stage {"model","stage","test_acc","size_bytes","flops","latency_ms"},
 * then {"figure": "int8_latency_ratio_vs_pytorch", "value": r}.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainCnnArch } from '../src/core/arch.js';
import { NasError } from '../src/core/errors.js';
import { batches } from '../src/data/batch.js';
import { prepareData, type PreparedData } from '../src/data/prepare.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { buildNetwork } from '../src/nn/build/index.js';
import { lenet } from '../src/nn/build/lenet.js';
import type { Layer } from '../src/nn/module.js';
import { loadModel } from '../src/api/model-source.js';
import { Generator, Tensor } from '../src/tensor/index.js';
import { GraphNet } from '../src/compress/graphnet.js';
import { finetune } from '../src/compress/finetune.js';
import { lowerModule } from '../src/compress/lower.js';
import { LATENCY_BLOCK, calibrationBatches, compressNetwork, interleavedLatencyStats, type StageRow } from '../src/compress/pipeline.js';
import { decodeInt8, disposeLoadedInt8 } from '../src/compress/int8file.js';
import type { Graph } from '../src/compress/graph.js';
import { decodeStateDict } from '../src/nn/state.js';
import { peerEnv } from './engine.js';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./torch_quant.py', import.meta.url));

export const BENCH_CHAIN: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 2, skip: false },
    { kernel: 3, channels: 32, activation: 'relu', batchNorm: true, pool: 1, skip: true },
    { kernel: 3, channels: 32, activation: 'relu', batchNorm: true, pool: 2, skip: false },
  ],
};

interface Args {
  json: boolean;
  epochs: number;
  finetuneEpochs: number;
  flops: number;
  calibration: number;
  engine: 'onednn' | 'qnnpack';
  runs: number;
  model?: string;
  dataDir: string;
  seed: number;
  latencyOnly: boolean;
  /** Run only these networks (chain_cnn or winner, lenet): the bench in shorter parts. */
  only?: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, epochs: 2, finetuneEpochs: 2, flops: 0.5, calibration: 256, engine: 'onednn', runs: 200, dataDir: FASHION_MNIST_DIR, seed: 0, latencyOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new NasError('invalid_config', `${k} needs a value`, { field: k });
      return x;
    };
    if (k === '--json') a.json = true;
    else if (k === '--epochs') a.epochs = Number(v());
    else if (k === '--finetune-epochs') a.finetuneEpochs = Number(v());
    else if (k === '--flops') a.flops = Number(v());
    else if (k === '--calibration') a.calibration = Number(v());
    else if (k === '--engine') a.engine = v() as Args['engine'];
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--model') a.model = v();
    else if (k === '--data-dir') a.dataDir = v();
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--latency-only') a.latencyOnly = true;
    else if (k === '--only') {
      a.only = v().split(',');
      for (const m of a.only) if (!['chain_cnn', 'winner', 'lenet'].includes(m)) throw new NasError('invalid_config', `--only takes chain_cnn, winner or lenet, got ${m}`, { field: '--only' });
    } else throw new NasError('invalid_config', `unknown option ${k}`, { hint: 'options: --json --epochs --finetune-epochs --flops --calibration --engine --runs --model --data-dir --seed --latency-only --only' });
  }
  return a;
}

function rawFloats(ts: readonly Tensor[]): Buffer {
  const parts = ts.map((t) => Buffer.from((t.toTypedArray() as Float32Array).buffer));
  return Buffer.concat(parts);
}

interface Lat {
  median: number;
  min: number;
}
interface PeerResult {
  float_acc: number;
  int8_acc: number;
  int8_latency_ms: Lat;
  int8_latency_1t_ms: Lat;
  int8_traced_latency_ms: Lat;
  int8_traced_latency_1t_ms: Lat;
  float_latency_ms: Lat;
  float_latency_1t_ms: Lat;
  float_traced_latency_ms: Lat;
  float_traced_latency_1t_ms: Lat;
}

function runPeer(dir: string, graph: string, weights: string, cal: readonly Tensor[], data: PreparedData, a: Args): PeerResult {
  const calPath = join(dir, 'cal.f32');
  writeFileSync(calPath, rawFloats(cal));
  const xs: Tensor[] = [];
  const ys: number[] = [];
  for (const b of batches(data.test, { batchSize: 1000, normalization: data.normalization })) {
    xs.push(Tensor.fromArray(b.x, b.shape));
    ys.push(...b.y);
  }
  writeFileSync(join(dir, 'test_x.f32'), rawFloats(xs));
  for (const t of xs) t.dispose();
  writeFileSync(join(dir, 'test_y.i32'), Buffer.from(Int32Array.from(ys).buffer));
  const spec = { graph, weights, calibration: calPath, test_x: join(dir, 'test_x.f32'), test_y: join(dir, 'test_y.i32'), engine: a.engine, runs: a.runs, threads_all: availableParallelism() };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const r = spawnSync(PYTHON, [PEER, join(dir, 'spec.json')], { encoding: 'utf8', env: { ...process.env, ...peerEnv(true), OMP_NUM_THREADS: String(availableParallelism()) } });
  if (r.status !== 0) throw new Error(`torch_quant.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
}

async function modelNormalization(dir: string): Promise<PreparedData['normalization'] | undefined> {
  const m = await loadModel({ dir }, { kind: 'fashion_mnist' });
  m.module.dispose();
  return m.normalization;
}

async function trainedModels(data: PreparedData, a: Args, log: (s: string) => void): Promise<{ name: string; net: Layer }[]> {
  const out: { name: string; net: Layer }[] = [];
  const want = (name: string) => !a.only || a.only.includes(name);
  const train = async (name: string, m: Layer): Promise<void> => {
    const low = lowerModule(m, data.shape, data.numClasses);
    m.dispose();
    const net = new GraphNet(low.graph, low.weights, a.seed);
    for (const t of low.weights.values()) t.dispose();
    const t0 = performance.now();
    await finetune(net, data, { epochs: a.epochs, lr: 1e-3, seed: a.seed, onEpoch: (e, l) => log(`${name}: train epoch ${e}/${a.epochs}, loss ${l.toFixed(4)}`) });
    log(`${name}: trained in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    out.push({ name, net });
  };
  if (a.model && want('winner')) {
    const m = await loadModel({ dir: a.model }, { kind: 'fashion_mnist', dataDir: a.dataDir });
    if (m.numClasses !== data.numClasses || m.inputShape.join(',') !== data.shape.join(','))
      throw new NasError('shape_mismatch', `${a.model} takes [${m.inputShape.join(', ')}] -> ${m.numClasses} classes, Fashion-MNIST is [${data.shape.join(', ')}] -> ${data.numClasses}`, { field: '--model', hint: 'give a model trained on Fashion-MNIST' });
    out.push({ name: 'winner', net: m.module });
    log(`winner: loaded ${a.model} (already trained${m.normalization ? ', with its recorded input normalisation' : ''})`);
  } else if (!a.model && want('chain_cnn')) await train('chain_cnn', buildNetwork(BENCH_CHAIN, { shape: data.shape, numClasses: data.numClasses }, { gen: new Generator(a.seed) }).module);
  if (want('lenet')) await train('lenet', lenet(new Generator(a.seed)));
  if (out.length === 0) throw new NasError('invalid_config', `--only ${a.only?.join(',')} selects no network${a.model ? ' (with --model the first network is "winner")' : ''}`, { field: '--only' });
  return out;
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  if (a.latencyOnly) return latencyOnly(a);
  const log = (s: string) => process.stderr.write(s + '\n');
  let data = await prepareData({ kind: 'fashion_mnist', dataDir: a.dataDir }, { seed: a.seed, valFraction: 0.1 });
  if (a.model) {
    // The winner's inputs are normalised as its weights were trained (recorded in its weights file).
    const norm = await modelNormalization(a.model);
    if (norm) data = { ...data, normalization: norm };
  }
  const models = await trainedModels(data, a, log);
  const work = mkdtempSync(join(tmpdir(), 'tsnas-bench-compress-'));
  const all: StageRow[] = [];
  const peers: { model: string; peer: PeerResult; tsnasInt8: StageRow; engines: { perOp: Lat; oneEngine: Lat }; fixed: { float: Lat; int8: Lat } }[] = [];
  try {
    for (const { name, net } of models) {
      const cal = calibrationBatches(data, a.calibration, a.seed);
      const r = await compressNetwork(net, data, {
        name,
        prune: { kind: 'channels', flops: a.flops },
        finetuneEpochs: a.finetuneEpochs,
        quantize: 'static',
        calibrationInputs: cal,
        qengine: a.engine,
        outDir: join(work, name),
        latencyRuns: a.runs,
        seed: a.seed,
        log,
      });
      all.push(...r.rows);
      const pruned = r.rows.find((x) => x.stage === 'pruned')!;
      log(`${name}: PyTorch torch.ao.quantization on the same pruned network (${a.engine})...`);
      const peer = runPeer(join(work, name), join(pruned.dir!, 'model.json'), join(pruned.dir!, 'weights.bin'), cal, data, a);
      for (const t of cal) t.dispose();
      const int8 = r.rows.find((x) => x.stage === 'int8')!;
      // The int8 stage's file read back twice, timed interleaved (as the stages are) at 1 thread: per-op engines (what the
      // stage runs; quantize.ts) against every op on the packing engine, the earlier behaviour.
      const file = readFileSync(join(int8.dir!, 'model.int8.bin'));
      const perOp = decodeInt8(file, 'int8 stage');
      const one = decodeInt8(file, 'int8 stage', { perOpEngines: false });
      const [lp, lo] = interleavedLatencyStats([(x) => perOp.forward(x), (x) => one.forward(x)], data.shape, 1, a.runs, LATENCY_BLOCK) as [Lat, Lat];
      disposeLoadedInt8(perOp);
      disposeLoadedInt8(one);
      // The float and int8 stages read back without the thread choice, timed interleaved at exactly all threads.
      const fdir = r.rows.find((x) => x.stage === 'float')!.dir!;
      const fsd = decodeStateDict(readFileSync(join(fdir, 'weights.bin')), 'float stage');
      const fnet = new GraphNet(JSON.parse(readFileSync(join(fdir, 'model.json'), 'utf8')) as Graph, fsd.tensors).eval();
      for (const t of fsd.tensors.values()) t.dispose();
      const fixedInt8 = decodeInt8(file, 'int8 stage', { chooseThreads: false });
      const [ff, fi] = interleavedLatencyStats([(x) => fnet.forward(x), (x) => fixedInt8.forward(x)], data.shape, availableParallelism(), a.runs, LATENCY_BLOCK) as [Lat, Lat];
      fnet.dispose();
      disposeLoadedInt8(fixedInt8);
      peers.push({ model: name, peer, tsnasInt8: int8, engines: { perOp: lp, oneEngine: lo }, fixed: { float: ff, int8: fi } });
      net.dispose();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const first = peers[0]!;
  const peerBest = (p: PeerResult) => Math.min(p.int8_latency_1t_ms.min, p.int8_traced_latency_1t_ms.min);
  const ratio = first.tsnasInt8.latency_1t_min_ms / peerBest(first.peer);
  if (a.json) {
    for (const r of all) process.stdout.write(JSON.stringify({ model: r.model, stage: r.stage, test_acc: r.test_acc, size_bytes: r.size_bytes, flops: r.flops, latency_ms: r.latency_ms }) + '\n');
    process.stdout.write(JSON.stringify({ figure: 'int8_latency_ratio_vs_pytorch', value: ratio }) + '\n');
    return;
  }
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log(`compression on Fashion-MNIST (${data.test.indices.length} test images), engine ${a.engine}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('| model | stage | test acc % | params | size bytes | FLOPs | batch-1 ms median (best), all threads | batch-1 ms median (best), 1 thread |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of all) console.log(`| ${r.model} | ${r.stage} | ${f(r.test_acc)} | ${r.params} | ${r.size_bytes} | ${r.flops} | ${f(r.latency_ms, 3)} (${f(r.latency_min_ms, 3)})${r.latency_threads === undefined ? '' : ` t${r.latency_threads}`} | ${f(r.latency_1t_ms, 3)} (${f(r.latency_1t_min_ms, 3)}) |`);
  for (const p of peers) {
    const fl = all.find((r) => r.model === p.model && r.stage === 'float')!;
    const pr = all.find((r) => r.model === p.model && r.stage === 'pruned')!;
    console.log(
      `${p.model}: int8/float size ${f(p.tsnasInt8.size_bytes / fl.size_bytes, 3)} (int8/pruned ${f(p.tsnasInt8.size_bytes / pr.size_bytes, 3)}), int8/float batch-1 latency best-of-runs ${f(p.tsnasInt8.latency_min_ms / fl.latency_min_ms, 3)} (1 thread ${f(p.tsnasInt8.latency_1t_min_ms / fl.latency_1t_min_ms, 3)}; int8/pruned ${f(p.tsnasInt8.latency_1t_min_ms / pr.latency_1t_min_ms, 3)}), ` +
        `pruned FLOPs ${f(pr.flops / fl.flops, 3)}x, acc drop pruned ${f(fl.test_acc - pr.test_acc)} int8-vs-pruned ${f(pr.test_acc - p.tsnasInt8.test_acc)}`,
    );
    const pl = (l: Lat) => `${f(l.median, 3)} (best ${f(l.min, 3)})`;
    console.log(
      `${p.model}: PyTorch int8 acc ${f(p.peer.int8_acc)}% (its float ${f(p.peer.float_acc)}%); batch-1 ms median (best) all threads: eager ${pl(p.peer.int8_latency_ms)}, traced ${pl(p.peer.int8_traced_latency_ms)}; ` +
        `1 thread: eager ${pl(p.peer.int8_latency_1t_ms)}, traced ${pl(p.peer.int8_traced_latency_1t_ms)}`,
    );
    const best2 = (x: Lat, y: Lat) => Math.min(x.min, y.min);
    console.log(
      `${p.model}: PyTorch float (same pruned network) batch-1 ms median (best) all threads: eager ${pl(p.peer.float_latency_ms)}, traced ${pl(p.peer.float_traced_latency_ms)}; 1 thread: eager ${pl(p.peer.float_latency_1t_ms)}, traced ${pl(p.peer.float_traced_latency_1t_ms)}; ` +
        `PyTorch's own int8/float, faster paths, best of runs: all threads ${f(best2(p.peer.int8_latency_ms, p.peer.int8_traced_latency_ms) / best2(p.peer.float_latency_ms, p.peer.float_traced_latency_ms), 3)}, ` +
        `1 thread ${f(best2(p.peer.int8_latency_1t_ms, p.peer.int8_traced_latency_1t_ms) / best2(p.peer.float_latency_1t_ms, p.peer.float_traced_latency_1t_ms), 3)}`,
    );
    console.log(
      `${p.model}: tsnas int8 batch-1 ms median (best) all threads ${f(p.tsnasInt8.latency_ms, 3)} (${f(p.tsnasInt8.latency_min_ms, 3)}), 1 thread ${f(p.tsnasInt8.latency_1t_ms, 3)} (${f(p.tsnasInt8.latency_1t_min_ms, 3)}); ` +
        `tsnas/PyTorch (best of runs, 1 thread, PyTorch's faster path) ${f(p.tsnasInt8.latency_1t_min_ms / peerBest(p.peer), 3)}`,
    );
    console.log(
      `${p.model}: tsnas int8, 1 thread, read back from model.int8.bin and timed interleaved: per-op engines (oneDNN convs, QNNPACK the rest) ${pl(p.engines.perOp)}, every op on ${a.engine} ${pl(p.engines.oneEngine)}; ` +
        `per-op/one-engine best ${f(p.engines.perOp.min / p.engines.oneEngine.min, 3)}`,
    );
    console.log(
      `${p.model}: fixed ${availableParallelism()} threads (no thread choice; float and int8 stages read back, timed interleaved): float ${pl(p.fixed.float)}, int8 ${pl(p.fixed.int8)}; int8/float best ${f(p.fixed.int8.min / p.fixed.float.min, 3)}, median ${f(p.fixed.int8.median / p.fixed.float.median, 3)}`,
    );
  }
  console.log(`int8_latency_ratio_vs_pytorch (${first.model}; best of runs, 1 thread) = ${f(ratio, 3)}`);
}

/**
 * `--latency-only`: int8 batch-1 latency of tsnas and PyTorch on the same untrained networks (no
 * training: weights do not change the time), back to back, 1 thread, best and median of `--runs`
 * (tsnas measured before and after the PyTorch child; its best of both). A chain CNN of the pruned
 * bench network's width (11-22 channels) and LeNet; calibration on 64 random images.
 */
async function latencyOnly(a: Args): Promise<void> {
  const { encodeStateDict } = await import('../src/nn/state.js');
  const { GraphNet: GN } = await import('../src/compress/graphnet.js');
  const { batch1LatencyStats } = await import('../src/compress/pipeline.js');
  const { calibrate, fuse, QuantizedNet } = await import('../src/compress/quantize.js');
  const { setQuantizedEngine } = await import('../src/tensor/quantized.js');
  setQuantizedEngine(a.engine);
  const narrow: ChainCnnArch = { ...BENCH_CHAIN, layers: BENCH_CHAIN.layers.map((l) => ({ ...l, channels: l.channels === 16 ? 11 : 22 })) };
  const nets: [string, Layer][] = [
    ['chain_cnn', buildNetwork(narrow, { shape: [1, 28, 28], numClasses: 10 }, { gen: new Generator(0) }).module],
    ['lenet', lenet(new Generator(0))],
  ];
  console.log(`int8 batch-1 latency, 1 thread, ${a.runs} runs, engine ${a.engine}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  for (const [name, m] of nets) {
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-qlat-'));
    try {
      const low = lowerModule(m, [1, 28, 28], 10);
      m.dispose();
      const net = new GN(low.graph, low.weights).eval();
      writeFileSync(join(dir, 'g.json'), JSON.stringify(low.graph));
      writeFileSync(join(dir, 'w.bin'), encodeStateDict(net.stateDict()));
      const cal = new Generator(1).randn([64, 1, 28, 28]).keep();
      const raw = Buffer.from((cal.toTypedArray() as Float32Array).buffer);
      for (const f of ['cal.f32', 'tx.f32']) writeFileSync(join(dir, f), raw);
      writeFileSync(join(dir, 'ty.i32'), Buffer.from(new Int32Array(64).buffer));
      const fz = fuse(low.graph, net.stateDict());
      const qn = new QuantizedNet(fz, 'static', calibrate(fz, [cal]));
      const t1 = batch1LatencyStats((x) => qn.forward(x), [1, 28, 28], 1, a.runs);
      writeFileSync(join(dir, 'spec.json'), JSON.stringify({ graph: join(dir, 'g.json'), weights: join(dir, 'w.bin'), calibration: join(dir, 'cal.f32'), test_x: join(dir, 'tx.f32'), test_y: join(dir, 'ty.i32'), engine: a.engine, runs: a.runs, threads_all: availableParallelism() }));
      const r = spawnSync(PYTHON, [PEER, join(dir, 'spec.json')], { encoding: 'utf8', env: { ...process.env, ...peerEnv(true) } });
      if (r.status !== 0) throw new Error(`torch_quant.py failed: ${r.stderr}`);
      const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
      const t2 = batch1LatencyStats((x) => qn.forward(x), [1, 28, 28], 1, a.runs);
      const best = Math.min(t1.min, t2.min);
      const med = Math.min(t1.median, t2.median);
      const pb = Math.min(p.int8_latency_1t_ms.min, p.int8_traced_latency_1t_ms.min);
      const pm = Math.min(p.int8_latency_1t_ms.median, p.int8_traced_latency_1t_ms.median);
      console.log(`${name}: tsnas int8 ms best ${best.toFixed(4)} median ${med.toFixed(4)} | PyTorch eager best ${p.int8_latency_1t_ms.min.toFixed(4)} median ${p.int8_latency_1t_ms.median.toFixed(4)}, traced best ${p.int8_traced_latency_1t_ms.min.toFixed(4)} median ${p.int8_traced_latency_1t_ms.median.toFixed(4)} | tsnas/PyTorch faster path: best ${(best / pb).toFixed(3)}, median ${(med / pm).toFixed(3)}`);
      qn.dispose();
      net.dispose();
      cal.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
