/**
 * The dashboard's request handler: a read-only JSON API over a DashboardSource, a server-sent
 * events stream of study versions, and the built front end. GET and HEAD only.
 *
 *   GET /api/health
 *   GET /api/studies                              -> { studies: StudySummary[] }
 *   GET /api/studies/:id                          -> StudyDetail
 *   GET /api/studies/:id/trials?state=&sort=&order=&q=&limit=&offset=  -> TrialPage
 *   GET /api/studies/:id/trials/:number           -> TrialDetail (with intermediate values)
 *   GET /api/studies/:id/series                   -> StudySeries (every chart's data, over all trials)
 *   GET /api/studies/:id/head                     -> StudyHead (summary + first chart; from the view read column by column)
 *   GET /api/studies/:id/overview                 -> StudyOverview (detail + every chart's series, from the same read)
 *   GET /api/studies/:id/pareto?x=&y=             -> ParetoSeries
 *   GET /api/studies/:id/oneshot                  -> { oneshot: OneShotView | null }
 *   GET /api/compare?ids=1,2,3[&ref=A,B]          -> CompareResult (multi-objective: hypervolumes over one reference point)
 *   GET /api/events                               -> text/event-stream, event `versions`
 *   GET /, /index.html, /assets/*                 -> the built app (dist/dashboard)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import compression from 'compression';
import { NasError, isNasError } from '../core/errors.js';
import { didYouMeanValue } from '../core/suggest.js';
import { TRIAL_STATE_SYNONYMS } from '../core/synonyms.js';
import { parseStudyId, DASH_TRIAL_STATES } from '../api/dashboard.js';
import type { DashboardSource, DashTrialState, TrialQuery } from '../api/dashboard.js';
import { encodingFor, type StaticAssets } from './static.js';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // SVG labels and uPlot set style attributes; no inline scripts are ever allowed.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface HandlerOptions {
  readonly source: DashboardSource;
  readonly assets: StaticAssets;
  readonly events: EventHub;
  /** Accepted `Host` header names (no port); null accepts any (an explicit non-loopback --host). */
  readonly allowedHosts: readonly string[] | null;
  /**
   * When set, every request must carry it: `Authorization: Bearer TOKEN`, a `tsnas_token`
   * cookie, or `?token=TOKEN` (which also sets the cookie, so the page's own requests carry it).
   * Anything else gets 401.
   */
  readonly token?: string | null;
}

/**
 * Response compression: the `compression` middleware (expressjs; works on plain node:http
 * request/response pairs). It negotiates Accept-Encoding (brotli at quality 4, gzip, deflate),
 * sets Vary, skips bodies under 1 KB and HEAD, and runs zlib off the event loop. A 20,000-trial
 * study's series is ~1 MB of JSON and about a fifth of that compressed (`npm run bench --
 * dashboard` prints both). The live-update stream is left alone: compressed, its events would sit
 * in the compressor's buffer instead of reaching the page.
 */
const compress = compression({
  filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream') && compression.filter(req, res),
});

export function createHandler(o: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // The middleware's types name Express's request/response; it only uses node:http's.
    compress(req as Parameters<typeof compress>[0], res as Parameters<typeof compress>[1], () => {
      handle(o, req, res).catch((e: unknown) => sendError(res, e));
    });
  };
}

