#!/usr/bin/env node
// Runs every src/**/*.test.ts (and bench/**/*.test.ts) with node's own test runner through tsx.
// Node 20's `--test` takes no globs, so the file list is collected here. Extra args are passed
// through: `node scripts/test.mjs src/space` runs only the tests under that folder.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const roots = args.length ? args : ['src', 'bench'];
const files = [];
function walk(p) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) if (e !== 'node_modules') walk(join(p, e));
  } else if (p.endsWith('.test.ts')) files.push(relative(root, p));
}
for (const r of roots) walk(join(root, r));
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TSNAS_TEST: '1' },
});
process.exit(r.status ?? 1);
