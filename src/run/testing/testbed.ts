/**
 * A multi-host test bed on one machine (issue 18 item 1): Linux network namespaces joined by veth
 * pairs. Namespace `<p>-db` runs a PostgreSQL server; namespaces `<p>-h1`, `<p>-h2`, `<p>-h3` are
 * the "hosts", each linked to the db namespace by its own veth pair and subnet:
 *
 *     h1 10.77.1.2 ---- 10.77.1.1 \
 *     h2 10.77.2.2 ---- 10.77.2.1  >- db (postgres listens on all three, port 5432)
 *     h3 10.77.3.2 ---- 10.77.3.1 /
 *
 * No interface touches the root namespace, so traffic stays inside these namespaces (and their
 * loopback); the test process itself administers the server through its unix socket. A host's link
 * is cut by setting its db-side veth down (TCP stalls, as in a partition), and restored by setting
 * it up. PostgreSQL refuses to run as root: initdb and postgres run as `postgres` (runuser) on a
 * data directory that user owns, with a private socket directory. Logins over the veth links need
 * a password (scram-sha-256), so tests can check it never shows in logs.
 *
 *   const r = await tryStartTestbed();
 *   if ('reason' in r) skip(r.reason); else { const bed = r.bed; ...; await bed.stop(); }
 *
 * Standalone (scripts/cluster/testbed.sh): `node --import tsx src/run/testing/testbed.ts up` prints
 * the namespaces and URLs and keeps the bed until Ctrl-C; `... down` removes leftover namespaces.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export const HOSTS = [1, 2, 3] as const;
export type HostNo = (typeof HOSTS)[number];

export interface Testbed {
  readonly prefix: string;
  /** Namespace of host i. */
  ns(host: HostNo | 'db'): string;
  /** URL of database `db` as host i reaches it (over its veth link; password included). */
  url(host: HostNo, db: string): string;
  readonly password: string;
  /** URL of database `db` for this (root-namespace) process: the server's unix socket, trust login. */
  adminUrl(db: string): string;
  /** Creates an empty database (name [a-z0-9_]+). */
  createDatabase(name: string): Promise<void>;
  /** Runs `cmd args` inside host i's namespace. */
  spawn(host: HostNo, cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Cuts host i's link (its db-side veth down): packets are dropped, connections stall. */
  cut(host: HostNo): void;
  restore(host: HostNo): void;
  /** Fast shutdown of PostgreSQL, `downMs` of outage, then the same server starts again. */
  restartPostgres(downMs: number): Promise<void>;
  /** Stops PostgreSQL, deletes the namespaces and the data directory. Idempotent. */
  stop(): Promise<void>;
}

/** `cwd`: for a command run as another user, a directory that user can enter (see startTestbed). */
function run(cmd: string, args: readonly string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
}
const ipns = (ns: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, ...args]);

function pgBinDir(): string {
  const explicit = process.env.TSNAS_PG_BIN;
  if (explicit) return explicit;
  const root = '/usr/lib/postgresql';
  const r = spawnSync('ls', [root], { encoding: 'utf8' });
  const v = (r.stdout || '').split('\n').filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(b) - Number(a))[0];
  if (!v) throw new TestbedUnavailable(`no PostgreSQL server binaries in ${root} (install Debian's postgresql package)`);
  return join(root, v, 'bin');
}

export class TestbedUnavailable extends Error {
  override name = 'TestbedUnavailable';
}

/** Removes namespaces whose names start with `prefix` (leftovers of a killed run). */
export function removeNamespaces(prefix: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const names = (r.stdout || '').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix));
  for (const n of names) spawnSync('ip', ['netns', 'del', n]);
  return names;
}

