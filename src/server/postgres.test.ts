/**
 * The dashboard over a PostgreSQL store: the same fixture studies (testing/fixture.ts) written to
 * a real server started from Debian's postgresql binaries (src/store/testing/pg-server.ts), read
 * through the dashboard's read-only API. Skipped, saying why, when no server can be started.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryStartPgServer } from '../store/testing/pg-server.js';
import type { CompareResult, StudySummary, TrialDetail, TrialPage } from '../api/dashboard.js';
import { startDashboard } from './index.js';
import { buildFixture } from './testing/fixture.js';

const started = await tryStartPgServer();
if ('reason' in started) {
  console.log(`# dashboard PostgreSQL test skipped: cannot start a PostgreSQL server: ${started.reason}`);
  test('dashboard over PostgreSQL', { skip: `cannot start a PostgreSQL server: ${started.reason}` }, () => {});
} else {
  const server = started.server;
  after(() => server.stop());
  test('dashboard over PostgreSQL: studies, trials, learning curves, comparison, bad id', async () => {
    const url = await server.createDatabase('dashboard');
    const fx = await buildFixture(url, { nb201Trials: 12, epochs: 3 });
    // The API is what this test is about; a one-file app stands in for the built front end.
    const app = mkdtempSync(join(tmpdir(), 'tsnas-dash-pg-'));
    writeFileSync(join(app, 'index.html'), '<!doctype html>');
    const dash = await startDashboard({ storage: url, port: 0, assetsDir: app });
    try {
      const get = async <T>(p: string): Promise<T> => {
        const r = await fetch(new URL(p, dash.url));
        assert.equal(r.status, 200, p);
        return (await r.json()) as T;
      };
      const { studies } = await get<{ studies: StudySummary[] }>('/api/studies');
      assert.deepEqual(
        studies.map((s) => [s.name, s.total]),
        [
          ['nb201-random', 12],
          [`nb201-${fx.secondStrategy.replace(/_/g, '-')}`, 12],
          ['digits-mlp', 8],
        ],
      );
      const page = await get<TrialPage>(`/api/studies/${fx.ids.digits}/trials?state=complete&sort=value&order=desc`);
      assert.ok(page.total >= 1);
      const t = await get<TrialDetail>(`/api/studies/${fx.ids.digits}/trials/${page.trials[0]!.number}`);
      assert.equal(t.intermediate.length, 3);
      const cmp = await get<CompareResult>(`/api/compare?ids=${fx.ids.random},${fx.ids.second}`);
      assert.equal(cmp.studies.length, 2);
      assert.equal((await fetch(new URL('/api/studies/424242', dash.url))).status, 404);
    } finally {
      await dash.close();
      rmSync(app, { recursive: true, force: true });
    }
  });
}
