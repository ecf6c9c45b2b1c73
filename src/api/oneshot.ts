/**
 * One-shot searches as studies (DARTS, DARTS 2nd order, GDAS, SPOS; src/oneshot): validated in full
 * and the data loaded and split before anything is written, then recorded in the store as
 * docs/oneshot.md specifies (format `tsnas.oneshot/1`):
 *
 *   study     strategy.name = the method, strategy.options = its options (snake_case), maxTrials 2,
 *             user attribute `oneshot` = {format, method, space, search_trial: 0, derived_trial: 1}
 *   trial 0   the supernet search: arch {supernet: <space>, method}, params {oneshot_role: 'search'};
 *             one intermediate value per supernet epoch (step = epoch); user attribute `alpha`
 *             (per-edge softmax of alpha per epoch, methods with alpha), `derived_arch` (the result,
 *             set before the trial is finished), `spos_search` (SPOS's evaluated paths);
 *             finished complete with values null (so it is never the study's best)
 *   trial 1   the derived architecture retrained from scratch (`final_epochs`): arch = the derived
 *             architecture in the space's ordinary type, params {oneshot_role: 'derived'}, the
 *             trainer's per-epoch intermediate values, the objective values, `weights_path`:
 *             the study's best trial, so status / best / export / the dashboard treat it as any winner.
 *
 * Resume: supernet weights, alpha and both optimizers' states are checkpointed after every epoch
 * in the study's artifacts directory; rerunning the same command after a crash (even kill -9)
 * claims trial 0 again once its lease expired, re-records the finished epochs from the
 * checkpoint and continues after the last one. A failed search (NaN loss or alpha) fails trial 0
 * and the study with the reason; an interrupted one (Ctrl-C) releases its trial for a rerun.
 */
import { didYouMean } from '../core/suggest.js';
import { didYouMeanMetric } from '../core/metrics.js';
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Nb201Arch, NetworkArch } from '../core/arch.js';
import { NasError, isNasError, withIssueSources } from '../core/errors.js';
import { workerId as makeWorkerId } from '../core/ids.js';
import { canonicalJson, type Json, type JsonObject } from '../core/json.js';
import { hash32 } from '../core/rng.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { trainOnData, type TrainingEvaluatorOptions } from '../eval/train.js';
import { formatNb201 } from '../space/nb201.js';
import { isOneShotMethod, parseOneShotOptions, oneShotOptionsToJson, ONESHOT_METHODS, type OneShotMethodName, type OneShotOptions } from '../oneshot/options.js';
import { supernetFactory } from '../oneshot/registry.js';
import { runOneShot, splitHalves, type EpochRecord } from '../oneshot/search.js';
import type { EdgeInfo } from '../oneshot/supernet.js';
import { accStandardError, alphaDecisions, checkIndecision, indecisionJson, MIN_ALPHA_GAP, pathDecision, type Indecision } from '../oneshot/indecision.js';
import { defaultWorkerId, sleep } from '../run/study.js';
import { closeDiscardingCreated, openStore, type Store, type StudyRecord, type TrialCounts, type TrialRecord } from '../store/index.js';
import { configSourceOf, withSearchFlagNames, identityConflict, identityDiff, identityOf, rawConfig, validateConfigCollect, type StudyConfig } from './config.js';
import { asEvaluatorFields, resolveSpace } from './parts.js';
import type { PrepareInput } from './config.js';
import { TRAIN_OPTIONS, parseTrainOptions, withWeightsDefaults } from './train-evaluator.js';
import { fail, type Obj } from './validate.js';

export const ONESHOT_FORMAT = 'tsnas.oneshot/1';
export const ALPHA_FORMAT = 'tsnas.alpha/1';

export { ONESHOT_METHODS, isOneShotMethod };

