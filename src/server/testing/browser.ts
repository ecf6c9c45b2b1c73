/**
 * Test and benchmark helper (excluded from the build): headless Chromium (Debian's
 * /usr/bin/chromium driven by playwright-core) with the flags of the dashboard's e2e tests, a
 * collector of console errors and foreign requests, and the study-view timing used by the scale
 * test and `npm run bench -- dashboard`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `skipped: ${CHROMIUM} not found (Debian package chromium; scripts/setup installs it)`;
}

export interface Browser {
  readonly ctx: BrowserContext;
  readonly page: Page;
  /** Page errors and console errors seen so far. */
  readonly problems: string[];
  /** Requests to anything but `allowedPrefix` and data: URLs. */
  readonly foreign: string[];
  close(): Promise<void>;
}

/** Launches Chromium with a throwaway profile; `offline` cuts the network (file:// still loads). */
export async function openBrowser(allowedPrefix: string, opts: { offline?: boolean; width?: number; height?: number } = {}): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-chromium-'));
  mkdirSync(join(dir, 'profile'));
  const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: opts.width ?? 1400, height: opts.height ?? 1080 },
    deviceScaleFactor: 1,
    offline: opts.offline ?? false,
    args: CHROMIUM_ARGS,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(60_000);
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(allowedPrefix) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  return {
    ctx,
    page,
    problems,
    foreign,
    async close() {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The study view's charts that must be drawn before it counts as shown. */
export const STUDY_VIEW_DRAWN = [
  '#chart-trials svg :is(.pt, .pts)',
  '#chart-time canvas',
  '#chart-pareto svg :is(.pt, .pts)',
  '#importance .bar',
  '#chart-edf svg path',
  '#chart-hv svg :is(path, text)',
  '#chart-timeline svg path',
  '#chart-parallel svg :is(.pc-line, .pc-lines)',
  '#chart-slice svg :is(.pt, .pts)',
];

/** Points a scatter in `root` draws: one `.pt` each, or `.pts` paths that carry `data-count`. */
export async function countPoints(page: Page, root: string): Promise<number> {
  return page.evaluate((sel) => {
    let n = 0;
    for (const el of Array.from(document.querySelectorAll(`${sel} svg .pt, ${sel} svg .pts`))) n += el.classList.contains('pts') ? Number(el.getAttribute('data-count')) : 1;
    return n;
  }, root);
}

/**
 * Seconds from navigating to `#/study/ID` (from a blank page) until every STUDY_VIEW_DRAWN
 * selector (every chart of the overview) is present (`seconds`), until the first of them (the
 * trial chart) is (`firstSeconds`), plus how many points the trial chart drew. Each selector is
 * looked for in the page on every animation frame (waitForFunction, polling 'raf': the frame it
 * is found in is the one that paints it), not with Playwright's waitForSelector, whose retries
 * from the driver back off to one every 500 ms and so saw a chart up to half a second late.
 */
export async function timeStudyView(page: Page, baseUrl: string, studyId: number): Promise<{ seconds: number; firstSeconds: number; points: number }> {
  await page.goto('about:blank');
  const t0 = performance.now();
  await page.goto(`${baseUrl}#/study/${studyId}`);
  let firstSeconds = 0;
  for (const [i, sel] of STUDY_VIEW_DRAWN.entries()) {
    await page.waitForFunction((q) => document.querySelector(q) !== null, sel, { polling: 'raf', timeout: 60_000 });
    if (i === 0) firstSeconds = (performance.now() - t0) / 1000;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, firstSeconds, points: await countPoints(page, '#chart-trials') };
}

/**
 * The trial-table page requests timed by timeTrialPages, for a study of `total` trials: every sort
 * (number, state, value, duration, started, a metric, a parameter) in both directions at the first
 * page and the middle, state filters, then text and comparison filters (last: the first of them
 * reads every full row, after which all pages come from those rows).
 */
export function trialPageQueries(total: number): { sorts: string[]; filters: string[] } {
  const mid = Math.max(0, Math.floor(total / 2) - 25);
  const p = 'param:normal.edges[0].op';
  return {
    sorts: [
      'sort=number&order=asc&limit=50&offset=0',
      `sort=number&order=asc&limit=50&offset=${mid}`,
      `sort=number&order=desc&limit=50&offset=${mid}`,
      'sort=state&order=asc&limit=50&offset=0',
      `sort=state&order=desc&limit=50&offset=${mid}`,
      'sort=value&order=desc&limit=50&offset=0',
      `sort=value&order=asc&limit=50&offset=${mid}`,
      'sort=duration&order=desc&limit=50&offset=0',
      `sort=duration&order=asc&limit=50&offset=${mid}`,
      'sort=started&order=asc&limit=50&offset=0',
      `sort=started&order=desc&limit=50&offset=${mid}`,
      'sort=metric:latency_ms&order=asc&limit=50&offset=0',
      `sort=metric:latency_ms&order=desc&limit=50&offset=${mid}`,
      'sort=metric:val_acc&order=desc&limit=50&offset=0',
      'state=complete&sort=value&order=desc&limit=50&offset=50',
      'state=failed&limit=50',
      'state=complete,pruned&sort=metric:latency_ms&order=asc&limit=50',
      `sort=${p}&order=asc&limit=50&offset=0`,
      `sort=${p}&order=desc&limit=50&offset=${mid}`,
      'sort=param:lr&order=asc&limit=50',
    ],
    filters: ['q=sep_conv_5x5&sort=value&order=desc&limit=50', 'q=val_acc>=90&sort=metric:latency_ms&order=asc&limit=50'],
  };
}

/**
 * Times `/api/studies/ID/trials` page requests (trialPageQueries: the sorts twice, then the
 * filters twice): their median and max ms over all, and each query's ms per round.
 */
export async function timeTrialPages(
  baseUrl: string,
  studyId: number,
  total: number,
): Promise<{ medianMs: number; maxMs: number; samples: number; perQuery: { query: string; ms: number[] }[] }> {
  const { sorts, filters } = trialPageQueries(total);
  const perQuery = [...sorts, ...filters].map((query) => ({ query, ms: [] as number[] }));
  const ms: number[] = [];
  for (const group of [perQuery.slice(0, sorts.length), perQuery.slice(sorts.length)]) {
    for (let round = 0; round < 2; round++) {
      for (const q of group) {
        const t = performance.now();
        const r = await fetch(`${baseUrl}api/studies/${studyId}/trials?${q.query}`);
        if (!r.ok) throw new Error(`${q.query}: HTTP ${r.status}`);
        await r.json();
        const took = performance.now() - t;
        q.ms.push(took);
        ms.push(took);
      }
    }
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)]!, maxMs: sorted[sorted.length - 1]!, samples: ms.length, perQuery };
}

