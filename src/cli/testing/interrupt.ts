/**
 * Test helper: a real `tsnas` process interrupted at a known point. The signal is sent once its
 * stderr matches `when` (a line the command prints as the stage to interrupt starts), never after
 * a delay, so the test does not depend on the machine's speed. Returns the exit code, what it
 * printed and whether the signal was sent (false: the process ended before printing `when`).
 * Used for Ctrl-C / SIGTERM / kill -9 of commands that write outputs (compress, ensemble).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface Interrupted {
  readonly code: number | null;
  /** The signal that ended the process (SIGKILL after kill -9), else null. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether `when` was seen and the signal sent. */
  readonly sent: boolean;
}

export function interruptCli(args: readonly string[], when: RegExp, opts: { readonly signal?: NodeJS.Signals; readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {}): Promise<Interrupted> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!sent && when.test(stderr)) {
      sent = true;
      child.kill(opts.signal ?? 'SIGINT');
    }
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, sent })));
}
