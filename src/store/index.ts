/**
 * Opening a store from a URL:
 *   sqlite:./runs/study.db     sqlite:/abs/path.db     sqlite:///abs/path.db     sqlite::memory:
 *   ./runs/study.db | /abs/path.db | study.db            (a bare path = SQLite)
 *   postgres://user:pass@host:5432/db   postgresql://...  (also ?host=/socket/dir for a unix socket)
 */
import { didYouMean } from '../core/suggest.js';
import { NasError, isNasError } from '../core/errors.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { OpenStoreOptions, Store, StudyRecord } from './types.js';

export * from './types.js';
export { SqliteStore } from './sqlite.js';
export { PostgresStore, maskPgUrl } from './postgres.js';

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

const ACCEPTED =
  'use sqlite:PATH (e.g. sqlite:./runs/study.db), a bare file path, or postgres://USER:PASSWORD@HOST:PORT/DATABASE';

/** Parses a storage URL; `invalid_config` (field `storage`) names the URL and the accepted forms. */
export function parseStoreUrl(url: string, field = 'storage'): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new NasError('invalid_config', `empty storage URL`, { field, hint: ACCEPTED });
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  // A one-letter "scheme" is a Windows drive (C:\...), i.e. a bare path.
  if (m === null || m[1]!.length === 1) return { kind: 'sqlite', path: url };
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path === '' || path === '/') throw new NasError('invalid_config', `storage URL ${JSON.stringify(url)} names no file`, { field, hint: ACCEPTED });
    return { kind: 'sqlite', path };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new NasError('invalid_config', `malformed PostgreSQL URL ${JSON.stringify(url)}`, { field, hint: ACCEPTED });
    }
    if (u.pathname === '' || u.pathname === '/') {
      throw new NasError('invalid_config', `PostgreSQL URL ${JSON.stringify(url)} names no database`, { field, hint: ACCEPTED });
    }
    if (!u.hostname && !u.searchParams.get('host')) {
      throw new NasError('invalid_config', `PostgreSQL URL ${JSON.stringify(url)} names no host`, { field, hint: ACCEPTED });
    }
    return { kind: 'postgres', url };
  }
  throw new NasError('invalid_config', `unsupported storage URL ${JSON.stringify(url)} (scheme ${scheme}:)${didYouMean(scheme, ['sqlite', 'postgres', 'postgresql'], (s) => `${s}:`)}`, { field, hint: ACCEPTED });
}

/**
 * Opens (and migrates, unless readOnly) the store at `url`. Failures: `invalid_config` for a bad
 * URL, `storage_error` for a database that cannot be opened, is locked, read-only, or newer.
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const loc = parseStoreUrl(url);
  switch (loc.kind) {
    case 'sqlite':
      return SqliteStore.open(url, loc.path, opts);
    case 'postgres':
      return PostgresStore.open(loc.url, opts);
  }
}

/**
 * Closes a store a command opened to create its study in, after the command failed: an SQLite file
 * that this open created and that still holds no study is removed with its -wal/-shm files
 * (SqliteStore.discardIfCreated), so a command rejected before its work started leaves no empty
 * database. PostgreSQL: closed only (a schema created in an empty database is kept: other processes
 * may be opening it at the same moment, and it holds nothing).
 */
export async function closeDiscardingCreated(store: Store): Promise<void> {
  if (store instanceof SqliteStore) await store.discardIfCreated();
  else await store.close();
}

/**
 * The study `name` in the store at `url`, or null when the store, its schema or the study does not
 * exist yet. Opens read-only: it creates and changes nothing (what a command checks before it
 * decides to write).
 */
export async function findStudyRecord(url: string, name: string): Promise<StudyRecord | null> {
  let store: Store;
  try {
    store = await openStore(url, { readOnly: true });
  } catch (e) {
    if (isNasError(e, 'not_found') || (isNasError(e, 'storage_error') && e.details?.['reason'] === 'not_tsnas')) return null;
    throw e;
  }
  try {
    return await store.getStudy(name);
  } finally {
    await store.close();
  }
}
