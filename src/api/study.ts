/**
 * Studies through the API: create or resume, load from a store (for workers on other machines),
 * run a search in-process or with local worker processes, and read results.
 */
import { hostname } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasError, withIssueSources } from '../core/errors.js';
import { isOneShotMethod } from '../oneshot/options.js';
import { workerId as makeWorkerId, type WorkerId } from '../core/ids.js';
import { canonicalJson, type JsonObject } from '../core/json.js';
import { WorkerPool, workerEnv, type WorkerExit } from '../run/pool.js';
import { defaultWorkerId, Study, type OptimizeResult, type StudyEvent } from '../run/study.js';
import { checkWarmStart, importWarmStart, type WarmStartPlan } from '../run/warm-start.js';
import type { Space } from '../space/space.js';
import { closeDiscardingCreated, openStore, type Store, type StudyRecord, type TrialCounts, type TrialRecord } from '../store/index.js';
import { configSourceOf, withSearchFlagNames, configToRaw, defaultArtifactsDir, identityConflict, identityDiff, identityOf, rawConfig, validateConfig, validateConfigCollect, type StudyConfig } from './config.js';
import { buildParts, studySpecOf, type StudyParts } from './parts.js';
import type { DataNotes } from '../data/prepare.js';
import { withWeightsDefaults } from './train-evaluator.js';

export interface PreparedSearch {
  readonly config: StudyConfig;
  readonly parts: StudyParts;
}

export type { PrepareInput } from './config.js';
import type { PrepareInput } from './config.js';

/**
 * Validates a config completely (names, options, files) without opening or writing anything.
 * Problems are reported all at once, headed by where they are written: `N problems in the config
 * file F:`, `... on the command line:` (fields the flags set), both grouped, or `... in the
 * config:` for a config object (configSourceOf).
 */
export function prepareSearch(input: PrepareInput): PreparedSearch {
  const sourceOf = configSourceOf(input);
  const named = (e: unknown): unknown => withSearchFlagNames(sourceOf ? withIssueSources(e, sourceOf, 'in the config') : e, input);
  let p: PreparedSearch;
  try {
    p = prepareSearchUnsourced(input);
  } catch (e) {
    throw named(e);
  }
  // Loading the data (ready) and the constraints' check come later (search, createStudy, the CLI
  // before its banner): their problems are named as these are, by flag or config field (an empty
  // validation split is `--val-fraction` after --val-fraction, `evaluator.val_fraction` in a file).
  const { ready, checkProposable } = p.parts;
  const parts = {
    ...p.parts,
    checkProposable: () => {
      try {
        checkProposable();
      } catch (e) {
        throw named(e);
      }
    },
    ...(ready ? { ready: () => ready().catch((e: unknown) => Promise.reject(named(e))) } : {}),
  };
  return { ...p, parts };
}

function prepareSearchUnsourced(input: PrepareInput): PreparedSearch {
  const { raw, baseDir } = rawConfig(input);
  // Every problem of the config is reported at once: the fields' own checks, then the registries'
  // checks of strategy, space and evaluator names and options (buildParts), each naming its field.
  // Fields found bad hold placeholders; the registries' problems on them are consequences and are
  // left out (Issues.takeBeyond), their other problems (a misspelt strategy, space or metric name)
  // join the list.
  const { config: checked, issues } = validateConfigCollect(raw, baseDir);
  // Trained weights are kept by default, beside a SQLite database (train-evaluator.ts).
  const config = withWeightsDefaults(checked);
  const parts = issues.takeBeyond(() => buildParts(config, baseDir), undefined);
  issues.throwIfAny('the config');
  return { config: parts!.config, parts: parts! };
}

export interface StudyHandle {
  readonly store: Store;
  readonly record: StudyRecord;
  readonly parts: StudyParts;
  readonly study: Study<unknown>;
  /** True when an existing study of the same name and config was resumed. */
  readonly resumed: boolean;
  close(): Promise<void>;
}

