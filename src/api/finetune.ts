/**
 * Transfer: fine-tune a trained network on another dataset or label set (`tsnas finetune`).
 *
 * The model (an exported directory, a `tsnas finetune` output, a compress float/pruned stage, or a
 * study's best trial; model-source.ts) is lowered to a compression graph; its classifier head is
 * replaced by a freshly initialised one sized to the new classes, optionally the first layers
 * are frozen (src/compress/transfer.ts), and it is trained with Adam and a cosine-decayed learning
 * rate on the new data's training split (src/compress/finetune.ts). The inputs are normalised as
 * the source model's were (the features were learned on that scale) unless the weights record
 * none. The exact zeros of the layers that train (a magnitude-pruned source, e.g. a `tsnas
 * compress` pruned stage) are held at zero through the fine-tuning (keepZeros, default on), so the
 * model stays as sparse as its source. Accuracy is measured on the new data's validation and test splits.
 *
 * Written (atomically: OUT appears only when everything succeeded; src/compress/outdir.ts):
 *   OUT/model.json    the compression graph (new head)
 *   OUT/weights.bin   its state dict (meta: normalisation, classes)
 *   OUT/metrics.json  test/val accuracy, the data (spec + class selection), freeze, provenance
 *   OUT/model.onnx    unless onnx: false
 * OUT is itself a model directory: `tsnas compress OUT` and `tsnas finetune OUT` accept it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { selectClasses } from '../data/classes.js';
import { affine } from '../data/normalize.js';
import { prepareData, type DatasetSpec, type PreparedData } from '../data/prepare.js';
import { encodeStateDict } from '../nn/state.js';
import type { Layer } from '../nn/module.js';
import type { Tensor } from '../tensor/index.js';
import { finetune, zeroMasks } from '../compress/finetune.js';
import { GraphNet } from '../compress/graphnet.js';
import { lowerModule } from '../compress/lower.js';
import { exportGraphOnnx } from '../compress/onnx.js';
import { atomicDir, checkOutDir } from '../compress/outdir.js';
import { checkNoLeak, modelDirFields, recordedWithFiles, stageAugment, stageData, stageSplit } from './model-record.js';
import { testAccuracy } from '../compress/pipeline.js';
import { checkFreeze, featureLayers, freshWeights, frozenNodes, replaceHead, weightedNodes, type FreezeSpec } from '../compress/transfer.js';
import { loadModel, type ModelSource } from './model-source.js';

export type { FreezeSpec } from '../compress/transfer.js';

export interface FinetuneModelOptions {
  /** The new data (default: the model's own dataset, e.g. to train on other classes of it). */
  readonly dataset?: DatasetSpec;
  /** Without `dataset`: the model's recorded dataset with other files (the `--path`/`--data-dir`/`--label`/`--header` flags alone; as tsnas train takes the record's dataset kind). */
  readonly datasetFromRecord?: (recorded: DatasetSpec) => DatasetSpec;
  /** Classes of the dataset to keep, renumbered 0..k-1 in this order (default all). */
  readonly classes?: readonly number[];
  /** Feature layers to freeze: the first N conv/linear layers (with their batch norms), or `features` = all but the head. Default 0. */
  readonly freeze?: FreezeSpec;
  /** `transfer` (default): the source weights; `scratch`: the same network freshly initialised (a baseline for the transfer). */
  readonly init?: 'transfer' | 'scratch';
  /** Training epochs (default 3). */
  readonly epochs?: number;
  /**
   * Adam learning rate, cosine-decayed. Default 1e-3, or HEAD_ONLY_LR (1e-2) when only the new head
   * trains (every feature layer frozen: a linear probe, whose fresh head needs larger steps).
   */
  readonly lr?: number;
  /**
   * Discriminative fine-tuning (Howard & Ruder 2018, ULMFiT): the feature layers that train get
   * `lr` x this factor, the new head `lr` (default 1: one rate). E.g. 0.3: the transferred features
   * move less than the fresh head.
   */
  readonly bodyLrScale?: number;
  /**
   * Head warm-up (LP-FT, Kumar et al. 2022; ULMFiT's gradual unfreezing in one step): the first
   * `headEpochs` of the `epochs` train only the new head (the feature layers fixed, their batch
   * norms in inference mode), the rest every layer not frozen. Default 0. Must be < epochs.
   */
  readonly headEpochs?: number;
  /** Default 64. */
  readonly batchSize?: number;
  /** Seeds the new head's initialisation and the batch order (default 0). */
  readonly seed?: number;
  /** Seeds the validation split of the data (default: the model's recorded split seed on its own data, else 0). */
  readonly splitSeed?: number;
  /**
   * Training rows per class (default: on the model's own data its recorded `train_per_class`, the
   * data it was trained on; on other data all). 'all': the whole training split. Said in the data line.
   */
  readonly trainPerClass?: number | 'all';
  /** Receives the data line (`data: ...`: rows used and why) before any training. */
  readonly onData?: (line: string) => void;
  /** Held out for validation (default 0.1) and, for data without an official test split, for test (default 0.2). */
  readonly valFraction?: number;
  readonly testFraction?: number;
  /** Where the new model directory is written (new or empty); nothing is written without it. */
  readonly outDir?: string;
  /** Write model.onnx (default true). */
  readonly onnx?: boolean;
  /**
   * Hold the source's exact zeros (a magnitude-pruned model's sparsity) at zero while fine-tuning
   * the layers that train (default true); false lets them regrow. A dense source has none.
   */
  readonly keepZeros?: boolean;
  readonly log?: (line: string) => void;
  /**
   * Aborting stops the fine-tuning after the current batch, or before the output is written
   * (checked after the last synchronous steps): `aborted`, nothing written.
   */
  readonly signal?: AbortSignal;
}

