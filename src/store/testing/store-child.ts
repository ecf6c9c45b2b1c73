/**
 * A child process for multi-process store tests (run with `node --import tsx`):
 *   claim URL STUDY_ID WORKER GO_FILE
 *                               opens the store, prints `ready`, waits for GO_FILE to exist (so
 *                               all children start together), then claims and finishes trials
 *                               (2 ms of "work" each) until none is left; prints the ids (JSON)
 *   open URL                    opens the store; prints {"ok":true} or the NasError as JSON
 *   read URL                    opens it read-only and counts the studies; prints {"ok":true,"studies":N} or the NasError
 */
import { existsSync } from 'node:fs';
import { isNasError } from '../../core/errors.js';
import { studyId, workerId } from '../../core/ids.js';
import { openStore } from '../index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const [mode, url, ...rest] = process.argv.slice(2);
if (mode === 'claim') {
  const store = await openStore(url!);
  const sid = studyId(Number(rest[0]));
  const w = workerId(rest[1]!);
  const ids: number[] = [];
  console.log('ready');
  while (!existsSync(rest[2]!)) await sleep(5);
  for (;;) {
    const t = await store.claimTrial(sid, w, 60_000);
    if (t === null) break;
    ids.push(t.id);
    await sleep(2);
    await store.reportIntermediate(t.id, w, 0, { v: t.number });
    await store.finishTrial(t.id, w, { state: 'complete', values: [t.number] });
  }
  await store.close();
  console.log(JSON.stringify(ids));
} else if (mode === 'open') {
  try {
    const store = await openStore(url!);
    await store.listStudies();
    await store.close();
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify(isNasError(e) ? e.toJSON() : { name: String(e) }));
  }
} else if (mode === 'read') {
  // As a reading command (status, dashboard): a read-only open, the studies counted.
  try {
    const store = await openStore(url!, { readOnly: true });
    const n = (await store.listStudies()).length;
    await store.close();
    console.log(JSON.stringify({ ok: true, studies: n }));
  } catch (e) {
    console.log(JSON.stringify(isNasError(e) ? e.toJSON() : { name: String(e) }));
  }
} else {
  console.error('usage: store-child.ts claim URL STUDY_ID WORKER GO_FILE | open URL | read URL');
  process.exit(2);
}