export interface PreparedOneShot {
  readonly config: StudyConfig;
  readonly method: OneShotMethodName;
  readonly options: OneShotOptions;
  readonly train: TrainingEvaluatorOptions;
  /** Absolute directory of checkpoints and weights; null when the storage has none (no resume). */
  readonly artifactsDir: string | null;
  /**
   * The train evaluator's data, loaded and split once (memoised). Its problems (an empty
   * validation split, a continuous label column) are named as the config's problems are: by the
   * flag that set the value (`--val-fraction`), else the config field (`evaluator.val_fraction`).
   */
  readonly data: () => Promise<PreparedData>;
}

/** The one-shot method a config/flags name as its strategy, or undefined (a multi-trial search). */
export function oneShotMethodOf(input: PrepareInput): OneShotMethodName | undefined {
  const f = input.flags?.['strategy'];
  if (typeof f === 'string') return isOneShotMethod(f) ? f : undefined;
  const { raw } = rawConfig(input);
  const s = (raw as Obj | undefined)?.['strategy'];
  const name = typeof s === 'string' ? s : typeof s === 'object' && s !== null ? (s as Obj)['name'] : undefined;
  return typeof name === 'string' && isOneShotMethod(name) ? name : undefined;
}

/**
 * Validates a one-shot study config (method, options, space with a supernet, the `train`
 * evaluator and its data files, objectives) without opening or writing anything.
 * `finalEpochs` (the CLI's --final-epochs) overrides the options' `final_epochs`.
 */
export function prepareOneShot(input: PrepareInput & { finalEpochs?: number }): PreparedOneShot {
  // Problems headed by where they are written, as prepareSearch's (configSourceOf).
  const sourceOf = configSourceOf(input);
  const named = (e: unknown): unknown => withSearchFlagNames(sourceOf ? withIssueSources(e, sourceOf, 'in the config') : e, input);
  let p: Omit<PreparedOneShot, 'data'>;
  try {
    p = prepareOneShotUnsourced(input);
  } catch (e) {
    throw named(e);
  }
  let data: Promise<PreparedData> | undefined;
  return {
    ...p,
    data: () => (data ??= prepareData(p.train.dataset, p.train.split ?? {}).catch((e: unknown) => Promise.reject(named(isNasError(e) ? asEvaluatorFields(e) : e)))),
  };
}

