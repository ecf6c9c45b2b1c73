/**
 * What both backends share: input validation (bad input is a NasError naming the field), the JSON
 * codec for stored columns (metrics may hold non-finite numbers), and row -> record mapping. Rows
 * use the same snake_case column names in every backend; PostgreSQL returns BIGINT as strings,
 * hence `num()`.
 */
import { NasError, nestError, storageError } from '../core/errors.js';
import { studyId, trialId, workerId, type StudyId, type WorkerId } from '../core/ids.js';
import type { Json, JsonObject } from '../core/json.js';
import { candidateValue, compareTieBreak, violates, type Constraint, type TieBreak } from '../core/metrics.js';
import {
  LEASE_EXPIRIES_ATTR,
  TRIAL_STATES,
  STUDY_STATES,
  type FinalTrialState,
  type FinishTrial,
  type ImportedTrial,
  type IntermediateRecord,
  type ListTrialsOptions,
  type TrialPageQuery,
  type Metrics,
  type NewTrial,
  type Objective,
  type StudyRecord,
  type StudySpec,
  type StudyState,
  type StudySummary,
  type TrialCounts,
  type TrialRecord,
  type TrialOutcome,
  type TrialColumns,
  type TrialArchitectures,
  type TrialArchKeys,
  type TrialPoints,
  type TrialScalarColumns,
  type TrialPointKeys,
  type TrialState,
  type WorkerInfo,
  type WorkerRecord,
} from './types.js';
import { didYouMeanValue } from '../core/suggest.js';
import { TRIAL_STATE_SYNONYMS } from '../core/synonyms.js';

// ---------------------------------------------------------------- validation

const NAME_RE = /^[A-Za-z0-9_.-]{1,200}$/;

function bad(field: string, message: string, hint?: string): NasError {
  return new NasError('invalid_config', message, hint === undefined ? { field } : { field, hint });
}

/** Throws `invalid_config` unless `v` is plain JSON (finite numbers, plain objects, arrays). */
export function checkJson(v: unknown, field: string): asserts v is Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(field, `must be a finite number, got ${v}`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${field}[${i}]`));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw bad(field, 'must be a plain JSON object');
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x !== undefined) checkJson(x, `${field}.${k}`);
    }
    return;
  }
  throw bad(field, `must be JSON, got ${typeof v}`);
}

export function checkObject(v: unknown, field: string): asserts v is JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be a JSON object');
  checkJson(v, field);
}

function checkString(v: unknown, field: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw bad(field, 'must be a non-empty string');
}

export function checkStudyName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw bad(field, `invalid study name ${JSON.stringify(name)}`, 'use 1-200 characters of A-Z a-z 0-9 _ . -');
  }
}

export function validateSpec(spec: StudySpec): void {
  if (spec === null || typeof spec !== 'object') throw bad('study', 'must be an object');
  checkStudyName(spec.name);
  for (const part of ['strategy', 'evaluator'] as const) {
    const p = spec[part] as unknown as Record<string, unknown> | undefined;
    if (p === null || typeof p !== 'object') throw bad(part, 'must be an object { name, options }');
    checkString(p.name, `${part}.name`);
    checkObject(p.options, `${part}.options`);
  }
  const sp = spec.space as unknown as Record<string, unknown> | undefined;
  if (sp === null || typeof sp !== 'object') throw bad('space', 'must be an object { name, definition }');
  checkString(sp.name, 'space.name');
  checkJson(sp.definition, 'space.definition');
  if (!Array.isArray(spec.objectives) || spec.objectives.length === 0) {
    throw bad('objectives', 'must be a non-empty list', 'e.g. [{ "metric": "val_acc", "direction": "maximize" }]');
  }
  spec.objectives.forEach((o, i) => {
    checkString(o?.metric, `objectives[${i}].metric`);
    if (o.direction !== 'minimize' && o.direction !== 'maximize') {
      throw bad(`objectives[${i}].direction`, `unknown direction ${JSON.stringify(o.direction)}`, 'use minimize or maximize');
    }
    if (o.tieBreak !== undefined) {
      checkString(o.tieBreak?.metric, `objectives[${i}].tieBreak.metric`);
      if (o.tieBreak.direction !== 'minimize' && o.tieBreak.direction !== 'maximize')
        throw bad(`objectives[${i}].tieBreak.direction`, `unknown direction ${JSON.stringify(o.tieBreak.direction)}`, 'use minimize or maximize');
    }
  });
  if (!Array.isArray(spec.constraints)) throw bad('constraints', 'must be a list (possibly empty)');
  spec.constraints.forEach((c, i) => checkObject(c, `constraints[${i}]`));
  if (!Number.isSafeInteger(spec.seed)) throw bad('seed', `must be an integer, got ${String(spec.seed)}`);
  if (spec.maxTrials !== null && !(Number.isSafeInteger(spec.maxTrials) && spec.maxTrials > 0)) {
    throw bad('maxTrials', `must be a positive integer or null, got ${String(spec.maxTrials)}`);
  }
  checkObject(spec.config, 'config');
  if (spec.userAttrs !== undefined) checkObject(spec.userAttrs, 'userAttrs');
}

export function validateNewTrial(t: NewTrial): void {
  if (t === null || typeof t !== 'object') throw bad('trial', 'must be an object');
  checkJson(t.arch, 'trial.arch');
  if (t.archKey !== null && typeof t.archKey !== 'string') throw bad('trial.archKey', 'must be a string or null');
  if (t.budget !== null && !(typeof t.budget === 'number' && Number.isFinite(t.budget))) {
    throw bad('trial.budget', 'must be a finite number or null');
  }
  checkObject(t.params, 'trial.params');
  if (t.userAttrs !== undefined) checkObject(t.userAttrs, 'trial.userAttrs');
  if (t.claim !== undefined) checkLease(t.claim.leaseMs, 'trial.claim.leaseMs');
  if (t.maxTrials !== undefined && !(Number.isSafeInteger(t.maxTrials) && t.maxTrials >= 0)) {
    throw bad('trial.maxTrials', 'must be a non-negative integer');
  }
  if (t.strategyState !== undefined) {
    const ss = t.strategyState as unknown as Record<string, unknown> | null;
    if (ss === null || typeof ss !== 'object') throw bad('trial.strategyState', 'must be an object { expectedVersion, state }');
    checkVersion(ss.expectedVersion, 'trial.strategyState.expectedVersion');
    checkJson(ss.state, 'trial.strategyState.state');
  }
}

export function checkVersion(v: unknown, field = 'expectedVersion'): asserts v is number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad(field, `must be a non-negative integer, got ${String(v)}`);
}

export function checkLease(ms: unknown, field = 'leaseMs'): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw bad(field, `must be a positive number of milliseconds, got ${String(ms)}`);
}

/** An optional fencing token (TrialRecord.attempt of the claim): null when not given. */
export function checkAttempt(attempt: unknown): number | null {
  if (attempt === undefined) return null;
  if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) throw bad('attempt', `must be the claim's attempt number (an integer >= 1), got ${String(attempt)}`);
  return attempt as number;
}

