/**
 * `npm run bench -- prune-ft --model DIR[,DIR...] [--flops 0.5] [--epochs 2,4] [--lrs 0.001,0.0003]
 *   [--variants plain,kd,recipe,kd+recipe] [--allocations greedy,uniform] [--criterion l1|taylor] [--seed 0] [--data-dir DIR] [--results FILE] [--json]`
 *
 * Issue 13 item 1, the fine-tuning after structured channel pruning, chosen on validation: each
 * trained Fashion-MNIST model (a model directory, e.g. the main job's `compressed-sN/float`) is
 * pruned to `--flops` of its FLOPs by the shipped plan (prune.ts planChannels + pruneWeights, as
 * `tsnas compress --prune flops=F` does; `--allocations`: the plan's greedy per-layer allocation, the default, and/or the
 * uniform ratio of sessions 6-7, each a separate configuration), then fine-tuned (finetune.ts: Adam, cosine decay over the
 * run, batch 64) once per configuration (epochs E x learning rate x variant), each from the same
 * pruned weights. Variants: `plain` (cross-entropy on the labels: what `tsnas compress` does by
 * default), `kd` (distilled from the unpruned float model, Hinton et al. 2015: temperature 4, soft
 * weight 0.7; finetune.ts `distill`), `recipe` (the main job's training recipe MAIN_RECIPE during the
 * fine-tuning: horizontal flips, label smoothing 0.1), `kd+recipe` (both). Data: the bench compress split (prepareData seed `--seed`, 10% of the training images
 * held out as validation, never fine-tuned on); the inputs are normalised as the model's weights
 * record.
 *
 * Printed per model and configuration: validation and test accuracy of the float model and of the
 * fine-tuned pruned model, and the drops (float - pruned, points). The configuration chosen is the
 * one with the smallest mean VALIDATION drop over the models (ties: fewer epochs); the test drops
 * are printed for every configuration but play no part in the choice. Figure: the chosen
 * configuration, its mean and per-model test drop, and how many models meet the <= 0.5 point target.
 * `--results FILE`: every row is also appended to FILE (JSON lines) and the choice is made over all
 * rows in FILE (the latest row per model and configuration), so the models can be run in separate,
 * shorter invocations (e.g. one per lock hold) and chosen over together; with no --model, only the
 * choice over FILE is printed.
 *
 * Caveat (printed): a model trained on the full training set (the main job retrains its winner with
 * no hold-out) has seen the validation images, so its float validation accuracy is inflated and the
 * validation drops are larger than the test drops; the choice compares configurations on the same
 * images, which is what it needs.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { NasError } from '../src/core/errors.js';
import { prepareData, type PreparedData } from '../src/data/prepare.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { loadModel } from '../src/api/model-source.js';
import { GraphNet } from '../src/compress/graphnet.js';
import { finetune } from '../src/compress/finetune.js';
import { graphCost } from '../src/compress/graph.js';
import { lowerModule } from '../src/compress/lower.js';
import { taylorGrads, testAccuracy } from '../src/compress/pipeline.js';
import { planChannels, pruneWeights } from '../src/compress/prune.js';
import type { Tensor } from '../src/tensor/index.js';
import { MAIN_RECIPE } from '../src/api/main-job.js';
import { parseBenchArgs } from './args.js';

const VARIANTS = ['plain', 'kd', 'recipe', 'kd+recipe'] as const;
type Variant = (typeof VARIANTS)[number];
const ALLOCATIONS = ['greedy', 'uniform'] as const;
type Allocation = (typeof ALLOCATIONS)[number];

interface Args {
  models: string[];
  flops: number;
  epochs: number[];
  lrs: number[];
  variants: Variant[];
  criterion: 'l1' | 'taylor';
  allocations: Allocation[];
  seed: number;
  dataDir: string;
  results?: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'prune-ft', { model: 'list', flops: 'number', epochs: 'list', lrs: 'list', criterion: 'string', seed: 'number', 'data-dir': 'string', results: 'string', variants: 'list', allocations: 'list', json: 'flag' });
  if (!o.model?.length && o.results === undefined) throw new NasError('invalid_config', 'prune-ft needs --model DIR[,DIR...] (trained Fashion-MNIST model directories)', { field: '--model', hint: "e.g. --model <artifacts>/compressed-s0/float (the main job's winner)" });
  const a: Args = {
    models: o.model ?? [],
    flops: o.flops ?? 0.5,
    epochs: (o.epochs ?? ['2', '4']).map(Number),
    lrs: (o.lrs ?? ['0.001', '0.0003']).map(Number),
    variants: (o.variants ?? ['plain']) as Variant[],
    criterion: (o.criterion ?? 'l1') as Args['criterion'],
    allocations: (o.allocations ?? ['greedy']) as Allocation[],
    seed: o.seed ?? 0,
    dataDir: o['data-dir'] ?? FASHION_MNIST_DIR,
    json: o.json ?? false,
    ...(o.results !== undefined ? { results: o.results } : {}),
  };
  if (a.epochs.some((e) => !Number.isInteger(e) || e < 1)) throw new NasError('invalid_config', `--epochs takes integers >= 1, got ${a.epochs.join(',')}`, { field: '--epochs' });
  if (a.lrs.some((x) => !(x > 0 && Number.isFinite(x)))) throw new NasError('invalid_config', `--lrs takes numbers > 0, got ${a.lrs.join(',')}`, { field: '--lrs' });
  if (!(a.flops > 0 && a.flops < 1)) throw new NasError('invalid_config', `--flops must be in (0, 1), got ${a.flops}`, { field: '--flops' });
  for (const v of a.allocations) if (!ALLOCATIONS.includes(v)) throw new NasError('invalid_config', `--allocations takes ${ALLOCATIONS.join(', ')}, got ${v}`, { field: '--allocations' });
  for (const v of a.variants) if (!VARIANTS.includes(v)) throw new NasError('invalid_config', `--variants takes ${VARIANTS.join(', ')}, got ${v}`, { field: '--variants' });
  if (a.criterion !== 'l1' && a.criterion !== 'taylor') throw new NasError('invalid_config', `--criterion takes l1 or taylor, got ${a.criterion}`, { field: '--criterion' });
  return a;
}

interface Row {
  model: string;
  epochs: number;
  lr: number;
  variant?: Variant;
  /** Absent in rows of sessions 6-7: those plans were uniform. */
  allocation?: Allocation;
  flops_ratio: number;
  float_val: number;
  float_test: number;
  val_acc: number;
  test_acc: number;
  val_drop: number;
  test_drop: number;
  seconds: number;
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const out = (o: Record<string, unknown>) => console.log(a.json ? JSON.stringify(o) : Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(4) : JSON.stringify(v)}`).join(' '));
  if (!a.json && a.models.length)
    console.log(
      `prune-ft: channel pruning to ${a.flops}x FLOPs (${a.criterion}), fine-tuning epochs ${a.epochs.join(',')} x lr ${a.lrs.join(',')}, chosen on validation; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n` +
        'caveat: a model trained on the whole training set has seen the validation images (its float validation accuracy is inflated)',
    );
  const base = a.models.length ? await prepareData({ kind: 'fashion_mnist', dataDir: a.dataDir }, { seed: a.seed, valFraction: 0.1 }) : undefined;
  const rows: Row[] = [];
  for (const dir of a.models) {
    const m = await loadModel({ dir }, { kind: 'fashion_mnist', dataDir: a.dataDir });
    const data: PreparedData = m.normalization ? { ...base!, normalization: m.normalization } : base!;
    if (m.numClasses !== data.numClasses || m.inputShape.join(',') !== data.shape.join(',')) {
      m.module.dispose();
      throw new NasError('shape_mismatch', `${dir} takes [${m.inputShape.join(', ')}] -> ${m.numClasses} classes, Fashion-MNIST is [${data.shape.join(', ')}] -> ${data.numClasses}`, { field: '--model', hint: 'give a model trained on Fashion-MNIST' });
    }
    const low = lowerModule(m.module, data.shape, data.numClasses);
    m.module.dispose();
    const owned: Tensor[] = [...low.weights.values()];
    let teacher: GraphNet | undefined;
    try {
      const val = { ...data, test: data.val };
      const floatNet = new GraphNet(low.graph, low.weights, a.seed).eval();
      const floatVal = testAccuracy((x) => floatNet.forward(x), val);
      const floatTest = testAccuracy((x) => floatNet.forward(x), data);
      let grads: Map<string, Tensor> | undefined;
      if (a.criterion === 'taylor') grads = taylorGrads(floatNet, data, a.seed);
      const plans = a.allocations.map((allocation) => ({ allocation, plan: planChannels(low.graph, low.weights, { kind: 'channels', flops: a.flops, criterion: a.criterion, allocation }, grads) }));
      for (const t of grads?.values() ?? []) t.dispose();
      teacher = floatNet.eval();
      for (const { allocation, plan } of plans) {
      const ratio = graphCost(plan.graph).flops / graphCost(low.graph).flops;
      out({ model: dir, allocation, float_val: floatVal, float_test: floatTest, flops_ratio: ratio, channel_ratio: plan.ratio, restored_classes: plan.restored });
      for (const variant of a.variants)
      for (const lr of a.lrs)
        for (const epochs of a.epochs) {
          const t0 = performance.now();
          const pw = pruneWeights(low.graph, plan, low.weights);
          const net = new GraphNet(plan.graph, pw, a.seed);
          for (const t of pw.values()) t.dispose();
          try {
            const kd = variant === 'kd' || variant === 'kd+recipe';
            const recipe = variant === 'recipe' || variant === 'kd+recipe';
            await finetune(net, data, {
              epochs,
              lr,
              seed: a.seed,
              ...(kd ? { distill: { teacher: (x: Tensor) => teacher!.forward(x) } } : {}),
              ...(recipe ? { augment: MAIN_RECIPE.augment, labelSmoothing: MAIN_RECIPE.labelSmoothing } : {}),
            });
            net.eval();
            const va = testAccuracy((x) => net.forward(x), val);
            const te = testAccuracy((x) => net.forward(x), data);
            const r: Row = { model: dir, epochs, lr, variant, allocation, flops_ratio: ratio, float_val: floatVal, float_test: floatTest, val_acc: va, test_acc: te, val_drop: floatVal - va, test_drop: floatTest - te, seconds: (performance.now() - t0) / 1000 };
            rows.push(r);
            if (a.results) appendFileSync(a.results, JSON.stringify(r) + '\n');
            out({ ...r });
          } finally {
            net.dispose();
          }
        }
      }
    } finally {
      teacher?.dispose();
      for (const t of owned) t.dispose();
    }
  }
  if (a.results) {
    // Every row of the file, the latest per model and configuration.
    const byKey = new Map<string, Row>();
    for (const line of readFileSync(a.results, 'utf8').split('\n')) if (line.trim()) {
      const r = JSON.parse(line) as Row;
      byKey.set(`${r.model}|${r.epochs}|${r.lr}|${r.variant ?? 'plain'}|${r.allocation ?? 'uniform'}`, r);
    }
    rows.splice(0, rows.length, ...byKey.values());
  }
  const models = [...new Set(rows.map((r) => r.model))];
  // One configuration for every model: the smallest mean validation drop (ties: fewer epochs, then the larger lr).
  // Only configurations run on every model compete.
  const same = (r: Row, c: { lr: number; epochs: number; variant: Variant; allocation: Allocation }) => r.epochs === c.epochs && r.lr === c.lr && (r.variant ?? 'plain') === c.variant && (r.allocation ?? 'uniform') === c.allocation;
  const configs = [...new Map(rows.map((r) => [`${r.epochs}|${r.lr}|${r.variant ?? 'plain'}|${r.allocation ?? 'uniform'}`, { lr: r.lr, epochs: r.epochs, variant: r.variant ?? 'plain', allocation: r.allocation ?? 'uniform' }])).values()].filter((c) => models.every((m) => rows.some((r) => r.model === m && same(r, c))));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const scored = configs.map((c) => {
    const rs = rows.filter((r) => same(r, c));
    return { ...c, mean_val_drop: mean(rs.map((r) => r.val_drop)), mean_test_drop: mean(rs.map((r) => r.test_drop)), test_drops: rs.map((r) => r.test_drop), met: rs.filter((r) => r.test_drop <= 0.5).length };
  });
  for (const s of scored) out({ config: `epochs ${s.epochs} lr ${s.lr} ${s.variant} ${s.allocation}`, models: models.length, mean_val_drop: s.mean_val_drop, mean_test_drop: s.mean_test_drop });
  if (scored.length === 0) throw new NasError('invalid_config', 'no configuration was run on every model', { field: '--results', hint: 'run the same --epochs and --lrs on every model' });
  scored.sort((x, y) => x.mean_val_drop - y.mean_val_drop || x.epochs - y.epochs || y.lr - x.lr);
  const best = scored[0]!;
  out({ figure: 'prune_finetune_chosen_on_validation', epochs: best.epochs, lr: best.lr, variant: best.variant, allocation: best.allocation, mean_val_drop: best.mean_val_drop, mean_test_drop: best.mean_test_drop, test_drops: best.test_drops.map((x) => +x.toFixed(2)), met_target_le_0_5: `${best.met} of ${best.test_drops.length}` });
}
