/**
 * Unfinished outputs (temporary files and `<out>.partial-<pid>-<hex>` / `<out>.tmp-<pid>` work
 * directories that a command renames into place when it succeeds) are removed whenever the command
 * does not finish, by kind:
 *   - an error: the command's own try/catch removes its work path (as before);
 *   - SIGINT / SIGTERM (Ctrl-C, `timeout`, `kill`): while any work path is held (or a command said
 *     what it does, sayOnStop), a handler removes every held path, says what stopped and what was
 *     removed or kept on stderr and exits 130 (the CLI's "interrupted" code). When the
 *     command has its own handler (`interruptible`: a graceful stop), that one decides, and the
 *     error path or the exit hook removes the work paths;
 *   - process.exit (e.g. the second Ctrl-C of `interruptible`): an 'exit' hook removes them;
 *   - kill -9 or a power cut, where no code runs: the next command writing to the same output finds
 *     the work paths of processes that are no longer running (`removeStalePartials`), removes them
 *     and says so.
 * Long synchronous work cannot run a signal handler; the loops that run for minutes (fine-tuning)
 * yield to the event loop between batches so the handler runs within one batch.
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const held = new Map<string, number>();
/** Held paths that are scratch space, not an output: removed like the others, never named. */
const scratch = new Set<string>();
let installed = false;

function removeHeld(): string[] {
  const removed: string[] = [];
  for (const p of held.keys()) {
    try {
      rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch {
      // Best effort while the process ends: a path that cannot be removed is found by the next run.
    }
  }
  held.clear();
  const named = removed.filter((p) => !scratch.has(p));
  scratch.clear();
  return named;
}

/** What the running command says when a signal stops it (sayOnStop); undefined: the generic line. */
let notice: StopNotice | undefined;

/** See sayOnStop. */
export interface StopNotice {
  /** The command, as the user typed it: `finetune`. */
  readonly command: string;
  /** What a stop ends, as a noun phrase: `the fine-tuning`. */
  readonly stopped: string;
  /** What is kept when no unfinished output was removed: `nothing was written (the --out directory is made when it finishes)`. */
  readonly kept: string;
}

function onSignal(sig: NodeJS.Signals): void {
  // Another handler (the command's interruptible stop) takes the signal: it stops gracefully, and
  // the error path or the exit hook removes the held paths.
  if (process.listenerCount(sig) > 1) return;
  const removed = removeHeld();
  const who = notice ? `tsnas ${notice.command}` : 'tsnas';
  const what = notice ? `stopped ${notice.stopped}` : 'stopped';
  process.stderr.write(`\n${who}: ${sig}: ${what}; ${removed.length ? `removed the unfinished output ${removed.join(', ')}` : (notice?.kept ?? 'nothing was written')}\n`);
  process.exit(130);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstall(): void {
  if (!installed || held.size > 0 || notice !== undefined) return;
  installed = false;
  // Without held paths the default (or the command's own) signal behaviour applies again.
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/**
 * From now until the returned release: a SIGINT or SIGTERM that no graceful handler of the
 * command takes (`interruptible`) is said, never silent (a finetune stopped before its output
 * directory existed printed nothing, new user 10b): `tsnas finetune: SIGTERM: stopped the
 * fine-tuning; nothing was written (...)`, or the unfinished output it removed; exit 130. The CLI
 * sets it for every command (src/cli/main.ts run).
 */
export function sayOnStop(n: StopNotice): () => void {
  notice = n;
  install();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (notice === n) notice = undefined;
    uninstall();
  };
}

process.on('exit', () => void removeHeld());

/**
 * Holds `path` (a work file or directory about to be created) until the returned release is called
 * (after the rename into place, or after the caller removed it). See the file comment. `scratch`:
 * a temporary directory of the command's own (e.g. an ensemble's member weights), removed the same
 * way but not named as an unfinished output in the stop line.
 */
export function holdPartial(path: string, opts: { readonly scratch?: boolean } = {}): () => void {
  held.set(path, (held.get(path) ?? 0) + 1);
  if (opts.scratch) scratch.add(path);
  install();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (held.get(path) ?? 1) - 1;
    if (n <= 0) {
      held.delete(path);
      scratch.delete(path);
    } else held.set(path, n);
    uninstall();
  };
}

/** Whether process `pid` is running (EPERM: it is, under another user). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes the work paths of `out` (absolute) left by processes that are no longer running:
 * `<out>.partial-<pid>-<hex>`, `<out>.tmp-<pid>` and `.<name>.tmp-<pid>` beside it. Returns a
 * sentence per removed path for the caller to print (nothing when there was none). A path of a
 * running process (another command writing the same output right now) is left alone.
 */
export function removeStalePartials(out: string): string[] {
  const dir = dirname(out);
  const name = basename(out);
  const re = new RegExp(`^(?:${escapeRe(name)}\\.partial-(\\d+)-[0-9a-f]+|${escapeRe(name)}\\.tmp-(\\d+)|\\.${escapeRe(name)}\\.tmp-(\\d+))$`);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const said: string[] = [];
  for (const e of entries) {
    const m = re.exec(e);
    if (!m) continue;
    const pid = Number(m[1] ?? m[2] ?? m[3]);
    if (pidAlive(pid)) continue;
    const p = join(dir, e);
    try {
      rmSync(p, { recursive: true, force: true });
      said.push(`removed ${p}, the unfinished output of an earlier run (process ${pid}, no longer running) that was stopped before it finished`);
    } catch (err) {
      said.push(`found ${p}, the unfinished output of an earlier run (process ${pid}, no longer running), but could not remove it: ${(err as Error).message}`);
    }
  }
  return said;
}
