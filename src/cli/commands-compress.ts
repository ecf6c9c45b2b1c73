/** `tsnas compress`: prune, fine-tune and quantize a trained model; one table row per stage. */
import { resolve } from 'node:path';
import { NasError } from '../api/index.js';
import { compressModel, type CompressModelOptions, type CompressSource, type PruneSpec, type QuantMode, type StageRow } from '../api/compress.js';
import type { DatasetSpec } from '../data/prepare.js';
import { parse, UsageError, type ExtraCommand } from './commands-extra.js';
import { NON_NEGATIVE_INT, datasetOfFlags, interruptible, flagError, withFlagNames, type DatasetFlagKind, type FlagSpec } from './args.js';
import { DATASET_SYNONYMS, PRUNE_CRITERION_SYNONYMS, PRUNE_SCHEDULE_SYNONYMS, PRUNE_SCOPE_SYNONYMS, QENGINE_SYNONYMS, QUANTIZE_SYNONYMS } from '../core/synonyms.js';

/** Datasets a compressed image model can be evaluated on (--dataset). */
const COMPRESS_DATASETS = ['fashion_mnist', 'mnist', 'cifar10', 'digits'] as const;
import { renderTable } from './table.js';
import { Progress } from './progress.js';

const DEFAULT_STORAGE_URL = 'sqlite:./tsnas.db';

/** `channels=R`, `flops=F` or `sparsity=S` plus the scope/schedule/criterion flags -> PruneSpec (checked later by the API). */
export function pruneFromFlags(spec: string, f: Record<string, string | boolean | undefined>): PruneSpec {
  const m = /^(channels|flops|sparsity)=([0-9.]+)$/.exec(spec);
  if (!m) throw flagError('prune', `must be channels=R, flops=F or sparsity=S, got ${JSON.stringify(spec)}`, 'e.g. --prune flops=0.5 or --prune sparsity=0.8');
  const v = Number(m[2]);
  const crit = f['prune-criterion'] as 'l1' | 'taylor' | undefined;
  if (m[1] === 'sparsity')
    return {
      kind: 'magnitude',
      sparsity: v,
      ...(f['prune-scope'] ? { scope: f['prune-scope'] as 'global' | 'layer' } : {}),
      ...(f['prune-schedule'] ? { schedule: f['prune-schedule'] as 'oneshot' | 'gradual' } : {}),
      ...(f['prune-min-density'] !== undefined ? { minDensity: Number(f['prune-min-density']) } : {}),
      ...(f['prune-output'] ? { pruneOutput: true } : {}),
    };
  const alloc = f['prune-allocation'] as 'greedy' | 'uniform' | undefined;
  return m[1] === 'channels'
    ? { kind: 'channels', ratio: v, ...(crit ? { criterion: crit } : {}), ...(alloc ? { allocation: alloc } : {}) }
    : { kind: 'channels', flops: v, ...(crit ? { criterion: crit } : {}), ...(alloc ? { allocation: alloc } : {}) };
}

/** `--train-per-class N|all` (compress, finetune): a positive integer or 'all'. */
export function trainPerClassFlag(v: string): number | 'all' {
  if (v === 'all') return 'all';
  if (/^[1-9][0-9]*$/.test(v)) return Number(v);
  throw flagError('train-per-class', `must be a positive integer or all, got ${JSON.stringify(v)}`, 'e.g. --train-per-class 300, or all for the whole training split');
}

export function stageTable(rows: readonly StageRow[]): string {
  const sparse = rows.some((r) => r.nonzero_params !== undefined);
  const note = sparse ? `nonzero params: counted on the pruned stage ('-': not counted there)\n` : '';
  // The threads each stage's batch-1 forward chose (compressNetwork chooseThreads) beside its all-threads latency.
  const chose = rows.some((r) => r.latency_threads !== undefined);
  return renderTable(
    // A sparsity-pruned stage keeps dense tensors: its nonzero params and gzipped size show the saving.
    ['model', 'stage', 'test acc %', 'params', ...(sparse ? ['nonzero params'] : []), 'size bytes', ...(sparse ? ['gzip bytes'] : []), 'FLOPs', 'latency ms', ...(chose ? ['threads used'] : []), 'latency ms (1 thread)'],
    rows.map((r) => [
      r.model,
      r.stage === 'int8' && r.quant_mode ? `int8 (${r.quant_mode})` : r.stage,
      Number(r.test_acc.toFixed(2)),
      r.params,
      // Counted on the stages that prune; elsewhere unknown ('-'), never the total: an int8 row
      // after an 80%-sparse stage showed its dense params count as nonzero (session 9).
      ...(sparse ? [r.nonzero_params ?? null] : []),
      r.size_bytes,
      ...(sparse ? [r.gzip_bytes ?? null] : []),
      r.flops,
      Number(r.latency_ms.toFixed(3)),
      ...(chose ? [r.latency_threads ?? null] : []),
      Number(r.latency_1t_ms.toFixed(3)),
    ]),
  ) + note;
}

