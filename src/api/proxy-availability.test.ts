/**
 * New user, session 10, finding 8 and the proxy items of 11: every consumer of zero-cost proxy
 * scores (prescreen, local_search `order`, bananas `proxy_features`, the NB201 bench) is checked at
 * config time by one function (src/eval/proxies/availability.ts) with one message; proxy names get
 * the same did-you-mean wherever they are written. Was: `order: naswot` on the NB201 table ran with
 * every neighbour "missing -> last" (random order) while `prescreen.proxies: [naswot]` was refused;
 * `proxies: [jacov]` listed the names without "did you mean jacob_cov".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NasError, type Issue } from '../core/errors.js';
import { closest } from '../core/suggest.js';
import { checkProxyAvailability, proxyConsumers } from '../eval/proxies/availability.js';
import { PROXY_NAMES } from '../eval/proxies/registry.js';
import { prepareSearch } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxy-avail-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
/** The issues of a combined error, or the one problem of a single error (its text without the field). */
const issuesOf = (e: unknown): Issue[] => (e as { details?: { issues?: Issue[] } }).details?.issues ?? (e instanceof NasError ? [{ code: e.code, message: e.text, ...(e.field ? { field: e.field } : {}), ...(e.hint ? { hint: e.hint } : {}) } as Issue] : []);
const base = (over: Record<string, unknown>) => ({ study: 's', storage: `sqlite:${join(dir, 'a.db')}`, space: 'nb201', strategy: 'random', evaluator: 'nb201', trials: 3, ...over });
/** The one message for a proxy the NB201 table lacks, for any consumer. */
const TABLE_LACKS = (what: string, p: string) => new RegExp(`^${what} needs proxy ${p}, and the shipped NB201 proxy table \\(data/nb201/nb201-proxies\\.csv\\.gz\\) has no ${p}: it has synflow, params, flops$`);

test('local_search order and prescreen proxies the NB201 table lacks are refused at config time with the same message', () => {
  const cases = [
    [{ strategy: { name: 'local_search', options: { order: 'naswot' } } }, 'strategy.options.order', 'local_search order: naswot', 'naswot'],
    [{ prescreen: { proxies: ['jacob_cov'] } }, 'prescreen.proxies', 'prescreen', 'jacob_cov'],
    [{ strategy: { name: 'local_search', options: { order: 'grad_norm' } }, evaluator: 'proxy' }, 'strategy.options.order', 'local_search order: grad_norm', 'grad_norm'],
  ] as const;
  for (const [over, field, what, p] of cases)
    assert.throws(
      () => prepareSearch({ config: base(over) }),
      (e: unknown) => {
        assert.ok(e instanceof NasError, String(e));
        const i = issuesOf(e).find((x) => x.field === field);
        assert.ok(i, JSON.stringify(issuesOf(e)));
        assert.match(i.message, TABLE_LACKS(what, p));
        assert.match(i.hint ?? '', /train or proxy evaluator with a dataset computes every proxy/);
        return true;
      },
      JSON.stringify(over),
    );
});

test('both consumers wrong at once: both named in one error', () => {
  assert.throws(
    () => prepareSearch({ config: base({ strategy: { name: 'local_search', options: { order: 'naswot' } }, prescreen: { proxies: ['synflow', 'zen'] } }) }),
    (e: unknown) => {
      const fields = issuesOf(e).map((i) => i.field);
      assert.ok(fields.includes('strategy.options.order') && fields.includes('prescreen.proxies'), JSON.stringify(fields));
      return true;
    },
  );
});

test('proxies the source has are accepted: the table\'s on nb201, any proxy live (train evaluator with a dataset)', () => {
  assert.ok(prepareSearch({ config: base({ strategy: { name: 'local_search', options: { order: 'synflow' } }, prescreen: { candidates: 20, top: 2, proxies: ['params', 'flops'] } }) }));
  assert.ok(prepareSearch({ config: base({ strategy: { name: 'bananas', options: { proxy_features: true } } }) }));
  const live = { space: 'chain_cnn', evaluator: { name: 'train', dataset: 'digits', epochs: 1 }, strategy: { name: 'local_search', options: { order: 'naswot' } }, prescreen: { candidates: 4, top: 1, proxies: ['jacob_cov'] } };
  assert.ok(prepareSearch({ config: base(live) }));
  // The nb201 space with a dataset computes on the real NB201 networks: naswot is available.
  assert.ok(prepareSearch({ config: base({ evaluator: { name: 'train', dataset: 'digits', epochs: 1 }, strategy: { name: 'local_search', options: { order: 'naswot' } } }) }));
});

