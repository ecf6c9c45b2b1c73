/**
 * `npm run bench -- qat [--seeds 0,1,2] [--nets cnn_8_16,mlp_32,dwsep] [--schemes per_channel,per_tensor]
 *   [--epochs 4] [--qat-epochs 2] [--freeze-bn E] [--freeze-observers E] [--calibration 256,16]
 *   [--dataset digits|fashion_mnist] [--data-dir DIR] [--train-limit N] [--engine onednn] [--json]`
 *
 * Post-training static int8 quantization (PTQ) vs quantization-aware training (QAT) on small
 * networks (digits: 1,797 8x8 images, 20% test split = 360 images; or Fashion-MNIST): each network
 * is trained `--epochs` (Adam 3e-3, batch 16 on digits / 64 on Fashion-MNIST), then quantized by
 * tsnas PTQ (min/max calibration on `--calibration` training images; each count measured) and by
 * tsnas QAT (`--qat-epochs` of fake-quantized fine-tuning, Adam 1e-4, observers started on the
 * same calibration images, batch norms folded as PyTorch's ConvBn QAT modules, BN statistics and
 * observers frozen from `--freeze-bn` / `--freeze-observers`, default the second half), both
 * converted to the same int8 executor, with the int8 weights per output channel and/or per tensor
 * (`--schemes`). Peer, same run: PyTorch's torch.ao eager PTQ of the same float network
 * (HistogramObserver activations; per-channel or per-tensor MinMax weights, bench/torch_quant.py)
 * on the same calibration images. Networks: `cnn_8_16` (chain CNN, 2 conv+BN layers), `mlp_32`,
 * `dwsep` (a MobileNet-style depthwise-separable CNN: conv 16, [depthwise 3x3 + BN + ReLU,
 * pointwise 1x1 + BN + ReLU] x2 to 32 channels, GAP, linear; built as a compression graph).
 * Control: the float network fine-tuned in float for the same `--qat-epochs` (same learning rate,
 * batch size and data order), then PTQ, so QAT's benefit is not confounded by its extra training.
 * Prints test accuracy (percent) of float, PTQ, the fine-tuned float and its PTQ, QAT and PyTorch
 * PTQ per network, scheme, seed and calibration size; the figures qat_minus_ptq_points and
 * qat_minus_finetuned_ptq_points (QAT minus the control's PTQ; mean over rows) and per scheme.
 * Per-tensor weights behind folded batch norms (channels scaled very differently, depthwise convs
 * worst) are where 8-bit PTQ is known to lose accuracy (Krishnamoorthi 2018, section 3).
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
import type { Graph, GraphNode, Pair } from '../src/compress/graph.js';
import { QatNet, qatFreezeEpochs, qatSchedule } from '../src/compress/qat.js';
import { QuantizedNet, calibrate, disposeFused, fuse, type WeightScheme } from '../src/compress/quantize.js';
import { freshWeights, weightedNodes } from '../src/compress/transfer.js';
import { peerEnv } from './engine.js';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./torch_quant.py', import.meta.url));

/** A MobileNet-style depthwise-separable CNN as a compression graph (bias-free convs before BN). */
function dwsepGraph(shape: readonly number[], numClasses: number): Graph {
  const nodes: GraphNode[] = [];
  const one = (k: number): Pair => [k, k];
  const add = (n: GraphNode): number => (nodes.push(n), nodes.length);
  const convBnRelu = (input: number, inC: number, outC: number, k: number, groups: number): number => {
    const c = add({ kind: 'conv', input, inC, outC, kernel: one(k), stride: one(1), padding: one(k >> 1), dilation: one(1), groups, bias: false });
    const b = add({ kind: 'bn', input: c, channels: outC, eps: 1e-5 });
    return add({ kind: 'act', input: b, fn: 'relu' });
  };
  let v = convBnRelu(0, shape[0]!, 16, 3, 1);
  v = convBnRelu(v, 16, 16, 3, 16);
  v = convBnRelu(v, 16, 32, 1, 1);
  v = add({ kind: 'maxpool', input: v, kernel: one(2), stride: one(2), padding: one(0) });
  v = convBnRelu(v, 32, 32, 3, 32);
  v = convBnRelu(v, 32, 32, 1, 1);
  v = add({ kind: 'gap', input: v });
  v = add({ kind: 'flatten', input: v });
  v = add({ kind: 'linear', input: v, inF: 32, outF: numClasses, bias: true });
  return { format: 'tsnas-compress-graph', version: 1, inputShape: [...shape], numClasses, nodes, output: v };
}

const NETS: { name: string; arch: NetworkArch | 'dwsep' }[] = [
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
  { name: 'dwsep', arch: 'dwsep' },
];