/** The command's flags (also how the API's errors about the options they set are named: withFlagNames). */
/** Compress options (CompressModelOptions) whose flag is not their kebab-cased name. */
const COMPRESS_OPTION_FLAGS: Readonly<Record<string, string>> = {
  outDir: 'out',
  onnx: 'no-onnx',
  weightScheme: 'per-tensor',
  prune: 'prune',
  'prune.kind': 'prune',
  'prune.ratio': 'prune',
  'prune.flops': 'prune',
  'prune.sparsity': 'prune',
  'prune.criterion': 'prune-criterion',
  'prune.allocation': 'prune-allocation',
  'prune.scope': 'prune-scope',
  'prune.schedule': 'prune-schedule',
  'prune.minDensity': 'prune-min-density',
  'prune.pruneOutput': 'prune-output',
};
const atLeast = (min: number, integer: boolean) => ({ integer, min });
const COMPRESS_FLAGS: FlagSpec = {
  study: { type: 'string' },
  storage: { type: 'string' },
  trial: { type: 'string', number: NON_NEGATIVE_INT },
  prune: { type: 'string', check: (v) => void pruneFromFlags(v, {}) },
  'prune-criterion': { type: 'string', choices: ['l1', 'taylor'], synonyms: PRUNE_CRITERION_SYNONYMS },
  'prune-allocation': { type: 'string', choices: ['greedy', 'uniform'] },
  'prune-scope': { type: 'string', choices: ['global', 'layer'], synonyms: PRUNE_SCOPE_SYNONYMS },
  'prune-schedule': { type: 'string', choices: ['oneshot', 'gradual'], synonyms: PRUNE_SCHEDULE_SYNONYMS },
  'prune-min-density': { type: 'string', number: { integer: false, min: 0, max: 1 } },
  'prune-output': { type: 'boolean' },
  'finetune-epochs': { type: 'string', number: atLeast(0, true) },
  'finetune-lr': { type: 'string', number: atLeast(0, false) },
  distill: { type: 'boolean' },
  quantize: { type: 'string', choices: ['static', 'qat', 'dynamic'], synonyms: QUANTIZE_SYNONYMS },
  'max-drop': { type: 'string', number: atLeast(0, false) },
  'qat-lr': { type: 'string', number: atLeast(0, false) },
  'qat-freeze-bn': { type: 'string', number: atLeast(1, true) },
  'qat-freeze-observers': { type: 'string', number: atLeast(1, true) },
  'per-tensor': { type: 'boolean' },
  calibration: { type: 'string', number: atLeast(0, true) },
  qengine: { type: 'string', choices: ['onednn', 'qnnpack'], synonyms: QENGINE_SYNONYMS },
  dataset: { type: 'string', choices: COMPRESS_DATASETS, synonyms: DATASET_SYNONYMS },
  'data-dir': { type: 'string' },
  'train-per-class': { type: 'string', check: (v) => void trainPerClassFlag(v) },
  path: { type: 'string' },
  out: { type: 'string' },
  'no-onnx': { type: 'boolean' },
  seed: { type: 'string', number: atLeast(0, true) },
  json: { type: 'boolean' },
};