export interface HandleOptions {
  readonly workerId?: WorkerId | string;
  /** Override the config's lease (seconds -> ms). */
  readonly leaseMs?: number;
  readonly pollMs?: number;
  /** Override the config's `max_lease_retries`. */
  readonly maxLeaseRetries?: number;
}

function makeStudy(store: Store, record: StudyRecord, parts: StudyParts, opts: HandleOptions): Study<unknown> {
  const space = parts.space;
  return new Study(store, record, parts.driver, parts.evaluator, {
    workerId: opts.workerId === undefined ? defaultWorkerId(hostname(), process.pid, Date.now()) : makeWorkerId(String(opts.workerId)),
    leaseMs: opts.leaseMs ?? Math.round(parts.config.lease * 1000),
    maxLeaseRetries: opts.maxLeaseRetries ?? parts.config.maxLeaseRetries,
    ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
    decode: (a) => space.validate(a),
  });
}

/**
 * Throws `invalid_config` naming the fields (space, strategy, evaluator, objectives, constraints,
 * budget, seed...) in which `config` differs from the existing study `record` in the store at `url`:
 * a study of that name with another config is not resumed. What createStudy checks; repeat checks
 * earlier seeds with it on a read-only store.
 */
export function requireSameIdentity(config: StudyConfig, record: StudyRecord, url: string): void {
  const diff = identityDiff(record.config['identity'], identityOf(config));
  if (diff.length > 0) throw identityConflict(config.study, url, diff);
}

/**
 * Creates the study, or resumes it when a study of this name exists with the same config
 * (space, strategy, evaluator, objectives, constraints, budget, seed). A different config under
 * the same name is an error naming the fields that differ.
 */
export async function createStudy(prepared: PreparedSearch, opts: HandleOptions = {}): Promise<StudyHandle> {
  const { config, parts } = prepared;
  // A space none of whose architectures can be proposed (cost constraints no candidate meets, data
  // no candidate can take) is a config error before the store is opened: nothing is written, and a
  // rerun with a fixed constraint is a new study, not a conflict with a stuck one. Costs may need
  // the data's shape, so it is loaded first (once: ready is memoised; search() has loaded it).
  await parts.ready?.();
  parts.checkProposable();
  const store = await openStore(config.storage);
  try {
    let record = await store.getStudy(config.study);
    let resumed = false;
    if (record) {
      requireSameIdentity(config, record, store.url);
      resumed = true;
      // A warm start interrupted before it recorded itself is completed (imports are idempotent).
      if (config.warmStart && record.userAttrs['warm_start'] === undefined) await importWarmStart(store, record, await warmStartPlan(config, parts, store));
    } else {
      // Warm-start sources are read and checked before anything is written (src/run/warm-start.ts).
      const plan = config.warmStart ? await warmStartPlan(config, parts, store) : undefined;
      try {
        const spec = studySpecOf(parts);
        // Imported trials do not use up the budget of new evaluations.
        record = await store.createStudy(plan ? { ...spec, maxTrials: config.trials + plan.trials.length } : spec);
        if (plan) await importWarmStart(store, record, plan);
      } catch (e) {
        // Another process created it between our lookup and insert: resume that one.
        if (!(e instanceof NasError && e.code === 'conflict')) throw e;
        record = await store.requireStudy(config.study);
        resumed = true;
      }
    }
    const study = makeStudy(store, record, parts, opts);
    return { store, record, parts, study, resumed, close: () => store.close() };
  } catch (e) {
    // A database file this call created and wrote no study into is removed (a warm start refused
    // after the open, say): a command that failed before its work leaves no empty database.
    await closeDiscardingCreated(store);
    throw e;
  }
}

/** Reads the warm-start sources of `config` (the study's own store is reused for its own URL). */
function warmStartPlan(config: StudyConfig, parts: StudyParts, store: Store): Promise<WarmStartPlan> {
  return checkWarmStart(config.warmStart ?? [], { name: config.study, space: parts.space as Space<unknown>, objectives: config.objectives }, async (url) => {
    if (url === config.storage) return { store, close: async () => {} };
    const s = await openStore(url, { readOnly: true });
    return { store: s, close: () => s.close() };
  });
}

