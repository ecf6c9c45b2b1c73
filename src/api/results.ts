/**
 * Reading results: study summaries, trial lists, the best trial, CSV/JSON of all trials, and the
 * winner's export directory (architecture JSON, weights and an ONNX model if trained, metrics and costs).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { NasError, isNasError } from '../core/errors.js';
import { requireParentDir } from '../core/paths.js';
import { holdPartial, removeStalePartials } from '../core/partial.js';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { affine, type Normalization } from '../data/normalize.js';
import { prepareData } from '../data/prepare.js';
import { checkArchJson } from '../eval/train.js';
import { buildNetwork } from '../nn/build/index.js';
import { exportOnnx, ONNX_OPSET } from '../nn/onnx/index.js';
import { loadModule } from '../nn/state.js';
import { Generator } from '../tensor/index.js';
import { openStore, type Store, type StudyRecord, type StudySummary, type TrialRecord } from '../store/index.js';
import { prescreenReport, type PrescreenFailure } from '../strategy/prescreen.js';
import { isSupernetTrial, violates } from '../core/metrics.js';
import { studyConstraints } from '../store/common.js';
import { resolveStorage } from './config.js';
import { resolveArtifact } from './artifacts.js';
import { parseTrainOptions } from './train-evaluator.js';
import { hypervolumeOf, paretoSet, referencePoint, referenceValues, type Hypervolume, type ParetoSet } from './pareto.js';

/**
 * Runs `f` on the store at `storage` opened read-only: reading never creates a database (a
 * mistyped path is `not_found`, a database with no tsnas schema `storage_error`), never changes
 * it, and leaves no -wal/-shm files beside an SQLite file (SqliteStore.open).
 */
async function withStore<T>(storage: string, f: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(resolveStorage(storage, process.cwd()), { readOnly: true });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Every study in the store, with trial counts and best value. */
export function listStudies(storage: string): Promise<StudySummary[]> {
  return withStore(storage, (s) => s.listStudies());
}

/** One study's summary; `not_found` lists the names that exist. */
export function studyStatus(storage: string, study: string): Promise<StudySummary> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    const all = await s.listStudies();
    const sum = all.find((x) => x.id === rec.id);
    if (!sum) throw new NasError('not_found', `study ${study} vanished while reading`);
    return sum;
  });
}

/**
 * Zero-cost proxy compute a study spent (RoBoT/MF-NAS-style accounting, issue 12): the prescreen's
 * candidates and ms (from the stored strategy state, `prescreenReport`) and the `proxy_ms` metric
 * of trials evaluated by the `proxy` evaluator. `totalMs` is their sum (ms of wall time);
 * `msPerCandidate` = totalMs / (prescreened candidates + proxy-evaluated trials). Null when the
 * study used neither. Values looked up in the shipped NB201 table carry the ms recorded when the
 * table was made (`recordedIn`: its file), not time this study spent; `failures` say why the
 * `failed` candidates lacked a proxy value (per proxy and reason: how many, the first keys).
 */
export interface StudyProxyTime {
  readonly prescreen: { readonly candidates: number; readonly failed: number; readonly ms: number; readonly failures?: readonly PrescreenFailure[]; readonly recordedIn?: string } | null;
  readonly evaluator: { readonly trials: number; readonly ms: number; readonly recordedIn?: string } | null;
  readonly totalMs: number;
  readonly msPerCandidate: number;
}

export function studyProxyTime(storage: string, study: string): Promise<StudyProxyTime | null> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    const st = (await s.loadStrategyState(rec.id)).state as { strategy?: unknown } | null;
    const rep = st && typeof st === 'object' ? prescreenReport(st.strategy) : null;
    let trials = 0;
    let ms = 0;
    for (const t of await s.listTrials(rec.id)) {
      const v = t.metrics?.['proxy_ms'];
      if (typeof v === 'number' && Number.isFinite(v)) (trials++, (ms += v));
    }
    if (!rep && trials === 0) return null;
    const totalMs = (rep?.proxyMs ?? 0) + ms;
    const n = (rep?.scored ?? 0) + trials;
    // The proxy evaluator on nb201 without a dataset reads the shipped table (src/api/proxy-parts.ts).
    const evTable = rec.evaluator.name === 'proxy' && rec.space.name.startsWith('nb201') && rec.evaluator.options['dataset'] === undefined;
    return {
      prescreen: rep ? { candidates: rep.scored, failed: rep.failed, ms: rep.proxyMs, ...(rep.failures ? { failures: rep.failures } : {}), ...(rep.recordedIn ? { recordedIn: rep.recordedIn } : {}) } : null,
      evaluator: trials ? { trials, ms, ...(evTable ? { recordedIn: 'data/nb201/nb201-proxies.csv.gz' } : {}) } : null,
      totalMs,
      msPerCandidate: n ? totalMs / n : 0,
    };
  });
}