export function checkStep(step: unknown): asserts step is number {
  if (!Number.isSafeInteger(step) || (step as number) < 0) throw bad('step', `must be a non-negative integer, got ${String(step)}`);
}

export function checkMetrics(m: unknown, field = 'metrics'): asserts m is Metrics {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(field, 'must be an object of numbers');
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
    if (typeof v !== 'number') throw bad(`${field}.${k}`, `must be a number, got ${typeof v}`);
  }
}

export function validateFinish(r: FinishTrial): void {
  if (r === null || typeof r !== 'object') throw bad('result', 'must be an object');
  if (r.state !== 'complete' && r.state !== 'pruned' && r.state !== 'failed') {
    throw bad('result.state', `cannot finish a trial as ${JSON.stringify(r.state)}`, 'use complete, pruned or failed');
  }
  if (r.metrics !== undefined) checkMetrics(r.metrics, 'result.metrics');
  if (r.values !== undefined && r.values !== null) {
    if (!Array.isArray(r.values)) throw bad('result.values', 'must be a list of numbers or null');
    r.values.forEach((v, i) => {
      if (typeof v !== 'number') throw bad(`result.values[${i}]`, 'must be a number');
    });
  }
  if (r.error !== undefined && r.error !== null && typeof r.error !== 'string') throw bad('result.error', 'must be a string');
  if (r.durationMs !== undefined && r.durationMs !== null && !(Number.isFinite(r.durationMs) && r.durationMs >= 0)) {
    throw bad('result.durationMs', 'must be a non-negative number');
  }
}

export function checkStudyState(s: unknown): asserts s is StudyState {
  if (!(STUDY_STATES as readonly unknown[]).includes(s)) {
    throw bad('state', `unknown study state ${JSON.stringify(s)}${typeof s === 'string' ? didYouMeanValue(s, STUDY_STATES) : ''}`, `use one of: ${STUDY_STATES.join(', ')}`);
  }
}

export function checkListOptions(o: ListTrialsOptions): void {
  for (const s of o.states ?? []) {
    if (!(TRIAL_STATES as readonly unknown[]).includes(s)) {
      throw bad('states', `unknown trial state ${JSON.stringify(s)}${typeof s === 'string' ? didYouMeanValue(s, TRIAL_STATES, TRIAL_STATE_SYNONYMS) : ''}`, `use some of: ${TRIAL_STATES.join(', ')}`);
    }
  }
  if (o.orderBy !== undefined && o.orderBy !== 'number' && o.orderBy !== 'value') throw bad('orderBy', 'use number or value');
  for (const k of ['limit', 'offset'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw bad(k, 'must be a non-negative integer');
  }
}

export const TRIAL_PAGE_SORTS = ['number', 'state', 'value', 'duration', 'started', 'metric'] as const;
export const MAX_TRIAL_PAGE = 10_000;

/** Validates a pageTrials query; returns it with defaults filled in. */
export function checkPageQuery(q: TrialPageQuery): Required<Omit<TrialPageQuery, 'metric' | 'states' | 'text'>> & Pick<TrialPageQuery, 'metric' | 'states' | 'text'> {
  checkListOptions({ states: q.states });
  const sortBy = q.sortBy ?? 'number';
  if (!(TRIAL_PAGE_SORTS as readonly string[]).includes(sortBy)) throw bad('sortBy', `unknown sort key ${JSON.stringify(sortBy)}${didYouMeanValue(sortBy, TRIAL_PAGE_SORTS)}`, `use one of: ${TRIAL_PAGE_SORTS.join(', ')}`);
  if (sortBy === 'metric') {
    if (typeof q.metric !== 'string' || q.metric.length === 0 || q.metric.length > 200 || /["\\]/.test(q.metric)) {
      throw bad('metric', 'sortBy metric needs a metric name of 1-200 characters without " or \\', 'e.g. metric: "val_acc"');
    }
  }
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_TRIAL_PAGE)) throw bad('limit', `must be an integer in 1..${MAX_TRIAL_PAGE}`);
  if (!(Number.isSafeInteger(offset) && offset >= 0)) throw bad('offset', 'must be a non-negative integer');
  if (q.text !== undefined && (typeof q.text !== 'string' || q.text.length > 200)) throw bad('text', 'must be a string of at most 200 characters');
  return { sortBy, desc: q.desc ?? false, limit, offset, metric: q.metric, states: q.states, text: q.text };
}

export function checkWorkerInfo(w: WorkerInfo): void {
  checkString(w?.id, 'worker.id');
  checkString(w.host, 'worker.host');
  if (!Number.isSafeInteger(w.pid)) throw bad('worker.pid', 'must be an integer');
  if (w.info !== undefined) checkObject(w.info, 'worker.info');
}

export function checkAttrKey(key: unknown): asserts key is string {
  checkString(key, 'key');
}

// ---------------------------------------------------------------- codec

/** JSON text with non-finite numbers kept as the strings "NaN", "Infinity", "-Infinity". */
export function encodeNumbers(v: Metrics | number[]): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
}

// Both decoders convert the parsed object in place (NaN/Infinity are stored as strings): no copy
// per row, which matters when 20,000 rows are read at once.
export function decodeMetrics(s: string | null): Metrics | null {
  if (s === null) return null;
  const o = JSON.parse(s) as Record<string, number | string>;
  for (const k in o) {
    const v = o[k];
    if (typeof v === 'string') o[k] = Number(v);
  }
  return o as Metrics;
}

export function decodeValues(s: string | null): number[] | null {
  if (s === null) return null;
  const a = JSON.parse(s) as (number | string)[];
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'string') a[i] = Number(v);
  }
  return a as number[];
}

/** The sortable first objective value (`candidateValue`): finite values only (a NaN can never be best). */
export function value0(values: number[] | null | undefined): number | null {
  return candidateValue({ values });
}

export function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}
export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function setAttr(attrs: JsonObject, key: string, value: Json | undefined): JsonObject {
  const next = { ...attrs };
  if (value === undefined) delete next[key];
  else {
    checkJson(value, `attrs.${key}`);
    next[key] = value;
  }
  return next;
}

/**
 * `attrs` with the lost attempt `{attempt, worker, expired_at}` appended to `lease_expiries` (see
 * Store.claimTrial): what a claim that takes over an expired lease records. A value there that
 * is not a list (a user overwrote it) is replaced.
 */
