/**
 * Child process of `tsnas main`'s final trainings: `node main-final-child.js SPEC_JSON` runs
 * `trainFinal(spec)` (main-job.ts), which writes the weights and the record the parent reads.
 * Ctrl-C/SIGTERM or the parent's exit (the IPC channel closes, e.g. after kill -9) aborts the
 * training: it frees its memory and exits without a record, so a rerun trains it again.
 */
import { trainFinal, type FinalSpec } from './main-job.js';

const ctl = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ctl.abort(sig));
if (process.connected) process.once('disconnect', () => ctl.abort('parent exited'));
const spec = JSON.parse(process.argv[2] ?? 'null') as FinalSpec | null;
if (!spec) {
  process.stderr.write('usage: main-final-child SPEC_JSON\n');
  process.exit(2);
}
const r = await trainFinal(spec, ctl.signal);
if (r.status !== 'complete') process.stderr.write(`tsnas main: ${r.model}: ${r.status}${r.error ? ` (${r.error})` : ''}\n`);
process.exit(r.status === 'complete' ? 0 : 1);
