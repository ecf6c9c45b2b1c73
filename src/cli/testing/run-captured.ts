/** Test helper: runs the CLI in-process and returns its exit code with what it wrote to stdout and stderr. */
import { run } from '../main.js';

/**
 * `run(args)` with process.stdout/stderr writes captured (restored afterwards, also on a throw).
 * Not for concurrent use: the capture is process-wide.
 */
export async function runCaptured(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  // The CLI writes strings. Bytes are passed on: under `node --test` they are the runner's own
  // serialized test reports, which a capture spanning an async test swallowed (the file's other
  // tests were then never reported, passed or failed).
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) => (typeof s === 'string' ? ((stdout += s), true) : (ow as (...a: unknown[]) => boolean)(s, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}