export function studyTrials(storage: string, study: string): Promise<{ study: StudyRecord; trials: TrialRecord[] }> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    return { study: rec, trials: await s.listTrials(rec.id) };
  });
}

export function bestTrial(storage: string, study: string): Promise<{ study: StudyRecord; best: TrialRecord | null }> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    return { study: rec, best: await s.bestTrial(rec.id) };
  });
}

/** A multi-objective study's Pareto set and hypervolume (src/api/pareto.ts). */
export interface StudyPareto extends ParetoSet {
  readonly study: StudyRecord;
  /** Null when no trial is on the front (or the study has one objective and no reference point was given). */
  readonly hypervolume: Hypervolume | null;
}

/**
 * The Pareto set of a study (Optuna's best_trials: complete, feasible, non-dominated on every
 * objective) and its hypervolume: bounded by `refPoint` when given (one value per objective,
 * `refSource` given), else by the study's own point (referencePoint over its complete trials).
 */
export function studyPareto(storage: string, study: string, opts: { readonly refPoint?: readonly number[] } = {}): Promise<StudyPareto> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    const trials = await s.listTrials(rec.id);
    const set = paretoSet(rec, trials);
    const objectives = set.objectives;
    const ref = opts.refPoint ?? referencePoint(referenceValues(trials, objectives), objectives);
    const hypervolume = ref && set.trials.length ? hypervolumeOf(set.trials, objectives, ref, opts.refPoint ? 'given' : 'study') : null;
    return { ...set, study: rec, hypervolume };
  });
}

/** A study's constraints in words: `latency_ms <= 0.0001, params >= 1000`. */
export function constraintRule(constraints: readonly Readonly<Record<string, unknown>>[]): string {
  return constraints.map((c) => `${String(c['metric'])}${typeof c['max'] === 'number' ? ` <= ${c['max']}` : ''}${typeof c['min'] === 'number' ? ` >= ${c['min']}` : ''}`).join(', ');
}

/**
 * `constraint_unsatisfiable` naming the constraints and the fix when a study without a best trial
 * has `complete` > 0 complete trials and constraints (so none of them is feasible); else undefined.
 * Shared by `tsnas best`, the end of `tsnas search` and `tsnas status --study`.
 */
export function noFeasibleTrialError(rec: Pick<StudyRecord, 'name' | 'constraints'>, complete: number): NasError | undefined {
  if (complete === 0 || rec.constraints.length === 0) return undefined;
  return new NasError('constraint_unsatisfiable', `study ${rec.name} has ${complete} complete trial(s), but none satisfies its constraints (${constraintRule(rec.constraints)})`, {
    field: 'constraints',
    hint: `no feasible winner exists: loosen the constraints and search again (tsnas trials --study ${rec.name} shows each trial's metrics)`,
    details: { complete, constraints: rec.constraints },
  });
}

/** Why a study has no best trial when that is its constraints (noFeasibleTrialError), else null. */
export function studyInfeasibility(storage: string, study: string): Promise<NasError | null> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    if (await s.bestTrial(rec.id)) return null;
    return noFeasibleTrialError(rec, (await s.countTrials(rec.id)).complete) ?? null;
  });
}

/**
 * The best trial, or an error that says why there is none: `not_found` when no trial is complete
 * yet, `constraint_unsatisfiable` when trials completed but none satisfies the study's constraints
 * (an infeasible trial is never reported, exported or shown as the winner).
 */