function prepareOneShotUnsourced(input: PrepareInput & { finalEpochs?: number }): Omit<PreparedOneShot, 'data'> {
  const { raw, baseDir } = rawConfig(input);
  const r = raw as Obj;
  if (r && typeof r === 'object' && r['trials'] === undefined) r['trials'] = 2;
  // Every problem of the config is reported at once (core/issues.ts): the config's fields, then
  // the method, its options, the space's supernet, the train evaluator's options and the fields a
  // one-shot study restricts.
  const { config: checked, issues: I } = validateConfigCollect(raw, baseDir);
  let config = I.count > 0 ? checked : I.take(() => withWeightsDefaults(checked), checked);
  const method = config.strategy.name;
  const isMethod = isOneShotMethod(method);
  if (!isMethod && method !== '') I.take(() => fail('strategy', `${JSON.stringify(method)} is not a one-shot method${didYouMean(method, ONESHOT_METHODS)}`, `use one of: ${ONESHOT_METHODS.join(', ')}`), undefined);
  const options = I.take(() => parseOneShotOptions({ ...config.strategy.options, ...(input.finalEpochs === undefined ? {} : { final_epochs: input.finalEpochs }) }, 'strategy.options', config.space), undefined);
  const space = config.space === '' ? undefined : I.take(() => resolveSpace(config.space), undefined);
  if (space && isMethod && options) I.take(() => supernetFactory(config.space, method, options), undefined);
  if (config.evaluator.name !== '' && config.evaluator.name !== 'train')
    I.take(() => fail('evaluator.name', `one-shot method ${method} trains a supernet on real data: it needs the train evaluator, not ${config.evaluator.name}`, 'use evaluator: { name: train, dataset: ... }'), undefined);
  // Train-evaluator options that act across a study's trials (cross-validated trials, weights
  // inherited from a parent trial, budgets in samples of a multi-fidelity schedule): a one-shot
  // study has one supernet and one retraining, so they would be accepted and do nothing. They are
  // refused, and the rest is checked against the fields a one-shot study takes.
  const ignored: readonly string[] = ONE_SHOT_IGNORED_TRAIN_FIELDS;
  if (config.evaluator.name === 'train') {
    for (const f of ignored) {
      if (config.evaluator.options[f] !== undefined)
        I.take(() => fail(`evaluator.${f}`, `one-shot method ${method} does not use ${f} (it trains one supernet and retrains one derived architecture; ${f} applies to multi-trial searches)`, `remove evaluator.${f}, or use a multi-trial strategy (e.g. evolution, tpe)`), undefined);
    }
  }
  const used = Object.fromEntries(Object.entries(config.evaluator.options).filter(([k]) => !ignored.includes(k))) as JsonObject;
  const parsed = config.evaluator.name === 'train' ? I.take(() => parseTrainOptions(used, baseDir, TRAIN_OPTIONS.filter((f) => !ignored.includes(f))), undefined) : undefined;
  if (config.workers > 1) I.take(() => fail('workers', `one-shot method ${method} runs in one process (one supernet)`, 'use workers: 1'), undefined);
  if (config.constraints.length > 0) I.take(() => fail('constraints', `one-shot method ${method} cannot enforce constraints during the supernet search`, 'remove the constraints, or use a multi-trial strategy'), undefined);
  if (config.trials !== 2) I.take(() => fail('trials', `a one-shot study has exactly 2 trials (the supernet search and the retrained derived architecture), got ${config.trials}`, 'leave trials unset'), undefined);
  const metricNames = ['val_loss', 'val_acc', 'val_precision', 'val_recall', 'val_f1', 'params', 'flops', 'macs', 'memory_bytes', 'train_loss', 'train_acc'];
  config.objectives.forEach((o, i) => {
    if (o.metric !== '' && !metricNames.includes(o.metric)) I.take(() => fail(`objectives[${i}].metric`, `a one-shot study cannot optimise ${JSON.stringify(o.metric)}${didYouMeanMetric(o.metric, metricNames)}`, `use one of: ${metricNames.join(', ')}`), undefined);
  });
  I.throwIfAny('the config');
  const { eval: train, options: evOptions } = parsed!;
  config = { ...config, strategy: { name: method, options: oneShotOptionsToJson(options!) as JsonObject }, evaluator: { name: 'train', options: evOptions } };
  const dir = evOptions['artifacts_dir'];
  return { config, method: method as OneShotMethodName, options: options!, train, artifactsDir: typeof dir === 'string' ? dir : null };
}

/** Train-evaluator fields a one-shot study refuses: they apply only across a multi-trial search's trials. */
export const ONE_SHOT_IGNORED_TRAIN_FIELDS = ['cv_folds', 'cv_repeats', 'cv_predictions', 'inherit', 'inherit_lr_scale', 'inherit_optimizer', 'budget_samples'] as const;

/**
 * Below this many weight steps a supernet is warned about before training. Session 9: SPOS on the
 * digits data (10 epochs x ~10 batches of 64 of the ~600-image weights half = ~100 steps) stayed
 * near chance (random-path validation accuracy 19-60%, epoch to epoch); with 40 epochs (~400
 * steps) it reached 95.4%, with batch_size 16 (~400 steps in 10 epochs) 87.6%. Batch norm and the
 * path sampling were not the cause: the same supernet trains given the steps.
 */
export const MIN_SUPERNET_STEPS = 400;

/** The warning for a supernet that gets fewer than MIN_SUPERNET_STEPS weight steps, or undefined. */
export function supernetStepWarning(epochs: number, weightsRows: number, batchSize: number): string | undefined {
  const perEpoch = Math.floor(weightsRows / batchSize);
  const steps = epochs * perEpoch;
  if (steps >= MIN_SUPERNET_STEPS) return undefined;
  const needEpochs = Math.ceil(MIN_SUPERNET_STEPS / Math.max(1, perEpoch));
  return `the supernet gets only ${steps} weight steps (${epochs} epochs x ${perEpoch} batches of ${batchSize} from the ${weightsRows}-image weights half): too few to train it, its path scores rank little (digits: ~100 steps stayed near chance, ~400 reached 88-95%); give at least ${MIN_SUPERNET_STEPS}: strategy options epochs: ${needEpochs}, or a smaller batch_size`;
}

