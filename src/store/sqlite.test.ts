import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { NasError } from '../core/errors.js';
import { workerId } from '../core/ids.js';
import { rejectsWith, storeConformance, studySpec } from './conformance.js';
import { openStore, SqliteStore } from './index.js';
import { measureTrialOverhead } from './overhead.js';
import { fileModeRunner, underFileModes, type FileModeRunner } from './testing/file-modes.js';

const root = mkdtempSync(join(tmpdir(), 'tsnas-sqlite-test-'));
chmodSync(root, 0o755); // the read-only case may run a child as an unprivileged user (testing/file-modes.ts)
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A database path in a new directory (the store creates the file, never its directory). */
const newPath = (): string => {
  const d = join(root, `db${n++}`);
  mkdirSync(d);
  return join(d, 'study.db');
};

storeConformance({
  name: 'sqlite',
  newUrl: async () => `sqlite:${newPath()}`,
  rawExec: async (url, sql) => {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  },
  failTrialInsertsSql: `CREATE TRIGGER tsnas_test_fail BEFORE INSERT ON trials BEGIN SELECT RAISE(ABORT, 'tsnas test: insert refused'); END;`,
  failSchemaInsertsSql: {
    install: `CREATE TRIGGER tsnas_test_fail_v BEFORE INSERT ON schema_version BEGIN SELECT RAISE(ABORT, 'tsnas test: version refused'); END;`,
    remove: 'DROP TRIGGER tsnas_test_fail_v',
  },
});

