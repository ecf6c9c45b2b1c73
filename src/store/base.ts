/**
 * The Store logic both SQL backends share, written once: input validation, JSON encoding, row ->
 * record mapping and the errors that name what went wrong. A backend extends `SqlStore` and writes
 * only its SQL (the protected primitives below), its transactions, migrations and connection
 * handling. A primitive receives validated, encoded values and returns raw rows (or how many rows
 * it changed); it runs its statements atomically (one statement or one transaction).
 */
import { didYouMean } from '../core/suggest.js';
import { NasError } from '../core/errors.js';
import type { StudyId, TrialId, WorkerId } from '../core/ids.js';
import type { Json, JsonObject } from '../core/json.js';
import {
  addCount, bestNeedsMetrics, bestOf, studyConstraints, checkAttempt, checkAttrKey, checkLease, checkListOptions, checkMetrics, checkStep, checkStudyState, checkWorkerInfo, emptyCounts,
  encodeFinish, encodeImports, encodeNewTrial, encodeNumbers, encodeStrategyState, intermediateFromRow, noStudyError, objectiveOf, ownershipError,
  setAttr, studyFromRow, studyInsertValues, trialFromRow, trialOutcomeFromRow, validateSpec, workerFromRow, checkTrialPointKeys, pointsInNumberOrder, columnsInNumberOrder,
} from './common.js';
import { checkPageQuery } from './common.js';
import type { EncodedImport, EncodedTrial, IntermediateRow, PointKeys, StudyRow, TrialRow, WorkerRow } from './common.js';
import type {
  Direction, FinishTrial, ImportedTrial, IntermediateRecord, ListTrialsOptions, Metrics, NewTrial, StrategyState, Store, StudyRecord, StudySpec,
  SchemaState, StudyState, StudySummary, TrialCounts, TrialPageQuery, TrialPageResult, TrialRecord, TrialOutcome, TrialPoints, TrialPointKeys, TrialColumns, TrialArchitectures, TrialArchKeys, TrialWriter, WorkerInfo, WorkerRecord,
} from './types.js';

/** Who holds a trial, for explaining why an ownership-checked update matched no row. */
export interface OwnerRow {
  id: number;
  state: string;
  worker_id: string | null;
  attempt: number;
}

/** A checked trial writer (Store.setTrialAttr's `writer`). */
export interface AttrFence {
  workerId: WorkerId;
  attempt: number;
}

/**
 * Whether a fenced attribute write must be refused: the trial is not `fence`'s attempt - claimed
 * again since, held by another worker, or given back (`waiting`). A finished trial keeps its
 * last holder and attempt, so the attempt that finished it may still annotate it.
 */
export function fenceRefuses(row: OwnerRow, fence: AttrFence): boolean {
  return row.worker_id !== fence.workerId || Number(row.attempt) !== fence.attempt || row.state === 'waiting';
}

export abstract class SqlStore implements Store {
  abstract readonly kind: Store['kind'];
  abstract readonly concurrentReads: boolean;
  abstract readonly url: string;
  abstract readonly schema: SchemaState;

  // ---------------------------------------------------------------- the backend's SQL

