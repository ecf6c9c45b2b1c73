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
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { studyTrials } from '../src/api/results.js';
import { prepareSearch, search } from '../src/api/study.js';
import { spearman } from '../src/core/rank.js';
import { parseBenchArgs } from './args.js';

export default async function main(argv: string[]): Promise<void> {
  const o = parseBenchArgs(argv, 'prescreen-pilot', { archs: 'number', seed: 'number', 'budget-samples': 'number', 'max-macs': 'number', 'val-per-class': 'number', threads: 'number', proxies: 'list', out: 'string' });
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
    for (const r of rows) lines.push([JSON.stringify(r.key), r.val, r.m['params'] ?? '', r.m['macs'] ?? '', ...cols.map((c) => r.p[c] ?? '')].join(','));
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