async function handle(o: HandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  started.set(res, performance.now());
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendJsonError(res, 405, 'invalid_config', `method ${req.method ?? '?'} not allowed: the dashboard only reads`);
  }
  if (o.allowedHosts && !hostAllowed(req.headers.host, o.allowedHosts)) {
    // A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) lands here.
    return sendJsonError(res, 403, 'invalid_config', `Host header "${req.headers.host ?? ''}" not accepted`);
  }
  const raw = req.url ?? '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  if (!path.startsWith('/')) return sendJsonError(res, 400, 'invalid_config', 'request target must be a path');
  if (o.token) {
    const given = presentedToken(req, params);
    if (given === null || !sameToken(given, o.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="tsnas dashboard"');
      return sendJsonError(res, 401, 'unauthorized', 'this dashboard needs its access token: open the URL it printed at start-up (…/?token=…)', 'token');
    }
    if (params.get('token') !== null) {
      // From a link with ?token=: keep it in a cookie for the page's own requests (same origin only).
      res.setHeader('Set-Cookie', `tsnas_token=${encodeURIComponent(o.token)}; Path=/; HttpOnly; SameSite=Strict`);
    }
  }

  if (path === '/api' || path.startsWith('/api/')) return api(o, path, params, req, res);

  const found = o.assets.lookup(path);
  switch (found.kind) {
    case 'bad_request':
      return sendText(res, 400, found.message);
    case 'not_found':
      return sendText(res, 404, 'not found');
    case 'file': {
      // Sent whole in one write, compressed at start-up when the client accepts it (the
      // middleware leaves a response with a Content-Encoding alone).
      const f = found.file;
      const enc = encodingFor(f, req.headers['accept-encoding']);
      const body = enc === 'br' ? f.br! : enc === 'gzip' ? f.gzip! : f.body;
      res.statusCode = 200;
      res.setHeader('Content-Type', f.contentType);
      if (f.br || f.gzip) res.setHeader('Vary', 'Accept-Encoding');
      if (enc !== 'identity') res.setHeader('Content-Encoding', enc);
      res.setHeader('Content-Length', body.length);
      res.setHeader('Cache-Control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      if (f.contentType.startsWith('text/html')) res.setHeader('Content-Security-Policy', CSP);
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
  }
}

async function api(o: HandlerOptions, path: string, params: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const seg = path.split('/').slice(2); // '', 'api', ...
  if (seg.some((s) => s === '')) return sendJsonError(res, 404, 'not_found', `no API route ${path}`);
  const [a, b, c, d, ...rest] = seg;
  // Each route's query parameters: another name is refused, not ignored (`?sortt=value` answered
  // the default order without a word), with the closest name and the route's names.
  const only = (...names: string[]): void => checkQueryParams(params, names, path);
  if (rest.length === 0) {
    if (a === 'health' && b === undefined) return only(), sendJson(res, { ok: true });
    if (a === 'events' && b === undefined) {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end();
        return;
      }
      return o.events.add(req, res);
    }
    if (a === 'compare' && b === undefined) {
      only('ids', 'ref');
      const ids = (params.get('ids') ?? '')
        .split(',')
        .filter((x) => x !== '')
        .map((x) => parseStudyId(x, 'ids'));
      if (ids.length === 0 || ids.length > 12) {
        throw new NasError('invalid_config', 'compare needs 1 to 12 study ids', { field: 'ids', hint: 'e.g. /api/compare?ids=1,2' });
      }
      // ref=A,B: the hypervolume's reference point for multi-objective studies (default: one shared by them).
      const refText = params.get('ref');
      const ref = refText === null || refText === '' ? undefined : refText.split(',').map((x) => {
        const n = x.trim() === '' ? NaN : Number(x);
        if (!Number.isFinite(n)) throw new NasError('invalid_config', `ref: ${JSON.stringify(x.slice(0, 40))} is not a number`, { field: 'ref', hint: 'one number per objective, e.g. ref=0,100' });
        return n;
      });
      return sendJson(res, await o.source.compare([...new Set(ids)], ref));
    }
    if (a === 'studies') {
      only(...(c === 'trials' && d === undefined ? TRIAL_QUERY_PARAMS : c === 'pareto' && d === undefined ? ['x', 'y'] : []));
      if (b === undefined) return sendJson(res, { studies: await o.source.studies() });
      const id = parseStudyId(b);
      if (c === undefined) return sendJson(res, await o.source.study(id));
      if (c === 'trials' && d === undefined) {
        // a page from the study's view reads the arch keys (for a search) once this answer is out
        const sent = new Promise<void>((resolve) => res.once('close', () => resolve()));
        return sendJson(res, await o.source.trials(id, trialQuery(params), { readAfter: sent }));
      }
      if (c === 'series' && d === undefined) return sendJson(res, await o.source.series(id));
      if (c === 'head' && d === undefined) {
        // The rest of the study's view is computed once this answer is out.
        const sent = new Promise<void>((resolve) => res.once('close', () => resolve()));
        return sendJson(res, await o.source.head(id, { readAfter: sent }));
      }
      if (c === 'overview' && d === undefined) {
        // The study's full read waits until this answer is out ('close': sent or abandoned).
        const sent = new Promise<void>((resolve) => res.once('close', () => resolve()));
        return sendJson(res, await o.source.overview(id, { readAfter: sent }));
      }
      if (c === 'oneshot' && d === undefined) return sendJson(res, { oneshot: await o.source.oneshot(id) });
      if (c === 'pareto' && d === undefined) {
        const x = params.get('x') ?? '';
        const y = params.get('y') ?? '';
        if (!x || !y || x.length > 200 || y.length > 200) {
          throw new NasError('invalid_config', 'pareto needs two metric names, x and y', { field: x ? 'y' : 'x', hint: 'e.g. ?x=latency_ms&y=val_acc' });
        }
        return sendJson(res, await o.source.pareto(id, x, y));
      }
      if (c === 'trials' && d !== undefined) {
        if (!/^(0|[1-9][0-9]{0,9})$/.test(d)) {
          throw new NasError('invalid_config', `"${d.slice(0, 40)}" is not a trial number`, { field: 'trialNumber', hint: 'trial numbers are 0, 1, 2, ...' });
        }
        return sendJson(res, await o.source.trial(id, Number(d)));
      }
    }
  }
  return sendJsonError(res, 404, 'not_found', `no API route ${path}`);
}

/** The query parameters of /api/studies/ID/trials (trialQuery). */
const TRIAL_QUERY_PARAMS = ['sort', 'order', 'state', 'q', 'limit', 'offset'];

/**
 * Refuses a query parameter that route `path` does not read (`token`, the access token, is read on
 * every route): invalid_config naming it, with the closest of `names` and all of them.
 */
export function checkQueryParams(params: URLSearchParams, names: readonly string[], path: string): void {
  for (const k of new Set(params.keys())) {
    if (k === 'token' || names.includes(k)) continue;
    const shown = JSON.stringify(k.slice(0, 40));
    throw new NasError('invalid_config', `unknown query parameter ${shown}${didYouMeanValue(k.slice(0, 40), names)}`, {
      field: k.slice(0, 40),
      hint: names.length ? `${path} reads ${names.join(', ')}` : `${path} takes no query parameters`,
    });
  }
}

function trialQuery(p: URLSearchParams): TrialQuery {
  const int = (name: string): number | undefined => {
    const v = p.get(name);
    if (v === null || v === '') return undefined;
    if (!/^[0-9]{1,9}$/.test(v)) throw new NasError('invalid_config', `${name} must be a non-negative integer`, { field: name, hint: `e.g. ${name}=50` });
    return Number(v);
  };
  const states = (p.get('state') ?? '').split(',').filter((x) => x !== '');
  for (const st of states) {
    if (!(DASH_TRIAL_STATES as readonly string[]).includes(st)) {
      throw new NasError('invalid_config', `unknown trial state "${st.slice(0, 40)}"${didYouMeanValue(st.slice(0, 40), DASH_TRIAL_STATES, TRIAL_STATE_SYNONYMS)}`, { field: 'state', hint: `use one of: ${DASH_TRIAL_STATES.join(', ')}` });
    }
  }
  const order = p.get('order');
  if (order !== null && order !== 'asc' && order !== 'desc') {
    throw new NasError('invalid_config', `unknown order "${order.slice(0, 40)}"${didYouMeanValue(order.slice(0, 40), ['asc', 'desc'])}`, { field: 'order', hint: 'use asc or desc' });
  }
  const q: { -readonly [K in keyof TrialQuery]: TrialQuery[K] } = {};
  if (states.length) q.states = states as DashTrialState[];
  const sort = p.get('sort');
  if (sort) q.sort = sort;
  if (order) q.order = order;
  const text = p.get('q');
  if (text) q.q = text;
  const limit = int('limit');
  if (limit !== undefined) q.limit = limit;
  const offset = int('offset');
  if (offset !== undefined) q.offset = offset;
  return q;
}

function presentedToken(req: IncomingMessage, params: URLSearchParams): string | null {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const q = params.get('token');
  if (q !== null) return q;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'tsnas_token') {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Constant-time comparison (no early exit on the first differing character). */
function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return allowed.includes(name.toLowerCase());
}

// When each request arrived, for the Server-Timing header of its JSON answer.
const started = new WeakMap<ServerResponse, number>();

// The text of bodies sent before: a cached study series (1-2 MB at 20,000 trials) is the same
// object until its study changes, so it is serialised once.
const jsonText = new WeakMap<object, string>();

/**
 * Sends `body` as JSON, with a `Server-Timing` header (the W3C metric names `app`: ms from the
 * request's arrival until its answer was built, and `json`: ms of those spent serialising), which
 * browsers show in their network panel and expose as PerformanceResourceTiming.serverTiming (the
 * dashboard bench splits the first chart's time with it).
 */
function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const t = performance.now();
  let text = typeof body === 'object' && body !== null ? jsonText.get(body) : undefined;
  if (text === undefined) {
    text = JSON.stringify(body);
    if (typeof body === 'object' && body !== null) jsonText.set(body, text);
  }
  const now = performance.now();
  const t0 = started.get(res);
  if (t0 !== undefined) res.setHeader('Server-Timing', `app;dur=${(now - t0).toFixed(1)}, json;dur=${(now - t).toFixed(1)}`);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string, field?: string, hint?: string): void {
  sendJson(res, { error: { code, message, field, hint } }, status);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

const STATUS: Partial<Record<string, number>> = {
  not_found: 404,
  invalid_config: 400,
  storage_error: 503,
};

function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (isNasError(e)) {
    const status = STATUS[e.code] ?? 500;
    sendJson(res, { error: { code: e.code, message: e.message, field: e.field, hint: e.hint } }, status);
    return;
  }
  sendJsonError(res, 500, 'internal', e instanceof Error ? e.message : String(e));
}

