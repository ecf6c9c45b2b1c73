/**
 * Atomic output directories for everything compression writes (`tsnas compress`, `tsnas
 * finetune`): files go to a sibling work directory `<out>.partial-<pid>-<random>`, which is renamed
 * to `<out>` only when the whole command succeeded; on any failure it is removed. So a failed or
 * impossible run leaves no partial output and the same `--out` can be used again, and a reader never
 * sees a half-written directory (rename(2) within one file system is atomic). The work directory
 * is also removed on SIGINT/SIGTERM and process exit (core/partial.ts holdPartial), and one left by
 * a process that no longer runs (kill -9) is removed, and said, by the next run to the same output.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { NasError, isNasError } from '../core/errors.js';
import { requireParentDir } from '../core/paths.js';
import { holdPartial, removeStalePartials } from '../core/partial.js';

/** Throws invalid_config naming `field` when `out` exists and is not an empty directory. */
export function checkOutDir(out: string, field = 'out'): string {
  // A missing parent is an error naming it, never created (src/core/paths.ts).
  const dir = requireParentDir(out, field);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0))
    throw new NasError('invalid_config', `${dir} already exists and is not an empty directory`, { field, hint: 'give a new directory; nothing is ever overwritten' });
  return dir;
}

export interface AtomicDir {
  /** The final directory (absolute). */
  readonly dir: string;
  /** Where to write meanwhile. */
  readonly work: string;
  /** Renames work -> dir (replacing an empty dir). */
  commit(): void;
  /** Removes the work directory (never throws). */
  abort(): void;
}

/** Where atomicDir says what it found (stale work directories it removed); default stderr. */
const sayOnStderr = (line: string): void => void process.stderr.write(`tsnas: ${line}\n`);

/**
 * Starts an atomic output directory (checked with checkOutDir first). The work directories of
 * earlier runs to the same output whose process is gone are removed first, each said through `say`.
 */
export function atomicDir(out: string, field = 'out', say: (line: string) => void = sayOnStderr): AtomicDir {
  const dir = checkOutDir(out, field);
  for (const line of removeStalePartials(dir)) say(line);
  const work = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const release = holdPartial(work);
  try {
    mkdirSync(work);
  } catch (e) {
    release();
    throw new NasError('storage_error', `cannot create ${work}: ${(e as Error).message}`, { field, cause: e });
  }
  let done = false;
  return {
    dir,
    work,
    commit() {
      if (done) return;
      try {
        if (existsSync(dir)) rmdirSync(dir); // an empty directory (checked above); fails if it is not
        renameSync(work, dir);
        done = true;
        release();
      } catch (e) {
        if (isNasError(e)) throw e;
        throw new NasError('storage_error', `cannot move ${work} to ${dir}: ${(e as Error).message}`, { field, cause: e });
      }
    },
    abort() {
      if (done) return;
      done = true;
      rmSync(work, { recursive: true, force: true });
      release();
    },
  };
}

/** Runs `f(work)` in an atomic output directory; commits on success, removes everything on failure. */
export async function withAtomicDir<T>(out: string, f: (work: string, dir: string) => Promise<T> | T, field = 'out'): Promise<T> {
  const a = atomicDir(out, field);
  try {
    const r = await f(a.work, a.dir);
    a.commit();
    return r;
  } catch (e) {
    a.abort();
    throw e;
  }
}
