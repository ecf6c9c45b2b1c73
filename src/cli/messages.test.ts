/**
 * Issue 17.13: messages that named the wrong thing, and input that was silently accepted. Each
 * case is the reported input; siblings where the same mistake could happen are beside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNasError } from '../core/errors.js';
import { openDashboardSource } from '../api/dashboard.js';
import { createStudy, prepareRepeat, prepareSearch, readArchFile } from '../api/index.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

test('tsnas --help lists every command, including dashboard and the extra commands', async () => {
  const r = cli(['--help']);
  assert.equal(r.status, 0, r.stderr);
  const { COMMANDS_EXTRA } = await import('./commands-extra.js');
  for (const c of ['search', 'worker', 'status', 'trials', 'best', 'export', 'repeat', ...Object.keys(COMMANDS_EXTRA)])
    assert.match(r.stdout, new RegExp(`^  ${c}\\s+\\S`, 'm'), `${c} missing or without a summary in:\n${r.stdout}`);
  assert.match(r.stdout, /dashboard/);
});

test('duplicate keys in JSON configs and architecture files are refused, naming the key and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-dup-'));
  try {
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, '{\n  "study": "d",\n  "space": "nb201",\n  "strategy": "random",\n  "evaluator": { "name": "nb201" },\n  "trials": 10,\n  "trials": 1000\n}\n');
    assert.throws(() => prepareSearch({ configPath: cfg }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'config' && /duplicate key "trials" at line 7/.test(e.message));
    // nested, in an option object
    writeFileSync(cfg, '{"study": "d", "space": "nb201", "strategy": {"name": "evolution", "options": {"population": 5, "population": 50}}, "evaluator": {"name": "nb201"}}');
    assert.throws(() => prepareSearch({ configPath: cfg }), (e: unknown) => isNasError(e, 'invalid_config') && /duplicate key "population"/.test(e.message));
    // an architecture file for tsnas train
    const arch = join(dir, 'arch.json');
    writeFileSync(arch, '{"family": "mlp", "hidden": [8], "hidden": [64]}');
    assert.throws(() => readArchFile(arch), (e: unknown) => isNasError(e) && /duplicate key "hidden"/.test(e.message));
    // plain JSON still parses, and a syntax error is still a syntax error
    writeFileSync(cfg, '{"study": "d", "space": "nb201", "strategy": "random", "evaluator": {"name": "nb201"}, "trials": 3}');
    assert.equal(prepareSearch({ configPath: cfg }).config.trials, 3);
    writeFileSync(cfg, '{"study": "d",}');
    assert.throws(() => prepareSearch({ configPath: cfg }), (e: unknown) => isNasError(e, 'invalid_config') && /not valid JSON/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('repeat: a base name too long for its seed suffix is refused naming the base name and the limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-rep-'));
  try {
    const name = 'x'.repeat(197);
    const config = { study: name, storage: `sqlite:${join(dir, 'r.db')}`, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201' }, trials: 3 };
    assert.throws(
      () => prepareRepeat({ config, seeds: [0, 1, 12] }),
      (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'study' && /197 characters/.test(e.message) && /limit of 200/.test(e.message) && /at most 193/.test(e.hint ?? ''),
    );
    assert.equal(prepareRepeat({ config: { ...config, study: 'x'.repeat(193) }, seeds: [0, 1, 12] }).perSeed.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dashboard: no database at the path says so; a study with no trials says it has none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-dash-'));
  try {
    const missing = join(dir, 'none.db');
    await assert.rejects(openDashboardSource(`sqlite:${missing}`), (e: unknown) => isNasError(e, 'not_found') && /no study database at/.test(e.message) && !/writable/.test(e.hint ?? ''));
    await assert.rejects(openDashboardSource(`sqlite:${join(dir, 'nodir', 'x.db')}`), (e: unknown) => isNasError(e) && /directory \S*nodir does not exist/.test(e.message));
    assert.deepEqual(readdirSync(dir), [], 'neither refused open created a file or directory');
    const storage = `sqlite:${join(dir, 'empty.db')}`;
    await createStudy(prepareSearch({ config: { study: 'e', storage, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201' }, trials: 3 } }));
    const src = await openDashboardSource(storage);
    try {
      const s = (await src.studies())[0]!;
      await assert.rejects(src.trial(s.id, 0), (e: unknown) => isNasError(e, 'not_found') && /has no trials yet/.test(e.message) && !/from 0 to 0/.test(e.hint ?? ''));
    } finally {
      await src.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
