import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'tsnas.js');

// bin/tsnas.js runs the compiled CLI (dist/), which `npm run build` (scripts/setup) produces.
test('bin/tsnas.js runs the CLI under any name it is started by: itself, node_modules/.bin/tsnas (npx), a global link, a renamed copy', { skip: !existsSync(join(ROOT, 'dist', 'cli', 'main.js')) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bin-'));
  try {
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    mkdirSync(join(dir, 'usr', 'bin'), { recursive: true });
    const names = [BIN, join(dir, 'node_modules', '.bin', 'tsnas'), join(dir, 'usr', 'bin', 'tsnas'), join(dir, 'nas')];
    for (const n of names.slice(1)) symlinkSync(BIN, n);
    for (const n of names) {
      const r = spawnSync(process.execPath, [n, '--help'], { encoding: 'utf8', env: { ...process.env, TSNAS_TEST: '1' } });
      assert.equal(r.status, 0, `${n}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stdout, /usage: tsnas COMMAND/, `${n} printed no usage: ${JSON.stringify(r.stdout.slice(0, 200))}`);
      // A bad command still fails with its usage error, i.e. the CLI really ran.
      const bad = spawnSync(process.execPath, [n, 'no-such-command'], { encoding: 'utf8' });
      assert.equal(bad.status, 2, `${n}: ${bad.stderr}`);
      assert.match(bad.stderr, /no-such-command/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A fresh clone after `tsc` but before the native build (or a machine whose addon is gone): help and
// the store's commands work (the addon loads on first use); a command that trains says in one line
// which file is missing and how to build it, not a stack trace.
test('bin/tsnas.js without the libtorch addon: --help works; train fails in one line naming the missing file and `npm run build`', { skip: !existsSync(join(ROOT, 'dist', 'cli', 'main.js')) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-noaddon-'));
  try {
    // The same tree as the checkout, minus native/build: bin/, dist/, data/ copied, node_modules linked.
    for (const d of ['bin', 'dist', 'data']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const bin = join(dir, 'bin', 'tsnas.js');
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /usage: tsnas COMMAND/);
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 }));
    const r = spawnSync(process.execPath, [bin, 'train', join(dir, 'a.json'), '--dataset', 'digits', '--epochs', '1'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `more than one line:\n${r.stderr}`);
    assert.match(lines[0]!, /error \[native_error\]: the libtorch addon is not built: .*native[\\/]build[\\/]Release[\\/]tsnas_native\.node does not exist/);
    assert.ok(lines[0]!.includes(dir), `the path is not absolute: ${lines[0]}`);
    assert.match(lines[0]!, /npm run build/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
