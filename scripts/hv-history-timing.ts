/**
 * Times the two-objective hypervolume history (src/api/pareto.ts hypervolumeHistory, what the
 * dashboard's study view and the report draw) on N seeded synthetic trials: the default front
 * (HypervolumeFront2d, incremental) against GeneralHypervolumeFront (exclusive hypervolume over
 * the whole front per new member, the any-objective path), interleaved, after one warm-up call
 * each; prints each median and range in ms and checks both give the same history.
 * Usage: node --import tsx scripts/hv-history-timing.ts [trials=20000] [runs=7]
 * (a timed figure: run it under `flock /work/bench.lock`, with `uptime` before and after).
 */
import { hypervolumeHistory } from '../src/api/pareto.js';
import { GeneralHypervolumeFront } from '../src/strategy/hypervolume.js';
import { Rng } from '../src/core/rng.js';

const n = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 7);
const rng = Rng.fromSeed(2);
const objectives = [
  { metric: 'val_acc', direction: 'maximize' as const },
  { metric: 'latency_ms', direction: 'minimize' as const },
];
// accuracy and latency rise together (a trade-off), with noise
const trials = Array.from({ length: n }, (_, i) => {
  const c = rng.float();
  const v = [60 + 35 * Math.sqrt(c) - 10 * rng.float(), 5 + 50 * c + 5 * rng.float()];
  return { number: i, state: 'complete' as const, values: v, metrics: { val_acc: v[0]!, latency_ms: v[1]! } };
});
const study = { objectives, constraints: [] };
const general = (r: readonly number[]) => new GeneralHypervolumeFront(r);
const time = (f: () => unknown): number => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const a = hypervolumeHistory(study, trials)!;
const b = hypervolumeHistory(study, trials, undefined, general)!;
const same = a.history.length === b.history.length && a.history.every((h, i) => h.number === b.history[i]!.number && Math.abs(h.hv - b.history[i]!.hv) <= 1e-9 * Math.abs(b.history[i]!.hv));
const t2d: number[] = [];
const tGen: number[] = [];
for (let r = 0; r < runs; r++) {
  t2d.push(time(() => hypervolumeHistory(study, trials)));
  tGen.push(time(() => hypervolumeHistory(study, trials, undefined, general)));
}
const stat = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return `median ${s[s.length >> 1]!.toFixed(1)} ms (${s[0]!.toFixed(1)}-${s[s.length - 1]!.toFixed(1)})`;
};
console.log(`${n} trials, front ${a.front}, ${a.history.length} history points, last ${a.history.at(-1)!.hv}; same history: ${same}`);
console.log(`2-D front (default): ${stat(t2d)}`);
console.log(`general front:       ${stat(tGen)}`);
