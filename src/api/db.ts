/**
 * Database administration: the explicit schema upgrade (`tsnas db upgrade`). Opening a store
 * never changes an existing schema (see OpenStoreOptions.upgrade), so upgrading the schema of a
 * database shared by many workers is one deliberate step, done once, before workers of the new
 * release start; workers already running are not disturbed.
 */
import { openStore, SCHEMA_VERSION } from '../store/index.js';

export interface DbUpgrade {
  /** The storage URL (PostgreSQL password masked). */
  storage: string;
  /** The schema version found (0: the database had no tsnas schema and was created). */
  from: number;
  /** The version it has now. */
  to: number;
  /** The version this tsnas writes. */
  current: number;
  /** `upgraded` (from < to), `created` (from 0), or `current` (nothing to do: already at, or newer than, this build's version and usable by it). */
  action: 'upgraded' | 'created' | 'current';
}

/**
 * Brings the database at `storage` to this build's schema version: every pending migration in
 * one transaction (all or none), serialized against concurrent openers; running it again is a
 * no-op. Errors: `invalid_config` (bad URL), `storage_error` (unreachable, login, missing
 * database, read-only, or a schema newer than this build can use).
 */
export async function upgradeDatabase(storage: string): Promise<DbUpgrade> {
  const store = await openStore(storage, { upgrade: true });
  try {
    const { found, version } = store.schema;
    return {
      storage: store.url,
      from: found,
      to: version,
      current: SCHEMA_VERSION,
      action: found === version ? 'current' : found === 0 ? 'created' : 'upgraded',
    };
  } finally {
    await store.close();
  }
}
