/**
 * The Store: durable state of studies, their trials and the strategy that proposes them. One
 * interface, several backends (SQLite for one machine, PostgreSQL for many), all checked by the
 * same conformance suite (conformance.ts). Every method is async and every record is plain JSON
 * data, so the run layer, the API and the read-only dashboard see the same shapes whatever the
 * backend.
 *
 * Concurrency contract (what makes many workers safe):
 *  - `claimTrial` hands a trial to exactly one worker at a time, under a lease (a deadline).
 *  - A lease is kept alive by `heartbeat`; when it lapses, the next `claimTrial` may take the trial
 *    over (attempt + 1). That is how the trial of a killed worker is run again.
 *  - `finishTrial` succeeds once, for the current lease holder only; anything else is a
 *    NasError `conflict`, so no trial is ever counted twice.
 *  - Strategy state is saved by compare-and-set on a version number (`conflict` when stale),
 *    alone or together with the trial it proposed (`NewTrial.strategyState`: both or neither).
 * Times are milliseconds since the Unix epoch. PostgreSQL uses the database server's clock for
 * leases so that machines with skewed clocks still agree; SQLite uses the local clock.
 */
import type { ArchKey, StudyId, TrialId, WorkerId } from '../core/ids.js';
import type { Json, JsonObject } from '../core/json.js';

export const TRIAL_STATES = ['waiting', 'running', 'complete', 'pruned', 'failed'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];
/** States a trial can be finished into. */
export type FinalTrialState = Extract<TrialState, 'complete' | 'pruned' | 'failed'>;

export const STUDY_STATES = ['running', 'finished', 'failed', 'stopped'] as const;
export type StudyState = (typeof STUDY_STATES)[number];

export type Direction = 'minimize' | 'maximize';
export interface Objective {
  /** A metric name as reported by the evaluator, e.g. `val_acc` (see src/eval/types.ts). */
  metric: string;
  direction: Direction;
  /** Orders trials with equal values (src/core/metrics.ts `Objective.tieBreak`). */
  tieBreak?: { metric: string; direction: Direction };
}

/**
 * Named metric values. Non-finite numbers (a diverged loss) are allowed and round-trip exactly
 * (they are encoded specially, JSON cannot hold them).
 */
export type Metrics = Record<string, number>;

/** What a study is made of; everything needed to resume it in another process. */
export interface StudySpec {
  /** Unique per store. 1-200 characters of [A-Za-z0-9_.-]. */
  name: string;
  strategy: { name: string; options: JsonObject };
  space: { name: string; definition: Json };
  evaluator: { name: string; options: JsonObject };
  /** At least one. Trial `values[i]` is the value of `objectives[i]`. */
  objectives: Objective[];
  /** Hard constraints (e.g. `{ metric: 'params_m', max: 1 }`); interpreted by the run layer. */
  constraints: JsonObject[];
  seed: number;
  /** Budget in trials; null = unbounded. */
  maxTrials: number | null;
  /** Free-form: the whole validated user config, for provenance and `tsnas status`. */
  config: JsonObject;
  userAttrs?: JsonObject;
}

export interface StudyRecord extends Required<StudySpec> {
  id: StudyId;
  state: StudyState;
  createdAt: number;
  updatedAt: number;
}

export type TrialCounts = Record<TrialState, number> & { total: number };

export interface StudySummary extends StudyRecord {
  counts: TrialCounts;
  /** Best complete trial for objectives[0], or null when none is complete. */
  best: { trialId: TrialId; number: number; value: number } | null;
}

