/**
 * README screenshots of a real study in the dashboard's views:
 *   node --import tsx scripts/dashboard-screenshots.ts --storage sqlite:/path/main.db --study fmnist-main [--out docs] [--prefix dashboard-main]
 * Serves the store read-only (a copy is safest while a search still writes it), opens the study in
 * headless Chromium (Debian's /usr/bin/chromium) and writes PREFIX.png (overview), PREFIX-trials.png
 * (trial table sorted by the objective) and PREFIX-trial.png (the best trial's page) into OUT.
 * Exits 1 on any page or console error, so a broken view never becomes a screenshot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboard } from '../src/server/index.js';
import { builtAssets } from '../src/server/testing/assets.js';
import { chromiumMissing, openBrowser, STUDY_VIEW_DRAWN } from '../src/server/testing/browser.js';

const argv = process.argv.slice(2);
const arg = (k: string, d?: string): string => {
  const i = argv.indexOf(k);
  const v = i >= 0 ? argv[i + 1] : d;
  if (v === undefined) throw new Error(`missing ${k}`);
  return v;
};
const storage = arg('--storage');
const studyName = arg('--study');
const out = arg('--out', 'docs');
const prefix = arg('--prefix', 'dashboard-main');

const missing = chromiumMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const tmp = mkdtempSync(join(tmpdir(), 'tsnas-shots-'));
const dash = await startDashboard({ storage, port: 0, assetsDir: await builtAssets(tmp) });
const br = await openBrowser(dash.url, { width: 1400, height: 1000 });
try {
  const { studies } = (await (await fetch(`${dash.url}api/studies`)).json()) as { studies: { id: number; name: string; best: { number: number } | null; objectives: { direction: string }[] }[] };
  const s = studies.find((x) => x.name === studyName);
  if (!s) throw new Error(`no study named ${studyName}: ${studies.map((x) => x.name).join(', ')}`);
  const { page } = br;
  await page.goto(`${dash.url}#/study/${s.id}`);
  // the charts that apply to this study (a single-objective study has no hypervolume line)
  for (const sel of STUDY_VIEW_DRAWN.slice(0, 5)) await page.waitForSelector(sel, { state: 'attached' });
  await page.waitForTimeout(500);
  await page.mouse.move(1, 1);
  await page.screenshot({ path: join(out, `${prefix}.png`), fullPage: true });
  await page.goto(`${dash.url}#/study/${s.id}/trials`);
  await page.waitForSelector('#trial-table tbody tr');
  await page.click('#trial-table th[data-key="value"]');
  await page.waitForSelector('#trial-table th.sorted[data-key="value"]');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, `${prefix}-trials.png`), fullPage: true });
  if (s.best) {
    await page.goto(`${dash.url}#/study/${s.id}/trial/${s.best.number}`);
    await page.waitForSelector('#learning-curve canvas, #learning-curve .empty');
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(out, `${prefix}-trial.png`), fullPage: true });
  }
  if (br.problems.length) {
    console.error(`page problems: ${br.problems.join('; ')}`);
    process.exitCode = 1;
  } else console.log(`wrote ${join(out, prefix)}{,-trials,-trial}.png (study ${studyName}, id ${s.id})`);
} finally {
  await br.close();
  await dash.close();
  rmSync(tmp, { recursive: true, force: true });
}