test('no proxy source: every consumer named, with the same message', () => {
  const cfg = base({ space: 'joint_mlp', evaluator: { name: 'synthetic', steps: 1 }, strategy: { name: 'bananas', options: { proxy_features: true } }, prescreen: { proxies: ['synflow'] } });
  assert.throws(
    () => prepareSearch({ config: cfg }),
    (e: unknown) => {
      const is = issuesOf(e);
      for (const [field, what] of [
        ['prescreen.proxies', 'prescreen'],
        ['strategy.options.proxy_features', 'bananas proxy_features'],
      ])
        assert.ok(
          is.some((i) => i.field === field && i.message === `${what} needs zero-cost proxy scores, and space joint_mlp with evaluator synthetic has no proxy source`),
          JSON.stringify(is),
        );
      return true;
    },
  );
  assert.throws(
    () => prepareSearch({ config: { ...cfg, strategy: { name: 'local_search', options: { order: 'snip' } }, prescreen: undefined } }),
    (e: unknown) => issuesOf(e).some((i) => i.field === 'strategy.options.order' && /^local_search order: snip needs zero-cost proxy scores/.test(i.message)),
  );
});

test('proxy names get one did-you-mean wherever written: prescreen.proxies, evaluator.proxies, local_search order', () => {
  for (const [over, field] of [
    [{ prescreen: { proxies: ['jacov'] } }, 'prescreen.proxies[0]'],
    [{ strategy: { name: 'local_search', options: { order: 'jacov' } } }, 'strategy.options.order'],
    [{ space: 'chain_cnn', evaluator: { name: 'proxy', dataset: 'digits', proxies: ['jacov'] } }, 'evaluator.proxies[0]'],
  ] as const)
    assert.throws(
      () => prepareSearch({ config: base(over) }),
      (e: unknown) => issuesOf(e).some((i) => i.field === field && /did you mean jacob_cov\?/.test(i.message)),
      JSON.stringify(over),
    );
  assert.throws(() => prepareSearch({ config: base({ strategy: { name: 'local_search', options: { order: 'synflw' } } }) }), /did you mean synflow\?/);
  assert.throws(() => prepareSearch({ config: base({ prescreen: { proxies: ['synflw'] } }) }), /did you mean synflow\?/);
});

test('closest: a contraction matches the one candidate holding it in order; no guess when two do or it is short', () => {
  assert.equal(closest('jacov', PROXY_NAMES), 'jacob_cov');
  assert.equal(closest('gradnorm', PROXY_NAMES), 'grad_norm');
  assert.equal(closest('grnm', PROXY_NAMES), undefined, 'grad_norm holds it but is more than twice as long');
  assert.equal(closest('sfw', PROXY_NAMES), undefined, 'three letters: too short to guess');
  assert.equal(closest('abcd', ['abcxd', 'abycd']), 'abcxd', 'one edit: the edit-distance rule answers first');
  assert.equal(closest('acde', ['abcdef', 'axcdex']), undefined, 'two candidates hold it: no guess');
});

test('checkProxyAvailability: live sources have every proxy; a table only its own; consumers of any proxy need only a source', () => {
  const table = { kind: 'table', file: '/x/data/nb201/nb201-proxies.csv.gz', proxies: ['synflow', 'params', 'flops'] } as const;
  const consumers = proxyConsumers('local_search', { order: 'zen', proxyFeatures: true }, { proxies: ['naswot', 'params'] });
  assert.deepEqual(consumers.map((c) => c.field), ['prescreen.proxies', 'strategy.options.order', 'strategy.options.proxy_features']);
  assert.doesNotThrow(() => checkProxyAvailability(consumers, { kind: 'live' }));
  assert.throws(
    () => checkProxyAvailability(consumers, table),
    (e: unknown) => {
      const is = issuesOf(e);
      assert.deepEqual(is.map((i) => i.field), ['prescreen.proxies', 'strategy.options.order']);
      assert.match(is[0]!.message, /needs proxy naswot, and .* has no naswot: it has synflow, params, flops/);
      return true;
    },
  );
  assert.deepEqual(proxyConsumers('local_search', { order: 'random', proxyFeatures: false }, null), []);
});
