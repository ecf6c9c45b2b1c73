/**
 * Where a study's kept files (trained weights) are, after the study's folder may have moved.
 *
 * Trials record `weights_path` as an absolute path when they finish (the worker's view). A user who
 * moves the database together with its `<db>.artifacts/` folder (issue 17.11) must still find them:
 * a recorded path is resolved against the study's current artifacts directory — the one
 * `artifacts_dir` names when the user set it, otherwise `<db file>.artifacts/<study>/` beside the
 * database as it is now — when it does not exist where it was written. Relative paths are taken
 * relative to that directory.
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import type { JsonObject } from '../core/json.js';
import type { StudyRecord } from '../store/index.js';
import { defaultArtifactsDir } from './config.js';

/** The study's artifacts directory as seen from `storage` now; null when it keeps none. */
export function studyArtifactsDir(storage: string, rec: StudyRecord): string | null {
  const o = (rec.evaluator.options ?? {}) as JsonObject;
  if (o['keep_weights'] === false) return null;
  const stored = o['artifacts_dir'];
  const created = typeof rec.config['storage'] === 'string' ? defaultArtifactsDir(rec.config['storage'], rec.name) : null;
  // A stored directory that is merely the default of the storage the study was created in follows
  // the database; one the user chose stays where it is.
  if (typeof stored === 'string' && stored !== created) return stored;
  return defaultArtifactsDir(storage, rec.name);
}

export type ResolvedArtifact =
  | { readonly found: true; readonly path: string; readonly moved: boolean }
  | { readonly found: false; readonly recorded: string; readonly tried: readonly string[] };

/** Resolves a recorded artifact path (see the module comment). */
export function resolveArtifact(storage: string, rec: StudyRecord, recorded: string): ResolvedArtifact {
  const dir = studyArtifactsDir(storage, rec);
  const tried: string[] = [];
  if (isAbsolute(recorded)) {
    if (existsSync(recorded)) return { found: true, path: recorded, moved: false };
    tried.push(recorded);
  }
  if (dir) {
    const p = isAbsolute(recorded) ? join(dir, basename(recorded)) : join(dir, recorded);
    if (existsSync(p)) return { found: true, path: p, moved: isAbsolute(recorded) };
    tried.push(p);
  }
  return { found: false, recorded, tried };
}