export interface FinetuneMetrics {
  /** Percent on the new data's test split. */
  readonly test_acc: number;
  /** Percent on the new data's validation split (NaN when it is empty). */
  readonly val_acc: number;
  /** Mean training loss of the last epoch. */
  readonly train_loss: number;
  readonly num_classes: number;
  /** Conv/linear layers before the head, and how many of them were frozen. */
  readonly layers: number;
  readonly frozen_layers: number;
  readonly params: number;
  readonly trainable_params: number;
  /** Weights of the trained layers held at zero (the source's sparsity, see keepZeros); 0 for a dense source. */
  readonly held_zeros: number;
}

export interface FinetuneResult {
  readonly metrics: FinetuneMetrics;
  readonly dir?: string;
  /** Results a user should not take silently (`chanceWarnings`): also logged and in metrics.json. */
  readonly warnings: readonly string[];
}

/**
 * The default learning rate when only the new head trains (`freeze: features`). Session 9: a
 * digits model fine-tuned to classes 5-9 with every feature layer frozen scored 15.1% (below the
 * 20% chance of 5 classes) after the default 2-3 epochs at 1e-3, 96.1% at 1e-2; on a smaller
 * source (src/api/finetune-chance.test.ts's, 3 epochs, seeds 0-2): 16.8/22.9/20.1% at 1e-3,
 * 43.0/44.7/35.8% at 1e-2. A linear probe's fresh head on a few hundred images gets ~10 steps an
 * epoch; 1e-3 barely moves it. The layers that train with a body keep 1e-3 (their features are
 * already trained; larger steps would undo them).
 */
export const HEAD_ONLY_LR = 1e-2;

/**
 * Warnings for accuracies at or near chance (at most 1.5 x 100/k % for k classes) on the
 * validation or test split, naming the fix: more epochs, a larger learning rate (when only the head
 * trained), or fewer frozen layers. Empty when the result is clearly above chance.
 */
export function chanceWarnings(m: Pick<FinetuneMetrics, 'test_acc' | 'val_acc' | 'num_classes' | 'layers' | 'frozen_layers'>, epochs: number, lr: number): string[] {
  const chance = 100 / m.num_classes;
  const near = (a: number) => Number.isFinite(a) && a <= 1.5 * chance;
  const bad = [...(near(m.test_acc) ? [`test accuracy ${m.test_acc.toFixed(2)}%`] : []), ...(near(m.val_acc) ? [`validation accuracy ${m.val_acc.toFixed(2)}%`] : [])];
  if (bad.length === 0) return [];
  const headOnly = m.frozen_layers === m.layers;
  const fixes = [
    `train longer (--epochs ${Math.max(10, epochs * 3)}; this run: ${epochs})`,
    ...(lr < 1e-2 ? [`use a larger learning rate (--lr ${headOnly ? 0.03 : 0.01}; this run: ${lr})`] : []),
    ...(headOnly ? ['or freeze fewer layers (--freeze N, or none) so the features adapt too'] : []),
  ];
  return [`${bad.join(' and ')} ${bad.length > 1 ? 'are' : 'is'} at or near chance (${chance.toFixed(1)}% for ${m.num_classes} classes): the new head has barely learned; ${fixes.join(', ')}`];
}

