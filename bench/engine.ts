/**
 * `npm run bench -- engine [--json] [--workloads lenet,nb201,mlp] [--rounds N] [--batches K] [--warmup W] [--peer-malloc]`
 *
 * Trains the three workloads of ../shared/bench/torch_reference.py with tsnas (same layers, shapes,
 * default init, batch sizes, optimizers, 2 threads, seed 0 random inputs and labels, cross-entropy)
 * and runs that script with Debian's /usr/bin/python3 (PyTorch 1.13), alternating in the same
 * process run, `rounds` times each; prints the best samples/s of each side and the ratio
 * tsnas/PyTorch per workload. With --json: one JSON object per workload.
 *
 * Both sides run with the same OpenMP wait policy: tsnas sets OMP_WAIT_POLICY=passive unless the
 * environment sets it (see src/tensor/native.ts), and the PyTorch child inherits that environment,
 * so the ratio measures the engines, not the spin policy. tsnas also fixes glibc's mmap/trim
 * thresholds (native/src/addon.cc); the PyTorch peer runs with glibc's defaults unless
 * `--peer-malloc` gives it the same thresholds (MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_).
 */
import { spawnSync } from 'node:child_process';
import { lenet } from '../src/nn/build/lenet.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, Tensor, crossEntropy, setNumThreads, tidy } from '../src/tensor/index.js';
import {
  Adam,
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Identity,
  Linear,
  MaxPool2d,
  Module,
  ModuleList,
  ReLU,
  SGD,
  Sequential,
  type Layer,
  type Optimizer,
} from '../src/nn/index.js';

const WORKLOADS = ['lenet', 'nb201', 'mlp'] as const;
type Workload = (typeof WORKLOADS)[number];
const SCRIPT = fileURLToPath(new URL('../../shared/bench/torch_reference.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

// ------------------------------------------------------------------ NB201 network (as torch_reference.py)

class ReLUConvBN extends Sequential {
  constructor(ci: number, co: number, k: number, stride: number, pad: number, gen: Generator) {
    super(new ReLU(), new Conv2d(ci, co, k, { gen, stride, padding: pad, bias: false }), new BatchNorm2d(co));
  }
}

class Zero extends Module {
  forward(x: Tensor): Tensor {
    return x.mul(0);
  }
}

type Op = 'none' | 'skip_connect' | 'nor_conv_1x1' | 'nor_conv_3x3' | 'avg_pool_3x3';
function makeOp(op: Op, c: number, gen: Generator): Layer {
  switch (op) {
    case 'none': return new Zero();
    case 'skip_connect': return new Identity();
    case 'nor_conv_1x1': return new ReLUConvBN(c, c, 1, 1, 0, gen);
    case 'nor_conv_3x3': return new ReLUConvBN(c, c, 3, 1, 1, gen);
    case 'avg_pool_3x3': return new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false });
  }
}

function parseArch(s: string): [Op, number][][] {
  return s.split('+').map((node) =>
    node.split('|').filter(Boolean).map((tok) => {
      const [op, j] = tok.split('~');
      return [op as Op, Number(j)] as [Op, number];
    }),
  );
}

class Cell extends Module {
  private readonly ops: ModuleList;
  constructor(private readonly arch: [Op, number][][], c: number, gen: Generator) {
    super();
    this.ops = this.child('ops', new ModuleList(arch.flatMap((node) => node.map(([op]) => makeOp(op, c, gen)))));
  }
  forward(x: Tensor): Tensor {
    const nodes = [x];
    let k = 0;
    for (const node of this.arch) {
      let acc: Tensor | undefined;
      for (const [, j] of node) {
        const y = this.ops.at(k++).forward(nodes[j]!);
        acc = acc ? acc.add(y) : y;
      }
      nodes.push(acc!);
    }
    return nodes[nodes.length - 1]!;
  }
}

class ResBlock extends Module {
  private readonly a: ReLUConvBN;
  private readonly b: ReLUConvBN;
  private readonly down: Sequential;
  constructor(ci: number, co: number, gen: Generator) {
    super();
    this.a = this.child('a', new ReLUConvBN(ci, co, 3, 2, 1, gen));
    this.b = this.child('b', new ReLUConvBN(co, co, 3, 1, 1, gen));
    this.down = this.child('down', new Sequential(new AvgPool2d(2, { stride: 2 }), new Conv2d(ci, co, 1, { gen, bias: false })));
  }
  forward(x: Tensor): Tensor {
    return this.down.forward(x).add(this.b.forward(this.a.forward(x)));
  }
}

class Nb201Net extends Module {
  private readonly net: Sequential;
  constructor(archStr: string, gen: Generator, c = 16, n = 5, classes = 10) {
    super();
    const arch = parseArch(archStr);
    const layers: Layer[] = [new Conv2d(3, c, 3, { gen, padding: 1, bias: false }), new BatchNorm2d(c)];
    [c, 2 * c, 4 * c].forEach((ch, stage) => {
      if (stage > 0) layers.push(new ResBlock(ch / 2, ch, gen));
      for (let i = 0; i < n; i++) layers.push(new Cell(arch, ch, gen));
    });
    layers.push(new BatchNorm2d(4 * c), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4 * c, classes, { gen }));
    this.net = this.child('net', new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }
}

const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';

export function workload(name: Workload, gen: Generator): { model: Layer; shape: number[]; batch: number; opt: Optimizer } {
  switch (name) {
    case 'lenet': {
      const m = lenet(gen);
      return { model: m, shape: [1, 28, 28], batch: 64, opt: new Adam(m.parameters(), { lr: 1e-3 }) };
    }
    case 'nb201': {
      const m = new Nb201Net(BEST, gen);
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

function runPytorch(name: Workload, batches: number, warmup: number, peerMalloc: boolean): { samplesPerS: number; finalLoss: number } {
  const env = { ...process.env, ...(peerMalloc ? { MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20), MALLOC_TRIM_THRESHOLD_: String(64 * 2 ** 20) } : {}) };
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
  const peerMalloc = argv.includes('--peer-malloc');
  const rounds = Number(argValue(argv, '--rounds') ?? 2);
  const batches = Number(argValue(argv, '--batches') ?? 100);
  const warmup = Number(argValue(argv, '--warmup') ?? 10);
  const names = (argValue(argv, '--workloads')?.split(',') ?? [...WORKLOADS]) as Workload[];
  for (const n of names) if (!WORKLOADS.includes(n)) throw new Error(`unknown workload ${n}: use ${WORKLOADS.join(', ')}`);
  const havePy = existsSync(PYTHON) && existsSync(SCRIPT) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  if (!havePy) console.error(`engine bench: ${PYTHON} with torch or ${SCRIPT} is missing; printing tsnas numbers only`);
  if (!json) {
    console.log(`engine benchmark: best of ${rounds} alternating runs, ${batches} timed batches after ${warmup} warm-up, 2 threads, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}, PyTorch malloc: ${peerMalloc ? 'same thresholds as tsnas' : 'glibc defaults'}`);
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
