/** `tsnas compress MODEL_DIR` in a real process, on an exported-style directory trained on digits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MlpArch } from '../core/arch.js';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';
import { interruptCli } from './testing/interrupt.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });

test('tsnas compress MODEL_DIR: rows per stage as JSON lines; bad options exit 2 and write nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-compress-'));
  try {
    const arch: MlpArch = { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 };
    const model = join(dir, 'model');
    // Untrained weights are enough to check the command's plumbing (the pipeline tests check accuracy).
    writeUntrainedDigitsModel(model, arch);
    const out = join(dir, 'out');
    const r = cli(['compress', model, '--prune', 'channels=0.25', '--finetune-epochs', '1', '--quantize', 'dynamic', '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { stage: string; params: number });
    assert.deepEqual(rows.map((x) => x.stage), ['float', 'pruned', 'int8']);
    assert.ok(rows[1]!.params < rows[0]!.params);
    assert.deepEqual(readdirSync(out).sort(), ['float', 'int8', 'pruned', 'report.json']);
    // Each error names the flag that set the option (session 10), not the API's option field.
    for (const [flags, field] of [
      [['--prune', 'sparsity=1'], '--prune: sparsity'],
      [['--quantize', 'static', '--calibration', '0'], '--calibration: '],
      [['--prune', 'channels=1'], '--prune: '],
      [['--prune', 'flops=0.0001'], '--prune: '],
      [['--prune', 'sparsity=0.8', '--prune-min-density', '0.5'], '--prune-min-density: '],
      [['--quantize', 'dynamic', '--per-tensor'], 'per-tensor'],
      [['--quantize', 'qat', '--qat-freeze-bn', '0'], 'qat-freeze-bn'],
      [['--quantize', 'static', '--qat-freeze-observers', '2'], 'qat-freeze-observers'],
    ] as const) {
      const bad = cli(['compress', model, ...flags, '--out', join(dir, 'bad')]);
      assert.equal(bad.status, 2, bad.stderr);
      assert.ok(bad.stderr.includes(field), `${field} not in: ${bad.stderr}`);
      if (flags[1] === 'flops=0.0001') assert.match(bad.stderr, /reaches FLOPs fractions from 0\.\d+ .*up to 1.*--prune flops=0\.\d+ or more/);
      assert.deepEqual(readdirSync(dir).sort(), ['model', 'out'], `${field}: no output, no partial directory`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the compress table shows nonzero params and gzipped size when a stage is sparsity-pruned (new-user finding 5)', async () => {
  const { stageTable } = await import('./commands-compress.js');
  const row = { model: 'm', test_acc: 90, params: 1000, size_bytes: 4100, flops: 2000, latency_ms: 1, latency_1t_ms: 1, latency_min_ms: 1, latency_1t_min_ms: 1 };
  const dense = stageTable([{ ...row, stage: 'float', gzip_bytes: 3900 }]);
  assert.doesNotMatch(dense, /nonzero params/);
  const t = stageTable([{ ...row, stage: 'float', gzip_bytes: 3900 }, { ...row, stage: 'pruned', sparsity: 0.8, nonzero_params: 210, gzip_bytes: 1200 }]);
  assert.match(t, /nonzero params/);
  assert.match(t, /gzip bytes/);
  const pruned = t.split('\n').find((l) => /pruned/.test(l))!;
  assert.match(pruned, /\b1000\b.*\b210\b.*\b4100\b.*\b1200\b/);
  assert.doesNotMatch(t, /threads used/);
  const chosen = stageTable([{ ...row, stage: 'float', latency_threads: 1 }]);
  assert.match(chosen, /threads used/);
});


test('the compress table never shows the total as nonzero params on a stage that did not count them (session 9: the int8 row of an 80%-sparse model)', async () => {
  const { stageTable } = await import('./commands-compress.js');
  const row = { model: 'm', test_acc: 90, params: 1000, size_bytes: 4100, flops: 2000, latency_ms: 1, latency_1t_ms: 1, latency_min_ms: 1, latency_1t_min_ms: 1 };
  const t = stageTable([
    { ...row, stage: 'float' },
    { ...row, stage: 'pruned', sparsity: 0.8, nonzero_params: 210, gzip_bytes: 1200 },
    { ...row, stage: 'int8', quant_mode: 'static', size_bytes: 1100 },
  ]);
  const cells = (stage: RegExp) => t.split('\n').find((l) => stage.test(l))!.trim().split(/\s{2,}/);
  // columns: model, stage, test acc, params, nonzero params, ...
  assert.equal(cells(/int8/)[4], '-', t);
  assert.equal(cells(/^m\s+float/)[4], '-', t);
  assert.equal(cells(/pruned/)[4], '210', t);
  assert.match(t, /nonzero params: counted on the pruned stage/);
});

test('Ctrl-C during the fine-tuning of tsnas compress --out DIR leaves no DIR.partial-* (new user, session 10, finding 7); kill -9 leaves one that the next run removes and says', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-compress-int-'));
  try {
    const arch: MlpArch = { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 };
    writeUntrainedDigitsModel(join(dir, 'model'), arch);
    // 500 epochs: the signal is sent when epoch 1 is reported, long before the last one.
    const args = ['compress', join(dir, 'model'), '--prune', 'sparsity=0.5', '--quantize', 'dynamic', '--finetune-epochs', '500', '--out', join(dir, 'cq2')];
    const r = await interruptCli(args, /fine-tune epoch 1\/500/);
    assert.ok(r.sent, r.stderr);
    assert.equal(r.code, 130, r.stderr);
    // A graceful stop (session 11): after the current batch, saying where; the work directory removed by the error path.
    assert.match(r.stderr, /SIGINT: stopping; the compression stops at the next stage boundary or fine-tuning batch/);
    assert.match(r.stderr, /compression stopped in the pruned stage's fine-tuning: fine-tuning stopped after step \d+ of \d+ \(epoch \d+ of 500\) \(done: float\); nothing was written/);
    assert.deepEqual(readdirSync(dir), ['model'], 'no cq2, no cq2.partial-*');
    // kill -9: no code runs, the work directory stays; the next run to the same --out removes it and says so.
    const k = await interruptCli(args, /fine-tune epoch 1\/500/, { signal: 'SIGKILL' });
    assert.equal(k.signal, 'SIGKILL', k.stderr);
    assert.equal(readdirSync(dir).filter((f) => /^cq2\.partial-\d+-[0-9a-f]+$/.test(f)).length, 1, readdirSync(dir).join(', '));
    const again = cli(['compress', join(dir, 'model'), '--quantize', 'dynamic', '--out', join(dir, 'cq2'), '--no-onnx', '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /removed .*cq2\.partial-\d+-[0-9a-f]+, the unfinished output of an earlier run \(process \d+, no longer running\)/);
    assert.deepEqual(readdirSync(dir).sort(), ['cq2', 'model']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
