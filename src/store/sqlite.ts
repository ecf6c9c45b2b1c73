/**
 * SQLite backend (better-sqlite3): one file, shared by any number of processes on one machine.
 * WAL mode lets readers (the dashboard) run beside one writer; every write is a short
 * `BEGIN IMMEDIATE` transaction, so a claim takes the write lock before it reads, and two
 * processes can never pick the same trial. Contention waits up to the busy timeout, then fails
 * with a clear `storage_error`. `synchronous=NORMAL`: a process crash loses nothing; a power cut
 * may lose the last transactions (never corrupts). What is not SQL (validation, encoding, row
 * mapping, errors) is SqlStore's, in base.ts.
 */
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { NasError, isNasError, storageError } from '../core/errors.js';
import type { StudyId, TrialId, WorkerId } from '../core/ids.js';
import type { JsonObject } from '../core/json.js';
import {
  BEST_BUDGET_ORDER, STUDY_INSERT_COLUMNS, TRIAL_COLS, TRIAL_OUTCOME_COLS, budgetExhaustedError, seenKeyError, closedError, noStudyError, schemaPlan, type FoundSchema, type Migration, objectiveOf, studyFromRow,
  bestNeedsMetrics, bestOf, studyConstraints, summarize, trialFromRow, trialOrder, versionConflictError, withLeaseExpiry,
} from './common.js';
import { pageOrder, pageTextSql, likePattern, keyLikePattern, sqliteKeyPath, trialPointsFromRows, trialColumnsFromRows, trialArchitecturesFromRows, trialArchKeysFromRows, TRIAL_COLUMN_SELECT, type checkPageQuery } from './common.js';
import type { EncodedImport, EncodedTrial, IntermediateRow, PointKeys, StudyRow, TrialRow, WorkerRow } from './common.js';
import { SqlStore, fenceRefuses, type AttrFence, type OwnerRow } from './base.js';
import { SCHEMA_VERSION } from './types.js';
import type { Direction, ListTrialsOptions, NewTrial, OpenStoreOptions, SchemaState, StudyState, StudySummary, TrialArchitectures, TrialArchKeys, TrialColumns, TrialPoints, WorkerInfo } from './types.js';

type Db = Database.Database;

/**
 * Migrations: index i brings the schema from version i to i + 1. Append only; never edit.
 * Exported for tests that build a database as an older tsnas left it.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  { compat: 1, sql: `
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
  ` },
  // 2: each version row records the oldest schema whose tsnas can still use the database.
  { compat: 1, sql: 'ALTER TABLE schema_version ADD COLUMN compat INTEGER' },
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

/** Removes a database file and its -wal/-shm/-journal companions (best effort). */
function removeDatabaseFiles(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      rmSync(f, { force: true });
    } catch {
      // best effort: what cannot be removed is named by the error the caller reports
    }
  }
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
    return storageError('read_only', `SQLite database ${path} is read-only: ${perm} (${msg})`, {
      hint: 'make the file and its directory writable (SQLite writes -wal and -shm files beside it), or open it readOnly to view', details, cause: e,
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return storageError('locked', `SQLite database ${path} is locked: another connection held it for longer than the busy timeout (${busyMs} ms)`, {
      hint: 'stop the other process holding the lock, or raise the busy timeout (busyTimeoutMs)', details, cause: e,
    });
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return storageError('read_only', `SQLite database ${path} is read-only (${msg})`, {
      hint: 'make the file and its directory writable by this user (SQLite writes -wal and -shm files beside it), or open it readOnly to view', details, cause: e,
    });
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    // Say which of the usual causes it is (issue 17.13: a viewer opened on a path with no database
    // was told to check a directory that exists and is writable).
    if (!existsSync(dirname(path)))
      return storageError('bad_path', `cannot open SQLite database ${path}: directory ${dirname(path)} does not exist`, {
        hint: 'create the directory, or check the path in --storage sqlite:PATH', details, cause: e,
      });
    if (!existsSync(path))
      return new NasError('not_found', `there is no study database at ${path} yet`, {
        hint: 'run a search with --storage sqlite:PATH first (it creates the database), or check the path', details, cause: e,
      });
    return storageError('bad_path', `cannot open SQLite database ${path} (${msg})`, {
      hint: 'check that the directory exists and is writable', details, cause: e,
    });
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return storageError(code === 'SQLITE_NOTADB' ? 'not_a_database' : 'corrupt', `${path} is not a valid SQLite database (${msg})`, { hint: 'point the store at another file', details, cause: e });
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return storageError('io', `I/O error on SQLite database ${path} (${msg})`, { hint: 'check free disk space and the file system', details, cause: e });
  }
  if (code.startsWith('SQLITE_')) return storageError('other', `SQLite error on ${path}: ${msg}`, { details, cause: e });
  return e;
}

