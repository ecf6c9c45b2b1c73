import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Nb201Arch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { ProxyEvaluator } from '../eval/proxies/index.js';
import { prescreenReport } from '../strategy/prescreen.js';
import { openStore } from '../store/index.js';
import { prepareSearch, search, studyProxyTime } from './index.js';
import { noExtraKeys } from './validate.js';

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
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { candidates: 3, top: 10 } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.top' && /top <= candidates/.test(e.hint ?? ''));
    assert.throws(() => prepareSearch({ config: { ...config, prescreen: { top: 2000 } } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen.top', 'the default 1,000 candidates');
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

test('a proxy objective with no finite value: the trial fails with the reason, table and live evaluator alike', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-absent-'));
  try {
    // The shipped table (nb201 space, no dataset): random draws of seed 0 include a key whose synflow
    // failed (since session 11 only the cells with no path from input to output, 341 of 15,625).
    const config = {
      study: 'pa',
      storage: `sqlite:${join(dir, 's.db')}`,
      space: 'nb201',
      strategy: 'random',
      evaluator: 'proxy',
      objectives: [{ metric: 'proxy_synflow', direction: 'maximize' }],
      trials: 100,
      seed: 0,
    };
    await search(prepareSearch({ config }));
    const store = await openStore(config.storage);
    try {
      const study = (await store.getStudy('pa'))!;
      const failed = (await store.listTrials(study.id)).filter((t) => t.state === 'failed');
      assert.ok(failed.length >= 1, 'seed 0 draws a key with no synflow value');
      for (const t of failed) assert.match(t.error ?? '', /proxy_synflow \(proxy synflow has no finite value for this architecture in .*nb201-proxies\.csv\.gz \(a cell with no path from input to output: the only synflow failure in the shipped table\)/);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Live: a cell with no path from input to output has synflow 0 (ln: -Infinity); the outcome says why it is absent.
  const ev = new ProxyEvaluator({ dataset: { kind: 'digits' }, proxies: ['synflow', 'params'], nb201: { width: 4, cells: 1 } });
  const cut: Nb201Arch = { family: 'nb201', ops: ['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'none', 'none', 'none'] };
  const out = await ev.evaluate({ arch: cut, seed: 0 });
  assert.equal(out.status, 'complete');
  if (out.status === 'complete') {
    assert.equal(out.metrics['proxy_synflow'], undefined);
    assert.ok(Number.isFinite(out.metrics['proxy_params']));
    assert.match(out.absent?.['proxy_synflow'] ?? '', /proxy synflow failed: .*synflow is 0: no weight has a gradient, the network has no path from input to output/);
    assert.equal(out.absent?.['proxy_params'], undefined);
  }
});

test('the proxy evaluator on nb201 without a dataset (the shipped table) takes no options: an error naming the option and both fixes', () => {
  const base = { study: 'x', storage: `sqlite:${join(tmpdir(), 'tsnas-never-written.db')}`, space: 'nb201', strategy: 'random', objectives: [{ metric: 'proxy_synflow', direction: 'maximize' }], trials: 2 };
  assert.throws(
    () => prepareSearch({ config: { ...base, evaluator: { name: 'proxy', proxies: ['synflow'] } } }),
    (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'evaluator.proxies' && /shipped proxy table \(every key's synflow, params, flops\) and takes no options/.test(e.message) && /add dataset/.test(e.hint ?? ''),
  );
  assert.ok(prepareSearch({ config: { ...base, evaluator: 'proxy' } }));
  // The same kind of message anywhere no field is allowed: never an empty list of allowed fields.
  assert.throws(() => noExtraKeys({ a: 1 }, 'x', []), (e: unknown) => isNasError(e, 'invalid_config') && e.hint === 'no fields are allowed here');
});

test('the live proxy evaluator refuses training options it would ignore (every one at once), and takes threads', () => {
  const base = { study: 'x', storage: `sqlite:${join(tmpdir(), 'tsnas-never-written.db')}`, space: 'mlp_small', strategy: 'random', objectives: [{ metric: 'proxy_synflow', direction: 'maximize' }], trials: 2 };
  assert.throws(
    () => prepareSearch({ config: { ...base, evaluator: { name: 'proxy', dataset: 'digits', proxies: ['synflow'], epochs: 5, early_stopping: { metric: 'train_loss' }, cv_folds: 3 } } }),
    (e: unknown) =>
      isNasError(e, 'invalid_config') &&
      /evaluator\.epochs: the proxy evaluator does not train, so it does not use epochs/.test(e.message) &&
      /evaluator\.early_stopping: /.test(e.message) &&
      /evaluator\.cv_folds: /.test(e.message),
  );
  assert.ok(prepareSearch({ config: { ...base, evaluator: { name: 'proxy', dataset: 'digits', proxies: ['synflow'], threads: 1, val_per_class: 5 } } }));
  // an unknown field: the allowed list is the proxy evaluator's, not the train evaluator's
  assert.throws(
    () => prepareSearch({ config: { ...base, evaluator: { name: 'proxy', dataset: 'digits', weights: true } } }),
    (e: unknown) => isNasError(e, 'invalid_config') && /evaluator\.weights: unknown field/.test(e.message) && /allowed fields here: .*proxies, per_class/.test(e.message + (e.hint ?? '')) && !/early_stopping|epochs/.test(e.message + (e.hint ?? '')),
  );
});

test('chain_cnn without constraints: draws whose pooling leaves no pixel are skipped (no trial, no proxy compute), with the proxy evaluator and with prescreen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-feasible-'));
  try {
    // digits are 8x8: most random chains pool them below 1x1 (a pool of 3 or 5 twice is enough).
    const base = { storage: `sqlite:${join(dir, 's.db')}`, space: 'chain_cnn', strategy: 'random', trials: 8, seed: 3 };
    const evaluator = { name: 'proxy', dataset: 'digits', val_per_class: 5, proxies: ['params', 'flops'], threads: 1 };
    const objectives = [{ metric: 'proxy_params', direction: 'maximize' }];
    await search(prepareSearch({ config: { ...base, study: 'plain', evaluator, objectives } }));
    await search(prepareSearch({ config: { ...base, study: 'pre', evaluator, objectives, prescreen: { candidates: 10, top: 2, pool: 3, proxies: ['params'] } } }));
    const store = await openStore(base.storage);
    try {
      for (const name of ['plain', 'pre']) {
        const study = (await store.getStudy(name))!;
        const trials = await store.listTrials(study.id);
        assert.equal(trials.length, 8);
        assert.deepEqual(trials.filter((t) => t.state !== 'complete').map((t) => t.error), [], `${name}: every trial can be evaluated`);
        if (name === 'pre') {
          const s = await store.loadStrategyState(study.id);
          const rep = prescreenReport((s.state as { strategy: unknown }).strategy);
          assert.ok(rep && rep.scored === 10 + 6 * 3 && rep.failed === 0, `no infeasible candidate scored: ${JSON.stringify(rep)}`);
        }
      }
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