  /** Inserts a study (columns: STUDY_INSERT_COLUMNS) and its empty strategy state; undefined when the name is taken. */
  protected abstract insertStudy(name: string, values: unknown[]): Promise<StudyRow | undefined>;
  protected abstract selectStudy(idOrName: StudyId | string): Promise<StudyRow | undefined>;
  /** All study names, oldest first. */
  protected abstract selectStudyNames(): Promise<string[]>;
  /** Returns whether a study was deleted. */
  protected abstract deleteStudyRow(id: StudyId): Promise<boolean>;
  protected abstract updateStudyState(id: StudyId, state: StudyState): Promise<boolean>;
  /**
   * Read-modify-write of a row's user_attrs in one transaction; false when the row is absent.
   * With `fence` (trials only): the trial's owner row, unchanged, when `fenceRefuses` it.
   */
  protected abstract updateUserAttrs(table: 'studies' | 'trials', id: number, f: (attrs: JsonObject) => JsonObject, fence?: AttrFence): Promise<boolean | OwnerRow>;
  protected abstract selectStrategyState(id: StudyId): Promise<{ version: unknown; state: string | null } | undefined>;
  /** The compare-and-set; returns the new version, throws versionConflictError (or not_found). */
  protected abstract casStrategyStateAlone(id: StudyId, expectedVersion: number, text: string): Promise<number>;
  /**
   * In one transaction: not_found, the budget guard (budgetExhaustedError), the strategy state's
   * compare-and-set when `e.strategyState` is set, the next number and the insert.
   */
  protected abstract insertTrial(id: StudyId, t: NewTrial, e: EncodedTrial): Promise<TrialRow>;
  /**
   * See Store.claimTrial; null when nothing is claimable, 'no_study' when the study does not
   * exist (found out in the same round trip: an idle worker's claim is one query).
   */
  /**
   * In one transaction: not_found, then the rows appended from the study's next number (which
   * moves past them); returns the first number. Never called with an empty list.
   */
  protected abstract insertImported(id: StudyId, rows: readonly EncodedImport[]): Promise<number>;
  protected abstract claimRow(id: StudyId, wid: WorkerId, leaseMs: number): Promise<TrialRow | null | 'no_study'>;
  protected abstract selectOwner(id: TrialId): Promise<OwnerRow | undefined>;
  /**
   * The ownership-checked updates return how many rows they changed (0: not the holder). Each
   * matches the trial only while it is running under `wid` and, when `attempt` is not null, at
   * that attempt (the fencing token, see Store.heartbeat).
   */
  protected abstract renewLease(id: TrialId, wid: WorkerId, leaseMs: number, attempt: number | null): Promise<number>;
  protected abstract upsertIntermediate(id: TrialId, wid: WorkerId, step: number, metrics: string, attempt: number | null): Promise<number>;
  /** `cols`: encodeFinish's columns. */
  protected abstract finishRow(id: TrialId, wid: WorkerId, cols: unknown[], attempt: number | null): Promise<TrialRow | undefined>;
  protected abstract releaseRow(id: TrialId, wid: WorkerId, attempt: number | null): Promise<number>;
  protected abstract selectTrial(id: TrialId): Promise<TrialRow | undefined>;
  protected abstract selectTrialByNumber(id: StudyId, number: number): Promise<TrialRow | undefined>;
  /** `o` is validated, its `states` (if any) non-empty; ordered by trialOrder(o). */
  protected abstract selectTrials(id: StudyId, o: ListTrialsOptions): Promise<TrialRow[]>;
  /** A validated page query (see checkPageQuery): the page's rows and the filtered count. */
  protected abstract selectTrialPage(id: StudyId, q: ReturnType<typeof checkPageQuery>): Promise<{ total: number; rows: TrialRow[] }>;
  protected abstract selectStateCounts(id: StudyId): Promise<{ state: string; n: unknown }[]>;
  /** The complete trial with the best finite first value (ties: lowest number). */
  protected abstract selectBestFirst(id: StudyId, direction: Direction): Promise<TrialRow | undefined>;
  protected abstract selectIntermediates(id: TrialId): Promise<IntermediateRow[]>;
  /** `trialIds` undefined: all of the study's; else only those trials' (non-empty list). */
  protected abstract selectStudyIntermediates(id: StudyId, trialIds?: readonly number[]): Promise<IntermediateRow[]>;
  /** Trials numbered >= fromNumber, plus those numbered in `numbers` (maybe empty), by number. */
  /** Every trial of the study by number, TRIAL_OUTCOME_COLS. */
  protected abstract selectTrialOutcomes(id: StudyId): Promise<Omit<TrialRow, 'arch'>[]>;
  /** Every trial of the study, in any order, as TrialPoints for `k` (see newTrialPoints in common.ts). */
  protected abstract selectTrialPoints(id: StudyId, k: PointKeys): Promise<TrialPoints>;
  protected abstract selectTrialColumns(id: StudyId): Promise<TrialColumns>;
  /** Every trial's number and architecture text, in any order (trialArchitecturesFromRows sorts). */
  protected abstract selectTrialArchitectures(id: StudyId): Promise<TrialArchitectures>;
  /**
   * The number and arch key of the trials numbered >= fromNumber (the first `limit` of them by
   * number; null: all), in any order (trialArchKeysFromRows sorts).
   */
  protected abstract selectTrialArchKeys(id: StudyId, fromNumber: number, limit: number | null): Promise<TrialArchKeys>;
  protected abstract selectTrialsSince(id: StudyId, fromNumber: number, numbers: readonly number[]): Promise<TrialRow[]>;
  /** `info`: JSON text. */
  protected abstract upsertWorker(w: WorkerInfo, info: string): Promise<void>;
  /** Sets last_seen_at (and `stopped` when asked); false when there is no such worker. */
  protected abstract touchWorkerRow(id: WorkerId, stop: boolean): Promise<boolean>;
  protected abstract selectWorkers(id?: StudyId): Promise<WorkerRow[]>;

