import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch, MlpArch, NetworkArch } from '../core/arch.js';
import { workerId } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { TrainingEvaluator } from '../eval/train.js';
import { SqliteStore } from '../store/sqlite.js';
import type { StudySpec } from '../store/types.js';
import type { AskResult, StrategyDriver } from './driver.js';
import { Study } from './study.js';

const mlp = (h: number): MlpArch => ({ family: 'mlp', hidden: [h], activation: 'relu', batchNorm: false, dropout: 0 });
/** 8x8 digits -> pool 5 -> 1x1 -> pool 2 -> 0x0: fails as invalid_arch. */
const layer = { kernel: 3, channels: 4, activation: 'relu', batchNorm: false, skip: false } as const;
const invalid: ChainCnnArch = { family: 'chain_cnn', dropout: 0, layers: [{ ...layer, pool: 5 }, { ...layer, pool: 2 }] };

/** Proposes the given architectures in order, then is done. */
function listDriver(archs: readonly NetworkArch[]): StrategyDriver {
  return {
    needsIntermediates: false,
    init: () => ({ next: 0 }),
    ask(state): { state: Json; result: AskResult } {
      const i = (state as { next: number }).next;
      if (i >= archs.length) return { state, result: { kind: 'done', reason: 'list exhausted' } };
      return { state: { next: i + 1 }, result: { kind: 'trial', proposal: { arch: archs[i] as unknown as Json, archKey: String(i), budget: null, params: {} } } };
    },
    tell: (state) => state,
  };
}

function spec(name: string, objective: string): StudySpec {
  return {
    name,
    strategy: { name: 'list', options: {} },
    space: { name: 'test', definition: null },
    evaluator: { name: 'train', options: {} },
    objectives: [{ metric: objective, direction: 'maximize' }],
    constraints: [],
    seed: 3,
    maxTrials: null,
    config: {},
  };
}

test('a complete trial with a kept artifact gets weights_path; failed trials and unrecorded outcomes leave no file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-study-weights-'));
  const store = SqliteStore.open(`sqlite:${join(dir, 's.db')}`, join(dir, 's.db'));
  try {
    const weightsDir = join(dir, 'w');
    const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 1, skipTest: true, weightsDir });
    const rec = await store.createStudy(spec('a', 'val_acc'));
    const finished: (string | undefined)[] = [];
    const study = new Study(store, rec, listDriver([mlp(16), invalid, mlp(32)]), ev, { workerId: workerId('w') });
    const r = await study.optimize({ onEvent: (e) => e.type === 'finished' && finished.push(e.trial.userAttrs['weights_path'] as string | undefined) });
    assert.equal(r.finished, 3);
    const trials = await store.listTrials(rec.id);
    assert.deepEqual(trials.map((t) => t.state), ['complete', 'failed', 'complete']);
    const paths = trials.map((t) => t.userAttrs['weights_path']);
    assert.equal(paths[1], undefined);
    for (const i of [0, 2]) {
      const p = paths[i] as string;
      assert.ok(p.startsWith(`${weightsDir}/trial-${i}-a1-s`), p);
      assert.ok(existsSync(p));
    }
    assert.deepEqual(finished, paths);
    assert.deepEqual(readdirSync(weightsDir).sort(), [paths[0], paths[2]].map((p) => (p as string).slice(weightsDir.length + 1)).sort());

    // An objective the evaluator does not report turns complete outcomes into failed trials: their files go.
    const rec2 = await store.createStudy(spec('b', 'latency_ms'));
    const w2 = join(dir, 'w2');
    const ev2 = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 1, skipTest: true, weightsDir: w2 });
    await new Study(store, rec2, listDriver([mlp(8), mlp(12)]), ev2, { workerId: workerId('w') }).optimize();
    const t2 = await store.listTrials(rec2.id);
    assert.deepEqual(t2.map((t) => [t.state, t.userAttrs['weights_path']]), [['failed', undefined], ['failed', undefined]]);
    assert.deepEqual(readdirSync(w2), []);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
