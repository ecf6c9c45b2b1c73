/** `tsnas finetune`: transfer a trained network to another dataset or label set (new head, optional frozen layers). */
import { resolve } from 'node:path';
import { finetuneModel, type FinetuneModelOptions, type FreezeSpec } from '../api/finetune.js';
import { parseClassList } from '../data/classes.js';
import type { DatasetSpec } from '../data/prepare.js';
import { NON_NEGATIVE_INT, POSITIVE, datasetOfFlags, interruptible, flagError, withFlagNames, type DatasetFlagKind, type FlagSpec } from './args.js';
import { parse, UsageError, type ExtraCommand } from './commands-extra.js';
import { renderTable } from './table.js';
import { trainPerClassFlag } from './commands-compress.js';
import { DATASET_SYNONYMS, HEADER_SYNONYMS } from '../core/synonyms.js';

const DATASETS = ['fashion_mnist', 'mnist', 'cifar10', 'digits', 'csv'] as const;

/** `--freeze N` (a layer count) or `--freeze features`. */
function freezeOf(v: string): FreezeSpec {
  if (v === 'features') return 'features';
  if (/^\d+$/.test(v)) return Number(v);
  throw flagError('freeze', `must be a layer count or "features", got ${JSON.stringify(v)}`, 'e.g. --freeze 2 or --freeze features');
}

const FINETUNE_FLAGS: FlagSpec = {
  study: { type: 'string' },
  storage: { type: 'string' },
  trial: { type: 'string', number: NON_NEGATIVE_INT },
  dataset: { type: 'string', choices: DATASETS, synonyms: DATASET_SYNONYMS },
  'data-dir': { type: 'string' },
  path: { type: 'string' },
  label: { type: 'string' },
  header: { type: 'string', choices: ['auto', 'true', 'false'], synonyms: HEADER_SYNONYMS },
  'train-per-class': { type: 'string', check: (v) => void trainPerClassFlag(v) },
  'val-fraction': { type: 'string', number: { integer: false, min: 0.01, max: 0.9 } },
  'test-fraction': { type: 'string', number: { integer: false, min: 0.01, max: 0.9 } },
  classes: { type: 'string', list: true, check: (v) => void parseClassList(v, '--classes') },
  freeze: { type: 'string', check: (v) => void freezeOf(v) },
  epochs: { type: 'string', number: { integer: true, min: 1 } },
  lr: { type: 'string', number: POSITIVE },
  'body-lr-scale': { type: 'string', number: POSITIVE },
  'head-epochs': { type: 'string', number: NON_NEGATIVE_INT },
  'batch-size': { type: 'string', number: { integer: true, min: 1 } },
  scratch: { type: 'boolean' },
  seed: { type: 'string', number: NON_NEGATIVE_INT },
  out: { type: 'string' },
  'no-onnx': { type: 'boolean' },
  'no-keep-zeros': { type: 'boolean' },
  json: { type: 'boolean' },
};

