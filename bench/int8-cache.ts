/**
 * `npm run bench -- int8-cache [--runs 300]`
 *
 * Diagnostic of libtorch 1.13's oneDNN int8 primitive cache (session 8, README compress section):
 * one untrained LeNet (weights do not change the time), its fused weights and calibration, and three
 * int8 networks that differ only in their first call (batch 1 at 1 thread; batch 500 at all threads,
 * as the compression pipeline's accuracy pass; batch 1 at all threads), timed interleaved with the
 * float network in turns of 10 (interleavedLatencyStats, as the pipeline times its stages), at 1
 * thread and at all threads, median (best) of `--runs`; then two of them timed alone. Before
 * QuantizedNet kept oneDNN packs per call key, the network first called at batch 500 took twice the
 * time at batch 1; now the three agree.
 */
import { loadavg } from 'node:os';
import { Generator, Tensor, noGrad, tidy, setNumThreads, getNumThreads } from '../src/tensor/index.js';
import { lenet } from '../src/nn/build/lenet.js';
import { lowerModule } from '../src/compress/lower.js';
import { GraphNet } from '../src/compress/graphnet.js';
import { calibrate, fuse, QuantizedNet } from '../src/compress/quantize.js';
import { setQuantizedEngine } from '../src/tensor/quantized.js';
import { interleavedLatencyStats, LATENCY_BLOCK } from '../src/compress/pipeline.js';
import { parseBenchArgs } from './args.js';

export default async function main(argv: string[]): Promise<void> {
  const runs = parseBenchArgs(argv, 'int8-cache', { runs: 'number' }).runs ?? 300;
  const all = getNumThreads();
  console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, all threads = ${all}`);
  const fmt = (x: { median: number; min: number }) => `${x.median.toFixed(4)} (${x.min.toFixed(4)})`;
  setQuantizedEngine('onednn');
  const low = lowerModule(lenet(new Generator(0)), [1, 28, 28], 10);
  const net = new GraphNet(low.graph, low.weights, 0).eval();
  const cal = new Generator(1).randn([64, 1, 28, 28]).keep();
  const fz = fuse(low.graph, net.stateDict());
  const qp = calibrate(fz, [cal]);
  const first = (q: QuantizedNet, batch: number, threads: number) => {
    setNumThreads(threads);
    tidy(() => noGrad(() => q.forward(new Generator(2).randn([batch, 1, 28, 28]))));
    setNumThreads(all);
  };
  const mk = (b?: number, t?: number) => {
    const q = new QuantizedNet(fz, 'static', qp);
    if (b !== undefined) first(q, b, t!);
    return q;
  };
  const q1 = mk(1, 1); // first call batch 1, 1 thread (the read-back's situation)
  const q500 = mk(500, all); // first call batch 500, all threads (the pipeline's: testAccuracy)
  const q1all = mk(1, all); // first call batch 1, all threads
  const variants: [string, QuantizedNet][] = [['first b1/1t', q1], ['first b500/all', q500], ['first b1/all', q1all]];
  const fws = [(x: Tensor) => net.forward(x), ...variants.map(([, q]) => (x: Tensor) => q.forward(x))];
  for (const threads of [1, all]) {
    const r = interleavedLatencyStats(fws, [1, 28, 28], threads, runs, LATENCY_BLOCK);
    console.log(`${threads} thread(s), median (best) ms: float ${fmt(r[0]!)} | ` + variants.map(([n], k) => `int8 ${n} ${fmt(r[k + 1]!)}`).join(' | '));
  }
  // Timed alone, after everything else, each at its own first-call key only.
  const qa = mk(1, 1);
  const qb = mk(1, all);
  console.log(`alone 1t, first b1/1t: ${fmt(interleavedLatencyStats([(x) => qa.forward(x)], [1, 28, 28], 1, runs, LATENCY_BLOCK)[0]!)}`);
  console.log(`alone all, first b1/all: ${fmt(interleavedLatencyStats([(x) => qb.forward(x)], [1, 28, 28], all, runs, LATENCY_BLOCK)[0]!)}`);
  console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const q of [q1, q500, q1all, qa, qb]) q.dispose();
  net.dispose();
  cal.dispose();
}
