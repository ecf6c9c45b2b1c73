/**
 * `npm run bench -- train [--json] [--engine native|ops] [--epochs 3] [--threads 2] [--data-dir DIR] [--val-fraction F] [--seed S] [--seeds N] [--peer-glibc-defaults]`
 *
 * Trains the lenet workload of bench/torch_reference.py on real Fashion-MNIST with tsnas's
 * trainer and with PyTorch (bench/torch_train.py under Debian's /usr/bin/python3), in the same run:
 * the same idx files, the same train/validation split (the tsnas side writes the validation indices
 * for the peer), the same scaling (x/255 standardised with train-split statistics), the same data
 * order policy (a fresh shuffle of the train split each epoch, batches of 64, last partial batch
 * kept), Adam lr 1e-3, 2 threads, the test set at the end in batches of 1000. By default the
 * whole training file trains (60,000 images; the dataset's standard protocol); --val-fraction F
 * holds out a stratified validation split instead, evaluated by both sides after every epoch. Each side's time runs from reading the data files to the final test metrics.
 * Each side trains once per seed S, S+1, ..., S+N-1 (--seeds N, default 3), alternating which side
 * goes first; a seed fixes each side's initial weights and data order (tsnas's Rng, torch's
 * generator: same policy, not the same numbers), so the accuracy of one run carries seed noise of
 * about +-0.3 points and the comparison is of the means over seeds (with their standard deviations).
 * Prints both mean test accuracies, their difference, and the wall-clock ratio PyTorch seconds /
 * tsnas seconds of the medians (>= 1.0: tsnas is at least as fast).
 * The PyTorch child gets the glibc mmap/trim thresholds tsnas sets in its own process (see
 * bench/engine.ts), so the ratio measures the engines and pipelines; --peer-glibc-defaults runs it
 * with glibc's defaults instead.
 * --json: one object {tsnas_test_acc, pytorch_test_acc, tsnas_seconds, pytorch_seconds, ratio}
 * (accuracies: means over the seeds; seconds: medians) plus seeds, per-seed accuracies, standard
 * deviations, acc_diff, and the CPU times of both sides and their ratio.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasError } from '../src/core/errors.js';
import { prepareData } from '../src/data/prepare.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { lenet } from '../src/nn/build/lenet.js';
import { trainModule } from '../src/eval/train.js';
import { blasLine, peerEnv } from './engine.js';
import { parseBenchArgs } from './args.js';
import { mean, sampleStd } from '../src/core/stats.js';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./torch_train.py', import.meta.url));


interface Args {
  json: boolean;
  epochs: number;
  threads: number;
  dataDir: string;
  valFraction: number;
  seed: number;
  seeds: number;
  peerMalloc: boolean;
  /** The trainer's engine (TrainOptions.engine): native (default) or ops. */
  engine: 'native' | 'ops';
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'train', {
    json: 'flag', epochs: 'number', threads: 'number', 'data-dir': 'string', 'val-fraction': 'number', seed: 'number', seeds: 'number', 'peer-glibc-defaults': 'flag', engine: 'string',
  });
  const engine = o.engine ?? 'native';
  if (engine !== 'native' && engine !== 'ops') throw new NasError('invalid_config', `--engine must be native or ops, got ${engine}`, { field: '--engine' });
  const a: Args = {
    json: o.json ?? false, epochs: o.epochs ?? 3, threads: o.threads ?? 2, dataDir: o['data-dir'] ?? FASHION_MNIST_DIR, valFraction: o['val-fraction'] ?? 0,
    seed: o.seed ?? 0, seeds: o.seeds ?? 3, peerMalloc: !o['peer-glibc-defaults'], engine,
  };
  if (!Number.isInteger(a.seeds) || a.seeds < 1) throw new NasError('invalid_config', `--seeds must be an integer >= 1, got ${a.seeds}`, { field: '--seeds' });
  return a;
}

interface SideResult {
  testAcc: number;
  valAcc: number;
  seconds: number;
  /** Process CPU time (user + system) over the same span: less sensitive to other load on the machine. */
  cpuSeconds: number;
}

/** Writes the validation indices of the seed's split for the peer (the split depends on the seed only). */
async function writeSplit(a: Args, seed: number, valFile: string): Promise<void> {
  const data = await prepareData({ kind: 'fashion_mnist', dataDir: a.dataDir }, { seed, valFraction: a.valFraction });
  writeFileSync(valFile, Buffer.from(Int32Array.from(data.val.indices).buffer)); // little-endian on every supported machine
}

