/**
 * Reliability of studies through the real CLI, in real processes: kill -9 of a worker mid-trial,
 * 4 worker processes on SQLite and on PostgreSQL, bad input (nothing written, exit 2), locked and
 * read-only databases. The evaluator is the synthetic one (fixed sleep per step), so no engine is
 * needed and the timing of "the middle of a trial" is controlled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createStudy, prepareSearch } from '../api/index.js';
import { openStore, type Store } from '../store/index.js';
import { fileModeRunner, underFileModes, type FileModeRunner } from '../store/testing/file-modes.js';
import { tryStartPgServer } from '../store/testing/pg-server.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from the source tree; `runner` (testing/file-modes.ts) makes file modes apply to it. */
function start(args: string[], runner: FileModeRunner = { kind: 'as_is' }): { child: ChildProcess; done: Promise<Ran> } {
  const s = underFileModes(runner, process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT });
  const child = spawn(s.command, s.args, { ...s.options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Ran>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}
const cli = (args: string[], runner?: FileModeRunner) => start(args, runner).done;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tsnas-cli-'));
}

function yamlConfig(o: { study: string; storage: string; trials: number; delayMs: number; steps: number; lease?: number; strategy?: string }): string {
  return [
    `study: ${o.study}`,
    `storage: ${o.storage}`,
    `space: nb201`,
    `strategy: ${o.strategy ?? 'random'}`,
    `evaluator: { name: synthetic, delay_ms: ${o.delayMs}, steps: ${o.steps} }`,
    `trials: ${o.trials}`,
    `lease: ${o.lease ?? 30}`,
    `seed: 3`,
    '',
  ].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks the invariants of a finished study: budget met, each trial once, no double tells. */
async function checkComplete(store: Store, name: string, trials: number, steps: number): Promise<void> {
  const rec = await store.requireStudy(name);
  const c = await store.countTrials(rec.id);
  assert.equal(c.complete, trials, JSON.stringify(c));
  assert.equal(c.total, trials, JSON.stringify(c));
  const all = await store.listTrials(rec.id);
  assert.deepEqual(all.map((t) => t.number), Array.from({ length: trials }, (_, i) => i));
  assert.equal(new Set(all.map((t) => t.archKey)).size, trials, 'no architecture evaluated twice');
  for (const t of all) assert.equal((await store.getIntermediates(t.id)).length, steps, `trial ${t.number} curve`);
  const st = (await store.loadStrategyState(rec.id)).state as { toldBelow: number; toldExtra: number[] };
  assert.equal(st.toldBelow, trials, 'the strategy was told every trial');
  assert.deepEqual(st.toldExtra, []);
}

test('kill -9 of a worker in the middle of a trial: the trial is re-run, the study completes, counts match', async () => {
  const dir = tmp();
  try {
    const db = join(dir, 's.db');
    const cfg = join(dir, 'k9.yaml');
    writeFileSync(cfg, yamlConfig({ study: 'k9', storage: `sqlite:${db}`, trials: 5, delayMs: 250, steps: 3, lease: 1.5 }));
    await (await createStudy(prepareSearch({ configPath: cfg }))).close();
    const a = start(['worker', '--storage', `sqlite:${db}`, '--study', 'k9', '--poll-ms', '50', '--worker-id', 'victim']);
    const store = await openStore(`sqlite:${db}`);
    try {
      const rec = await store.requireStudy('k9');
      // Wait until the victim is in the middle of a trial: running, with one step reported.
      let victimTrial = -1;
      for (let i = 0; i < 2400 && victimTrial < 0; i++) {
        await sleep(50);
        for (const t of await store.listTrials(rec.id, { states: ['running'] }))
          if (t.workerId === 'victim' && (await store.getIntermediates(t.id)).length >= 1) victimTrial = t.number;
      }
      assert.ok(victimTrial >= 0, 'the victim started a trial');
      a.child.kill('SIGKILL');
      const ra = await a.done;
      assert.equal(ra.code, null, 'killed');
      const b = await cli(['worker', '--storage', `sqlite:${db}`, '--study', 'k9', '--poll-ms', '50', '--worker-id', 'rescuer']);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stderr, new RegExp(`trial ${victimTrial}: lease expired \\(attempt 1, worker [^)]+\\), run again by worker rescuer \\(attempt 2\\)`));
      await checkComplete(store, 'k9', 5, 3);
      const t = await store.getTrialByNumber(rec.id, victimTrial);
      assert.equal(t!.attempt, 2);
      assert.equal(t!.workerId, 'rescuer');
      // status/trials/best/export read the finished study.
      const st = await cli(['status', '--storage', `sqlite:${db}`, '--study', 'k9', '--json']);
      assert.equal(st.code, 0, st.stderr);
      assert.equal((JSON.parse(st.stdout) as { counts: { complete: number } }).counts.complete, 5);
      const ex = await cli(['export', '--storage', `sqlite:${db}`, '--study', 'k9', '--out', join(dir, 'winner')]);
      assert.equal(ex.code, 0, ex.stderr);
      assert.deepEqual(readdirSync(join(dir, 'winner')).sort(), ['arch.json', 'metrics.json']);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function fourWorkers(storage: string, dir: string, study: string): Promise<void> {
  const cfg = join(dir, `${study}.yaml`);
  // 24 trials of 2 x 250 ms: one worker alone would need 12 s, far longer than the others take to start,
  // so the work is shared even on a loaded machine (with 15 ms steps the first worker to start could
  // finish every trial before the other three had loaded).
  writeFileSync(cfg, yamlConfig({ study, storage, trials: 24, delayMs: 250, steps: 2 }));
  const r = await cli(['search', cfg, '--workers', '4', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { reason: string; counts: { complete: number }; workerExits: { code: number }[] };
  assert.equal(res.reason, 'complete');
  assert.equal(res.workerExits.length, 4);
  assert.ok(res.workerExits.every((x) => x.code === 0));
  const store = await openStore(storage);
  try {
    await checkComplete(store, study, 24, 2);
    const rec = await store.requireStudy(study);
    const trials = await store.listTrials(rec.id);
    assert.ok(trials.every((t) => t.attempt === 1), 'no trial was claimed twice');
    assert.equal((await store.listWorkers(rec.id)).length, 4);
    assert.ok(new Set(trials.map((t) => t.workerId)).size >= 2, 'the work was shared');
  } finally {
    await store.close();
  }
}

test('4 worker processes on SQLite: no duplicate claims, no lost trials', async () => {
  const dir = tmp();
  try {
    await fourWorkers(`sqlite:${join(dir, 's.db')}`, dir, 'four');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('4 worker processes on PostgreSQL: no duplicate claims, no lost trials', async (t) => {
  const pg = await tryStartPgServer();
  if ('reason' in pg) {
    t.skip(`PostgreSQL unavailable: ${pg.reason}`);
    return;
  }
  const dir = tmp();
  try {
    const url = await pg.server.createDatabase('cli_four');
    await fourWorkers(url, dir, 'four-pg');
  } finally {
    await pg.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: clear error naming the field, exit 2, nothing written', async () => {
  const dir = tmp();
  try {
    const db = join(dir, 'never.db');
    const good = yamlConfig({ study: 'x', storage: `sqlite:${db}`, trials: 3, delayMs: 0, steps: 1 });
    const cases: { name: string; yaml: string; expect: RegExp }[] = [
      { name: 'malformed', yaml: 'study: x\nspace: [nb201\n', expect: /not valid YAML/ },
      { name: 'strategy', yaml: good.replace('strategy: random', 'strategy: simulated_annealing'), expect: /unknown strategy "simulated_annealing".*use one of: random/ },
      { name: 'space', yaml: good.replace('space: nb201', 'space: resnet'), expect: /space.*unknown search space "resnet".*use one of: .*nb201/ },
      { name: 'storage', yaml: good.replace(`sqlite:${db}`, 'mysql://localhost/x'), expect: /storage.*unsupported storage URL/ },
      { name: 'table', yaml: good.replace(/evaluator: .*/, `evaluator: { name: nb201, table: ${join(dir, 'missing.csv')} }`), expect: /evaluator\.table.*cannot read NAS-Bench-201 table.*ENOENT/ },
      { name: 'dataset', yaml: good.replace(/evaluator: .*/, `evaluator: { name: train, dataset: fashion_mnist, data_dir: ${join(dir, 'no-such-dir')} }`).replace('space: nb201', 'space: mlp'), expect: /evaluator\.data_dir.*cannot read dataset directory/ },
      { name: 'option', yaml: good.replace('trials: 3', 'trials: -4'), expect: /trials: must be an integer in \[1, / },
      { name: 'typo', yaml: good + 'wrokers: 2\n', expect: /wrokers.*unknown field.*allowed fields here/ },
    ];
    const results = await Promise.all(
      cases.map((c) => {
        const p = join(dir, `${c.name}.yaml`);
        writeFileSync(p, c.yaml);
        return cli(['search', p]).then((r) => ({ c, r }));
      }),
    );
    for (const { c, r } of results) {
      assert.equal(r.code, 2, `${c.name}: ${r.stderr}`);
      assert.match(r.stderr, c.expect, c.name);
      assert.equal(r.stdout, '', c.name);
    }
    const flags = await cli(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--table', join(dir, 'nope.csv'), '--storage', db]);
    assert.equal(flags.code, 2);
    // Named by the flag the user typed (session 10), not the config field it sets (evaluator.table).
    assert.match(flags.stderr, /--table: cannot read NAS-Bench-201 table/);
    const unknown = await cli(['serach']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "serach"/);
    assert.ok(!existsSync(db), 'no database was created');
    assert.deepEqual(readdirSync(dir).filter((f) => !f.endsWith('.yaml')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a locked or read-only database: clear storage error, non-zero exit', async (t) => {
  const runner = fileModeRunner(ROOT);
  const dir = tmp();
  try {
    const db = join(dir, 's.db');
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, yamlConfig({ study: 'lock', storage: `sqlite:${db}`, trials: 2, delayMs: 0, steps: 1 }));
    const first = await cli(['search', cfg, '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    const holder = new Database(db);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const r = await cli(['search', cfg, '--quiet']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /storage_error.*locked/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const rodir = join(dir, 'ro');
    mkdirSync(rodir);
    const copy = join(rodir, 's.db');
    copyFileSync(db, copy);
    chmodSync(copy, 0o444);
    chmodSync(rodir, 0o555);
    chmodSync(dir, 0o755);
    const ro = yamlConfig({ study: 'lock', storage: `sqlite:${copy}`, trials: 2, delayMs: 0, steps: 1 });
    writeFileSync(join(dir, 'ro.yaml'), ro);
    chmodSync(join(dir, 'ro.yaml'), 0o644);
    try {
      if (runner.kind === 'unavailable') {
        t.skip(`read-only half: ${runner.reason}`);
      } else {
        const r = await cli(['search', join(dir, 'ro.yaml'), '--quiet'], runner);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /storage_error.*read-only/);
      }
    } finally {
      chmodSync(rodir, 0o755);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C (SIGINT) of `tsnas search --workers 2` stops cleanly; the same command resumes and completes', async () => {
  const dir = tmp();
  try {
    const db = join(dir, 's.db');
    const cfg = join(dir, 'int.yaml');
    // 2 s per trial, so a poll on a starved machine (SCHED_IDLE during measurements) still sees
    // one running; the wait is by the clock (10 min), not by a count of polls, and ends if the
    // search exits first (a failure that says so).
    writeFileSync(cfg, yamlConfig({ study: 'int', storage: `sqlite:${db}`, trials: 6, delayMs: 200, steps: 10 }));
    const run = start(['search', cfg, '--workers', '2']);
    let exited = false;
    void run.done.then(() => (exited = true));
    const store = await openStore(`sqlite:${db}`);
    try {
      let running = 0;
      const deadline = Date.now() + 600_000;
      while (running === 0 && !exited && Date.now() < deadline) {
        await sleep(50);
        const rec = await store.getStudy('int');
        if (rec) running = (await store.countTrials(rec.id)).running;
      }
      assert.ok(running > 0, `trials started (the search ${exited ? 'exited first' : 'started none in 10 min'})`);
      run.child.kill('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stdout, /resume with the same command/);
      const rec = await store.requireStudy('int');
      const c = await store.countTrials(rec.id);
      assert.equal(c.running, 0, 'running trials were released');
      assert.ok(c.complete < 6);
      const again = await cli(['search', cfg, '--workers', '2', '--quiet']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /complete \(resumed\)/);
      await checkComplete(store, 'int', 6, 10);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
