import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import type { Nb201Arch } from '../core/arch.js';
import { nb201Space } from '../space/nb201.js';
import { simulate } from './common-testing.js';
import { prescreenReport, withPrescreen as withPrescreenTyped } from './prescreen.js';
import { createStrategy } from './registry.js';
import { eraseState, type ProxyValues, type Strategy, type StrategyState } from './types.js';

const withPrescreen = (...a: Parameters<typeof withPrescreenTyped>): Strategy => eraseState(withPrescreenTyped(...a));

/** `s` with every proposal's `info` recorded by key (the test study does not keep it). */
function recording(s: Strategy, infos: Map<string, Readonly<Record<string, number | string>> | undefined>): Strategy {
  return {
    ...s,
    ask(state, ctx) {
      const r = s.ask(state, ctx);
      if (r.outcome.kind === 'trial') infos.set(ctx.space.key(r.outcome.proposal.arch), r.outcome.proposal.info);
      return r;
    },
  };
}

/** A deterministic pseudo-proxy of the key (FNV-1a), NaN for about one key in 7, logged per call. */
function fakeProxies(log: { key: string; v: number }[]) {
  return (a: Nb201Arch): ProxyValues => {
    const key = nb201Space.key(a);
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
    const v = h % 7 === 0 ? NaN : h / 2 ** 32;
    log.push({ key, v });
    return { values: { proxy_fake: v }, ms: 1 };
  };
}

const objectives = [{ metric: 'val_acc', direction: 'maximize' as const }];
const evaluate = (a: Nb201Arch) => ({ val_acc: a.ops.reduce((s: number, o, i) => s + o.length * (i + 1), 0) });

test('prescreen pool: every draw after the top ones is the best-ranked of `pool` fresh candidates, stored with its proxy values; the pool compute is charged', () => {
  const log: { key: string; v: number }[] = [];
  const infos = new Map<string, Readonly<Record<string, number | string>> | undefined>();
  const s = recording(withPrescreen(createStrategy('random'), { candidates: 30, top: 2, proxies: ['fake'], pool: 8 }), infos);
  const r = simulate(s, { space: nb201Space, objectives, evaluate, trials: 10, seed: 5, proxyOf: fakeProxies(log) });
  assert.equal(r.history.length, 10);
  // init scores 30 candidates, then each of the 8 later asks scores one pool of 8.
  assert.equal(log.length, 30 + 8 * 8);
  const seen = new Set<string>();
  r.history.forEach((t, i) => {
    assert.ok(!seen.has(t.key), 'no key proposed twice');
    seen.add(t.key);
    if (i < 2) return void assert.equal(infos.get(t.key)?.['prescreen_rank'], i + 1);
    const pool = log.slice(30 + 8 * (i - 2), 30 + 8 * (i - 1));
    assert.equal(new Set(pool.map((p) => p.key)).size, 8, 'a pool has distinct keys');
    assert.ok(pool.every((p) => !r.history.slice(0, i).some((h) => h.key === p.key)), 'a pool holds only unseen keys');
    const finite = pool.filter((p) => Number.isFinite(p.v));
    const best = finite.reduce((m, p) => (p.v > m.v ? p : m));
    assert.equal(t.key, best.key, `trial ${i} is the pool's best`);
    assert.equal(infos.get(t.key)?.['prescreen_pool'], 8);
    assert.equal(infos.get(t.key)?.['proxy_fake'], best.v);
  });
  const rep = prescreenReport(r.state);
  assert.deepEqual(rep && { ms: rep.proxyMs, scored: rep.scored }, { ms: 94, scored: 94 });
  assert.ok(rep!.failed > 0, 'NaN values are counted as failed');
});

test('prescreen pool: a resumed study proposes what an uninterrupted one would', () => {
  const make = () => withPrescreen(createStrategy('random'), { candidates: 20, top: 3, proxies: ['fake'], pool: 5 });
  const whole = simulate(make(), { space: nb201Space, objectives, evaluate, trials: 12, seed: 9, proxyOf: fakeProxies([]) });
  const half = simulate(make(), { space: nb201Space, objectives, evaluate, trials: 6, seed: 9, proxyOf: fakeProxies([]) });
  const rest = simulate(make(), { space: nb201Space, objectives, evaluate, trials: 12, seed: 9, proxyOf: fakeProxies([]), resume: { history: half.history, state: half.state as StrategyState } });
  assert.deepEqual(rest.history.map((t) => t.key), whole.history.map((t) => t.key));
  assert.deepEqual(prescreenReport(rest.state), prescreenReport(whole.state));
});