  abstract listStudies(): Promise<StudySummary[]>;
  abstract close(): Promise<void>;

  // ---------------------------------------------------------------- studies

  async createStudy(spec: StudySpec): Promise<StudyRecord> {
    validateSpec(spec);
    const row = await this.insertStudy(spec.name, studyInsertValues(spec, Date.now()));
    if (row === undefined) {
      throw new NasError('conflict', `a study named ${JSON.stringify(spec.name)} already exists`, {
        field: 'name', hint: 'choose another name, or resume the existing study',
      });
    }
    return studyFromRow(row);
  }

  async getStudy(idOrName: StudyId | string): Promise<StudyRecord | null> {
    const r = await this.selectStudy(idOrName);
    return r === undefined ? null : studyFromRow(r);
  }

  async listStudyCounts(): Promise<(StudyRecord & { counts: TrialCounts })[]> {
    const out: (StudyRecord & { counts: TrialCounts })[] = [];
    for (const name of await this.selectStudyNames()) {
      const s = await this.getStudy(name);
      if (s === null) continue; // deleted meanwhile
      out.push({ ...s, counts: await this.countTrials(s.id) });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  async requireStudy(idOrName: StudyId | string): Promise<StudyRecord> {
    const s = await this.getStudy(idOrName);
    if (s !== null) return s;
    const names = await this.selectStudyNames();
    throw new NasError('not_found', `no study ${typeof idOrName === 'number' ? `with id ${idOrName}` : JSON.stringify(idOrName)} in ${this.url}${typeof idOrName === 'string' ? didYouMean(idOrName, names) : ''}`, {
      field: 'study',
      hint: names.length ? `existing studies: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}` : 'the store has no studies yet',
    });
  }

  async deleteStudy(id: StudyId): Promise<void> {
    if (!(await this.deleteStudyRow(id))) throw noStudyError(id);
  }

  async setStudyState(id: StudyId, state: StudyState): Promise<void> {
    checkStudyState(state);
    if (!(await this.updateStudyState(id, state))) throw noStudyError(id);
  }

  async setStudyAttr(id: StudyId, key: string, value: Json | undefined): Promise<void> {
    checkAttrKey(key);
    if (!(await this.updateUserAttrs('studies', id, (a) => setAttr(a, key, value)))) throw noStudyError(id);
  }

  // ---------------------------------------------------------------- strategy state

  async loadStrategyState(id: StudyId): Promise<StrategyState> {
    const r = await this.selectStrategyState(id);
    if (r === undefined) throw noStudyError(id);
    return { version: Number(r.version), state: r.state === null ? null : (JSON.parse(r.state) as Json) };
  }

  async saveStrategyState(id: StudyId, expectedVersion: number, state: Json): Promise<number> {
    return this.casStrategyStateAlone(id, expectedVersion, encodeStrategyState(state, 'strategyState'));
  }

  // ---------------------------------------------------------------- trials

  async createTrial(id: StudyId, t: NewTrial): Promise<TrialRecord> {
    return trialFromRow(await this.insertTrial(id, t, encodeNewTrial(t)));
  }

  async importTrials(id: StudyId, trials: readonly ImportedTrial[]): Promise<{ first: number; count: number }> {
    const rows = encodeImports(trials);
    if (rows.length === 0) {
      if ((await this.selectStudy(id)) === undefined) throw noStudyError(id);
      return { first: (await this.countTrials(id)).total, count: 0 };
    }
    return { first: await this.insertImported(id, rows), count: rows.length };
  }

  async claimTrial(id: StudyId, wid: WorkerId, leaseMs: number): Promise<TrialRecord | null> {
    checkLease(leaseMs);
    const r = await this.claimRow(id, wid, leaseMs);
    if (r === 'no_study') throw noStudyError(id, ' (deleted?)');
    return r === null ? null : trialFromRow(r);
  }

  /** Throws why an ownership-checked update of trial `id` by `wid` (at `attempt`) changed nothing. */
  private async owned(what: string, id: TrialId, wid: WorkerId, attempt: number | null, changed: number): Promise<void> {
    if (changed === 0) throw ownershipError(what, await this.selectOwner(id), id, wid, attempt);
  }

  async heartbeat(id: TrialId, wid: WorkerId, leaseMs: number, attempt?: number): Promise<void> {
    checkLease(leaseMs);
    const a = checkAttempt(attempt);
    await this.owned('heartbeat', id, wid, a, await this.renewLease(id, wid, leaseMs, a));
  }

  async reportIntermediate(id: TrialId, wid: WorkerId, step: number, metrics: Metrics, attempt?: number): Promise<void> {
    checkStep(step);
    checkMetrics(metrics);
    const a = checkAttempt(attempt);
    await this.owned('reportIntermediate', id, wid, a, await this.upsertIntermediate(id, wid, step, encodeNumbers(metrics), a));
  }

  async finishTrial(id: TrialId, wid: WorkerId, res: FinishTrial, attempt?: number): Promise<TrialRecord> {
    const a = checkAttempt(attempt);
    const r = await this.finishRow(id, wid, encodeFinish(res), a);
    if (r === undefined) throw ownershipError('finishTrial', await this.selectOwner(id), id, wid, a);
    return trialFromRow(r);
  }

  async releaseTrial(id: TrialId, wid: WorkerId, attempt?: number): Promise<void> {
    const a = checkAttempt(attempt);
    await this.owned('releaseTrial', id, wid, a, await this.releaseRow(id, wid, a));
  }

  async getTrial(id: TrialId): Promise<TrialRecord | null> {
    const r = await this.selectTrial(id);
    return r === undefined ? null : trialFromRow(r);
  }

  async getTrialByNumber(id: StudyId, number: number): Promise<TrialRecord | null> {
    const r = await this.selectTrialByNumber(id, number);
    return r === undefined ? null : trialFromRow(r);
  }

  async listTrials(id: StudyId, o: ListTrialsOptions = {}): Promise<TrialRecord[]> {
    checkListOptions(o);
    if (o.states !== undefined && o.states.length === 0) return [];
    return (await this.selectTrials(id, o)).map(trialFromRow);
  }

  async pageTrials(id: StudyId, query: TrialPageQuery): Promise<TrialPageResult> {
    const q = checkPageQuery(query);
    if (q.states !== undefined && q.states.length === 0) return { total: 0, trials: [] };
    const r = await this.selectTrialPage(id, { ...q, text: q.text?.toLowerCase() });
    return { total: r.total, trials: r.rows.map(trialFromRow) };
  }

  async listTrialsSince(id: StudyId, fromNumber: number, numbers: readonly number[] = []): Promise<TrialRecord[]> {
    if (!(Number.isSafeInteger(fromNumber) && fromNumber >= 0)) {
      throw new NasError('invalid_config', `fromNumber must be a non-negative integer, got ${fromNumber}`, { field: 'fromNumber' });
    }
    for (const n of numbers) {
      if (!(Number.isSafeInteger(n) && n >= 0)) throw new NasError('invalid_config', `numbers must hold non-negative integers, got ${n}`, { field: 'numbers' });
    }
    return (await this.selectTrialsSince(id, fromNumber, numbers.filter((n) => n < fromNumber))).map(trialFromRow);
  }

  async listTrialOutcomes(id: StudyId): Promise<TrialOutcome[]> {
    return (await this.selectTrialOutcomes(id)).map(trialOutcomeFromRow);
  }

  async listTrialPoints(id: StudyId, keys?: TrialPointKeys): Promise<TrialPoints> {
    return pointsInNumberOrder(await this.selectTrialPoints(id, checkTrialPointKeys(keys)));
  }

  async listTrialColumns(id: StudyId): Promise<TrialColumns> {
    return columnsInNumberOrder(await this.selectTrialColumns(id));
  }

  async listTrialArchitectures(id: StudyId): Promise<TrialArchitectures> {
    return this.selectTrialArchitectures(id);
  }

  async listTrialArchKeys(id: StudyId, range: { readonly fromNumber?: number; readonly limit?: number } = {}): Promise<TrialArchKeys> {
    const from = range.fromNumber ?? 0;
    if (!(Number.isSafeInteger(from) && from >= 0)) {
      throw new NasError('invalid_config', `fromNumber must be a non-negative integer, got ${from}`, { field: 'fromNumber', hint: 'e.g. fromNumber: 0' });
    }
    const limit = range.limit ?? null;
    if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 1)) {
      throw new NasError('invalid_config', `limit must be a positive integer, got ${limit}`, { field: 'limit', hint: 'e.g. limit: 2000, or leave it out for every trial' });
    }
    return this.selectTrialArchKeys(id, from, limit);
  }

