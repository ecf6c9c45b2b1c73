/**
 * Study configs as workers see them: the validated config stored with a study must rebuild the
 * same config on any worker (`configToRaw`), and `max_lease_retries` (issue 18) is validated and
 * reaches every worker's Study.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { configToJson, configToRaw, validateConfig } from './config.js';
import { createStudy, loadStudy, prepareSearch } from './index.js';

const withDir = async (fn: (dir: string) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-config-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** A config using every field, each away from its default. */
const full = (dir: string) => ({
  study: 'every-field',
  storage: `sqlite:${join(dir, 'a.db')}`,
  space: 'nb201',
  strategy: { name: 'evolution', options: { population: 6, sampleSize: 3 } },
  evaluator: { name: 'nb201', delay_ms: 5 },
  objectives: [{ metric: 'val_acc', direction: 'maximize', tie_break: { metric: 'params', direction: 'minimize' } }],
  constraints: [{ metric: 'params', max: 2_000_000 }],
  trials: 7,
  wallclock: 600,
  seed: 11,
  workers: 2,
  lease: 12,
  max_lease_retries: 5,
  prescreen: { candidates: 50, top: 5, proxies: ['synflow'] },
  warm_start: [{ study: 'earlier', storage: `sqlite:${join(dir, 'b.db')}` }],
});

test('a stored config rebuilds the same config (every field: warm_start, tie_break, max_lease_retries...)', () =>
  withDir(async (dir) => {
    const c = validateConfig(full(dir), dir);
    assert.equal(c.maxLeaseRetries, 5);
    assert.ok(c.warmStart && c.objectives[0]!['tieBreak'] !== undefined, 'the fields under test are set');
    const stored = JSON.parse(JSON.stringify(configToJson(c)));
    assert.deepEqual(validateConfig(configToRaw(stored), '/elsewhere'), c);
    // Before configToRaw, the camelCase fields of the stored config were refused as unknown.
    assert.throws(() => validateConfig(stored, dir), (e: unknown) => isNasError(e, 'invalid_config'));
    // A field this build does not know stays, so it is named.
    assert.throws(() => validateConfig(configToRaw({ ...stored, futureField: 1 }), dir), (e: unknown) => isNasError(e, 'invalid_config') && /futureField/.test((e as Error).message));
  }));

test('max_lease_retries: default 3, 0 allowed, bad values named', () =>
  withDir(async (dir) => {
    const base = { study: 's', storage: `sqlite:${join(dir, 'a.db')}`, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201' } };
    assert.equal(validateConfig(base, dir).maxLeaseRetries, 3);
    assert.equal(validateConfig({ ...base, max_lease_retries: 0 }, dir).maxLeaseRetries, 0);
    for (const bad of [-1, 1.5, 'three', true])
      assert.throws(() => validateConfig({ ...base, max_lease_retries: bad }, dir), (e: unknown) => isNasError(e, 'invalid_config') && JSON.stringify((e as { details?: unknown }).details ?? e.field).includes('max_lease_retries'), String(bad));
  }));

test('a worker joins a warm-started study with a tie-break and gets its max_lease_retries (overridable)', () =>
  withDir(async (dir) => {
    const cfg = full(dir);
    const { prescreen: _p, ...noPrescreen } = cfg;
    void _p;
    const earlier = prepareSearch({ config: { ...noPrescreen, study: 'earlier', storage: cfg.warm_start[0]!.storage, warm_start: undefined, trials: 3 } as never });
    await (await createStudy(earlier)).close();
    const prepared = prepareSearch({ config: noPrescreen });
    await (await createStudy(prepared)).close();
    // What `tsnas worker` (and `tsnas search --workers N`'s processes) do on any machine.
    const h = await loadStudy(cfg.storage, cfg.study);
    try {
      assert.equal(h.study.maxLeaseRetries, 5);
      assert.deepEqual(h.parts.config.objectives, prepared.config.objectives);
      assert.deepEqual(h.parts.config.warmStart, prepared.config.warmStart);
      assert.equal(h.study.leaseMs, 12_000);
    } finally {
      await h.close();
    }
    const o = await loadStudy(cfg.storage, cfg.study, { maxLeaseRetries: 1 });
    assert.equal(o.study.maxLeaseRetries, 1);
    await o.close();
  }));
