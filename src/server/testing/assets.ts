/** Test helper (excluded from the build): the built front end, rebuilt into `dir` when stale. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './fixture.js';

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newestMtime(join(p, e))));
}

/**
 * dist/dashboard when it is newer than every source file of the front end (dashboard/ and the
 * shared plots in src/report/); otherwise a fresh build into `dir`/app.
 */
export async function builtAssets(dir: string): Promise<string> {
  const dist = join(REPO_ROOT, 'dist', 'dashboard');
  const src = join(REPO_ROOT, 'dashboard');
  const shared = [src, join(REPO_ROOT, 'src', 'report'), join(REPO_ROOT, 'src', 'api', 'dashboard.ts')];
  if (existsSync(join(dist, 'index.html')) && newestMtime(dist) >= Math.max(...shared.map(newestMtime))) return dist;
  const out = join(dir, 'app');
  const { build } = await import('vite');
  await build({ configFile: join(src, 'vite.config.ts'), logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  return out;
}
