/**
 * `npm run bench -- inherit [--seeds 3] [--epochs 6] [--parent-epochs 2] [--budgets 1,2,3]
 *   [--lr-scales 1] [--schedule cosine|constant] [--per-class 300] [--json]`
 *
 * Issue 13 item 4, weight inheritance (src/nn/inherit.ts), through the real train evaluator (kept
 * weights file, EvalRequest.parent, `inherit` option) on Fashion-MNIST (`--per-class` training
 * images per class, 200 validation images per class; test = the official 10,000), one thread
 * (seeded and single-threaded: the figures do not depend on the load). Adam 2e-3, `--schedule`
 * (default cosine since session 8; sessions <= 7: constant). Per seed s:
 *  - promotion (what `inherit: exact` changes in an ASHA promotion): a chain CNN A trained
 *    `--parent-epochs` P (the lower rung), then promoted: continued from those weights with k new
 *    epochs (a run at budget P + k, its own schedule over the k epochs), for each k of `--budgets`
 *    and k = E - P (the full promotion); against A trained `--epochs` E from scratch;
 *  - mutation (an evolution child, `inherit: morph`): A trained E epochs (in regularized evolution
 *    every trial trains the full budget, so a parent has E epochs), its child B (first layer
 *    widened 16 -> 24 channels, kernel 3 -> 5: sliced / zero-padded, function-preserving) trained k
 *    epochs from the parent's weights for each k of `--budgets` and k = E; against B trained E
 *    epochs from scratch.
 * Each inherited run is repeated for every factor of `--lr-scales` (the evaluator's
 * `inheritLrScale`: the inherited training's learning rate = lr x factor).
 * "k epochs" is a run whose whole budget is k (its schedule spans k epochs), the accuracy a user
 * gets by giving the inherited trial k epochs. Printed: validation and test accuracy of every run,
 * and per seed the fewest new epochs k whose validation accuracy reaches the scratch run's final
 * one, as a fraction of E (target <= 0.6; null = not within the budgets given).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch } from '../src/core/arch.js';
import { NasError } from '../src/core/errors.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { TrainingEvaluator } from '../src/eval/train.js';
import type { EvalOutcome, ParentTrial } from '../src/eval/types.js';
import { parseBenchArgs } from './args.js';

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

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r2 = (x: number) => +x.toFixed(2);

export default async function main(argv: string[]): Promise<void> {
  const o = parseBenchArgs(argv, 'inherit', { seeds: 'number', epochs: 'number', 'parent-epochs': 'number', budgets: 'list', 'lr-scales': 'list', schedule: 'string', 'per-class': 'number', json: 'flag' });
  const a = {
    seeds: o.seeds ?? 3,
    epochs: o.epochs ?? 6,
    parentEpochs: o['parent-epochs'] ?? 2,
    budgets: (o.budgets ?? ['1', '2', '3']).map(Number),
    lrScales: (o['lr-scales'] ?? ['1']).map(Number),
    schedule: o.schedule ?? 'cosine',
    perClass: o['per-class'] ?? 300,
    json: o.json ?? false,
  };
  if (a.schedule !== 'cosine' && a.schedule !== 'constant') throw new NasError('invalid_config', `--schedule must be cosine or constant, got ${a.schedule}`, { field: 'schedule' });
  if (a.budgets.some((k) => !Number.isInteger(k) || k < 1)) throw new NasError('invalid_config', '--budgets takes positive integers', { field: 'budgets' });
  if (a.lrScales.some((x) => !(x > 0))) throw new NasError('invalid_config', '--lr-scales takes positive numbers', { field: 'lr-scales' });
  const E = a.epochs;
  const P = a.parentEpochs;
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-inherit-'));
  const base = {
    dataset: { kind: 'fashion_mnist' as const, dataDir: FASHION_MNIST_DIR },
    split: { seed: 0, trainPerClass: a.perClass, valPerClass: 200 },
    epochs: E,
    weightsDir: dir,
    hparams: { lr: 2e-3, schedule: a.schedule as 'cosine' | 'constant' },
    threads: 1,
  };
  const scratch = new TrainingEvaluator(base);
  const out = (x: unknown) => console.log(a.json ? JSON.stringify(x) : JSON.stringify(x));
  const ok = (name: string, r: EvalOutcome): EvalOutcome & { status: 'complete' } => {
    if (r.status !== 'complete') throw new Error(`${name} failed: ${JSON.stringify(r)}`);
    return r;
  };
  const val = (r: EvalOutcome) => (r.status === 'complete' ? r.metrics['val_acc']! : NaN);
  type Row = { kind: 'promotion' | 'mutation'; seed: number; lr_scale: number; scratch_val: number; scratch_test: number; by_k: { k: number; val: number; test: number }[]; reach: number | null };
  const rows: Row[] = [];
  try {
    for (let s = 0; s < a.seeds; s++) {
      const pP = ok('parent P', await scratch.evaluate({ arch: A, budget: P, seed: 1000 + s, id: `parentP-${s}` }));
      const pE = ok('parent E', await scratch.evaluate({ arch: A, budget: E, seed: 2000 + s, id: `parentE-${s}` }));
      out({ seed: s, run: 'parents', parent_P_val: r2(val(pP)), parent_E_val: r2(val(pE)) });
      const sA = ok('scratch A', await scratch.evaluate({ arch: A, budget: E, seed: s, id: `sA-${s}` }));
      const sB = ok('scratch B', await scratch.evaluate({ arch: B, budget: E, seed: s, id: `sB-${s}` }));
      for (const lrScale of a.lrScales) {
        const exact = new TrainingEvaluator({ ...base, inherit: 'exact', inheritLrScale: lrScale });
        const morph = new TrainingEvaluator({ ...base, inherit: 'morph', inheritLrScale: lrScale });
        for (const kind of ['promotion', 'mutation'] as const) {
          const sc = kind === 'promotion' ? sA : sB;
          const full = kind === 'promotion' ? E - P : E;
          const ks = [...new Set([...a.budgets.filter((k) => k < full), full])].sort((x, y) => x - y);
          const byK: Row['by_k'] = [];
          for (const k of ks) {
            const parent: ParentTrial =
              kind === 'promotion' ? { trial: 0, kind: 'promotion', arch: A, budget: P, weightsPath: pP.artifact! } : { trial: 1, kind: 'mutation', arch: A, budget: E, weightsPath: pE.artifact! };
            const r = ok(
              `${kind} k=${k}`,
              kind === 'promotion'
                ? await exact.evaluate({ arch: A, budget: P + k, seed: s, id: `pi-${s}-${k}-${lrScale}`, parent })
                : await morph.evaluate({ arch: B, budget: k, seed: s, id: `mi-${s}-${k}-${lrScale}`, parent }),
            );
            byK.push({ k, val: r2(val(r)), test: r2(r.metrics['test_acc']!) });
          }
          const reach = byK.find((x) => x.val >= r2(val(sc)))?.k ?? null;
          const row: Row = { kind, seed: s, lr_scale: lrScale, scratch_val: r2(val(sc)), scratch_test: r2(sc.metrics['test_acc']!), by_k: byK, reach };
          rows.push(row);
          out({ ...row, reach_fraction: reach === null ? null : r2(reach / E) });
        }
      }
    }
    for (const lrScale of a.lrScales)
      for (const kind of ['promotion', 'mutation'] as const) {
        const rs = rows.filter((r) => r.kind === kind && r.lr_scale === lrScale);
        const fr = rs.map((r) => (r.reach === null ? null : r2(r.reach / E)));
        const fullK = kind === 'promotion' ? E - P : E;
        out({
          figure: kind,
          schedule: a.schedule,
          lr_scale: lrScale,
          epochs: E,
          parent_epochs: kind === 'promotion' ? P : E,
          scratch_val_mean: r2(mean(rs.map((r) => r.scratch_val))),
          scratch_test_mean: r2(mean(rs.map((r) => r.scratch_test))),
          ...Object.fromEntries([...new Set(rs.flatMap((r) => r.by_k.map((x) => x.k)))].map((k) => [`inherited_${k}_val_mean`, r2(mean(rs.map((r) => r.by_k.find((x) => x.k === k)!.val)))])),
          [`inherited_${fullK}_test_mean`]: r2(mean(rs.map((r) => r.by_k.find((x) => x.k === fullK)!.test))),
          epochs_to_reach_scratch_fraction: fr,
          met_le_0_6: `${fr.filter((f) => f !== null && f <= 0.6).length} of ${fr.length}`,
        });
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
