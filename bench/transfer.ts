/**
 * `npm run bench -- transfer [--seeds 0,1,2] [--source-epochs 3] [--epochs 5] [--transfer-epochs 1,2,3]
 *   [--data-dir DIR] [--json]`
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
import { Generator } from '../src/tensor/index.js';
import { lowerModule } from '../src/compress/lower.js';
import { parseBenchArgs } from './args.js';
import { BENCH_CHAIN } from './compress.js';

interface Args {
  seeds: number[];
  sourceEpochs: number;
  epochs: number;
  transferEpochs: number[];
  dataDir: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'transfer', { seeds: 'list', 'source-epochs': 'number', epochs: 'number', 'transfer-epochs': 'list', 'data-dir': 'string', json: 'flag' });
  const a: Args = {
    seeds: (o.seeds ?? ['0', '1', '2']).map(Number),
    sourceEpochs: o['source-epochs'] ?? 3,
    epochs: o.epochs ?? 5,
    transferEpochs: (o['transfer-epochs'] ?? ['1', '2', '3']).map(Number),
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
  const dataset: DatasetSpec = { kind: 'fashion_mnist', dataDir: a.dataDir };
  const src = [0, 1, 2, 3, 4];
  const dst = [5, 6, 7, 8, 9];
  const out = (o: Record<string, unknown>) => console.log(a.json ? JSON.stringify(o) : Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(2) : JSON.stringify(v)}`).join(' '));
  if (!a.json) console.log(`transfer on Fashion-MNIST classes 0-4 -> 5-9, chain CNN, source ${a.sourceEpochs} epochs, scratch ${a.epochs}, transfer budgets ${a.transferEpochs.join(',')}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const work = mkdtempSync(join(tmpdir(), 'tsnas-bench-transfer-'));
  const fractions: (number | null)[] = [];
  const gaps: number[] = [];
  try {
    for (const seed of a.seeds) {
      const t0 = performance.now();
      const init = untrainedDir(join(work, `init-${seed}`), seed);
      const source = await finetuneModel({ dir: init }, { dataset, classes: src, init: 'scratch', epochs: a.sourceEpochs, seed, outDir: join(work, `source-${seed}`), onnx: false });
      out({ seed, run: 'source 0-4', epochs: a.sourceEpochs, test_acc: source.metrics.test_acc, val_acc: source.metrics.val_acc });
      const run = async (init: 'scratch' | 'transfer', epochs: number): Promise<FinetuneMetrics> => (await finetuneModel({ dir: source.dir! }, { dataset, classes: dst, init, epochs, seed })).metrics;
      const scratch = await run('scratch', a.epochs);
      out({ seed, run: 'scratch 5-9', epochs: a.epochs, test_acc: scratch.test_acc, val_acc: scratch.val_acc });
      let reach: number | null = null;
      for (const k of a.transferEpochs) {
        const t = await run('transfer', k);
        out({ seed, run: 'transfer 5-9', epochs: k, test_acc: t.test_acc, val_acc: t.val_acc, minus_scratch_test: t.test_acc - scratch.test_acc });
        if (k === a.transferEpochs[a.transferEpochs.length - 1]) gaps.push(t.test_acc - scratch.test_acc);
        if (reach === null && t.val_acc >= scratch.val_acc) reach = k;
      }
      fractions.push(reach === null ? null : reach / a.epochs);
      out({ seed, epochs_to_reach_scratch: reach, fraction_of_scratch_epochs: reach === null ? null : reach / a.epochs, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const met = fractions.filter((f) => f !== null && f <= 0.6).length;
  out({ figure: 'transfer_epochs_to_reach_scratch_fraction', values: fractions, met_target_le_0_6: `${met} of ${fractions.length}`, mean_test_gain_at_largest_budget: gaps.reduce((s, x) => s + x, 0) / Math.max(1, gaps.length) });
}
