/**
 * A throw-away PostgreSQL server for tests and benchmarks, from Debian's `postgresql` package:
 * initdb on a temp directory, `postgres` on 127.0.0.1 with a free port and a private unix socket
 * directory, trust authentication, fsync off. initdb and postgres refuse to run as root, so as
 * root both run as the `postgres` user (`runuser -u postgres --`) on a directory chowned to it.
 *
 *   const pg = await tryStartPgServer();
 *   if ('reason' in pg) { skip(pg.reason); } else {
 *     const url = await pg.server.createDatabase('t1');   // postgres://postgres@127.0.0.1:PORT/t1
 *     ...; await pg.server.stop();                         // stops it and deletes the directory
 *   }
 *
 * Standalone: `node --import tsx src/store/testing/pg-server.ts` starts one, prints a database
 * URL, and runs until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export interface PgServer {
  readonly port: number;
  /** Directory of the server's unix socket. */
  readonly socketDir: string;
  readonly dataDir: string;
  /** URL of the always-present `postgres` database (for admin statements). */
  readonly adminUrl: string;
  /** Creates an empty database (name: [a-z0-9_]+) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown, then removes the data directory. Idempotent. */
  stop(): Promise<void>;
}

export interface PgServerOptions {
  /** Directory holding initdb and postgres; default $TSNAS_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
  binDir?: string;
  /** How long to wait for the server to accept connections (default 30 s). */
  startTimeoutMs?: number;
}

/** Why no server could be started (binaries missing, initdb failed, ...). */
export class PgUnavailable extends Error {
  override name = 'PgUnavailable';
}