function checkOptions(o: FinetuneModelOptions): { epochs: number; lr: number | undefined; batchSize: number } {
  const epochs = o.epochs ?? 3;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new NasError('invalid_config', `epochs must be an integer >= 1, got ${epochs}`, { field: 'epochs', hint: 'e.g. --epochs 3' });
  const he = o.headEpochs ?? 0;
  if (!(Number.isInteger(he) && he >= 0 && he < epochs))
    throw new NasError('invalid_config', `headEpochs must be an integer from 0 to epochs - 1 (${epochs - 1}), got ${JSON.stringify(o.headEpochs)}`, { field: 'headEpochs', hint: 'e.g. --head-epochs 1 with --epochs 3: one epoch of the head alone, then two of everything' });
  const bs0 = o.bodyLrScale ?? 1;
  if (!(typeof bs0 === 'number' && bs0 > 0 && Number.isFinite(bs0)))
    throw new NasError('invalid_config', `bodyLrScale must be a number > 0, got ${JSON.stringify(o.bodyLrScale)}`, { field: 'bodyLrScale', hint: 'e.g. --body-lr-scale 0.3 (the feature layers at 0.3 x lr); freeze layers with --freeze instead of a 0 rate' });
  const lr = o.lr;
  if (lr !== undefined && !(lr > 0 && Number.isFinite(lr))) throw new NasError('invalid_config', `lr must be > 0, got ${lr}`, { field: 'lr', hint: 'e.g. --lr 0.001' });
  const batchSize = o.batchSize ?? 64;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new NasError('invalid_config', `batch size must be an integer >= 1, got ${batchSize}`, { field: 'batchSize' });
  if (o.keepZeros !== undefined && typeof o.keepZeros !== 'boolean') throw new NasError('invalid_config', `keepZeros must be true or false, got ${JSON.stringify(o.keepZeros)}`, { field: 'keepZeros' });
  if (o.init !== undefined && o.init !== 'transfer' && o.init !== 'scratch') throw new NasError('invalid_config', `init must be transfer or scratch, got ${JSON.stringify(o.init)}`, { field: 'init' });
  if (o.freeze !== undefined && o.freeze !== 'features' && !(Number.isInteger(o.freeze) && o.freeze >= 0))
    throw new NasError('invalid_config', `freeze must be an integer >= 0 or "features", got ${JSON.stringify(o.freeze)}`, { field: 'freeze', hint: 'e.g. --freeze 2 or --freeze features' });
  return { epochs, lr, batchSize };
}

/**
 * Fine-tunes a trained model on `opts.dataset` / `opts.classes` with a new head (see the file
 * comment). Every input is checked before any file is written: errors name `epochs`, `lr`,
 * `freeze` (more layers than the network has before its head; the hint gives the range),
 * `classes` (empty, repeated, out of range, a class without training samples), `dataset` (no
 * dataset known, or samples of another shape than the model's input), `model`/`study` (no such
 * model or no weights), `out` (exists and is not empty).
 */
