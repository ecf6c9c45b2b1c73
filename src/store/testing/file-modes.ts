/**
 * Child processes on which file permission bits apply, for tests of read-only files and directories.
 *
 * Root ignores permission bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a test that wants "this
 * file is read-only" to fail like it does for a user must run its check in a child without them.
 * Switching the child to an unprivileged uid (the old way) breaks whenever that uid cannot read the
 * project: a clone inside a `mktemp -d` folder (mode 0700) fails with `Cannot find package 'tsx'`.
 * So, in order of preference:
 *   1. not root: the test process itself is subject to the modes (`as_is`);
 *   2. root: the child stays root, owner of the clone, but is started through util-linux's `setpriv`
 *      with both capabilities dropped from its bounding set (`no_override`): it reads what root owns,
 *      and a 0444 file or 0555 directory refuses it like any user;
 *   3. root without `setpriv` (or not allowed to drop capabilities): uid/gid 65534 (`other_user`),
 *      only when that user can load the project from `cwd` (the tree and node_modules are readable);
 *   4. otherwise `unavailable`, with the reason of each way tried, for the test to skip with.
 * Each way is probed once per process, with the same `node --import tsx` start the tests use, on a
 * real 0444 file: a way counts only if the child starts and the write is refused with EACCES.
 */
import { spawnSync, type SpawnOptions } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The capabilities that let root ignore file modes; the `setpriv` way drops both. */
export const SETPRIV_ARGS: readonly string[] = ['--bounding-set=-dac_override,-dac_read_search'];

export type FileModeRunner =
  | { kind: 'as_is' }
  | { kind: 'no_override' }
  | { kind: 'other_user'; uid: number; gid: number }
  | { kind: 'unavailable'; reason: string };

export interface Spawnable {
  command: string;
  args: string[];
  options: SpawnOptions;
}

/**
 * `command args` wrapped so that file modes apply to it under `runner`. Throws for `unavailable`
 * (the caller skips first).
 */
export function underFileModes(runner: FileModeRunner, command: string, args: string[], options: SpawnOptions = {}): Spawnable {
  switch (runner.kind) {
    case 'as_is':
      return { command, args, options };
    case 'no_override':
      return { command: 'setpriv', args: [...SETPRIV_ARGS, command, ...args], options };
    case 'other_user':
      return { command, args, options: { ...options, uid: runner.uid, gid: runner.gid } };
    case 'unavailable':
      throw new Error(`file modes cannot be enforced on a child process: ${runner.reason}`);
    default: {
      const never: never = runner;
      throw new Error(`unknown runner ${JSON.stringify(never)}`);
    }
  }
}

const cache = new Map<string, FileModeRunner>();

/**
 * How to start a `node --import tsx` child in `cwd` (default: this process's cwd) so that file
 * modes apply to it. Probed once per cwd; synchronous (a probe takes about a second).
 */
export function fileModeRunner(cwd: string = process.cwd()): FileModeRunner {
  const hit = cache.get(cwd);
  if (hit) return hit;
  const found = probeAll(cwd);
  cache.set(cwd, found);
  return found;
}

function probeAll(cwd: string): FileModeRunner {
  if (process.getuid?.() !== 0) return { kind: 'as_is' };
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-modes-'));
  try {
    chmodSync(dir, 0o755);
    const file = join(dir, 'ro');
    writeFileSync(file, '');
    chmodSync(file, 0o444);
    const tried: string[] = [];
    for (const runner of [{ kind: 'no_override' }, { kind: 'other_user', uid: 65534, gid: 65534 }] as const) {
      const why = probe(runner, cwd, file);
      if (why === null) return runner;
      tried.push(`${runner.kind === 'no_override' ? `setpriv ${SETPRIV_ARGS.join(' ')}` : `uid ${runner.uid}`}: ${why}`);
    }
    return { kind: 'unavailable', reason: `running as root, and no way to drop its override of file modes worked (${tried.join('; ')})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** null when a child started under `runner` loads tsx and is refused writing `file`; else why not. */
function probe(runner: FileModeRunner, cwd: string, file: string): string | null {
  const code = `try { require('node:fs').appendFileSync(${JSON.stringify(file)}, 'x'); console.log('WROTE'); } catch (e) { console.log(e.code); }`;
  const s = underFileModes(runner, process.execPath, ['--import', 'tsx', '-e', code], { cwd });
  const r = spawnSync(s.command, s.args, { ...s.options, encoding: 'utf8', timeout: 120_000 });
  if (r.error) return r.error.message;
  const out = String(r.stdout).trim();
  if (r.status !== 0) return `exit ${r.status}: ${String(r.stderr).trim().split('\n').slice(0, 3).join(' ')}`;
  if (out === 'EACCES') return null;
  return out === 'WROTE' ? 'the child could still write a 0444 file' : `unexpected probe output ${JSON.stringify(out)}`;
}
