/**
 * An interrupt of tsnas compress during a synchronous stage (the float stage's test pass,
 * calibration, the latency measurement, the ONNX export) is honoured at the next stage boundary,
 * and nothing is left: before, a Ctrl-C there was handled only after the stage returned, and one
 * during the last stages was lost when the output was committed (its handler is removed with the
 * work directory's hold), so the command finished with exit 0. The abort is raised from the log
 * line a stage prints, so each case stops at a known point without timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { writeUntrainedDigitsModel } from './testing/weights.js';
import { compressModel } from './compress.js';
import { finetuneModel } from './finetune.js';

const ARCH: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 };

test('compress: an abort during a synchronous stage stops at the next boundary, names it, writes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-compress-int-'));
  try {
    writeUntrainedDigitsModel(join(dir, 'model'), ARCH);
    const cases: [RegExp, RegExp][] = [
      [/model float: test acc/, /compression stopped before the pruned stage \(done: float\)/],
      [/model int8: test acc/, /compression stopped before the latency measurement \(done: float, pruned, int8\)/],
      [/model float: batch-1 latency/, /compression stopped before writing report\.json \(done: float, pruned, int8\)/],
    ];
    for (const [at, said] of cases) {
      const ctl = new AbortController();
      const log = (l: string) => {
        if (at.test(l)) ctl.abort('interrupted');
      };
      await assert.rejects(
        compressModel({ dir: join(dir, 'model') }, { prune: { kind: 'magnitude', sparsity: 0.5 }, finetuneEpochs: 1, quantize: 'static', calibration: 64, latencyRuns: 1, outDir: join(dir, 'out'), onnx: true, signal: ctl.signal, log }),
        (e: unknown) => isNasError(e, 'aborted') && said.test(e.message) && /nothing was written/.test(e.message),
        String(at),
      );
      assert.deepEqual(readdirSync(dir), ['model'], `${at}: no out, no out.partial-*`);
    }
    // An abort during the fine-tuning stops after the current batch, as before, named as the pruned stage's.
    const ctl = new AbortController();
    await assert.rejects(
      compressModel({ dir: join(dir, 'model') }, { prune: { kind: 'magnitude', sparsity: 0.5 }, finetuneEpochs: 200, quantize: 'dynamic', latencyRuns: 1, outDir: join(dir, 'out'), signal: ctl.signal, log: (l) => /fine-tune epoch 1\//.test(l) && ctl.abort() }),
      (e: unknown) => isNasError(e, 'aborted') && /compression stopped in the pruned stage's fine-tuning: fine-tuning stopped after step \d+ of \d+/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), ['model']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finetune: an abort during its last synchronous steps (test pass, ONNX export) is honoured before the output is committed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-finetune-int-'));
  try {
    writeUntrainedDigitsModel(join(dir, 'model'), ARCH);
    const ctl = new AbortController();
    await assert.rejects(
      finetuneModel({ dir: join(dir, 'model') }, { epochs: 1, outDir: join(dir, 'out'), signal: ctl.signal, log: (l) => /^test acc/.test(l) && ctl.abort() }),
      (e: unknown) => isNasError(e, 'aborted') && /before its output was written/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), ['model']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