export const compressCmd: ExtraCommand = {
  summary: 'prune, fine-tune and quantize (int8) a trained model; one row per stage',
  help: `usage: tsnas compress --study NAME [--storage URL] [--trial N] [options]
       tsnas compress MODEL_DIR [options]            (a directory written by tsnas export)

Prunes, fine-tunes and quantizes the trained model; prints one row per stage (float, pruned,
int8): test accuracy, parameters, model file size, FLOPs, batch-1 latency (all threads / 1 thread;
with all threads each stage runs with the thread count it measured fastest, shown as threads used).
Writes OUT/float, OUT/pruned, OUT/int8 (model.json + weights.bin or model.int8.bin, model.onnx;
QDQ for int8; metrics.json with the stage's row and the data, split and augmentation it was trained
on, so a later finetune/compress of a stage uses the same rows) and OUT/report.json. OUT appears only when every stage succeeded: a failed,
impossible (e.g. an unreachable --prune flops=F, whose error gives the reachable range) or
interrupted (Ctrl-C, SIGTERM: exit 130) compression leaves nothing behind, so the same --out can be
used again; the unfinished OUT.partial-* of a killed run (kill -9) is removed by the next run.
Ctrl-C stops after the current fine-tuning batch, or at the next stage boundary when a synchronous
step runs (calibration, the latency measurement, the ONNX export end first), and says where.

options:
  --study NAME            compress the weights of this study's best (feasible) trial
  --storage URL           the study's storage (default sqlite:./tsnas.db)
  --trial N               with --study: trial number N's weights instead of the best's (as train, export)
  --prune SPEC            channels=R (remove fraction R of each coupled channel group),
                          flops=F (<= F of the FLOPs, see --prune-allocation), or
                          sparsity=S (unstructured magnitude pruning to fraction S of zero weights)
  --prune-criterion C     l1 (default) or taylor, for channels/flops
  --prune-allocation A    for flops: greedy (default; the smallest uniform ratio reaching F, then
                          the most important removed channels restored while the FLOPs stay <= F:
                          per-layer ratios, as close below F as the channel counts allow) or
                          uniform (the same ratio in every coupled channel group)
  --prune-scope S         global (default) or layer, for sparsity
  --prune-schedule S      oneshot (default) or gradual (over the fine-tuning epochs), for sparsity
  --prune-min-density D   per-layer floor for sparsity: every pruned layer keeps at least this
                          fraction of its weights (default (1 - S) / 4; at most 1 - S). A global
                          threshold ranks weights of batch-normed layers by their folded value
  --prune-output          also prune the output (logits) layer (default: left dense)
  --finetune-epochs N     fine-tuning after pruning, and QAT epochs (default 2)
  --finetune-lr X         default 1e-3 (Adam, cosine decay)
  --distill               distil pruning's fine-tuning from the unpruned float network (Hinton et
                          al. 2015: temperature 4, soft-target weight 0.7); needs --prune
  --quantize MODE         static (int8 weights and activations, calibrated), qat (quantization-aware
                          fine-tuning for --finetune-epochs, then the same int8 network as static),
                          or dynamic (int8 linear weights)
  --max-drop D            with static: when post-training quantization costs more than D points of
                          validation accuracy, run QAT and keep it if it does better
  --qat-lr X              QAT learning rate (default 1e-4; Adam, cosine decay)
  --qat-freeze-bn E       QAT: batch-norm statistics frozen from epoch E on (default: the second
                          half of the QAT epochs, as PyTorch's QAT recipe freezes them part-way)
  --qat-freeze-observers E  QAT: activation ranges fixed from epoch E on (default as above)
  --per-tensor            int8 weights with one scale per tensor instead of per output channel
                          (for engines or hardware without per-channel support; coarser)
  --calibration N         calibration images from the training split (default 256)
  --qengine E             onednn (default) or qnnpack
  --dataset KIND          override the model's dataset (fashion_mnist, mnist, cifar10, digits)
  --train-per-class N|all training rows per class for fine-tuning and calibration (default: the
                          model's recorded train_per_class, so every row of the table is trained
                          on the data the model was; all: the whole training split). The data:
                          line (stderr) and report.json's data say the rows used and why
  --data-dir DIR          the directory of an image dataset
  --path FILE             the digits data as a CSV file (as tsnas train; --data-dir FILE still works)
  --out DIR               output directory (new; default ./compressed-<model>)
  --no-onnx               skip model.onnx
  --seed N                fine-tuning order and calibration sample (default 0)
  --json                  print the rows as JSON lines`,
  async run(argv) {
    const { flags: f, args, num } = parse(
      argv,
      COMPRESS_FLAGS,
      1,
      (p, issues) => {
        const g = p.flags;
        if ((g['study'] === undefined) === (p.args[0] === undefined)) issues.add(new UsageError('give either --study NAME or a MODEL_DIR'));
        for (const k of ['trial', 'storage'] as const) if (g[k] !== undefined && typeof g['study'] !== 'string') issues.add(flagError(k, 'applies with --study NAME', 'e.g. --study my-search --trial 3'));
        if (!g['prune'] && !g['quantize']) issues.add(new UsageError('nothing to do: give --prune and/or --quantize'));
        const q = g['quantize'];
        for (const k of ['qat-freeze-bn', 'qat-freeze-observers'])
          if (g[k] !== undefined && q !== 'qat' && g['max-drop'] === undefined) issues.add(flagError(k, 'applies only to QAT', 'add --quantize qat (or --quantize static --max-drop D)'));
        if (g['per-tensor'] && q !== 'static' && q !== 'qat') issues.add(flagError('per-tensor', 'applies only to --quantize static or qat', 'add --quantize static or --quantize qat'));
        if (g['distill'] && !g['prune']) issues.add(flagError('distill', 'applies only to the fine-tuning after pruning', 'add --prune (e.g. flops=0.55), or drop --distill'));
        if (g['max-drop'] !== undefined && q !== 'static') issues.add(flagError('max-drop', 'applies only to --quantize static (it decides the fallback to QAT)', 'add --quantize static, or drop --max-drop'));
      },
    );
    if (f['help']) {
      process.stdout.write(compressCmd.help + '\n');
      return 0;
    }
    const study = f['study'] as string | undefined;
    const trial = num('trial');
    // A study's best trial or trial N (trialOfStudy, the resolver of train's --study/--trial).
    const src: CompressSource = study !== undefined ? { study, storage: (f['storage'] as string | undefined) ?? DEFAULT_STORAGE_URL, ...(trial === undefined ? {} : { trial }) } : { dir: args[0]! };
    let dataset: DatasetSpec | undefined;
    // --dataset is checked against COMPRESS_DATASETS by parse (choices).
    if (typeof f['dataset'] === 'string') dataset = datasetOfFlags(f['dataset'] as (typeof COMPRESS_DATASETS)[number], f['data-dir'] as string | undefined, f['path'] as string | undefined);
    // Without --dataset the file flags are read as the model's recorded dataset (as tsnas train and finetune do).
    const fromRecord =
      dataset === undefined && (typeof f['data-dir'] === 'string' || typeof f['path'] === 'string')
        ? (r: DatasetSpec) => datasetOfFlags(r.kind as DatasetFlagKind, f['data-dir'] as string | undefined, f['path'] as string | undefined)
        : undefined;
    const q = f['quantize'] as string | undefined;
    const name = study !== undefined ? (trial === undefined ? study : `${study}-trial-${trial}`) : (resolve(args[0]!).split('/').pop() ?? 'model');
    const fe = num('finetune-epochs');
    const lr = num('finetune-lr');
    const cal = num('calibration');
    const seed = num('seed');
    const maxDrop = num('max-drop');
    const qatLr = num('qat-lr');
    const freezeBn = num('qat-freeze-bn');
    const freezeObs = num('qat-freeze-observers');
    const opts: CompressModelOptions = {
      ...(f['prune'] ? { prune: pruneFromFlags(f['prune'] as string, f) } : {}),
      ...(q ? { quantize: q as QuantMode } : {}),
      ...(fe !== undefined ? { finetuneEpochs: fe } : {}),
      ...(lr !== undefined ? { finetuneLr: lr } : {}),
      ...(f['distill'] ? { distill: true } : {}),
      ...(cal !== undefined ? { calibration: cal } : {}),
      ...(maxDrop !== undefined ? { maxDrop } : {}),
      ...(qatLr !== undefined ? { qatLr } : {}),
      ...(freezeBn !== undefined ? { qatFreezeBn: freezeBn } : {}),
      ...(freezeObs !== undefined ? { qatFreezeObservers: freezeObs } : {}),
      ...(f['per-tensor'] ? { weightScheme: 'per_tensor' as const } : {}),
      ...(f['qengine'] ? { qengine: f['qengine'] as 'onednn' | 'qnnpack' } : {}),
      ...(dataset ? { dataset } : {}),
      ...(fromRecord ? { datasetFromRecord: fromRecord } : {}),
      ...(typeof f['train-per-class'] === 'string' ? { trainPerClass: trainPerClassFlag(f['train-per-class']) } : {}),
      onData: (l: string) => void process.stderr.write(l + '\n'),
      ...(f['json'] ? {} : { progress: (label: string, total: number) => new Progress({ label, total, unit: 'steps' }) }),
      ...(seed !== undefined ? { seed } : {}),
      outDir: (f['out'] as string | undefined) ?? `compressed-${name}`,
      onnx: !f['no-onnx'],
      ...(f['json'] ? {} : { log: (l: string) => process.stderr.write(l + '\n') }),
    };
    // Ctrl-C / SIGTERM: stops at the next stage boundary or fine-tuning batch (a synchronous stage,
    // e.g. calibration or the latency measurement, ends first); the unfinished OUT.partial-* is removed.
    const ctl = interruptible('the compression stops at the next stage boundary or fine-tuning batch; nothing is written');
    // The library names its options as in TypeScript (finetuneEpochs, prune.minDensity): said here as the flags.
    const r = await compressModel(src, { ...opts, signal: ctl.signal }).catch((e: unknown) => {
      throw withFlagNames(e, COMPRESS_FLAGS, COMPRESS_OPTION_FLAGS);
    });
    if (f['json']) for (const row of r.rows) process.stdout.write(JSON.stringify(row) + '\n');
    else process.stdout.write(stageTable(r.rows) + `written to ${r.outDir}\n`);
    return 0;
  },
};