const CHILD = new URL('./testing/store-child.ts', import.meta.url).pathname;
/** Runs store-child.ts; resolves with its last output line. `onReady` fires when it prints `ready`. */
function runChild(args: string[], runner: FileModeRunner = { kind: 'as_is' }, onReady?: () => void): Promise<string> {
  return new Promise((res, rej) => {
    const s = underFileModes(runner, process.execPath, ['--import', 'tsx', CHILD, ...args]);
    const c = spawn(s.command, s.args, { ...s.options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (onReady && /^ready$/m.test(out)) {
        onReady();
        onReady = undefined;
      }
    });
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', rej);
    c.on('exit', (code) => (code === 0 ? res(out.trim().split('\n').pop()!) : rej(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('SQLite specifics', () => {
  test('3 processes claiming from one file never share a trial; 3 concurrent first opens', async () => {
    const path = newPath();
    const s = await openStore(`sqlite:${path}`);
    const a = await s.createStudy(studySpec('mp'));
    for (let i = 0; i < 150; i++) await s.createTrial(a.id, { arch: i, archKey: null, budget: null, params: {} });
    // All three start claiming together, once each has opened the store.
    const go = join(root, `go-${n}`);
    let readyCount = 0;
    const ready = (): void => {
      if (++readyCount === 3) writeFileSync(go, '');
    };
    // Meanwhile 3 more processes open (create and migrate) one fresh file at the same moment.
    const fresh = newPath();
    const [outs, opens] = await Promise.all([
      Promise.all(['p1', 'p2', 'p3'].map((w) => runChild(['claim', `sqlite:${path}`, String(a.id), w, go], { kind: 'as_is' }, ready))),
      Promise.all([0, 1, 2].map(() => runChild(['open', `sqlite:${fresh}`]))),
    ]);
    for (const o of opens) assert.deepEqual(JSON.parse(o), { ok: true });
    const ids = outs.flatMap((o) => JSON.parse(o) as number[]);
    const per = outs.map((o) => (JSON.parse(o) as number[]).length);
    console.log(`# trials per process: ${per.join(', ')}`);
    assert.ok(per.every((k) => k > 0), `every process got trials: ${per.join(', ')}`);
    assert.equal(ids.length, 150);
    assert.equal(new Set(ids).size, 150, 'no trial claimed by two processes');
    const c = await s.countTrials(a.id);
    assert.equal(c.complete, 150);
    assert.equal((await s.listIntermediates(a.id)).length, 150);
    await s.close();
  });

  test('a file locked by another connection: clear storage_error after the busy timeout', async () => {
    const path = newPath();
    const s = await openStore(`sqlite:${path}`);
    const a = await s.createStudy(studySpec('locked'));
    await s.createTrial(a.id, { arch: 1, archKey: null, budget: null, params: {} });
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const t0 = Date.now();
      const e = await rejectsWith(openStore(`sqlite:${path}`, { busyTimeoutMs: 150 }), 'storage_error');
      assert.match(e.message, /is locked.*busy timeout \(150 ms\)/);
      assert.ok(Date.now() - t0 >= 100, 'waited for the lock first');
      // An already open store fails the same way (its timeout is 5 s: use a short one here).
      const s2 = await (async () => {
        holder.exec('COMMIT');
        const st = await openStore(`sqlite:${path}`, { busyTimeoutMs: 100 });
        holder.exec('BEGIN EXCLUSIVE');
        return st;
      })();
      await rejectsWith(s2.claimTrial(a.id, workerId('w'), 1000), 'storage_error');
      await s2.close();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    assert.ok(await s.claimTrial(a.id, workerId('w'), 1000), 'works again once the lock is gone');
    await s.close();
  });

  test('a read-only copy of a database: clear storage_error', async (t) => {
    const runner = fileModeRunner();
    if (runner.kind === 'unavailable') {
      t.skip(runner.reason);
      return;
    }
    const src = newPath();
    const s = await openStore(`sqlite:${src}`);
    await s.createStudy(studySpec('ro'));
    await s.close(); // checkpoints the WAL into the file
    // Two cases: only the file is read-only (the directory is writable), and both are.
    const dirs = [join(root, 'ro-file'), join(root, 'ro-both')];
    for (const dir of dirs) {
      mkdirSync(dir);
      chmodSync(dir, 0o777);
      copyFileSync(src, join(dir, 'copy.db'));
      chmodSync(join(dir, 'copy.db'), 0o444);
    }
    chmodSync(dirs[1]!, 0o555);
    try {
      await Promise.all(
        dirs.map(async (dir) => {
          const url = `sqlite:${join(dir, 'copy.db')}`;
          if (runner.kind !== 'as_is') {
            // root ignores permission bits: check in a child that does not (testing/file-modes.ts).
            const out = JSON.parse(await runChild(['open', url], runner)) as { code?: string; message?: string };
            assert.equal(out.code, 'storage_error', JSON.stringify(out));
            assert.match(out.message!, /is read-only/);
            // Reading (status, dashboard): the copy in a writable directory is read (SQLite's
            // read-only mode; it may leave -wal/-shm there, README); in a write-protected one it
            // cannot be, and the error says why instead of "open it readOnly".
            const read = JSON.parse(await runChild(['read', url], runner)) as { ok?: boolean; studies?: number; message?: string; hint?: string };
            if (dir === dirs[0]) assert.deepEqual(read, { ok: true, studies: 1 });
            else {
              assert.match(read.message ?? '', /needs to create \S+-shm beside a WAL database to read it/, JSON.stringify(read));
              assert.doesNotMatch(read.hint ?? '', /open it readOnly/);
            }
          } else {
            const e = await rejectsWith(openStore(url), 'storage_error');
            assert.match(e.message, /is read-only/);
          }
        }),
      );
    } finally {
      chmodSync(dirs[1]!, 0o755);
    }
  });

  test('read-only open (status, report, dashboard...): reads, then leaves no -wal/-shm and no changed byte', async () => {
    const path = newPath();
    const w = await openStore(`sqlite:${path}`);
    const a = await w.createStudy(studySpec('ro-files'));
    await w.createTrial(a.id, { arch: { k: 1 }, archKey: 'k1', budget: 1, params: {} });
    await w.close();
    const dir = join(path, '..');
    const before = readdirSync(dir).sort();
    const bytes = readFileSync(path);
    assert.deepEqual(before, ['study.db'], 'a writer that closed leaves only the file');
    const r = await openStore(`sqlite:${path}`, { readOnly: true });
    assert.equal((await r.listStudies())[0]!.counts.waiting, 1);
    await rejectsWith(r.createStudy(studySpec('ro-files-2')), 'storage_error');
    await r.close();
    assert.deepEqual(readdirSync(dir).sort(), before, 'no -wal/-shm left by the reader (session 9: tsnas report left both)');
    assert.ok(readFileSync(path).equals(bytes), 'the file is byte for byte as before');
    // A reader beside a writer: the writer's files stay while the writer is open, and go with it.
    const w2 = await openStore(`sqlite:${path}`);
    const r2 = await openStore(`sqlite:${path}`, { readOnly: true });
    assert.equal((await r2.listStudies()).length, 1);
    await r2.close();
    assert.ok(existsSync(`${path}-wal`), 'the open writer keeps its WAL');
    await w2.close();
    assert.deepEqual(readdirSync(dir).sort(), before);
  });

  test('a missing directory is refused and never created; a non-creating open makes no file', async () => {
    const dir = join(root, 'misspelt-dir', 'sub');
    for (const o of [{}, { readOnly: true }, { create: false }, { upgrade: true }]) {
      const e = await rejectsWith(openStore(`sqlite:${join(dir, 'x.db')}`, o), 'storage_error');
      assert.match(e.message, new RegExp(`directory ${dir} does not exist`));
      assert.match((e as NasError).hint ?? '', /mkdir -p/);
      assert.equal(existsSync(join(root, 'misspelt-dir')), false, `${JSON.stringify(o)}: created a directory`);
    }
    const parent = join(newPath(), '..');
    for (const o of [{ readOnly: true }, { create: false }]) {
      const e = await rejectsWith(openStore(`sqlite:${join(parent, 'typo.db')}`, o), 'not_found');
      assert.match(e.message, /there is no study database at .*typo\.db yet/);
      assert.deepEqual(readdirSync(parent), [], `${JSON.stringify(o)}: left a file`);
    }
    // An existing file with no tsnas schema (an empty file, another program's database) is
    // refused by a non-creating open before anything in it changes.
    const empty = join(parent, 'empty.db');
    writeFileSync(empty, '');
    const other = join(parent, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (x)');
    db.close();
    const otherBytes = readFileSync(other);
    for (const f of [empty, other]) {
      const e = await rejectsWith(openStore(`sqlite:${f}`, { create: false }), 'storage_error');
      assert.equal((e as NasError).details?.['reason'], 'not_tsnas');
    }
    assert.equal(readFileSync(empty).length, 0);
    assert.ok(readFileSync(other).equals(otherBytes));
    assert.deepEqual(readdirSync(parent).sort(), ['empty.db', 'other.db']);
  });

  test('discardIfCreated removes a database this open created while it holds no study, nothing else', async () => {
    const path = newPath();
    const dir = join(path, '..');
    const s = (await openStore(`sqlite:${path}`)) as SqliteStore;
    assert.equal(s.createdFile, true);
    assert.equal(await s.discardIfCreated(), true);
    assert.deepEqual(readdirSync(dir), []);
    // Holding a study: kept.
    const s2 = (await openStore(`sqlite:${path}`)) as SqliteStore;
    await s2.createStudy(studySpec('kept'));
    assert.equal(await s2.discardIfCreated(), false);
    assert.deepEqual(readdirSync(dir), ['study.db']);
    // Not created by this open: kept, even with no study.
    const p3 = newPath();
    await (await openStore(`sqlite:${p3}`)).close();
    const s3 = (await openStore(`sqlite:${p3}`)) as SqliteStore;
    assert.equal(s3.createdFile, false);
    assert.equal(await s3.discardIfCreated(), false);
    assert.ok(existsSync(p3));
    // Another connection still has it open: kept.
    const p4 = newPath();
    const s4 = (await openStore(`sqlite:${p4}`)) as SqliteStore;
    const other = await openStore(`sqlite:${p4}`);
    assert.equal(await s4.discardIfCreated(), false);
    await other.close();
    assert.ok(existsSync(p4));
  });

  test('a file that is not a database: clear storage_error', async () => {
    const path = newPath();
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'this is not sqlite, just some text that is long enough to have a header '.repeat(20));
    const e = await rejectsWith(openStore(path), 'storage_error');
    assert.match(e.message, /not a valid SQLite database/);
  });

  test('overhead per trial (create + claim + 3 intermediates + finish)', async () => {
    const s = await openStore(`sqlite:${newPath()}`);
    const r = await measureTrialOverhead(s, { trials: 200 });
    await s.close();
    console.log(`# sqlite: ${r.msPerTrial.toFixed(3)} ms per trial`);
    assert.equal(r.trials, 200);
    assert.ok(r.msPerTrial > 0 && r.msPerTrial < 50, `${r.msPerTrial} ms per trial`);
  });
});
