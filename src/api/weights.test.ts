import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { prepareData } from '../data/prepare.js';
import { evaluateSubset, trainOnData } from '../eval/train.js';
import { buildNetwork } from '../nn/build/index.js';
import { loadModule } from '../nn/state.js';
import { Generator, getNumThreads, setNumThreads } from '../tensor/index.js';
import { assertAccClose, assertClose } from '../eval/testing/close.js';

function withThreads<T>(n: number, f: () => T): T {
  const prev = getNumThreads();
  setNumThreads(n);
  try {
    return f();
  } finally {
    setNumThreads(prev);
  }
}
import { bestTrial, exportWinner, loadStudy, prepareSearch, search, studyTrials } from './index.js';
import { recordFinalWeights } from './main-job.js';

/** A digits study with the train evaluator: 3 random MLPs, 1 epoch on 20 images per class. */
function config(dir: string, evaluator: Record<string, unknown> = {}, over: Record<string, unknown> = {}) {
  return {
    study: 'w',
    storage: `sqlite:${join(dir, 's.db')}`,
    space: 'mlp',
    strategy: 'random',
    evaluator: { name: 'train', dataset: 'digits', epochs: 1, train_per_class: 20, threads: 1, skip_test: true, ...evaluator },
    trials: 3,
    ...over,
  };
}

function rejects(f: () => unknown, field: string, hint?: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof NasError && e.code === 'invalid_config' && e.field === field && (hint === undefined || hint.test(e.hint ?? '')));
}

test('keep_weights and artifacts_dir are validated, naming the field', () => {
  // Validation only: nothing is created in the (existing, empty) directory of the storage.
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-validate-'));
  rejects(() => prepareSearch({ config: config(dir, { keep_weights: 'yes' }) }), 'evaluator.keep_weights');
  rejects(() => prepareSearch({ config: config(dir, { keep_weights: false, artifacts_dir: 'w' }) }), 'evaluator.artifacts_dir', /remove one/);
  rejects(() => prepareSearch({ config: config(dir, { artifacts_dir: '' }) }), 'evaluator.artifacts_dir');
  const pg = 'postgres://u@localhost:5432/db';
  rejects(() => prepareSearch({ config: config(dir, { keep_weights: true }, { storage: pg }) }), 'evaluator.artifacts_dir', /every worker can write/);
  // PostgreSQL: weights only where artifacts_dir says.
  assert.equal(prepareSearch({ config: config(dir, {}, { storage: pg }) }).config.evaluator.options['artifacts_dir'], undefined);
  assert.equal(prepareSearch({ config: config(dir, { artifacts_dir: '/tmp/a' }, { storage: pg }) }).config.evaluator.options['artifacts_dir'], '/tmp/a');
  assert.equal(prepareSearch({ config: config(dir, { artifacts_dir: 'a' }), baseDir: '/b' }).config.evaluator.options['artifacts_dir'], '/b/a');
  assert.equal(prepareSearch({ config: config(dir) }).config.evaluator.options['artifacts_dir'], `${dir}/s.db.artifacts/w`);
  assert.deepEqual(readdirSync(dir), []);
  rmSync(dir, { recursive: true });
});

