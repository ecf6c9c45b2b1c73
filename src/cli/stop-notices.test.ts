/**
 * Issue 17, messages by kind: a command stopped by SIGINT/SIGTERM says what it stopped and what was
 * kept or removed, however early the signal comes. A SIGTERM before `tsnas finetune` had made its
 * output directory printed nothing (exit 143; new user 10b); the same held for compress and export
 * before their work directory, for ensemble always (it had no handler), and for train, search and
 * the other commands before their own graceful stop was installed. Each child below is stopped
 * right after its command started (src/cli/testing/stop-early.ts), before it printed anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS_EXTRA } from './commands-extra.js';
import { STOP_NOTICES, run } from './main.js';
import { runCaptured } from './testing/run-captured.js';

const STOP_EARLY = fileURLToPath(new URL('./testing/stop-early.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-stop-notices-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const db = ['--storage', `sqlite:${join(dir, 'd.db')}`];
// The children's temporary folder (an ensemble's member weights go there): checked empty after.
const tmp = join(dir, 'tmp');
mkdirSync(tmp);
const stopEarly = (sig: string, args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', STOP_EARLY, sig, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, TMPDIR: tmp } });

test('every command has a stop notice (what a signal stops, and what is kept)', async () => {
  // The commands, from the CLI's own list (`tsnas --help`).
  const help = (await runCaptured(['--help'])).stdout;
  const names = [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  for (const c of ['search', 'finetune', 'compress', 'ensemble', 'train', 'export', ...Object.keys(COMMANDS_EXTRA)]) assert.ok(names.includes(c), `${c} in ${names.join(', ')}`);
  assert.deepEqual(names.filter((c) => !Object.hasOwn(STOP_NOTICES, c)), []);
  for (const [c, n] of Object.entries(STOP_NOTICES)) assert.ok(n.stopped !== '' && n.kept !== '', c);
});

test('a command leaves no signal handler behind when it returns (run several in one process)', async () => {
  const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  for (let i = 0; i < 3; i++) await run(['status', ...db, '--json']);
  await run(['train', join(dir, 'missing.json'), '--dataset', 'digits']);
  assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
});

test('SIGTERM / SIGINT right after finetune, compress, ensemble, train, search start: each says what it stopped and what was kept or removed; exit 130', { timeout: 900_000 }, async () => {
  // 15 epochs: the ensemble retrains its members with them; a training yields to the event loop (and
  // so to the signal) every 100 ms (eval/train.ts YIELD_MS), which 1 epoch of digits may never reach.
  const s = await runCaptured(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--epochs', '15', '--trials', '2', '--study', 'd', ...db, '--quiet']);
  assert.equal(s.code, 0, s.stderr);
  const model = join(dir, 'dx');
  assert.equal((await runCaptured(['export', '--study', 'd', ...db, '--out', model, '--no-onnx'])).code, 0);
  const cases: [string, string[], RegExp][] = [
    ['SIGTERM', ['finetune', model, '--epochs', '40', '--out', join(dir, 'f1')], /tsnas finetune: SIGTERM: (stopped the fine-tuning; (nothing was written \(the --out directory is made only when it finishes\)|removed the unfinished output .*f1\.partial-)|stopping; the fine-tuning stops after the current batch; nothing is written)/],
    ['SIGINT', ['compress', model, '--quantize', 'qat', '--finetune-epochs', '40', '--out', join(dir, 'c1')], /tsnas compress: SIGINT: (stopped the compression; (nothing was written|removed the unfinished output .*c1\.partial-)|stopping; the compression stops at the next stage boundary or fine-tuning batch; nothing is written)/],
    ['SIGTERM', ['ensemble', '--study', 'd', ...db, '--k', '2'], /tsnas ensemble: SIGTERM: (stopped the ensemble before its retraining; nothing is kept \(tsnas ensemble writes no file\)|stopping; the ensemble's retraining stops after the current batch \(nothing is kept\))/],
    // a command's own graceful stop (interruptible) once it runs, the notice before: either names the command
    ['SIGTERM', ['train', model, '--epochs', '40'], /tsnas train: SIGTERM: (stopped the training before it started; nothing is kept|stopping; the training is stopped \(nothing is kept\))/],
    ['SIGINT', ['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--epochs', '15', '--trials', '2', '--study', 'd2', ...db], /tsnas search: SIGINT: (stopped the search before it started; nothing was written to the study|stopping; running trials are released)/],
  ];
  for (const [sig, args, re] of cases) {
    const r = stopEarly(sig, args);
    assert.equal(r.status, 130, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, re, `${args[0]}: ${r.stderr}`);
  }
  // Nothing half-written is left beside the outputs.
  assert.deepEqual(readdirSync(dir).filter((n) => /\.(partial|tmp)-/.test(n)), []);
  for (const o of ['f1', 'c1']) assert.ok(!existsSync(join(dir, o)), o);
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('tsnas-')), [], 'no temporary folder of a stopped command is left');
});