export async function finetuneModel(src: ModelSource, opts: FinetuneModelOptions = {}): Promise<FinetuneResult> {
  const { epochs, lr: lrGiven, batchSize } = checkOptions(opts);
  const log = opts.log ?? (() => {});
  if (opts.outDir !== undefined) checkOutDir(opts.outDir);
  const m = await loadModel(src, opts.dataset, 'finetune');
  const owned: Tensor[] = [];
  let net: GraphNet | undefined;
  try {
    const given = opts.dataset ?? recordedWithFiles(m.dataset, opts.datasetFromRecord, m.name);
    const spec = given ?? m.dataset;
    if (!spec) throw new NasError('invalid_config', `the model ${m.name} records no dataset`, { field: 'dataset', hint: 'pass --dataset (e.g. digits, fashion_mnist)' });
    // The model's own data: the subset it was trained on (its record, model-record.ts) unless an option says otherwise.
    const own = given === undefined || (m.dataset !== undefined && JSON.stringify(given) === JSON.stringify(m.dataset));
    const chosen0 = stageSplit(m.record, own, { ...(opts.splitSeed !== undefined ? { splitSeed: opts.splitSeed } : {}), ...(opts.trainPerClass !== undefined ? { trainPerClass: opts.trainPerClass } : {}) });
    // A fraction other than the recorded one is said as such (never "as the model was trained").
    const frac = own && m.record ? (['valFraction', 'testFraction'] as const).filter((k) => opts[k] !== undefined && opts[k] !== (m.record!.split[k] ?? (k === 'valFraction' ? 0.1 : 0.2))) : [];
    const chosen = {
      ...chosen0,
      split: {
        ...chosen0.split,
        ...(opts.valFraction !== undefined ? { valFraction: opts.valFraction } : {}),
        ...(opts.testFraction !== undefined ? { testFraction: opts.testFraction } : {}),
      },
      recorded: chosen0.recorded.filter((k) => !frac.some((f) => k === (f === 'valFraction' ? 'val_fraction' : 'test_fraction'))),
      overridden: [...chosen0.overridden, ...frac.map((f) => (f === 'valFraction' ? 'val_fraction' : 'test_fraction'))],
      said: [...chosen0.said, ...frac.map((f) => `${f === 'valFraction' ? '--val-fraction' : '--test-fraction'} ${opts[f]}, not the model's ${m.record?.split[f] ?? (f === 'valFraction' ? 0.1 : 0.2)} (no overlap with its training rows)`)],
    };
    let data: PreparedData = await prepareData(spec, chosen.split);
    // What loading decided (CSV header, label mapping, a class of one row), said once.
    for (const n of data.notes ?? []) log(`data: ${n}`);
    const same = data.shape.length === m.inputShape.length && data.shape.every((d, i) => d === m.inputShape[i]);
    if (!same)
      throw new NasError('shape_mismatch', `${data.name}'s samples are [${data.shape.join(', ')}], the model takes [${m.inputShape.join(', ')}]`, {
        field: 'dataset',
        hint: `fine-tune on a dataset of [${m.inputShape.join(', ')}] samples (the features were learned at that shape), or resize the data to it first`,
      });
    if (opts.classes !== undefined) data = selectClasses(data, opts.classes, 'classes');
    await checkNoLeak(spec, m.record, own, chosen.split, data, 'fine-tuning');
    const used = stageData(data, m.record, own, chosen);
    (opts.onData ?? log)(used.line);
    // The model's recorded augmentation (e.g. tsnas main's hflip) on its own data; on other data not, and said.
    const aug = stageAugment(m.record, own, data.shape, 'fine-tuning');
    if (aug.line) (opts.onData ?? log)(aug.line);
    if (m.normalization) data = { ...data, normalization: m.normalization };
    const lowered = lowerModule(m.module, m.inputShape, m.numClasses);
    owned.push(...lowered.weights.values());
    const layers = featureLayers(lowered.graph).length;
    const nFrozen = checkFreeze(opts.freeze, layers);
    const lr = lrGiven ?? (nFrozen === layers ? HEAD_ONLY_LR : 1e-3);
    const out = opts.outDir !== undefined ? atomicDir(opts.outDir) : undefined;
    try {
      const seed = opts.seed ?? 0;
      const nh = replaceHead(lowered.graph, lowered.weights, data.numClasses, seed);
      owned.push(...nh.weights.values());
      let weights = nh.weights;
      if (opts.init === 'scratch') {
        weights = freshWeights(nh.graph, weightedNodes(nh.graph), seed);
        owned.push(...weights.values());
      }
      net = new GraphNet(nh.graph, weights, seed);
      const frozen = frozenNodes(nh.graph, nFrozen);
      const params: Tensor[] = [];
      const frozenLayers: Layer[] = [];
      // The layers that train, split into the new head and the transferred body (their own rate
      // and first epoch: bodyLrScale, headEpochs).
      const head: Tensor[] = [];
      const body: Tensor[] = [];
      const bodyLayers: Layer[] = [];
      for (const [i, l] of net.layers) {
        if (frozen.has(i)) {
          frozenLayers.push(l);
          for (const p of l.parameters()) p.requiresGrad_(false);
        } else {
          params.push(...l.parameters());
          if (nh.head.has(i)) head.push(...l.parameters());
          else {
            body.push(...l.parameters());
            bodyLayers.push(l);
          }
        }
      }
      const headEpochs = opts.headEpochs ?? 0;
      const bodyLrScale = opts.bodyLrScale ?? 1;
      const groups = headEpochs > 0 || bodyLrScale !== 1 ? [{ params: head }, { params: body, lrScale: bodyLrScale, fromEpoch: headEpochs + 1, layers: bodyLayers }] : undefined;
      const total = net.numParameters();
      const trainable = params.reduce((s, p) => s + p.numel, 0);
      // The source's zeros (magnitude pruning) in the layers that train are held, as compress's own fine-tuning does.
      const trainedKeys = nh.graph.nodes.flatMap((n, i) => ((n.kind === 'conv' || n.kind === 'linear') && !nh.head.has(i) && !frozen.has(i) ? [`n${i}.weight`] : []));
      const held = (opts.keepZeros ?? true) ? zeroMasks(net.stateDict(), trainedKeys) : { masks: new Map<string, Tensor>(), zeros: 0 };
      owned.push(...held.masks.values());
      log(`${m.name} -> ${data.name}: ${data.numClasses} classes, ${nFrozen}/${layers} layers frozen, ${trainable} of ${total} parameters trained${held.zeros ? `, ${held.zeros} pruned weights held at zero` : ''}`);
      const loss = await finetune(net, data, { epochs, lr, batchSize, seed, params, ...(opts.signal ? { signal: opts.signal } : {}), ...(aug.augment ? { augment: aug.augment } : {}), ...(groups ? { groups } : {}), frozenLayers, ...(held.masks.size ? { masksForEpoch: () => held.masks } : {}), onEpoch: (e, l) => log(`fine-tune epoch ${e}/${epochs}: train loss ${l.toFixed(4)}`) });
      net.eval();
      const fwd = (x: Tensor) => net!.forward(x);
      const metrics: FinetuneMetrics = {
        test_acc: testAccuracy(fwd, data),
        val_acc: data.val.indices.length ? testAccuracy(fwd, { ...data, test: data.val }) : NaN,
        train_loss: loss,
        num_classes: data.numClasses,
        layers,
        frozen_layers: nFrozen,
        params: total,
        trainable_params: trainable,
        held_zeros: held.zeros,
      };
      log(`test acc ${metrics.test_acc.toFixed(2)}%, val acc ${metrics.val_acc.toFixed(2)}%`);
      const warnings = chanceWarnings(metrics, epochs, lr);
      for (const w of warnings) log(`warning: ${w}`);
      if (out) {
        const classes = opts.classes ? [...opts.classes] : null;
        const meta = { format: 'tsnas-finetune', normalization: data.normalization, classes, dataset: data.name };
        writeFileSync(join(out.work, 'model.json'), JSON.stringify(nh.graph) + '\n');
        writeFileSync(join(out.work, 'weights.bin'), encodeStateDict(net.stateDict(), meta));
        const record: JsonObject = {
          format: 'tsnas-finetune',
          source: m.source,
          // Read back by later stages (model-record.ts recordOfSplit): compress/finetune of this
          // model use the same rows (dataset, split, classes) and augmentation (augment).
          ...modelDirFields({ dataset: spec, split: chosen.split, ...(opts.classes ? { classes: opts.classes } : {}), ...(aug.augment ? { augment: aug.augment } : {}) }),
          data: used as unknown as JsonObject,
          ...(data.classNames ? { class_names: [...data.classNames] } : {}),
          input_shape: [...m.inputShape],
          num_classes: data.numClasses,
          init: opts.init ?? 'transfer',
          freeze: opts.freeze ?? 0,
          keep_zeros: opts.keepZeros ?? true,
          epochs,
          lr,
          body_lr_scale: opts.bodyLrScale ?? 1,
          head_epochs: opts.headEpochs ?? 0,
          batch_size: batchSize,
          seed,
          metrics: { ...metrics, val_acc: Number.isFinite(metrics.val_acc) ? metrics.val_acc : null, train_loss: Number.isFinite(loss) ? loss : null },
          ...(warnings.length ? { warnings } : {}),
        };
        writeFileSync(join(out.work, 'metrics.json'), JSON.stringify(record, null, 2) + '\n');
        if (opts.onnx ?? true) {
          const { a, b } = affine(data.normalization);
          writeFileSync(join(out.work, 'model.onnx'), exportGraphOnnx(net, { name: `${m.name}-finetuned`, inputAffine: { a, b }, metadata: { model: m.name, dataset: data.name } }));
        }
        // A Ctrl-C during the synchronous steps above runs its handler here, before the output is committed.
        await new Promise<void>((r) => setImmediate(r));
        if (opts.signal?.aborted) throw new NasError('aborted', 'fine-tuning stopped before its output was written; nothing is kept');
        out.commit();
      }
      return { metrics, warnings, ...(out ? { dir: out.dir } : {}) };
    } catch (e) {
      out?.abort();
      throw e;
    }
  } finally {
    net?.dispose();
    for (const t of owned) t.dispose();
    m.module.dispose();
  }
}
