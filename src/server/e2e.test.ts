/**
 * End to end in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
 * the built front end served by startDashboard over a SQLite store of real studies
 * (testing/fixture.ts). Opens a study, sees its trial count and drawn charts, clicks a trial and
 * sees its learning curve, draws an NB201 cell, compares two studies, watches a live update, and
 * saves screenshots dashboard.png (study view) and dashboard-trial.png (trial view): into docs/ (the README's
 * pictures) when TSNAS_UPDATE_SCREENSHOTS=1, otherwise into a temporary folder, so a test run leaves the tree clean.
 * Skipped, saying why, only when /usr/bin/chromium is absent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { studyId, workerId } from '../core/ids.js';
import { Rng } from '../core/rng.js';
import { chainCnnSpace } from '../space/chain-cnn.js';
import { dartsSpace } from '../space/darts.js';
import { openStore } from '../store/index.js';
import { startDashboard, type Dashboard } from './index.js';
import { writeStudyReport } from '../report/index.js';
import { REPO_ROOT, buildFixture, type Fixture } from './testing/fixture.js';
import { ONESHOT_DERIVED, ONESHOT_OPS, createOneShotStudy } from './testing/oneshot-fixture.js';

const SHOTS = process.env['TSNAS_UPDATE_SCREENSHOTS'] === '1' ? join(REPO_ROOT, 'docs') : join(tmpdir(), 'tsnas-dashboard-shots');

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `skipped: ${CHROMIUM} not found (Debian package chromium; scripts/setup installs it)`;

let dir: string;
let fx: Fixture;
let dash: Dashboard;
let ctx: BrowserContext;
let page: Page;
const problems: string[] = [];
const foreign: string[] = [];

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newestMtime(join(p, e))));
}

/** dist/dashboard when it is newer than every source file; otherwise a fresh build in `dir`. */
async function assets(): Promise<string> {
  const dist = join(REPO_ROOT, 'dist', 'dashboard');
  const src = join(REPO_ROOT, 'dashboard');
  if (existsSync(join(dist, 'index.html')) && newestMtime(dist) >= newestMtime(src)) return dist;
  const out = join(dir, 'app');
  const { build } = await import('vite');
  await build({ configFile: join(src, 'vite.config.ts'), logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  return out;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'tsnas-e2e-'));
  fx = await buildFixture(join(dir, 'studies.db'), { nb201Trials: 40, epochs: 6 });
  dash = await startDashboard({ storage: fx.url, port: 0, assetsDir: await assets(), pollMs: 200 });
  const profile = join(dir, 'profile');
  mkdirSync(profile);
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1080 },
    deviceScaleFactor: 1,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  // generous: niced tests stall while a measurement runs on this shared 2-core machine
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(dash.url) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
});