export function requireBestTrial(storage: string, study: string): Promise<{ study: StudyRecord; best: TrialRecord }> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    const best = await s.bestTrial(rec.id);
    if (best) return { study: rec, best };
    const complete = (await s.countTrials(rec.id)).complete;
    const why = noFeasibleTrialError(rec, complete);
    if (why) throw why;
    throw new NasError('not_found', `study ${rec.name} has no complete trial yet`, { field: 'study', hint: 'run the search first (tsnas search), or check tsnas status' });
  });
}

/**
 * Throws `invalid_config` when `t` is a one-shot study's supernet search trial (core
 * isSupernetTrial: trial 0, arch `{supernet, method}`), which is no network to export or train;
 * the derived architecture is trial 1 (api/oneshot.ts). `field` names the option that chose it
 * (`--trial` / `trial`), `verb` the command of the hint (`export`, `train`).
 */
export function refuseSupernetTrial(study: string, t: { readonly number: number; readonly params?: Readonly<Record<string, unknown>> | null }, field: string, verb: string): void {
  if (!isSupernetTrial(t)) return;
  throw new NasError('invalid_config', `trial ${t.number} is the one-shot supernet search, not a network; the derived architecture is trial 1`, {
    field,
    hint: `tsnas ${verb} --study ${study} --trial 1 (or without --trial: the best trial)`,
  });
}

/**
 * `not_found` for `--study NAME --trial N` naming a trial the study does not have (field `trial`,
 * the range of its trial numbers, or that it has none yet): the one error of every command that
 * takes --trial (train, export, compress, finetune).
 */
export function noSuchTrial(study: string, number: number, numbers: readonly number[]): NasError {
  return new NasError('not_found', `study ${study} has no trial number ${number}`, {
    field: 'trial',
    hint: numbers.length ? `trial numbers run from ${Math.min(...numbers)} to ${Math.max(...numbers)} (tsnas trials --study ${study})` : 'the study has no trials yet',
  });
}

/**
 * Trial `number` of a study for export: it must exist (`not_found` naming the range) and be
 * complete (`invalid_config`); a trial that violates the study's constraints is returned with a
 * warning pushed to `warnings`.
 */
function requireTrial(storage: string, study: string, number: number, warnings: string[]): Promise<{ study: StudyRecord; best: TrialRecord }> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    const t = await s.getTrialByNumber(rec.id, number);
    if (!t) throw noSuchTrial(rec.name, number, (await s.listTrials(rec.id)).map((x) => x.number));
    refuseSupernetTrial(rec.name, t, '--trial', 'export');
    if (t.state !== 'complete') throw new NasError('invalid_config', `trial ${number} of study ${rec.name} is ${t.state}, not complete: it has no result to export`, { field: '--trial', hint: `tsnas trials --study ${rec.name} --state complete lists the complete ones` });
    const constraints = studyConstraints(rec);
    if (constraints.length && violates(t.metrics ?? {}, constraints)) warnings.push(`trial ${number} violates the study's constraints (${constraintRule(rec.constraints)}): exported as asked, but it is not a feasible result`);
    return { study: rec, best: t };
  });
}