export function withLeaseExpiry(attrs: JsonObject, attempt: number, worker: string | null, expiredAt: unknown): JsonObject {
  const old = attrs[LEASE_EXPIRIES_ATTR];
  const list: Json[] = Array.isArray(old) ? [...old] : [];
  list.push({ attempt: num(attempt), worker, expired_at: numOrNull(expiredAt) });
  return { ...attrs, [LEASE_EXPIRIES_ATTR]: list };
}

/** A strategy state as stored: plain JSON text (`invalid_config` naming `field` when it is not). */
export function encodeStrategyState(state: Json, field: string): string {
  checkJson(state, field);
  return JSON.stringify(state);
}

/** A new trial's column values (the lease times are each backend's clock). */
export interface EncodedTrial {
  state: 'running' | 'waiting';
  arch: string;
  archKey: string | null;
  budget: number | null;
  params: string;
  workerId: WorkerId | null;
  attempt: number;
  userAttrs: string;
  /** The strategy state to save with the trial, as JSON text; null when none. */
  strategyState: string | null;
}

/** Validates a new trial and encodes its columns. */
export function encodeNewTrial(t: NewTrial): EncodedTrial {
  validateNewTrial(t);
  return {
    state: t.claim ? 'running' : 'waiting',
    arch: JSON.stringify(t.arch),
    archKey: t.archKey,
    budget: t.budget,
    params: JSON.stringify(t.params),
    workerId: t.claim ? t.claim.workerId : null,
    attempt: t.claim ? 1 : 0,
    userAttrs: JSON.stringify(t.userAttrs ?? {}),
    strategyState: t.strategyState === undefined ? null : JSON.stringify(t.strategyState.state),
  };
}

/** An imported trial's columns (Store.importTrials): the new trial's and the outcome's. */
export interface EncodedImport {
  state: FinalTrialState;
  arch: string;
  archKey: string | null;
  budget: number | null;
  params: string;
  workerId: string | null;
  attempt: number;
  metrics: string | null;
  vals: string | null;
  value0: number | null;
  error: string | null;
  durationMs: number | null;
  userAttrs: string;
}

/**
 * Validates and encodes the trials of an import; a bad one is `invalid_config` naming
 * `trials[i].<field>` (nothing is written).
 */
export function encodeImports(trials: readonly ImportedTrial[]): EncodedImport[] {
  if (!Array.isArray(trials)) throw bad('trials', 'must be a list of finished trials');
  return trials.map((t, i) => {
    try {
      if (t === null || typeof t !== 'object') throw bad('trial', 'must be an object');
      validateNewTrial({ arch: t.arch, archKey: t.archKey, budget: t.budget, params: t.params, ...(t.userAttrs === undefined ? {} : { userAttrs: t.userAttrs }) });
      if (t.workerId !== undefined && t.workerId !== null) checkString(t.workerId, 'trial.workerId');
      const [state, metrics, vals, v0, error, durationMs] = encodeFinish(t.outcome);
      return {
        state: state as FinalTrialState,
        arch: JSON.stringify(t.arch),
        archKey: t.archKey,
        budget: t.budget,
        params: JSON.stringify(t.params),
        workerId: t.workerId ?? null,
        attempt: t.workerId === undefined || t.workerId === null ? 0 : 1,
        metrics: metrics as string | null,
        vals: vals as string | null,
        value0: v0 as number | null,
        error: error as string | null,
        durationMs: durationMs as number | null,
        userAttrs: JSON.stringify(t.userAttrs ?? {}),
      };
    } catch (e) {
      if (!(e instanceof NasError)) throw e;
      const field = e.field === undefined ? `trials[${i}]` : `trials[${i}].${e.field.replace(/^(trial|result)\./, (m) => (m === 'result.' ? 'outcome.' : ''))}`;
      throw nestError(e, field);
    }
  });
}

/** Validates an outcome; its columns in the order state, metrics, vals, value0, error, duration_ms. */
export function encodeFinish(res: FinishTrial): unknown[] {
  validateFinish(res);
  const values = res.values ?? null;
  return [
    res.state, res.metrics === undefined ? null : encodeNumbers(res.metrics), values === null ? null : encodeNumbers(values),
    value0(values), res.error ?? null, res.durationMs ?? null,
  ];
}

/**
 * The ORDER BY clause of pageTrials given the SQL expression of its sort key (`metricExpr` for
 * sortBy `metric`): nulls last in both directions, ties by number ascending.
 */
export function pageOrder(sortBy: (typeof TRIAL_PAGE_SORTS)[number], desc: boolean, metricExpr: string): string {
  let key: string;
  switch (sortBy) {
    case 'number': return `number ${desc ? 'DESC' : 'ASC'}`;
    case 'state': key = 'state'; break;
    case 'value': key = 'value0'; break;
    case 'duration': key = 'COALESCE(duration_ms, finished_at - started_at)'; break;
    case 'started': key = 'started_at'; break;
    case 'metric': key = metricExpr; break;
  }
  // NULLS LAST (SQLite >= 3.30, PostgreSQL): the key is one sort column, evaluated once per row
  // (`key IS NULL, key` evaluated it twice: two JSON parses per row for a metric on SQLite).
  return `${key} ${desc ? 'DESC' : 'ASC'} NULLS LAST, number ASC`;
}

/**
 * The WHERE term of a pageTrials `text` filter for placeholder `p` (bound to likePattern(text)):
 * a case-insensitive LIKE (`op`: LIKE on SQLite, which ignores ASCII case; ILIKE on PostgreSQL).
 */
export function pageTextSql(op: 'LIKE' | 'ILIKE', p: string): string {
  return `(arch ${op} ${p} ESCAPE '\\' OR params ${op} ${p} ESCAPE '\\' OR arch_key ${op} ${p} ESCAPE '\\')`;
}
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The ORDER BY clause of listTrials: by number, or by the first value with nulls last. */
export function trialOrder(o: ListTrialsOptions): string {
  const dir = o.desc ? 'DESC' : 'ASC';
  return o.orderBy === 'value' ? `value0 IS NULL, value0 ${dir}, number` : `number ${dir}`;
}

// ---------------------------------------------------------------- outcomes both backends report

export function noStudyError(id: StudyId | number, note = ''): NasError {
  return new NasError('not_found', `no study with id ${id}${note}`);
}

/** A lost compare-and-set; `current` is the stored version (undefined: the study is gone). */
export function versionConflictError(id: StudyId, expectedVersion: number, current: number | undefined): NasError {
  if (current === undefined) return noStudyError(id);
  return new NasError('conflict', `strategy state of study ${id} is at version ${current}, not ${expectedVersion}: another writer saved first`, {
    hint: 'reload the strategy state and the trials, then retry', details: { expectedVersion, version: current },
  });
}