interface Args {
  seeds: number[];
  nets: string[];
  schemes: WeightScheme[];
  epochs: number;
  qatEpochs: number;
  freezeBn?: number;
  freezeObservers?: number;
  calibration: number[];
  dataset: 'digits' | 'fashion_mnist';
  dataDir?: string;
  trainLimit?: number;
  engine: 'onednn' | 'qnnpack';
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: [0, 1, 2], nets: NETS.map((n) => n.name), schemes: ['per_channel', 'per_tensor'], epochs: 4, qatEpochs: 2, calibration: [256, 16], dataset: 'digits', engine: 'onednn', json: false };
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
    else if (k === '--nets') a.nets = v().split(',');
    else if (k === '--schemes') a.schemes = v().split(',') as WeightScheme[];
    else if (k === '--freeze-bn') a.freezeBn = Number(v());
    else if (k === '--freeze-observers') a.freezeObservers = Number(v());
    else if (k === '--dataset') a.dataset = v() as Args['dataset'];
    else if (k === '--data-dir') a.dataDir = v();
    else if (k === '--train-limit') a.trainLimit = Number(v());
    else throw new NasError('invalid_config', `unknown option ${k}`, { hint: 'options: --seeds --nets --schemes --epochs --qat-epochs --freeze-bn --freeze-observers --calibration --dataset --data-dir --train-limit --engine --json' });
  }
  for (const n of a.nets) if (!NETS.some((x) => x.name === n)) throw new NasError('invalid_config', `unknown net ${n}`, { field: '--nets', hint: `one of ${NETS.map((x) => x.name).join(', ')}` });
  for (const sc of a.schemes) if (sc !== 'per_channel' && sc !== 'per_tensor') throw new NasError('invalid_config', `unknown weight scheme ${sc}`, { field: '--schemes', hint: 'per_channel, per_tensor' });
  if (a.dataset !== 'digits' && a.dataset !== 'fashion_mnist') throw new NasError('invalid_config', `unknown dataset ${a.dataset}`, { field: '--dataset', hint: 'digits or fashion_mnist' });
  return a;
}

const raw = (ts: readonly Tensor[]) => Buffer.concat(ts.map((t) => Buffer.from((t.toTypedArray() as Float32Array).buffer)));

