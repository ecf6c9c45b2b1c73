/**
 * `npm run bench -- transfer [--seeds 0,1,2] [--source-epochs 3] [--epochs 5] [--transfer-epochs 1,2,3]
 *   [--recipes plain,h1,b0.3,h1+b0.3] [--threads N] [--data-dir DIR] [--json]`
 *
 * Issue 13 item 4, transfer by fine-tuning (`tsnas finetune`, src/api/finetune.ts), on Fashion-MNIST
 * classes 0-4 -> 5-9 (the example), through the shipped API (finetuneModel, model
 * directories on disk). Per seed s:
 *  - source: the bench chain CNN (bench/compress.ts BENCH_CHAIN: 4 conv layers 16-32 channels, BN,
 *    ReLU, 2 skips, 2 max pools) trained `--source-epochs` on classes 0-4 from fresh weights;
 *  - scratch: the same network trained `--epochs` E on classes 5-9 from fresh weights (finetune
 *    `init: 'scratch'`, the baseline);
 *  - transfer: the source fine-tuned on classes 5-9 (new 5-class head, every layer trained) for
 *    each budget k of `--transfer-epochs`, each a run of its own (Adam 1e-3 with its own cosine
 *    schedule over k epochs, as a user fine-tuning for k epochs gets).
 *    `--recipes` (default `plain`): how the transfer runs are fine-tuned, each recipe run at every
 *    budget: `plain` (every layer at lr), `hN` (the first N epochs train the new head alone, then
 *    everything: `headEpochs`, LP-FT), `bX` (the transferred layers at X x lr: `bodyLrScale`,
 *    ULMFiT's discriminative rates), combined with `+` (e.g. `h1+b0.3`). The recipe chosen is the
 *    one with the highest mean VALIDATION accuracy at the largest budget; its test accuracy is
 *    reported. `--threads N` sets libtorch's threads (1: seeded runs independent of the load).
 * Printed: test accuracy (the 5,000 official test images of classes 5-9) and validation accuracy
 * (a 10% hold-out of the training images) of every run, and the fewest transfer epochs whose
 * validation accuracy reaches the scratch run's, as a fraction of E (target <= 0.6; null = not
 * within the budgets given). The source's 0-4 training is not counted: it is the earlier task whose
 * weights are transferred, as the "Fashion-MNIST classes 0-4 to classes 5-9" example.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finetuneModel, type FinetuneMetrics } from '../src/api/finetune.js';
import { NasError } from '../src/core/errors.js';
import type { DatasetSpec } from '../src/data/prepare.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { buildNetwork } from '../src/nn/build/index.js';
import { encodeStateDict } from '../src/nn/state.js';
import { Generator, setNumThreads } from '../src/tensor/index.js';
import { lowerModule } from '../src/compress/lower.js';
import { parseBenchArgs } from './args.js';
import { BENCH_CHAIN } from './compress.js';

interface Args {
  seeds: number[];
  sourceEpochs: number;
  epochs: number;
  transferEpochs: number[];
  recipes: Recipe[];
  threads: number | undefined;
  dataDir: string;
  json: boolean;
}

interface Recipe {
  readonly name: string;
  readonly headEpochs: number;
  readonly bodyLrScale: number;
}

/** `plain`, `hN`, `bX` or a `+`-joined combination (see the file comment). */
export function parseRecipe(r: string): Recipe {
  let headEpochs = 0;
  let bodyLrScale = 1;
  if (r !== 'plain')
    for (const part of r.split('+')) {
      const m = /^([hb])(\d+(?:\.\d+)?)$/.exec(part);
      if (!m) throw new NasError('invalid_config', `--recipes: ${JSON.stringify(r)} is not a recipe`, { field: '--recipes', hint: 'plain, hN (head alone for N epochs), bX (body at X x lr), or a combination such as h1+b0.3' });
      if (m[1] === 'h') headEpochs = Number(m[2]);
      else bodyLrScale = Number(m[2]);
    }
  return { name: r, headEpochs, bodyLrScale };
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'transfer', { seeds: 'list', 'source-epochs': 'number', epochs: 'number', 'transfer-epochs': 'list', recipes: 'list', threads: 'number', 'data-dir': 'string', json: 'flag' });
  const a: Args = {
    seeds: (o.seeds ?? ['0', '1', '2']).map(Number),
    sourceEpochs: o['source-epochs'] ?? 3,
    epochs: o.epochs ?? 5,
    transferEpochs: (o['transfer-epochs'] ?? ['1', '2', '3']).map(Number),
    recipes: (o.recipes ?? ['plain']).map(parseRecipe),
    threads: o.threads,
    dataDir: o['data-dir'] ?? FASHION_MNIST_DIR,
    json: o.json ?? false,
  };
  for (const [f, xs] of [['--seeds', a.seeds], ['--transfer-epochs', a.transferEpochs]] as const)
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 0)) throw new NasError('invalid_config', `${f} takes non-negative integers, got ${xs.join(',')}`, { field: f });
  for (const [f, x] of [['--source-epochs', a.sourceEpochs], ['--epochs', a.epochs]] as const)
    if (!Number.isInteger(x) || x < 1) throw new NasError('invalid_config', `${f} must be a positive integer, got ${x}`, { field: f });
  if (a.transferEpochs.some((k) => k < 1)) throw new NasError('invalid_config', '--transfer-epochs budgets must be >= 1', { field: '--transfer-epochs' });
  a.transferEpochs.sort((x, y) => x - y);
  return a;
}