/** Metric names over all trials, sorted, val_* first then test_* then the rest. */
export function metricColumns(trials: readonly TrialRecord[]): string[] {
  const names = new Set<string>();
  for (const t of trials) for (const k of Object.keys(t.metrics ?? {})) names.add(k);
  const rank = (n: string) => (n.startsWith('val_') ? 0 : n.startsWith('test_') ? 1 : n.startsWith('train_') ? 2 : 3);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** All trials as CSV: one row per trial, objective values, every metric, the architecture JSON. */
export function trialsToCsv(study: StudyRecord, trials: readonly TrialRecord[]): string {
  const metrics = metricColumns(trials);
  const numbers = trialNumbersById(trials);
  const parents = trials.map((t) => trialForOutput(t, numbers).userAttrs['parent_trial']);
  const lineage = parents.some((p) => typeof p === 'number');
  const header = [
    'number',
    'state',
    'attempt',
    ...study.objectives.map((o) => `value_${o.metric}`),
    ...metrics,
    'budget',
    'duration_ms',
    'arch_key',
    'arch',
    'error',
    // Last, so the columns before it keep their places whether or not a study has lineage.
    ...(lineage ? ['parent_trial'] : []),
  ];
  const rows = trials.map((t, i) => [
    t.number,
    t.state,
    t.attempt,
    ...study.objectives.map((_, i) => t.values?.[i] ?? null),
    ...metrics.map((m) => t.metrics?.[m] ?? null),
    t.budget,
    t.durationMs,
    t.archKey,
    JSON.stringify(t.arch),
    t.error,
    ...(lineage ? [typeof parents[i] === 'number' ? parents[i] : null] : []),
  ]);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export function trialsToJson(study: StudyRecord, trials: readonly TrialRecord[]): string {
  const numbers = trialNumbersById(trials);
  return JSON.stringify({ study: study.name, objectives: study.objectives, trials: trials.map((t) => trialForOutput(t, numbers)) }, null, 2) + '\n';
}

/** Trial id -> trial number, for `trialForOutput`. */
export function trialNumbersById(trials: readonly TrialRecord[]): ReadonlyMap<number, number> {
  return new Map(trials.map((t) => [t.id as number, t.number]));
}

/**
 * A trial as the CLI prints it (`best --json`, `trials`/`export --format json|csv`): its lineage
 * named once, as a trial number like every table shows: `userAttrs.parent_trial`, the trial it was
 * mutated from (evolution) or whose promotion it is (multi-fidelity). The strategies' own record
 * of it, `params.parent` / `params.promotes`, holds trial *ids* (the run layer's key), which sat
 * beside the number looking like one (session 9: `params.parent: 11` beside `parent_trial: 10`);
 * it is left out. `numbers` maps ids to numbers for a trial whose parent_trial is not yet recorded
 * (recorded when the trial starts).
 */
export function trialForOutput(t: TrialRecord, numbers: ReadonlyMap<number, number>): TrialRecord {
  const { parent, promotes, ...params } = t.params;
  if (parent === undefined && promotes === undefined) return t;
  const id = typeof promotes === 'number' ? promotes : parent;
  const recorded = t.userAttrs['parent_trial'];
  const n = typeof recorded === 'number' ? recorded : typeof id === 'number' ? numbers.get(id) : undefined;
  return { ...t, params, userAttrs: { ...t.userAttrs, ...(n === undefined ? {} : { parent_trial: n }) } };
}

/**
 * Writes text to `path` atomically (a temp file renamed into place): a reader never sees half a
 * file, and a failure leaves nothing behind.
 */
export function writeFileAtomic(path: string, text: string | Uint8Array): void {
  requireParentDir(path, 'out');
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  // Removed on SIGINT/SIGTERM too (core/partial.ts); one of a dead process is removed here.
  for (const line of removeStalePartials(resolve(path))) process.stderr.write(`tsnas: ${line}\n`);
  const release = holdPartial(tmp);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    release();
  } catch (e) {
    rmSync(tmp, { force: true });
    release();
    throw new NasError('invalid_config', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      field: 'out',
      hint: 'choose a writable location',
    });
  }
}

export interface ExportResult {
  readonly dir: string;
  readonly files: string[];
  readonly trial: TrialRecord;
  /** What the export could not include and why (e.g. a recorded weights file that is missing). */
  readonly warnings: string[];
}

export interface ExportOptions {
  /** Also write `model.onnx` when the winner has weights (default true). */
  readonly onnx?: boolean;
  /**
   * Export this trial (its number) instead of the best: e.g. another member of a multi-objective
   * study's Pareto set (`tsnas best` lists them). It must be complete; an infeasible one is exported
   * with a warning.
   */
  readonly trial?: number;
}

/** What metrics.json says about model.onnx. */
export interface OnnxExportInfo {
  readonly file: string;
  readonly opset: number;
  /** `[batch, ...per-sample shape]`; `batch` is symbolic. */
  readonly input_shape: (number | string)[];
  readonly output_shape: (number | string)[];
  /** The training normalisation, applied inside the model: it takes raw values. */
  readonly input_normalization: Normalization;
}

