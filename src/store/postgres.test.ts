import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { rejectsWith, storeConformance } from './conformance.js';
import { openStore } from './index.js';
import { measureTrialOverhead } from './overhead.js';
import { tryStartPgServer } from './testing/pg-server.js';

const started = await tryStartPgServer();
if ('reason' in started) {
  console.log(`# PostgreSQL store tests skipped: cannot start a PostgreSQL server: ${started.reason}`);
  test('PostgreSQL store conformance', { skip: `cannot start a PostgreSQL server: ${started.reason}` }, () => {});
} else {
  const server = started.server;
  after(() => server.stop());
  let n = 0;
  storeConformance({
    name: 'postgres',
    newUrl: () => server.createDatabase(`t${n++}`),
    rawExec: async (url, sql) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
    failTrialInsertsSql: `
      CREATE FUNCTION tsnas_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'tsnas test: insert refused'; END $$;
      CREATE TRIGGER tsnas_test_fail BEFORE INSERT ON trials FOR EACH ROW EXECUTE FUNCTION tsnas_test_fail();`,
    failSchemaInsertsSql: {
      install: `
        CREATE FUNCTION tsnas_test_fail_v() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'tsnas test: version refused'; END $$;
        CREATE TRIGGER tsnas_test_fail_v BEFORE INSERT ON schema_version FOR EACH ROW EXECUTE FUNCTION tsnas_test_fail_v();`,
      remove: 'DROP TRIGGER tsnas_test_fail_v ON schema_version; DROP FUNCTION tsnas_test_fail_v()',
    },
  });

  describe('PostgreSQL specifics', () => {
    test('connection failures are a clear storage_error naming the URL (password masked)', async () => {
      const e = await rejectsWith(openStore(`postgres://u:secret@127.0.0.1:1/db`), 'storage_error');
      assert.match(e.message, /cannot connect to PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
      assert.doesNotMatch(e.message, /secret/);
      const e2 = await rejectsWith(openStore(`postgres://postgres@127.0.0.1:${server.port}/no_such_db`), 'storage_error');
      assert.match(e2.message, /does not exist/);
    });

    test('the harness stops its server and removes its files', async () => {
      const r = await tryStartPgServer();
      assert.ok('server' in r, 'reason' in r ? r.reason : '');
      const url = await r.server.createDatabase('gone');
      const s = await openStore(url);
      await s.close();
      await r.server.stop();
      assert.equal(existsSync(r.server.dataDir), false);
      assert.equal(existsSync(r.server.socketDir), false);
      await rejectsWith(openStore(url), 'storage_error');
      await r.server.stop(); // idempotent
    });

    test('the harness says why when it cannot start a server', async () => {
      const r = await tryStartPgServer({ binDir: '/nonexistent/pg/bin' });
      assert.ok('reason' in r);
      assert.match(r.reason, /no PostgreSQL server binaries .* in \/nonexistent\/pg\/bin/);
    });

    test('connecting through the unix socket works too', async () => {
      const url = await server.createDatabase(`sock${n++}`);
      const db = new URL(url).pathname.slice(1);
      const s = await openStore(`postgres://postgres@localhost/${db}?host=${encodeURIComponent(server.socketDir)}&port=${server.port}`);
      assert.deepEqual(await s.listStudies(), []);
      await s.close();
    });

    test('a worker\'s sync of what changed reads by index, also after a full sync (no generic plan scanning the study)', async () => {
      // A named statement's plan switches to a generic one after five runs when the first runs
      // were costly (a worker joining a large study syncs all of it first); the generic plan of
      // `number >= $2` scanned and sorted every trial at each sync (issue 18, 50,000 trials).
      const url = await server.createDatabase(`plan${n++}`);
      const s = await openStore(url);
      const st = await s.createStudy({
        name: 'plan', strategy: { name: 'random', options: {} }, space: { name: 'x', definition: null }, evaluator: { name: 'e', options: {} },
        objectives: [{ metric: 'v', direction: 'maximize' }], constraints: [], seed: 0, maxTrials: null, config: {},
      });
      const N = 6000;
      await s.importTrials(st.id, Array.from({ length: N }, (_, i) => ({ arch: { i, pad: 'x'.repeat(200) }, archKey: `k${i}`, budget: null, params: {}, outcome: { state: 'complete' as const, values: [i] } })));
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      const scans = async (): Promise<number> => {
        await raw.query('SELECT pg_stat_clear_snapshot()');
        return Number((await raw.query(`SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'trials'`)).rows[0].seq_scan);
      };
      try {
        await s.close(); // its connections end and report their table statistics
        // One count per scan (a parallel scan counts once per process).
        await raw.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET max_parallel_workers_per_gather = 0`);
        const before = await scans();
        const s2 = await openStore(url);
        try {
          // Four full syncs (workers joining the study), then small ones, on each query form.
          for (let i = 0; i < 4; i++) {
            assert.equal((await s2.listTrialsSince(st.id, 0)).length, N);
            assert.equal((await s2.listTrialsSince(st.id, 1, [0])).length, N);
          }
          for (let i = 0; i < 12; i++) {
            assert.equal((await s2.listTrialsSince(st.id, N - 1)).length, 1);
            assert.equal((await s2.listTrialsSince(st.id, N - 2, [3, 7])).length, 4);
          }
        } finally {
          await s2.close();
        }
        // The full syncs may scan the table (8); the 24 small ones must not (a generic plan: 12 or more).
        for (let wait = 0; wait < 50 && (await scans()) === before; wait++) await new Promise((r) => setTimeout(r, 100));
        const after = await scans();
        assert.ok(after - before <= 8 + 2, `${after - before} sequential scans of trials for 8 full and 24 small syncs`);
      } finally {
        await raw.end();
      }
    });

    test('overhead per trial (create + claim + 3 intermediates + finish)', async () => {
      const s = await openStore(await server.createDatabase(`ovh${n++}`));
      const r = await measureTrialOverhead(s, { trials: 100 });
      await s.close();
      console.log(`# postgres: ${r.msPerTrial.toFixed(3)} ms per trial`);
      assert.equal(r.trials, 100);
      assert.ok(r.msPerTrial > 0 && r.msPerTrial < 200, `${r.msPerTrial} ms per trial`);
    });
  });
}
