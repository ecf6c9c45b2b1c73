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