async function runTsnas(a: Args, seed: number): Promise<SideResult> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const data = await prepareData({ kind: 'fashion_mnist', dataDir: a.dataDir }, { seed, valFraction: a.valFraction });
  const r = await trainModule(lenet, data, { arch: undefined, seed, budget: a.epochs }, {
    hparams: { optimizer: 'adam', lr: 1e-3, batchSize: 64, weightDecay: 0 },
    threads: a.threads,
    evalBatchSize: 1000,
    progress: !a.json,
    engine: a.engine,
  }, undefined, t0);
  if (r.outcome.status !== 'complete') throw new NasError('internal', `tsnas training did not complete: ${JSON.stringify(r.outcome)}`);
  const cpu = process.cpuUsage(c0);
  return { testAcc: r.outcome.metrics.test_acc!, valAcc: r.outcome.metrics.val_acc ?? NaN, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function runPytorch(a: Args, seed: number, valFile: string): SideResult {
  const r = spawnSync(PYTHON, [PEER, '--data-dir', a.dataDir, '--val-indices', valFile, '--epochs', String(a.epochs), '--threads', String(a.threads), '--seed', String(seed)], {
    encoding: 'utf8',
    env: { ...process.env, ...peerEnv(a.peerMalloc) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new NasError('internal', `${PYTHON} ${PEER} failed (status ${r.status}): is python3-torch installed?`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { test_acc: number; val_acc: number | null; seconds: number; cpu_seconds: number };
  return { testAcc: j.test_acc, valAcc: j.val_acc ?? NaN, seconds: j.seconds, cpuSeconds: j.cpu_seconds };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Sample standard deviation (n - 1); 0 for one value or values equal within rounding (src/core/stats.ts). */
const std = sampleStd;
const r2 = (x: number) => +x.toFixed(2);

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-train-'));
  try {
    const ts: SideResult[] = [];
    const pt: SideResult[] = [];
    for (let r = 0; r < a.seeds; r++) {
      const seed = a.seed + r;
      const valFile = join(dir, `val-indices-${seed}.i32`);
      await writeSplit(a, seed, valFile); // untimed
      // tsnas first in even rounds, PyTorch first in odd ones
      if (r % 2 === 1) pt.push(runPytorch(a, seed, valFile));
      ts.push(await runTsnas(a, seed));
      if (r % 2 === 0) pt.push(runPytorch(a, seed, valFile));
      if (!a.json)
        console.error(
          `seed ${seed}: tsnas test ${ts[r]!.testAcc.toFixed(2)}% in ${ts[r]!.seconds.toFixed(1)}s (cpu ${ts[r]!.cpuSeconds.toFixed(1)}s), ` +
            `PyTorch test ${pt[r]!.testAcc.toFixed(2)}% in ${pt[r]!.seconds.toFixed(1)}s (cpu ${pt[r]!.cpuSeconds.toFixed(1)}s)`,
        );
    }
    const tsAcc = ts.map((x) => x.testAcc);
    const ptAcc = pt.map((x) => x.testAcc);
    const out = {
      tsnas_test_acc: r2(mean(tsAcc)),
      pytorch_test_acc: r2(mean(ptAcc)),
      tsnas_seconds: r2(median(ts.map((x) => x.seconds))),
      pytorch_seconds: r2(median(pt.map((x) => x.seconds))),
      ratio: 0,
      seeds: Array.from({ length: a.seeds }, (_, r) => a.seed + r),
      tsnas_test_accs: tsAcc,
      pytorch_test_accs: ptAcc,
      tsnas_test_acc_std: r2(std(tsAcc)),
      pytorch_test_acc_std: r2(std(ptAcc)),
      acc_diff: r2(mean(tsAcc) - mean(ptAcc)),
      tsnas_cpu_seconds: r2(median(ts.map((x) => x.cpuSeconds))),
      pytorch_cpu_seconds: r2(median(pt.map((x) => x.cpuSeconds))),
      cpu_ratio: 0,
      peer_malloc: a.peerMalloc ? 'same thresholds as tsnas' : 'glibc defaults',
    };
    out.ratio = +(out.pytorch_seconds / out.tsnas_seconds).toFixed(3);
    out.cpu_ratio = +(out.pytorch_cpu_seconds / out.tsnas_cpu_seconds).toFixed(3);
    if (a.json) console.log(JSON.stringify(out));
    else {
      const pm = (m: number, sd: number) => `${m.toFixed(2)} +- ${sd.toFixed(2)}%`;
      console.log(`lenet on Fashion-MNIST, ${a.epochs} epochs, Adam lr 1e-3, batch 64, ${a.threads} threads, val fraction ${a.valFraction}, seeds ${out.seeds.join(',')}, PyTorch malloc: ${out.peer_malloc}, ${blasLine()}`);
      console.log(`  tsnas    test accuracy ${pm(out.tsnas_test_acc, out.tsnas_test_acc_std)}   median ${out.tsnas_seconds.toFixed(1)} s`);
      console.log(`  PyTorch  test accuracy ${pm(out.pytorch_test_acc, out.pytorch_test_acc_std)}   median ${out.pytorch_seconds.toFixed(1)} s`);
      console.log(`  accuracy difference (means) tsnas - PyTorch: ${out.acc_diff >= 0 ? '+' : ''}${out.acc_diff.toFixed(2)} points`);
      console.log(`  wall-clock ratio PyTorch/tsnas: ${out.ratio.toFixed(2)} (>= 1.0: tsnas at least as fast)`);
      console.log(`  CPU-time ratio PyTorch/tsnas:   ${out.cpu_ratio.toFixed(2)} (${out.pytorch_cpu_seconds.toFixed(1)} s / ${out.tsnas_cpu_seconds.toFixed(1)} s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