export interface NewTrial {
  arch: Json;
  archKey: ArchKey | string | null;
  /** Fidelity / training budget (epochs, subset fraction...); null when the study has none. */
  budget: number | null;
  /** Other sampled parameters (hyper-parameters, strategy bookkeeping such as a rung). */
  params: JsonObject;
  userAttrs?: JsonObject;
  /** Create the trial already `running`, claimed by this worker (attempt 1); else `waiting`. */
  claim?: { workerId: WorkerId; leaseMs: number };
  /**
   * Budget guard, checked atomically with the insert: when the study already has this many trials
   * that are not `failed`, nothing is created and a NasError `budget_exhausted` is thrown.
   */
  maxTrials?: number;
  /**
   * Compare-and-set save of the study's strategy state, in the same transaction as the insert, so
   * that a trial exists if and only if the state that proposed it was saved (at version
   * expectedVersion + 1). A stale version is a NasError `conflict` and creates no trial; a trial
   * that is refused (`budget_exhausted`, `not_found`) or fails to insert saves no state.
   */
  strategyState?: { expectedVersion: number; state: Json };
  /**
   * Refuse the trial (NasError `conflict`, nothing created or saved) when the study already has a
   * trial with the same non-null `archKey` and `budget`: checked in the insert's transaction, so
   * no proposal re-evaluates a seen key even when a trial was created without a strategy-state
   * compare-and-set (e.g. enqueued by hand) between the proposer's read and its insert.
   */
  uniqueKey?: boolean;
}

export interface TrialRecord {
  id: TrialId;
  studyId: StudyId;
  /** 0, 1, 2... in creation order within the study; never reused. */
  number: number;
  state: TrialState;
  arch: Json;
  archKey: string | null;
  budget: number | null;
  params: JsonObject;
  /** Current (or last) lease holder; null while never claimed. */
  workerId: WorkerId | null;
  /** How many times the trial has been claimed (1 on first run, 2 after one lost lease...). */
  attempt: number;
  leaseExpiresAt: number | null;
  heartbeatAt: number | null;
  metrics: Metrics | null;
  /** Objective values in the order of the study's objectives; null unless reported. */
  values: number[] | null;
  /** Why the trial failed or was pruned. */
  error: string | null;
  durationMs: number | null;
  createdAt: number;
  /** Start of the current (latest) attempt. */
  startedAt: number | null;
  finishedAt: number | null;
  userAttrs: JsonObject;
}

/** The user attribute where `claimTrial` records every lease it took over (see LeaseExpiry). */
export const LEASE_EXPIRIES_ATTR = 'lease_expiries';

/** One attempt of a trial that ended because its lease expired and another claim took the trial over. */
export interface LeaseExpiry {
  /** The lost attempt's number (TrialRecord.attempt of that claim). */
  attempt: number;
  /** The worker that held it. */
  worker: string;
  /** When its lease ended, ms since the epoch by the store's clock (PostgreSQL: the server's). */
  expiredAt: number | null;
}

/**
 * The lost attempts recorded in `t.userAttrs.lease_expiries` by `claimTrial`, in attempt order;
 * entries that are not well-formed (a user overwrote the attribute) are skipped.
 */
export function leaseExpiriesOf(t: Pick<TrialRecord, 'userAttrs'>): LeaseExpiry[] {
  const raw = t.userAttrs[LEASE_EXPIRIES_ATTR];
  if (!Array.isArray(raw)) return [];
  const out: LeaseExpiry[] = [];
  for (const e of raw) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) continue;
    const { attempt, worker, expired_at: at } = e as Record<string, unknown>;
    if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) continue;
    out.push({ attempt, worker: typeof worker === 'string' ? worker : String(worker ?? '?'), expiredAt: typeof at === 'number' && Number.isFinite(at) ? at : null });
  }
  return out.sort((a, b) => a.attempt - b.attempt);
}

/** A worker's claim of a trial, for fenced writes: its worker id and `TrialRecord.attempt`. */
export interface TrialWriter {
  workerId: WorkerId;
  attempt: number;
}

/**
 * A trial without its architecture (`listTrialOutcomes`): what whole-study charts read when the
 * architectures (often the bulk of a row) are not needed yet.
 */
export type TrialOutcome = Omit<TrialRecord, 'arch'>;