/**
 * Where the time to the first chart went on the page last opened by timeStudyView, in ms since
 * its navigation started (Navigation/Resource/User Timing, the server's Server-Timing header):
 * the app script running, the /head request (sent, first byte, last byte; the server's `app` time
 * to build it and `json` of that to serialise; bytes on the wire and decoded), its JSON parsed,
 * the first row built from it, then the same of the /overview request (the dashboard's
 * performance marks).
 */
export async function firstChartBreakdown(page: Page): Promise<string> {
  // A string, not a function: tsx would add `__name` helpers that do not exist in the page.
  const r = (await page.evaluate(`(() => {
    const mark = (n) => performance.getEntriesByName(n, 'mark')[0]?.startTime ?? null;
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').map((e) => ({
      name: new URL(e.name).pathname,
      start: e.startTime,
      first: e.responseStart,
      end: e.responseEnd,
      wire: e.encodedBodySize,
      body: e.decodedBodySize,
      server: Object.fromEntries(e.serverTiming.map((s) => [s.name, s.duration])),
    }));
    return { doc: nav?.responseEnd ?? null, app: mark('tsnas:app-start'), head: mark('tsnas:head-parsed'), parsed: mark('tsnas:overview-parsed'), built: mark('tsnas:first-row-built'), res };
  })()`)) as {
    doc: number | null;
    app: number | null;
    head: number | null;
    parsed: number | null;
    built: number | null;
    res: { name: string; start: number; first: number; end: number; wire: number; body: number; server: Record<string, number> }[];
  };
  const f = (x: number | null | undefined): string => (x === null || x === undefined ? '?' : x.toFixed(0));
  const parts = [`document ${f(r.doc)}`, `app script ${f(r.app)}`];
  const request = (route: string): void => {
    const e = r.res.find((x) => x.name.endsWith(route));
    if (e) {
      parts.push(
        `${route} sent ${f(e.start)} first byte ${f(e.first)} (server build ${f(e.server['app'])}, of it json ${f(e.server['json'])}) last byte ${f(e.end)} (${(e.wire / 1024).toFixed(0)} KB on the wire, ${(e.body / 1024).toFixed(0)} KB JSON)`,
      );
    }
  };
  request('/head');
  parts.push(`head parsed ${f(r.head)}`, `first row built ${f(r.built)}`);
  request('/overview');
  parts.push(`overview parsed ${f(r.parsed)}`);
  return parts.join('; ');
}
