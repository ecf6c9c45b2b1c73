/**
 * Session 9's new user, finding 6, fixed by kind (issue 17): commands leave no files they were not
 * asked for. Each case lists the folder (recursively) before and after the command:
 *  (a) a command that fails before its work starts leaves no file or directory: no database, no
 *      `<db>.artifacts/<study>/`, no report, export, CSV or compression output;
 *  (b) read-only commands (status, trials, best, report, export, a worker that cannot join) create
 *      and change nothing in the store: no new database, no -wal/-shm beside it, the same bytes;
 *  (c) a missing directory of a storage URL or of --out is an error naming it, never created.
 * Real processes for the cases the user ran (worker, report, search); the others in-process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MlpArch } from '../core/arch.js';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';
import { runCaptured } from './testing/run-captured.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'tsnas-leftovers-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 's.db');
const S = ['--storage', `sqlite:${db}`];

/** Every file and directory under `dir`, relative, sorted (directories end in /). */
function listing(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const isDir = statSync(p).isDirectory();
      out.push(relative(dir, p) + (isDir ? '/' : ''));
      if (isDir) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** A real `tsnas` process in `dir`. */
function proc(args: string[]): { code: number; stderr: string; stdout: string } {
  // tsx resolved here: the process runs in `dir`, which has no node_modules.
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
}

/** Runs `f`; asserts its exit code and that the folder then holds what it held plus `added`, every *.db byte for byte as before. */
async function expectListing(what: string, f: () => Promise<{ code: number; stderr: string }> | { code: number; stderr: string }, code: number, added: string[] = []): Promise<string> {
  const before = listing();
  const dbs = new Map(before.filter((p) => p.endsWith('.db')).map((p) => [p, readFileSync(join(dir, p))]));
  const r = await f();
  assert.equal(r.code, code, `${what}: ${r.stderr}`);
  assert.deepEqual(listing(), [...before, ...added].sort(), `${what}: left files behind (stderr: ${r.stderr})`);
  for (const [p, bytes] of dbs) assert.ok(readFileSync(join(dir, p)).equals(bytes), `${what}: changed the database ${p}`);
  return r.stderr;
}

test.before(async () => {
  const r = await runCaptured(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '6', '--study', 'ev', '--quiet', ...S]);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(dir, 'tiny.csv'), 'a,b,y\n' + Array.from({ length: 12 }, (_, i) => `${i},${i % 3},${i % 3}`).join('\n') + '\n');
  // A trained search whose constraint no architecture meets (the user's c2.yaml).
  writeFileSync(join(dir, 'c2.yaml'), `study: cons2\nstorage: sqlite:./c2.db\nspace: mlp_small\nstrategy: random\nevaluator: { name: train, dataset: digits, epochs: 1 }\nconstraints:\n  - { metric: params, max: 10 }\ntrials: 3\n`);
  writeUntrainedDigitsModel(join(dir, 'model'), { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 } satisfies MlpArch);
  assert.deepEqual(listing().filter((f) => f.startsWith('s.db')), ['s.db'], 'the search closed its database: no -wal/-shm');
});

test('(b) read-only commands leave no file beside the database and change none of its bytes (report left -wal/-shm)', async () => {
  for (const args of [['status'], ['status', '--study', 'ev'], ['trials', '--study', 'ev'], ['trials', '--study', 'ev', '--format', 'csv'], ['best', '--study', 'ev', '--json']])
    await expectListing(args.join(' '), () => runCaptured([...args, ...S]), 0);
  // What they write is only what was asked for.
  await expectListing('report', () => proc(['report', '--study', 'ev', ...S, '--out', 'r.html']), 0, ['r.html']);
  await expectListing('export --format csv --out', () => runCaptured(['export', '--study', 'ev', ...S, '--format', 'csv', '--out', join(dir, 't.csv')]), 0, ['t.csv']);
  await expectListing('export --out DIR', () => runCaptured(['export', '--study', 'ev', ...S, '--out', join(dir, 'w')]), 0, ['w/', 'w/arch.json', 'w/metrics.json']);
  // repeat's summary of seeds that finished reads them only (it resumed each through a read-write open).
  writeFileSync(join(dir, 'rep.yaml'), `study: rep\nstorage: sqlite:./rep.db\nspace: nb201\nstrategy: random\nevaluator: nb201\ntrials: 3\n`);
  assert.equal((await runCaptured(['repeat', join(dir, 'rep.yaml'), '--seeds', '0,1', '--quiet'])).code, 0);
  await expectListing('repeat of finished seeds', () => runCaptured(['repeat', join(dir, 'rep.yaml'), '--seeds', '0,1', '--quiet', '--json']), 0);
  await expectListing('repeat with another config under the seeds\' names', () => runCaptured(['repeat', join(dir, 'rep.yaml'), '--seeds', '0,1', '--trials', '4', '--quiet']), 2);
  // Refused reads: nothing written either.
  await expectListing('report of an unknown study', () => runCaptured(['report', '--study', 'nope', ...S, '--out', join(dir, 'r2.html')]), 2);
  await expectListing('status of a missing database', () => runCaptured(['status', '--storage', `sqlite:${join(dir, 'typo.db')}`]), 2);
  await expectListing('best of a missing database', () => runCaptured(['best', '--study', 'ev', '--storage', `sqlite:${join(dir, 'typo.db')}`]), 2);
});