/**
 * A worker that cannot take part in a study says so before it claims a trial: the problem (the
 * original error, code kept so the CLI's exit code stays that of bad input) in the study's terms,
 * and what to do about it. Errors that are not NasErrors are passed through.
 */
function cannotBuild(study: string, url: string, e: unknown, problem: string, fix: string): unknown {
  if (!(e instanceof NasError)) return e;
  return new NasError(e.code, `study ${JSON.stringify(study)} in ${url} ${problem}: ${e.message}`, {
    hint: `${fix}; no trial was claimed`,
    details: { ...(e.details ?? {}), ...(e.field === undefined ? {} : { field: e.field }) },
    cause: e,
  });
}

/** Opens an existing study from its stored config (what `tsnas worker` does on any machine). */
export async function loadStudy(storage: string, name: string, opts: HandleOptions = {}): Promise<StudyHandle> {
  // Joining never creates a store: a missing SQLite file is not_found, a database with no tsnas
  // schema is refused before anything in it changes (a worker given a mistyped path made an empty
  // 57 KB database, new user of session 9).
  const store = await openStore(storage, { create: false });
  try {
    const record = await store.requireStudy(name);
    if (isOneShotMethod(record.strategy.name))
      throw new NasError('invalid_config', `study ${JSON.stringify(name)} is a one-shot study (${record.strategy.name}): its supernet trains in one process, workers cannot join`, {
        field: 'study',
        hint: 'rerun tsnas search with its config to resume it (docs/oneshot.md)',
      });
    const { identity: _identity, ...stored } = record.config;
    void _identity;
    const ev = stored['evaluator'] as { name: string; options: JsonObject } | undefined;
    // The stored options name the artifacts directory the study was created with; a study from
    // before weights were kept gets the default one. A stored directory that is only the default
    // of the database the study was created in follows the database (issue 17.11: a worker on a
    // moved database wrote under the old path and recreated the old folder); one the user chose
    // is kept.
    const followsDb = ev !== undefined && typeof stored['storage'] === 'string' && ev.options['artifacts_dir'] === defaultArtifactsDir(stored['storage'], name);
    const evOptions = ev ? Object.fromEntries(Object.entries(ev.options).filter(([k]) => !(followsDb && k === 'artifacts_dir'))) : {};
    let parts: StudyParts;
    try {
      // The stored config is the validated one (camelCase fields): back to the file's shape first.
      const config = withWeightsDefaults(validateConfig({ ...configToRaw(stored), storage, ...(ev ? { evaluator: { name: ev.name, ...evOptions } } : {}) }, process.cwd()));
      parts = buildParts(config, process.cwd());
    } catch (e) {
      throw cannotBuild(name, store.url, e, 'was created with a config this tsnas cannot build', 'run the worker with the tsnas version (and extensions) that created the study, or create a new study with a config this version accepts');
    }
    const study = makeStudy(store, record, parts, opts);
    return { store, record, parts, study, resumed: true, close: () => store.close() };
  } catch (e) {
    await store.close();
    throw e;
  }
}

export interface SearchProgress {
  readonly counts: TrialCounts;
  readonly budget: number;
  readonly best: { number: number; value: number } | null;
}

export interface SearchOptions {
  /** Local worker processes; default: the config's `workers`. 1 runs in this process. */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: StudyEvent) => void;
  /** Called when counts change (in-process: after each trial; with workers: polled). */
  readonly onProgress?: (p: SearchProgress) => void;
  /** Worker processes' stderr: shown (default) or hidden. */
  readonly workerStderr?: 'inherit' | 'ignore';
  /** The CLI module forked for workers; default: this package's CLI. */
  readonly workerEntry?: string;
  readonly leaseMs?: number;
  readonly pollMs?: number;
  /** How long worker processes may take to stop after the wall-clock cap before they are killed; default capGraceMs(wallclock). */
  readonly capGraceMs?: number;
}