after(async () => {
  if (skip) return;
  await ctx?.close();
  await dash?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Whether a uPlot canvas inside `selector` has drawn (non-transparent) pixels. */
async function canvasDrawn(selector: string): Promise<boolean> {
  return page.$eval(`${selector} canvas`, (c) => {
    const cv = c as HTMLCanvasElement;
    const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n > 500;
  });
}

test('studies list -> study view with trial count and drawn charts -> screenshot', { skip }, async () => {
  await page.goto(dash.url);
  await page.waitForSelector('#studies tbody tr');
  assert.equal(await page.locator('#studies tbody tr').count(), 3);
  const second = `nb201-${fx.secondStrategy.replace(/_/g, '-')}`;
  await page.click(`#studies a:text-is("${second}")`);
  await page.waitForSelector('#stat-trials');
  assert.equal((await page.textContent('#stat-trials .v'))?.trim(), '40 / 40');
  // every complete trial is a point of the fitness plot; the best-so-far line is drawn over them
  await page.waitForSelector('#chart-trials .pt');
  assert.equal(await page.locator('#chart-trials .pt').count(), 40);
  assert.equal(await page.locator('#chart-trials path:not(.pt)').count(), 1);
  await page.waitForSelector('#chart-time canvas');
  assert.ok(await canvasDrawn('#chart-time'), 'best-so-far vs time is drawn');
  assert.equal(await page.locator('#chart-pareto .pt').count(), 40);
  assert.ok((await page.locator('#importance .bar').count()) === 6, 'one bar per NB201 edge');
  if (fx.secondStrategy === 'evolution' || fx.secondStrategy === 'genetic') {
    // the fitness-evolution plot, coloured by generation (population-sized blocks of trials)
    await page.selectOption('#color-by', 'generation');
    await page.waitForSelector('#chart-trials .legend >> text=gen 0');
  }
  await page.mouse.move(1, 1);
  await page.waitForTimeout(300);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
  console.log(`# screenshot: ${join(SHOTS, 'dashboard.png')}`);
});

test('trial table -> click a trial -> its learning curve is drawn', { skip }, async () => {
  await page.goto(`${dash.url}#/study/${fx.ids.digits}/trials`);
  await page.waitForSelector('#trial-table tbody tr');
  assert.equal(await page.locator('#trial-table tbody tr').count(), 8);
  // sort by value, best first (second click on the header flips the order)
  await page.click('#trial-table th[data-key="value"]');
  await page.waitForSelector('#trial-table th.sorted[data-key="value"]');
  const first = await page.locator('#trial-table tbody tr').first().getAttribute('data-trial');
  const best = (await page.textContent('#stat-best .v'))?.trim();
  assert.equal((await page.locator('#trial-table tbody tr').first().locator('td').nth(2).textContent())?.trim(), best);
  await page.locator('#trial-table tbody tr').first().click();
  await page.waitForURL(new RegExp(`#/study/${fx.ids.digits}/trial/${first}$`));
  await page.waitForSelector('#learning-curve canvas');
  assert.ok(await canvasDrawn('#learning-curve'), 'learning curve is drawn');
  // metrics grouped by kind: accuracies first, losses one click away, each on its own axis
  const legend = await page.locator('#learning-curve .u-legend').textContent();
  for (const m of ['train_acc', 'val_acc']) assert.ok(legend?.includes(m), m);
  assert.ok(!legend?.includes('val_loss'), 'losses are not on the accuracy axis');
  await page.click('#curve-kinds button[data-kind="loss"]');
  await page.waitForFunction(() => document.querySelector('#learning-curve .u-legend')?.textContent?.includes('val_loss'));
  const lossLegend = await page.locator('#learning-curve .u-legend').textContent();
  for (const m of ['train_loss', 'val_loss']) assert.ok(lossLegend?.includes(m), m);
  assert.ok(await canvasDrawn('#learning-curve'), 'loss curves are drawn');
  await page.click('#curve-kinds button[data-kind="percent"]');
  assert.ok((await page.locator('#arch svg[data-family="mlp"] .layer').count()) >= 3, 'the MLP is drawn as a layer strip');
  await page.waitForTimeout(200);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'dashboard-trial.png') });
});

test('an NB201 trial is drawn as a DAG with six op-labelled edges', { skip }, async () => {
  await page.goto(`${dash.url}#/study/${fx.ids.random}/trial/0`);
  await page.waitForSelector('#arch svg[data-family="nb201"]');
  const ops = await page.locator('#arch svg g.edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-op')));
  assert.equal(ops.length, 6);
  const res = await (await fetch(`${dash.url}api/studies/${fx.ids.random}/trials/0`)).json();
  assert.deepEqual(ops, (res as { arch: { ops: string[] } }).arch.ops);
});

test('comparison view overlays best-so-far curves of two studies', { skip }, async () => {
  await page.goto(`${dash.url}#/compare?ids=${fx.ids.random},${fx.ids.second}`);
  await page.waitForSelector('#compare-table tbody tr');
  assert.equal(await page.locator('#compare-table tbody tr').count(), 2);
  assert.ok(await canvasDrawn('#compare-chart'));
  const legend = await page.locator('#compare-chart .u-legend').textContent();
  assert.ok(legend?.includes('nb201-random') && legend.includes(fx.secondStrategy.replace(/_/g, '-')));
});

test('the study view updates live while a search writes to the store', { skip }, async () => {
  await page.goto(`${dash.url}#/study/${fx.ids.digits}`);
  await page.waitForSelector('#stat-trials');
  assert.equal((await page.textContent('#stat-trials .v'))?.trim(), '8 / 8');
  const store = await openStore(fx.url);
  try {
    await store.createTrial(fx.ids.digits as never, {
      arch: { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 },
      archKey: 'e2e-live',
      budget: null,
      params: {},
      claim: { workerId: workerId('e2e'), leaseMs: 60_000 },
    });
  } finally {
    await store.close();
  }
  await page.waitForFunction(() => document.querySelector('#stat-trials .v')?.textContent?.trim() === '9 / 8', undefined, { timeout: 60_000 });
  assert.deepEqual(problems, [], 'no page errors');
  assert.deepEqual(foreign, [], 'the page requested nothing outside the dashboard');
});

