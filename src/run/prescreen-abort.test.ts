/**
 * New user, session 10, finding 10: SIGINT 14 s into a live prescreen was obeyed at 24.7 s: the
 * prescreen scores its candidates inside the strategy's synchronous init, where no signal handler
 * can run. Now the driver's `prepare` computes the proxies a dry init/ask asks for first, one
 * candidate at a time, checking the signal between them (ProxyProvider.collectAndFill), and the
 * real init/ask finds them cached. Deterministic: the abort is raised from the proxy computation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Nb201Arch } from '../core/arch.js';
import { ProxyProvider } from '../eval/proxies/table.js';
import { nb201Space } from '../space/nb201.js';
import { withPrescreen } from '../strategy/prescreen.js';
import { createStrategy } from '../strategy/registry.js';
import { eraseState, type Strategy } from '../strategy/types.js';
import { strategyDriver } from './strategy-driver.js';

/** A provider whose computation calls `onCompute(n)` with the running count (a stand-in for live scoring). */
function provider(onCompute: (n: number) => void): ProxyProvider<Nb201Arch> {
  let n = 0;
  return new ProxyProvider<Nb201Arch>(
    (a) => nb201Space.key(a),
    (a) => {
      onCompute(++n);
      const k = nb201Space.key(a);
      return { values: { proxy_fake: k.length + (k.charCodeAt(3) % 7) }, ms: 1 };
    },
  );
}

const driverWith = (p: ProxyProvider<Nb201Arch>) =>
  strategyDriver<Nb201Arch>({
    strategy: eraseState(withPrescreen(createStrategy('random'), { candidates: 40, top: 3, proxies: ['fake'], pool: 4 })) as unknown as Strategy,
    space: nb201Space,
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [],
    proxyOf: p.proxyOf,
    proxyPrefetch: p,
  });

test('prescreen: an abort raised while its 40 candidates are scored stops after that candidate, not after all 40', async () => {
  const ctl = new AbortController();
  const p = provider((n) => n === 5 && ctl.abort('test'));
  const d = driverWith(p);
  assert.equal(await d.prepare!(null, 7, [], ctl.signal), true, 'stopped by the signal');
  assert.equal(p.computed, 5, 'no candidate scored after the abort');
});

test('prescreen: prepare scores every candidate the init and first ask need; the synchronous calls then compute nothing', async () => {
  const p = provider(() => {});
  const d = driverWith(p);
  assert.equal(await d.prepare!(null, 7, [], new AbortController().signal), false);
  const before = p.computed;
  assert.ok(before >= 40, `the 40 candidates were scored ahead (${before})`);
  const st = d.init(7, []);
  const r = d.ask(st, []);
  assert.equal(r.result.kind, 'trial');
  assert.equal(p.computed, before, 'init and ask found every value cached');
  // The same state prepared again needs nothing new.
  assert.equal(await d.prepare!(st, 7, [], undefined), false);
  assert.equal(p.computed, before);
});
