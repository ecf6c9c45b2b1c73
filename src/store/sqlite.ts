/**
 * SQLite backend (better-sqlite3): one file, shared by any number of processes on one machine.
 * WAL mode lets readers (the dashboard) run beside one writer; every write is a short
 * `BEGIN IMMEDIATE` transaction, so a claim takes the write lock before it reads, and two
 * processes can never pick the same trial. Contention waits up to the busy timeout, then fails
 * with a clear `storage_error`. `synchronous=NORMAL`: a process crash loses nothing; a power cut
 * may lose the last transactions (never corrupts).
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { NasError, isNasError } from '../core/errors.js';
import type { StudyId, TrialId, WorkerId } from '../core/ids.js';
import type { Json } from '../core/json.js';
import {
  STUDY_INSERT_COLUMNS,
  TRIAL_COLS,
  addCount,
  bestOf,
  budgetExhaustedError,
  checkAttrKey,
  checkLease,
  checkListOptions,
  checkMetrics,
  checkStep,
  checkStudyState,
  checkWorkerInfo,
  closedError,
  emptyCounts,
  encodeFinish,
  encodeNewTrial,
  encodeNumbers,
  encodeStrategyState,
  intermediateFromRow,
  missingStudyError,
  newerSchemaError,
  noStudyError,
  objectiveOf,
  ownershipError,
  setAttr,
  strategyStateFromRow,
  studyFromRow,
  studyInsertValues,
  studyNameTakenError,
  summarize,
  trialFromRow,
  trialOrder,
  validateSpec,
  versionConflictError,
  workerFromRow,
  type IntermediateRow,
  type StudyRow,
  type TrialRow,
  type WorkerRow,
} from './common.js';
import {
  SCHEMA_VERSION,
  type FinishTrial,
  type IntermediateRecord,
  type ListTrialsOptions,
  type Metrics,
  type NewTrial,
  type OpenStoreOptions,
  type Store,
  type StrategyState,
  type StudyRecord,
  type StudySpec,
  type StudyState,
  type StudySummary,
  type TrialCounts,
  type TrialRecord,
  type WorkerInfo,
  type WorkerRecord,
} from './types.js';

type Db = Database.Database;

/** Migrations: index i brings the schema from version i to i + 1. Append only; never edit. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    strategy_name TEXT NOT NULL,
    strategy_options TEXT NOT NULL,
    space_name TEXT NOT NULL,
    space_definition TEXT NOT NULL,
    evaluator_name TEXT NOT NULL,
    evaluator_options TEXT NOT NULL,
    objectives TEXT NOT NULL,
    constraints TEXT NOT NULL,
    seed INTEGER NOT NULL,
    max_trials INTEGER,
    config TEXT NOT NULL,
    user_attrs TEXT NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE strategy_states (
    study_id INTEGER PRIMARY KEY REFERENCES studies(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    state TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    arch TEXT NOT NULL,
    arch_key TEXT,
    budget REAL,
    params TEXT NOT NULL,
    worker_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    heartbeat_at INTEGER,
    metrics TEXT,
    vals TEXT,
    value0 REAL,
    error TEXT,
    duration_ms REAL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    user_attrs TEXT NOT NULL,
    UNIQUE (study_id, number)
  );
  -- Claims scan only open trials (few), however many are finished.
  CREATE INDEX trials_open ON trials (study_id, number) WHERE state IN ('waiting', 'running');
  CREATE INDEX trials_value ON trials (study_id, state, value0);
  CREATE INDEX trials_arch ON trials (study_id, arch_key);
  CREATE TABLE intermediates (
    trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (trial_id, step)
  ) WITHOUT ROWID;
  CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    study_id INTEGER REFERENCES studies(id) ON DELETE SET NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    info TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  `,
];

/** Names the permission problem, if the file or its directory is not writable by this process. */
function notWritable(path: string): string | null {
  if (path === ':memory:') return null;
  for (const [p, what] of [[path, 'file'], [dirname(path), 'directory']] as const) {
    if (!existsSync(p)) continue;
    try {
      accessSync(p, constants.W_OK);
    } catch {
      return `the ${what} ${p} is not writable by this user`;
    }
  }
  return null;
}

