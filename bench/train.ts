/**
 * `npm run bench -- train [--json] [--epochs 3] [--threads 2] [--data-dir DIR] [--val-fraction F] [--seed S] [--rounds N]`
 *
 * Trains the lenet workload of ../shared/bench/torch_reference.py on real Fashion-MNIST with tsnas's
 * trainer and with PyTorch (bench/torch_train.py under Debian's /usr/bin/python3), in the same run:
 * the same idx files, the same train/validation split (the tsnas side writes the validation indices
 * for the peer), the same scaling (x/255 standardised with train-split statistics), the same data
 * order policy (a fresh shuffle of the train split each epoch, batches of 64, last partial batch
 * kept), Adam lr 1e-3, 2 threads, the test set at the end in batches of 1000. By default the
 * whole training file trains (60,000 images; the dataset's standard protocol); --val-fraction F
 * holds out a stratified validation split instead, evaluated by both sides after every epoch. Each side's time runs from reading the data files to the final test metrics.
 * Prints both test accuracies and the wall-clock ratio PyTorch seconds / tsnas seconds (>= 1.0:
 * tsnas is at least as fast). With --rounds N the sides alternate N times and the medians count.
 * --json: one object {tsnas_test_acc, pytorch_test_acc, tsnas_seconds, pytorch_seconds, ratio} plus
 * the CPU times of both sides and their ratio (tsnas_cpu_seconds, pytorch_cpu_seconds, cpu_ratio).
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

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./torch_train.py', import.meta.url));


interface Args {
  json: boolean;
  epochs: number;
  threads: number;
  dataDir: string;
  valFraction: number;
  seed: number;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, epochs: 3, threads: 2, dataDir: FASHION_MNIST_DIR, valFraction: 0, seed: 0, rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new NasError('invalid_config', `${k} needs a value`, { field: k });
      return x;
    };
    if (k === '--json') a.json = true;
    else if (k === '--epochs') a.epochs = Number(v());
    else if (k === '--threads') a.threads = Number(v());
    else if (k === '--data-dir') a.dataDir = v();
    else if (k === '--val-fraction') a.valFraction = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--rounds') a.rounds = Number(v());
    else throw new NasError('invalid_config', `unknown option ${k}`, { hint: 'options: --json --epochs --threads --data-dir --val-fraction --seed --rounds' });
  }
  return a;
}

interface SideResult {
  testAcc: number;
  valAcc: number;
  seconds: number;
  /** Process CPU time (user + system) over the same span: less sensitive to other load on the machine. */
  cpuSeconds: number;
}

async function runTsnas(a: Args, valFile: string): Promise<SideResult> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const data = await prepareData({ kind: 'fashion_mnist', dataDir: a.dataDir }, { seed: a.seed, valFraction: a.valFraction });
  writeFileSync(valFile, Buffer.from(Int32Array.from(data.val.indices).buffer)); // little-endian on every supported machine
  const r = await trainModule(lenet, data, { arch: undefined, seed: a.seed, budget: a.epochs }, {
    hparams: { optimizer: 'adam', lr: 1e-3, batchSize: 64, weightDecay: 0 },
    threads: a.threads,
    evalBatchSize: 1000,
    progress: !a.json,
  }, undefined, t0);
  if (r.outcome.status !== 'complete') throw new NasError('internal', `tsnas training did not complete: ${JSON.stringify(r.outcome)}`);
  const cpu = process.cpuUsage(c0);
  return { testAcc: r.outcome.metrics.test_acc!, valAcc: r.outcome.metrics.val_acc ?? NaN, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function runPytorch(a: Args, valFile: string): SideResult {
  const r = spawnSync(PYTHON, [PEER, '--data-dir', a.dataDir, '--val-indices', valFile, '--epochs', String(a.epochs), '--threads', String(a.threads), '--seed', String(a.seed)], {
    encoding: 'utf8',
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

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-train-'));
  const valFile = join(dir, 'val-indices.i32');
  try {
    const ts: SideResult[] = [];
    const pt: SideResult[] = [];
    for (let r = 0; r < a.rounds; r++) {
      // tsnas first in even rounds (it also writes the split the peer reads), PyTorch first in odd ones
      if (r % 2 === 1) pt.push(runPytorch(a, valFile));
      ts.push(await runTsnas(a, valFile));
      if (r % 2 === 0) pt.push(runPytorch(a, valFile));
      if (!a.json)
        console.error(
          `round ${r + 1}: tsnas test ${ts[r]!.testAcc.toFixed(2)}% in ${ts[r]!.seconds.toFixed(1)}s (cpu ${ts[r]!.cpuSeconds.toFixed(1)}s), ` +
            `PyTorch test ${pt[r]!.testAcc.toFixed(2)}% in ${pt[r]!.seconds.toFixed(1)}s (cpu ${pt[r]!.cpuSeconds.toFixed(1)}s)`,
        );
    }
    const out = {
      tsnas_test_acc: +median(ts.map((x) => x.testAcc)).toFixed(2),
      pytorch_test_acc: +median(pt.map((x) => x.testAcc)).toFixed(2),
      tsnas_seconds: +median(ts.map((x) => x.seconds)).toFixed(2),
      pytorch_seconds: +median(pt.map((x) => x.seconds)).toFixed(2),
      ratio: 0,
      tsnas_cpu_seconds: +median(ts.map((x) => x.cpuSeconds)).toFixed(2),
      pytorch_cpu_seconds: +median(pt.map((x) => x.cpuSeconds)).toFixed(2),
      cpu_ratio: 0,
    };
    out.ratio = +(out.pytorch_seconds / out.tsnas_seconds).toFixed(3);
    out.cpu_ratio = +(out.pytorch_cpu_seconds / out.tsnas_cpu_seconds).toFixed(3);
    if (a.json) console.log(JSON.stringify(out));
    else {
      console.log(`lenet on Fashion-MNIST, ${a.epochs} epochs, Adam lr 1e-3, batch 64, ${a.threads} threads, val fraction ${a.valFraction}`);
      console.log(`  tsnas    test accuracy ${out.tsnas_test_acc.toFixed(2)}%   ${out.tsnas_seconds.toFixed(1)} s`);
      console.log(`  PyTorch  test accuracy ${out.pytorch_test_acc.toFixed(2)}%   ${out.pytorch_seconds.toFixed(1)} s`);
      console.log(`  wall-clock ratio PyTorch/tsnas: ${out.ratio.toFixed(2)} (>= 1.0: tsnas at least as fast)`);
      console.log(`  CPU-time ratio PyTorch/tsnas:   ${out.cpu_ratio.toFixed(2)} (${out.pytorch_cpu_seconds.toFixed(1)} s / ${out.tsnas_cpu_seconds.toFixed(1)} s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