/** A `uniqueKey` insert refused: the study already has a trial of this key and budget. */
export function seenKeyError(id: StudyId, archKey: string, budget: number | null, number: number): NasError {
  return new NasError('conflict', `study ${id} already has trial ${number} with key ${archKey}${budget === null ? '' : ` at budget ${budget}`}`, {
    hint: 'reload the trials and propose another architecture', details: { archKey, budget, trial: number, reason: 'seen_key' },
  });
}

export function budgetExhaustedError(id: StudyId, trials: number, maxTrials: number): NasError {
  return new NasError('budget_exhausted', `study ${id} already has ${trials} trials (budget ${maxTrials})`, { details: { trials, maxTrials } });
}

/** Objective i of the study; `invalid_config` when it has fewer. */
export function objectiveOf(s: StudyRecord, i: number): Objective {
  const o = s.objectives[i];
  if (o === undefined) {
    throw new NasError('invalid_config', `study ${s.name} has ${s.objectives.length} objective(s), no objective ${i}`, { field: 'objective' });
  }
  return o;
}

/** A listStudies entry from the per-(study, state) trial counts and the study's best trial. */
export function summarize(s: StudyRecord, counts: { study_id: unknown; state: string; n: unknown }[], best: TrialRecord | null): StudySummary {
  const c = emptyCounts();
  for (const r of counts) if (num(r.study_id) === s.id) addCount(c, r.state, num(r.n));
  return { ...s, counts: c, best: best === null ? null : { trialId: best.id, number: best.number, value: best.values![0]! } };
}

// ---------------------------------------------------------------- rows

/**
 * The best trial is the best among those evaluated at the highest fidelity any complete trial
 * reached: a null budget (the evaluator's full budget) ranks above every number, then larger
 * budgets first. A 1-epoch rung of Hyperband/ASHA is not comparable with the full-budget rung,
 * so a lucky low-budget value never becomes "the best". Studies without budgets are unaffected.
 * SQL for both backends; `bestOf` is the same rule in TypeScript.
 */
export const BEST_BUDGET_ORDER = '(budget IS NULL) DESC, budget DESC';

/** The best-trial rule's budget order: > 0 when `a` ranks above `b`, null (full budget) highest. */
function compareBudgets(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}

export const TRIAL_COLS =
  'id, study_id, number, state, arch, arch_key, budget, params, worker_id, attempt, lease_expires_at, heartbeat_at, metrics, vals, error, duration_ms, created_at, started_at, finished_at, user_attrs';

/** TRIAL_COLS without `arch`: listTrialOutcomes. */
export const TRIAL_OUTCOME_COLS = TRIAL_COLS.replace(' arch,', '');

export interface StudyRow {
  id: unknown;
  name: string;
  state: string;
  strategy_name: string;
  strategy_options: string;
  space_name: string;
  space_definition: string;
  evaluator_name: string;
  evaluator_options: string;
  objectives: string;
  constraints: string;
  seed: unknown;
  max_trials: unknown;
  config: string;
  user_attrs: string;
  created_at: unknown;
  updated_at: unknown;
}

export function studyFromRow(r: StudyRow): StudyRecord {
  return {
    id: studyId(num(r.id)),
    name: r.name,
    state: r.state as StudyState,
    strategy: { name: r.strategy_name, options: JSON.parse(r.strategy_options) as JsonObject },
    space: { name: r.space_name, definition: JSON.parse(r.space_definition) as Json },
    evaluator: { name: r.evaluator_name, options: JSON.parse(r.evaluator_options) as JsonObject },
    objectives: JSON.parse(r.objectives) as StudyRecord['objectives'],
    constraints: JSON.parse(r.constraints) as JsonObject[],
    seed: num(r.seed),
    maxTrials: numOrNull(r.max_trials),
    config: JSON.parse(r.config) as JsonObject,
    userAttrs: JSON.parse(r.user_attrs) as JsonObject,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Column values for inserting a study, in STUDY_INSERT_COLUMNS order. */
export const STUDY_INSERT_COLUMNS = [
  'name', 'state', 'strategy_name', 'strategy_options', 'space_name', 'space_definition', 'evaluator_name',
  'evaluator_options', 'objectives', 'constraints', 'seed', 'max_trials', 'config', 'user_attrs', 'created_at', 'updated_at',
] as const;
export function studyInsertValues(spec: StudySpec, now: number): unknown[] {
  return [
    spec.name, 'running', spec.strategy.name, JSON.stringify(spec.strategy.options), spec.space.name,
    JSON.stringify(spec.space.definition), spec.evaluator.name, JSON.stringify(spec.evaluator.options),
    JSON.stringify(spec.objectives.map((o) => ({ metric: o.metric, direction: o.direction, ...(o.tieBreak ? { tieBreak: { metric: o.tieBreak.metric, direction: o.tieBreak.direction } } : {}) }))),
    JSON.stringify(spec.constraints), spec.seed, spec.maxTrials, JSON.stringify(spec.config),
    JSON.stringify(spec.userAttrs ?? {}), now, now,
  ];
}

export interface TrialRow {
  id: unknown;
  study_id: unknown;
  number: unknown;
  state: string;
  arch: string;
  arch_key: string | null;
  budget: unknown;
  params: string;
  worker_id: string | null;
  attempt: unknown;
  lease_expires_at: unknown;
  heartbeat_at: unknown;
  metrics: string | null;
  vals: string | null;
  error: string | null;
  duration_ms: unknown;
  created_at: unknown;
  started_at: unknown;
  finished_at: unknown;
  user_attrs: string;
}

export function trialFromRow(r: TrialRow): TrialRecord {
  return { ...trialOutcomeFromRow(r), arch: JSON.parse(r.arch) as Json };
}

/** A row read with TRIAL_OUTCOME_COLS (no `arch`). */
export function trialOutcomeFromRow(r: Omit<TrialRow, 'arch'>): TrialOutcome {
  return {
    id: trialId(num(r.id)),
    studyId: studyId(num(r.study_id)),
    number: num(r.number),
    state: r.state as TrialState,
    archKey: r.arch_key,
    budget: numOrNull(r.budget),
    params: JSON.parse(r.params) as JsonObject,
    workerId: r.worker_id === null ? null : workerId(r.worker_id),
    attempt: num(r.attempt),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    heartbeatAt: numOrNull(r.heartbeat_at),
    metrics: decodeMetrics(r.metrics),
    values: decodeValues(r.vals),
    error: r.error,
    durationMs: numOrNull(r.duration_ms),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    userAttrs: JSON.parse(r.user_attrs) as JsonObject,
  };
}

/**
 * TrialPointKeys checked: at most MAX_POINT_KEYS keys in all, each a non-empty string, none twice
 * in a list; a fallback metric also in `metrics` is left out of `fallbackMetrics` (read always).
 */
export interface PointKeys {
  readonly metrics: readonly string[];
  readonly fallbackMetrics: readonly string[];
  readonly params: readonly string[];
  readonly userAttrs: readonly string[];
}
const MAX_POINT_KEYS = 32;

export function checkTrialPointKeys(k: TrialPointKeys | undefined): PointKeys {
  const out = { metrics: [] as string[], fallbackMetrics: [] as string[], params: [] as string[], userAttrs: [] as string[] };
  if (k === undefined) return out;
  if (k === null || typeof k !== 'object') throw bad('keys', 'must be an object of key lists', 'e.g. { metrics: ["val_acc"] }');
  for (const part of ['metrics', 'fallbackMetrics', 'params', 'userAttrs'] as const) {
    const list = k[part];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw bad(`keys.${part}`, 'must be an array of names', `e.g. { ${part}: ["val_acc"] }`);
    for (const [i, key] of (list as unknown[]).entries()) {
      if (typeof key !== 'string' || key.length === 0 || key.length > 200) throw bad(`keys.${part}[${i}]`, 'must be a non-empty string of at most 200 characters');
      if (!out[part].includes(key)) out[part].push(key);
    }
  }
  out.fallbackMetrics = out.fallbackMetrics.filter((m) => !out.metrics.includes(m));
  if (out.metrics.length + out.fallbackMetrics.length + out.params.length + out.userAttrs.length > MAX_POINT_KEYS) {
    throw bad('keys', `at most ${MAX_POINT_KEYS} keys in all`, 'ask for the few values a chart draws; listTrialOutcomes reads whole rows');
  }
  return out;
}

/** A JSON path naming one top-level key for SQLite's json_* functions (`$."key"`, quotes escaped). */
export function sqliteKeyPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

/**
 * A LIKE pattern (escape character backslash) that every JSON text written by this store holds
 * when it has top-level `key`: the key as JSON.stringify writes it, quoted. It may also match
 * texts without the key (a nested key, or any case on SQLite), never miss one: a cheap filter
 * before the exact JSON test.
 */
export function keyLikePattern(key: string): string {
  return likePattern(JSON.stringify(key));
}

/** How many columns a selectTrialPoints row has before the keyed values. */
export const POINT_SCALARS = 7;

/**
 * Empty TrialPoints columns for `n` trials, filled by `setPointRow`. Layout of a row (of either
 * backend's selectTrialPoints): id, number, state, budget, value0, started_at, finished_at, then
 * one value per metric key, per fallback metric key, per param key and per user-attribute key,
 * in PointKeys order. Values are numbers, null, or text (PostgreSQL's text rows: numbers as text,
 * "" for null; metrics "NaN", "Infinity", "-Infinity").
 */
export function newTrialPoints(n: number, k: PointKeys): PointsBuilder {
  const metrics = new Map<string, (number | null)[]>();
  for (const key of [...k.metrics, ...k.fallbackMetrics]) metrics.set(key, new Array<number | null>(n).fill(null));
  const floats = (keys: readonly string[]): Map<string, Float64Array> => new Map(keys.map((key) => [key, new Float64Array(n)]));
  return {
    ...newScalarColumns(n),
    metrics,
    params: floats(k.params),
    userAttrs: floats(k.userAttrs),
  };
}

/** TrialPoints being filled. */
export interface PointsBuilder extends Omit<TrialPoints, 'state' | 'metrics'> {
  readonly state: TrialState[];
  readonly metrics: Map<string, (number | null)[]>;
}

/** A number or NaN from a SQL value: a number, null, or text ("" is null). */
function sqlFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined || v === '') return Number.NaN;
  return Number(v);
}

