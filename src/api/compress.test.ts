/** compressModel({ study, storage }): a study's best trial with kept weights, through the real API. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { compressModel } from './compress.js';
import { prepareSearch, search } from './index.js';

test('compressModel({ study, storage }) compresses the best trial on the study\'s dataset; a study without kept weights names the study', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-api-compress-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    const cfg = (study: string, evaluator: Record<string, unknown> = {}) => ({
      study,
      storage,
      space: 'mlp',
      strategy: 'random',
      evaluator: { name: 'train', dataset: 'digits', epochs: 2, threads: 1, skip_test: true, ...evaluator },
      trials: 2,
      seed: 1,
    });
    const r = await search(prepareSearch({ config: cfg('kept') }));
    const best = r.best!;
    const out = join(dir, 'out');
    const c = await compressModel({ study: 'kept', storage }, { prune: { kind: 'channels', ratio: 0.25 }, finetuneEpochs: 1, quantize: 'dynamic', outDir: out, latencyRuns: 1, onnx: false });
    assert.deepEqual(c.rows.map((x) => x.stage), ['float', 'pruned', 'int8']);
    assert.equal(c.rows[0]!.model, `kept-trial-${best.number}`);
    // The float stage is the trial's own network on its dataset's test split: a trained accuracy.
    assert.ok(c.rows[0]!.test_acc > 50, `float ${c.rows[0]!.test_acc}`);
    assert.ok(c.rows[1]!.params < c.rows[0]!.params);
    assert.deepEqual(readdirSync(out).sort(), ['float', 'int8', 'pruned', 'report.json']);
    await search(prepareSearch({ config: cfg('nokeep', { keep_weights: false }) }));
    await assert.rejects(compressModel({ study: 'nokeep', storage }, { quantize: 'dynamic', outDir: join(dir, 'out2') }), (e: unknown) => isNasError(e, 'not_found') && e.field === 'study');
    await assert.rejects(compressModel({ study: 'missing', storage }, { quantize: 'dynamic' }), (e: unknown) => isNasError(e) && /missing/.test(e.message));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('out')), ['out']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