/**
 * What a one-shot search warns about before it trains, from its config and its loaded data (the
 * training split it halves): the supernet step plan (supernetStepWarning). oneShotSearch emits
 * these as `warning` events; the shipped examples are checked against it (examples.test.ts)
 * without training. Throws as splitHalves does for data too small for two halves.
 */
export async function oneShotStartWarnings(p: PreparedOneShot): Promise<string[]> {
  const data = await p.data();
  return planWarnings(p, splitHalves(data, p.options.batchSize, p.config.seed));
}

/**
 * The shared negligible-margin check (src/oneshot/indecision.ts) on a finished search: alpha
 * methods' last-epoch softmax(alpha) over the edges the derived architecture keeps (the DARTS
 * cell: the two inputs per node it keeps, `none` not a candidate), SPOS's best two paths against
 * one standard error of the winner's accuracy on the images scored. Undefined when every choice
 * was decided by more.
 */
export function indecisionOf(p: Pick<PreparedOneShot, 'method' | 'options'>, edges: readonly EdgeInfo[], history: readonly EpochRecord[], details: Json | undefined, derived: Json, space: string): Indecision | undefined {
  const probs = history[history.length - 1]?.probs;
  if (probs) {
    let kept = edges;
    let skip: string[] = [];
    if (space === 'darts') {
      skip = ['none'];
      const d = derived as { normal?: { edges?: { input: number }[] }; reduce?: { edges?: { input: number }[] } };
      const names = new Set<string>();
      for (const cell of ['normal', 'reduce'] as const) (d[cell]?.edges ?? []).forEach((e, k) => names.add(`${cell}.n${2 + Math.floor(k / 2)}.in${e.input}`));
      kept = edges.filter((e) => names.has(e.name));
    }
    const rows = kept.map((e) => probs[edges.indexOf(e)]!);
    return checkIndecision(p.method, alphaDecisions(kept, rows, skip), MIN_ALPHA_GAP, 'alpha_gap', p.options.alphaLr);
  }
  const sp = details as { evaluated?: { path: number[]; score: number }[]; images?: number; score?: number } | undefined;
  if (sp?.evaluated && typeof sp.images === 'number' && typeof sp.score === 'number')
    return checkIndecision(p.method, pathDecision(sp.evaluated), accStandardError(sp.score, sp.images), 'acc_points');
  return undefined;
}

/** oneShotStartWarnings on the halves the search made. */
function planWarnings(p: PreparedOneShot, halves: { weights: { indices: ArrayLike<number> } }): string[] {
  const plan = supernetStepWarning(p.options.epochs, halves.weights.indices.length, p.options.batchSize);
  return plan === undefined ? [] : [plan];
}

export type OneShotEvent =
  | { readonly type: 'epoch'; readonly epoch: number; readonly epochs: number; readonly metrics: Record<string, number> }
  /** A supernet too briefly trained to rank paths (supernetWarnings): the fix is named. */
  | { readonly type: 'warning'; readonly message: string }
  /** Once, after the data is read: what loading decided (CSV header, label mapping, a class of one row). */
  | { readonly type: 'data'; readonly notes: readonly string[] }
  | { readonly type: 'resumed'; readonly after: number }
  | { readonly type: 'waiting'; readonly trial: number; readonly holder: string | null }
  | { readonly type: 'derived'; readonly arch: Json }
  | { readonly type: 'retrain_epoch'; readonly epoch: number; readonly epochs: number; readonly metrics: Record<string, number> };

