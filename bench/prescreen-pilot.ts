/**
 * `npm run bench -- prescreen-pilot [--archs 60] [--seed 1000] [--budget-samples 6000] [--max-macs 5000000]
 *   [--val-per-class 100] [--threads 2] [--proxies a,b,...] [--out FILE.csv]`
 *
 * Tuning data for `bench/prescreen.ts` (issue 12, real training): `--archs` random chain-CNN
 * architectures within the MACs cap (random search, seed `--seed`: use tuning seeds, not the
 * reported 0-4), each trained exactly as the prescreen bench trains a candidate (train evaluator,
 * Fashion-MNIST, `--budget-samples`, `--val-per-class`), and the same architectures scored by the
 * `proxy` evaluator (one real batch of the same data). Two studies with the same strategy, seed
 * and constraint draw the same architectures; they are joined by key. Prints Spearman rho of each
 * proxy against val_acc, and writes one CSV row per architecture (key, val_acc, params, macs,
 * proxy_<name>...) for offline tuning of the prescreen's ranking.
 *
 * `--from FILE.csv [--prescreens "snip/3/20;jacob_cov+naswot/6/0"] [--reps 2000]`: no training; a
 * bootstrap of bench/prescreen.ts's protocol over the file's trained architectures, per prescreen
 * `proxies/top/pool`: each repetition draws (with replacement) 12 for plain random search, 60
 * candidates whose best `top` by rank aggregation come first, then (pool > 0) the best of `pool`
 * fresh draws per trial, else random draws. Prints the mean best-so-far of both at 6 and 12, and
 * the fraction of repetitions where the prescreened search's best of its first 6 reaches plain's
 * best of 12 (the target, per seed). The architectures are a sample of the space, so this
 * ranks prescreen settings; it does not replace the real runs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { studyTrials } from '../src/api/results.js';
import { prepareSearch, search } from '../src/api/study.js';
import { rankScores, spearman } from '../src/core/rank.js';
import { Rng } from '../src/core/rng.js';
import { parseBenchArgs } from './args.js';

type Row = { val: number; values: Record<string, number> };

/** Rows of a pilot CSV (quoted key first, then numbers; empty = missing). */
function readPilot(file: string): Row[] {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  return lines.slice(1).map((l) => {
    const cells = l.slice(l.lastIndexOf('"') + 2).split(',');
    const values: Record<string, number> = {};
    head.slice(1).forEach((h, i) => {
      if (cells[i] !== '' && Number.isFinite(Number(cells[i]))) values[h] = Number(cells[i]);
    });
    return { val: values['val_acc']!, values };
  });
}