export const finetuneCmd: ExtraCommand = {
  summary: 'fine-tune a trained model on another dataset or classes (new head, optionally frozen layers)',
  help: `usage: tsnas finetune MODEL_DIR --dataset KIND [options]
       tsnas finetune --study NAME [--storage URL] [--trial N] --dataset KIND [options]

Transfer learning: the trained network (a directory written by tsnas export, tsnas finetune, or a
tsnas compress float/pruned stage; or a study's best trial, or trial N with --trial) gets a new classifier head, freshly
initialised and sized to the new classes, and is trained on the new data; its first layers can be
frozen (kept bit-identical). Writes a new model directory OUT (model.json, weights.bin,
metrics.json with the test accuracy, model.onnx), which tsnas compress and tsnas finetune accept.
OUT appears only when everything succeeded. Example: a model trained on classes 0-4 of
Fashion-MNIST, fine-tuned on classes 5-9:
  tsnas finetune winner/ --dataset fashion_mnist --classes 5-9 --freeze features --epochs 3

options:
  --study NAME          fine-tune the weights of this study's best (feasible) trial
  --storage URL         the study's storage (default sqlite:./tsnas.db)
  --trial N             with --study: trial number N's weights instead of the best's (as train, export)
  --dataset KIND        fashion_mnist, mnist, cifar10, digits or csv (default: the model's own);
                        its samples must have the model's input shape
  --data-dir DIR        the directory of an image dataset (fashion_mnist, mnist, cifar10)
  --path FILE           the file of a digits or csv dataset (as tsnas train and search; the older
                        spelling --data-dir FILE still works)
  --label COL, --header auto|true|false
                        csv: the label column and whether line 1 is a header (as tsnas train)
  --train-per-class N|all  training rows per class (default: on the model's own dataset its
                        recorded train_per_class, the data it was trained on; all: the whole
                        training split). The data: line on stderr says the rows used and why
  --val-fraction F      held out for validation (default 0.1)
  --test-fraction F     digits/csv: held out for test (default 0.2)
  --classes LIST        classes of the dataset to keep, renumbered 0..k-1 in this order:
                        ranges and lists, e.g. 5-9 or 0,2,4 (default all)
  --freeze N|features   freeze the first N conv/linear layers (with their batch norms), or every
                        layer but the head (default 0: train everything)
  --epochs E            default 3
  --lr X                Adam, cosine-decayed (default 0.001; 0.01 with --freeze features, when
                        only the new head trains). A result at or near chance is warned about
  --body-lr-scale X     the transferred layers that train get X x lr, the new head lr
                        (discriminative fine-tuning, ULMFiT; default 1)
  --head-epochs N       the first N of the epochs train only the new head, then every layer not
                        frozen (LP-FT / gradual unfreezing; default 0; N < --epochs)
  --batch-size B        default 64
  --scratch             train the same network from fresh weights instead (a baseline)
  --no-keep-zeros       let the zeros of a magnitude-pruned model regrow (default: they are held
                        at zero through the fine-tuning, so the model keeps its sparsity)
  --seed N              head initialisation and batch order (default 0)
  --out DIR             new model directory (new or empty; default ./finetuned-<model>)
  --no-onnx             skip model.onnx
  --json                print the metrics as one JSON object`,
  async run(argv) {
    let dataset: DatasetSpec | undefined;
    let fromRecord: ((recorded: DatasetSpec) => DatasetSpec) | undefined;
    const { flags: f, args, num } = parse(
      argv,
      FINETUNE_FLAGS,
      1,
      (p, issues) => {
        if ((p.flags['study'] === undefined) === (p.args[0] === undefined)) issues.add(new UsageError('give either a MODEL_DIR or --study NAME'));
        for (const k of ['trial', 'storage'] as const) if (p.flags[k] !== undefined && typeof p.flags['study'] !== 'string') issues.add(flagError(k, 'applies with --study NAME', 'e.g. --study my-search --trial 3'));
        const kind = p.flags['dataset'];
        if (typeof kind === 'string') {
          const sv = (k: string) => (typeof p.flags[k] === 'string' ? (p.flags[k] as string) : undefined);
          const csv = { ...(sv('label') !== undefined ? { label: sv('label')! } : {}), ...(sv('header') !== undefined && !p.bad.has('header') ? { header: sv('header')! } : {}) };
          if (!p.bad.has('dataset')) dataset = issues.take(() => datasetOfFlags(kind as (typeof DATASETS)[number], sv('data-dir'), sv('path'), csv), undefined);
        } else if (['data-dir', 'path', 'label', 'header'].some((k) => typeof p.flags[k] === 'string')) {
          // Without --dataset the file flags are read as the model's recorded dataset (as tsnas train does).
          const sv = (k: string) => (typeof p.flags[k] === 'string' ? (p.flags[k] as string) : undefined);
          const csv = { ...(sv('label') !== undefined ? { label: sv('label')! } : {}), ...(sv('header') !== undefined && !p.bad.has('header') ? { header: sv('header')! } : {}) };
          fromRecord = (r) => datasetOfFlags(r.kind as DatasetFlagKind, sv('data-dir'), sv('path') ?? (r.kind === 'csv' && sv('data-dir') === undefined ? r.path : undefined), csv);
        }
      },
    );
    if (f['help']) {
      process.stdout.write(finetuneCmd.help + '\n');
      return 0;
    }
    const study = f['study'] as string | undefined;
    const freeze = typeof f['freeze'] === 'string' ? freezeOf(f['freeze']) : undefined;
    const classes = typeof f['classes'] === 'string' ? parseClassList(f['classes'], '--classes') : undefined;
    const epochs = num('epochs');
    const lr = num('lr');
    const bodyLrScale = num('body-lr-scale');
    const headEpochs = num('head-epochs');
    const bs = num('batch-size');
    const seed = num('seed');
    const valFraction = num('val-fraction');
    const testFraction = num('test-fraction');
    const trial = num('trial');
    const name = study !== undefined ? (trial === undefined ? study : `${study}-trial-${trial}`) : (resolve(args[0]!).split('/').pop() ?? 'model');
    let opts: FinetuneModelOptions = {
      ...(dataset ? { dataset } : {}),
      ...(fromRecord ? { datasetFromRecord: fromRecord } : {}),
      ...(classes ? { classes } : {}),
      ...(freeze !== undefined ? { freeze } : {}),
      ...(f['scratch'] ? { init: 'scratch' as const } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(lr !== undefined ? { lr } : {}),
      ...(bodyLrScale !== undefined ? { bodyLrScale } : {}),
      ...(headEpochs !== undefined ? { headEpochs } : {}),
      ...(bs !== undefined ? { batchSize: bs } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(typeof f['train-per-class'] === 'string' ? { trainPerClass: trainPerClassFlag(f['train-per-class']) } : {}),
      onData: (l: string) => void process.stderr.write(l + '\n'),
      ...(valFraction !== undefined ? { valFraction } : {}),
      ...(testFraction !== undefined ? { testFraction } : {}),
      outDir: (f['out'] as string | undefined) ?? `finetuned-${name}`,
      onnx: !f['no-onnx'],
      keepZeros: !f['no-keep-zeros'],
      ...(f['json'] ? {} : { log: (l: string) => process.stderr.write(l + '\n') }),
    };
    // Ctrl-C / SIGTERM: the fine-tuning stops after the current batch (or before the output is
    // written); the unfinished OUT.partial-* is removed. A signal during the last synchronous steps
    // (test pass, ONNX export) is no longer lost when the output is committed.
    const ctl = interruptible('the fine-tuning stops after the current batch; nothing is written');
    opts = { ...opts, signal: ctl.signal };
    // The library names its options as in TypeScript (headEpochs): said here as the flags (--head-epochs).
    const r = await finetuneModel(study !== undefined ? { study, storage: (f['storage'] as string | undefined) ?? 'sqlite:./tsnas.db', ...(trial === undefined ? {} : { trial }) } : { dir: args[0]! }, opts).catch((e: unknown) => {
      throw withFlagNames(e, FINETUNE_FLAGS, { outDir: 'out', init: 'scratch', keepZeros: 'no-keep-zeros', onnx: 'no-onnx' });
    });
    // Logged through `log` as the run goes; with --json (no log) on stderr here, and in the JSON.
    if (f['json']) for (const w of r.warnings) process.stderr.write(`tsnas finetune: warning: ${w}\n`);
    if (f['json']) process.stdout.write(JSON.stringify({ ...r.metrics, dir: r.dir ?? null, ...(r.warnings.length ? { warnings: r.warnings } : {}) }) + '\n');
    else {
      const m = r.metrics;
      process.stdout.write(
        renderTable(
          ['test acc %', 'val acc %', 'classes', 'frozen layers', 'trainable params', 'params'],
          [[Number(m.test_acc.toFixed(2)), Number.isFinite(m.val_acc) ? Number(m.val_acc.toFixed(2)) : '-', m.num_classes, `${m.frozen_layers}/${m.layers}`, m.trainable_params, m.params]],
        ) + `written to ${r.dir}\n`,
      );
    }
    return 0;
  },
};