test('prescreen: pool must be a non-negative integer', () => {
  for (const pool of [-1, 1.5])
    assert.throws(() => withPrescreen(createStrategy('random'), { candidates: 5, top: 1, proxies: ['fake'], pool }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prescreen');
});

test('prescreen: an arch that cannot be evaluated (ctx.infeasible) is never scored nor proposed, in the candidates or the pools, without constraints', () => {
  const log: { key: string; v: number }[] = [];
  // As a chain CNN that pools its input below 1x1: here every cell whose first edge is `none`.
  const infeasible = (a: Nb201Arch) => (a.ops[0] === 'none' ? 'pooling reduces the input to 0x0' : undefined);
  const s = withPrescreen(createStrategy('random'), { candidates: 40, top: 3, proxies: ['fake'], pool: 6 });
  const proxies = fakeProxies(log);
  let scoredInfeasible = 0;
  const proxyOf = (a: Nb201Arch): ProxyValues => {
    if (infeasible(a) !== undefined) scoredInfeasible++;
    return proxies(a);
  };
  const r = simulate(s, { space: nb201Space, objectives, evaluate, trials: 10, seed: 4, proxyOf, infeasible });
  assert.equal(r.history.length, 10);
  assert.ok(r.history.every((t) => infeasible(t.arch) === undefined), 'no infeasible trial');
  assert.equal(scoredInfeasible, 0, 'no infeasible candidate scored');
  // Every scored candidate is charged: 40 at init, one pool of 6 per ask after the top 3.
  assert.equal(prescreenReport(r.state)!.scored, 40 + 7 * 6);
});

test('prescreen failures: every candidate lacking a proxy is counted once and recorded by proxy and reason with its first keys, the pools\' too; a trained one carries prescreen_failed', () => {
  const log: { key: string; v: number }[] = [];
  const fake = fakeProxies(log);
  // Two proxies failing on different keys, with the source's reasons; the second only on some.
  const proxyOf = (a: Nb201Arch): ProxyValues => {
    const v = fake(a);
    const f = v.values['proxy_fake']!;
    const other = Math.floor(f * 1000) % 5 === 0 ? NaN : f * 2;
    const absent: Record<string, string> = {};
    if (!Number.isFinite(f)) absent['proxy_fake'] = 'fake is NaN (test)';
    if (!Number.isFinite(other)) absent['proxy_other'] = 'other threw: test';
    return { values: { proxy_fake: f, proxy_other: other }, ms: 2, ...(Object.keys(absent).length ? { absent } : {}), recordedIn: 'data/x.csv' };
  };
  const infos = new Map<string, Readonly<Record<string, number | string>> | undefined>();
  // top 40 of 40: every candidate is proposed in rank order, failed ones last.
  const s = recording(withPrescreen(createStrategy('random'), { candidates: 40, top: 40, proxies: ['fake', 'other'], pool: 4 }), infos);
  const r = simulate(s, { space: nb201Space, objectives, evaluate, trials: 42, seed: 3, proxyOf });
  const rep = prescreenReport(r.state)!;
  const bad = (k: string) => {
    const e = log.find((x) => x.key === k)!;
    return !Number.isFinite(e.v) || Math.floor(e.v * 1000) % 5 === 0;
  };
  const scoredKeys = [...new Set(log.map((x) => x.key))];
  assert.equal(rep.scored, 40 + 2 * 4);
  assert.equal(rep.failed, scoredKeys.filter(bad).length, 'a candidate lacking both proxies counts once');
  assert.ok(rep.failed > 0);
  const failures = rep.failures!;
  const byProxy = (p: string) => failures.filter((f) => f.proxy === p).reduce((n, f) => n + f.count, 0);
  assert.equal(byProxy('fake'), scoredKeys.filter((k) => !Number.isFinite(log.find((x) => x.key === k)!.v)).length);
  assert.deepEqual(new Set(failures.map((f) => f.reason)), new Set(['fake is NaN (test)', 'other threw: test']));
  for (const f of failures) {
    assert.ok(f.keys.length <= 5 && f.keys.length === Math.min(5, f.count));
    for (const k of f.keys) assert.ok(bad(k), k);
  }
  assert.equal(rep.recordedIn, 'data/x.csv');
  // Every trained candidate lacking a proxy says why, in its stored info.
  for (const t of r.history) {
    const note = infos.get(t.key)?.['prescreen_failed'];
    if (bad(t.key)) assert.match(String(note), /^(fake: fake is NaN \(test\)|other: other threw: test)/, t.key);
    else assert.equal(note, undefined);
  }
});
