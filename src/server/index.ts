/**
 * `tsnas dashboard`: a read-only web app over a study store.
 *
 * For the CLI (src/cli): call
 *   const d = await startDashboard({ storage: 'sqlite:./tsnas.db', host, port });
 *   console.log(`dashboard at ${d.url}`); ... await d.close();
 * `host` defaults to 127.0.0.1; `port` defaults to 8765 (0 = any free port). Any other host is
 * allowed only when passed explicitly, and startDashboard then writes a warning through `warn`
 * (stderr by default): the app has no authentication. The store is opened read-only (nothing is
 * migrated or written). Assets come from dist/dashboard (built by `npm run build:dashboard`);
 * a missing build is a NasError `not_found` naming that command.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
}

export interface Dashboard {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8765;
const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]'];

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NasError('invalid_config', `port ${String(port)} is out of range`, { field: 'port', hint: 'use 1-65535, or 0 for any free port' });
  }
  if (host.trim() === '') throw new NasError('invalid_config', 'empty host', { field: 'host', hint: 'e.g. 127.0.0.1' });
  const loopback = LOOPBACK.includes(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
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
      `warning: the dashboard listens on ${host}, reachable from other machines; it has no authentication and shows everything in ${maskUrl(opts.storage)}`,
    );
  }
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed = false;
  return {
    url: `http://${shownHost}:${addr.port}/`,
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
