/**
 * Unfinished outputs are removed when a command does not finish (new user, session 10, finding 7:
 * Ctrl-C during `tsnas compress --out cq2` left `cq2.partial-<pid>-<hex>/`). Signals are sent to a
 * child process after it printed that it holds its work path: no timing in the assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive, removeStalePartials } from './partial.js';
import { atomicDir } from '../compress/outdir.js';

const PARTIAL = fileURLToPath(new URL('./partial.ts', import.meta.url));

/** A pid that is not running: a child that has exited (and was reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(r.stdout);
  assert.ok(!pidAlive(pid), 'the exited child is not running');
  return pid;
}

interface Holder {
  readonly send: (s: NodeJS.Signals) => void;
  readonly stderr: () => string;
  /** The exit code once the child ended. */
  readonly exited: Promise<number | null>;
}

/** Runs a child that holds `work` (a directory it creates), prints `held`, then waits (optionally with its own SIGINT handler). */
function holder(work: string, ownHandler: boolean): Promise<Holder> {
  const script = `
    import { mkdirSync } from 'node:fs';
    import { holdPartial } from ${JSON.stringify(PARTIAL)};
    ${ownHandler ? `let n = 0; process.on('SIGINT', () => { if (++n > 1) process.exit(130); process.stderr.write('graceful\\n'); });` : ''}
    holdPartial(${JSON.stringify(work)});
    mkdirSync(${JSON.stringify(work)});
    process.stdout.write('held\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('held\n')) resolve({ send: (s) => void child.kill(s), stderr: () => err, exited });
    });
    void exited.then((c) => reject(new Error(`the child exited (${c}) before holding its path: ${err}`)));
  });
}

test('SIGINT and SIGTERM while a work path is held: it is removed, said, exit 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-partial-'));
  try {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const work = join(dir, `out-${sig}.partial-1-abcd`);
      const h = await holder(work, false);
      assert.ok(existsSync(work));
      h.send(sig);
      assert.equal(await h.exited, 130, h.stderr());
      assert.ok(!existsSync(work), `${sig}: ${work} removed`);
      assert.match(h.stderr(), new RegExp(`${sig}: stopped; removed the unfinished output .*out-${sig}\\.partial-1-abcd`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a command with its own interrupt handler keeps its graceful stop; its forced exit still removes the work path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-partial-'));
  try {
    const work = join(dir, 'out.partial-1-beef');
    const h = await holder(work, true);
    h.send('SIGINT');
    // The command's handler ran (graceful), the process is still there and the path with it.
    while (!h.stderr().includes('graceful')) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(work));
    h.send('SIGINT'); // again: the command's forced exit (process.exit(130)), the exit hook removes it
    assert.equal(await h.exited, 130);
    assert.ok(!existsSync(work));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('removeStalePartials: the work paths of a dead process are removed and said; a live process\'s and other names are left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-partial-'));
  try {
    const dead = deadPid();
    const out = join(dir, 'cq2');
    mkdirSync(join(dir, `cq2.partial-${dead}-79393a84`, 'float'), { recursive: true });
    mkdirSync(join(dir, `cq2.tmp-${dead}`));
    writeFileSync(join(dir, `.cq2.tmp-${dead}`), 'x');
    mkdirSync(join(dir, `cq2.partial-${process.pid}-00ff00ff`)); // this (running) process's
    mkdirSync(join(dir, `cq3.partial-${dead}-12345678`)); // another output's
    mkdirSync(join(dir, `cq2.partial-${dead}-notahash`)); // not a work path's name
    const said = removeStalePartials(out);
    assert.equal(said.length, 3, said.join('\n'));
    for (const s of said) assert.match(s, new RegExp(`process ${dead}, no longer running`));
    assert.deepEqual(readdirSync(dir).sort(), [`cq2.partial-${dead}-notahash`, `cq2.partial-${process.pid}-00ff00ff`, `cq3.partial-${dead}-12345678`].sort());
    assert.deepEqual(removeStalePartials(join(dir, 'missing-dir', 'x')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('atomicDir (compress, finetune): a partial directory left by kill -9 is removed and said by the next run to the same --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-partial-'));
  try {
    const stale = join(dir, `cq2.partial-${deadPid()}-79393a84`);
    mkdirSync(join(stale, 'float'), { recursive: true });
    const said: string[] = [];
    const a = atomicDir(join(dir, 'cq2'), 'out', (l) => said.push(l));
    assert.ok(!existsSync(stale));
    assert.equal(said.length, 1);
    assert.match(said[0]!, /removed .*cq2\.partial-\d+-79393a84, the unfinished output of an earlier run/);
    writeFileSync(join(a.work, 'f'), 'x');
    a.commit();
    assert.deepEqual(readdirSync(dir), ['cq2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
