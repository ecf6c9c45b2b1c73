// `tsnas dashboard` as a user runs it: a real process over a real study, answering on loopback, and
// stopping cleanly on Ctrl-C. The server's own behaviour is tested in src/server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TABLE = join(ROOT, 'data/nb201/nb201-cifar10.csv.gz');

test('tsnas dashboard serves a study on 127.0.0.1 and stops on SIGTERM, saying what it stops (the server, not trials)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-dash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const storage = `sqlite:${join(dir, 's.db')}`;
  const s = spawnSync(
    process.execPath,
    ['--import', 'tsx', MAIN, 'search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--table', TABLE, '--trials', '12', '--storage', storage, '--study', 'cli-dash'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(s.status, 0, s.stderr);

  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'dashboard', '--storage', storage, '--port', '0'], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed in 60 s; stdout: ${stdout}`)), 60_000);
    child.stdout.on('data', () => {
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  try {
    const body = (await (await fetch(new URL('api/studies', url))).json()) as { studies: { name: string; counts: { complete: number } }[] };
    const study = body.studies.find((x) => x.name === 'cli-dash');
    assert.ok(study, 'the study is listed');
    assert.equal(study.counts.complete, 12);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  // Session 9: the line read "running trials are released so the study can be resumed".
  assert.match(stderr, /SIGTERM: stopping; the dashboard server closes/);
  assert.doesNotMatch(stderr, /trials/);
  // A reader leaves nothing beside the database (session 9: read-only opens left -wal and -shm).
  assert.deepEqual(readdirSync(dir), ['s.db']);
});
