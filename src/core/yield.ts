/**
 * Turns of the event loop during long synchronous work (training, evaluation passes): timers,
 * lease heartbeats, progress polling and signal handlers (Ctrl-C, SIGTERM) run only when the loop
 * turns, and a signal that arrives while none does is taken only after the work, or lost when the
 * command removes its handlers at the end (a search of tiny trials, an ensemble's many short
 * retrainings: each shorter than YIELD_MS, so a per-call clock never yielded; session 11).
 */

/** The longest the trainer runs without letting the event loop turn (ms). */
export const YIELD_MS = 100;

/** When this process last turned the loop through yieldIfDue (one clock for every caller). */
let last = performance.now();

/**
 * Lets the event loop turn (a setImmediate: timers, I/O and signal handlers run) when YIELD_MS
 * have passed since the last turn taken here anywhere in the process; resolves at once otherwise.
 * One process-wide clock, so a loop of short trainings, none of which reaches YIELD_MS alone,
 * still turns the loop every YIELD_MS.
 */
export async function yieldIfDue(): Promise<void> {
  if (performance.now() - last < YIELD_MS) return;
  await new Promise<void>((r) => setImmediate(r));
  last = performance.now();
}