test('(a) a worker that cannot join creates no database (was a 57 KB empty x.db) and changes none', async () => {
  const e = await expectListing('worker on a missing database', () => proc(['worker', '--storage', 'sqlite:./x.db', '--study', 'nope']), 2);
  assert.match(e, /there is no study database at \S*x\.db yet/);
  await expectListing('worker, unknown study', () => proc(['worker', ...S, '--study', 'nope']), 2);
  // An existing file with no tsnas schema (another program's, or empty) is refused, not given one.
  writeFileSync(join(dir, 'empty.db'), '');
  const e2 = await expectListing('worker on an empty file', () => runCaptured(['worker', '--storage', `sqlite:${join(dir, 'empty.db')}`, '--study', 'nope']), 2);
  assert.match(e2, /has no tsnas schema/);
  assert.equal(statSync(join(dir, 'empty.db')).size, 0);
  rmSync(join(dir, 'empty.db'));
});

test('(a) a search refused before training leaves no database and no <db>.artifacts/<study>/ (split error, unsatisfiable constraint)', async () => {
  const split = await expectListing('split error', () => proc(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'csv', '--path', 'tiny.csv', '--study', 'tiny', '--storage', 'sqlite:./tiny.db', '--trials', '2']), 2);
  assert.match(split, /validation split would be empty/);
  const cons = await expectListing('constraint_unsatisfiable', () => runCaptured(['search', join(dir, 'c2.yaml')]), 2);
  assert.match(cons, /constraint_unsatisfiable/);
  await expectListing('repeat of the same config', () => runCaptured(['repeat', join(dir, 'c2.yaml'), '--seeds', '0,1']), 2);
  // A different config under an existing name: refused, the database untouched.
  await expectListing('a different config under the name', () => runCaptured(['search', '--space', 'nb201', '--strategy', 'evolution', '--evaluator', 'nb201', '--trials', '6', '--study', 'ev', '--quiet', ...S]), 2);
});

test('(c) a missing directory of a storage URL or an output is an error naming it, and is not created', async () => {
  const nodir = join(dir, 'nodir', 'deeper');
  const cases: [string, string[]][] = [
    ['search', ['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '2', '--storage', `sqlite:${join(nodir, 'x.db')}`]],
    ['db upgrade', ['db', 'upgrade', '--storage', `sqlite:${join(nodir, 'x.db')}`]],
    ['dashboard-like read (status)', ['status', '--storage', `sqlite:${join(nodir, 'x.db')}`]],
    ['report --out', ['report', '--study', 'ev', ...S, '--out', join(nodir, 'r.html')]],
    ['report --png', ['report', '--study', 'ev', ...S, '--out', join(dir, 'r3.html'), '--png', join(nodir, 'png')]],
    ['export --out DIR', ['export', '--study', 'ev', ...S, '--out', join(nodir, 'w')]],
    ['export --format csv --out FILE', ['export', '--study', 'ev', ...S, '--format', 'csv', '--out', join(nodir, 't.csv')]],
    ['compress --out', ['compress', join(dir, 'model'), '--quantize', 'dynamic', '--out', join(nodir, 'c')]],
    ['finetune --out', ['finetune', join(dir, 'model'), '--dataset', 'digits', '--epochs', '1', '--out', join(nodir, 'f')]],
  ];
  for (const [what, args] of cases) {
    const e = await expectListing(what, () => runCaptured(args), 2);
    assert.match(e, new RegExp(`${join(dir, 'nodir')}\\S* does not exist`), `${what}: names the directory: ${e}`);
  }
  // The same from a real process, as the user ran it (it made /nonexist/dir/ and searched).
  const e = await expectListing('search (process)', () => proc(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '2', '--storage', 'sqlite:./nodir/x.db']), 2);
  assert.match(e, /storage: directory \S*nodir of the database \S*x\.db does not exist .*mkdir -p/);
});
