/**
 * `npm run bench -- qat [--seeds 0,1,2] [--epochs 4] [--qat-epochs 2] [--calibration 256,16] [--engine onednn] [--json]`
 *
 * Post-training static int8 quantization (PTQ) vs quantization-aware training (QAT) on small
 * networks on the digits data (1,797 8x8 images; 20% test split = 360 images): each network is
 * trained `--epochs` (Adam 3e-3, batch 16), then quantized by tsnas PTQ (min/max calibration on
 * `--calibration` training images; each count measured) and by tsnas QAT (`--qat-epochs` of
 * fake-quantized fine-tuning, Adam 1e-4, observers started on the same calibration images),
 * both converted to the same int8 executor. Peer, same run: PyTorch's torch.ao eager PTQ of the
 * same float network (HistogramObserver, bench/torch_quant.py) on the same calibration images.
 * Prints test accuracy (percent) of float, PTQ, QAT and PyTorch PTQ per network, seed and
 * calibration size, the mean drops, and the figure qat_minus_ptq_points (mean over rows).
 * Small networks on few, coarse images are where 8-bit PTQ loses accuracy, if anywhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainCnnArch, MlpArch, NetworkArch } from '../src/core/arch.js';
import { NasError } from '../src/core/errors.js';
import { batches } from '../src/data/batch.js';
import { prepareData, type PreparedData } from '../src/data/prepare.js';
import { buildNetwork } from '../src/nn/build/index.js';
import { encodeStateDict } from '../src/nn/state.js';
import { Tensor, Generator } from '../src/tensor/index.js';
import { setQuantizedEngine } from '../src/tensor/quantized.js';
import { GraphNet } from '../src/compress/graphnet.js';
import { finetune } from '../src/compress/finetune.js';
import { lowerModule } from '../src/compress/lower.js';
import { calibrationBatches, testAccuracy } from '../src/compress/pipeline.js';
import { QatNet } from '../src/compress/qat.js';
import { QuantizedNet, calibrate, disposeFused, fuse } from '../src/compress/quantize.js';
import { peerEnv } from './engine.js';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./torch_quant.py', import.meta.url));

const NETS: { name: string; arch: NetworkArch }[] = [
  {
    name: 'cnn_8_16',
    arch: {
      family: 'chain_cnn',
      dropout: 0,
      layers: [
        { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 1, skip: false },
        { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 2, skip: false },
      ],
    } satisfies ChainCnnArch,
  },
  { name: 'mlp_32', arch: { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 } satisfies MlpArch },
];

interface Args {
  seeds: number[];
  epochs: number;
  qatEpochs: number;
  calibration: number[];
  engine: 'onednn' | 'qnnpack';
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: [0, 1, 2], epochs: 4, qatEpochs: 2, calibration: [256, 16], engine: 'onednn', json: false };
  const list = (s: string) => s.split(',').map(Number);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i] ?? '';
    if (k === '--seeds') a.seeds = list(v());
    else if (k === '--epochs') a.epochs = Number(v());
    else if (k === '--qat-epochs') a.qatEpochs = Number(v());
    else if (k === '--calibration') a.calibration = list(v());
    else if (k === '--engine') a.engine = v() as Args['engine'];
    else if (k === '--json') a.json = true;
    else throw new NasError('invalid_config', `unknown option ${k}`, { hint: 'options: --seeds --epochs --qat-epochs --calibration --engine --json' });
  }
  return a;
}

const raw = (ts: readonly Tensor[]) => Buffer.concat(ts.map((t) => Buffer.from((t.toTypedArray() as Float32Array).buffer)));

function peerPtq(dir: string, net: GraphNet, cal: readonly Tensor[], data: PreparedData, engine: string): number {
  writeFileSync(join(dir, 'g.json'), JSON.stringify(net.graph));
  writeFileSync(join(dir, 'w.bin'), encodeStateDict(net.stateDict()));
  writeFileSync(join(dir, 'cal.f32'), raw(cal));
  const xs: Tensor[] = [];
  const ys: number[] = [];
  for (const b of batches(data.test, { batchSize: 1000, normalization: data.normalization })) {
    xs.push(Tensor.fromArray(b.x, b.shape));
    ys.push(...b.y);
  }
  writeFileSync(join(dir, 'tx.f32'), raw(xs));
  for (const t of xs) t.dispose();
  writeFileSync(join(dir, 'ty.i32'), Buffer.from(Int32Array.from(ys).buffer));
  const spec = { graph: join(dir, 'g.json'), weights: join(dir, 'w.bin'), calibration: join(dir, 'cal.f32'), test_x: join(dir, 'tx.f32'), test_y: join(dir, 'ty.i32'), engine, runs: 1, threads_all: availableParallelism() };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const r = spawnSync(PYTHON, [PEER, join(dir, 'spec.json')], { encoding: 'utf8', env: { ...process.env, ...peerEnv(true) } });
  if (r.status !== 0) throw new Error(`torch_quant.py failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { int8_acc: number }).int8_acc;
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  setQuantizedEngine(a.engine);
  const data = await prepareData({ kind: 'digits' });
  const log = (s: string) => (a.json ? process.stderr : process.stdout).write(s + '\n');
  log(`PTQ vs QAT on digits (${data.train.indices.length} train / ${data.test.indices.length} test images), engine ${a.engine}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-qat-'));
  const diffs: number[] = [];
  try {
    for (const { name, arch } of NETS)
      for (const seed of a.seeds) {
        const { module } = buildNetwork(arch, { shape: data.shape, numClasses: data.numClasses }, { gen: new Generator(seed) });
        const low = lowerModule(module, data.shape, data.numClasses);
        module.dispose();
        const net = new GraphNet(low.graph, low.weights, seed);
        for (const t of low.weights.values()) t.dispose();
        finetune(net, data, { epochs: a.epochs, lr: 3e-3, batchSize: 16, seed });
        net.eval();
        const fl = testAccuracy((x) => net.forward(x), data);
        for (const n of a.calibration) {
          const cal = calibrationBatches(data, n, seed);
          const f = fuse(low.graph, net.stateDict());
          const ptqNet = new QuantizedNet(f, 'static', calibrate(f, cal));
          const ptq = testAccuracy((x) => ptqNet.forward(x), data);
          ptqNet.dispose();
          disposeFused(f);
          const qat = new QatNet(low.graph, net.stateDict(), seed);
          qat.observe(cal);
          finetune(qat, data, { epochs: a.qatEpochs, lr: 1e-4, batchSize: 16, seed: seed + 100 });
          qat.eval();
          const fq = fuse(low.graph, qat.net.stateDict());
          const qatNet = new QuantizedNet(fq, 'static', qat.toInt8Params(fq));
          const qa = testAccuracy((x) => qatNet.forward(x), data);
          qatNet.dispose();
          disposeFused(fq);
          qat.dispose();
          const torch = peerPtq(dir, net, cal, data, a.engine);
          for (const t of cal) t.dispose();
          diffs.push(qa - ptq);
          const row = { model: name, seed, calibration: n, float_acc: fl, ptq_acc: ptq, qat_acc: qa, torch_ptq_acc: torch };
          if (a.json) console.log(JSON.stringify(row));
          else log(`${name} seed ${seed} calibration ${n}: float ${fl.toFixed(2)}%  tsnas PTQ ${ptq.toFixed(2)}%  tsnas QAT ${qa.toFixed(2)}%  PyTorch PTQ ${torch.toFixed(2)}%`);
        }
        net.dispose();
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = diffs.reduce((s, x) => s + x, 0) / diffs.length;
  if (a.json) console.log(JSON.stringify({ figure: 'qat_minus_ptq_points', value: mean }));
  else log(`qat_minus_ptq_points (mean over ${diffs.length} rows) = ${mean.toFixed(2)}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
