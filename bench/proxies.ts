/**
 * `npm run bench -- proxies [--archs 1000|all] [--seed 0] [--per-class 3] [--proxies a,b] [--json]
 *                           [--out scores.csv] [--fit 100] [--cached-only] [--merge more.csv]
 *                           [--ms-from timing.csv] [--shard I/N] [--reverse]`
 *
 * Spearman's rho between each zero-cost proxy (src/eval/proxies) and the NAS-Bench-201 CIFAR-10
 * table's `valid_acc`, over `--archs` architectures drawn without replacement from the table's
 * 15,625 with a fixed seed, each scored on the real NB201 network (C=16, N=5, 32x32 inputs, 10
 * classes, initialised with the same seed) with one real batch: CIFAR-10's training images when
 * its files are present (`cifar10` loader), otherwise Fashion-MNIST resized to 32x32 (bilinear)
 * and replicated to 3 channels. Reported per proxy: rho, architectures, mean ms per architecture
 * (wall time of that proxy alone, network construction included), the data that ran. Ensembles:
 * `vote` (rank aggregation of synflow, jacob_cov and snip, Abdelfattah et al. 2021's vote),
 * `rank_all` (rank aggregation of every proxy computed) and `learned` (ridge over all proxies'
 * empirical CDFs, fitted on the first `--fit` sampled architectures' valid_acc, evaluated on the
 * others: its `archs` is the held-out count). A failed proxy value ranks last (counted in `failed`).
 * Peer: the published rho of Abdelfattah et al. 2021 (Table 1, NB201 CIFAR-10), printed beside.
 *
 * Scores are appended to `--out` (CSV, one row per architecture key) as they are computed, and a
 * rerun with the same `--out` skips the keys already there (long runs resume); `--cached-only`
 * reports on the sampled architectures already in `--out` without computing the others.
 *
 * Rho does not depend on machine load but the ms do, so a long run can be split: the scores of the
 * 1,000 architectures computed at low priority (`--out`), the timing measured on a smaller sample
 * alone on the machine (another `--out`, passed to the report as `--ms-from`: `ms_per_arch` is then
 * the mean over that file's rows, and `ms_archs` their count). `--merge FILE` (repeatable) reads
 * columns of another scores CSV (e.g. `arch,grasp,grasp_ms` recomputed after a proxy changed) over
 * those of `--out`, per architecture key. `--shard I/N` computes only the keys whose hash is I mod N
 * (several processes appending to one `--out` share a run; the report needs every shard done, or
 * `--cached-only`). `--reverse` computes in reverse sample order (a second process per shard that
 * meets the first in the middle; its own report is in that order, so report with `--cached-only`).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Rng } from '../src/core/rng.js';
import { loadSource, prepareSplits, type PreparedData } from '../src/data/prepare.js';
import { NB201_CIFAR10_CSV, loadNb201Table } from '../src/eval/tabular.js';
import { PROXY_NAMES, checkProxyNames, fitCombination, predictCombination, proxyBatch, rankAggregate, resizeBatch, scoreArch, spearman, type ProxyName } from '../src/eval/proxies/index.js';
import { formatNb201, nb201Index, nb201Space } from '../src/space/nb201.js';
import { setNumThreads } from '../src/tensor/index.js';
import { NB201_OPS, type Nb201Arch } from '../src/core/arch.js';
import { parseBenchArgs } from './args.js';

/** Published Spearman rho on NB201 CIFAR-10 (Abdelfattah et al. 2021, Table 1). */
export const PUBLISHED_RHO: Partial<Record<string, number>> = { synflow: 0.737, jacob_cov: 0.731, snip: 0.596, grad_norm: 0.594, grasp: 0.514, fisher: 0.36, params: 0.73, flops: 0.73 };

interface Args {
  archs: number | 'all';
  seed: number;
  perClass: number;
  proxies: ProxyName[];
  json: boolean;
  out: string | undefined;
  fit: number;
  threads: number | undefined;
  cachedOnly: boolean;
  merge: string[];
  msFrom: string | undefined;
  shard: [number, number] | undefined;
  reverse: boolean;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'proxies', {
    archs: 'string', seed: 'number', 'per-class': 'number', proxies: 'list', json: 'flag', out: 'string', fit: 'number', threads: 'number',
    'cached-only': 'flag', merge: 'repeat', 'ms-from': 'string', reverse: 'flag', shard: 'string',
  });
  let archs: number | 'all' = 1000;
  if (o.archs !== undefined) {
    archs = o.archs === 'all' ? 'all' : Number(o.archs);
    if (archs !== 'all' && !(Number.isInteger(archs) && archs >= 1)) throw new Error(`--archs takes a positive integer or 'all', got ${JSON.stringify(o.archs)}`);
  }
  let shard: [number, number] | undefined;
  if (o.shard !== undefined) {
    const [i, n] = o.shard.split('/').map(Number);
    if (!(Number.isInteger(i) && Number.isInteger(n) && n! >= 1 && i! >= 0 && i! < n!)) throw new Error('--shard takes I/N with 0 <= I < N');
    shard = [i!, n!];
  }
  return {
    archs, seed: o.seed ?? 0, perClass: o['per-class'] ?? 3, proxies: o.proxies ? checkProxyNames(o.proxies, '--proxies') : [...PROXY_NAMES], json: o.json ?? false,
    out: o.out, fit: o.fit ?? 100, threads: o.threads, cachedOnly: o['cached-only'] ?? false, merge: o.merge ?? [], msFrom: o['ms-from'], shard, reverse: o.reverse ?? false,
  };
}