export interface SearchResult {
  readonly study: string;
  readonly storage: string;
  readonly resumed: boolean;
  readonly reason: OptimizeResult['reason'] | 'workers_failed';
  readonly counts: TrialCounts;
  readonly best: TrialRecord | null;
  /** This call's wall time. */
  readonly seconds: number;
  /**
   * The study's search time over every call so far (this one included), kept in the study
   * attribute `search_seconds`, so a resumed search reports the true total.
   */
  readonly totalSeconds: number;
  readonly workerExits?: readonly WorkerExit[];
}

/** Adds `seconds` to the study attribute `search_seconds` (the search time of every call) and returns the new total. */
export async function addSearchSeconds(store: Store, record: StudyRecord, seconds: number): Promise<number> {
  const cur = await store.getStudy(record.name);
  const before = cur?.userAttrs['search_seconds'];
  const total = (typeof before === 'number' && Number.isFinite(before) ? before : 0) + seconds;
  await store.setStudyAttr(record.id, 'search_seconds', Math.round(total * 1000) / 1000);
  return total;
}

/** The CLI entry next to this module: `.ts` under tsx (development), `.js` when built. */
export function defaultWorkerEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`../cli/main${extname(self)}`, import.meta.url));
}

async function snapshot(store: Store, record: StudyRecord): Promise<SearchProgress> {
  const [counts, best] = await Promise.all([store.countTrials(record.id), store.bestTrial(record.id)]);
  return {
    counts,
    budget: record.maxTrials ?? counts.total,
    best: best && best.values ? { number: best.number, value: best.values[0]! } : null,
  };
}

/**
 * How long after a search's wall-clock cap its worker processes may take to stop by themselves
 * (each aborts its evaluation at the cap and records it) before they are killed: 10% of the cap,
 * at least 10 s (a loaded machine), at most 60 s.
 */
export function capGraceMs(wallclockMs: number): number {
  return Math.min(60_000, Math.max(10_000, wallclockMs / 10));
}

/**
 * Runs (or resumes) a search to its budget, in-process or with N local worker processes. The
 * config's `wallclock` caps the call: at the cap running trials are stopped and recorded failed
 * (`wallclock: ...`), not waited for; a worker that does not stop within capGraceMs is killed and
 * its trial recorded by this process.
 */