/** Row `r` (layout: newTrialPoints) into entry `i` of `p`; `cols` caches p's keyed columns in row order. */
export function setPointRow(p: PointsBuilder, cols: PointColumns, i: number, r: ArrayLike<unknown>): void {
  p.id[i] = sqlFloat(r[0]);
  p.number[i] = sqlFloat(r[1]);
  p.state[i] = r[2] as TrialState;
  p.budget[i] = sqlFloat(r[3]);
  p.value0[i] = sqlFloat(r[4]);
  p.startedAt[i] = sqlFloat(r[5]);
  p.finishedAt[i] = sqlFloat(r[6]);
  let c = POINT_SCALARS;
  for (const m of cols.metrics) {
    const v = r[c++];
    m[i] = v === null || v === undefined || v === '' ? null : typeof v === 'number' ? v : Number(v);
  }
  for (const f of cols.floats) {
    const x = sqlFloat(r[c++]);
    f[i] = Number.isFinite(x) ? x : Number.NaN;
  }
}

/** p's keyed columns in selectTrialPoints' row order. */
export interface PointColumns {
  readonly metrics: (number | null)[][];
  readonly floats: Float64Array[];
}
export function pointColumns(p: PointsBuilder, k: PointKeys): PointColumns {
  return {
    metrics: [...k.metrics, ...k.fallbackMetrics].map((key) => p.metrics.get(key)!),
    floats: [...k.params.map((key) => p.params.get(key)!), ...k.userAttrs.map((key) => p.userAttrs.get(key)!)],
  };
}

/** TrialPoints from rows (layout: newTrialPoints), in any order. */
export function trialPointsFromRows(rows: readonly ArrayLike<unknown>[], k: PointKeys): TrialPoints {
  const p = newTrialPoints(rows.length, k);
  const cols = pointColumns(p, k);
  for (let i = 0; i < rows.length; i++) setPointRow(p, cols, i, rows[i]!);
  return p;
}

const STATE_OF_LETTER: Readonly<Record<string, TrialState>> = { w: 'waiting', r: 'running', c: 'complete', p: 'pruned', f: 'failed' };

/** float64 values from their big-endian bytes (PostgreSQL's float8send). `buf` is reordered in place. */
function float64s(buf: Buffer, n: number): Float64Array {
  if (buf.length !== n * 8) throw storageError('other', `trial points: a column of ${buf.length} bytes for ${n} trials`, { hint: 'the database answered in an unexpected form; please report it' });
  if (littleEndian) buf.swap64();
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * TrialPoints from columns (PostgreSQL's selectTrialPoints): `state`, one letter per trial (the
 * first of its state); `numbers`, per number column, its float8 values' big-endian bytes (NaN for
 * null) in the order id, number, budget, value0, started_at, finished_at, the
 * metric keys, the fallback metric keys, the param keys, the user-attribute keys; `present`, per
 * metric column, '1' where the trial has the value, '0' where not (a metric may be NaN).
 */