test('DARTS cells and chain CNNs are drawn (archs sampled from the real spaces, not evaluated)', { skip }, async () => {
  // A study whose two trials are only proposed (waiting): no metrics exist, and none are shown.
  const rng = Rng.fromSeed(5);
  const darts = dartsSpace.sample(rng.derive('darts'));
  const chain = chainCnnSpace.sample(rng.derive('chain'));
  const store = await openStore(fx.url);
  let id: number;
  try {
    const rec = await store.createStudy({
      name: 'arch-drawing',
      strategy: { name: 'random', options: {} },
      space: { name: 'darts', definition: null },
      evaluator: { name: 'none', options: {} },
      objectives: [{ metric: 'val_acc', direction: 'maximize' }],
      constraints: [],
      seed: 5,
      maxTrials: null,
      config: {},
    });
    id = rec.id;
    for (const arch of [darts, chain]) await store.createTrial(rec.id, { arch: arch as never, archKey: null, budget: null, params: {} });
  } finally {
    await store.close();
  }
  await page.goto(`${dash.url}#/study/${id}/trial/0`);
  await page.waitForSelector('#arch svg[data-family="darts"]');
  assert.equal(await page.locator('#arch svg g.edge').count(), 16, '8 op-labelled edges in each of the normal and reduction cells');
  await page.goto(`${dash.url}#/study/${id}/trial/1`);
  await page.waitForSelector('#arch svg[data-family="chain_cnn"]');
  assert.equal(await page.locator('#arch svg .layer').count(), chain.layers.length + 2, 'input, one box per layer, head');
  assert.match((await page.textContent('#learning-curve')) ?? '', /no epoch reported yet/);
  // a study that does not exist: the API's message, not a broken page
  await page.goto(`${dash.url}#/study/424242`);
  await page.waitForSelector('.err');
  assert.match((await page.textContent('.err')) ?? '', /no study with id 424242/);
  assert.deepEqual(
    problems.filter((p) => !/status of 404/.test(p)),
    [],
    'no page errors',
  );
});

test('a one-shot study shows alpha of every edge over epochs as heat maps, beside the derived cell', { skip }, async () => {
  const store = await openStore(fx.url);
  let id: number;
  try {
    id = await createOneShotStudy(store, 8);
    // a recorded negligible-margin warning (src/oneshot/indecision.ts) is shown in the panel
    const t0 = (await store.getTrialByNumber(studyId(id), 0))!;
    await store.setTrialAttr(t0.id, 'indecision', { format: 'tsnas.indecision/1', message: '6 of 6 choices ... raise alpha_lr (strategy options; default 3e-4, e.g. 10x) or run more epochs' });
  } finally {
    await store.close();
  }
  await page.goto(`${dash.url}#/study/${id}`);
  await page.waitForSelector('#oneshot #alpha svg');
  assert.match((await page.textContent('#oneshot #indecision')) ?? '', /^warning: 6 of 6 choices .*raise alpha_lr/);
  assert.equal(await page.locator('#alpha .alpha-edge').count(), 6, 'one heat map per NB201 edge');
  assert.equal(await page.locator('#alpha .alpha-cell').count(), 6 * ONESHOT_OPS.length * 8, 'ops x epochs cells per edge');
  const ops = await page.locator('#derived svg g.edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-op')));
  assert.deepEqual(ops, ONESHOT_DERIVED, 'the derived cell drawn as a DAG');
  assert.match((await page.textContent('#oneshot')) ?? '', /guard: beta_decay/);
  mkdirSync(SHOTS, { recursive: true });
  await page.locator('#oneshot').screenshot({ path: join(SHOTS, 'dashboard-oneshot.png') });
  // the supernet's own curves: its trial page groups them by kind
  await page.click('#oneshot a:text("supernet search")');
  await page.waitForSelector('#learning-curve canvas');
  assert.ok(await canvasDrawn('#learning-curve'));
  assert.ok((await page.locator('#curve-kinds button').count()) >= 3, 'percent, loss, learning rate, time...');
  // the supernet trial is marked, and says it is no candidate (new user, session 10, finding 1)
  assert.equal(await page.locator('h1 .badge.supernet').count(), 1);
  assert.match((await page.textContent('body')) ?? '', /not a candidate \(the supernet's val_acc is in its metrics\)/);
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), [], 'no page errors');
});

