/**
 * `npm run bench -- engine [--json] [--workloads lenet,nb201,mlp,nb201super] [--rounds N] [--batches K] [--warmup W]
 *    [--engines native,native-cl,native-nchw,native-aten-pool,native-pool-kernel,native-pool-first,native-aten-bn,native-all-threads,ops] [--memory-batches M] [--no-memory] [--peer-glibc-defaults]`
 *
 * Trains the four workloads of bench/torch_reference.py (nb201super: a DARTS weight step on the
 * one-shot NB201 supernet, all 5 ops on every edge, C=16) with tsnas (same layers, shapes, default
 * init, batch sizes, optimizers, 2 threads, seed 0 random inputs and labels, cross-entropy) and runs
 * that script with Debian's /usr/bin/python3 (PyTorch 1.13), alternating in the same process run,
 * `rounds` times each; prints the MEDIAN samples/s of each side over the rounds and the ratio
 * tsnas/PyTorch per workload. tsnas runs with each engine of --engines (default `native`: one
 * native call per training step, src/nn/native-exec.ts; `ops`: one native call per op, the path
 * custom modules take; `native-cl` / `native-nchw`: the native engine with channels-last activations
 * and conv weights forced on / off, compileNative({ channelsLast: true / false }), where `native`
 * chooses by its 'auto' rule; `native-aten-pool` / `native-pool-kernel`: compileNative({ poolKernel:
 * false / true }); `native-pool-first`: compileNative({ poolFirst: true }); `native-aten-bn`:
 * compileNative({ bnKernel: false }), libtorch's batch_norm in the training step; `native-all-threads`:
 * compileNative({ stepThreads: 'all' }), every step on both threads, where `native` picks one or two
 * threads by timing steps 2-9, see CompileOptions.stepThreads); the ratio column is the first engine's.
 * Below each workload: the threads the native engines' last timed step ran with, per round.
 * Peak memory of the NB201 workload (unless --no-memory): each side trains it for M batches
 * (default 5, after 1 warm-up) in a child process; printed: the child's peak RSS, and the peak
 * RSS minus that of the same child doing 0 batches (the runtime, libtorch, the model and the
 * inputs), i.e. what training itself adds. With --json: one JSON object per workload, then one
 * for memory.
 *
 * Both sides run with the same OpenMP wait policy: tsnas sets GOMP_SPINCOUNT=1000 unless the
 * environment sets OMP_WAIT_POLICY or GOMP_SPINCOUNT (see src/tensor/native.ts), and the PyTorch
 * child inherits that environment.
 * tsnas also tunes glibc's malloc in its process (native/src/addon.cc: 32 MiB mmap threshold, no mmap
 * in the main arena, no automatic trim; without that, every multi-MB activation is an mmap/munmap pair
 * with fresh page faults); by default the PyTorch peer gets the same settings through
 * MALLOC_MMAP_THRESHOLD_/MALLOC_MMAP_MAX_/MALLOC_TRIM_THRESHOLD_, so the ratio
 * measures the engines, not the allocator setting. `--peer-glibc-defaults` runs the peer exactly as
 * torch_reference.py runs by itself (glibc defaults), which is 2-3x slower on lenet here.
 * Both sides load the same BLAS (the system's libblas.so.3); the header line names it. When it is
 * OpenBLAS's pthreads build the addon limits its pool to one thread and the peer gets
 * OPENBLAS_NUM_THREADS=1 (peerEnv); scripts/setup selects the OpenMP build, which needs neither.
 */
import { spawnSync } from 'node:child_process';
import { Nb201Net, lenet } from '../src/nn/build/index.js';
import { parseNb201 } from '../src/space/nb201.js';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { compileNative, type CompileOptions } from '../src/nn/native-exec.js';
import { nb201Supernet } from '../src/oneshot/nb201.js';
import { softmaxWeights } from '../src/oneshot/method.js';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import { Generator, Tensor, blasInfo, crossEntropy, setNumThreads, tidy } from '../src/tensor/index.js';
import { Adam, BatchNorm1d, Dropout, Linear, ReLU, SGD, Sequential, type Layer, type Optimizer } from '../src/nn/index.js';

const WORKLOADS = ['lenet', 'nb201', 'mlp', 'nb201super'] as const;
type Workload = (typeof WORKLOADS)[number];
const SCRIPT = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';