/** Indices of `rows` best first by rank aggregation over `proxies` (missing values last), as src/strategy/prescreen.ts ranks. */
function ranked(rows: readonly Row[], proxies: readonly string[]): number[] {
  const score = new Float64Array(rows.length);
  for (const p of proxies) {
    const r = rankScores(rows.map((x) => x.values[`proxy_${p}`]));
    for (let i = 0; i < rows.length; i++) score[i]! -= r[i]!;
  }
  return rows.map((_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
}

function bootstrap(rows: readonly Row[], spec: string, reps: number, rng: Rng): string {
  const [names, topS, poolS] = spec.split('/');
  const proxies = names!.split('+'), top = Number(topS), pool = Number(poolS);
  const trials = 12, half = 6, cands = 60;
  let p6 = 0, p12 = 0, q6 = 0, q12 = 0, reach = 0;
  const draw = () => rng.choice(rows);
  for (let r = 0; r < reps; r++) {
    const plain = Array.from({ length: trials }, draw);
    const c = Array.from({ length: cands }, draw);
    const pre = ranked(c, proxies).slice(0, top).map((i) => c[i]!);
    while (pre.length < trials) {
      if (pool > 0) {
        const k = Array.from({ length: pool }, draw);
        pre.push(k[ranked(k, proxies)[0]!]!);
      } else pre.push(draw());
    }
    const best = (xs: Row[], n: number) => Math.max(...xs.slice(0, n).map((x) => x.val));
    p6 += best(plain, half), p12 += best(plain, trials), q6 += best(pre, half), q12 += best(pre, trials);
    if (best(pre, half) >= best(plain, trials)) reach++;
  }
  const f = (x: number) => (x / reps).toFixed(2);
  return `| ${proxies.join('+')} | ${top} | ${pool} | ${f(p6)} / ${f(p12)} | ${f(q6)} / ${f(q12)} | ${(reach / reps).toFixed(3)} |`;
}

export default async function main(argv: string[]): Promise<void> {
  const o = parseBenchArgs(argv, 'prescreen-pilot', { archs: 'number', seed: 'number', 'budget-samples': 'number', 'max-macs': 'number', 'val-per-class': 'number', threads: 'number', proxies: 'list', out: 'string', from: 'string', prescreens: 'string', reps: 'number' });
  if (o.from) {
    const rows = readPilot(o.from);
    const specs = (o.prescreens ?? 'jacob_cov+naswot/6/0;jacob_cov/6/0;snip/6/0;params/6/0;synflow+jacob_cov+snip/6/0;snip/6/20;snip/3/20;jacob_cov+snip/3/20;synflow+jacob_cov+snip/3/20;jacob_cov+naswot/3/20;snip+synflow/3/20;snip+synflow/3/30').split(';');
    const rng = Rng.fromSeed(o.seed ?? 0);
    console.log(`bootstrap over ${rows.length} trained architectures of ${o.from}, ${o.reps ?? 2000} repetitions, 12 trials, 60 candidates`);
    console.log('| proxies | top | pool | plain best @6 / @12 | prescreened @6 / @12 | P(prescreened @6 >= plain @12) |\n|---|---|---|---|---|---|');
    for (const s of specs) console.log(bootstrap(rows, s, o.reps ?? 2000, rng));
    return;
  }
  const archs = o.archs ?? 60, seed = o.seed ?? 1000, threads = o.threads ?? 2;
  const proxies = o.proxies ?? ['synflow', 'grad_norm', 'snip', 'fisher', 'jacob_cov', 'naswot', 'zen', 'params', 'flops'];
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-pilot-'));
  const storage = `sqlite:${join(dir, 'p.db')}`;
  const data = { dataset: 'fashion_mnist', val_per_class: o['val-per-class'] ?? 100 };
  const constraints = [{ metric: 'macs', max: o['max-macs'] ?? 5_000_000 }];
  try {
    const base = { storage, space: 'chain_cnn', strategy: 'random', trials: archs, constraints, seed };
    await search(prepareSearch({ config: { ...base, study: 'proxy', objectives: [{ metric: 'proxy_params', direction: 'maximize' }], evaluator: { name: 'proxy', ...data, proxies, threads } } }));
    await search(prepareSearch({ config: { ...base, study: 'train', evaluator: { name: 'train', ...data, epochs: 1, budget_samples: o['budget-samples'] ?? 6000, threads, skip_test: true, keep_weights: false } } }));
    const tp = (await studyTrials(storage, 'proxy')).trials;
    const tt = (await studyTrials(storage, 'train')).trials;
    const byKey = new Map(tp.map((t) => [t.archKey, t.metrics ?? {}]));
    const rows = tt.filter((t) => t.state === 'complete' && t.metrics?.['val_acc'] !== undefined).map((t) => ({ key: t.archKey as string, val: t.metrics!['val_acc']!, m: t.metrics!, p: byKey.get(t.archKey) ?? {} }));
    const cols = proxies.map((p) => `proxy_${p}`);
    const lines = [['key', 'val_acc', 'params', 'macs', ...cols].join(',')];
    for (const r of rows) lines.push([`"${r.key.replace(/"/g, '""')}"`, r.val, r.m['params'] ?? '', r.m['macs'] ?? '', ...cols.map((c) => r.p[c] ?? '')].join(','));
    if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
    console.log(`${rows.length} of ${archs} archs trained (seed ${seed}); Spearman rho against val_acc:`);
    for (const c of ['params', 'macs', ...cols]) {
      const xs = rows.map((r) => (c.startsWith('proxy_') ? r.p[c] : r.m[c]));
      const ok = rows.map((_, i) => i).filter((i) => xs[i] !== undefined && Number.isFinite(xs[i]!));
      console.log(`  ${c}: ${spearman(ok.map((i) => xs[i]!), ok.map((i) => rows[i]!.val)).toFixed(3)} (${ok.length})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
