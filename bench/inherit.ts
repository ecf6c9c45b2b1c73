/**
 * `npm run bench -- inherit [--seeds 3] [--epochs 6] [--parent-epochs 2] [--per-class 500] [--json]`
 *
 * Issue 13 item 4, weight inheritance (src/nn/inherit.ts), through the real train evaluator (kept
 * weights file, EvalRequest.parent, `inherit` option) on Fashion-MNIST (`--per-class` training
 * images per class, 200 validation images per class; test = the official 10,000). Per seed s:
 *  - parent: a chain CNN A trained `--parent-epochs` P (what ASHA's lower rung leaves behind);
 *  - promotion: A at budget E from scratch (E epochs) vs continued from the parent (E - P new
 *    epochs, numbered P+1..E): what `inherit: exact` changes in an ASHA promotion;
 *  - mutation: a child B of A (first layer widened 16 -> 24 channels, kernel 3 -> 5) trained E
 *    epochs from scratch vs from the parent's weights (`inherit: morph`: sliced / zero-padded).
 * Printed: validation accuracy after each epoch of every run, final test accuracy, and for each
 * inherited run the fewest of its own epochs whose validation accuracy reaches the scratch run's
 * final one (null = never), as a fraction of the scratch run's E epochs (target <= 0.6).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch } from '../src/core/arch.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { TrainingEvaluator } from '../src/eval/train.js';
import type { EvalOutcome, ParentTrial } from '../src/eval/types.js';

const A: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0.1,
  layers: [
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 2, skip: false },
    { kernel: 3, channels: 32, activation: 'relu', batchNorm: true, pool: 2, skip: false },
    { kernel: 3, channels: 32, activation: 'relu', batchNorm: true, pool: 1, skip: true },
  ],
};
const B: ChainCnnArch = { ...A, layers: [{ ...A.layers[0]!, channels: 24, kernel: 5 }, ...A.layers.slice(1)] };

const curveOf = (o: EvalOutcome): number[] => o.curve.map((p) => p.metrics['val_acc']!);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export default async function main(argv: string[]): Promise<void> {
  const a = { seeds: 3, epochs: 6, parentEpochs: 2, perClass: 500, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--seeds') a.seeds = Number(argv[++i]);
    else if (k === '--epochs') a.epochs = Number(argv[++i]);
    else if (k === '--parent-epochs') a.parentEpochs = Number(argv[++i]);
    else if (k === '--per-class') a.perClass = Number(argv[++i]);
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  const E = a.epochs;
  const P = a.parentEpochs;
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-inherit-'));
  const base = { dataset: { kind: 'fashion_mnist' as const, dataDir: FASHION_MNIST_DIR }, split: { seed: 0, trainPerClass: a.perClass, valPerClass: 200 }, epochs: E, weightsDir: dir, hparams: { lr: 2e-3 } };
  const scratch = new TrainingEvaluator(base);
  const exact = new TrainingEvaluator({ ...base, inherit: 'exact' });
  const morph = new TrainingEvaluator({ ...base, inherit: 'morph' });
  const out = (o: unknown) => console.log(a.json ? JSON.stringify(o) : o);
  const reach = (inh: number[], target: number): number | null => {
    const k = inh.findIndex((v) => v >= target);
    return k < 0 ? null : k + 1;
  };
  const summary = { promotion: [] as { seed: number; scratch: number; inherited: number; new_epochs: number; reach: number | null }[], mutation: [] as { seed: number; scratch: number; inherited: number; reach: number | null }[] };
  try {
    for (let s = 0; s < a.seeds; s++) {
      const p = await scratch.evaluate({ arch: A, budget: P, seed: 1000 + s, id: `parent-${s}` });
      if (p.status !== 'complete' || !p.artifact) throw new Error(`parent failed: ${JSON.stringify(p)}`);
      const parent = (kind: ParentTrial['kind']): ParentTrial => ({ trial: 0, kind, arch: A, budget: P, weightsPath: p.artifact! });
      const runs = {
        promotion_scratch: await scratch.evaluate({ arch: A, budget: E, seed: s, id: `ps-${s}` }),
        promotion_inherited: await exact.evaluate({ arch: A, budget: E, seed: s, id: `pi-${s}`, parent: parent('promotion') }),
        mutation_scratch: await scratch.evaluate({ arch: B, budget: E, seed: s, id: `ms-${s}` }),
        mutation_inherited: await morph.evaluate({ arch: B, budget: E, seed: s, id: `mi-${s}`, parent: parent('mutation') }),
      };
      for (const [name, o] of Object.entries(runs)) {
        if (o.status !== 'complete') throw new Error(`${name} failed: ${JSON.stringify(o)}`);
        out({ seed: s, run: name, steps: o.curve.map((c) => c.step), val_acc: curveOf(o).map((v) => +v.toFixed(2)), test_acc: +o.metrics['test_acc']!.toFixed(2), inherited_fraction: o.metrics['inherited_fraction'] ?? 0, epochs: o.metrics['epochs'] });
      }
      const c = (k: keyof typeof runs) => curveOf(runs[k]);
      const ps = c('promotion_scratch');
      const pi = c('promotion_inherited');
      summary.promotion.push({ seed: s, scratch: ps[ps.length - 1]!, inherited: pi[pi.length - 1]!, new_epochs: pi.length, reach: reach(pi, ps[ps.length - 1]!) });
      const ms = c('mutation_scratch');
      const mi = c('mutation_inherited');
      summary.mutation.push({ seed: s, scratch: ms[ms.length - 1]!, inherited: mi[mi.length - 1]!, reach: reach(mi, ms[ms.length - 1]!) });
    }
    const frac = (xs: { reach: number | null }[]) => xs.map((x) => (x.reach === null ? null : x.reach / E));
    out({
      figure: 'promotion',
      epochs: E,
      parent_epochs: P,
      val_acc_scratch_mean: +mean(summary.promotion.map((x) => x.scratch)).toFixed(2),
      val_acc_inherited_mean: +mean(summary.promotion.map((x) => x.inherited)).toFixed(2),
      inherited_new_epochs: E - P,
      epochs_to_reach_scratch_fraction: frac(summary.promotion),
    });
    out({
      figure: 'mutation',
      epochs: E,
      parent_epochs: P,
      val_acc_scratch_mean: +mean(summary.mutation.map((x) => x.scratch)).toFixed(2),
      val_acc_inherited_mean: +mean(summary.mutation.map((x) => x.inherited)).toFixed(2),
      epochs_to_reach_scratch_fraction: frac(summary.mutation),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
