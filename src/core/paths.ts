/**
 * Output paths: every command writes into directories that exist. A missing parent directory of an
 * output (a report file, an export or compression directory, a CSV file; the database file of a
 * storage URL is checked by the SQLite store with the same words) is an error naming the directory
 * and the fix, never created: a misspelt directory would otherwise become a new tree with the
 * output hidden in it (sqlite3 and Optuna refuse a database path whose directory is missing too).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NasError } from './errors.js';

/**
 * Returns `path` resolved against the working directory; throws `invalid_config` naming `field`
 * (the flag's name, e.g. `out`) when its parent directory does not exist or is not a directory.
 */
export function requireParentDir(path: string, field: string): string {
  const abs = resolve(path);
  const dir = dirname(abs);
  if (!existsSync(dir))
    throw new NasError('invalid_config', `cannot write ${abs}: directory ${dir} does not exist`, {
      field,
      hint: `check the path, or create the directory first (mkdir -p ${dir}); tsnas creates the output, never missing directories`,
      details: { path: abs, directory: dir },
    });
  if (!statSync(dir).isDirectory())
    throw new NasError('invalid_config', `cannot write ${abs}: ${dir} is not a directory`, { field, hint: 'check the path', details: { path: abs, directory: dir } });
  return abs;
}