/** The values of its JSON columns that `listTrialPoints` extracts per trial, by key (a few each). */
export interface TrialPointKeys {
  /** Metric names: their values, NaN and +-Infinity included. */
  readonly metrics?: readonly string[];
  /**
   * Metric names read only for trials without a first value (value0 null), e.g. the objective's
   * metric a chart falls back to when a trial recorded metrics but no values. Not read (null) for
   * the other trials, so the database parses no metrics of trials that have a value. A name also
   * in `metrics` is read for every trial.
   */
  readonly fallbackMetrics?: readonly string[];
  /** Param keys: their values when they are finite numbers. */
  readonly params?: readonly string[];
  /** User-attribute keys: their values when they are finite numbers. */
  readonly userAttrs?: readonly string[];
}

/**
 * The columns every column-wise read of a study's trials has (TrialPoints, TrialColumns): entry i
 * belongs to the i-th trial in number order; `count` trials.
 */
export interface TrialScalarColumns {
  readonly count: number;
  readonly id: Float64Array;
  readonly number: Float64Array;
  readonly state: readonly TrialState[];
  /** NaN: no budget (the full one). */
  readonly budget: Float64Array;
  /** `values[0]` when it is finite, else NaN (what bestTrial and value sorts rank). */
  readonly value0: Float64Array;
  /** ms since the epoch; NaN: not started / not finished. */
  readonly startedAt: Float64Array;
  readonly finishedAt: Float64Array;
}

/**
 * Every trial of a study as a chart with one mark per trial needs it (`listTrialPoints`), column
 * by column: entry i of each column belongs to the i-th trial in number order. Only the scalar
 * columns below and the asked-for values of the JSON columns are read; nothing else of a row is
 * read or decoded (no arch, no whole metrics, params or attributes), and no object is made per
 * trial. Number columns hold float64; NaN stands for "none" where the column otherwise holds only
 * finite numbers (budget, value0, times, params, user attributes).
 */
export interface TrialPoints extends TrialScalarColumns {
  /**
   * Per asked-for metric (`metrics` and `fallbackMetrics`): the trial's value (NaN and +-Infinity
   * included), or null where it has none (or, for a fallback metric, where it has a value0).
   */
  readonly metrics: ReadonlyMap<string, readonly (number | null)[]>;
  /** Per asked-for param key: the trial's value when it is a finite number, else NaN. */
  readonly params: ReadonlyMap<string, Float64Array>;
  /** Per asked-for user-attribute key: the trial's value when it is a finite number, else NaN. */
  readonly userAttrs: ReadonlyMap<string, Float64Array>;
}

/**
 * Every trial of a study, column by column (`listTrialColumns`): entry i of each column belongs to
 * the i-th trial in number order. What a view of the whole study reads: the fields of
 * `listTrials` but the architecture and its key (`listTrialArchitectures` reads those: they are
 * most of a row's bytes, 20,000 trials' are ~11 MB each), the lease, heartbeat, creation time,
 * error message and `values` beyond the first (`value0`), with the JSON columns decoded (metrics'
 * NaN and +-Infinity as numbers).
 * Number columns hold float64; NaN stands for "none" (budget, value0, duration, times).
 */
export interface TrialColumns extends TrialScalarColumns {
  readonly attempt: Float64Array;
  readonly durationMs: Float64Array;
  readonly workerId: readonly (WorkerId | null)[];
  readonly params: readonly JsonObject[];
  readonly metrics: readonly (Metrics | null)[];
  readonly userAttrs: readonly JsonObject[];
}

/**
 * The architectures of a study's trials (`listTrialArchitectures`), in number order, as their
 * stored JSON texts: a reader parses one, takes what it needs and drops it (20,000 parsed
 * architectures kept at once are hundreds of thousands of objects that every young-generation
 * garbage collection copies).
 */
export interface TrialArchitectures {
  readonly count: number;
  readonly number: Float64Array;
  /** Each trial's architecture as its stored JSON text (JSON.parse gives TrialRecord.arch). */
  readonly text: readonly string[];
}