test('repeated runs (NAME-seed<k>) are compared as mean ± std bands of the best so far', { skip }, async () => {
  const store = await openStore(fx.url);
  const ids: number[] = [];
  try {
    for (let seed = 0; seed < 3; seed++) {
      const rec = await store.createStudy({
        name: `rep-seed${seed}`,
        strategy: { name: 'random', options: {} },
        space: { name: 'nb201', definition: null },
        evaluator: { name: 'none', options: {} },
        objectives: [{ metric: 'val_acc', direction: 'maximize' }],
        constraints: [],
        seed,
        maxTrials: 6,
        config: {},
      });
      ids.push(rec.id);
      for (let i = 0; i < 6; i++) {
        const w = workerId('rep');
        const t = await store.createTrial(rec.id, { arch: { ops: [i, seed] }, archKey: null, budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
        const v = 80 + i + seed * 2 - (i % 2) * 3;
        await store.finishTrial(t.id, w, { state: 'complete', values: [v], metrics: { val_acc: v } });
      }
    }
  } finally {
    await store.close();
  }
  await page.goto(`${dash.url}#/compare?ids=${ids.join(',')}`);
  await page.waitForSelector('#compare-repeats svg path.band');
  assert.match((await page.textContent('#compare-repeats')) ?? '', /rep \(3 seeds\)/);
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), [], 'no page errors');
});

test('three-objective studies: the study view draws the hypervolume history with its stated point; the compare view shows each one\'s hypervolume over one shared point', { skip }, async () => {
  const store = await openStore(fx.url);
  const objectives = [
    { metric: 'val_acc', direction: 'maximize' as const },
    { metric: 'latency_ms', direction: 'minimize' as const },
    { metric: 'params', direction: 'minimize' as const },
  ];
  const ids: number[] = [];
  try {
    const rng = Rng.fromSeed(17);
    for (const name of ['mo3-a', 'mo3-b']) {
      const rec = await store.createStudy({ name, strategy: { name: 'nsga2', options: {} }, space: { name: 'custom', definition: null }, evaluator: { name: 'none', options: {} }, objectives, constraints: [], seed: 0, maxTrials: 12, config: {} });
      ids.push(rec.id);
      for (let i = 0; i < 12; i++) {
        const w = workerId('mo3');
        const t = await store.createTrial(rec.id, { arch: { i }, archKey: null, budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
        const m = { val_acc: 60 + 35 * rng.float(), latency_ms: 5 + 30 * rng.float(), params: 1e5 * (1 + 9 * rng.float()) };
        await store.finishTrial(t.id, w, { state: 'complete', values: [m.val_acc, m.latency_ms, m.params], metrics: m });
      }
    }
  } finally {
    await store.close();
  }
  // The studies list and the study header say it is multi-objective (as tsnas status does), not a lone best val_acc.
  await page.goto(`${dash.url}#/`);
  await page.waitForSelector(`#studies tr[data-study="${ids[0]}"]`);
  const row = (await page.textContent(`#studies tr[data-study="${ids[0]}"]`)) ?? '';
  assert.match(row, /3 objectives/);
  assert.match(row, /val_acc \(max\), latency_ms \(min\), params \(min\)/);
  // The static report's summary: the front's size and hypervolume with the stated point.
  const reportOut = join(mkdtempSync(join(tmpdir(), 'tsnas-mo-report-')), 'mo.html');
  await writeStudyReport({ storage: fx.url, study: 'mo3-a', out: reportOut });
  const summary = readFileSync(reportOut, 'utf8').match(/<section id="summary">.*?<\/section>/s)?.[0] ?? '';
  assert.match(summary, /pareto front<\/th><td>\d+ trial\(s\), non-dominated on 3 objectives; hypervolume [\d,.e+-]+ \(reference point val_acc=/);
  assert.match(summary, /best val_acc alone \(1 of 3 objectives\)/);
  await page.goto(`${dash.url}#/study/${ids[0]}`);
  await page.waitForSelector('#chart-hv svg path');
  assert.match((await page.textContent('#stat-best')) ?? '', /alone \(1 of 3 objectives\)/);
  const caption = (await page.textContent('#hv-caption')) ?? '';
  assert.match(caption, /on val_acc \(maximize\), latency_ms \(minimize\), params \(minimize\)/);
  assert.match(caption, /reference point val_acc=.*worst complete trial of this study: its own point/);
  await page.goto(`${dash.url}#/compare?ids=${ids.join(',')}`);
  await page.waitForSelector('#compare-hv-note');
  assert.match((await page.textContent('#compare-hv-note')) ?? '', /every one bounded by the same reference point val_acc=.*shared by the 2 studies/);
  const head = (await page.textContent('#compare-table thead')) ?? '';
  assert.match(head, /Pareto size.*Hypervolume/);
  const cells = await page.locator('#compare-table tbody tr td:last-child').allTextContents();
  assert.equal(cells.length, 2);
  for (const c of cells) assert.ok(Number(c.replace(/,/g, '')) > 0, `a hypervolume cell: ${c}`);
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), [], 'no page errors');
});
