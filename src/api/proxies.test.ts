import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNasError } from '../core/errors.js';
import { prescreenReport } from '../strategy/prescreen.js';
import { openStore } from '../store/index.js';
import { prepareSearch, search, studyProxyTime } from './index.js';

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
    const pt = await studyProxyTime(config.storage, 'ps');
    assert.ok(pt && pt.prescreen && pt.prescreen.candidates === 200 && pt.evaluator === null, JSON.stringify(pt));
    assert.ok(pt.totalMs > 0 && Math.abs(pt.msPerCandidate * 200 - pt.totalMs) < 1e-6 * pt.totalMs, JSON.stringify(pt));
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { proxies: ['synflo'] } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.proxies[0]');
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { proxies: ['naswot'] } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.proxies');
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { top: 0 } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.top');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prescreen with evaluator train, end to end: live proxies on the dataset, the top candidates trained first, proxy time reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-train-'));
  try {
    const config = {
      study: 'pt',
      storage: `sqlite:${join(dir, 's.db')}`,
      space: 'mlp',
      strategy: 'random',
      evaluator: { name: 'train', dataset: 'digits', epochs: 1, train_per_class: 10, val_per_class: 5, threads: 1, skip_test: true, keep_weights: false },
      trials: 4,
      seed: 5,
      prescreen: { candidates: 12, top: 3, proxies: ['naswot', 'synflow'] },
    };
    await search(prepareSearch({ config }));
    const store = await openStore(config.storage);
    try {
      const study = (await store.getStudy('pt'))!;
      const trials = await store.listTrials(study.id);
      assert.equal(trials.length, 4);
      assert.ok(trials.every((t) => t.state === 'complete' && Number.isFinite(t.metrics?.['val_acc'])), JSON.stringify(trials.map((t) => t.state)));
      // random search's first draws are the prescreen's top 3, best first, each with its proxy values.
      assert.deepEqual(trials.slice(0, 3).map((t) => t.params['prescreen_rank']), [1, 2, 3]);
      for (const t of trials.slice(0, 3)) assert.ok(Number.isFinite(t.params['proxy_naswot']) && Number.isFinite(t.params['proxy_synflow']));
      assert.equal(trials[3]!.params['prescreen_rank'], undefined);
    } finally {
      await store.close();
    }
    const pt = await studyProxyTime(config.storage, 'pt');
    assert.ok(pt?.prescreen && pt.prescreen.candidates === 12 && pt.totalMs > 0, JSON.stringify(pt));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