/** The architecture keys of a study's trials (`listTrialArchKeys`), in number order. */
export interface TrialArchKeys {
  readonly count: number;
  readonly number: Float64Array;
  /** Each trial's TrialRecord.archKey (null when it has none). */
  readonly key: readonly (string | null)[];
}

export interface FinishTrial {
  state: FinalTrialState;
  metrics?: Metrics;
  values?: number[] | null;
  /** Failure message or pruning reason. */
  error?: string | null;
  durationMs?: number | null;
}

/**
 * A finished trial appended as is by `Store.importTrials`: a result produced elsewhere (another
 * study, another tool, a benchmark's seed data). It gets the study's next number, attempt 1 when
 * it names a worker (else 0), and the store's clock for its created/started/finished times.
 */
export interface ImportedTrial {
  arch: Json;
  archKey: string | null;
  budget: number | null;
  params: JsonObject;
  userAttrs?: JsonObject;
  /** Who ran it (shown by `tsnas trials`); none by default. */
  workerId?: WorkerId | null;
  /** Its outcome, as `finishTrial` records one. */
  outcome: FinishTrial;
}

export interface IntermediateRecord {
  trialId: TrialId;
  step: number;
  metrics: Metrics;
  reportedAt: number;
}

export interface StrategyState {
  /** 0 when nothing was saved yet (state is then null). */
  version: number;
  state: Json | null;
}

export interface WorkerInfo {
  id: WorkerId;
  studyId: StudyId | null;
  host: string;
  pid: number;
  info?: JsonObject;
}
export interface WorkerRecord extends Required<WorkerInfo> {
  state: 'active' | 'stopped';
  startedAt: number;
  lastSeenAt: number;
}

export interface ListTrialsOptions {
  states?: TrialState[];
  archKey?: string;
  /** `number` (default) or `value` = values[0] (nulls last; ascending unless `desc`). */
  orderBy?: 'number' | 'value';
  desc?: boolean;
  limit?: number;
  offset?: number;
}

/**
 * One page of a study's trials, filtered and sorted by the database (the dashboard's trial table
 * at tens of thousands of trials). Ties are broken by trial number ascending; trials without a
 * value for the sort key come last in either direction.
 */
export interface TrialPageQuery {
  states?: TrialState[];
  /**
   * `number` (default), `state`, `value` (values[0]), `duration` (durationMs, else finished -
   * started), `started` (startedAt), or `metric` with `metric` naming a metric (finite values only).
   */
  sortBy?: 'number' | 'state' | 'value' | 'duration' | 'started' | 'metric';
  /** The metric for sortBy `metric`: 1-200 characters, no `"` or `\\`. */
  metric?: string;
  desc?: boolean;
  /** Case-insensitive substring of the trial's architecture JSON, params JSON or arch key. */
  text?: string;
  /** 1..10000 (default 50). */
  limit?: number;
  offset?: number;
}

export interface TrialPageResult {
  /** Trials that pass the filter, before limit/offset. */
  total: number;
  trials: TrialRecord[];
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Whether reads issued together run side by side (PostgreSQL: a pool of connections, each
   * served by a server process of its own); false when a read holds this process until it is
   * done (SQLite: synchronous), so a caller should issue a long read only when nothing waits.
   */
  readonly concurrentReads: boolean;
  /** The URL it was opened with (passwords masked). */
  readonly url: string;
  /** The schema version found at open and the current one (see OpenStoreOptions.upgrade). */
  readonly schema: SchemaState;

  // ---- studies ----
  /** Throws `conflict` when the name is taken, `invalid_config` (field named) on a bad spec. */
  createStudy(spec: StudySpec): Promise<StudyRecord>;
  getStudy(idOrName: StudyId | string): Promise<StudyRecord | null>;
  /** Like getStudy, but a missing study is a NasError `not_found` listing the existing names. */
  requireStudy(idOrName: StudyId | string): Promise<StudyRecord>;
  listStudies(): Promise<StudySummary[]>;
  /**
   * Every study's record and trial counts by state, without the best trial (cheap: no sort of
   * the trials), ordered by id. What a poller of many large studies reads every second.
   */
  listStudyCounts(): Promise<(StudyRecord & { counts: TrialCounts })[]>;
  /** Deletes the study and everything in it. `not_found` when absent. */
  deleteStudy(id: StudyId): Promise<void>;
  setStudyState(id: StudyId, state: StudyState): Promise<void>;
  /** Sets (or with `undefined`, removes) one user attribute. */
  setStudyAttr(id: StudyId, key: string, value: Json | undefined): Promise<void>;