/** Maps a better-sqlite3 failure to a NasError that says what to do. */
function mapSqliteError(e: unknown, path: string, busyMs: number): unknown {
  if (isNasError(e)) return e;
  const code = (e as { code?: string }).code ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  const details = { path, sqliteCode: code };
  const permCode = /^SQLITE_(READONLY|CANTOPEN|PERM|IOERR)/.test(code);
  const perm = permCode ? notWritable(path) : null;
  if (perm !== null) {
    return new NasError('storage_error', `SQLite database ${path} is read-only: ${perm} (${msg})`, {
      hint: 'make the file and its directory writable (SQLite writes -wal and -shm files beside it), or open it readOnly to view', details, cause: e,
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new NasError('storage_error', `SQLite database ${path} is locked: another connection held it for longer than the busy timeout (${busyMs} ms)`, {
      hint: 'stop the other process holding the lock, or raise the busy timeout (busyTimeoutMs)', details, cause: e,
    });
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new NasError('storage_error', `SQLite database ${path} is read-only (${msg})`, {
      hint: 'make the file and its directory writable by this user (SQLite writes -wal and -shm files beside it), or open it readOnly to view', details, cause: e,
    });
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new NasError('storage_error', `cannot open SQLite database ${path} (${msg})`, {
      hint: 'check that the directory exists and is writable', details, cause: e,
    });
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new NasError('storage_error', `${path} is not a valid SQLite database (${msg})`, { hint: 'point the store at another file', details, cause: e });
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new NasError('storage_error', `I/O error on SQLite database ${path} (${msg})`, { hint: 'check free disk space and the file system', details, cause: e });
  }
  if (code.startsWith('SQLITE_')) return new NasError('storage_error', `SQLite error on ${path}: ${msg}`, { details, cause: e });
  return e;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly url: string;
  readonly path: string;
  private db: Db | null;
  private readonly busyMs: number;
  private readonly stmts = new Map<string, Database.Statement>();

  private constructor(url: string, path: string, db: Db, busyMs: number) {
    this.url = url;
    this.path = path;
    this.db = db;
    this.busyMs = busyMs;
  }

  /** Opens (creating if needed, unless readOnly) and migrates the database file. */
  static open(url: string, path: string, opts: OpenStoreOptions = {}): SqliteStore {
    const busyMs = opts.busyTimeoutMs ?? 5000;
    const abs = path === ':memory:' ? path : resolve(path);
    let db: Db | null = null;
    try {
      if (!opts.readOnly && abs !== ':memory:') {
        mkdirSync(dirname(abs), { recursive: true });
        // SQLite silently opens a file it cannot write read-only and fails only at the first write
        // that touches a page: say so now, before any work is done.
        if (existsSync(abs)) {
          try {
            accessSync(abs, constants.W_OK);
          } catch {
            throw new NasError('storage_error', `SQLite database ${abs} is read-only: the file is not writable by this user`, {
              hint: 'make the file and its directory writable (SQLite writes -wal and -shm files beside it), or open it readOnly to view',
              details: { path: abs },
            });
          }
        }
      }
      db = new Database(abs, { timeout: busyMs, readonly: opts.readOnly ?? false, fileMustExist: opts.readOnly ?? false });
      if (!opts.readOnly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      const store = new SqliteStore(url, abs, db, busyMs);
      store.migrate(opts.readOnly ?? false);
      return store;
    } catch (e) {
      db?.close();
      const m = mapSqliteError(e, abs, busyMs);
      if (isNasError(m)) throw m;
      // better-sqlite3 throws plain TypeErrors for a missing directory; mkdir for permissions.
      const perm = notWritable(abs);
      throw new NasError('storage_error', `cannot open SQLite database ${abs}: ${e instanceof Error ? e.message : String(e)}${perm ? ` (${perm})` : ''}`, {
        hint: opts.readOnly ? 'check the path: read-only opening needs an existing tsnas database' : 'check that the path is right and its directory can be created and written',
        details: { path: abs }, cause: e,
      });
    }
  }

  private migrate(readOnly: boolean): void {
    const db = this.conn();
    const read = (): number => {
      const t = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'`).get();
      if (t === undefined) return 0;
      const r = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
      return r.v ?? 0;
    };
    if (readOnly) {
      const v = read();
      if (v > SCHEMA_VERSION) throw newerSchemaError(`SQLite database ${this.path}`, v, SCHEMA_VERSION);
      if (v < SCHEMA_VERSION) {
        throw new NasError('storage_error', `SQLite database ${this.path} has schema version ${v}, not ${SCHEMA_VERSION}`, {
          hint: v === 0 ? 'it is not a tsnas study database (or empty)' : 'open it once read-write to migrate it',
        });
      }
      return;
    }
    // Always a write transaction, even when nothing is to do: a read-only or locked file is
    // reported at open, not at the first trial.
    db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      const v = read();
      if (v > SCHEMA_VERSION) throw newerSchemaError(`SQLite database ${this.path}`, v, SCHEMA_VERSION);
      for (let i = v; i < SCHEMA_VERSION; i++) {
        db.exec(MIGRATIONS[i]!);
        db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(i + 1, Date.now());
      }
    }).immediate();
  }

  private conn(): Db {
    if (this.db === null) throw closedError(this.url);
    return this.db;
  }

  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (s === undefined) {
      s = this.conn().prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` (in a BEGIN IMMEDIATE transaction when `write`), mapping SQLite errors. */
  private run<T>(write: boolean, fn: () => T): T {
    const db = this.conn();
    try {
      return write ? db.transaction(fn).immediate() : fn();
    } catch (e) {
      throw mapSqliteError(e, this.path, this.busyMs);
    }
  }

  // ---------------------------------------------------------------- studies

  async createStudy(spec: StudySpec): Promise<StudyRecord> {
    validateSpec(spec);
    return this.run(true, () => {
      if (this.st('SELECT 1 FROM studies WHERE name = ?').get(spec.name) !== undefined) throw studyNameTakenError(spec.name);
      const now = Date.now();
      const r = this.st(`INSERT INTO studies (${STUDY_INSERT_COLUMNS.join(', ')}) VALUES (${STUDY_INSERT_COLUMNS.map(() => '?').join(', ')})`)
        .run(...studyInsertValues(spec, now));
      this.st('INSERT INTO strategy_states (study_id, version, state, updated_at) VALUES (?, 0, NULL, ?)').run(r.lastInsertRowid, now);
      return studyFromRow(this.st('SELECT * FROM studies WHERE id = ?').get(r.lastInsertRowid) as StudyRow);
    });
  }

  private studyRow(idOrName: StudyId | string): StudyRow | undefined {
    return (typeof idOrName === 'number'
      ? this.st('SELECT * FROM studies WHERE id = ?').get(idOrName)
      : this.st('SELECT * FROM studies WHERE name = ?').get(idOrName)) as StudyRow | undefined;
  }

  async getStudy(idOrName: StudyId | string): Promise<StudyRecord | null> {
    return this.run(false, () => {
      const r = this.studyRow(idOrName);
      return r === undefined ? null : studyFromRow(r);
    });
  }

  async requireStudy(idOrName: StudyId | string): Promise<StudyRecord> {
    const s = await this.getStudy(idOrName);
    if (s !== null) return s;
    const names = this.run(false, () => (this.st('SELECT name FROM studies ORDER BY id').all() as { name: string }[]).map((r) => r.name));
    throw missingStudyError(idOrName, this.url, names);
  }

  async listStudies(): Promise<StudySummary[]> {
    // Several reads: one deferred transaction gives them one consistent snapshot.
    return this.run(false, () => this.conn().transaction(() => {
      const studies = (this.st('SELECT * FROM studies ORDER BY id').all() as StudyRow[]).map(studyFromRow);
      const counts = this.st('SELECT study_id, state, COUNT(*) AS n FROM trials GROUP BY study_id, state').all() as { study_id: number; state: string; n: number }[];
      return studies.map((s) => summarize(s, counts, this.bestRow(s, 0)));
    }).deferred());
  }

  async deleteStudy(id: StudyId): Promise<void> {
    this.run(true, () => {
      if (this.st('DELETE FROM studies WHERE id = ?').run(id).changes === 0) throw noStudyError(id);
    });
  }

  async setStudyState(id: StudyId, state: StudyState): Promise<void> {
    checkStudyState(state);
    this.run(true, () => {
      if (this.st('UPDATE studies SET state = ?, updated_at = ? WHERE id = ?').run(state, Date.now(), id).changes === 0) {
        throw noStudyError(id);
      }
    });
  }

  async setStudyAttr(id: StudyId, key: string, value: Json | undefined): Promise<void> {
    checkAttrKey(key);
    this.run(true, () => {
      const r = this.st('SELECT user_attrs FROM studies WHERE id = ?').get(id) as { user_attrs: string } | undefined;
      if (r === undefined) throw noStudyError(id);
      const next = setAttr(JSON.parse(r.user_attrs), key, value);
      this.st('UPDATE studies SET user_attrs = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(next), Date.now(), id);
    });
  }

  // ---------------------------------------------------------------- strategy state

  async loadStrategyState(id: StudyId): Promise<StrategyState> {
    return this.run(false, () => {
      const r = this.st('SELECT version, state FROM strategy_states WHERE study_id = ?').get(id) as { version: number; state: string | null } | undefined;
      if (r === undefined) throw noStudyError(id);
      return strategyStateFromRow(r);
    });
  }

  async saveStrategyState(id: StudyId, expectedVersion: number, state: Json): Promise<number> {
    const text = encodeStrategyState(state, 'strategyState');
    return this.run(true, () => this.casStrategyState(id, expectedVersion, text));
  }

  /** The compare-and-set, inside the caller's write transaction; returns the new version. */
  private casStrategyState(id: StudyId, expectedVersion: number, text: string): number {
    const r = this.st('UPDATE strategy_states SET version = version + 1, state = ?, updated_at = ? WHERE study_id = ? AND version = ?')
      .run(text, Date.now(), id, expectedVersion);
    if (r.changes === 1) return expectedVersion + 1;
    const cur = this.st('SELECT version FROM strategy_states WHERE study_id = ?').get(id) as { version: number } | undefined;
    throw versionConflictError(id, expectedVersion, cur?.version);
  }

  // ---------------------------------------------------------------- trials

  private trialRow(id: number): TrialRow | undefined {
    return this.st(`SELECT ${TRIAL_COLS} FROM trials WHERE id = ?`).get(id) as TrialRow | undefined;
  }

  async createTrial(sid: StudyId, t: NewTrial): Promise<TrialRecord> {
    const e = encodeNewTrial(t);
    // One transaction: the budget check, the strategy state's compare-and-set and the insert all
    // happen, or none does.
    return this.run(true, () => {
      const s = this.st('SELECT next_number FROM studies WHERE id = ?').get(sid) as { next_number: number } | undefined;
      if (s === undefined) throw noStudyError(sid);
      if (t.maxTrials !== undefined) {
        const n = (this.st(`SELECT COUNT(*) AS n FROM trials WHERE study_id = ? AND state <> 'failed'`).get(sid) as { n: number }).n;
        if (n >= t.maxTrials) throw budgetExhaustedError(sid, n, t.maxTrials);
      }
      if (t.strategyState !== undefined) this.casStrategyState(sid, t.strategyState.expectedVersion, e.strategyState!);
      this.st('UPDATE studies SET next_number = next_number + 1 WHERE id = ?').run(sid);
      const now = Date.now();
      const claim = t.claim;
      const r = this.st(
        `INSERT INTO trials (study_id, number, state, arch, arch_key, budget, params, worker_id, attempt, lease_expires_at, heartbeat_at, created_at, started_at, user_attrs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        sid, s.next_number, e.state, e.arch, e.archKey, e.budget, e.params, e.workerId, e.attempt,
        claim ? now + claim.leaseMs : null, claim ? now : null, now, claim ? now : null, e.userAttrs,
      );
      return trialFromRow(this.trialRow(Number(r.lastInsertRowid))!);
    });
  }

  async claimTrial(sid: StudyId, wid: WorkerId, leaseMs: number): Promise<TrialRecord | null> {
    checkLease(leaseMs);
    return this.run(true, () => {
      const now = Date.now();
      const c = this.st(
        `SELECT id, state FROM trials WHERE study_id = ? AND state IN ('waiting', 'running') AND (state = 'waiting' OR lease_expires_at <= ?) ORDER BY number LIMIT 1`,
      ).get(sid, now) as { id: number; state: string } | undefined;
      if (c === undefined) {
        if (this.st('SELECT 1 FROM studies WHERE id = ?').get(sid) === undefined) throw noStudyError(sid, ' (deleted?)');
        return null;
      }
      if (c.state === 'running') this.st('DELETE FROM intermediates WHERE trial_id = ?').run(c.id);
      this.st(
        `UPDATE trials SET state = 'running', worker_id = ?, attempt = attempt + 1, lease_expires_at = ?, heartbeat_at = ?, started_at = ? WHERE id = ?`,
      ).run(wid, now + leaseMs, now, now, c.id);
      this.st('UPDATE workers SET last_seen_at = ? WHERE id = ?').run(now, wid);
      return trialFromRow(this.trialRow(c.id)!);
    });
  }

  private owned(what: string, id: TrialId, wid: WorkerId, changes: number): void {
    if (changes > 0) return;
    const r = this.st('SELECT id, state, worker_id FROM trials WHERE id = ?').get(id) as { id: number; state: string; worker_id: string | null } | undefined;
    throw ownershipError(what, r, id, wid);
  }

  async heartbeat(id: TrialId, wid: WorkerId, leaseMs: number): Promise<void> {
    checkLease(leaseMs);
    this.run(true, () => {
      const now = Date.now();
      const r = this.st(`UPDATE trials SET lease_expires_at = ?, heartbeat_at = ? WHERE id = ? AND state = 'running' AND worker_id = ?`).run(now + leaseMs, now, id, wid);
      this.owned('heartbeat', id, wid, r.changes);
      this.st('UPDATE workers SET last_seen_at = ? WHERE id = ?').run(now, wid);
    });
  }

  async reportIntermediate(id: TrialId, wid: WorkerId, step: number, metrics: Metrics): Promise<void> {
    checkStep(step);
    checkMetrics(metrics);
    const text = encodeNumbers(metrics);
    this.run(true, () => {
      const r = this.st(
        `INSERT INTO intermediates (trial_id, step, metrics, reported_at)
         SELECT id, ?, ?, ? FROM trials WHERE id = ? AND state = 'running' AND worker_id = ?
         ON CONFLICT (trial_id, step) DO UPDATE SET metrics = excluded.metrics, reported_at = excluded.reported_at`,
      ).run(step, text, Date.now(), id, wid);
      this.owned('reportIntermediate', id, wid, r.changes);
    });
  }

  async finishTrial(id: TrialId, wid: WorkerId, res: FinishTrial): Promise<TrialRecord> {
    const cols = encodeFinish(res);
    return this.run(true, () => {
      const r = this.st(
        `UPDATE trials SET state = ?, metrics = ?, vals = ?, value0 = ?, error = ?, duration_ms = ?, finished_at = ?, lease_expires_at = NULL
         WHERE id = ? AND state = 'running' AND worker_id = ?`,
      ).run(...cols, Date.now(), id, wid);
      this.owned('finishTrial', id, wid, r.changes);
      return trialFromRow(this.trialRow(id)!);
    });
  }

  async releaseTrial(id: TrialId, wid: WorkerId): Promise<void> {
    this.run(true, () => {
      const r = this.st(`UPDATE trials SET state = 'waiting', lease_expires_at = NULL WHERE id = ? AND state = 'running' AND worker_id = ?`).run(id, wid);
      this.owned('releaseTrial', id, wid, r.changes);
    });
  }

  async getTrial(id: TrialId): Promise<TrialRecord | null> {
    return this.run(false, () => {
      const r = this.trialRow(id);
      return r === undefined ? null : trialFromRow(r);
    });
  }

  async getTrialByNumber(sid: StudyId, number: number): Promise<TrialRecord | null> {
    return this.run(false, () => {
      const r = this.st(`SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND number = ?`).get(sid, number) as TrialRow | undefined;
      return r === undefined ? null : trialFromRow(r);
    });
  }

  async listTrials(sid: StudyId, o: ListTrialsOptions = {}): Promise<TrialRecord[]> {
    checkListOptions(o);
    const where = ['study_id = ?'];
    const args: unknown[] = [sid];
    if (o.states !== undefined) {
      if (o.states.length === 0) return [];
      where.push(`state IN (${o.states.map(() => '?').join(', ')})`);
      args.push(...o.states);
    }
    if (o.archKey !== undefined) {
      where.push('arch_key = ?');
      args.push(o.archKey);
    }
    const sql = `SELECT ${TRIAL_COLS} FROM trials WHERE ${where.join(' AND ')} ORDER BY ${trialOrder(o)} LIMIT ? OFFSET ?`;
    args.push(o.limit ?? -1, o.offset ?? 0);
    return this.run(false, () => (this.st(sql).all(...args) as TrialRow[]).map(trialFromRow));
  }

  async countTrials(sid: StudyId): Promise<TrialCounts> {
    return this.run(false, () => {
      const c = emptyCounts();
      for (const r of this.st('SELECT state, COUNT(*) AS n FROM trials WHERE study_id = ? GROUP BY state').all(sid) as { state: string; n: number }[]) {
        addCount(c, r.state, r.n);
      }
      return c;
    });
  }

  private bestRow(s: StudyRecord, i: number): TrialRecord | null {
    const o = objectiveOf(s, i);
    if (i > 0) {
      const all = (this.st(`SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND state = 'complete'`).all(s.id) as TrialRow[]).map(trialFromRow);
      return bestOf(all, i, o.direction);
    }
    const r = this.st(
      `SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND state = 'complete' AND value0 IS NOT NULL ORDER BY value0 ${o.direction === 'minimize' ? 'ASC' : 'DESC'}, number LIMIT 1`,
    ).get(s.id) as TrialRow | undefined;
    return r === undefined ? null : trialFromRow(r);
  }

  async bestTrial(sid: StudyId, objective = 0): Promise<TrialRecord | null> {
    const s = await this.requireStudy(sid);
    return this.run(false, () => this.bestRow(s, objective));
  }

  async getIntermediates(id: TrialId): Promise<IntermediateRecord[]> {
    return this.run(false, () => (this.st('SELECT * FROM intermediates WHERE trial_id = ? ORDER BY step').all(id) as IntermediateRow[]).map(intermediateFromRow));
  }

  async listIntermediates(sid: StudyId): Promise<IntermediateRecord[]> {
    return this.run(false, () =>
      (this.st(
        'SELECT i.trial_id, i.step, i.metrics, i.reported_at FROM intermediates i JOIN trials t ON t.id = i.trial_id WHERE t.study_id = ? ORDER BY t.number, i.step',
      ).all(sid) as IntermediateRow[]).map(intermediateFromRow),
    );
  }

  async setTrialAttr(id: TrialId, key: string, value: Json | undefined): Promise<void> {
    checkAttrKey(key);
    this.run(true, () => {
      const r = this.st('SELECT user_attrs FROM trials WHERE id = ?').get(id) as { user_attrs: string } | undefined;
      if (r === undefined) throw new NasError('not_found', `trial ${id} does not exist`);
      this.st('UPDATE trials SET user_attrs = ? WHERE id = ?').run(JSON.stringify(setAttr(JSON.parse(r.user_attrs), key, value)), id);
    });
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(w: WorkerInfo): Promise<void> {
    checkWorkerInfo(w);
    this.run(true, () => {
      const now = Date.now();
      this.st(
        `INSERT INTO workers (id, study_id, host, pid, info, state, started_at, last_seen_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
         ON CONFLICT (id) DO UPDATE SET study_id = excluded.study_id, host = excluded.host, pid = excluded.pid, info = excluded.info,
           state = 'active', started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`,
      ).run(w.id, w.studyId, w.host, w.pid, JSON.stringify(w.info ?? {}), now, now);
    });
  }

  async touchWorker(id: WorkerId): Promise<void> {
    this.run(true, () => {
      if (this.st('UPDATE workers SET last_seen_at = ? WHERE id = ?').run(Date.now(), id).changes === 0) throw new NasError('not_found', `no worker ${id}`);
    });
  }

  async stopWorker(id: WorkerId): Promise<void> {
    this.run(true, () => {
      if (this.st(`UPDATE workers SET state = 'stopped', last_seen_at = ? WHERE id = ?`).run(Date.now(), id).changes === 0) {
        throw new NasError('not_found', `no worker ${id}`);
      }
    });
  }

  async listWorkers(sid?: StudyId): Promise<WorkerRecord[]> {
    return this.run(false, () =>
      ((sid === undefined
        ? this.st('SELECT * FROM workers ORDER BY started_at, id').all()
        : this.st('SELECT * FROM workers WHERE study_id = ? ORDER BY started_at, id').all(sid)) as WorkerRow[]).map(workerFromRow),
    );
  }

  async close(): Promise<void> {
    if (this.db === null) return;
    this.stmts.clear();
    this.db.close();
    this.db = null;
  }
}