/**
 * Live updates. While at least one browser listens, the store is polled every `pollMs` for each
 * study's version (trial counts by state, last update, best value); every change is pushed to all
 * listeners as an SSE `versions` event. One poll serves every listener.
 */
/** Each open dashboard tab holds one stream; beyond this many, new ones are refused. */
const MAX_EVENT_CLIENTS = 64;

export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private polling = false;
  private ticks = 0;

  constructor(
    private readonly source: DashboardSource,
    private readonly pollMs: number,
  ) {}

  add(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= MAX_EVENT_CLIENTS) {
      sendJsonError(res, 503, 'internal', `too many live-update listeners (${MAX_EVENT_CLIENTS}); close some dashboard tabs`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    if (this.last) res.write(`event: versions\ndata: ${this.last}\n\n`);
    this.clients.add(res);
    req.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      void this.poll();
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const v = JSON.stringify(await this.source.versions());
      this.ticks++;
      if (v !== this.last) {
        this.last = v;
        for (const c of this.clients) c.write(`event: versions\ndata: ${v}\n\n`);
      } else if (this.ticks % 15 === 0) {
        for (const c of this.clients) c.write(`: keep-alive\n\n`);
      }
    } catch (e) {
      const msg = JSON.stringify({ message: e instanceof Error ? e.message : String(e) });
      for (const c of this.clients) c.write(`event: problem\ndata: ${msg}\n\n`);
    } finally {
      this.polling = false;
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