test('a trained study keeps each complete trial\'s weights beside the database; reloaded, they reproduce the trial\'s val accuracy; export includes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-api-weights-'));
  try {
    const p = prepareSearch({ config: config(dir) });
    const artifacts = join(dir, 's.db.artifacts', 'w');
    assert.equal(p.config.evaluator.options['artifacts_dir'], artifacts);
    const r = await search(p);
    assert.equal(r.counts.complete, 3);
    const { trials } = await studyTrials(p.config.storage, 'w');
    const data = await prepareData({ kind: 'digits' }, { trainPerClass: 20 });
    const paths: string[] = [];
    for (const t of trials) {
      const path = t.userAttrs['weights_path'];
      assert.equal(typeof path, 'string', `trial ${t.number} has weights_path`);
      paths.push(path as string);
      const net = buildNetwork(t.arch as unknown as MlpArch, { shape: data.shape, numClasses: data.numClasses }, { gen: Generator.fromRng(Rng.fromSeed(999)) }).module;
      try {
        loadModule(path as string, net);
        // Same thread count as the evaluator (threads: 1), and a stated tolerance (src/eval/testing/close.ts).
        const val = withThreads(1, () => evaluateSubset(net, data.val, data, 1000));
        assertAccClose(val.acc, t.metrics!['val_acc'], data.val.indices.length, `trial ${t.number} val_acc`);
        assertClose(val.loss, t.metrics!['val_loss'], `trial ${t.number} val_loss`);
      } finally {
        net.dispose();
      }
    }
    // Exactly the complete trials' files, nothing else (no temporary files).
    assert.deepEqual(readdirSync(artifacts).sort(), paths.map((x) => x.slice(artifacts.length + 1)).sort());
    const ex = await exportWinner(p.config.storage, 'w', join(dir, 'out'));
    for (const f of ['arch.json', 'metrics.json', 'weights.bin']) assert.ok(readdirSync(ex.dir).includes(f), f);
    assert.deepEqual(readFileSync(join(ex.dir, 'weights.bin')), readFileSync(ex.trial.userAttrs['weights_path'] as string));

    // A worker loading the stored study writes to the same directory.
    const h = await loadStudy(p.config.storage, 'w');
    assert.equal(h.parts.config.evaluator.options['artifacts_dir'], artifacts);
    await h.close();
    // Where weights go is not part of the study's identity: the same study resumes with keep_weights false.
    const again = await search(prepareSearch({ config: config(dir, { keep_weights: false }) }));
    assert.equal(again.resumed, true);

    // tsnas main's last step: the retrained winner's weights become the trial's weights_path (what export copies).
    const best = ex.trial;
    const finalFile = join(artifacts, 'final-winner-s0.sd');
    const f = await trainOnData(data, { arch: best.arch as unknown as MlpArch, seed: 0, budget: 2 }, { weightsFile: finalFile, skipTest: true });
    assert.ok(f.outcome.status === 'complete');
    const fin = { weights: finalFile, epochs: 2, val_acc: f.outcome.metrics['val_acc']!, test_acc: null };
    await recordFinalWeights(p.config.storage, 'w', best.id, fin, finalFile);
    await recordFinalWeights(p.config.storage, 'w', best.id, fin, finalFile); // a rerun keeps the search-time path
    const after = (await bestTrial(p.config.storage, 'w')).best!;
    assert.equal(after.id, best.id);
    assert.equal(after.userAttrs['weights_path'], finalFile);
    assert.equal(after.userAttrs['search_weights_path'], best.userAttrs['weights_path']);
    // the final training runs on the whole training split (no validation split): epochs, test acc, weights
    assert.deepEqual(after.userAttrs['final_training'], { epochs: 2, test_acc: null, weights_path: finalFile });
    const ex2 = await exportWinner(p.config.storage, 'w', join(dir, 'out2'));
    assert.deepEqual(readFileSync(join(ex2.dir, 'weights.bin')), readFileSync(finalFile));
    // metrics.json says which training the exported weights come from
    assert.deepEqual(JSON.parse(readFileSync(join(ex2.dir, 'metrics.json'), 'utf8')).final_training, after.userAttrs['final_training']);
    assert.equal(JSON.parse(readFileSync(join(ex.dir, 'metrics.json'), 'utf8')).final_training, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keep_weights: false keeps no weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-api-weights-'));
  try {
    const p = prepareSearch({ config: config(dir, { keep_weights: false }, { trials: 2 }) });
    assert.equal(p.config.evaluator.options['artifacts_dir'], undefined);
    const r = await search(p);
    assert.equal(r.counts.complete, 2);
    const { trials } = await studyTrials(p.config.storage, 'w');
    assert.ok(trials.every((t) => t.userAttrs['weights_path'] === undefined));
    assert.ok(!existsSync(join(dir, 's.db.artifacts')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