  // ---- strategy state (compare-and-set) ----
  loadStrategyState(studyId: StudyId): Promise<StrategyState>;
  /**
   * Saves `state` if the stored version is still `expectedVersion`; returns the new version
   * (expectedVersion + 1). Throws `conflict` when another writer saved first, `invalid_config`
   * (field `strategyState...`) when the state is not plain JSON (e.g. holds NaN).
   */
  saveStrategyState(studyId: StudyId, expectedVersion: number, state: Json): Promise<number>;

  // ---- trials ----
  createTrial(studyId: StudyId, trial: NewTrial): Promise<TrialRecord>;
  /**
   * Atomically takes the oldest claimable trial (lowest number) - `waiting`, or `running` with an
   * expired lease - sets it `running` under a lease of `leaseMs` for this worker, increments `attempt`.
   * Returns null when there is nothing to claim (`not_found` when the study no longer exists).
   * Never gives one trial to two live leases.
   * A re-claimed trial's intermediate values from the lost attempt are discarded.
   * Taking over an expired lease appends the lost attempt (`{attempt, worker, expired_at}`, the
   * lease's end by the store's clock) to the trial's user attribute `lease_expiries` in the same
   * transaction, so how often a trial's lease lapsed and on which workers is known exactly by
   * whoever claims it (`leaseExpiriesOf`; the run layer caps re-runs by it). A given-back
   * (`waiting`) trial's claim appends nothing.
   */
  claimTrial(studyId: StudyId, workerId: WorkerId, leaseMs: number): Promise<TrialRecord | null>;
  /**
   * Renews the lease to now + leaseMs (and the worker's last-seen time). Throws `conflict` when
   * the trial is no longer running under this worker (taken over, or finished). A lease that
   * lapsed but that nobody took over yet is still this worker's and is renewed.
   *
   * Fencing: `attempt` is the claim's `TrialRecord.attempt`. When given, the call is refused
   * (`conflict`) unless the trial is still at that attempt, so a process that lost its lease
   * (cut off longer than the lease) cannot act on the re-run even when the re-run's claimer uses
   * the same worker id (a restarted pod with a stable name). The run layer always passes it;
   * without it, ownership is by worker id alone. The same holds for the three calls below.
   */
  heartbeat(trialId: TrialId, workerId: WorkerId, leaseMs: number, attempt?: number): Promise<void>;
  /** Same ownership rule as heartbeat. Idempotent on (trial, step): a repeat overwrites. */
  reportIntermediate(trialId: TrialId, workerId: WorkerId, step: number, metrics: Metrics, attempt?: number): Promise<void>;
  /**
   * Records the outcome. Succeeds once, for the current lease holder of a running trial (even if
   * its lease lapsed, as long as nobody took the trial over); a second finish, or a finish by a
   * worker whose lease was taken over (or by an older `attempt`), throws `conflict`.
   */
  finishTrial(trialId: TrialId, workerId: WorkerId, result: FinishTrial, attempt?: number): Promise<TrialRecord>;
  /** Gives a running trial back (state `waiting`, lease cleared), e.g. on Ctrl-C. Same ownership rule. */
  releaseTrial(trialId: TrialId, workerId: WorkerId, attempt?: number): Promise<void>;
  /**
   * Appends finished trials (`complete`, `pruned` or `failed`) to a study in one transaction, all
   * or none, numbered in order from the study's next number; returns the first number and how
   * many were added. Nothing is checked against the budget, seen keys or the strategy state (an
   * import is not a proposal). Meant for many rows at once (tens of thousands): the backends
   * insert in batches instead of one statement per trial. `invalid_config` naming the trial
   * (`trials[i]...`) on a bad row, before anything is written; `not_found` when the study is absent.
   */
  importTrials(studyId: StudyId, trials: readonly ImportedTrial[]): Promise<{ first: number; count: number }>;
  getTrial(id: TrialId): Promise<TrialRecord | null>;
  getTrialByNumber(studyId: StudyId, number: number): Promise<TrialRecord | null>;
  listTrials(studyId: StudyId, opts?: ListTrialsOptions): Promise<TrialRecord[]>;
  /**
   * What changed since a reader last looked, for keeping a copy of a study's history up to date
   * without re-reading it: the trials numbered `fromNumber` or above (created since), plus the
   * current records of the trials numbered in `numbers` (those the reader saw unfinished), in
   * number order. Costs grow with the answer, not with the study. Trials are numbered 0, 1, 2...
   * without gaps, and a trial numbered n is visible once every trial below n is.
   */
  listTrialsSince(studyId: StudyId, fromNumber: number, numbers?: readonly number[]): Promise<TrialRecord[]>;
  /**
   * Every trial of a study in number order without its `arch` column (the same snapshot rules as
   * listTrials): a fraction of listTrials' cost on large studies (the dashboard's first charts).
   * An unknown study gives [].
   */
  listTrialOutcomes(studyId: StudyId): Promise<TrialOutcome[]>;
  /**
   * Every trial of a study in number order, narrow and column by column (TrialPoints): scalar
   * columns and, per trial, the values of the named metrics, params and user attributes,
   * extracted by the database (the dashboard's first chart of a 20,000-trial study reads this
   * instead of decoding every row).
   * The same snapshot rules as listTrials; an unknown study gives no trials (count 0). Keys are any non-empty
   * strings (at most 32 in all); anything else is `invalid_config`.
   */
  listTrialPoints(studyId: StudyId, keys?: TrialPointKeys): Promise<TrialPoints>;
  /**
   * Every trial of a study in number order, column by column (TrialColumns), without the
   * architectures: one answer, not a row per trial (PostgreSQL sends each JSON column as one
   * JSON array text, decoded by one JSON.parse), for views that draw every trial (the
   * dashboard's study view of a 20,000-trial study). The same snapshot rules as listTrials; an
   * unknown study gives no trials (count 0).
   */
  listTrialColumns(studyId: StudyId): Promise<TrialColumns>;
  /**
   * Every trial's architecture text, in number order (TrialArchitectures): what a view reads
   * beside listTrialColumns (concurrently, on a store with a connection pool). A separate read,
   * so a snapshot of its own: a trial created in between may be in one answer and not in the
   * other (architectures never change once written, so matching them by number is safe).
   */
  listTrialArchitectures(studyId: StudyId): Promise<TrialArchitectures>;
  /**
   * Every trial's architecture key, in number order (TrialArchKeys): a read of its own, not part
   * of listTrialArchitectures, since a key is often as long as the architecture text (a DARTS
   * key: ~560 characters) and a view needs keys only when it searches them. Its own snapshot, as
   * listTrialArchitectures'; an unknown study gives none. `range`: only the trials numbered from
   * `fromNumber` (default 0), at most `limit` of them (default all): a reader that must not hold
   * its thread for the whole read (SQLite reads synchronously) reads it in parts. A bad range
   * is `invalid_config` naming the field.
   */
  listTrialArchKeys(studyId: StudyId, range?: { readonly fromNumber?: number; readonly limit?: number }): Promise<TrialArchKeys>;
  countTrials(studyId: StudyId): Promise<TrialCounts>;
  /**
   * A filtered, sorted page of trials and the filtered count, from one consistent snapshot.
   * `invalid_config` (field named) on a bad query; an unknown study gives `{ total: 0, trials: [] }`.
   */
  pageTrials(studyId: StudyId, query: TrialPageQuery): Promise<TrialPageResult>;
  /**
   * Best `complete` trial for objectives[objective] (default 0), by the objective's direction,
   * among the trials at the highest budget any complete trial has (null = full budget ranks
   * highest), so multi-fidelity studies report a full-fidelity trial.
   */
  bestTrial(studyId: StudyId, objective?: number): Promise<TrialRecord | null>;
  /** Ordered by step. */
  getIntermediates(trialId: TrialId): Promise<IntermediateRecord[]>;
  /**
   * Intermediate values of a study (learning curves), ordered by trial number then step: all of
   * them, or only those of the trials listed in `trialIds`.
   */
  listIntermediates(studyId: StudyId, trialIds?: readonly TrialId[]): Promise<IntermediateRecord[]>;
  /**
   * Sets (or with `undefined`, removes) one user attribute, e.g. `weights_path`.
   *
   * Without `writer` (a user, the CLI, post-processing): any trial in any state.
   * With `writer` (a worker writing what its attempt produced: weights, one-shot `derived_arch`,
   * `alpha`...): fenced like finishTrial. The write is done only while the trial is this writer's
   * attempt - `running` under `writer.workerId` at `writer.attempt` (a lapsed lease nobody took
   * over included), or finished by that attempt - and refused with `conflict` (nothing written)
   * when the trial was claimed again since (even under the same worker id), was given back, or is
   * held by another worker. Read, check and write are one transaction.
   */
  setTrialAttr(id: TrialId, key: string, value: Json | undefined, writer?: TrialWriter): Promise<void>;