export class SqliteStore extends SqlStore {
  readonly kind = 'sqlite' as const;
  readonly concurrentReads = false;
  readonly url: string;
  readonly path: string;
  private db: Db | null;
  private readonly busyMs: number;
  private readonly stmts = new Map<string, Database.Statement>();
  schema: SchemaState = { found: 0, version: 0 };

  private constructor(url: string, path: string, db: Db, busyMs: number) {
    super();
    this.url = url;
    this.path = path;
    this.db = db;
    this.busyMs = busyMs;
  }

  /**
   * Opens (creating the file if needed, unless readOnly or `create: false`) and migrates the
   * database file. Its directory must exist: a missing one is `storage_error` (reason bad_path)
   * naming it, as sqlite3 and Optuna refuse it, never created (a misspelt directory would otherwise
   * become a new, empty store). readOnly opens read-write with `PRAGMA query_only` when the file
   * can be written, so that closing the last connection removes the -wal/-shm files as a writer's
   * close does (a `readonly` connection cannot, and left them beside the database); nothing is
   * written through it either way.
   */
  static open(url: string, path: string, opts: OpenStoreOptions = {}): SqliteStore {
    const busyMs = opts.busyTimeoutMs ?? 5000;
    const abs = path === ':memory:' ? path : resolve(path);
    const readOnly = opts.readOnly ?? false;
    const create = !readOnly && (opts.create ?? true);
    let db: Db | null = null;
    let createdFile = false;
    try {
      if (abs !== ':memory:') {
        const dir = dirname(abs);
        if (!existsSync(dir))
          throw storageError('bad_path', `cannot open SQLite database ${abs}: directory ${dir} does not exist`, {
            hint: create
              ? `check the path in --storage sqlite:PATH, or create the directory first (mkdir -p ${dir}); tsnas creates the database file, never missing directories`
              : `so there is no study database there: check the path in --storage sqlite:PATH (a search creates the database, in a directory that exists: mkdir -p ${dir} first if it is new)`,
            details: { path: abs, directory: dir },
          });
        if (!existsSync(abs)) {
          if (!create)
            throw new NasError('not_found', `there is no study database at ${abs} yet`, {
              hint: 'check the path in --storage sqlite:PATH, or run a search with it first (it creates the database)',
              details: { path: abs },
            });
          createdFile = true;
        } else if (!readOnly) {
          // SQLite silently opens a file it cannot write read-only and fails only at the first write
          // that touches a page: say so now, before any work is done.
          try {
            accessSync(abs, constants.W_OK);
          } catch {
            throw storageError('read_only', `SQLite database ${abs} is read-only: the file is not writable by this user`, {
              hint: 'make the file and its directory writable (SQLite writes -wal and -shm files beside it), or open it readOnly to view',
              details: { path: abs },
            });
          }
        }
      }
      db = SqliteStore.connect(abs, readOnly, create, busyMs);
      if (!readOnly) {
        // A non-creating open (a worker joining a study) refuses a file with no tsnas schema before
        // anything changes it (the journal mode is written into the file).
        if (!create) SqliteStore.requireSchema(db, abs, url);
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      if (readOnly) {
        // A viewer reads whole studies (the dashboard's study view: every row of 20,000 trials,
        // ~50 MB of pages): mapped pages instead of a read() per page and a 2 MB page cache cut
        // that read's CPU by a third to a half (measured on a 20,000-trial study). Read-only opens
        // only: a writer's process keeps the default.
        db.pragma('mmap_size = 268435456');
      }
      const store = new SqliteStore(url, abs, db, busyMs);
      store.createdFile = createdFile;
      store.schema = store.migrate(readOnly, opts.upgrade ?? false);
      return store;
    } catch (e) {
      db?.close();
      // A file this open created and could not make a store of is not left behind.
      if (createdFile) removeDatabaseFiles(abs);
      const m = mapSqliteError(e, abs, busyMs);
      // A viewer cannot "open it readOnly": it did. SQLite reads a WAL database only with its -shm
      // file beside it, which a write-protected directory cannot take.
      if (readOnly && isNasError(m, 'storage_error') && m.details?.['reason'] === 'read_only')
        throw storageError('read_only', `cannot read SQLite database ${abs}: SQLite needs to create ${abs}-shm beside a WAL database to read it, and ${dirname(abs)} is not writable by this user`, {
          hint: 'make the directory writable, or copy the database (with its -wal file, if any) to a writable directory and read the copy',
          details: { path: abs },
          cause: e,
        });
      if (isNasError(m)) throw m;
      // better-sqlite3 throws plain TypeErrors for some path problems.
      const perm = notWritable(abs);
      throw storageError('bad_path', `cannot open SQLite database ${abs}: ${e instanceof Error ? e.message : String(e)}${perm ? ` (${perm})` : ''}`, {
        hint: readOnly ? 'check the path: read-only opening needs an existing tsnas database' : 'check that the path is right and its directory can be written',
        details: { path: abs }, cause: e,
      });
    }
  }

  /**
   * The connection. readOnly: read-write with query_only when the file can be written (see open),
   * else SQLite's read-only mode (a write-protected file or directory).
   */
  private static connect(abs: string, readOnly: boolean, create: boolean, busyMs: number): Db {
    if (!readOnly) return new Database(abs, { timeout: busyMs, fileMustExist: !create });
    let writable = abs === ':memory:';
    if (!writable) {
      try {
        accessSync(abs, constants.W_OK);
        accessSync(dirname(abs), constants.W_OK);
        writable = true;
      } catch {
        writable = false;
      }
    }
    if (writable) {
      const db = new Database(abs, { timeout: busyMs, fileMustExist: true });
      try {
        db.pragma('query_only = ON');
        return db;
      } catch (e) {
        db.close();
        throw e;
      }
    }
    return new Database(abs, { timeout: busyMs, readonly: true, fileMustExist: true });
  }

  /** Refuses (storage_error not_tsnas, as a read-only open does) a database with no tsnas schema. */
  private static requireSchema(db: Db, abs: string, url: string): void {
    const t = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'`).get();
    if (t === undefined) schemaPlan(`SQLite database ${abs}`, { version: 0, compat: null }, SCHEMA_VERSION, { readOnly: true, upgrade: false, url });
  }

  /** True when this open created the database file (it did not exist before). */
  createdFile = false;

  /**
   * Closes the store and, when this open created the file and it still holds no study, removes
   * it with its -wal/-shm files: what a command that failed before its work started calls, so it
   * leaves no empty database behind. A file another connection still has open (its -wal remains
   * after this close) is kept. Returns whether the file was removed.
   */
  async discardIfCreated(): Promise<boolean> {
    if (!this.createdFile || this.db === null || this.path === ':memory:') return (await this.close(), false);
    let empty: boolean;
    try {
      empty = (this.st('SELECT COUNT(*) AS n FROM studies').get() as { n: number }).n === 0;
    } catch {
      empty = false;
    }
    await this.close();
    if (!empty || existsSync(`${this.path}-wal`)) return false;
    removeDatabaseFiles(this.path);
    return true;
  }

  /** Checks (and creates, or upgrades when asked) the schema; see schemaPlan in common.ts. */
  private migrate(readOnly: boolean, upgrade: boolean): SchemaState {
    const db = this.conn();
    const where = `SQLite database ${this.path}`;
    const read = (): FoundSchema => {
      const t = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'`).get();
      if (t === undefined) return { version: 0, compat: null };
      const r = db.prepare('SELECT * FROM schema_version ORDER BY version DESC LIMIT 1').get() as { version: number; compat?: number | null } | undefined;
      return r === undefined ? { version: 0, compat: null } : { version: r.version, compat: r.compat ?? null };
    };
    const opts = { readOnly, upgrade, url: this.url };
    if (readOnly) {
      const f = read();
      schemaPlan(where, f, SCHEMA_VERSION, opts);
      return { found: f.version, version: f.version };
    }
    // Always a write transaction, even when nothing is to do: a read-only or locked file is
    // reported at open, not at the first trial. BEGIN IMMEDIATE serializes concurrent openers.
    return db.transaction((): SchemaState => {
      const f = read();
      if (schemaPlan(where, f, SCHEMA_VERSION, opts) === 'use') return { found: f.version, version: f.version };
      db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      for (let i = f.version; i < SCHEMA_VERSION; i++) {
        const m = SQLITE_MIGRATIONS[i]!;
        db.exec(m.sql);
        // The compat column exists from version 2 on (migration 1 predates it).
        if (i + 1 < 2) db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(i + 1, Date.now());
        else db.prepare('INSERT INTO schema_version (version, applied_at, compat) VALUES (?, ?, ?)').run(i + 1, Date.now(), m.compat);
      }
      return { found: f.version, version: SCHEMA_VERSION };
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

  protected async insertStudy(name: string, values: unknown[]): Promise<StudyRow | undefined> {
    return this.run(true, () => {
      if (this.st('SELECT 1 FROM studies WHERE name = ?').get(name) !== undefined) return undefined;
      const r = this.st(`INSERT INTO studies (${STUDY_INSERT_COLUMNS.join(', ')}) VALUES (${STUDY_INSERT_COLUMNS.map(() => '?').join(', ')})`).run(...values);
      this.st('INSERT INTO strategy_states (study_id, version, state, updated_at) VALUES (?, 0, NULL, ?)').run(r.lastInsertRowid, Date.now());
      return this.st('SELECT * FROM studies WHERE id = ?').get(r.lastInsertRowid) as StudyRow;
    });
  }

  private studyRow(idOrName: StudyId | string): StudyRow | undefined {
    return (typeof idOrName === 'number'
      ? this.st('SELECT * FROM studies WHERE id = ?').get(idOrName)
      : this.st('SELECT * FROM studies WHERE name = ?').get(idOrName)) as StudyRow | undefined;
  }

  protected async selectStudy(idOrName: StudyId | string): Promise<StudyRow | undefined> {
    return this.run(false, () => this.studyRow(idOrName));
  }

  protected async selectStudyNames(): Promise<string[]> {
    return this.run(false, () => (this.st('SELECT name FROM studies ORDER BY id').all() as { name: string }[]).map((r) => r.name));
  }

  async listStudies(): Promise<StudySummary[]> {
    // Several reads: one deferred transaction gives them one consistent snapshot.
    return this.run(false, () => this.conn().transaction(() => {
      const studies = (this.st('SELECT * FROM studies ORDER BY id').all() as StudyRow[]).map(studyFromRow);
      const counts = this.st('SELECT study_id, state, COUNT(*) AS n FROM trials GROUP BY study_id, state').all() as { study_id: number; state: string; n: number }[];
      return studies.map((s) => {
        if (bestNeedsMetrics(s)) {
          const complete = (this.st(`SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND state = 'complete'`).all(s.id) as TrialRow[]).map(trialFromRow);
          return summarize(s, counts, bestOf(complete, 0, objectiveOf(s, 0).direction, studyConstraints(s), objectiveOf(s, 0).tieBreak));
        }
        const b = this.bestFirstRow(s.id, objectiveOf(s, 0).direction);
        return summarize(s, counts, b === undefined ? null : trialFromRow(b));
      });
    }).deferred());
  }

  protected async deleteStudyRow(id: StudyId): Promise<boolean> {
    return this.run(true, () => this.st('DELETE FROM studies WHERE id = ?').run(id).changes > 0);
  }

  protected async updateStudyState(id: StudyId, state: StudyState): Promise<boolean> {
    return this.run(true, () => this.st('UPDATE studies SET state = ?, updated_at = ? WHERE id = ?').run(state, Date.now(), id).changes > 0);
  }

  protected async updateUserAttrs(table: 'studies' | 'trials', id: number, f: (attrs: JsonObject) => JsonObject, fence?: AttrFence): Promise<boolean | OwnerRow> {
    return this.run(true, () => {
      const r = (table === 'trials'
        ? this.st('SELECT id, state, worker_id, attempt, user_attrs FROM trials WHERE id = ?').get(id)
        : this.st('SELECT user_attrs FROM studies WHERE id = ?').get(id)) as (OwnerRow & { user_attrs: string }) | undefined;
      if (r === undefined) return false;
      if (fence !== undefined && fenceRefuses(r, fence)) return { id: r.id, state: r.state, worker_id: r.worker_id, attempt: r.attempt };
      const next = JSON.stringify(f(JSON.parse(r.user_attrs) as JsonObject));
      if (table === 'studies') this.st('UPDATE studies SET user_attrs = ?, updated_at = ? WHERE id = ?').run(next, Date.now(), id);
      else this.st('UPDATE trials SET user_attrs = ? WHERE id = ?').run(next, id);
      return true;
    });
  }

  // ---------------------------------------------------------------- strategy state

  protected async selectStrategyState(id: StudyId): Promise<{ version: number; state: string | null } | undefined> {
    return this.run(false, () => this.st('SELECT version, state FROM strategy_states WHERE study_id = ?').get(id) as { version: number; state: string | null } | undefined);
  }

  protected async casStrategyStateAlone(id: StudyId, expectedVersion: number, text: string): Promise<number> {
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

  protected async insertTrial(sid: StudyId, t: NewTrial, e: EncodedTrial): Promise<TrialRow> {
    // One transaction: the budget check, the strategy state's compare-and-set and the insert all
    // happen, or none does.
    return this.run(true, () => {
      const s = this.st('SELECT next_number FROM studies WHERE id = ?').get(sid) as { next_number: number } | undefined;
      if (s === undefined) throw noStudyError(sid);
      if (t.maxTrials !== undefined) {
        // Trials are never deleted one by one and are numbered without gaps, so the study has
        // next_number trials; counting only the failed ones keeps this cheap in a large study.
        const failed = (this.st(`SELECT COUNT(*) AS n FROM trials WHERE study_id = ? AND state = 'failed'`).get(sid) as { n: number }).n;
        const n = s.next_number - failed;
        if (n >= t.maxTrials) throw budgetExhaustedError(sid, n, t.maxTrials);
      }
      if (t.uniqueKey && e.archKey !== null) {
        const dup = this.st('SELECT number FROM trials WHERE study_id = ? AND arch_key = ? AND budget IS ? LIMIT 1').get(sid, e.archKey, e.budget) as { number: number } | undefined;
        if (dup !== undefined) throw seenKeyError(sid, e.archKey, e.budget, dup.number);
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
      return this.trialRow(Number(r.lastInsertRowid))!;
    });
  }

  protected async insertImported(sid: StudyId, rows: readonly EncodedImport[]): Promise<number> {
    // One write transaction and one prepared statement: tens of thousands of rows take a second
    // or two, where a createTrial + finishTrial pair per row takes a transaction each.
    return this.run(true, () => {
      const s = this.st('SELECT next_number FROM studies WHERE id = ?').get(sid) as { next_number: number } | undefined;
      if (s === undefined) throw noStudyError(sid);
      this.st('UPDATE studies SET next_number = next_number + ? WHERE id = ?').run(rows.length, sid);
      const now = Date.now();
      const ins = this.st(
        `INSERT INTO trials (study_id, number, state, arch, arch_key, budget, params, worker_id, attempt, metrics, vals, value0, error, duration_ms, created_at, started_at, finished_at, user_attrs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      rows.forEach((r, i) => {
        ins.run(sid, s.next_number + i, r.state, r.arch, r.archKey, r.budget, r.params, r.workerId, r.attempt, r.metrics, r.vals, r.value0, r.error, r.durationMs, now, now, now, r.userAttrs);
      });
      return s.next_number;
    });
  }

  protected async claimRow(sid: StudyId, wid: WorkerId, leaseMs: number): Promise<TrialRow | null | 'no_study'> {
    return this.run(true, () => {
      const now = Date.now();
      const c = this.st(
        `SELECT id, state, worker_id, attempt, lease_expires_at FROM trials WHERE study_id = ? AND state IN ('waiting', 'running') AND (state = 'waiting' OR lease_expires_at <= ?) ORDER BY number LIMIT 1`,
      ).get(sid, now) as { id: number; state: string; worker_id: string | null; attempt: number; lease_expires_at: number | null } | undefined;
      if (c === undefined) return this.st('SELECT 1 FROM studies WHERE id = ?').get(sid) === undefined ? 'no_study' : null;
      if (c.state === 'running') {
        // Taking over an expired lease: the lost attempt's values go, the lost attempt is recorded.
        this.st('DELETE FROM intermediates WHERE trial_id = ?').run(c.id);
        const row = this.st('SELECT user_attrs FROM trials WHERE id = ?').get(c.id) as { user_attrs: string };
        const attrs = JSON.parse(row.user_attrs) as JsonObject;
        this.st('UPDATE trials SET user_attrs = ? WHERE id = ?').run(JSON.stringify(withLeaseExpiry(attrs, c.attempt, c.worker_id, c.lease_expires_at)), c.id);
      }
      this.st(
        `UPDATE trials SET state = 'running', worker_id = ?, attempt = attempt + 1, lease_expires_at = ?, heartbeat_at = ?, started_at = ? WHERE id = ?`,
      ).run(wid, now + leaseMs, now, now, c.id);
      this.st('UPDATE workers SET last_seen_at = ? WHERE id = ?').run(now, wid);
      return this.trialRow(c.id)!;
    });
  }

  protected async selectOwner(id: TrialId): Promise<OwnerRow | undefined> {
    return this.run(false, () => this.st('SELECT id, state, worker_id, attempt FROM trials WHERE id = ?').get(id) as OwnerRow | undefined);
  }

  protected async renewLease(id: TrialId, wid: WorkerId, leaseMs: number, attempt: number | null): Promise<number> {
    return this.run(true, () => {
      const now = Date.now();
      const r = this.st(`UPDATE trials SET lease_expires_at = ?, heartbeat_at = ? WHERE id = ? AND state = 'running' AND worker_id = ? AND attempt = COALESCE(?, attempt)`)
        .run(now + leaseMs, now, id, wid, attempt);
      if (r.changes > 0) this.st('UPDATE workers SET last_seen_at = ? WHERE id = ?').run(now, wid);
      return r.changes;
    });
  }

  protected async upsertIntermediate(id: TrialId, wid: WorkerId, step: number, metrics: string, attempt: number | null): Promise<number> {
    return this.run(true, () => this.st(
      `INSERT INTO intermediates (trial_id, step, metrics, reported_at)
       SELECT id, ?, ?, ? FROM trials WHERE id = ? AND state = 'running' AND worker_id = ? AND attempt = COALESCE(?, attempt)
       ON CONFLICT (trial_id, step) DO UPDATE SET metrics = excluded.metrics, reported_at = excluded.reported_at`,
    ).run(step, metrics, Date.now(), id, wid, attempt).changes);
  }

  protected async finishRow(id: TrialId, wid: WorkerId, cols: unknown[], attempt: number | null): Promise<TrialRow | undefined> {
    return this.run(true, () => {
      const r = this.st(
        `UPDATE trials SET state = ?, metrics = ?, vals = ?, value0 = ?, error = ?, duration_ms = ?, finished_at = ?, lease_expires_at = NULL
         WHERE id = ? AND state = 'running' AND worker_id = ? AND attempt = COALESCE(?, attempt)`,
      ).run(...cols, Date.now(), id, wid, attempt);
      return r.changes > 0 ? this.trialRow(id) : undefined;
    });
  }

  protected async releaseRow(id: TrialId, wid: WorkerId, attempt: number | null): Promise<number> {
    return this.run(true, () =>
      this.st(`UPDATE trials SET state = 'waiting', lease_expires_at = NULL WHERE id = ? AND state = 'running' AND worker_id = ? AND attempt = COALESCE(?, attempt)`)
        .run(id, wid, attempt).changes);
  }

  protected async selectTrial(id: TrialId): Promise<TrialRow | undefined> {
    return this.run(false, () => this.trialRow(id));
  }

  protected async selectTrialByNumber(sid: StudyId, number: number): Promise<TrialRow | undefined> {
    return this.run(false, () => this.st(`SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND number = ?`).get(sid, number) as TrialRow | undefined);
  }

  protected async selectTrialOutcomes(sid: StudyId): Promise<Omit<TrialRow, 'arch'>[]> {
    return this.run(false, () => this.st(`SELECT ${TRIAL_OUTCOME_COLS} FROM trials WHERE study_id = ? ORDER BY number`).all(sid) as Omit<TrialRow, 'arch'>[]);
  }

  protected async selectTrialPoints(sid: StudyId, k: PointKeys): Promise<TrialPoints> {
    // json_extract parses in C (one parse per row and column: SQLite caches the parsed value
    // across calls in a row); fallback metrics are parsed only for rows without a value0, params
    // and attributes only when the row holds the key's text.
    const cols: string[] = [];
    const args: unknown[] = [];
    for (const key of k.metrics) {
      cols.push('json_extract(metrics, ?)');
      args.push(sqliteKeyPath(key));
    }
    for (const key of k.fallbackMetrics) {
      cols.push('CASE WHEN value0 IS NULL THEN json_extract(metrics, ?) END');
      args.push(sqliteKeyPath(key));
    }
    for (const [col, keys] of [['params', k.params], ['user_attrs', k.userAttrs]] as const) {
      for (const key of keys) {
        cols.push(`CASE WHEN ${col} LIKE ? ESCAPE '\\' AND json_type(${col}, ?) IN ('integer', 'real') THEN json_extract(${col}, ?) END`);
        args.push(keyLikePattern(key), sqliteKeyPath(key), sqliteKeyPath(key));
      }
    }
    const sql = `SELECT id, number, state, budget, value0, started_at, finished_at${cols.map((c) => `, ${c}`).join('')}
      FROM trials WHERE study_id = ? ORDER BY number`;
    return this.run(false, () => trialPointsFromRows(this.st(sql).raw(true).all(...args, sid) as unknown[][], k));
  }

  protected async selectTrialColumns(sid: StudyId): Promise<TrialColumns> {
    // Rows as arrays (no object per row); the JSON texts are decoded in trialColumnsFromRows.
    return this.run(false, () =>
      trialColumnsFromRows(this.st(`SELECT ${TRIAL_COLUMN_SELECT} FROM trials WHERE study_id = ? ORDER BY number`).raw(true).all(sid) as unknown[][]));
  }

  protected async selectTrialArchitectures(sid: StudyId): Promise<TrialArchitectures> {
    return this.run(false, () => trialArchitecturesFromRows(this.st('SELECT number, arch FROM trials WHERE study_id = ? ORDER BY number').raw(true).all(sid) as unknown[][]));
  }

  protected async selectTrialArchKeys(sid: StudyId, fromNumber: number, limit: number | null): Promise<TrialArchKeys> {
    return this.run(false, () => trialArchKeysFromRows(this.st('SELECT number, arch_key FROM trials WHERE study_id = ? AND number >= ? ORDER BY number LIMIT ?').raw(true).all(sid, fromNumber, limit ?? -1) as unknown[][]));
  }

  protected async selectTrials(sid: StudyId, o: ListTrialsOptions): Promise<TrialRow[]> {
    const where = ['study_id = ?'];
    const args: unknown[] = [sid];
    if (o.states !== undefined) {
      where.push(`state IN (${o.states.map(() => '?').join(', ')})`);
      args.push(...o.states);
    }
    if (o.archKey !== undefined) {
      where.push('arch_key = ?');
      args.push(o.archKey);
    }
    const sql = `SELECT ${TRIAL_COLS} FROM trials WHERE ${where.join(' AND ')} ORDER BY ${trialOrder(o)} LIMIT ? OFFSET ?`;
    args.push(o.limit ?? -1, o.offset ?? 0);
    return this.run(false, () => this.st(sql).all(...args) as TrialRow[]);
  }

  protected async selectTrialPage(sid: StudyId, q: ReturnType<typeof checkPageQuery>): Promise<{ total: number; rows: TrialRow[] }> {
    const where = ['study_id = ?'];
    const args: unknown[] = [sid];
    if (q.states !== undefined) {
      where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
      args.push(...q.states);
    }
    if (q.text) {
      where.push(pageTextSql('LIKE', '?'));
      const pat = likePattern(q.text);
      args.push(pat, pat, pat);
    }
    const path = `$."${q.metric ?? ''}"`;
    const lit = `'${path.replace(/'/g, "''")}'`;
    // One JSON parse per row; text values ("NaN", "Infinity": non-finite numbers) and absent keys sort as null.
    const metricExpr = `(SELECT CASE WHEN typeof(v) IN ('integer', 'real') THEN v END FROM (SELECT json_extract(metrics, ${lit}) AS v))`;
    const w = where.join(' AND ');
    // The sort carries narrow rows (ids); the page's full rows are read by id afterwards.
    const ids = `SELECT id FROM trials WHERE ${w} ORDER BY ${pageOrder(q.sortBy, q.desc, metricExpr)} LIMIT ? OFFSET ?`;
    // Reads in one deferred transaction: one snapshot.
    return this.run(false, () =>
      this.conn().transaction(() => {
        const total = (this.st(`SELECT COUNT(*) AS n FROM trials WHERE ${w}`).get(...args) as { n: number }).n;
        const order = (this.conn().prepare(ids).all(...args, q.limit, q.offset) as { id: number }[]).map((r) => r.id);
        if (order.length === 0) return { total, rows: [] };
        const rows = this.conn().prepare(`SELECT ${TRIAL_COLS} FROM trials WHERE id IN (${order.map(() => '?').join(', ')})`).all(...order) as TrialRow[];
        const at = new Map(order.map((id, i) => [id, i]));
        return { total, rows: rows.sort((a, b) => at.get(Number(a.id))! - at.get(Number(b.id))!) };
      }).deferred(),
    );
  }

  protected async selectStateCounts(sid: StudyId): Promise<{ state: string; n: number }[]> {
    return this.run(false, () => this.st('SELECT state, COUNT(*) AS n FROM trials WHERE study_id = ? GROUP BY state').all(sid) as { state: string; n: number }[]);
  }

  private bestFirstRow(sid: StudyId, direction: Direction): TrialRow | undefined {
    return this.st(
      // The id is chosen over narrow columns, then one full row is read: sorting whole rows
      // (architectures included) to keep one was most of a 20,000-trial study's summary.
      `SELECT ${TRIAL_COLS} FROM trials WHERE id = (SELECT id FROM trials WHERE study_id = ? AND state = 'complete' AND value0 IS NOT NULL ORDER BY ${BEST_BUDGET_ORDER}, value0 ${direction === 'minimize' ? 'ASC' : 'DESC'}, number LIMIT 1)`,
    ).get(sid) as TrialRow | undefined;
  }

  protected async selectBestFirst(sid: StudyId, direction: Direction): Promise<TrialRow | undefined> {
    return this.run(false, () => this.bestFirstRow(sid, direction));
  }

  protected async selectIntermediates(id: TrialId): Promise<IntermediateRow[]> {
    return this.run(false, () => this.st('SELECT * FROM intermediates WHERE trial_id = ? ORDER BY step').all(id) as IntermediateRow[]);
  }

  protected async selectStudyIntermediates(sid: StudyId, trialIds?: readonly number[]): Promise<IntermediateRow[]> {
    if (trialIds !== undefined) {
      return this.run(false, () => this.st(
        `SELECT i.trial_id, i.step, i.metrics, i.reported_at FROM intermediates i JOIN trials t ON t.id = i.trial_id
         WHERE t.study_id = ? AND i.trial_id IN (SELECT value FROM json_each(?)) ORDER BY t.number, i.step`,
      ).all(sid, JSON.stringify(trialIds)) as IntermediateRow[]);
    }
    return this.run(false, () => this.st(
      'SELECT i.trial_id, i.step, i.metrics, i.reported_at FROM intermediates i JOIN trials t ON t.id = i.trial_id WHERE t.study_id = ? ORDER BY t.number, i.step',
    ).all(sid) as IntermediateRow[]);
  }

  protected async selectTrialsSince(sid: StudyId, fromNumber: number, numbers: readonly number[]): Promise<TrialRow[]> {
    // Two index range scans on (study_id, number); the listed numbers are all below fromNumber.
    return this.run(false, () => (numbers.length === 0
      ? this.st(`SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND number >= ? ORDER BY number`).all(sid, fromNumber)
      : this.st(
        `SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND number IN (SELECT value FROM json_each(?))
         UNION ALL SELECT ${TRIAL_COLS} FROM trials WHERE study_id = ? AND number >= ? ORDER BY number`,
      ).all(sid, JSON.stringify(numbers), sid, fromNumber)) as TrialRow[]);
  }

  // ---------------------------------------------------------------- workers

  protected async upsertWorker(w: WorkerInfo, info: string): Promise<void> {
    this.run(true, () => {
      const now = Date.now();
      this.st(
        `INSERT INTO workers (id, study_id, host, pid, info, state, started_at, last_seen_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
         ON CONFLICT (id) DO UPDATE SET study_id = excluded.study_id, host = excluded.host, pid = excluded.pid, info = excluded.info,
           state = 'active', started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`,
      ).run(w.id, w.studyId, w.host, w.pid, info, now, now);
    });
  }

  protected async touchWorkerRow(id: WorkerId, stop: boolean): Promise<boolean> {
    const sql = stop ? `UPDATE workers SET state = 'stopped', last_seen_at = ? WHERE id = ?` : 'UPDATE workers SET last_seen_at = ? WHERE id = ?';
    return this.run(true, () => this.st(sql).run(Date.now(), id).changes > 0);
  }

  protected async selectWorkers(sid?: StudyId): Promise<WorkerRow[]> {
    return this.run(false, () =>
      (sid === undefined
        ? this.st('SELECT * FROM workers ORDER BY started_at, id').all()
        : this.st('SELECT * FROM workers WHERE study_id = ? ORDER BY started_at, id').all(sid)) as WorkerRow[],
    );
  }

  async close(): Promise<void> {
    if (this.db === null) return;
    this.stmts.clear();
    this.db.close();
    this.db = null;
  }
}