  async countTrials(id: StudyId): Promise<TrialCounts> {
    const c = emptyCounts();
    for (const r of await this.selectStateCounts(id)) addCount(c, r.state, Number(r.n));
    return c;
  }

  async bestTrial(id: StudyId, objective = 0): Promise<TrialRecord | null> {
    const s = await this.requireStudy(id);
    const o = objectiveOf(s, objective);
    // Constraints are judged on recorded metrics in TypeScript (the same rule as strategies'); the
    // SQL fast path serves only the first objective of an unconstrained study.
    const constraints = studyConstraints(s);
    if (objective > 0 || bestNeedsMetrics(s)) return bestOf(await this.listTrials(s.id, { states: ['complete'] }), objective, o.direction, constraints, o.tieBreak);
    const r = await this.selectBestFirst(s.id, o.direction);
    return r === undefined ? null : trialFromRow(r);
  }

  async getIntermediates(id: TrialId): Promise<IntermediateRecord[]> {
    return (await this.selectIntermediates(id)).map(intermediateFromRow);
  }

  async listIntermediates(id: StudyId, trialIds?: readonly TrialId[]): Promise<IntermediateRecord[]> {
    if (trialIds !== undefined && trialIds.length === 0) return [];
    return (await this.selectStudyIntermediates(id, trialIds)).map(intermediateFromRow);
  }