export function trialPointsFromColumns(state: string, numbers: readonly Buffer[], present: readonly string[], k: PointKeys): TrialPoints {
  const n = state.length;
  const p = newTrialPoints(n, k);
  for (let i = 0; i < n; i++) {
    const s = STATE_OF_LETTER[state[i]!];
    if (s === undefined) throw storageError('other', `trial points: unknown state letter ${JSON.stringify(state[i])}`, { hint: 'the database holds a state this tsnas does not know' });
    p.state[i] = s;
  }
  const col = (j: number): Float64Array => float64s(numbers[j] ?? Buffer.alloc(0), n);
  const scalars = [p.id, p.number, p.budget, p.value0, p.startedAt, p.finishedAt];
  for (const [j, c] of scalars.entries()) c.set(col(j));
  let j = scalars.length;
  for (const [m, key] of [...k.metrics, ...k.fallbackMetrics].entries()) {
    const v = col(j++);
    const has = present[m] ?? '';
    const out = p.metrics.get(key)!;
    for (let i = 0; i < n; i++) out[i] = has.charCodeAt(i) === 49 /* '1' */ ? v[i]! : null;
  }
  for (const c of [...k.params.map((key) => p.params.get(key)!), ...k.userAttrs.map((key) => p.userAttrs.get(key)!)]) {
    const v = col(j++);
    for (let i = 0; i < n; i++) c[i] = Number.isFinite(v[i]!) ? v[i]! : Number.NaN;
  }
  return p;
}

/** Puts columns in the order of a permutation (numberOrder's), one helper per column kind. */
interface Reorder {
  readonly num: (c: Float64Array) => Float64Array;
  readonly list: <T>(c: readonly T[]) => T[];
}

/**
 * How to put columns in ascending trial-number order, given the first `count` entries of the number
 * column, or null when they already are sorted (the usual case, checked in one pass before any
 * allocation).
 */