function findBinDir(opt?: string): string {
  const cands: string[] = [];
  // An explicit choice is used alone: falling back silently would test another server.
  const explicit = opt ?? process.env.TSNAS_PG_BIN;
  if (explicit) cands.push(explicit);
  const root = '/usr/lib/postgresql';
  if (!explicit && existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) cands.push(join(root, v, 'bin'));
  }
  for (const c of cands) if (existsSync(join(c, 'initdb')) && existsSync(join(c, 'postgres'))) return c;
  throw new PgUnavailable(
    `no PostgreSQL server binaries (initdb, postgres) found in ${cands.length ? cands.join(', ') : root} - install Debian's postgresql package (scripts/setup does) or set TSNAS_PG_BIN`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

function userIds(name: string): { uid: number; gid: number } | null {
  const u = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) return null;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

const live = new Set<{ kill(): void }>();
let exitHookInstalled = false;
/** Last resort when a test process exits without stop(): kill the servers, drop their files. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of live) s.kill();
  });
}

export async function startPgServer(opts: PgServerOptions = {}): Promise<PgServer> {
  const bin = findBinDir(opts.binDir);
  const isRoot = process.getuid?.() === 0;
  const owner = isRoot ? userIds('postgres') : null;
  if (isRoot && owner === null) throw new PgUnavailable('running as root but there is no `postgres` user to run the server as (install Debian\'s postgresql package)');
  const asOwner = (cmd: string, args: string[]): [string, string[]] => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

  const base = mkdtempSync(join(tmpdir(), 'tsnas-pg-'));
  const dataDir = join(base, 'data');
  const socketDir = join(base, 'sock');
  mkdirSync(socketDir);
  if (owner) for (const d of [base, socketDir]) chownSync(d, owner.uid, owner.gid);
  const cleanupDir = (): void => rmSync(base, { recursive: true, force: true });

  const [icmd, iargs] = asOwner(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // cwd: a directory the server's user can enter; the project may sit in a 0700 folder it cannot.
  const init = spawnSync(icmd, iargs, { cwd: base, encoding: 'utf8' });
  if (init.status !== 0) {
    cleanupDir();
    throw new PgUnavailable(`initdb failed (exit ${init.status}${init.error ? `, ${init.error.message}` : ''}): ${(init.stderr || init.stdout || '').trim().slice(-800)}`);
  }

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  let lastErr = '';
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const [pcmd, pargs] = asOwner(join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', socketDir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=200', '-c', 'shared_buffers=32MB', '-c', 'logging_collector=off',
    ]);
    const child: ChildProcess = spawn(pcmd, pargs, { cwd: base, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (b: Buffer) => {
      log = (log + b.toString()).slice(-4000);
    });
    let exited = false;
    const exitP = new Promise<void>((res) => child.once('exit', () => {
      exited = true;
      res();
    }));
    child.once('error', (e) => {
      log += `\nspawn error: ${e.message}`;
    });

    const postmasterPid = (): number | null => {
      try {
        const n = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return Number.isInteger(n) && n > 0 ? n : null;
      } catch {
        return null;
      }
    };
    const signal = (sig: NodeJS.Signals): void => {
      const pid = postmasterPid();
      try {
        if (pid !== null) process.kill(pid, sig);
        else child.kill(sig);
      } catch {
        /* already gone */
      }
    };
    const killer = {
      kill: (): void => {
        signal('SIGKILL');
        child.kill('SIGKILL');
        cleanupDir();
      },
    };
    live.add(killer);
    installExitHook();

    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.query('SELECT 1');
        ready = true;
      } catch {
        /* not up yet */
      } finally {
        await c.end().catch(() => {});
      }
      if (ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      lastErr = exited ? `postgres exited: ${log.trim().slice(-800)}` : `postgres did not accept connections within the start timeout: ${log.trim().slice(-800)}`;
      signal('SIGKILL');
      child.kill('SIGKILL');
      await Promise.race([exitP, new Promise((r) => setTimeout(r, 2000))]);
      live.delete(killer);
      // A port taken between freePort() and bind: try another one.
      if (exited && /could not bind|Address already in use/i.test(log) && Date.now() < deadline) continue;
      cleanupDir();
      throw new PgUnavailable(lastErr);
    }

    let stopped = false;
    const server: PgServer = {
      port,
      socketDir,
      dataDir,
      adminUrl,
      async createDatabase(name: string): Promise<string> {
        if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`createDatabase: bad name ${JSON.stringify(name)} (use [a-z0-9_]+)`);
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        try {
          // FILE_COPY (PostgreSQL 15+) copies the tiny template's files instead of WAL-logging
          // every page: several times faster, and durability is moot with fsync off.
          const v = Number(((await c.query('SHOW server_version_num')).rows[0] as { server_version_num: string }).server_version_num);
          await c.query(`CREATE DATABASE ${name}${v >= 150000 ? ' STRATEGY = FILE_COPY' : ''}`);
        } finally {
          await c.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        signal('SIGINT'); // fast shutdown: disconnects clients, no checkpoint wait on fsync=off
        const t = setTimeout(() => signal('SIGKILL'), 10_000);
        await exitP;
        // runuser may exit before the postmaster it started; wait for the pid file to go.
        for (let i = 0; i < 100 && postmasterPid() !== null; i++) {
          const pid = postmasterPid()!;
          try {
            process.kill(pid, 0);
          } catch {
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        clearTimeout(t);
        live.delete(killer);
        cleanupDir();
      },
    };
    return server;
  }
  cleanupDir();
  throw new PgUnavailable(lastErr || 'postgres could not start');
}

/** startPgServer, with "cannot start" turned into a reason to print (any other error still throws). */
export async function tryStartPgServer(opts: PgServerOptions = {}): Promise<{ server: PgServer } | { reason: string }> {
  try {
    return { server: await startPgServer(opts) };
  } catch (e) {
    if (e instanceof PgUnavailable) return { reason: e.message };
    throw e;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startPgServer();
  const url = await server.createDatabase('tsnas');
  console.log(`PostgreSQL running: ${url}  (socket dir ${server.socketDir}); Ctrl-C stops it and deletes its data`);
  const stop = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