/** An untrained model directory (model.json + weights.bin) of the bench chain CNN, for 10 classes. */
function untrainedDir(dir: string, seed: number): string {
  const { module } = buildNetwork(BENCH_CHAIN, { shape: [1, 28, 28], numClasses: 10 }, { gen: new Generator(seed) });
  const low = lowerModule(module, [1, 28, 28], 10);
  module.dispose();
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(low.graph) + '\n');
  writeFileSync(join(dir, 'weights.bin'), encodeStateDict(low.weights));
  for (const t of low.weights.values()) t.dispose();
  return dir;
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  if (a.threads !== undefined) setNumThreads(a.threads);
  const dataset: DatasetSpec = { kind: 'fashion_mnist', dataDir: a.dataDir };
  const src = [0, 1, 2, 3, 4];
  const dst = [5, 6, 7, 8, 9];
  const out = (o: Record<string, unknown>) => console.log(a.json ? JSON.stringify(o) : Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(2) : JSON.stringify(v)}`).join(' '));
  if (!a.json) console.log(`transfer on Fashion-MNIST classes 0-4 -> 5-9, chain CNN, source ${a.sourceEpochs} epochs, scratch ${a.epochs}, transfer budgets ${a.transferEpochs.join(',')}, recipes ${a.recipes.map((r) => r.name).join(',')}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const work = mkdtempSync(join(tmpdir(), 'tsnas-bench-transfer-'));
  const largest = a.transferEpochs[a.transferEpochs.length - 1]!;
  /** Per recipe: per seed the fraction reached, val/test at the largest budget, scratch's. */
  const per = new Map(a.recipes.map((r) => [r.name, [] as { fraction: number | null; val: number; test: number; scratchVal: number; scratchTest: number }[]]));
  try {
    for (const seed of a.seeds) {
      const t0 = performance.now();
      const init = untrainedDir(join(work, `init-${seed}`), seed);
      const source = await finetuneModel({ dir: init }, { dataset, classes: src, init: 'scratch', epochs: a.sourceEpochs, seed, outDir: join(work, `source-${seed}`), onnx: false });
      out({ seed, run: 'source 0-4', epochs: a.sourceEpochs, test_acc: source.metrics.test_acc, val_acc: source.metrics.val_acc });
      const run = async (init: 'scratch' | 'transfer', epochs: number, r?: Recipe): Promise<FinetuneMetrics> =>
        (await finetuneModel({ dir: source.dir! }, { dataset, classes: dst, init, epochs, seed, ...(r && r.headEpochs > 0 ? { headEpochs: r.headEpochs } : {}), ...(r && r.bodyLrScale !== 1 ? { bodyLrScale: r.bodyLrScale } : {}) })).metrics;
      const scratch = await run('scratch', a.epochs);
      out({ seed, run: 'scratch 5-9', epochs: a.epochs, test_acc: scratch.test_acc, val_acc: scratch.val_acc });
      for (const r of a.recipes) {
        let reach: number | null = null;
        let last: FinetuneMetrics | undefined;
        for (const k of a.transferEpochs) {
          if (r.headEpochs >= k) continue;
          const t = await run('transfer', k, r);
          last = t;
          out({ seed, run: 'transfer 5-9', recipe: r.name, epochs: k, test_acc: t.test_acc, val_acc: t.val_acc, minus_scratch_test: t.test_acc - scratch.test_acc });
          if (reach === null && t.val_acc >= scratch.val_acc) reach = k;
        }
        if (last) per.get(r.name)!.push({ fraction: reach === null ? null : reach / a.epochs, val: last.val_acc, test: last.test_acc, scratchVal: scratch.val_acc, scratchTest: scratch.test_acc });
        out({ seed, recipe: r.name, epochs_to_reach_scratch: reach, fraction_of_scratch_epochs: reach === null ? null : reach / a.epochs });
      }
      out({ seed, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  let chosen: string | undefined;
  for (const r of a.recipes) {
    const rows = per.get(r.name)!;
    if (!rows.length) continue;
    const fractions = rows.map((x) => x.fraction);
    const met = fractions.filter((f) => f !== null && f <= 0.6).length;
    out({ figure: 'transfer_epochs_to_reach_scratch_fraction', recipe: r.name, values: fractions, met_target_le_0_6: `${met} of ${fractions.length}`, [`val_at_${largest}_mean`]: mean(rows.map((x) => x.val)), [`test_at_${largest}_mean`]: mean(rows.map((x) => x.test)), scratch_val_mean: mean(rows.map((x) => x.scratchVal)), scratch_test_mean: mean(rows.map((x) => x.scratchTest)), mean_test_gain_at_largest_budget: mean(rows.map((x) => x.test - x.scratchTest)) });
    if (chosen === undefined || mean(rows.map((x) => x.val)) > mean(per.get(chosen)!.map((x) => x.val))) chosen = r.name;
  }
  if (chosen !== undefined && a.recipes.length > 1) {
    const rows = per.get(chosen)!;
    out({ figure: 'chosen_on_validation', recipe: chosen, [`test_at_${largest}_mean`]: mean(rows.map((x) => x.test)), scratch_test_mean: mean(rows.map((x) => x.scratchTest)), values: rows.map((x) => x.fraction) });
  }
}
