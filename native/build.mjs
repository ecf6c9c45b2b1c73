#!/usr/bin/env node
// Builds the addon with node-gyp. Uses the local Node headers (e.g. /usr/include/node) when they
// match the running Node, so no header download is needed on an offline machine; otherwise lets
// node-gyp fetch them. LIBTORCH=/path is read by binding.gyp.
// Incremental: when build/ was configured here, for this binding.gyp, the same Node and the same LIBTORCH,
// only `node-gyp build` runs (make recompiles only the changed sources and the ones whose headers
// changed); otherwise `rebuild` (configure from scratch). TSNAS_NATIVE_REBUILD=1 forces a rebuild.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const here = dirname(new URL(import.meta.url).pathname);
const prefix = dirname(dirname(process.execPath));
const stampFile = join(here, 'build', 'tsnas-configure.json');
// `dir`: the generated Makefile holds paths relative to where it was configured, so a build/ copied
// from another checkout must be configured again.
const stamp = JSON.stringify({ dir: here, node: process.version, libtorch: process.env.LIBTORCH ?? '', gypMtime: statSync(join(here, 'binding.gyp')).mtimeMs });
const configured =
  process.env.TSNAS_NATIVE_REBUILD !== '1' &&
  existsSync(join(here, 'build', 'Makefile')) &&
  existsSync(stampFile) &&
  readFileSync(stampFile, 'utf8') === stamp;
const args = [configured ? 'build' : 'rebuild', '-j', '2', '--directory', here];
const versionH = join(prefix, 'include', 'node', 'node_version.h');
if (existsSync(versionH)) {
  const h = readFileSync(versionH, 'utf8');
  const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => h.match(new RegExp(`#define NODE_${k}_VERSION (\\d+)`))?.[1]).join('.');
  if (`v${v}` === process.version) args.push(`--nodedir=${prefix}`);
}
const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
if (r.status === 0 && !configured) writeFileSync(stampFile, stamp);
process.exit(r.status ?? 1);
