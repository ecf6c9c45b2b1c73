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

    test('a worker\'s sync of what changed reads by index, also after the study grew without new statistics (no generic plan)', async () => {
      // A named statement switches to a generic plan after five runs when that costs no more than
      // its custom plans: on a small study, a sequential scan. Until the table's statistics change,
      // that plan stays: a study grown since (by importTrials, or faster than autovacuum's
      // analyses) scanned and sorted every trial at each sync (issue 18, 50,000 trials: 197 ms per
      // trial of the study loop). Here autovacuum is off and rows come by plain SQL.
      const url = await server.createDatabase(`plan${n++}`);
      const db = new URL(url).pathname.slice(1);
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      try {
        // One count per scan (a parallel scan counts once per process).
        await raw.query(`ALTER DATABASE ${db} SET max_parallel_workers_per_gather = 0`);
        const s = await openStore(url);
        const st = await s.createStudy({
          name: 'plan', strategy: { name: 'random', options: {} }, space: { name: 'x', definition: null }, evaluator: { name: 'e', options: {} },
          objectives: [{ metric: 'v', direction: 'maximize' }], constraints: [], seed: 0, maxTrials: null, config: {},
        });
        for (let i = 0; i < 3; i++) await s.createTrial(st.id, { arch: { i }, archKey: `k${i}`, budget: null, params: {} });
        await raw.query('ALTER TABLE trials SET (autovacuum_enabled = false)');
        await raw.query('ANALYZE trials');
        let small = 0;
        const N = 20_000;
        try {
          for (let i = 0; i < 8; i++) {
            assert.equal((await s.listTrialsSince(st.id, 2)).length, 1);
            small++;
          }
          await raw.query(
            `INSERT INTO trials (study_id, number, state, arch, arch_key, params, attempt, created_at, user_attrs)
             SELECT $1, g, 'complete', '{"pad":"' || repeat('x', 200) || '"}', 'k' || g, '{}', 1, 0, '{}' FROM generate_series(3, $2::int + 2) AS g`,
            [st.id, N],
          );
          await raw.query('UPDATE studies SET next_number = $2 WHERE id = $1', [st.id, N + 3]);
          for (let i = 0; i < 20; i++) assert.equal((await s.listTrialsSince(st.id, N + 2)).length, 1);
        } finally {
          await s.close(); // its connections end and report their table statistics
        }
        await raw.query('SELECT pg_stat_clear_snapshot()');
        let scans = 0;
        for (let wait = 0; wait < 50; wait++) {
          await raw.query('SELECT pg_stat_clear_snapshot()');
          scans = Number((await raw.query(`SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'trials'`)).rows[0].seq_scan);
          if (scans >= small) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        // The syncs of the 3-trial study may scan it (8), the store's other statements here a few
        // times (5 when written); the 20 syncs of the grown study must not (the generic plan: 20). (The form with listed numbers, `number = ANY(...)`,
        // is planned with its values too, but under statistics this stale its estimate can still
        // choose a scan: autovacuum's analyses, and importTrials' ANALYZE, keep them current.)
        assert.ok(scans <= small + 10, `${scans} sequential scans of trials for ${small} syncs of 3 trials and 20 of ${N + 3}`);
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