  async setTrialAttr(id: TrialId, key: string, value: Json | undefined, writer?: TrialWriter): Promise<void> {
    checkAttrKey(key);
    let fence: AttrFence | undefined;
    if (writer !== undefined) {
      if (typeof writer.workerId !== 'string' || writer.workerId === '') throw new NasError('invalid_config', 'writer.workerId must be the claiming worker\'s id', { field: 'writer.workerId' });
      fence = { workerId: writer.workerId, attempt: checkAttempt(writer.attempt ?? Number.NaN)! };
    }
    const r = await this.updateUserAttrs('trials', id, (a) => setAttr(a, key, value), fence);
    if (r === false) throw new NasError('not_found', `trial ${id} does not exist`);
    if (r !== true) throw ownershipError(`setTrialAttr(${JSON.stringify(key)})`, r, id, fence!.workerId, fence!.attempt);
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(w: WorkerInfo): Promise<void> {
    checkWorkerInfo(w);
    await this.upsertWorker(w, JSON.stringify(w.info ?? {}));
  }

  async touchWorker(id: WorkerId): Promise<void> {
    if (!(await this.touchWorkerRow(id, false))) throw new NasError('not_found', `no worker ${id}`);
  }

  async stopWorker(id: WorkerId): Promise<void> {
    if (!(await this.touchWorkerRow(id, true))) throw new NasError('not_found', `no worker ${id}`);
  }

  async listWorkers(id?: StudyId): Promise<WorkerRecord[]> {
    return (await this.selectWorkers(id)).map(workerFromRow);
  }
}