/** The batch's source: CIFAR-10 when its files load, else Fashion-MNIST (resized and replicated later). */
async function loadData(): Promise<{ data: PreparedData; kind: 'cifar10' | 'fashion_mnist_32' }> {
  try {
    return { data: prepareSplits(await loadSource({ kind: 'cifar10', download: false })), kind: 'cifar10' };
  } catch {
    return { data: prepareSplits(await loadSource({ kind: 'fashion_mnist' })), kind: 'fashion_mnist_32' };
  }
}

const archOfCode = (code: number): Nb201Arch => {
  const ops: string[] = [];
  for (let e = 5; e >= 0; e--) {
    ops[e] = NB201_OPS[code % 5]!;
    code = Math.floor(code / 5);
  }
  return { family: 'nb201', ops: ops as unknown as Nb201Arch['ops'] };
};

const hashMod = (s: string, n: number): number => {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % n;
};

/** A scores CSV (`arch,<proxy>,<proxy>_ms,...`): header and one map per row (empty cell = NaN). */
function readScores(file: string): { header: string[]; rows: Map<string, Map<string, number>> } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const rows = new Map<string, Map<string, number>>();
  for (const l of lines.slice(1)) {
    const c = l.split(',');
    rows.set(c[0]!, new Map(header.slice(1).map((k, i) => [k, c[i + 1] === '' ? NaN : Number(c[i + 1])])));
  }
  return { header, rows };
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  if (a.threads !== undefined) setNumThreads(a.threads);
  const table = loadNb201Table(NB201_CIFAR10_CSV);
  const val = table.column('val_acc');
  const rows = [...Array(table.size).keys()];
  const picked = a.archs === 'all' ? rows : Rng.fromSeed(`proxies-bench:${a.seed}`).sample(rows, Math.min(a.archs, rows.length));
  const { data, kind } = await loadData();
  let batch = proxyBatch(data, a.perClass, Rng.fromSeed(`proxies-batch:${a.seed}`));
  if (kind === 'fashion_mnist_32') batch = resizeBatch(batch, 3, 32, 32);
  const input = { shape: [3, 32, 32], numClasses: 10 };

  // Resume: rows already in --out are read back instead of recomputed.
  const header = ['arch', ...a.proxies.flatMap((p) => [p, `${p}_ms`])];
  let done = new Map<string, Map<string, number>>();
  if (a.out && existsSync(a.out)) {
    const r = readScores(a.out);
    if (r.header.join(',') !== header.join(',')) throw new Error(`${a.out} has columns ${r.header.join(',')}, expected ${header.join(',')} (use another --out)`);
    done = r.rows;
  } else if (a.out) writeFileSync(a.out, header.join(',') + '\n');

  const values = new Map<string, number[]>(a.proxies.map((p) => [p, []]));
  const ms = new Map<string, number[]>(a.proxies.map((p) => [p, []]));
  const failed = new Map<string, number>(a.proxies.map((p) => [p, 0]));
  const targets: number[] = [];
  const t0 = Date.now();
  // Proxies are computed once per architecture key (isomorphic cells share one computation, as a
  // search would); every row of a key reports that computation's values and ms.
  const keyOf = (s: string) => nb201Space.key(nb201Space.parse(s));
  const byKey = new Map<string, Map<string, number>>();
  for (const [s, rec] of done) byKey.set(keyOf(s), rec);
  for (const f of a.merge) {
    const r = readScores(f);
    const cols = r.header.slice(1).filter((c) => header.includes(c));
    if (cols.length === 0) throw new Error(`--merge ${f}: none of its columns ${r.header.join(',')} is a column of ${header.join(',')}`);
    for (const [s, m] of r.rows) {
      const rec = byKey.get(keyOf(s));
      if (rec) for (const c of cols) rec.set(c, m.get(c)!);
    }
  }
  // --ms-from: per-proxy mean ms over a separately timed sample.
  const timed = a.msFrom ? readScores(a.msFrom) : undefined;
  const timedMs = (p: string): number | undefined => {
    if (!timed) return undefined;
    const xs = [...timed.rows.values()].map((m) => m.get(`${p}_ms`)).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
  };
  for (const [i, row] of (a.reverse ? [...picked].reverse() : picked).entries()) {
    const arch = archOfCode(table.codes[row]!);
    const s = formatNb201(arch);
    const key = nb201Space.key(arch);
    let rec = byKey.get(key);
    if (!rec && (a.cachedOnly || (a.shard && hashMod(key, a.shard[1]) !== a.shard[0]))) continue;
    if (!rec) {
      const scores = scoreArch(arch, input, a.proxies, { seed: a.seed, batch });
      rec = new Map();
      for (const x of scores) {
        rec.set(x.proxy, x.ok ? x.value : NaN);
        rec.set(`${x.proxy}_ms`, x.ms);
      }
      byKey.set(key, rec);
      if (a.out) appendFileSync(a.out, [s, ...a.proxies.flatMap((p) => [rec!.get(p), rec!.get(`${p}_ms`)!.toFixed(2)])].map((v) => (typeof v === 'number' && Number.isNaN(v) ? '' : String(v))).join(',') + '\n');
      if (!a.json && (i + 1) % 25 === 0) console.error(`  ${i + 1}/${picked.length} archs, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    if (nb201Index(arch.ops) !== table.codes[row]) throw new Error('arch code mismatch');
    targets.push(val[row]!);
    for (const p of a.proxies) {
      const v = rec.get(p)!;
      values.get(p)!.push(v);
      if (!Number.isFinite(v)) failed.set(p, failed.get(p)! + 1);
      ms.get(p)!.push(rec.get(`${p}_ms`)!);
    }
  }
  const n = targets.length;
  const mean = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / Math.max(1, x.length);
  const out: { proxy: string; spearman: number; archs: number; ms_per_arch: number; data: string; failed: number; published: number | null }[] = [];
  const msMean = (p: string) => timedMs(p) ?? mean(ms.get(p) ?? []);
  for (const p of a.proxies)
    out.push({ proxy: p, spearman: spearman(values.get(p)!, targets), archs: n, ms_per_arch: msMean(p), data: kind, failed: failed.get(p)!, published: PUBLISHED_RHO[p] ?? null });
  const msOf = (ps: readonly string[]) => ps.reduce((s, p) => s + msMean(p), 0);
  const msArchs = timed ? timed.rows.size : n;
  const vote = (['synflow', 'jacob_cov', 'snip'] as const).filter((p) => a.proxies.includes(p));
  if (vote.length === 3) out.push({ proxy: 'vote', spearman: spearman([...rankAggregate(vote.map((p) => values.get(p)!))], targets), archs: n, ms_per_arch: msOf(vote), data: kind, failed: 0, published: null });
  if (a.proxies.length > 1)
    out.push({ proxy: 'rank_all', spearman: spearman([...rankAggregate(a.proxies.map((p) => values.get(p)!))], targets), archs: n, ms_per_arch: msOf(a.proxies), data: kind, failed: 0, published: null });
  if (n > a.fit + 10) {
    const cols = a.proxies.map((p) => values.get(p)!);
    const m = fitCombination(cols.map((c) => c.slice(0, a.fit)), targets.slice(0, a.fit), { field: '--fit' });
    const pred = predictCombination(m, cols.map((c) => c.slice(a.fit)));
    out.push({ proxy: 'learned', spearman: spearman([...pred], targets.slice(a.fit)), archs: n - a.fit, ms_per_arch: msOf(a.proxies), data: kind, failed: 0, published: null });
  }
  if (a.json) {
    for (const r of out) console.log(JSON.stringify({ proxy: r.proxy, spearman: r.spearman, archs: r.archs, ms_per_arch: r.ms_per_arch, ms_archs: msArchs, data: r.data }));
    return;
  }
  console.log(`Zero-cost proxies vs NAS-Bench-201 CIFAR-10 valid_acc: ${n} archs (seed ${a.seed}), real NB201 networks C=16 N=5 32x32, batch ${batch.shape[0]} from ${kind}`);
  if (timed) console.log(`ms per arch: mean over the ${timed.rows.size} architectures timed in ${a.msFrom}`);
  console.log(`${'proxy'.padEnd(11)}${'spearman'.padStart(9)}${'published'.padStart(11)}${'ms/arch'.padStart(10)}${'failed'.padStart(8)}`);
  for (const r of out)
    console.log(`${r.proxy.padEnd(11)}${r.spearman.toFixed(3).padStart(9)}${(r.published === null ? '-' : r.published.toFixed(3)).padStart(11)}${r.ms_per_arch.toFixed(1).padStart(10)}${String(r.failed).padStart(8)}`);
}
