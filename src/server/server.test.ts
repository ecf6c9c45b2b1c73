/**
 * The dashboard's JSON API, static serving and live updates, against a real SQLite store filled by
 * real studies (testing/fixture.ts: NB201-table searches run by src/run + src/strategy, and small
 * MLPs really trained on the digits data). Static serving uses a throwaway assets folder with a
 * secret file beside it, to prove traversal attempts never reach outside the app.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { workerId } from '../core/ids.js';
import { openStore } from '../store/index.js';
import type { CompareResult, StudyDetail, StudyHead, StudyOverview, StudySummary, TrialDetail, TrialPage } from '../api/dashboard.js';
import { startDashboard, type Dashboard } from './index.js';
import { buildFixture, type Fixture } from './testing/fixture.js';

const EPOCHS = 6;
let dir: string;
let fx: Fixture;
let dash: Dashboard;
let assetsDir: string;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: `path` is sent exactly as given (no normalisation of `..` or escapes). */
function raw(path: string, opts: { method?: string; host?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: dash.port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? `127.0.0.1:${dash.port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function json<T>(path: string, status = 200): Promise<T> {
  const r = await raw(path);
  assert.equal(r.status, status, `${path}: ${r.body}`);
  assert.match(String(r.headers['content-type']), /application\/json/);
  return JSON.parse(r.body) as T;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsnas-dash-'));
  fx = await buildFixture(join(dir, 'studies.db'), { nb201Trials: 30, epochs: EPOCHS });
  assetsDir = join(dir, 'app');
  mkdirSync(join(assetsDir, 'assets'), { recursive: true });
  writeFileSync(join(assetsDir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(assetsDir, 'assets', 'app-123.js'), 'console.log(1)');
  writeFileSync(join(assetsDir, 'assets', 'big-456.js'), Array.from({ length: 300 }, (_, i) => `console.log(${i});`).join('\n'));
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE-THE-APP');
  dash = await startDashboard({ storage: fx.url, port: 0, assetsDir, pollMs: 50 });
});

after(async () => {
  await dash?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** GET (or HEAD) PATH from the dashboard with `Accept-Encoding: ENC` (none when null): headers and the body as sent, not decoded. */
function getEncoded(path: string, enc: string | null, method = 'GET'): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${dash.port}` };
    if (enc !== null) headers['accept-encoding'] = enc;
    const req = request({ host: '127.0.0.1', port: dash.port, path, method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('JSON API', () => {
  test('studies list: state, strategy, trial counts and best value of every study', async () => {
    const { studies } = await json<{ studies: StudySummary[] }>('/api/studies');
    assert.deepEqual(
      studies.map((s) => s.name),
      ['nb201-random', `nb201-${fx.secondStrategy.replace(/_/g, '-')}`, 'digits-mlp'],
    );
    const store = await openStore(fx.url, { readOnly: true });
    try {
      for (const s of studies) {
        const c = await store.countTrials(s.id as never);
        assert.equal(s.total, c.total);
        assert.equal(s.counts.complete, c.complete);
        assert.equal(s.counts.pruned, c.pruned);
        const best = await store.bestTrial(s.id as never);
        assert.equal(s.best?.number, best?.number);
        assert.equal(s.best?.value, best?.values?.[0]);
      }
    } finally {
      await store.close();
    }
    const nb = studies[0]!;
    assert.equal(nb.strategy, 'random');
    assert.equal(nb.total, 30);
    assert.equal(nb.status, 'finished');
    // NB201 CIFAR-10 validation accuracies are percentages below 100.
    assert.ok(nb.best !== null && nb.best.value > 80 && nb.best.value < 100);
    const digits = studies[2]!;
    assert.equal(digits.total, 8);
    assert.ok(digits.counts.pruned >= 1, 'the fixture prunes the MLPs below 80% at epoch 3');
  });

  test('study detail lists metric and parameter names', async () => {
    const d = await json<StudyDetail>(`/api/studies/${fx.ids.random}`);
    assert.equal(d.study.id, fx.ids.random);
    for (const m of ['val_acc', 'test_acc', 'params', 'latency_ms']) assert.ok(d.metricNames.includes(m), m);
    assert.deepEqual(d.paramNames, ['ops[0]', 'ops[1]', 'ops[2]', 'ops[3]', 'ops[4]', 'ops[5]']);
    assert.equal(typeof d.version, 'string');
  });

  test('trials: filter by state and text, sort, page', async () => {
    const all = await json<TrialPage>(`/api/studies/${fx.ids.digits}/trials`);
    assert.equal(all.total, 8);
    assert.deepEqual(
      all.trials.map((t) => t.number),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    const pruned = await json<TrialPage>(`/api/studies/${fx.ids.digits}/trials?state=pruned`);
    assert.ok(pruned.total >= 1 && pruned.trials.every((t) => t.state === 'pruned'));
    const both = await json<TrialPage>(`/api/studies/${fx.ids.digits}/trials?state=pruned,complete`);
    assert.equal(both.total, 8);

    const byValue = await json<TrialPage>(`/api/studies/${fx.ids.random}/trials?sort=value&order=desc`);
    const values = byValue.trials.map((t) => t.value!);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    const summary = await json<StudyDetail>(`/api/studies/${fx.ids.random}`);
    assert.equal(byValue.trials[0]!.value, summary.study.best!.value);

    const byMetric = await json<TrialPage>(`/api/studies/${fx.ids.random}/trials?sort=metric:params&order=asc`);
    const params = byMetric.trials.map((t) => t.metrics['params']!);
    assert.deepEqual(params, [...params].sort((a, b) => a - b));

    const conv = await json<TrialPage>(`/api/studies/${fx.ids.random}/trials?q=nor_conv_3x3`);
    assert.ok(conv.total > 0 && conv.total < 30);
    assert.ok(conv.trials.every((t) => Object.values(t.params).includes('nor_conv_3x3')));

    const page = await json<TrialPage>(`/api/studies/${fx.ids.random}/trials?limit=5&offset=10`);
    assert.equal(page.total, 30);
    assert.deepEqual(
      page.trials.map((t) => t.number),
      [10, 11, 12, 13, 14],
    );
  });

  test('trial detail carries the measured per-epoch learning curve and the architecture', async () => {
    const { trials } = await json<TrialPage>(`/api/studies/${fx.ids.digits}/trials?state=complete`);
    const t = await json<TrialDetail>(`/api/studies/${fx.ids.digits}/trials/${trials[0]!.number}`);
    assert.equal(t.intermediate.length, EPOCHS);
    assert.deepEqual(
      t.intermediate.map((p) => p.step),
      Array.from({ length: EPOCHS }, (_, i) => i + 1),
    );
    for (const p of t.intermediate) for (const k of ['train_loss', 'train_acc', 'val_loss', 'val_acc']) assert.equal(typeof p.metrics[k], 'number');
    assert.equal(t.value, t.intermediate[EPOCHS - 1]!.metrics['val_acc']);
    assert.equal((t.arch as { family: string }).family, 'mlp');
    const pruned = (await json<TrialPage>(`/api/studies/${fx.ids.digits}/trials?state=pruned`)).trials[0]!;
    const p = await json<TrialDetail>(`/api/studies/${fx.ids.digits}/trials/${pruned.number}`);
    assert.equal(p.intermediate.length, 3, 'pruned after epoch 3');

    const nb = await json<TrialDetail>(`/api/studies/${fx.ids.random}/trials/0`);
    assert.equal((nb.arch as { family: string }).family, 'nb201');
    assert.equal((nb.arch as { ops: string[] }).ops.length, 6);
  });

  test('head: the summary and first chart, the same as the overview\'s and the series\'', async () => {
    const path = `/api/studies/${fx.ids.random}`;
    const hd = await json<StudyHead>(`${path}/head`);
    const ov = await json<StudyOverview>(`${path}/overview`);
    assert.equal(hd.version, ov.detail.version);
    assert.deepEqual(hd.study, ov.detail.study);
    const { total, withValue, points, sampled, maxGeneration, best } = ov.series;
    assert.deepEqual(hd.chart, { total, withValue, points, sampled, maxGeneration, best });
    assert.ok(hd.chart.points.length > 0 && hd.chart.best.length > 0);
    await json(`/api/studies/99999/head`, 404);
    await json(`${path}/head/x`, 404);
  });

  test('compare: best-so-far curves of several studies', async () => {
    const r = await json<CompareResult>(`/api/compare?ids=${fx.ids.random},${fx.ids.second}`);
    assert.equal(r.studies.length, 2);
    for (const s of r.studies) {
      assert.equal(s.curve.length, s.study.counts.complete);
      for (let i = 1; i < s.curve.length; i++) assert.ok(s.curve[i]!.best >= s.curve[i - 1]!.best, 'best so far never drops (maximize)');
      assert.equal(s.curve[s.curve.length - 1]!.best, s.study.best!.value);
    }
  });

  test('bad ids and bad queries are 4xx with a coded error naming the field', async () => {
    const cases: [string, number, string][] = [
      ['/api/studies/abc', 400, 'studyId'],
      ['/api/studies/0', 400, 'studyId'],
      ['/api/studies/-1', 400, 'studyId'],
      ['/api/studies/1.5', 400, 'studyId'],
      ['/api/studies/99999', 404, 'studyId'],
      ['/api/studies/1%00', 400, 'studyId'],
      [`/api/studies/${fx.ids.random}/trials/-1`, 400, 'trialNumber'],
      [`/api/studies/${fx.ids.random}/trials/x`, 400, 'trialNumber'],
      [`/api/studies/${fx.ids.random}/trials/9999`, 404, 'trialNumber'],
      [`/api/studies/${fx.ids.random}/trials?state=bogus`, 400, 'state'],
      [`/api/studies/${fx.ids.random}/trials?sort=bogus`, 400, 'sort'],
      [`/api/studies/${fx.ids.random}/trials?order=up`, 400, 'order'],
      [`/api/studies/${fx.ids.random}/trials?limit=0`, 400, 'limit'],
      [`/api/studies/${fx.ids.random}/trials?limit=-5`, 400, 'limit'],
      [`/api/studies/${fx.ids.random}/trials?offset=abc`, 400, 'offset'],
      ['/api/compare', 400, 'ids'],
      ['/api/compare?ids=1,zz', 400, 'ids'],
      ['/api/compare?ids=1,424242', 404, 'studyId'],
    ];
    for (const [path, status, field] of cases) {
      const body = await json<{ error: { code: string; field?: string; message: string } }>(path, status);
      assert.equal(body.error.field, field, path);
      assert.ok(body.error.message.length > 0);
    }
    for (const path of ['/api/nope', '/api/studies/1/nope', '/api//studies', `/api/studies/${fx.ids.random}/trials/0/extra`]) {
      assert.equal((await raw(path)).status, 404, path);
    }
  });

  test('the app only reads: other methods are refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await raw('/api/studies', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers['allow'], 'GET, HEAD');
    }
  });

  test('answers are compressed as the client accepts (brotli, gzip), and decode to the same JSON', async () => {
    const get = getEncoded;
    const path = `/api/studies/${fx.ids.random}/series`;
    const plain = await get(path, null);
    assert.equal(plain.headers['content-encoding'], undefined, 'nothing asked, nothing compressed');
    const text = plain.body.toString('utf8');
    assert.ok(text.length > 1024, 'the series is above the 1 KB threshold');
    const br = await get(path, 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(String(br.headers['vary']), /Accept-Encoding/i);
    assert.equal(br.headers['content-length'], undefined, 'no stale length of the uncompressed body');
    assert.ok(br.body.length < text.length / 2, `compressed ${br.body.length} B of ${text.length}`);
    assert.deepEqual(JSON.parse(brotliDecompressSync(br.body).toString('utf8')), JSON.parse(text));
    const gz = await get(path, 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(gz.body).toString('utf8')), JSON.parse(text));
    // small answers and HEAD are sent as they are; errors still carry their JSON
    assert.equal((await get('/api/health', 'br')).headers['content-encoding'], undefined);
    const head = await get(path, 'br', 'HEAD');
    assert.equal(head.headers['content-encoding'], undefined);
    assert.equal(head.body.length, 0);
    const err = await get('/api/studies/99999', 'gzip');
    const errText = err.headers['content-encoding'] === 'gzip' ? gunzipSync(err.body).toString('utf8') : err.body.toString('utf8');
    assert.equal((JSON.parse(errText) as { error: { field: string } }).error.field, 'studyId');
    // the server's build time is in Server-Timing
    assert.match(String(plain.headers['server-timing']), /^app;dur=[\d.]+, json;dur=[\d.]+$/);
  });

  test('a foreign Host header is refused (DNS rebinding)', async () => {
    assert.equal((await raw('/api/studies', { host: 'evil.example:80' })).status, 403);
    assert.equal((await raw('/api/studies', { host: `localhost:${dash.port}` })).status, 200);
  });
});

describe('static assets', () => {
  test('serves the app with a content security policy', async () => {
    const r = await raw('/');
    assert.equal(r.status, 200);
    assert.match(r.body, /<title>app<\/title>/);
    assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
    const js = await raw('/assets/app-123.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.match(String(js.headers['cache-control']), /immutable/);
    assert.equal((await raw('/assets/missing.js')).status, 404);
  });

  test('text assets go compressed at start-up, as the client accepts (brotli, gzip, none), in one answer of their length', async () => {
    const get = getEncoded;
    const plain = await get('/assets/big-456.js', null);
    const text = plain.body.toString('utf8');
    assert.match(text, /^console\.log\(0\);\n/);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(Number(plain.headers['content-length']), plain.body.length);
    assert.match(String(plain.headers['vary']), /Accept-Encoding/i);
    const br = await get('/assets/big-456.js', 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(Number(br.headers['content-length']), br.body.length, 'the stored compressed length, not a stream');
    assert.ok(br.body.length < plain.body.length / 2);
    assert.equal(brotliDecompressSync(br.body).toString('utf8'), text);
    assert.match(String(br.headers['cache-control']), /immutable/);
    for (const enc of ['gzip', 'br;q=0, gzip', 'gzip;q=0.5, br;q=0']) {
      const gz = await get('/assets/big-456.js', enc);
      assert.equal(gz.headers['content-encoding'], 'gzip', enc);
      assert.equal(gunzipSync(gz.body).toString('utf8'), text, enc);
    }
    for (const enc of ['identity', 'br;q=0, gzip;q=0', '*;q=0', '']) {
      const id = await get('/assets/big-456.js', enc);
      assert.equal(id.headers['content-encoding'], undefined, enc);
      assert.equal(id.body.toString('utf8'), text, enc);
    }
    assert.equal((await get('/assets/big-456.js', '*')).headers['content-encoding'], 'br');
    const head = await get('/assets/big-456.js', 'br', 'HEAD');
    assert.equal(head.headers['content-encoding'], 'br');
    assert.equal(head.body.length, 0);
    // under 1 KB: as it is
    const small = await get('/assets/app-123.js', 'br');
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.body.toString('utf8'), 'console.log(1)');
  });

  test('path traversal, encoded or not, is 4xx and never serves a file outside the app', async () => {
    const attempts = [
      '/assets/../../package.json',
      '/assets/../../secret.txt',
      '/../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/%2E%2E/%2E%2E/package.json',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/..%2F..%2F..%2Fpackage.json',
      '/assets/%252e%252e/%252e%252e/secret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/assets/..\\..\\secret.txt',
      '/%2e%2e/secret.txt',
      '/secret.txt',
      '/assets/%00../secret.txt',
      '/index.html%00.js',
      '/assets/%c0%ae%c0%ae/secret.txt',
      '/assets/%e0%80%ae%e0%80%ae/secret.txt',
      '/assets/%',
      '//etc/passwd',
      '/./index.html',
      `/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      `/assets/${encodeURIComponent('/etc/passwd')}`,
    ];
    for (const p of attempts) {
      const r = await raw(p);
      assert.ok(r.status >= 400 && r.status < 500, `${p} -> ${r.status}`);
      assert.ok(!r.body.includes('TOP-SECRET'), p);
      assert.ok(!r.body.includes('"name": "tsnas"') && !r.body.includes('root:'), p);
    }
  });
});

describe('live updates', () => {
  test('server-sent events push a new version when a trial is added and when it finishes', async () => {
    const events: Record<string, string>[] = [];
    let buf = '';
    // A browser always accepts compression: the stream must still come as it is, event by event.
    const req = request({ host: '127.0.0.1', port: dash.port, path: '/api/events', headers: { host: `127.0.0.1:${dash.port}`, 'accept-encoding': 'gzip, deflate, br' } });
    const got = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const iv = setInterval(() => {
          if (events.length >= n) {
            clearInterval(iv);
            resolve();
          } else if (Date.now() - t0 > 10_000) {
            clearInterval(iv);
            reject(new Error(`waited for ${n} events, got ${events.length}`));
          }
        }, 20);
      });
    req.on('response', (res) => {
      assert.match(String(res.headers['content-type']), /text\/event-stream/);
      assert.equal(res.headers['content-encoding'], undefined, 'live updates are never compressed');
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block);
          if (/^event: versions$/m.test(block) && data) events.push(JSON.parse(data[1]!) as Record<string, string>);
        }
      });
    });
    req.end();
    try {
      await got(1);
      const key = String(fx.ids.digits);
      assert.ok(events[0]![key]);
      // Another process writes to the study, as a running search would.
      const store = await openStore(fx.url);
      try {
        const w = workerId('live-test');
        const t = await store.createTrial(fx.ids.digits as never, {
          arch: { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 },
          archKey: 'live-test',
          budget: null,
          params: {},
          claim: { workerId: w, leaseMs: 60_000 },
        });
        await got(2);
        assert.notEqual(events[1]![key], events[0]![key]);
        const running = await json<StudySummary>(`/api/studies/${fx.ids.digits}`).then((d) => (d as unknown as StudyDetail).study);
        assert.equal(running.status, 'running');
        assert.equal(running.counts.running, 1);
        await store.finishTrial(t.id, w, { state: 'failed', error: 'stopped by the live-update test' });
        await got(3);
        assert.notEqual(events[2]![key], events[1]![key]);
      } finally {
        await store.close();
      }
    } finally {
      req.destroy();
    }
  });
});

describe('startDashboard', () => {
  test('a missing database is a clear error and is not created (read-only)', async () => {
    const path = join(dir, 'nothing-here.db');
    await assert.rejects(
      startDashboard({ storage: `sqlite:${path}`, port: 0, assetsDir }),
      (e: unknown) => (isNasError(e, 'not_found') || isNasError(e, 'storage_error')) && e.message.includes(path),
    );
    assert.equal(existsSync(path), false);
  });

  test('missing assets name the build command', async () => {
    await assert.rejects(startDashboard({ storage: fx.url, port: 0, assetsDir: join(dir, 'no-app') }), (e: unknown) => isNasError(e, 'not_found') && /build:dashboard/.test(e.message));
  });

  test('bad port and a taken port are config errors naming the field', async () => {
    await assert.rejects(startDashboard({ storage: fx.url, port: 70000, assetsDir }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'port');
    await assert.rejects(startDashboard({ storage: fx.url, port: dash.port, assetsDir }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'port');
  });

  test('binds to 127.0.0.1 by default; another interface only with an access token (401 without it), and a warning', async () => {
    assert.equal(dash.host, '127.0.0.1');
    assert.equal(dash.token, null);
    const warnings: string[] = [];
    const d = await startDashboard({ storage: fx.url, host: '0.0.0.0', port: 0, assetsDir, warn: (m) => warnings.push(m) });
    try {
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /token/);
      assert.ok(d.token && d.token.length >= 24, 'a token is generated');
      assert.ok(d.url.endsWith(`/?token=${d.token}`), 'the printed URL carries it');
      // The printed address is one a browser can open (loopback), never the wildcard 0.0.0.0.
      assert.equal(d.url, `http://127.0.0.1:${d.port}/?token=${d.token}`);
      assert.ok(d.urls.every((u) => !u.includes('0.0.0.0')), d.urls.join(' '));
      assert.equal((await fetch(d.url.replace('/?', '/api/studies?'))).status, 200);
      const base = `http://127.0.0.1:${d.port}`;
      for (const path of ['/', '/api/studies', '/api/events', '/assets/app-123.js']) {
        const r = await fetch(base + path);
        assert.equal(r.status, 401, `${path} without a token`);
        await r.body?.cancel();
      }
      assert.equal((await fetch(`${base}/api/studies`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
      assert.equal((await fetch(`${base}/api/studies?token=${d.token}x`)).status, 401);
      assert.equal((await fetch(`${base}/api/studies`, { headers: { authorization: `Bearer ${d.token}` } })).status, 200);
      const first = await fetch(`${base}/?token=${d.token}`);
      assert.equal(first.status, 200);
      const cookie = first.headers.get('set-cookie') ?? '';
      assert.match(cookie, /tsnas_token=.*HttpOnly.*SameSite=Strict/);
      // the page's own requests carry the cookie
      assert.equal((await fetch(`${base}/api/studies`, { headers: { cookie: cookie.split(';')[0]! } })).status, 200);
    } finally {
      await d.close();
    }
    // a token given on loopback is enforced too; a malformed one is refused up front
    const d3 = await startDashboard({ storage: fx.url, port: 0, assetsDir, token: 'abcdefghijklmnop-0123' });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${d3.port}/api/studies`)).status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${d3.port}/api/studies?token=abcdefghijklmnop-0123`)).status, 200);
    } finally {
      await d3.close();
    }
    await assert.rejects(startDashboard({ storage: fx.url, port: 0, assetsDir, token: 'short' }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'token');
    const quiet: string[] = [];
    const d2 = await startDashboard({ storage: fx.url, port: 0, assetsDir, warn: (m) => quiet.push(m) });
    await d2.close();
    assert.deepEqual(quiet, []);
  });
});
