/**
 * `tsnas dashboard` only reads a store: its process must not load the libtorch addon (loading it
 * dlopens libtorch, seconds on a cold cache, src/tensor/native.ts). The server's module graph
 * still reaches tensor code (through the strategy registry and the CLI's other commands), which
 * is why the addon loads on first use instead of at import. Checked in this test's own process
 * (node:test runs each file in a process of its own): after the server module is imported and a
 * study view's every route has been answered, neither the addon nor libtorch is mapped
 * (/proc/self/maps) and src/tensor/native.ts says it has not loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Native libraries mapped into this process that belong to tsnas's addon or libtorch. */
function mappedNative(): string[] {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const found = new Set<string>();
  for (const line of maps.split('\n')) {
    const path = line.split(/\s+/).slice(5).join(' ');
    if (/tsnas_native\.node$|libtorch/.test(path)) found.add(path);
  }
  return [...found];
}

test('the dashboard server does not load the libtorch addon, from import to serving a study view', { skip: existsSync('/proc/self/maps') ? false : 'needs /proc/self/maps (Linux)' }, async () => {
  assert.deepEqual(mappedNative(), [], 'nothing loaded before the test');
  const { startDashboard } = await import('./index.js');
  const { openStore } = await import('../store/index.js');
  const { createBigStudy } = await import('./testing/big-study.js');
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-lazy-native-'));
  try {
    const url = `sqlite:${join(dir, 's.db')}`;
    const store = await openStore(url);
    const id = await createBigStudy(store, { trials: 60 });
    await store.close();
    // the API answers without the front end's build; a placeholder page stands in for it
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'index.html'), '<!doctype html><title>tsnas</title>');
    const dash = await startDashboard({ storage: url, port: 0, assetsDir: join(dir, 'assets'), warm: true });
    try {
      for (const path of [
        'api/studies',
        `api/studies/${id}/head`,
        `api/studies/${id}/overview`,
        `api/studies/${id}`,
        `api/studies/${id}/series`,
        `api/studies/${id}/oneshot`,
        `api/studies/${id}/pareto?x=latency_ms&y=val_acc`,
        `api/studies/${id}/trials?sort=param:lr&limit=5`,
        `api/studies/${id}/trials/3`,
        `api/compare?ids=${id}`,
      ]) {
        const r = await fetch(`${dash.url}${path}`);
        assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
        await r.json();
      }
    } finally {
      await dash.close();
    }
    assert.deepEqual(mappedNative(), [], 'the addon and libtorch stay unloaded');
    const { nativeLoaded } = await import('../tensor/native.js');
    assert.equal(nativeLoaded(), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
