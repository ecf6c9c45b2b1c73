/**
 * The study-level prescreen wiring (src/api/parts.ts wraps the configured strategy with
 * withPrescreen when the config has `prescreen: {...}`; the proxy source is the shipped NB201 proxy
 * table on the nb201 space): the prescreen ranks every candidate before the evaluator trains
 * anything, the first trials evaluated are exactly the best-ranked ones in rank order, and the
 * candidates lacking the proxy are counted and recorded with the table's reason.
 *
 * Checked independently of the prescreen code: with `candidates` at least the space's number of
 * architecture keys every key is scored, so the expected top and the expected failures are read
 * from data/nb201/nb201-proxies.csv.gz here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMaybeGzip } from '../data/gzip.js';
import { NB201_PROXIES_CSV } from '../eval/proxies/table.js';
import { nb201Space } from '../space/nb201.js';
import type { Nb201Arch } from '../core/arch.js';
import { prescreenReport } from '../strategy/prescreen.js';
import { openStore } from '../store/index.js';
import { prepareSearch, search, studyProxyTime } from './index.js';

/** synflow by architecture key, from the shipped table (NaN = the table has no value: it failed). */
function tableSynflow(): Map<string, number> {
  const lines = new TextDecoder().decode(readMaybeGzip(NB201_PROXIES_CSV)).split('\n').filter((l) => l.trim() !== '');
  const col = lines[0]!.split(',').indexOf('synflow');
  assert.ok(col > 0);
  const out = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const c = l.split(',');
    out.set(nb201Space.key(nb201Space.parse(c[0]!) as Nb201Arch), c[col] === '' ? NaN : Number(c[col]));
  }
  return out;
}

test('prescreen in a study: every key ranked by synflow before any training, the best 4 evaluated first in rank order, the failed keys counted with the reason', async () => {
  const synflow = tableSynflow();
  const finite = [...synflow].filter(([, v]) => Number.isFinite(v)).sort((a, b) => b[1] - a[1]);
  const failedKeys = new Set([...synflow].filter(([, v]) => !Number.isFinite(v)).map(([k]) => k));
  assert.ok(failedKeys.size > 0 && finite.length > 4, 'the table has failed and finite synflow values');
  assert.ok(finite[3]![1] > finite[4]![1], 'no tie at the cut');
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-prescreen-study-'));
  try {
    const config = {
      study: 'pre',
      storage: `sqlite:${join(dir, 's.db')}`,
      space: 'nb201',
      strategy: 'random',
      evaluator: 'nb201',
      trials: 6,
      seed: 3,
      // more candidates than the space has keys: every key is scored
      prescreen: { candidates: 20_000, top: 4, proxies: ['synflow'] },
    };
    await search(prepareSearch({ config }));
    const store = await openStore(config.storage);
    try {
      const study = (await store.getStudy('pre'))!;
      const trials = await store.listTrials(study.id);
      assert.equal(trials.length, 6);
      assert.ok(trials.every((t) => t.state === 'complete'), JSON.stringify(trials.map((t) => t.state)));
      // the first trials evaluated are the table's 4 best synflow keys, best first, with their values and ranks
      const first = trials.slice(0, 4);
      assert.deepEqual(
        first.map((t) => t.archKey),
        finite.slice(0, 4).map(([k]) => k),
      );
      assert.deepEqual(
        first.map((t) => t.params['prescreen_rank']),
        [1, 2, 3, 4],
      );
      first.forEach((t, i) => assert.equal(t.params['proxy_synflow'], finite[i]![1]));
      // then random draws again (no pool): not from the prescreen, no rank
      for (const t of trials.slice(4)) assert.equal(t.params['prescreen_rank'], undefined);
      // the state: every key scored, the failed ones counted once with the table's reason and keys of them
      const s = await store.loadStrategyState(study.id);
      const rep = prescreenReport((s.state as { strategy: unknown }).strategy)!;
      assert.ok(rep, 'a prescreen state');
      assert.equal(rep.scored, synflow.size);
      assert.equal(rep.failed, failedKeys.size);
      assert.equal(rep.failures?.length, 1);
      const f = rep.failures![0]!;
      assert.equal(f.proxy, 'synflow');
      assert.equal(f.count, failedKeys.size);
      assert.match(f.reason, /^proxy synflow has no finite value for this architecture in data\/nb201\/nb201-proxies\.csv\.gz/);
      assert.equal(f.keys.length, Math.min(5, failedKeys.size));
      for (const k of f.keys) assert.ok(failedKeys.has(k), `${k} has no synflow in the table`);
    } finally {
      await store.close();
    }
    const pt = await studyProxyTime(config.storage, 'pre');
    assert.equal(pt?.prescreen?.candidates, synflow.size);
    assert.equal(pt?.prescreen?.failed, failedKeys.size);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