  // ---- workers (for monitoring; leases do not depend on them) ----
  registerWorker(w: WorkerInfo): Promise<void>;
  /** Updates last-seen; also done by heartbeat(). */
  touchWorker(id: WorkerId): Promise<void>;
  stopWorker(id: WorkerId): Promise<void>;
  listWorkers(studyId?: StudyId): Promise<WorkerRecord[]>;

  /** Releases connections. Using the store afterwards throws `storage_error`. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** SQLite: how long to wait for a lock before failing with `storage_error` (default 5000). */
  busyTimeoutMs?: number;
  /**
   * Open without writing (the dashboard): no migration is run; a database at an older schema
   * version, or newer than this build can use, is refused with `storage_error`.
   */
  readOnly?: boolean;
  /**
   * Bring an older schema to SCHEMA_VERSION (what `tsnas db upgrade` does): every pending
   * migration in one transaction, serialized against other openers; a no-op at the current
   * version. Without it a read-write open never changes an existing schema: an older one is
   * refused (`storage_error`, reason `old_schema`, naming `tsnas db upgrade`), so a worker of a
   * new release joining a cluster cannot alter the tables under the workers still running the old
   * one. A database with no tsnas schema is created at the current version either way.
   */
  upgrade?: boolean;
  /**
   * false: open only a database that already holds the tsnas schema (a worker joining a study, a
   * command that only reads): a missing SQLite file is `not_found` and no file is created; a
   * database with no tsnas schema (an empty file, a fresh PostgreSQL database) is refused with
   * `storage_error` (reason not_tsnas) before anything in it changes. Default true (a search
   * creates its store). Ignored with readOnly, which never creates.
   */
  create?: boolean;
  /** PostgreSQL: pool size (default 4). */
  poolSize?: number;
}

/**
 * Schema version this build of tsnas writes. A database at a lower version must be upgraded
 * explicitly (OpenStoreOptions.upgrade); one at a higher version is used only when its recorded
 * compat version is at most this one. History: 1 the tables; 2 schema_version.compat (rolling
 * upgrades).
 */
export const SCHEMA_VERSION = 2;

/** The schema a store found when it opened, and the one it has now. */
export interface SchemaState {
  /** The version the database had when opened (0: no tsnas schema, created by this open). */
  found: number;
  /** The version it has now: SCHEMA_VERSION after a creation or an upgrade, else `found`. */
  version: number;
}
