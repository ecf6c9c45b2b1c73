import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch, MlpArch, NetworkArch } from '../core/arch.js';
import { workerId } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { TrainingEvaluator } from '../eval/train.js';
import type { Evaluator } from '../eval/types.js';
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

/** A test double: each evaluation writes a file named by its request id and reports it as its artifact. */
function fileEvaluator(dir: string): Evaluator<unknown> {
  return {
    name: 'file',
    metricNames: ['val_acc'],
    maxBudget: 1,
    async evaluate(req) {
      const artifact = join(dir, `${req.id}.sd`);
      writeFileSync(artifact, 'weights');
      return { status: 'complete', metrics: { val_acc: 1 }, curve: [], artifact };
    },
    discardArtifact: (a) => rmSync(a, { force: true }),
  };
}

test('a worker that lost its lease discards its artifact; the worker that took the trial over records its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-study-weights-'));
  const store = SqliteStore.open(`sqlite:${join(dir, 's.db')}`, join(dir, 's.db'));
  try {
    const rec = await store.createStudy(spec('c', 'val_acc'));
    const ev = fileEvaluator(dir);
    const a = new Study(store, rec, listDriver([mlp(4)]), ev, { workerId: workerId('a'), leaseMs: 20, heartbeatMs: 10_000 });
    const asked = await a.ask();
    assert.equal(asked.kind, 'trial');
    if (asked.kind !== 'trial') return;
    await new Promise((r) => setTimeout(r, 50));
    const taken = await store.claimTrial(rec.id, workerId('b'), 60_000);
    assert.equal(taken?.attempt, 2);
    assert.equal(await a.runTrial(asked.trial), 'lease_lost');
    assert.ok(!existsSync(join(dir, 'trial-0-a1.sd')), 'the stale attempt left no file');
    const b = new Study(store, rec, listDriver([mlp(4)]), ev, { workerId: workerId('b') });
    const done = await b.runTrial(taken!);
    assert.ok(typeof done === 'object' && done.state === 'complete');
    if (typeof done === 'object') assert.equal(done.userAttrs['weights_path'], join(dir, 'trial-0-a2.sd'));
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.sd')), ['trial-0-a2.sd']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