function numberOrder(number: Float64Array, count: number): Reorder | null {
  let sorted = true;
  for (let i = 1; i < count; i++) {
    if (number[i]! < number[i - 1]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return null;
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => number[a]! - number[b]!);
  return { num: (c) => Float64Array.from(order, (i) => c[i]!), list: (c) => order.map((i) => c[i]!) };
}

/** The shared columns of `n` trials, zero-filled (every column-wise read starts from these). */
function newScalarColumns(n: number): TrialScalarColumns & { readonly state: TrialState[] } {
  return {
    count: n,
    id: new Float64Array(n),
    number: new Float64Array(n),
    state: new Array<TrialState>(n),
    budget: new Float64Array(n),
    value0: new Float64Array(n),
    startedAt: new Float64Array(n),
    finishedAt: new Float64Array(n),
  };
}

/** The shared columns of `c` reordered by `r` (from numberOrder). */
function scalarsReordered(c: TrialScalarColumns, r: Reorder): TrialScalarColumns {
  const { num: f, list: g } = r;
  return {
    count: c.count,
    id: f(c.id),
    number: f(c.number),
    state: g(c.state),
    budget: f(c.budget),
    value0: f(c.value0),
    startedAt: f(c.startedAt),
    finishedAt: f(c.finishedAt),
  };
}

/** `p` in number order (a backend may return the trials in any order; usually they already are). */
export function pointsInNumberOrder(p: TrialPoints): TrialPoints {
  const r = numberOrder(p.number, p.count);
  if (r === null) return p;
  const { num: f, list: g } = r;
  return {
    ...scalarsReordered(p, r),
    metrics: new Map([...p.metrics].map(([key, c]) => [key, g(c)])),
    params: new Map([...p.params].map(([key, c]) => [key, f(c)])),
    userAttrs: new Map([...p.userAttrs].map(([key, c]) => [key, f(c)])),
  };
}

/**
 * What listTrialPoints answers for trials read in full (in number order): the definition the
 * backends' SQL must match (the conformance suite compares them), and the fallback for a reader
 * holding records.
 */
export function trialPointsOf(trials: readonly TrialOutcome[], keys: TrialPointKeys = {}): TrialPoints {
  const k = checkTrialPointKeys(keys);
  const p = newTrialPoints(trials.length, k);
  const nan = (x: number | null): number => (x === null ? Number.NaN : x);
  const has = (o: Record<string, unknown> | null, key: string): boolean => o !== null && Object.prototype.hasOwnProperty.call(o, key);
  for (const [i, t] of trials.entries()) {
    p.id[i] = t.id;
    p.number[i] = t.number;
    p.state[i] = t.state;
    p.budget[i] = nan(t.budget);
    const v0 = value0(t.values);
    p.value0[i] = nan(v0);
    p.startedAt[i] = nan(t.startedAt);
    p.finishedAt[i] = nan(t.finishedAt);
    for (const key of k.metrics) p.metrics.get(key)![i] = has(t.metrics, key) ? t.metrics![key]! : null;
    for (const key of k.fallbackMetrics) p.metrics.get(key)![i] = v0 === null && has(t.metrics, key) ? t.metrics![key]! : null;
    for (const [keys, src, out] of [[k.params, t.params, p.params], [k.userAttrs, t.userAttrs, p.userAttrs]] as const) {
      for (const key of keys) {
        const v = has(src, key) ? (src as Record<string, unknown>)[key] : undefined;
        out.get(key)![i] = typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
      }
    }
  }
  return p;
}

export interface IntermediateRow {
  trial_id: unknown;
  step: unknown;
  metrics: string;
  reported_at: unknown;
}
export function intermediateFromRow(r: IntermediateRow): IntermediateRecord {
  return { trialId: trialId(num(r.trial_id)), step: num(r.step), metrics: decodeMetrics(r.metrics) ?? {}, reportedAt: num(r.reported_at) };
}

export interface WorkerRow {
  id: string;
  study_id: unknown;
  host: string;
  pid: unknown;
  info: string;
  state: string;
  started_at: unknown;
  last_seen_at: unknown;
}
export function workerFromRow(r: WorkerRow): WorkerRecord {
  return {
    id: workerId(r.id),
    studyId: r.study_id === null ? null : studyId(num(r.study_id)),
    host: r.host,
    pid: num(r.pid),
    info: JSON.parse(r.info) as JsonObject,
    state: r.state as WorkerRecord['state'],
    startedAt: num(r.started_at),
    lastSeenAt: num(r.last_seen_at),
  };
}

export function emptyCounts(): TrialCounts {
  return { waiting: 0, running: 0, complete: 0, pruned: 0, failed: 0, total: 0 };
}
export function addCount(c: TrialCounts, state: string, n: number): void {
  if ((TRIAL_STATES as readonly string[]).includes(state)) c[state as TrialState] += n;
  c.total += n;
}

/**
 * Whether the best trial must be chosen in TypeScript (`bestOf`) rather than by the SQL fast path:
 * the study has constraints, or its first objective a tie-break metric.
 */
export function bestNeedsMetrics(s: { constraints: readonly JsonObject[]; objectives: readonly Objective[] }): boolean {
  return s.constraints.length > 0 || s.objectives[0]?.tieBreak !== undefined;
}

/** A study's stored constraints (plain JSON) as the typed rule `violates` takes. */
export function studyConstraints(spec: { constraints: readonly JsonObject[] }): Constraint[] {
  return spec.constraints.map((c) => ({
    metric: String(c['metric']),
    ...(typeof c['max'] === 'number' ? { max: c['max'] } : {}),
    ...(typeof c['min'] === 'number' ? { min: c['min'] } : {}),
  }));
}

/**
 * Best complete trial for objective i, computed in memory (objectives after the first, and studies
 * with constraints). A trial whose recorded metrics violate a constraint is never the best
 * (`violates`, the rule strategies use): with no feasible trial the answer is null.
 */
export function bestOf<T extends Pick<TrialRecord, 'state' | 'values' | 'metrics' | 'budget'>>(
  trials: readonly T[],
  i: number,
  direction: 'minimize' | 'maximize',
  constraints: readonly Constraint[] = [],
  tieBreak?: TieBreak,
): T | null {
  let best: T | null = null;
  let bv = 0;
  for (const t of trials) {
    const v = candidateValue(t, i);
    if (t.state !== 'complete' || v === null) continue;
    if (constraints.length && violates(t.metrics ?? {}, constraints)) continue;
    const rb = best === null ? 0 : compareBudgets(t.budget, best.budget);
    const better = direction === 'minimize' ? v < bv : v > bv;
    // Equal values: the objective's tie-break metric decides; still equal, the earlier trial stays.
    const wins = better || (v === bv && compareTieBreak(t.metrics, best?.metrics, tieBreak) > 0);
    if (best === null || rb > 0 || (rb === 0 && wins)) {
      best = t;
      bv = v;
    }
  }
  return best;
}

/** Why an ownership-checked update matched no row: `not_found` or `conflict`. */
export function ownershipError(
  what: string,
  trial: { id: number; state: string; worker_id: string | null; attempt: number | string } | undefined,
  id: number,
  worker: string,
  attempt: number | null = null,
): NasError {
  if (trial === undefined) return new NasError('not_found', `${what}: trial ${id} does not exist`);
  const current = Number(trial.attempt);
  const mine = attempt === null ? '' : ` (attempt ${attempt})`;
  if (attempt !== null && current !== attempt) {
    // Fencing by attempt number: the trial was claimed again since this caller's claim, possibly
    // under the same worker id (a restarted worker with a stable name), so its lease is gone.
    return new NasError('conflict', `${what}: attempt ${attempt} of trial ${id} by worker ${worker} is stale: the trial is at attempt ${current} (${trial.state}, worker ${trial.worker_id})`, {
      details: { trialId: id, state: trial.state, owner: trial.worker_id, workerId: worker, attempt, currentAttempt: current },
      hint: 'the lease expired before a heartbeat renewed it and the trial was claimed again; the re-run\'s result is the one recorded',
    });
  }
  if (trial.state !== 'running') {
    return new NasError('conflict', `${what}: trial ${id} is ${trial.state}, not running`, {
      details: { trialId: id, state: trial.state, workerId: worker, ...(attempt === null ? {} : { attempt }) },
      hint: trial.state === 'waiting'
        ? 'the trial was released (or never claimed); claim it first'
        : 'a trial is finished only once; its result was already recorded',
    });
  }
  return new NasError('conflict', `${what}: worker ${worker}${mine} lost the lease of trial ${id} to ${trial.worker_id}`, {
    details: { trialId: id, owner: trial.worker_id, workerId: worker, ...(attempt === null ? {} : { attempt }) },
    hint: 'the lease expired before a heartbeat renewed it; the trial is being run again by another worker',
  });
}

export function closedError(url: string): NasError {
  return storageError('closed', `store ${url} is closed`);
}

export function newerSchemaError(where: string, found: number, supported: number, compat: number = found): NasError {
  const needs = compat !== found ? ` (usable by tsnas of schema ${compat} or later)` : '';
  return storageError('newer_schema', `${where} has schema version ${found}${needs}, written by a newer tsnas; this build reads up to version ${supported}`, {
    hint: 'upgrade tsnas to open this database, or use another database',
    details: { found, supported, compat },
  });
}

/**
 * One schema migration (append only; never edit one that shipped). `compat`: the oldest schema
 * version whose tsnas still works on a database after this migration - the version before it for
 * an additive change (new column, table or index that older code ignores), or its own version
 * for a breaking one. Recorded in schema_version, so that during a rolling upgrade (`tsnas db
 * upgrade`, then the workers replaced one by one) workers of the previous release keep running.
 */
export interface Migration {
  sql: string;
  compat: number;
}

/** What a database's schema_version says: its newest version (0: none) and that version's compat. */
export interface FoundSchema {
  version: number;
  /** null: not recorded (databases of schema 1 predate the column): the version itself. */
  compat: number | null;
}

/**
 * The one rule every backend follows when it opens a database (see OpenStoreOptions.upgrade):
 *  - no schema yet (version 0): `create` it at the current version, unless opened read-only;
 *  - the current version, or a newer one whose compat admits this build: `use` it as it is;
 *  - an older version: `upgrade` only when asked (`tsnas db upgrade`); otherwise refused, because
 *    other processes of the older release may be using it and nothing changes a shared schema
 *    behind their back;
 *  - a newer version this build is too old for: refused (newer_schema).
 */
export function schemaPlan(where: string, found: FoundSchema, current: number, opts: { readOnly: boolean; upgrade: boolean; url: string }): 'create' | 'use' | 'upgrade' {
  const v = found.version;
  if (v > current) {
    const compat = found.compat ?? v;
    if (compat > current) throw newerSchemaError(where, v, current, compat);
    return 'use';
  }
  if (v === current) return 'use';
  if (v === 0) {
    if (opts.readOnly) {
      throw storageError('not_tsnas', `${where} has no tsnas schema`, { hint: 'no search has run on it yet, or it is not a tsnas database: check the URL (a search with it creates the schema)' });
    }
    return 'create';
  }
  if (opts.upgrade && !opts.readOnly) return 'upgrade';
  throw storageError('old_schema', `${where} has schema version ${v}, older than version ${current} that this tsnas needs; it is not upgraded implicitly, since processes of the older tsnas may still be using it`, {
    hint: `run \`tsnas db upgrade --storage ${opts.url}\` once (one transaction, safe to repeat; workers already running are not disturbed), then start this tsnas`,
    details: { found: v, current },
  });
}

/** TrialColumns being filled. */
interface ColumnsBuilder extends Omit<TrialColumns, 'state' | 'workerId' | 'params' | 'metrics' | 'userAttrs'> {
  readonly state: TrialState[];
  readonly workerId: (WorkerId | null)[];
  readonly params: JsonObject[];
  readonly metrics: (Metrics | null)[];
  readonly userAttrs: JsonObject[];
}

function newTrialColumns(n: number): ColumnsBuilder {
  return {
    ...newScalarColumns(n),
    attempt: new Float64Array(n),
    durationMs: new Float64Array(n),
    workerId: new Array<WorkerId | null>(n),
    params: new Array<JsonObject>(n),
    metrics: new Array<Metrics | null>(n),
    userAttrs: new Array<JsonObject>(n),
  };
}

/** Metrics as stored (non-finite values as the texts "NaN", "Infinity", "-Infinity") with numbers for those texts. */
function metricsFromStored(o: Record<string, number | string> | null): Metrics | null {
  if (o === null) return null;
  for (const k in o) {
    const v = o[k];
    if (typeof v === 'string') o[k] = Number(v);
  }
  return o as Metrics;
}

/**
 * The layout of a selectTrialColumns row (both backends): the scalar columns in this order, then
 * worker_id, params, metrics, user_attrs.
 */
export const TRIAL_COLUMN_SCALARS = 'id, number, state, budget, value0, attempt, duration_ms, started_at, finished_at';
export const TRIAL_COLUMN_SELECT = `${TRIAL_COLUMN_SCALARS}, worker_id, params, metrics, user_attrs`;

function jsonOf<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw storageError('other', `trial columns: the ${what} column holds text that is not JSON (${(e as Error).message.slice(0, 120)})`, {
      hint: 'a tool other than tsnas wrote this row; fix or delete it',
    });
  }
}