function normalizationOf(v: unknown): Normalization | undefined {
  const n = v as Partial<Normalization> | undefined;
  const nums = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'number' && Number.isFinite(e));
  if (!n || typeof n.scale !== 'number' || !nums(n.mean) || !nums(n.std) || n.mean.length !== n.std.length) return undefined;
  return { scale: n.scale, mean: n.mean, std: n.std };
}

/**
 * model.onnx for a trained trial: the network is rebuilt from the trial's architecture for the
 * study's dataset (shape, classes; `train` evaluator options), the trial's weights are loaded
 * (strictly: every key and shape must match), and the model is exported with the training
 * normalisation in front, so it takes raw inputs like the dataset files hold: the file's own
 * (meta `normalization`: {scale, mean, std}) when it has one, else the one fitted on the study's
 * training split.
 */
async function winnerOnnx(rec: StudyRecord, best: TrialRecord, weightsPath: string): Promise<{ bytes: Uint8Array; info: Omit<OnnxExportInfo, 'file'> }> {
  if (rec.evaluator.name !== 'train')
    throw new NasError('invalid_config', `trial ${best.number} has weights, but study ${rec.name} uses evaluator ${rec.evaluator.name}: its input shape is unknown`, {
      field: 'evaluator',
      hint: 'export without the ONNX model (--no-onnx)',
    });
  const { eval: opts } = parseTrainOptions(rec.evaluator.options, process.cwd());
  const data = await prepareData(opts.dataset, opts.split ?? {});
  const archOrJoint: NetworkArch | JointArch = checkArchJson(best.arch);
  const arch = 'hparams' in archOrJoint ? archOrJoint.arch : archOrJoint;
  const input = { shape: data.shape, numClasses: data.numClasses };
  const { module } = buildNetwork(arch, input, {
    gen: new Generator(0),
    ...(opts.nb201 ? { nb201: opts.nb201 } : {}),
    ...(opts.darts ? { darts: opts.darts } : {}),
  });
  try {
    let meta: Record<string, unknown>;
    try {
      meta = loadModule(weightsPath, module);
    } catch (e) {
      if (!isNasError(e, 'shape_mismatch')) throw e;
      throw new NasError('shape_mismatch', `the weights ${weightsPath} do not fit trial ${best.number}'s architecture on ${data.name}: ${e.message}`, {
        field: 'weights_path',
        hint: 'the file must be the state dict of this trial (or export with --no-onnx)',
        cause: e,
      });
    }
    // Weights trained on another split than the study's (e.g. tsnas main's final training on the
    // full training set) carry their own normalisation in the file's meta when the trainer saved it.
    const normalization = normalizationOf(meta['normalization']) ?? data.normalization;
    const { a, b } = affine(normalization);
    const bytes = exportOnnx(module, data.shape, {
      name: `${rec.name}-trial-${best.number}`,
      inputAffine: { a, b },
      metadata: { study: rec.name, trial: String(best.number), arch: JSON.stringify(best.arch), dataset: data.name },
    });
    return {
      bytes,
      info: { opset: ONNX_OPSET, input_shape: ['batch', ...data.shape], output_shape: ['batch', data.numClasses], input_normalization: normalization },
    };
  } finally {
    module.dispose();
  }
}

/**
 * Exports the best trial into `outDir` (created; must not exist or be empty): `arch.json`,
 * `metrics.json` (metrics, objective values, costs, provenance), `weights.*` when the trial was
 * trained and its weights were kept (trial attribute `weights_path`), and then `model.onnx` (see
 * winnerOnnx; `opts.onnx: false` skips it). Written into a temporary directory renamed into
 * place, so a failed export leaves nothing half-written.
 */
