/**
 * `npm run bench -- engine [--json] [--workloads lenet,nb201,mlp] [--rounds N] [--batches K] [--warmup W] [--peer-glibc-defaults]`
 *
 * Trains the three workloads of bench/torch_reference.py with tsnas (same layers, shapes,
 * default init, batch sizes, optimizers, 2 threads, seed 0 random inputs and labels, cross-entropy)
 * and runs that script with Debian's /usr/bin/python3 (PyTorch 1.13), alternating in the same
 * process run, `rounds` times each; prints the best samples/s of each side and the ratio
 * tsnas/PyTorch per workload. With --json: one JSON object per workload.
 *
 * Both sides run with the same OpenMP wait policy: tsnas sets GOMP_SPINCOUNT=1000 unless the
 * environment sets OMP_WAIT_POLICY or GOMP_SPINCOUNT (see src/tensor/native.ts), and the PyTorch
 * child inherits that environment.
 * tsnas also raises glibc's mmap/trim thresholds in its process (native/src/addon.cc: without that,
 * every multi-MB activation is an mmap/munmap pair with fresh page faults); by default the PyTorch
 * peer gets the same thresholds through MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, so the ratio
 * measures the engines, not the allocator setting. `--peer-glibc-defaults` runs the peer exactly as
 * torch_reference.py runs by itself (glibc defaults), which is 2-3x slower on lenet here.
 */
import { spawnSync } from 'node:child_process';
import { Nb201Net, lenet } from '../src/nn/build/index.js';
import { parseNb201 } from '../src/space/nb201.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, Tensor, crossEntropy, setNumThreads, tidy } from '../src/tensor/index.js';
import { Adam, BatchNorm1d, Dropout, Linear, ReLU, SGD, Sequential, type Layer, type Optimizer } from '../src/nn/index.js';

const WORKLOADS = ['lenet', 'nb201', 'mlp'] as const;
type Workload = (typeof WORKLOADS)[number];
const SCRIPT = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';

export function workload(name: Workload, gen: Generator): { model: Layer; shape: number[]; batch: number; opt: Optimizer } {
  switch (name) {
    case 'lenet': {
      const m = lenet(gen);
      return { model: m, shape: [1, 28, 28], batch: 64, opt: new Adam(m.parameters(), { lr: 1e-3 }) };
    }
    case 'nb201': {
      const m = new Nb201Net(parseNb201(BEST), 3, 10, gen);
      return { model: m, shape: [3, 32, 32], batch: 64, opt: new SGD(m.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }) };
    }
    case 'mlp': {
      const m = new Sequential(
        new Linear(64, 256, { gen }), new BatchNorm1d(256), new ReLU(), new Dropout(0.1, gen),
        new Linear(256, 256, { gen }), new BatchNorm1d(256), new ReLU(), new Linear(256, 10, { gen }),
      );
      return { model: m, shape: [64], batch: 128, opt: new Adam(m.parameters(), { lr: 1e-3 }) };
    }
  }
}

/** One timed tsnas run, mirroring torch_reference.py's main(). */
export function runTsnas(name: Workload, batches: number, warmup: number): { samplesPerS: number; finalLoss: number } {
  setNumThreads(2);
  const gen = new Generator(0);
  const { model, shape, batch, opt } = workload(name, gen);
  model.train();
  const n = batches + warmup;
  const x = gen.randn([n, batch, ...shape]).keep();
  const y = gen.randint(0, 10, [n, batch]).keep();
  let lossT: Tensor | undefined;
  const step = (i: number): void => {
    opt.zeroGrad();
    lossT?.dispose();
    // The inner tidy frees the forward intermediates' wrappers before backward, so each activation
    // lives only as long as autograd needs it (as in Python, where they drop out of scope).
    lossT = tidy(() => crossEntropy(model.forward(x.select(0, i)), y.select(0, i)));
    lossT.backward();
    opt.step();
  };
  for (let i = 0; i < warmup; i++) step(i);
  const t0 = process.hrtime.bigint();
  for (let i = warmup; i < n; i++) step(i);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const finalLoss = lossT!.item();
  lossT!.dispose();
  x.dispose();
  y.dispose();
  model.dispose();
  return { samplesPerS: (batches * batch) / dt, finalLoss };
}

