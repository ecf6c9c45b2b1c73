/**
 * Static assets of the built dashboard. Safety contract: only files that were inside `root` when
 * the server started can ever be served. The folder is walked once (symlinks skipped) into a map
 * from URL path to absolute file; a request is answered from that map or not at all, so no
 * spelling of `..`, encoded or not, can reach a file outside the app.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, existsSync } from 'node:fs';
import { join, extname, sep } from 'node:path';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
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
  /**
   * `body` compressed once at start-up (brotli quality 9, gzip level 9), for text files of 1 KB
   * or more where it is smaller; sent as is with its Content-Encoding (`encodingFor`).
   */
  readonly br?: Buffer;
  readonly gzip?: Buffer;
}

/** Text types worth compressing (images and fonts are compressed already). */
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg\+xml)/;

/**
 * The encoding to send `file` in for a request's Accept-Encoding header: `br` when accepted and
 * stored, else `gzip`, else `identity` (the body as is). A coding with q=0 is refused; `*` accepts
 * any coding not named. (RFC 9110 12.5.3; the client's preference order is not followed: brotli is
 * the smaller one.)
 */
export function encodingFor(file: StaticFile, acceptEncoding: string | undefined): 'br' | 'gzip' | 'identity' {
  if (!acceptEncoding || (!file.br && !file.gzip)) return 'identity';
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...opts] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let w = 1;
    for (const o of opts) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(o);
      if (m) w = Number(m[1]);
    }
    q.set(name, Number.isFinite(w) ? w : 0);
  }
  const accepts = (c: string): boolean => (q.get(c) ?? q.get('*') ?? 0) > 0;
  if (file.br && accepts('br')) return 'br';
  if (file.gzip && accepts('gzip')) return 'gzip';
  return 'identity';
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
        const body = readFileSync(abs);
        const file: { -readonly [K in keyof StaticFile]: StaticFile[K] } = { body, contentType: ct, immutable: prefix === '/assets' };
        if (COMPRESSIBLE.test(ct) && body.length >= 1024) {
          // Compressed here once, not per request by the compression middleware: that streams
          // through zlib a chunk per turn of the event loop, so the app's script waited behind
          // the server's synchronous study read (a cold 20k SQLite view: ~0.5 s).
          const br = brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } });
          const gz = gzipSync(body, { level: 9 });
          if (br.length < body.length) file.br = br;
          if (gz.length < body.length) file.gzip = gz;
        }
        this.files.set(urlPath, file);
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
