/**
 * Fetching dataset files from their canonical source into a cache directory, with checksum
 * verification. A file is only ever written after its checksum matched (written to a temporary
 * name, then renamed), so the cache never holds a partial or corrupted download. Where there is
 * no network the error says exactly which files to place where.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NasError } from '../core/errors.js';

export interface RemoteFile {
  /** File name in the target directory. */
  readonly name: string;
  readonly url: string;
  readonly md5?: string;
  readonly sha256?: string;
  readonly bytes?: number;
}

/** `$TSNAS_CACHE` if set, else `~/.cache/tsnas`. */
export function defaultCacheDir(): string {
  return process.env.TSNAS_CACHE || join(homedir(), '.cache', 'tsnas');
}

/** Throws a `data_error` unless `bytes` matches every checksum `f` declares. */
export function verifyChecksums(bytes: Uint8Array, f: RemoteFile, source: string): void {
  if (f.bytes !== undefined && bytes.length !== f.bytes)
    throw new NasError('data_error', `${source}: ${bytes.length} bytes, expected ${f.bytes}`, { details: { file: f.name } });
  for (const algo of ['md5', 'sha256'] as const) {
    const want = f[algo];
    if (want === undefined) continue;
    const got = createHash(algo).update(bytes).digest('hex');
    if (got !== want.toLowerCase())
      throw new NasError('data_error', `${source}: ${algo} checksum mismatch (got ${got}, expected ${want})`, {
        details: { file: f.name, algo, got, expected: want },
        hint: 'the download is corrupt or the mirror serves another file',
      });
  }
}

export function describeFiles(files: readonly RemoteFile[]): string {
  return files
    .map((f) => `  ${f.name}  from ${f.url}${f.md5 ? `  (md5 ${f.md5})` : ''}${f.sha256 && !f.md5 ? `  (sha256 ${f.sha256})` : ''}`)
    .join('\n');
}

export interface DownloadOptions {
  /** Per-file time limit in ms (default 10 minutes). */
  timeoutMs?: number;
  /** Replace each file's URL directory with this base URL (a mirror), keeping the file name. */
  mirror?: string;
}

export function urlFor(f: RemoteFile, mirror: string | undefined): string {
  if (!mirror) return f.url;
  const base = f.url.slice(f.url.lastIndexOf('/') + 1);
  return `${mirror.replace(/\/+$/, '')}/${base}`;
}

/**
 * Downloads every file of `files` missing from `dir` into it. On any failure (no network, HTTP
 * error, checksum mismatch) throws one `data_error` naming what failed and exactly which files to
 * place in `dir` by hand. `what` names the dataset in messages.
 */
export async function downloadMissing(what: string, files: readonly RemoteFile[], dir: string, opts: DownloadOptions = {}): Promise<void> {
  const missing = files.filter((f) => !existsSync(join(dir, f.name)));
  if (missing.length === 0) return;
  const failures: string[] = [];
  for (const f of missing) {
    const url = urlFor(f, opts.mirror);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      verifyChecksums(bytes, f, url);
      mkdirSync(dir, { recursive: true });
      const tmp = join(dir, `${f.name}.part-${process.pid}`);
      writeFileSync(tmp, bytes);
      renameSync(tmp, join(dir, f.name));
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = e instanceof NasError ? e.message : `${(e as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
      failures.push(`${f.name}: ${why}`);
    }
  }
  if (failures.length) throw missingFilesError(what, missing, dir, `download failed: ${failures.join('; ')}`);
}

/** The error for files that are absent and could not (or may not) be downloaded. */
export function missingFilesError(what: string, missing: readonly RemoteFile[], dir: string, why: string, extraHint?: string): NasError {
  return new NasError(
    'data_error',
    `${what}: ${missing.length} file(s) missing in ${dir} and ${why}.\n` +
      `Place these files in ${dir}:\n${describeFiles(missing)}` +
      (extraHint ? `\n${extraHint}` : ''),
    {
      details: { dir, missing: missing.map((f) => f.name) },
      hint: `copy the files listed above into ${dir}, or pass a directory that has them: --data-dir DIR (config: evaluator.data_dir; API: dataDir)`,
    },
  );
}