export async function search(prepared: PreparedSearch, opts: SearchOptions = {}): Promise<SearchResult> {
  const t0 = Date.now();
  const workers = opts.workers ?? prepared.config.workers;
  // Load and check the data (split sizes, labels, values) before anything is written: a dataset
  // that cannot be trained on is a config error, not a study of failed trials.
  await prepared.parts.ready?.();
  const h = await createStudy(prepared, {
    ...(opts.leaseMs === undefined ? {} : { leaseMs: opts.leaseMs }),
    ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
  });
  try {
    await h.store.setStudyState(h.record.id, 'running');
    const wallclockMs = prepared.config.wallclock === null ? undefined : prepared.config.wallclock * 1000;
    // The cap counts from this call's start (data loading included) and stops running trials at
    // once: they are recorded failed with reason `wallclock` (see OptimizeOptions.atWallclock).
    const deadline = wallclockMs === undefined ? undefined : t0 + wallclockMs;
    let reason: SearchResult['reason'];
    let workerExits: WorkerExit[] | undefined;
    if (workers <= 1) {
      let last = '';
      const report = async () => {
        if (!opts.onProgress) return;
        const p = await snapshot(h.store, h.record);
        const key = canonicalJson(p as unknown as JsonObject);
        if (key !== last) opts.onProgress(p);
        last = key;
      };
      await report();
      const r = await h.study.optimize({
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(deadline === undefined ? {} : { deadline, atWallclock: 'fail' as const }),
        onEvent: (e) => {
          opts.onEvent?.(e);
          if (e.type === 'finished' || e.type === 'asked' || e.type === 'claimed') void report();
        },
      });
      await report();
      reason = r.reason;
    } else {
      const args = ['worker', '--storage', h.store.url === prepared.config.storage ? prepared.config.storage : prepared.config.storage, '--study', prepared.config.study, '--quiet'];
      if (deadline !== undefined) args.push('--deadline', String(deadline), '--at-wallclock', 'fail');
      // Named by index, so the trials of a worker killed at the cap can be found (see below).
      const idPrefix = `${hostname()}-${process.pid}-${t0.toString(36)}-w`;
      args.push('--worker-id', `${idPrefix}{i}`);
      // This call's lease and retry cap (its config file may differ from the one the study was
      // created with: both are not part of its identity), not the stored ones the workers would read.
      args.push('--lease', String((opts.leaseMs ?? prepared.config.lease * 1000) / 1000));
      args.push('--max-lease-retries', String(prepared.config.maxLeaseRetries));
      if (opts.pollMs !== undefined) args.push('--poll-ms', String(opts.pollMs));
      // The search says the set-up notes once (tsnas search before its first trial; an API caller
      // has them from ready()): its worker processes do not say them again (SETUP_SAID_ENV).
      const pool = new WorkerPool({ entry: opts.workerEntry ?? defaultWorkerEntry(), args, count: workers, stderr: opts.workerStderr ?? 'inherit', env: { ...workerEnv(workers), [SETUP_SAID_ENV]: '1' } });
      const onAbort = () => pool.signal('SIGINT');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let done = false;
      const exits = pool.wait().then((x) => ((done = true), x));
      let last = '';
      let killed = false;
      const grace = opts.capGraceMs ?? (wallclockMs === undefined ? 0 : capGraceMs(wallclockMs));
      while (!done) {
        if (opts.onProgress) {
          const p = await snapshot(h.store, h.record);
          const key = canonicalJson(p as unknown as JsonObject);
          if (key !== last) opts.onProgress(p);
          last = key;
        }
        if (deadline !== undefined && !killed && Date.now() >= deadline + grace) {
          // A worker that does not answer its own timer (starved of CPU, blocked in a native step)
          // is stopped by force; its running trial is recorded below.
          killed = true;
          opts.onEvent?.({ type: 'warning', message: `the wall-clock cap (${wallclockMs! / 1000} s) passed ${(grace / 1000).toFixed(0)} s ago and worker(s) still run: stopping them` });
          pool.signal('SIGKILL');
        }
        await Promise.race([exits, new Promise((r) => setTimeout(r, 300))]);
      }
      workerExits = await exits;
      opts.signal?.removeEventListener('abort', onAbort);
      if (killed) {
        const dead = new Set(workerExits.filter((x) => x.signal === 'SIGKILL').map((x) => `${idPrefix}${x.index}`));
        for (const t of await h.store.listTrials(h.record.id, { states: ['running'] })) {
          if (t.workerId === null || !dead.has(t.workerId)) continue;
          const f = await h.study.failAtCap(t, `worker ${t.workerId} did not stop at the study's wall-clock cap and was killed`);
          if (f) opts.onEvent?.({ type: 'finished', trial: f });
        }
      }
      if (opts.onProgress) opts.onProgress(await snapshot(h.store, h.record));
      const counts = await h.store.countTrials(h.record.id);
      const bad = workerExits.filter((x) => x.code !== 0);
      if (opts.signal?.aborted) reason = 'aborted';
      else if (bad.length === workerExits.length && counts.running + counts.waiting > 0) reason = 'workers_failed';
      else if (counts.total - counts.failed >= (h.record.maxTrials ?? Infinity) && counts.running + counts.waiting === 0) reason = 'complete';
      else if (deadline !== undefined && Date.now() >= deadline) reason = 'wallclock';
      else reason = bad.length > 0 ? 'workers_failed' : 'strategy_done';
    }
    const counts = await h.store.countTrials(h.record.id);
    await h.store.setStudyState(h.record.id, reason === 'complete' || reason === 'strategy_done' ? 'finished' : 'stopped');
    const best = await h.store.bestTrial(h.record.id);
    const seconds = (Date.now() - t0) / 1000;
    const totalSeconds = await addSearchSeconds(h.store, h.record, seconds);
    return {
      study: h.record.name,
      storage: prepared.config.storage,
      resumed: h.resumed,
      reason,
      counts,
      best,
      seconds,
      totalSeconds,
      ...(workerExits ? { workerExits } : {}),
    };
  } finally {
    await h.close();
  }
}

