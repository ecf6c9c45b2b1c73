import { test } from 'node:test';
import assert from 'node:assert/strict';
import { YIELD_MS, yieldIfDue } from './yield.js';

/** Busy-waits `ms` of wall time without letting the event loop turn (a short synchronous training). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('yieldIfDue: one clock for the process, so back-to-back short work (each far below YIELD_MS) still lets a pending timer run', async () => {
  let fired = false;
  setTimeout(() => (fired = true), 0);
  // Each "training" restarts nothing: 5 ms of work and one yieldIfDue per batch. Before session 11
  // every training had its own clock and none of these short ones ever yielded.
  const end = performance.now() + 3 * YIELD_MS;
  let calls = 0;
  while (!fired && performance.now() < end + YIELD_MS) {
    busy(5);
    await yieldIfDue();
    calls++;
  }
  assert.ok(fired, `the timer never ran in ${calls} short steps`);
});