export interface OneShotSearchOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: OneShotEvent) => void;
  /** Lease of the search trial (default: the config's lease). */
  readonly leaseMs?: number;
  readonly pollMs?: number;
}

export interface OneShotSearchResult {
  readonly study: string;
  readonly storage: string;
  readonly method: OneShotMethodName;
  readonly resumed: boolean;
  readonly reason: 'complete' | 'failed' | 'aborted';
  readonly error?: string;
  /** The derived architecture (null when the search did not finish). */
  readonly arch: Json | null;
  readonly searchSeconds: number | null;
  /** Epoch the supernet search resumed after (0 = fresh or already finished). */
  readonly resumedAfter: number;
  readonly counts: TrialCounts;
  readonly best: TrialRecord | null;
  readonly seconds: number;
}

/** The `alpha` user attribute of the search trial (docs/oneshot.md). */
export function alphaRecord(method: OneShotMethodName, edges: readonly EdgeInfo[], history: readonly EpochRecord[]): JsonObject {
  return {
    format: ALPHA_FORMAT,
    method,
    edges: edges.map((e) => ({ name: e.name, cell: e.cell, from: e.from, to: e.to, ops: [...e.ops] })),
    epochs: history.filter((h) => h.probs).map((h) => ({ epoch: h.epoch, probs: h.probs!, derived: h.derived ?? null })),
  };
}

/** Human-readable form of a derived architecture (NB201: the arch string). */
export function formatDerived(arch: Json): string {
  const a = arch as unknown as NetworkArch;
  if (a && typeof a === 'object' && a.family === 'nb201') return formatNb201(a as Nb201Arch);
  return JSON.stringify(arch);
}

async function openOrCreate(store: Store, p: PreparedOneShot): Promise<{ record: StudyRecord; resumed: boolean }> {
  const c = p.config;
  const identity = identityOf(c);
  const existing = await store.getStudy(c.study);
  if (existing) {
    const diff = identityDiff(existing.config['identity'], identity);
    if (diff.length > 0) throw identityConflict(c.study, store.url, diff);
    return { record: existing, resumed: true };
  }
  const space = resolveSpace(c.space);
  try {
    const record = await store.createStudy({
      name: c.study,
      strategy: c.strategy,
      space: { name: c.space, definition: space.def as unknown as Json },
      evaluator: c.evaluator,
      objectives: c.objectives,
      constraints: [],
      seed: c.seed,
      maxTrials: 2,
      config: { ...(c as unknown as JsonObject), identity },
      userAttrs: { oneshot: { format: ONESHOT_FORMAT, method: p.method, space: c.space, search_trial: 0, derived_trial: 1, guard: p.options.guard } },
    });
    return { record, resumed: false };
  } catch (e) {
    if (!isNasError(e, 'conflict')) throw e;
    return { record: await store.requireStudy(c.study), resumed: true };
  }
}

/**
 * Gets trial `number` of the study to run it under this worker's lease: creates it (claimed), or
 * claims it when it waits or its holder's lease expired (waiting, polling, while another live
 * worker holds it). Returns the finished record when it is already finished.
 */
async function acquire(
  store: Store,
  record: StudyRecord,
  number: number,
  make: () => { arch: Json; params: JsonObject },
  worker: ReturnType<typeof makeWorkerId>,
  leaseMs: number,
  pollMs: number,
  signal: AbortSignal | undefined,
  onEvent: OneShotSearchOptions['onEvent'],
): Promise<TrialRecord | 'aborted'> {
  let told = false;
  for (;;) {
    const t = await store.getTrialByNumber(record.id, number);
    if (!t) {
      const m = make();
      try {
        return await store.createTrial(record.id, { ...m, archKey: null, budget: null, claim: { workerId: worker, leaseMs } });
      } catch (e) {
        if (!isNasError(e, 'conflict')) throw e;
        continue;
      }
    }
    if (t.state === 'complete' || t.state === 'failed' || t.state === 'pruned') return t;
    const claimed = await store.claimTrial(record.id, worker, leaseMs);
    if (claimed && claimed.number === number) return claimed;
    if (claimed) await store.releaseTrial(claimed.id, worker, claimed.attempt);
    if (!told) onEvent?.({ type: 'waiting', trial: number, holder: t.workerId });
    told = true;
    if (signal?.aborted) return 'aborted';
    await sleep(pollMs, signal);
  }
}