/** TrialColumns from rows (layout: TRIAL_COLUMN_SELECT; both backends), in any order. */
export function trialColumnsFromRows(rows: readonly ArrayLike<unknown>[]): TrialColumns {
  const n = rows.length;
  const c = newTrialColumns(n);
  const nan = (v: unknown): number => (v === null || v === undefined ? Number.NaN : typeof v === 'number' ? v : Number(v));
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    c.id[i] = nan(r[0]);
    c.number[i] = nan(r[1]);
    c.state[i] = r[2] as TrialState;
    c.budget[i] = nan(r[3]);
    c.value0[i] = nan(r[4]);
    c.attempt[i] = nan(r[5]);
    c.durationMs[i] = nan(r[6]);
    c.startedAt[i] = nan(r[7]);
    c.finishedAt[i] = nan(r[8]);
    c.workerId[i] = r[9] === null ? null : workerId(r[9] as string);
    c.params[i] = jsonOf<JsonObject>(r[10] as string, 'params');
    c.metrics[i] = r[11] === null ? null : metricsFromStored(jsonOf<Record<string, number | string>>(r[11] as string, 'metrics'));
    c.userAttrs[i] = jsonOf<JsonObject>(r[12] as string, 'user_attrs');
  }
  return c;
}

/** `c` in number order (a backend may return the trials in any order; usually they already are). */
export function columnsInNumberOrder(c: TrialColumns): TrialColumns {
  const r = numberOrder(c.number, c.count);
  if (r === null) return c;
  const { num: f, list: g } = r;
  return {
    ...scalarsReordered(c, r),
    attempt: f(c.attempt),
    durationMs: f(c.durationMs),
    workerId: g(c.workerId),
    params: g(c.params),
    metrics: g(c.metrics),
    userAttrs: g(c.userAttrs),
  };
}

/**
 * What listTrialColumns answers for trials read in full (in number order): the definition the
 * backends must match (the conformance suite compares them).
 */
export function trialColumnsOf(trials: readonly TrialRecord[]): TrialColumns {
  const c = newTrialColumns(trials.length);
  const nan = (x: number | null): number => (x === null ? Number.NaN : x);
  for (const [i, t] of trials.entries()) {
    c.id[i] = t.id;
    c.number[i] = t.number;
    c.state[i] = t.state;
    c.budget[i] = nan(t.budget);
    c.value0[i] = nan(value0(t.values));
    c.attempt[i] = t.attempt;
    c.durationMs[i] = nan(t.durationMs);
    c.startedAt[i] = nan(t.startedAt);
    c.finishedAt[i] = nan(t.finishedAt);
    c.workerId[i] = t.workerId;
    c.params[i] = t.params;
    c.metrics[i] = t.metrics;
    c.userAttrs[i] = t.userAttrs;
  }
  return c;
}

/**
 * TrialArchitectures from rows `[number, arch text]` in any order (selectTrialArchitectures), put
 * in number order. A number that is not an integer is `storage_error`.
 */
export function trialArchitecturesFromRows(rows: readonly ArrayLike<unknown>[]): TrialArchitectures {
  const n = rows.length;
  const number = new Float64Array(n);
  const text = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const x = typeof r[0] === 'number' ? r[0] : Number(r[0]);
    if (!Number.isSafeInteger(x)) throw storageError('other', `trial architectures: trial number ${String(r[0]).slice(0, 40)} is not an integer`, { hint: 'the database answered in an unexpected form; please report it' });
    number[i] = x;
    text[i] = String(r[1]);
  }
  const o = numberOrder(number, n);
  return o === null ? { count: n, number, text } : { count: n, number: o.num(number), text: o.list(text) };
}

/**
 * TrialArchKeys from rows `[number, arch key or null]` in any order (selectTrialArchKeys), put in
 * number order. A number that is not an integer is `storage_error`.
 */
export function trialArchKeysFromRows(rows: readonly ArrayLike<unknown>[]): TrialArchKeys {
  const n = rows.length;
  const number = new Float64Array(n);
  const key = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const x = typeof r[0] === 'number' ? r[0] : Number(r[0]);
    if (!Number.isSafeInteger(x)) throw storageError('other', `trial arch keys: trial number ${String(r[0]).slice(0, 40)} is not an integer`, { hint: 'the database answered in an unexpected form; please report it' });
    number[i] = x;
    key[i] = r[1] === null || r[1] === undefined ? null : String(r[1]);
  }
  const o = numberOrder(number, n);
  return o === null ? { count: n, number, key } : { count: n, number: o.num(number), key: o.list(key) };
}

/** What listTrialArchKeys answers for trials read in full (in number order). */
export function trialArchKeysOf(trials: readonly TrialRecord[]): TrialArchKeys {
  return { count: trials.length, number: Float64Array.from(trials, (t) => t.number), key: trials.map((t) => t.archKey) };
}

/**
 * What listTrialArchitectures answers for trials read in full (in number order): the definition
 * the backends must match (texts compared parsed: another writer may space them differently).
 */
export function trialArchitecturesOf(trials: readonly TrialRecord[]): TrialArchitectures {
  return { count: trials.length, number: Float64Array.from(trials, (t) => t.number), text: trials.map((t) => JSON.stringify(t.arch)) };
}