export function workload(name: Workload, gen: Generator): { model: Layer; shape: number[]; batch: number; opt: Optimizer; forward?: (x: Tensor) => Tensor; dispose?: () => void } {
  switch (name) {
    case 'nb201super': {
      // A DARTS weight step on the NB201 supernet (src/oneshot/nb201.ts): every edge mixes its 5 ops
      // with softmax(alpha) (detached; recomputed each forward as the PyTorch peer does).
      const sn = nb201Supernet({ shape: [3, 32, 32], numClasses: 10 }, gen, { width: 16, cells: 5 });
      const forward = (x: Tensor): Tensor => {
        sn.setMode({ kind: 'mixed', weights: softmaxWeights(sn.alpha, true) });
        return sn.module.forward(x);
      };
      return { model: sn.module, shape: [3, 32, 32], batch: 64, opt: new SGD(sn.module.parameters(), { lr: 0.025, momentum: 0.9, weightDecay: 3e-4 }), forward, dispose: () => sn.dispose() };
    }
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

/**
 * `native`: compileNative defaults; `native-cl` / `native-nchw`: channels-last forced on / off;
 * `native-aten-pool` / `native-pool-kernel`: graph.cc's 2x2 max pooling kernel forced off / on
 * (libtorch's max_pool2d instead); `native-pool-first`: the poolFirst rewrite on; `native-aten-bn`:
 * graph.cc's BatchNorm1d training kernel off (libtorch's batch_norm and relu); `native-all-threads`:
 * training steps always on all threads (no one-thread choice); `ops`: op by op.
 */
export type Engine = 'native' | 'native-cl' | 'native-nchw' | 'native-aten-pool' | 'native-pool-kernel' | 'native-pool-first' | 'native-aten-bn' | 'native-all-threads' | 'ops';
const ENGINES: readonly Engine[] = ['native', 'native-cl', 'native-nchw', 'native-aten-pool', 'native-pool-kernel', 'native-pool-first', 'native-aten-bn', 'native-all-threads', 'ops'];
/** The compileNative options of a native engine. */
const optionsOf = (e: Engine): CompileOptions => {
  switch (e) {
    case 'native-cl': return { channelsLast: true };
    case 'native-nchw': return { channelsLast: false };
    case 'native-aten-pool': return { poolKernel: false };
    case 'native-pool-kernel': return { poolKernel: true };
    case 'native-pool-first': return { poolFirst: true };
    case 'native-aten-bn': return { bnKernel: false };
    case 'native-all-threads': return { stepThreads: 'all' };
    case 'native':
    case 'ops':
      return {};
  }
};

/**
 * One timed tsnas run, mirroring torch_reference.py's main(). `ran` is the engine that ran: 'ops'
 * when the native engine cannot express the workload (the one-shot supernet: mixed edges are not
 * lowered), after the engine's one-line notice.
 */
export function runTsnas(name: Workload, batches: number, warmup: number, engine: Engine = 'native'): { samplesPerS: number; finalLoss: number; ran: Engine; threads?: number } {
  setNumThreads(2);
  const gen = new Generator(0);
  const w = workload(name, gen);
  const { model, shape, batch, opt } = w;
  const forward = w.forward ?? ((t: Tensor) => model.forward(t));
  model.train();
  const n = batches + warmup;
  const x = gen.randn([n, batch, ...shape]).keep();
  const y = gen.randint(0, 10, [n, batch]).keep();
  const net = engine !== 'ops' && !w.forward ? compileNative(model, optionsOf(engine)) : undefined;
  let lossT: Tensor | undefined;
  let last = NaN;
  let threads: number | undefined;
  const bshape = [batch, ...shape];
  const step = (i: number): void => {
    if (net) {
      // One native call: forward, cross-entropy, backward, optimizer step.
      const xi = x.select(0, i), yi = y.select(0, i);
      const r = net.trainStep(xi, bshape, yi, opt);
      last = r.loss;
      threads = r.threads;
      xi.dispose();
      yi.dispose();
      return;
    }
    opt.zeroGrad();
    lossT?.dispose();
    // The inner tidy frees the forward intermediates' wrappers before backward, so each activation
    // lives only as long as autograd needs it (as in Python, where they drop out of scope).
    lossT = tidy(() => crossEntropy(forward(x.select(0, i)), y.select(0, i)));
    lossT.backward();
    opt.step();
  };
  for (let i = 0; i < warmup; i++) step(i);
  const t0 = process.hrtime.bigint();
  for (let i = warmup; i < n; i++) step(i);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const finalLoss = lossT ? lossT.item() : last;
  lossT?.dispose();
  net?.dispose();
  x.dispose();
  y.dispose();
  if (w.dispose) w.dispose();
  else model.dispose();
  return { samplesPerS: (batches * batch) / dt, finalLoss, ran: net ? engine : 'ops', ...(threads !== undefined ? { threads } : {}) };
}

/**
 * The environment that gives a PyTorch child the process settings tsnas makes in its own process:
 * glibc's malloc thresholds (native/src/addon.cc tuneMalloc; `sameMalloc` false leaves glibc's
 * defaults), and, when the addon found OpenBLAS's pthreads build and limited its pool to one thread
 * (addon.cc tuneBlas, `blasInfo().limited`), OPENBLAS_NUM_THREADS=1, which does the same in the
 * child. OpenMP settings (GOMP_SPINCOUNT, OMP_NUM_THREADS) reach the child through process.env.
 */
export function peerEnv(sameMalloc: boolean): NodeJS.ProcessEnv {
  return {
    ...(sameMalloc ? { MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20), MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: String(2 ** 31 - 1) } : {}),
    ...(blasInfo().limited ? { OPENBLAS_NUM_THREADS: '1' } : {}),
  };
}

/** One line naming the BLAS behind both sides' matmuls (the PyTorch child loads the same library). */
export function blasLine(): string {
  const b = blasInfo();
  if (!b.openblas) return 'BLAS: not OpenBLAS';
  const ver = /^OpenBLAS \S+/.exec(b.openblas)?.[0] ?? 'OpenBLAS';
  return `BLAS: ${ver} (${b.threading} build${b.limited ? ', pool limited to 1 thread on both sides' : ''})`;
}

function runPytorch(name: Workload, batches: number, warmup: number, peerMalloc: boolean): { samplesPerS: number; finalLoss: number } {
  const env = { ...process.env, ...peerEnv(peerMalloc) };
  const r = spawnSync(PYTHON, [SCRIPT, name, '--threads', '2', '--batches', String(batches), '--warmup', String(warmup)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`torch_reference.py ${name} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  const j = JSON.parse(line) as { samples_per_s: number; final_loss: number };
  return { samplesPerS: j.samples_per_s, finalLoss: j.final_loss };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Peak RSS (KiB) of a child training `name` for `batches` batches; the tsnas child runs this file with --child. */
function childPeakKiB(side: 'tsnas' | 'pytorch', name: Workload, batches: number, warmup: number, engine: Engine, peerMalloc: boolean): number {
  if (side === 'pytorch') {
    const py = [
      'import sys, json, resource, runpy',
      `sys.argv = [${JSON.stringify(SCRIPT)}, ${JSON.stringify(name)}, '--threads', '2', '--batches', '${batches}', '--warmup', '${warmup}']`,
      batches + warmup > 0 ? `runpy.run_path(${JSON.stringify(SCRIPT)}, run_name='__main__')` : `m = runpy.run_path(${JSON.stringify(SCRIPT)}); import torch; torch.set_num_threads(2); torch.manual_seed(0); w = m['workload'](${JSON.stringify(name)}); x = torch.randn(1, w[2], *w[1]); y = torch.randint(0, 10, (1, w[2]))`,
      'print(json.dumps({"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', py], { encoding: 'utf8', env: { ...process.env, ...peerEnv(peerMalloc) } });
    if (r.status !== 0) throw new Error(`PyTorch memory child failed: ${r.stderr}`);
    return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { max_rss_kib: number }).max_rss_kib;
  }
  const runner = fileURLToPath(new URL('./run.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', runner, 'engine', '--child', name, '--batches', String(batches), '--warmup', String(warmup), '--engines', engine], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsnas memory child failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { max_rss_kib: number }).max_rss_kib;
}

export default async function engine(argv: string[]): Promise<void> {
  const o = parseBenchArgs(argv, 'engine', {
    json: 'flag', 'peer-glibc-defaults': 'flag', rounds: 'number', batches: 'number', warmup: 'number', engines: 'list', child: 'string', workloads: 'list',
    'no-memory': 'flag', 'memory-batches': 'number',
  });
  const json = o.json ?? false;
  const peerMalloc = !o['peer-glibc-defaults'];
  const rounds = o.rounds ?? 3;
  const batches = o.batches ?? 100;
  const warmup = o.warmup ?? 10;
  const engines = (o.engines ?? ['native']) as Engine[];
  for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e}: use ${ENGINES.join(', ')}`);
  const child = o.child as Workload | undefined;
  if (child) {
    // Memory child: train, then report this process's peak RSS.
    if (batches + warmup > 0) runTsnas(child, batches, warmup, engines[0]!);
    else {
      setNumThreads(2);
      const gen = new Generator(0);
      const w = workload(child, gen);
      const x = gen.randn([1, w.batch, ...w.shape]);
      const net = engines[0] !== 'ops' ? compileNative(w.model, optionsOf(engines[0]!)) : undefined;
      net?.dispose();
      x.dispose();
      w.model.dispose();
    }
    console.log(JSON.stringify({ max_rss_kib: process.resourceUsage().maxRSS }));
    return;
  }
  const names = (o.workloads ?? [...WORKLOADS]) as Workload[];
  for (const n of names) if (!WORKLOADS.includes(n)) throw new Error(`unknown workload ${n}: use ${WORKLOADS.join(', ')}`);
  const havePy = existsSync(PYTHON) && existsSync(SCRIPT) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  if (!havePy) console.error(`engine bench: ${PYTHON} with torch or ${SCRIPT} is missing; printing tsnas numbers only`);
  if (!json) {
    console.log(`engine benchmark: median of ${rounds} alternating runs, ${batches} timed batches after ${warmup} warm-up, 2 threads, OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(unset)'} GOMP_SPINCOUNT=${process.env.GOMP_SPINCOUNT ?? '(unset)'}, PyTorch malloc: ${peerMalloc ? 'same mmap/trim thresholds as tsnas' : 'glibc defaults (--peer-glibc-defaults)'}, ${blasLine()}; load: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`workload   ${engines.map((e) => `tsnas ${e} samples/s`.padStart(24)).join(' ')}   pytorch samples/s   ratio   (final loss tsnas / pytorch)`);
  }
  for (const name of names) {
    const ts: number[][] = engines.map(() => []);
    const py: number[] = [];
    let tsLoss = NaN, pyLoss = NaN;
    const fellBack = new Set<Engine>();
    const stepThreads: number[][] = engines.map(() => []); // threads of each round's last timed step (native engines)
    for (let r = 0; r < rounds; r++) {
      engines.forEach((e, k) => {
        const a = runTsnas(name, batches, warmup, e);
        if (a.ran !== e) fellBack.add(e);
        if (a.threads !== undefined) stepThreads[k]!.push(a.threads);
        ts[k]!.push(a.samplesPerS);
        if (k === 0) tsLoss = a.finalLoss;
      });
      if (havePy) {
        const b = runPytorch(name, batches, warmup, peerMalloc);
        py.push(b.samplesPerS);
        pyLoss = b.finalLoss;
      }
    }
    const tsMed = ts.map(median);
    const pyMed = havePy ? median(py) : NaN;
    const ratio = havePy ? tsMed[0]! / pyMed : NaN;
    if (json) {
      console.log(JSON.stringify({
        workload: name,
        ...Object.fromEntries(engines.map((e, k) => [`tsnas_${e}_samples_per_s`, Math.round(tsMed[k]! * 10) / 10])),
        pytorch_samples_per_s: havePy ? pyMed : null,
        ratio: havePy ? Math.round(ratio * 1000) / 1000 : null,
        rounds: { tsnas: ts, pytorch: py },
        ran_op_by_op: [...fellBack],
        step_threads: Object.fromEntries(engines.map((e, k) => [e, stepThreads[k]])),
        load: loadavg(),
      }));
    } else {
      console.log(
        `${name.padEnd(10)} ${tsMed.map((v, k) => `${v.toFixed(1)}${fellBack.has(engines[k]!) ? '*' : ''}`.padStart(24)).join(' ')}   ${(havePy ? pyMed.toFixed(1) : 'n/a').padStart(17)}   ${(havePy ? ratio.toFixed(3) : 'n/a').padStart(5)}   (${tsLoss.toFixed(4)} / ${havePy ? pyLoss.toFixed(4) : 'n/a'})`,
      );
      if (fellBack.size) console.log(`  * ${name}: the native engine cannot lower it (one-shot mixed edges); that column ran op by op`);
      const st = engines.map((e, k) => (stepThreads[k]!.length ? `${e} ${stepThreads[k]!.join('/')}` : '')).filter(Boolean);
      if (st.length) console.log(`  ${name}: threads of the timed native steps per round (compileNative stepThreads 'auto' picks 1 or 2 in steps 2-9): ${st.join(', ')}`);
    }
  }
  if (!o['no-memory'] && havePy) {
    const mb = o['memory-batches'] ?? 5;
    const mib = (k: number) => k / 1024;
    const tsPeak = childPeakKiB('tsnas', 'nb201', mb, 1, engines[0]!, peerMalloc);
    const tsBase = childPeakKiB('tsnas', 'nb201', 0, 0, engines[0]!, peerMalloc);
    const pyPeak = childPeakKiB('pytorch', 'nb201', mb, 1, engines[0]!, peerMalloc);
    const pyBase = childPeakKiB('pytorch', 'nb201', 0, 0, engines[0]!, peerMalloc);
    if (json) {
      console.log(JSON.stringify({ memory: 'nb201', batches: mb, tsnas_peak_mib: mib(tsPeak), tsnas_training_mib: mib(tsPeak - tsBase), pytorch_peak_mib: mib(pyPeak), pytorch_training_mib: mib(pyPeak - pyBase) }));
    } else {
      console.log(`nb201 peak memory (${mb} batches, child processes): tsnas ${engines[0]} peak RSS ${mib(tsPeak).toFixed(0)} MiB (training adds ${mib(tsPeak - tsBase).toFixed(0)} MiB), PyTorch peak RSS ${mib(pyPeak).toFixed(0)} MiB (training adds ${mib(pyPeak - pyBase).toFixed(0)} MiB)`);
    }
  }
}