export async function exportWinner(storage: string, study: string, outDir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  // The output's place is checked before the store is read: a missing parent is an error, never created.
  const dir = requireParentDir(outDir, 'out');
  if (existsSync(dir)) throw new NasError('invalid_config', `${dir} already exists`, { field: 'out', hint: 'give a new directory name; export never overwrites' });
  const warnings: string[] = [];
  const { study: rec, best } = opts.trial === undefined ? await requireBestTrial(storage, study) : await requireTrial(storage, study, opts.trial, warnings);
  if (opts.trial === undefined && rec.objectives.length > 1) {
    const front = await studyPareto(storage, study);
    warnings.push(
      `study ${rec.name} has ${rec.objectives.length} objectives: trial ${best.number} is the best by ${rec.objectives[0]!.metric} alone, one of a Pareto front of ${front.trials.length} trial(s) ` +
        `(${front.trials.map((t) => t.number).join(', ')}); tsnas best --study ${rec.name} lists them, and --trial N exports another`,
    );
  } else if (rec.objectives.length > 1) {
    // A chosen trial off the front is exported as asked, and said (new user 10b, finding 7).
    const front = await studyPareto(storage, study);
    if (!front.trials.some((t) => t.number === best.number))
      warnings.push(
        `trial ${best.number} is not on the Pareto front of study ${rec.name} (${front.trials.length} trial(s): ${front.trials.map((t) => t.number).join(', ')}): exported as asked, but another trial is at least as good on every objective; tsnas best --study ${rec.name} lists the front`,
      );
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  const files: string[] = [];
  // The unfinished export of an earlier run (a process no longer running) is removed and said.
  warnings.push(...removeStalePartials(dir));
  // Removed on SIGINT/SIGTERM and process exit as well (core/partial.ts).
  const release = holdPartial(tmp);
  try {
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'arch.json'), JSON.stringify(best.arch, null, 2) + '\n');
    files.push('arch.json');
    const recorded = best.userAttrs['weights_path'];
    let weights: string | null = null;
    if (typeof recorded === 'string') {
      const r = resolveArtifact(storage, rec, recorded);
      if (r.found) weights = r.path;
      else
        warnings.push(
          `trial ${best.number}'s weights file is missing (looked in ${r.tried.join(' and ')}): exported the architecture and metrics only, no weights and no model.onnx; ` +
            'if the study folder was moved, keep <db>.artifacts/ beside the database',
        );
    }
    let weightsFile: string | null = null;
    if (weights !== null) {
      weightsFile = `weights${weights.endsWith('.json') ? '.json' : '.bin'}`;
      copyFileSync(weights, join(tmp, weightsFile));
      files.push(weightsFile);
    }
    let onnx: OnnxExportInfo | null = null;
    if (weights !== null && weightsFile && weightsFile.endsWith('.bin') && (opts.onnx ?? true)) {
      const { bytes, info } = await winnerOnnx(rec, best, weights);
      writeFileSync(join(tmp, 'model.onnx'), bytes);
      files.push('model.onnx');
      onnx = { file: 'model.onnx', ...info };
    }
    const m = best.metrics ?? {};
    const costNames = ['params', 'flops', 'macs', 'latency_ms', 'memory_bytes'];
    const costs = Object.fromEntries(Object.entries(m).filter(([k]) => costNames.includes(k) || k.startsWith('latency_')));
    const metrics = Object.fromEntries(Object.entries(m).filter(([k]) => !(k in costs)));
    writeFileSync(
      join(tmp, 'metrics.json'),
      JSON.stringify(
        {
          study: rec.name,
          trial: best.number,
          objectives: rec.objectives.map((o, i) => ({ ...o, value: best.values?.[i] ?? null })),
          metrics,
          costs,
          arch_key: best.archKey,
          budget: best.budget,
          duration_ms: best.durationMs,
          weights: weightsFile,
          // When the winner was retrained after the search (tsnas main), the exported weights are
          // the retrained ones and these are their metrics; `metrics` above stay the search's.
          final_training: best.userAttrs['final_training'] ?? null,
          // What those retrained weights were trained on (split, epochs, augmentation; model-record.ts
          // FinalRecord): the record later stages read instead of the search's evaluator split.
          final_record: best.userAttrs['final_record'] ?? null,
          onnx,
          strategy: rec.strategy,
          space: rec.space.name,
          evaluator: rec.evaluator,
          seed: rec.seed,
        },
        null,
        2,
      ) + '\n',
    );
    files.push('metrics.json');
    renameSync(tmp, dir);
    release();
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    release();
    if (e instanceof NasError) throw e;
    throw new NasError('invalid_config', `cannot export into ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      field: 'out',
      hint: 'choose a writable location',
    });
  }
  return { dir, files, trial: best, warnings };
}
