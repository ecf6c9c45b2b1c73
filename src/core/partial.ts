/**
 * Unfinished outputs (temporary files and `<out>.partial-<pid>-<hex>` / `<out>.tmp-<pid>` work
 * directories that a command renames into place when it succeeds) are removed whenever the command
 * does not finish, by kind:
 *   - an error: the command's own try/catch removes its work path (as before);
 *   - SIGINT / SIGTERM (Ctrl-C, `timeout`, `kill`): while any work path is held, a handler removes
 *     every held path, says so on stderr and exits 130 (the CLI's "interrupted" code). When the
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
  return removed;
}

function onSignal(sig: NodeJS.Signals): void {
  // Another handler (the command's interruptible stop) takes the signal: it stops gracefully, and
  // the error path or the exit hook removes the held paths.
  if (process.listenerCount(sig) > 1) return;
  const removed = removeHeld();
  process.stderr.write(`\ntsnas: ${sig}: stopped; ${removed.length ? `removed the unfinished output ${removed.join(', ')}` : 'nothing was written'}\n`);
  process.exit(130);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  // Without held paths the default (or the command's own) signal behaviour applies again.
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

process.on('exit', () => void removeHeld());

/**
 * Holds `path` (a work file or directory about to be created) until the returned release is called
 * (after the rename into place, or after the caller removed it). See the file comment.
 */
export function holdPartial(path: string): () => void {
  held.set(path, (held.get(path) ?? 0) + 1);
  install();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (held.get(path) ?? 1) - 1;
    if (n <= 0) held.delete(path);
    else held.set(path, n);
    if (held.size === 0) uninstall();
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