function peerPtq(dir: string, net: GraphNet, cal: readonly Tensor[], data: PreparedData, engine: string, perTensor: boolean): number {
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
  const spec = { graph: join(dir, 'g.json'), weights: join(dir, 'w.bin'), calibration: join(dir, 'cal.f32'), test_x: join(dir, 'tx.f32'), test_y: join(dir, 'ty.i32'), engine, runs: 1, threads_all: availableParallelism(), per_tensor: perTensor };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const r = spawnSync(PYTHON, [PEER, join(dir, 'spec.json')], { encoding: 'utf8', env: { ...process.env, ...peerEnv(true) } });
  if (r.status !== 0) throw new Error(`torch_quant.py failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { int8_acc: number }).int8_acc;
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  setQuantizedEngine(a.engine);
  let data = await prepareData(a.dataset === 'digits' ? { kind: 'digits' } : { kind: 'fashion_mnist', ...(a.dataDir ? { dataDir: a.dataDir } : {}) });
  if (a.trainLimit !== undefined) data = { ...data, train: { ...data.train, indices: data.train.indices.slice(0, a.trainLimit) } };
  const batchSize = a.dataset === 'digits' ? 16 : 64;
  const at = qatFreezeEpochs(a.qatEpochs, { ...(a.freezeBn !== undefined ? { freezeBn: a.freezeBn } : {}), ...(a.freezeObservers !== undefined ? { freezeObservers: a.freezeObservers } : {}) });
  const log = (s: string) => (a.json ? process.stderr : process.stdout).write(s + '\n');
  log(`PTQ vs QAT on ${data.name} (${data.train.indices.length} train / ${data.test.indices.length} test images), engine ${a.engine}, QAT ${a.qatEpochs} epochs (BN frozen from epoch ${at.bn}, observers from ${at.observers}), load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-qat-'));
  const diffs = new Map<WeightScheme, number[]>(a.schemes.map((sc) => [sc, []]));
  const ctlDiffs = new Map<WeightScheme, number[]>(a.schemes.map((sc) => [sc, []]));
  try {
    for (const { name, arch } of NETS.filter((n) => a.nets.includes(n.name)))
      for (const seed of a.seeds) {
        let low: { graph: Graph; weights: Map<string, Tensor> };
        if (arch === 'dwsep') {
          const graph = dwsepGraph(data.shape, data.numClasses);
          low = { graph, weights: freshWeights(graph, weightedNodes(graph), seed) };
        } else {
          const { module } = buildNetwork(arch, { shape: data.shape, numClasses: data.numClasses }, { gen: new Generator(seed) });
          const l = lowerModule(module, data.shape, data.numClasses);
          low = { graph: l.graph, weights: new Map(l.weights) };
          module.dispose();
        }
        const net = new GraphNet(low.graph, low.weights, seed);
        for (const t of low.weights.values()) t.dispose();
        await finetune(net, data, { epochs: a.epochs, lr: 3e-3, batchSize, seed });
        net.eval();
        const fl = testAccuracy((x) => net.forward(x), data);
        // The control: the same float net fine-tuned in float for QAT's epochs (same learning rate,
        // batch size and data order), then PTQ. QAT minus this is QAT's benefit without its extra training.
        const ctl = new GraphNet(low.graph, net.stateDict(), seed);
        await finetune(ctl, data, { epochs: a.qatEpochs, lr: 1e-4, batchSize, seed: seed + 100 });
        ctl.eval();
        const ctlFl = testAccuracy((x) => ctl.forward(x), data);
        const ptqOf = (m: GraphNet, scheme: WeightScheme, cal: readonly Tensor[]): number => {
          const f = fuse(low.graph, m.stateDict());
          const q = new QuantizedNet(f, 'static', calibrate(f, cal), undefined, scheme);
          const acc = testAccuracy((x) => q.forward(x), data);
          q.dispose();
          disposeFused(f);
          return acc;
        };
        for (const scheme of a.schemes)
          for (const n of a.calibration) {
            const cal = calibrationBatches(data, n, seed);
            const ptq = ptqOf(net, scheme, cal);
            const ctlPtq = ptqOf(ctl, scheme, cal);
            const qat = new QatNet(low.graph, net.stateDict(), seed, { weightScheme: scheme });
            qat.observe(cal);
            await finetune(qat, data, { epochs: a.qatEpochs, lr: 1e-4, batchSize, seed: seed + 100, beforeEpoch: qatSchedule(qat, at) });
            qat.eval();
            const sim = testAccuracy((x) => qat.forward(x), data); // the fake-quantized net: the converted int8 net should match it
            const fq = fuse(low.graph, qat.net.stateDict());
            const qatNet = new QuantizedNet(fq, 'static', qat.toInt8Params(fq), undefined, scheme);
            const qa = testAccuracy((x) => qatNet.forward(x), data);
            qatNet.dispose();
            disposeFused(fq);
            qat.dispose();
            const torch = peerPtq(dir, net, cal, data, a.engine, scheme === 'per_tensor');
            for (const t of cal) t.dispose();
            diffs.get(scheme)!.push(qa - ptq);
            ctlDiffs.get(scheme)!.push(qa - ctlPtq);
            const row = { model: name, scheme, seed, calibration: n, float_acc: fl, ptq_acc: ptq, float_ft_acc: ctlFl, float_ft_ptq_acc: ctlPtq, qat_acc: qa, qat_fakequant_acc: sim, torch_ptq_acc: torch };
            if (a.json) console.log(JSON.stringify(row));
            else
              log(
                `${name} ${scheme} seed ${seed} calibration ${n}: float ${fl.toFixed(2)}%  tsnas PTQ ${ptq.toFixed(2)}%  | float fine-tuned ${a.qatEpochs} ep ${ctlFl.toFixed(2)}%  its PTQ ${ctlPtq.toFixed(2)}%  | ` +
                  `tsnas QAT ${qa.toFixed(2)}% (fake-quant ${sim.toFixed(2)}%)  PyTorch PTQ ${torch.toFixed(2)}%`,
              );
          }
        ctl.dispose();
        net.dispose();
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const every = [...diffs.values()].flat();
  const ctlEvery = [...ctlDiffs.values()].flat();
  if (a.json) {
    for (const [sc, d] of diffs) console.log(JSON.stringify({ figure: `qat_minus_ptq_points_${sc}`, value: mean(d) }));
    console.log(JSON.stringify({ figure: 'qat_minus_ptq_points', value: mean(every) }));
    for (const [sc, d] of ctlDiffs) console.log(JSON.stringify({ figure: `qat_minus_finetuned_ptq_points_${sc}`, value: mean(d) }));
    console.log(JSON.stringify({ figure: 'qat_minus_finetuned_ptq_points', value: mean(ctlEvery) }));
  } else {
    for (const [sc, d] of diffs) log(`qat_minus_ptq_points ${sc} (mean over ${d.length} rows) = ${mean(d).toFixed(2)}`);
    log(`qat_minus_ptq_points (mean over ${every.length} rows) = ${mean(every).toFixed(2)}`);
    for (const [sc, d] of ctlDiffs) log(`qat_minus_finetuned_ptq_points ${sc} (QAT vs PTQ of the float net fine-tuned as long; mean over ${d.length} rows) = ${mean(d).toFixed(2)}`);
    log(`qat_minus_finetuned_ptq_points (mean over ${ctlEvery.length} rows) = ${mean(ctlEvery).toFixed(2)}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }
}
