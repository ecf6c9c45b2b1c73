/**
 * One-shot studies through the real CLI and the API: kill -9 of the search process after a
 * supernet epoch and a rerun that resumes after it (not from zero), the store record of
 * docs/oneshot.md, export of the retrained derived architecture, and bad input refused before
 * anything is written. Tiny sizes (digits, NB201 supernet C=4 N=1, 3 epochs).
 */
import { MIN_ALPHA_GAP } from '../oneshot/indecision.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNasError } from '../core/errors.js';
import { openStore } from '../store/index.js';
import { exportWinner } from './results.js';
import { oneShotSearch, prepareOneShot } from './oneshot.js';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}

function config(dir: string, o: { method?: string; space?: string; trainPerClass?: number; evaluator?: string } = {}): string {
  const path = join(dir, 'oneshot.json');
  writeFileSync(
    path,
    JSON.stringify({
      study: 'os',
      storage: `sqlite:${join(dir, 'os.db')}`,
      space: o.space ?? 'nb201',
      strategy: { name: o.method ?? 'darts', options: { epochs: 3, batch_size: 32, width: 4, cells: 1, final_epochs: 1 } },
      evaluator: o.evaluator === undefined ? { name: 'train', dataset: 'digits', train_per_class: o.trainPerClass ?? 40, epochs: 1, threads: 1, nb201: { width: 4, cells: 1 } } : { name: o.evaluator },
      lease: 1,
      seed: 5,
    }),
  );
  return path;
}

test('kill -9 after a supernet epoch: the rerun resumes after it, records the study, exports the winner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-'));
  try {
    const cfg = config(dir);
    const first = start(['search', cfg]);
    // wait for epoch 2's line (its checkpoint is written before the line), then kill -9
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (/supernet epoch 2\/3/.test(first.stderr())) {
          clearInterval(t);
          first.child.kill('SIGKILL');
          resolve();
        } else if (first.child.exitCode !== null) {
          clearInterval(t);
          reject(new Error(`search ended before epoch 2: ${first.stderr()}`));
        }
      }, 50);
    });
    await first.done;
    assert.ok(existsSync(join(dir, 'os.db.artifacts', 'os', 'oneshot-search.ckpt')));
    const second = await start(['search', cfg]).done;
    assert.equal(second.code, 0, second.stderr);
    const m = /resumed the supernet search after epoch (\d)/.exec(second.stderr);
    assert.ok(m && Number(m[1]) >= 2, second.stderr);
    assert.doesNotMatch(second.stderr, /supernet epoch 1\/3/);
    assert.match(second.stdout, /study os: complete \(resumed\)/);

    const store = await openStore(`sqlite:${join(dir, 'os.db')}`);
    try {
      const st = await store.requireStudy('os');
      assert.equal(st.state, 'finished');
      assert.deepEqual((st.userAttrs['oneshot'] as { format: string }).format, 'tsnas.oneshot/1');
      const [search, derived] = await store.listTrials(st.id);
      assert.equal(search!.state, 'complete');
      assert.equal(search!.values, null);
      assert.equal(search!.attempt, 2);
      const steps = (await store.getIntermediates(search!.id)).map((r) => r.step);
      assert.deepEqual(steps, [1, 2, 3]);
      const alpha = search!.userAttrs['alpha'] as { format: string; edges: { name: string; ops: string[] }[]; epochs: { epoch: number; probs: number[][] }[] };
      assert.equal(alpha.format, 'tsnas.alpha/1');
      assert.deepEqual(alpha.edges.map((e) => e.name), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
      assert.deepEqual(alpha.epochs.map((e) => e.epoch), [1, 2, 3]);
      assert.deepEqual(search!.userAttrs['derived_arch'], derived!.arch);
      // the negligible-margin check (src/oneshot/indecision.ts) on the last epoch's alpha: recorded,
      // warned about and in the metrics exactly when some edge's top two ops are within 5%
      const lastProbs = alpha.epochs[alpha.epochs.length - 1]!.probs;
      const gaps = lastProbs.map((row) => {
        const [a, b] = [...row].sort((x, y) => y - x);
        return Math.log(a! / b!);
      });
      const minGap = Math.min(...gaps);
      const ind = search!.userAttrs['indecision'] as { format: string; negligible: { name: string }[]; message: string } | undefined;
      if (minGap < 0.9 * MIN_ALPHA_GAP) {
        assert.equal(ind?.format, 'tsnas.indecision/1', `min gap ${minGap}`);
        assert.equal(ind!.negligible.length, gaps.filter((g) => g < MIN_ALPHA_GAP).length);
        assert.match(second.stderr, /warning: \d+ of 6 choices of the derived architecture were decided by a negligible alpha margin .*raise alpha_lr/);
        assert.equal(search!.metrics!['negligible_decisions'], ind!.negligible.length);
        assert.ok(Math.abs(search!.metrics!['decision_margin_min']! - minGap) < 1e-3);
      } else if (minGap > 1.1 * MIN_ALPHA_GAP) {
        assert.equal(ind, undefined);
        assert.equal(search!.metrics!['decision_margin_min'], undefined);
      }
      assert.equal(derived!.state, 'complete');
      assert.equal(typeof derived!.metrics!['test_acc'], 'number');
      assert.equal((await store.bestTrial(st.id))!.number, 1);
    } finally {
      await store.close();
    }
    const ex = await exportWinner(`sqlite:${join(dir, 'os.db')}`, 'os', join(dir, 'winner'));
    assert.deepEqual(ex.files.sort(), ['arch.json', 'metrics.json', 'model.onnx', 'weights.bin']);
    // a rerun of a finished study changes nothing
    const third = await start(['search', cfg, '--json']).done;
    assert.equal(third.code, 0, third.stderr);
    assert.equal(JSON.parse(third.stdout).counts.complete, 2);
    // workers cannot join a one-shot study
    const worker = await start(['worker', '--storage', `sqlite:${join(dir, 'os.db')}`, '--study', 'os']).done;
    assert.equal(worker.code, 2);
    assert.match(worker.stderr, /one-shot study/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: no supernet for the space, a non-train evaluator, data too small: errors, nothing written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-'));
  try {
    // the shipped example validates (nothing is run or written)
    const ex = prepareOneShot({ configPath: join(ROOT, 'examples', 'nb201-darts.yaml') });
    assert.equal(ex.method, 'darts');
    assert.equal(ex.options.guard, 'beta_decay');
    assert.throws(() => prepareOneShot({ configPath: config(dir, { space: 'mlp' }) }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'space');
    assert.throws(() => prepareOneShot({ configPath: config(dir, { space: 'darts', method: 'spos' }) }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.name');
    assert.throws(() => prepareOneShot({ configPath: config(dir, { evaluator: 'synthetic' }) }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'evaluator.name');
    const p = prepareOneShot({ configPath: config(dir, { trainPerClass: 2 }) });
    await assert.rejects(oneShotSearch(p), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'evaluator.dataset');
    assert.deepEqual(readdirSync(dir), ['oneshot.json']);
    const cli = await start(['search', '--space', 'mlp', '--strategy', 'gdas', '--dataset', 'digits', '--storage', `sqlite:${join(dir, 'x.db')}`]).done;
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /needs a supernet/);
    assert.deepEqual(readdirSync(dir), ['oneshot.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
