/**
 * Benchmark helper (excluded from the build): starts src/server/testing/serve.ts in a child Node
 * process (the dashboard as a user runs it, apart from the browser's driver) and returns its URL
 * and a close() that ends it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { REPO_ROOT } from './fixture.js';

export async function startChildDashboard(storage: string, assetsDir: string, warm: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'server', 'testing', 'serve.ts'), storage, assetsDir, String(warm)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', (l) => {
      try {
        resolve((JSON.parse(l) as { url: string }).url);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    void exited.then((code) => reject(new Error(`the dashboard process exited (${code}) before listening`)));
  });
  return {
    url,
    async close() {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
