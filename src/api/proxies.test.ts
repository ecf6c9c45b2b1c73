import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNasError } from '../core/errors.js';
import { prescreenReport } from '../strategy/prescreen.js';
import { openStore } from '../store/index.js';
import { prepareSearch, search } from './index.js';

const TABLE = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));

test('prescreen on the nb201 table: proxy values stored with the trials, proxy ms in the stored state, bad names rejected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-'));
  try {
    const config = {
      study: 'ps',
      storage: `sqlite:${join(dir, 's.db')}`,
      space: 'nb201',
      strategy: 'local_search',
      evaluator: { name: 'nb201', table: TABLE },
      trials: 12,
      prescreen: { candidates: 200, top: 10, proxies: ['synflow'] },
    };
    await search(prepareSearch({ config }));
    const store = await openStore(config.storage);
    try {
      const study = (await store.getStudy('ps'))!;
      const trials = await store.listTrials(study.id);
      assert.equal(trials.length, 12);
      const ranked = trials.filter((t) => typeof t.params['prescreen_rank'] === 'number');
      assert.ok(ranked.length >= 10, `${ranked.length} prescreened trials`);
      for (const t of ranked) assert.ok(Number.isFinite(t.params['proxy_synflow']));
      const s = await store.loadStrategyState(study.id);
      const rep = prescreenReport((s.state as { strategy: unknown }).strategy);
      assert.ok(rep && rep.scored === 200 && rep.proxyMs > 0, JSON.stringify(rep));
    } finally {
      await store.close();
    }
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { proxies: ['synflo'] } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.proxies[0]');
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { proxies: ['naswot'] } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.proxies');
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { top: 0 } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.top');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
