/**
 * Test fixture for search()'s wall-clock cap (src/api/wallclock.test.ts): a "worker" that claims a
 * trial of the study and then never answers again - its event loop is blocked (Atomics.wait, no
 * CPU used), so neither its timers nor SIGINT/SIGTERM are served, like a worker starved of CPU or
 * stuck in one native step. Only SIGKILL ends it. Arguments: the worker command's
 * `--storage URL --study NAME --worker-id ID` (others ignored).
 */
import { openStore } from '../../store/index.js';
import { workerId } from '../../core/ids.js';
import { Rng } from '../../core/rng.js';
import { nb201Space } from '../../space/nb201.js';

const arg = (name: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? undefined : process.argv[i + 1];
  if (v === undefined) throw new Error(`stuck-worker: --${name} is required`);
  return v;
};

process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
const store = await openStore(arg('storage'));
const rec = await store.requireStudy(arg('study'));
const wid = workerId(arg('worker-id'));
// A real architecture of the study's space (the parent tells its strategy about this trial).
const arch = nb201Space.sample(Rng.fromSeed(wid));
await store.createTrial(rec.id, { arch: arch as never, archKey: null, budget: null, params: {}, claim: { workerId: wid, leaseMs: 600_000 } });
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