/**
 * The glibc malloc thresholds tsnas sets in its own process (native/src/addon.cc tuneMalloc), as the
 * environment that gives a PyTorch child the same; `{}` for glibc's defaults.
 */
export function peerMallocEnv(same: boolean): NodeJS.ProcessEnv {
  return same ? { MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20), MALLOC_TRIM_THRESHOLD_: String(64 * 2 ** 20) } : {};
}

function runPytorch(name: Workload, batches: number, warmup: number, peerMalloc: boolean): { samplesPerS: number; finalLoss: number } {
  const env = { ...process.env, ...peerMallocEnv(peerMalloc) };
  const r = spawnSync(PYTHON, [SCRIPT, name, '--threads', '2', '--batches', String(batches), '--warmup', String(warmup)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`torch_reference.py ${name} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  const j = JSON.parse(line) as { samples_per_s: number; final_loss: number };
  return { samplesPerS: j.samples_per_s, finalLoss: j.final_loss };
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

export default async function engine(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const peerMalloc = !argv.includes('--peer-glibc-defaults');
  const rounds = Number(argValue(argv, '--rounds') ?? 2);
  const batches = Number(argValue(argv, '--batches') ?? 100);
  const warmup = Number(argValue(argv, '--warmup') ?? 10);
  const names = (argValue(argv, '--workloads')?.split(',') ?? [...WORKLOADS]) as Workload[];
  for (const n of names) if (!WORKLOADS.includes(n)) throw new Error(`unknown workload ${n}: use ${WORKLOADS.join(', ')}`);
  const havePy = existsSync(PYTHON) && existsSync(SCRIPT) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  if (!havePy) console.error(`engine bench: ${PYTHON} with torch or ${SCRIPT} is missing; printing tsnas numbers only`);
  if (!json) {
    console.log(`engine benchmark: best of ${rounds} alternating runs, ${batches} timed batches after ${warmup} warm-up, 2 threads, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(unset)'} GOMP_SPINCOUNT=${process.env.GOMP_SPINCOUNT ?? '(unset)'}, PyTorch malloc: ${peerMalloc ? 'same mmap/trim thresholds as tsnas' : 'glibc defaults (--peer-glibc-defaults)'}`);
    console.log('workload   tsnas samples/s   pytorch samples/s   ratio   (final loss tsnas / pytorch)');
  }
  for (const name of names) {
    let ts = 0, py = 0, tsLoss = NaN, pyLoss = NaN;
    for (let r = 0; r < rounds; r++) {
      const a = runTsnas(name, batches, warmup);
      if (a.samplesPerS > ts) (ts = a.samplesPerS), (tsLoss = a.finalLoss);
      if (havePy) {
        const b = runPytorch(name, batches, warmup, peerMalloc);
        if (b.samplesPerS > py) (py = b.samplesPerS), (pyLoss = b.finalLoss);
      }
    }
    const ratio = havePy ? ts / py : NaN;
    if (json) {
      console.log(JSON.stringify({ workload: name, tsnas_samples_per_s: Math.round(ts * 10) / 10, pytorch_samples_per_s: havePy ? py : null, ratio: havePy ? Math.round(ratio * 1000) / 1000 : null }));
    } else {
      console.log(
        `${name.padEnd(10)} ${ts.toFixed(1).padStart(15)}   ${(havePy ? py.toFixed(1) : 'n/a').padStart(17)}   ${(havePy ? ratio.toFixed(3) : 'n/a').padStart(5)}   (${tsLoss.toFixed(4)} / ${havePy ? pyLoss.toFixed(4) : 'n/a'})`,
      );
    }
  }
}
