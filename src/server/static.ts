/**
 * Static assets of the built dashboard. Safety contract: only files that were inside `root` when
 * the server started can ever be served. The folder is walked once (symlinks skipped) into a map
 * from URL path to absolute file; a request is answered from that map or not at all, so no
 * spelling of `..`, encoded or not, can reach a file outside the app.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, existsSync } from 'node:fs';
import { join, extname, sep } from 'node:path';
import { NasError } from '../core/errors.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Vite puts a content hash in every name under assets/, so those can be cached for good. */
  readonly immutable: boolean;
}

export type StaticLookup =
  | { readonly kind: 'file'; readonly file: StaticFile }
  | { readonly kind: 'bad_request'; readonly message: string }
  | { readonly kind: 'not_found' };

export class StaticAssets {
  private readonly files = new Map<string, StaticFile>();

  /** Reads every regular file under `root` into memory (the built app is a few hundred KB). */
  constructor(root: string) {
    if (!existsSync(join(root, 'index.html'))) {
      throw new NasError('not_found', `dashboard assets not built: ${join(root, 'index.html')} is missing`, {
        field: 'assetsDir',
        hint: 'run `npm run build:dashboard` (part of `npm run build`)',
      });
    }
    const real = realpathSync(root);
    this.walk(real, '');
  }

  private walk(dir: string, prefix: string): void {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) continue;
      const urlPath = `${prefix}/${name}`;
      if (st.isDirectory()) this.walk(abs, urlPath);
      else if (st.isFile()) {
        const ct = CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
        this.files.set(urlPath, { body: readFileSync(abs), contentType: ct, immutable: prefix === '/assets' });
      }
    }
  }

  get size(): number {
    return this.files.size;
  }

  /** `rawPath` is the URL path exactly as received (still percent-encoded, no query string). */
  lookup(rawPath: string): StaticLookup {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      return { kind: 'bad_request', message: 'malformed percent-encoding in path' };
    }
    // Refused outright rather than normalised: a client that sends these is not the dashboard.
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').some((s) => s === '..' || s === '.')) {
      return { kind: 'bad_request', message: 'path segments ".", ".." and backslashes are not allowed' };
    }
    if (decoded.includes(sep) && sep !== '/') return { kind: 'bad_request', message: 'bad path separator' };
    const key = decoded === '/' || decoded === '' ? '/index.html' : decoded;
    const file = this.files.get(key);
    return file ? { kind: 'file', file } : { kind: 'not_found' };
  }
}