/**
 * Set (to "1") in the environment of the worker processes a search starts: the search has said the
 * set-up notes (data notes, study warnings; WorkerOptions.onStarted), so `tsnas worker` does not
 * say them again. A worker started on its own says them once.
 */
export const SETUP_SAID_ENV = 'TSNAS_SETUP_SAID';

export interface WorkerOptions {
  readonly storage: string;
  readonly study: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: StudyEvent) => void;
  readonly wallclockMs?: number;
  /** Absolute cap (epoch ms): the search's start + its wallclock, passed to its worker processes. */
  readonly deadline?: number;
  /** What a trial stopped by the wall clock becomes (see OptimizeOptions.atWallclock); default 'release'. */
  readonly atWallclock?: 'fail' | 'release';
  readonly leaseMs?: number;
  readonly pollMs?: number;
  /** Override the study's `max_lease_retries`. */
  readonly maxLeaseRetries?: number;
  readonly workerId?: string;
  /** Finish at most this many trials, then return `max_trials`. */
  readonly maxTrials?: number;
  /** Return `idle` after this long with nothing to run. */
  readonly idleExitMs?: number;
  /** Store retries (PostgreSQL unreachable) are reported here. */
  readonly onStoreRetry?: (message: string) => void;
  /**
   * Called once the start-up checks passed (store opened at a known schema version, study found,
   * its config built, the evaluator ready on this host), right before the first claim, with the
   * set-up notes `tsnas search` prints before its first trial: what loading the data decided
   * (`notes`: header decision, label mapping, data warnings) and the study's warnings
   * (StudyParts.warnings, e.g. a multi-objective strategy on one objective). An error thrown
   * before it means no trial was touched.
   */
  readonly onStarted?: (setup: { readonly notes: DataNotes; readonly warnings: readonly string[] }) => void;
}

/** Joins a study as one worker (this process) until the study is done or the signal stops it. */
export async function runWorker(opts: WorkerOptions): Promise<OptimizeResult & { workerId: string }> {
  // The worker's own --wallclock counts from its start, data loading included.
  const started = Date.now();
  const deadline = Math.min(opts.wallclockMs === undefined ? Infinity : started + opts.wallclockMs, opts.deadline ?? Infinity);
  const h = await loadStudy(opts.storage, opts.study, {
    ...(opts.workerId === undefined ? {} : { workerId: opts.workerId }),
    ...(opts.leaseMs === undefined ? {} : { leaseMs: opts.leaseMs }),
    ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
    ...(opts.maxLeaseRetries === undefined ? {} : { maxLeaseRetries: opts.maxLeaseRetries }),
  });
  const id = h.study.workerId;
  if (opts.onStoreRetry && 'onRetry' in h.store) (h.store as { onRetry?: (m: string) => void }).onRetry = opts.onStoreRetry;
  let notes: DataNotes = [];
  try {
    try {
      // Data loaded, artifacts directory writable...: checked on this host before any claim.
      notes = (await h.parts.ready?.()) ?? [];
    } catch (e) {
      throw cannotBuild(opts.study, h.store.url, e, 'cannot be run on this host', 'fix this host (the path, volume or permission named above) and start the worker again');
    }
    await h.store.registerWorker({ id, studyId: h.record.id, host: hostname(), pid: process.pid });
    opts.onStarted?.({ notes, warnings: h.parts.warnings });
    try {
      const r = await h.study.optimize({
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(Number.isFinite(deadline) ? { deadline } : {}),
        ...(opts.atWallclock === undefined ? {} : { atWallclock: opts.atWallclock }),
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        ...(opts.maxTrials === undefined ? {} : { maxTrials: opts.maxTrials }),
        ...(opts.idleExitMs === undefined ? {} : { idleExitMs: opts.idleExitMs }),
      });
      return { ...r, workerId: id };
    } finally {
      await h.store.stopWorker(id).catch(() => undefined);
    }
  } finally {
    await h.close();
  }
}
