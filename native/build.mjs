#!/usr/bin/env node
// Builds the addon with node-gyp. Uses the local Node headers (e.g. /usr/include/node) when they
// match the running Node, so no header download is needed on an offline machine; otherwise lets
// node-gyp fetch them. LIBTORCH=/path is read by binding.gyp.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const here = dirname(new URL(import.meta.url).pathname);
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild', '-j', '2', '--directory', here];
const versionH = join(prefix, 'include', 'node', 'node_version.h');
if (existsSync(versionH)) {
  const h = readFileSync(versionH, 'utf8');
  const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => h.match(new RegExp(`#define NODE_${k}_VERSION (\\d+)`))?.[1]).join('.');
  if (`v${v}` === process.version) args.push(`--nodedir=${prefix}`);
}
const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
