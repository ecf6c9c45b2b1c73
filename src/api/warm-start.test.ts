/** Warm start (issue 13 item 4): earlier studies' trials seed a new study before its first ask. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { prepareSearch, search } from './study.js';
import { openStore } from '../store/index.js';

const nb201 = (study: string, storage: string, trials: number, extra: Record<string, unknown> = {}) =>
  prepareSearch({ config: { study, storage, space: 'nb201', strategy: 'evolution', evaluator: 'nb201', trials, seed: 7, ...extra } });

test('warm start: the source study\'s complete trials are imported, marked, told to the strategy; new trials on top of them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-warm-'));
  try {
    const a = `sqlite:${join(dir, 'a.db')}`;
    const b = `sqlite:${join(dir, 'b.db')}`;
    await search(nb201('earlier', a, 30));
    const r = await search(nb201('later', b, 10, { warm_start: [{ study: 'earlier', storage: a }] }));
    assert.equal(r.counts.complete, 40);
    const s = await openStore(b);
    try {
      const rec = await s.requireStudy('later');
      assert.equal(rec.maxTrials, 40);
      const trials = await s.listTrials(rec.id);
      const warm = trials.filter((t) => t.userAttrs['warm_start'] !== undefined);
      assert.equal(warm.length, 30);
      assert.deepEqual(warm.map((t) => t.number), Array.from({ length: 30 }, (_, i) => i), 'imported before the first ask');
      assert.deepEqual(warm[0]!.userAttrs['warm_start'], { study: 'earlier', storage: a, number: 0 });
      // No new trial repeats an imported architecture, and the strategy was told every trial.
      const keys = new Set(trials.map((t) => t.archKey));
      assert.equal(keys.size, 40);
      const st = (await s.loadStrategyState(rec.id)).state as { toldBelow: number; strategy: { population: string[] } };
      assert.equal(st.toldBelow, 40);
      assert.deepEqual((await s.getStudy('later'))!.userAttrs['warm_start'], { sources: [{ study: 'earlier', storage: a, complete: 30, imported: 30, skipped: 0 }], imported: 30 });
    } finally {
      await s.close();
    }
    // Resuming does not import again.
    const again = await search(nb201('later', b, 10, { warm_start: [{ study: 'earlier', storage: a }] }));
    assert.equal(again.counts.total, 40);
    // Same storage by default (storage omitted): a second study in a.db.
    const c = await search(nb201('same-store', a, 5, { warm_start: ['earlier'] }));
    assert.equal(c.counts.complete, 35);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warm start: an incompatible or missing source is an error naming warm_start[i], before the study is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-warm-bad-'));
  try {
    const a = `sqlite:${join(dir, 'a.db')}`;
    await search(prepareSearch({ config: { study: 'mlp-synth', storage: a, space: 'mlp', strategy: 'random', evaluator: { name: 'synthetic', steps: 1 }, trials: 3 } }));
    const expectErr = async (ws: unknown, re: RegExp) => {
      await assert.rejects(search(nb201('target', a, 5, { warm_start: ws })), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'warm_start[0]' && re.test((e as Error).message));
      const s = await openStore(a);
      try {
        assert.equal(await s.getStudy('target'), null, 'nothing written');
      } finally {
        await s.close();
      }
    };
    await expectErr([{ study: 'mlp-synth' }], /study mlp-synth searched space mlp; this study searches nb201/);
    await expectErr([{ study: 'nope' }], /no study "nope" in/);
    await expectErr(['target'], /cannot warm-start from itself/);
    assert.throws(() => nb201('t', a, 5, { warm_start: [] }), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'warm_start');
    assert.throws(() => nb201('t', a, 5, { warm_start: [{ study: 'x', store: 'y' }] }), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'warm_start[0].store');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
