/**
 * `npm run bench -- inherit [--seeds 3] [--first-seed 0] [--epochs 6] [--parent-epochs 2] [--budgets 1,2,3,3.6]
 *   [--lr-scales 1] [--optimizer-state off,on] [--schedule cosine|constant] [--per-class 300] [--json]`
 *
 * Issue 13 item 4, weight inheritance (src/nn/inherit.ts), through the real train evaluator (kept
 * weights file, EvalRequest.parent, `inherit` option) on Fashion-MNIST (`--per-class` training
 * images per class, 200 validation images per class; test = the official 10,000), one thread
 * (seeded and single-threaded: the figures do not depend on the load). Adam 2e-3, `--schedule`
 * (default cosine since session 8; sessions <= 7: constant). Budgets are the evaluator's
 * `budget_samples` units of a tenth of an epoch (`--per-class` samples; a whole epoch is 10
 * units and trains exactly the steps an epoch budget does), so a budget may be a fraction of an
 * epoch: `--budgets` in epochs, multiples of 0.1 (3.6 = 0.6 of 6 epochs). Seeds `--first-seed` ..
 * `--first-seed` + `--seeds` - 1 (a seed s runs the same networks whatever the others). Per seed s:
 *  - promotion (what `inherit: exact` changes in an ASHA promotion): a chain CNN A trained
 *    `--parent-epochs` P (the lower rung), then promoted: continued from those weights with k new
 *    epochs (a run at budget P + k, its own schedule over the k epochs), for each k of `--budgets`
 *    and k = E - P (the full promotion); against A trained `--epochs` E from scratch;
 *  - mutation (an evolution child, `inherit: morph`): A trained E epochs (in regularized evolution
 *    every trial trains the full budget, so a parent has E epochs), its child B (`--child widen`,
 *    default: first layer widened 16 -> 24 channels, kernel 3 -> 5: sliced / zero-padded,
 *    function-preserving; `--child deepen`: a 4th conv layer appended, fresh) trained k
 *    epochs from the parent's weights for each k of `--budgets` and k = E; against B trained E
 *    epochs from scratch.
 * Each inherited run is repeated for every factor of `--lr-scales` (the evaluator's
 * `inheritLrScale`: the inherited training's learning rate = lr x factor) and every value of
 * `--optimizer-state` (`on`: the evaluator's `inheritOptimizer`, Adam's steps and moments restored
 * from the parent for the tensors copied whole; `off`: fresh optimizer state, sessions <= 8).
 * "k epochs" is a run whose whole budget is k (its schedule spans k epochs), the accuracy a user
 * gets by giving the inherited trial k epochs. Printed: validation and test accuracy of every run,
 * (`--kinds` runs only the cases named), and per seed the fewest new epochs k whose validation accuracy reaches the scratch run's final
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
/** The mutated children (`--child`): `widen` (default) first layer 16 -> 24 channels and 3x3 -> 5x5; `deepen` a 4th conv layer (3x3, 32, skip) appended. */
const CHILDREN: Record<string, ChainCnnArch> = {
  widen: { ...A, layers: [{ ...A.layers[0]!, channels: 24, kernel: 5 }, ...A.layers.slice(1)] },
  deepen: { ...A, layers: [...A.layers, { kernel: 3, channels: 32, activation: 'relu', batchNorm: true, pool: 1, skip: true }] },
};

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r2 = (x: number) => +x.toFixed(2);

