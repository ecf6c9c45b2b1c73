/**
 * `tsnas dashboard`: a read-only web app over a study store.
 *
 * For the CLI (src/cli): call
 *   const d = await startDashboard({ storage: 'sqlite:./tsnas.db', host, port });
 *   console.log(`dashboard at ${d.url}`); ... await d.close();
 * `host` defaults to 127.0.0.1; `port` defaults to 8765 (0 = any free port). Any other host is
 * allowed only when passed explicitly; it then requires an access token (generated, or `token`, or
 * TSNAS_DASHBOARD_TOKEN), carried in the printed URL (`?token=`), and writes a warning through
 * `warn` (stderr by default). The store is opened read-only (nothing is
 * migrated or written). Assets come from dist/dashboard (built by `npm run build:dashboard`);
 * a missing build is a NasError `not_found` naming that command.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { NasError } from '../core/errors.js';
import { openDashboardSource } from '../api/dashboard.js';
import type { DashboardSource } from '../api/dashboard.js';
import { StaticAssets } from './static.js';
import { EventHub, createHandler } from './http.js';

export interface DashboardOptions {
  /** Store URL: `sqlite:./tsnas.db`, `postgres://user@host/db`. */
  readonly storage: string;
  readonly host?: string;
  readonly port?: number;
  /** Folder of the built front end; default `<package root>/dist/dashboard`. */
  readonly assetsDir?: string;
  /** How often live updates poll the store (ms, default 1000). */
  readonly pollMs?: number;
  /** Where the non-loopback warning goes (default: stderr). */
  readonly warn?: (message: string) => void;
  /**
   * Access token. Required (generated when not given, or taken from TSNAS_DASHBOARD_TOKEN) when
   * `host` is not a loopback address; optional on loopback. `null` on loopback = no token.
   */
  readonly token?: string | null;
  /**
   * Read the most recently updated studies and compute their charts in the background right
   * after start-up, so their first view does not wait for the store (default true).
   */
  readonly warm?: boolean;
}

export interface Dashboard {
  /** Where to open it; carries `?token=` when a token is required. Never a wildcard address (0.0.0.0, ::). */
  readonly url: string;
  /**
   * Every address it can be opened at: for a wildcard listen address (0.0.0.0, ::) the loopback
   * one first, then each of this machine's network addresses (os.networkInterfaces); else the one.
   */
  readonly urls: readonly string[];
  /** The access token in force, or null when none is needed (loopback without one). */
  readonly token: string | null;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8765;

/**
 * The URLs a server listening on `address` (as server.address() reports it) can be opened at. A
 * wildcard address accepts connections on every interface but cannot itself be browsed to
 * (http://0.0.0.0:PORT fails in most browsers and on other machines): it is replaced by the
 * loopback address, then this machine's other addresses (IPv4 only for 0.0.0.0; both for ::).
 */
export function reachableUrls(
  address: string,
  family: string,
  port: number,
  query = '',
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  const fmt = (a: string, v6: boolean) => `http://${v6 ? `[${a}]` : a}:${port}/${query}`;
  const v4wild = address === '0.0.0.0';
  const v6wild = address === '::' || address === '::0';
  if (!v4wild && !v6wild) return [fmt(address, family === 'IPv6' || address.includes(':'))];
  const out = [fmt('127.0.0.1', false)];
  if (v6wild) out.push(fmt('::1', true));
  for (const list of Object.values(interfaces))
    for (const i of list ?? []) {
      if (i.internal) continue;
      const v6 = i.family === 'IPv6';
      if (v6 && (!v6wild || i.address.startsWith('fe80:'))) continue; // link-local needs a zone id
      const u = fmt(i.address, v6);
      if (!out.includes(u)) out.push(u);
    }
  return out;
}
const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]'];

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NasError('invalid_config', `port ${String(port)} is out of range`, { field: 'port', hint: 'use 1-65535, or 0 for any free port' });
  }
  if (host.trim() === '') throw new NasError('invalid_config', 'empty host', { field: 'host', hint: 'e.g. 127.0.0.1' });
  const loopback = LOOPBACK.includes(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
  let token = opts.token ?? process.env['TSNAS_DASHBOARD_TOKEN'] ?? null;
  if (token !== null && !/^[A-Za-z0-9._~-]{16,200}$/.test(token)) {
    throw new NasError('invalid_config', 'the dashboard token must be 16-200 characters of A-Z a-z 0-9 . _ ~ -', { field: 'token', hint: 'or leave it out: one is generated' });
  }
  if (!loopback && token === null) token = randomBytes(24).toString('base64url');
  // Assets first: a missing build should fail before the store is touched.
  const assets = new StaticAssets(opts.assetsDir ?? defaultAssetsDir());
  const source: DashboardSource = await openDashboardSource(opts.storage);
  const events = new EventHub(source, opts.pollMs ?? 1000);
  const server = createServer(
    createHandler({
      source,
      assets,
      events,
      allowedHosts: loopback ? ['127.0.0.1', 'localhost', '[::1]', host.toLowerCase()] : null,
      token,
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await source.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new NasError('invalid_config', `cannot listen on ${host}:${port}: ${code ?? String(e)}`, {
      field: code === 'EADDRINUSE' ? 'port' : 'host',
      hint: code === 'EADDRINUSE' ? 'the port is taken: pick another with --port' : 'use an address of this machine, e.g. 127.0.0.1',
      cause: e,
    });
  }
  if (!loopback) {
    (opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(
      `warning: the dashboard listens on ${host}, reachable from other machines; it shows everything in ${maskUrl(opts.storage)} to whoever has its token (requests without it get 401). Traffic is plain HTTP: use it on a trusted network or behind TLS.`,
    );
  }
  if (opts.warm ?? true) void source.warm();
  const addr = server.address() as AddressInfo;
  const urls = reachableUrls(addr.address, addr.family, addr.port, token ? `?token=${token}` : '');
  let closed = false;
  return {
    url: urls[0]!,
    urls,
    token,
    host: addr.address,
    port: addr.port,
    async close() {
      if (closed) return;
      closed = true;
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await source.close();
    },
  };
}

function maskUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** `<package root>/dist/dashboard`, found from this file whether it runs from src/ (tsx) or dist/. */
export function defaultAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tsnas') return join(dir, 'dist', 'dashboard');
      } catch {
        // not ours; keep walking up
      }
    }
    dir = dirname(dir);
  }
  throw new NasError('not_found', 'cannot find the tsnas package root to locate the dashboard assets', {
    field: 'assetsDir',
    hint: 'pass assetsDir explicitly',
  });
}
