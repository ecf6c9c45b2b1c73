import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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

// A fresh clone after `tsc` but before the native build (or a machine whose addon is gone): the CLI
// cannot start, and says so in one line with the fix and exit 2, not a stack trace of the import.
test('bin/tsnas.js without the libtorch addon: one line naming the missing file and `npm run build`, exit 2', { skip: !existsSync(join(ROOT, 'dist', 'cli', 'main.js')) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-noaddon-'));
  try {
    // The same tree as the checkout, minus native/build: bin/ and dist/ copied, node_modules linked.
    cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    for (const args of [['--help'], ['status', '--storage', `sqlite:${join(dir, 'x.db')}`]]) {
      const r = spawnSync(process.execPath, [join(dir, 'bin', 'tsnas.js'), ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `more than one line:\n${r.stderr}`);
      assert.match(lines[0]!, /^tsnas: error \[native_error\]: the libtorch addon is not built: .*native[\\/]build[\\/]Release[\\/]tsnas_native\.node does not exist/);
      assert.ok(lines[0]!.includes(dir), `the path is not absolute: ${lines[0]}`);
      assert.match(lines[0]!, /npm run build/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