export default async function main(argv: string[]): Promise<void> {
  const o = parseBenchArgs(argv, 'inherit', { seeds: 'number', 'first-seed': 'number', epochs: 'number', 'parent-epochs': 'number', budgets: 'list', 'lr-scales': 'list', 'optimizer-state': 'list', schedule: 'string', 'per-class': 'number', child: 'string', kinds: 'list', json: 'flag' });
  const a = {
    seeds: o.seeds ?? 3,
    firstSeed: o['first-seed'] ?? 0,
    epochs: o.epochs ?? 6,
    parentEpochs: o['parent-epochs'] ?? 2,
    budgets: (o.budgets ?? ['1', '2', '3', '3.6']).map(Number),
    lrScales: (o['lr-scales'] ?? ['1']).map(Number),
    optimizerState: o['optimizer-state'] ?? ['off', 'on'],
    schedule: o.schedule ?? 'cosine',
    perClass: o['per-class'] ?? 300,
    json: o.json ?? false,
    child: o.child ?? 'widen',
    kinds: (o.kinds ?? ['promotion', 'mutation']) as ('promotion' | 'mutation')[],
  };
  const B = CHILDREN[a.child];
  if (!B) throw new NasError('invalid_config', `--child must be ${Object.keys(CHILDREN).join(' or ')}, got ${a.child}`, { field: 'child' });
  if (a.kinds.length === 0 || a.kinds.some((k) => k !== 'promotion' && k !== 'mutation')) throw new NasError('invalid_config', '--kinds takes promotion and/or mutation', { field: 'kinds' });
  if (a.schedule !== 'cosine' && a.schedule !== 'constant') throw new NasError('invalid_config', `--schedule must be cosine or constant, got ${a.schedule}`, { field: 'schedule' });
  const tenths = (k: number) => Math.round(k * 10);
  if (a.budgets.some((k) => !(k > 0) || Math.abs(tenths(k) - k * 10) > 1e-9)) throw new NasError('invalid_config', '--budgets takes positive multiples of 0.1 (epochs)', { field: 'budgets' });
  if (a.lrScales.some((x) => !(x > 0))) throw new NasError('invalid_config', '--lr-scales takes positive numbers', { field: 'lr-scales' });
  if (a.optimizerState.some((x) => x !== 'on' && x !== 'off')) throw new NasError('invalid_config', '--optimizer-state takes on and/or off', { field: 'optimizer-state' });
  if (!(Number.isInteger(a.epochs) && Number.isInteger(a.parentEpochs) && a.parentEpochs >= 1 && a.parentEpochs < a.epochs)) throw new NasError('invalid_config', '--epochs and --parent-epochs take integers, 1 <= parent epochs < epochs', { field: 'parent-epochs' });
  const E = a.epochs;
  const P = a.parentEpochs;
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-inherit-'));
  // One budget unit = a tenth of an epoch (10 classes x perClass training images / 10).
  const base = {
    dataset: { kind: 'fashion_mnist' as const, dataDir: FASHION_MNIST_DIR },
    split: { seed: 0, trainPerClass: a.perClass, valPerClass: 200 },
    epochs: tenths(E),
    budgetSamples: a.perClass,
    weightsDir: dir,
    hparams: { lr: 2e-3, schedule: a.schedule as 'cosine' | 'constant' },
    threads: 1,
  };
  // Trainings from scratch (parents included) keep their optimizer state beside their weights, as
  // a study with inherit_optimizer does; inherit on changes nothing for a trial without a parent.
  const scratch = new TrainingEvaluator({ ...base, inherit: 'morph', inheritOptimizer: true });
  const out = (x: unknown) => console.log(JSON.stringify(x));
  const ok = (name: string, r: EvalOutcome): EvalOutcome & { status: 'complete' } => {
    if (r.status !== 'complete') throw new Error(`${name} failed: ${JSON.stringify(r)}`);
    return r;
  };
  const val = (r: EvalOutcome) => (r.status === 'complete' ? r.metrics['val_acc']! : NaN);
  type Row = { kind: 'promotion' | 'mutation'; seed: number; lr_scale: number; optimizer_state: string; scratch_val: number; scratch_test: number; by_k: { k: number; val: number; test: number }[]; reach: number | null };
  const rows: Row[] = [];
  const variants = a.lrScales.flatMap((lrScale) => a.optimizerState.map((os) => ({ lrScale, os })));
  try {
    for (let s = a.firstSeed; s < a.firstSeed + a.seeds; s++) {
      const pP = ok('parent P', await scratch.evaluate({ arch: A, budget: tenths(P), seed: 1000 + s, id: `parentP-${s}` }));
      const pE = ok('parent E', await scratch.evaluate({ arch: A, budget: tenths(E), seed: 2000 + s, id: `parentE-${s}` }));
      out({ seed: s, run: 'parents', parent_P_val: r2(val(pP)), parent_E_val: r2(val(pE)) });
      const sA = ok('scratch A', await scratch.evaluate({ arch: A, budget: tenths(E), seed: s, id: `sA-${s}` }));
      const sB = ok('scratch B', await scratch.evaluate({ arch: B, budget: tenths(E), seed: s, id: `sB-${s}` }));
      for (const { lrScale, os } of variants) {
        const opts = { ...base, inheritLrScale: lrScale, inheritOptimizer: os === 'on' };
        const exact = new TrainingEvaluator({ ...opts, inherit: 'exact' });
        const morph = new TrainingEvaluator({ ...opts, inherit: 'morph' });
        for (const kind of a.kinds) {
          const sc = kind === 'promotion' ? sA : sB;
          const full = kind === 'promotion' ? E - P : E;
          const ks = [...new Set([...a.budgets.filter((k) => k < full), full])].sort((x, y) => x - y);
          const byK: Row['by_k'] = [];
          for (const k of ks) {
            const parent: ParentTrial =
              kind === 'promotion' ? { trial: 0, kind: 'promotion', arch: A, budget: tenths(P), weightsPath: pP.artifact! } : { trial: 1, kind: 'mutation', arch: A, budget: tenths(E), weightsPath: pE.artifact! };
            const id = `${s}-${tenths(k)}-${lrScale}-${os}`;
            const r = ok(
              `${kind} k=${k}`,
              kind === 'promotion'
                ? await exact.evaluate({ arch: A, budget: tenths(P + k), seed: s, id: `pi-${id}`, parent })
                : await morph.evaluate({ arch: B, budget: tenths(k), seed: s, id: `mi-${id}`, parent }),
            );
            if (os === 'on' && !(r.metrics['inherited_optimizer_fraction']! > 0)) throw new Error(`${kind} k=${k}: no optimizer state was restored`);
            byK.push({ k, val: r2(val(r)), test: r2(r.metrics['test_acc']!) });
          }
          const reach = byK.find((x) => x.val >= r2(val(sc)))?.k ?? null;
          const row: Row = { kind, seed: s, lr_scale: lrScale, optimizer_state: os, scratch_val: r2(val(sc)), scratch_test: r2(sc.metrics['test_acc']!), by_k: byK, reach };
          rows.push(row);
          out({ ...row, reach_fraction: reach === null ? null : r2(reach / E) });
        }
      }
    }
    for (const { lrScale, os } of variants)
      for (const kind of a.kinds) {
        const rs = rows.filter((r) => r.kind === kind && r.lr_scale === lrScale && r.optimizer_state === os);
        const fr = rs.map((r) => (r.reach === null ? null : r2(r.reach / E)));
        const fullK = kind === 'promotion' ? E - P : E;
        out({
          figure: kind,
          schedule: a.schedule,
          lr_scale: lrScale,
          optimizer_state: os,
          epochs: E,
          parent_epochs: kind === 'promotion' ? P : E,
          seeds: rs.length,
          scratch_val_mean: r2(mean(rs.map((r) => r.scratch_val))),
          scratch_test_mean: r2(mean(rs.map((r) => r.scratch_test))),
          ...Object.fromEntries([...new Set(rs.flatMap((r) => r.by_k.map((x) => x.k)))].map((k) => [`inherited_${k}_val_mean`, r2(mean(rs.map((r) => r.by_k.find((x) => x.k === k)!.val)))])),
          [`inherited_${fullK}_test_mean`]: r2(mean(rs.map((r) => r.by_k.find((x) => x.k === fullK)!.test))),
          epochs_to_reach_scratch_fraction: fr,
          met_le_0_6: `${fr.filter((f) => f !== null && f <= 0.6 + 1e-9).length} of ${fr.length}`,
        });
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