function heartbeat(store: Store, trial: TrialRecord, worker: ReturnType<typeof makeWorkerId>, leaseMs: number, onLost: () => void): () => void {
  let beating = false;
  const timer = setInterval(
    () => {
      if (beating) return;
      beating = true;
      store
        .heartbeat(trial.id, worker, leaseMs, trial.attempt)
        .catch((e: unknown) => {
          if (isNasError(e, 'conflict')) onLost();
        })
        .finally(() => (beating = false));
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  timer.unref?.();
  return () => clearInterval(timer);
}

/**
 * Runs (or resumes) a one-shot study to its end: the supernet search (trial 0), then the derived
 * architecture's retraining (trial 1). Bad input throws before anything is written.
 */
export async function oneShotSearch(p: PreparedOneShot, opts: OneShotSearchOptions = {}): Promise<OneShotSearchResult> {
  const t0 = Date.now();
  const c = p.config;
  // Everything that can be wrong with the input is found before the store is touched.
  const data: PreparedData = await p.data();
  opts.onEvent?.({ type: 'data', notes: data.notes ?? [] });
  const halves = splitHalves(data, p.options.batchSize, c.seed);
  const factory = supernetFactory(c.space, p.method, p.options);
  const space = resolveSpace(c.space);
  const store = await openStore(c.storage);
  const worker = makeWorkerId(String(defaultWorkerId(hostname(), process.pid, Date.now())));
  const leaseMs = opts.leaseMs ?? Math.round(c.lease * 1000);
  const pollMs = opts.pollMs ?? 500;
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(opts.signal?.reason ?? 'aborted');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let searchSeconds: number | null = null;
  let resumedAfter = 0;
  const finish = async (record: StudyRecord, resumed: boolean, reason: OneShotSearchResult['reason'], arch: Json | null, error?: string): Promise<OneShotSearchResult> => {
    await store.setStudyState(record.id, reason === 'complete' ? 'finished' : reason === 'failed' ? 'failed' : 'stopped');
    return {
      study: c.study,
      storage: c.storage,
      method: p.method,
      resumed,
      reason,
      ...(error === undefined ? {} : { error }),
      arch,
      searchSeconds,
      resumedAfter,
      counts: await store.countTrials(record.id),
      best: await store.bestTrial(record.id),
      seconds: (Date.now() - t0) / 1000,
    };
  };
  let recorded = false;
  try {
    const { record, resumed } = await openOrCreate(store, p);
    recorded = true;
    await store.setStudyState(record.id, 'running');

    // ---------------- trial 0: the supernet search
    const searchTrial = await acquire(store, record, 0, () => ({ arch: { supernet: c.space, method: p.method }, params: { oneshot_role: 'search', method: p.method } }), worker, leaseMs, pollMs, ctl.signal, opts.onEvent);
    if (searchTrial === 'aborted') return await finish(record, resumed, 'aborted', null);
    let derived: Json;
    if (searchTrial.state === 'failed') return await finish(record, resumed, 'failed', null, searchTrial.error ?? 'the supernet search failed');
    if (searchTrial.state === 'complete') {
      derived = searchTrial.userAttrs['derived_arch'] as Json;
      searchSeconds = searchTrial.metrics?.['search_seconds'] ?? null;
    } else {
      let lost = false;
      const searchWriter = { workerId: worker, attempt: searchTrial.attempt };
      const stopBeat = heartbeat(store, searchTrial, worker, leaseMs, () => {
        lost = true;
        ctl.abort('lease_lost');
      });
      const started = Date.now();
      const ckptDir = p.artifactsDir;
      if (ckptDir) mkdirSync(ckptDir, { recursive: true });
      const fingerprint = hash32(canonicalJson({ identity: identityOf(c), method: p.method })).toString(16);
      let edges: readonly EdgeInfo[] = [];
      const supernet = (input: Parameters<typeof factory>[0], gen: Parameters<typeof factory>[1]) => {
        const net = factory(input, gen);
        edges = net.edges;
        return net;
      };
      const chance = 100 / Math.max(1, halves.numClasses);
      for (const message of planWarnings(p, halves)) opts.onEvent?.({ type: 'warning', message });
      try {
        const r = await runOneShot({
          method: p.method,
          options: p.options,
          seed: c.seed,
          data: halves,
          supernet,
          ...(ckptDir ? { checkpoint: { path: join(ckptDir, 'oneshot-search.ckpt'), fingerprint } } : {}),
          signal: ctl.signal,
          ...(p.train.threads === undefined ? {} : { threads: p.train.threads }),
          onResume: async (history) => {
            resumedAfter = history.length;
            if (history.length > 0) opts.onEvent?.({ type: 'resumed', after: history.length });
            // A re-claimed trial lost its earlier attempt's intermediate values: record them again.
            for (const h of history) await store.reportIntermediate(searchTrial.id, worker, h.epoch, h.metrics, searchTrial.attempt);
            if (history.some((h) => h.probs)) await store.setTrialAttr(searchTrial.id, 'alpha', alphaRecord(p.method, edges, history), searchWriter);
          },
          onEpoch: async (rec, history) => {
            await store.reportIntermediate(searchTrial.id, worker, rec.epoch, rec.metrics, searchTrial.attempt);
            if (rec.probs) await store.setTrialAttr(searchTrial.id, 'alpha', alphaRecord(p.method, edges, history), searchWriter);
            opts.onEvent?.({ type: 'epoch', epoch: rec.epoch, epochs: p.options.epochs, metrics: rec.metrics });
          },
        });
        stopBeat();
        const endAcc = r.history[r.history.length - 1]?.metrics['val_acc'];
        if (typeof endAcc === 'number' && endAcc <= 1.5 * chance)
          opts.onEvent?.({
            type: 'warning',
            message: `the supernet ended at ${endAcc.toFixed(2)}% validation accuracy, at or near chance (${chance.toFixed(1)}% for ${halves.numClasses} classes): its scores barely rank the paths, so the derived cell is close to a random pick; train it longer (more epochs, or a smaller batch_size for more steps)`,
          });
        derived = r.arch as Json;
        space.validate(derived);
        searchSeconds = r.searchSeconds;
        const indecision = indecisionOf(p, edges, r.history, r.details, derived, c.space);
        if (indecision) {
          opts.onEvent?.({ type: 'warning', message: indecision.message });
          await store.setTrialAttr(searchTrial.id, 'indecision', indecisionJson(indecision), searchWriter);
        }
        // Fenced writes (the store refuses them with `conflict` once the trial was claimed again,
        // so a cut-off attempt never overwrites the re-run's architecture).
        if (r.details !== undefined) await store.setTrialAttr(searchTrial.id, 'spos_search', r.details, searchWriter);
        await store.setTrialAttr(searchTrial.id, 'derived_arch', derived, searchWriter);
        const last = r.history[r.history.length - 1]?.metrics ?? {};
        await store.finishTrial(searchTrial.id, worker, {
          state: 'complete',
          metrics: {
            ...last,
            search_seconds: r.searchSeconds,
            supernet_params: r.supernetParams,
            epochs: r.history.length,
            ...(indecision && Number.isFinite(indecision.minMargin) ? { decision_margin_min: indecision.minMargin, negligible_decisions: indecision.negligible.length } : {}),
          },
          values: null,
          durationMs: Date.now() - started,
        }, searchTrial.attempt);
        opts.onEvent?.({ type: 'derived', arch: derived });
      } catch (e) {
        stopBeat();
        // A refused (fenced) write is a lost lease too: nothing more of this attempt is recorded.
        if (lost || isNasError(e, 'conflict')) throw new NasError('conflict', `study ${c.study}: another worker took over the supernet search`, { cause: e });
        if (isNasError(e, 'aborted') || ctl.signal.aborted) {
          await store.releaseTrial(searchTrial.id, worker, searchTrial.attempt).catch(() => undefined);
          return await finish(record, resumed, 'aborted', null);
        }
        const message = e instanceof Error ? e.message : String(e);
        const code = isNasError(e) ? e.code : 'error';
        await store.finishTrial(searchTrial.id, worker, { state: 'failed', error: `${code}: ${message}`, durationMs: Date.now() - started }, searchTrial.attempt);
        return await finish(record, resumed, 'failed', null, `${code}: ${message}`);
      }
    }

    // ---------------- trial 1: the derived architecture, retrained from scratch
    const finalTrial = await acquire(store, record, 1, () => ({ arch: derived, params: { oneshot_role: 'derived', method: p.method } }), worker, leaseMs, pollMs, ctl.signal, opts.onEvent);
    if (finalTrial === 'aborted') return await finish(record, resumed, 'aborted', derived);
    if (finalTrial.state === 'failed') return await finish(record, resumed, 'failed', derived, finalTrial.error ?? 'the retraining failed');
    if (finalTrial.state !== 'complete') {
      let lost = false;
      const stopBeat = heartbeat(store, finalTrial, worker, leaseMs, () => {
        lost = true;
        ctl.abort('lease_lost');
      });
      const started = Date.now();
      const epochs = p.options.finalEpochs ?? p.train.epochs ?? 10;
      const weightsFile = p.artifactsDir ? join(p.artifactsDir, `trial-1-a${finalTrial.attempt}-derived.sd`) : undefined;
      let out;
      try {
        out = await trainOnData(
          data,
          {
            arch: derived as unknown as NetworkArch,
            seed: hash32(`${c.seed}:derived`),
            budget: epochs,
            signal: ctl.signal,
            onProgress: async (pr) => {
              await store.reportIntermediate(finalTrial.id, worker, pr.step, { ...pr.metrics }, finalTrial.attempt);
              opts.onEvent?.({ type: 'retrain_epoch', epoch: pr.step, epochs, metrics: { ...pr.metrics } });
              return 'continue' as const;
            },
          },
          { ...p.train, ...(weightsFile ? { weightsFile } : {}) },
        );
      } finally {
        stopBeat();
      }
      if (lost) {
        if (weightsFile) rmSync(weightsFile, { force: true });
        throw new NasError('conflict', `study ${c.study}: another worker took over the retraining`);
      }
      const o = out.outcome;
      if (o.status === 'failed' && o.reason === 'aborted') {
        await store.releaseTrial(finalTrial.id, worker, finalTrial.attempt).catch(() => undefined);
        return await finish(record, resumed, 'aborted', derived);
      }
      if (o.status === 'complete') {
        const values = c.objectives.map((ob) => o.metrics[ob.metric] as number);
        await store.finishTrial(finalTrial.id, worker, { state: 'complete', metrics: { ...o.metrics, ...(searchSeconds === null ? {} : { search_seconds: searchSeconds }) }, values, durationMs: Date.now() - started }, finalTrial.attempt);
        if (o.artifact) await store.setTrialAttr(finalTrial.id, 'weights_path', o.artifact, { workerId: worker, attempt: finalTrial.attempt });
      } else {
        const error = o.status === 'failed' ? `${o.reason}: ${o.message}` : `pruned at step ${o.step}`;
        await store.finishTrial(finalTrial.id, worker, { state: 'failed', error, durationMs: Date.now() - started }, finalTrial.attempt);
        return await finish(record, resumed, 'failed', derived, error);
      }
    }
    return await finish(record, resumed, 'complete', derived);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // Refused before its study was recorded (a different config under the name): a database file
    // this run created is not left behind.
    await (recorded ? store.close() : closeDiscardingCreated(store));
  }
}