export async function startTestbed(opts: { prefix?: string } = {}): Promise<Testbed> {
  if (process.getuid?.() !== 0) throw new TestbedUnavailable('network namespaces need root (ip netns)');
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new TestbedUnavailable(`ip netns is not usable: ${probe.error?.message ?? probe.stderr}`);
  const bin = pgBinDir();
  const prefix = opts.prefix ?? `tsnas${process.pid % 100000}`;
  const ns = (h: HostNo | 'db') => (h === 'db' ? `${prefix}-db` : `${prefix}-h${h}`);
  const made: string[] = [];
  const base = mkdtempSync(join(tmpdir(), 'tsnas-bed-'));
  let postmaster: ChildProcess | null = null;
  let stopped = false;
  const cleanup = () => {
    for (const n of made) spawnSync('ip', ['netns', 'del', n]);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    for (const n of [ns('db'), ...HOSTS.map(ns)]) {
      const r = spawnSync('ip', ['netns', 'add', n], { encoding: 'utf8' });
      if (r.status !== 0) throw new TestbedUnavailable(`cannot create network namespace ${n}: ${r.stderr.trim()}`);
      made.push(n);
      ipns(n, 'ip', 'link', 'set', 'lo', 'up');
    }
    for (const h of HOSTS) {
      // Interface names live inside their namespaces, so they need not be unique machine-wide,
      // but they are created in the root namespace first: the prefix keeps them apart there.
      const d = `${prefix.slice(-9)}d${h}`;
      const v = `${prefix.slice(-9)}h${h}`;
      run('ip', ['link', 'add', d, 'type', 'veth', 'peer', 'name', v]);
      run('ip', ['link', 'set', d, 'netns', ns('db')]);
      run('ip', ['link', 'set', v, 'netns', ns(h)]);
      ipns(ns('db'), 'ip', 'link', 'set', d, 'name', `vd${h}`);
      ipns(ns(h), 'ip', 'link', 'set', v, 'name', 'veth0');
      ipns(ns('db'), 'ip', 'addr', 'add', `10.77.${h}.1/24`, 'dev', `vd${h}`);
      ipns(ns(h), 'ip', 'addr', 'add', `10.77.${h}.2/24`, 'dev', 'veth0');
      ipns(ns('db'), 'ip', 'link', 'set', `vd${h}`, 'up');
      ipns(ns(h), 'ip', 'link', 'set', 'veth0', 'up');
    }

    // PostgreSQL, as the postgres user, on a directory it owns.
    const ids = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const uid = ids('-u');
    const gid = ids('-g');
    if (!Number.isInteger(uid) || uid <= 0) throw new TestbedUnavailable('there is no `postgres` user to run the server as');
    const dataDir = join(base, 'data');
    const sockDir = join(base, 'sock');
    mkdirSync(sockDir);
    const password = `pw${Math.random().toString(36).slice(2, 12)}`;
    const pwFile = join(base, 'pw');
    writeFileSync(pwFile, `${password}\n`);
    for (const p of [base, sockDir, pwFile]) chownSync(p, uid, gid);
    run('runuser', ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', dataDir, '-U', 'postgres', '--pwfile', pwFile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], base);
    rmSync(pwFile);
    appendFileSync(join(dataDir, 'pg_hba.conf'), '\nhost all all 10.77.0.0/16 scram-sha-256\n');
    const startPg = async (): Promise<void> => {
      postmaster = spawn('ip', [
        'netns', 'exec', ns('db'), 'runuser', '-u', 'postgres', '--', join(bin, 'postgres'), '-D', dataDir, '-p', '5432', '-k', sockDir,
        '-c', `listen_addresses=${HOSTS.map((h) => `10.77.${h}.1`).join(',')}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=32MB',
      ], { cwd: base, stdio: ['ignore', 'ignore', 'pipe'] }); // cwd: the project may be unreadable to postgres (a 0700 folder)
      let log = '';
      postmaster.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const c = new pg.Client({ host: sockDir, port: 5432, user: 'postgres', database: 'postgres' });
        try {
          await c.connect();
          await c.query('SELECT 1');
          await c.end();
          return;
        } catch {
          await c.end().catch(() => {});
        }
        if (Date.now() > deadline || postmaster.exitCode !== null) throw new TestbedUnavailable(`postgres did not start in ${ns('db')}: ${log.trim().slice(-600)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const pmPid = (): number | null => {
      try {
        const n = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return n > 0 ? n : null;
      } catch {
        return null;
      }
    };
    const stopPg = async (): Promise<void> => {
      const pid = pmPid();
      if (pid !== null) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          /* gone */
        }
      }
      for (let i = 0; i < 200 && pmPid() !== null; i++) await new Promise((r) => setTimeout(r, 50));
      if (pmPid() !== null) {
        try {
          process.kill(pmPid()!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      postmaster = null;
    };
    await startPg();
    const onExit = () => {
      const pid = pmPid();
      if (pid !== null) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      cleanup();
    };
    process.once('exit', onExit);
    // Killed by a signal (a test runner's timeout, Ctrl-C): no 'exit' event, so stop the server
    // and remove the namespaces here, then die of the same signal.
    const onSignal = (sig: NodeJS.Signals) => {
      onExit();
      process.kill(process.pid, sig);
    };
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, onSignal);

    const bed: Testbed = {
      prefix,
      password,
      ns,
      url: (h, db) => `postgres://postgres:${password}@10.77.${h}.1:5432/${db}`,
      adminUrl: (db) => `postgres://postgres@localhost:5432/${db}?host=${encodeURIComponent(sockDir)}`,
      async createDatabase(name) {
        if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
        const c = new pg.Client({ host: sockDir, port: 5432, user: 'postgres', database: 'postgres' });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${name}`);
        } finally {
          await c.end();
        }
      },
      spawn: (h, cmd, args, o = {}) => spawn('ip', ['netns', 'exec', ns(h), cmd, ...args], o),
      cut: (h) => ipns(ns('db'), 'ip', 'link', 'set', `vd${h}`, 'down'),
      restore: (h) => ipns(ns('db'), 'ip', 'link', 'set', `vd${h}`, 'up'),
      async restartPostgres(downMs) {
        await stopPg();
        await new Promise((r) => setTimeout(r, downMs));
        await startPg();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopPg();
        process.removeListener('exit', onExit);
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.removeListener(sig, onSignal);
        cleanup();
      },
    };
    return bed;
  } catch (e) {
    if (postmaster !== null) (postmaster as ChildProcess).kill('SIGKILL');
    cleanup();
    throw e;
  }
}

/** startTestbed, with "cannot be created here" turned into a reason to print. */
export async function tryStartTestbed(opts: { prefix?: string } = {}): Promise<{ bed: Testbed } | { reason: string }> {
  try {
    return { bed: await startTestbed(opts) };
  } catch (e) {
    if (e instanceof TestbedUnavailable) return { reason: e.message };
    throw e;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cmd = process.argv[2];
  if (cmd === 'down') {
    const gone = removeNamespaces(process.argv[3] ?? 'tsnas');
    console.log(gone.length ? `removed namespaces: ${gone.join(', ')}` : 'no tsnas namespaces left');
  } else if (cmd === 'up') {
    const bed = await startTestbed({ prefix: process.argv[3] ?? 'tsnasbed' });
    await bed.createDatabase('tsnas');
    console.log(`test bed up: PostgreSQL in namespace ${bed.ns('db')}; hosts ${HOSTS.map((h) => bed.ns(h)).join(', ')}`);
    for (const h of HOSTS) console.log(`  host ${h}: ip netns exec ${bed.ns(h)} node bin/tsnas.js worker --storage postgres://postgres:***@10.77.${h}.1:5432/tsnas --study NAME`);
    console.log(`  password: in TSNAS_BED_PASSWORD of this process's children; Ctrl-C tears it all down`);
    const stop = () => void bed.stop().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } else {
    console.error('usage: testbed.ts up [PREFIX] | down [PREFIX]');
    process.exit(2);
  }
}
