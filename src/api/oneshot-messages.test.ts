/**
 * One-shot messages and records (new user, session 10, finding 11), each input with its
 * siblings:
 * - `layers` is checked by the supernet's own rule: a chain_cnn supernet with `layers: 2` is
 *   valid (the chain_cnn space has 1-12 layers); out of range it names the chain_cnn rule, the
 *   darts supernet keeps its ">= 3 cells" wording;
 * - the alpha heat-map titles: a chain CNN's `layers[0].kernel` (no repeated cell, no -1→-1),
 *   NB201 `e2: 1→2`, DARTS `normal.n2.in0: 0→2` (was `normal normal.n2.in0`);
 * - skip / parameter-free edge counts only for supernets that have such ops (not chain_cnn);
 * - a rerun whose config differs names every differing field path with both values, for
 *   every section and both kinds of study (was `with different strategy`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasError } from '../core/errors.js';
import { parseOneShotOptions } from '../oneshot/options.js';
import { chainEdges } from '../oneshot/chain.js';
import { NB201_EDGES } from '../oneshot/nb201.js';
import { DARTS_EDGES } from '../oneshot/darts-cell.js';
import { hasParamFreeOps } from '../oneshot/supernet.js';
import { alphaEdgeTitle } from '../report/plot/charts.js';
import { openStore } from '../store/index.js';
import { identityConflict, identityDiff, identityOf } from './config.js';
import { oneShotSearch, prepareOneShot } from './oneshot.js';
import { createStudy, prepareSearch } from './index.js';

const TABLE = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));

function fieldError(f: () => unknown): NasError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof NasError, String(e));
    return e;
  }
  assert.fail('did not throw');
}

test('layers: each supernet by its own rule, named in the message', () => {
  assert.equal(parseOneShotOptions({ layers: 2 }, 'strategy.options', 'chain_cnn').layers, 2);
  assert.equal(parseOneShotOptions({ layers: 1 }, 'strategy.options', 'chain_cnn').layers, 1);
  for (const bad of [0, 13]) {
    const e = fieldError(() => parseOneShotOptions({ layers: bad }, 'strategy.options', 'chain_cnn'));
    assert.match(e.message, /layers must be an integer in \[1, 12\] \(the chain_cnn supernet's conv layers/);
    assert.doesNotMatch(e.message, /reduction/);
  }
  const d = fieldError(() => parseOneShotOptions({ layers: 2 }, 'strategy.options', 'darts'));
  assert.match(d.message, /layers must be an integer >= 3 \(the darts supernet's cells: two reduction cells and a normal one\)/);
  assert.equal(parseOneShotOptions({ layers: 2 }, 'strategy.options', 'nb201').layers, 2, 'nb201 has no layers: not range-checked');
  // through the config, as the user ran it
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-os-layers-'));
  try {
    const p = prepareOneShot({ config: { study: 'c', storage: `sqlite:${join(dir, 's.db')}`, space: 'chain_cnn', strategy: { name: 'gdas', options: { layers: 2 } }, evaluator: { name: 'train', dataset: 'digits' } } });
    assert.equal(p.options.layers, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train-evaluator options that only a multi-trial search uses are refused by a one-shot study, all at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-os-ignored-'));
  try {
    const e = fieldError(() => prepareOneShot({ config: { study: 'c', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', strategy: { name: 'darts', options: {} }, evaluator: { name: 'train', dataset: 'digits', cv_folds: 5, budget_samples: 100 } } }));
    assert.match(e.message, /evaluator\.cv_folds: one-shot method darts does not use cv_folds/);
    assert.match(e.message, /evaluator\.budget_samples: one-shot method darts does not use budget_samples/);
    assert.deepEqual(readdirSync(dir), [], 'nothing written');
    // an unknown field: the allowed list is what a one-shot study takes
    const u = fieldError(() => prepareOneShot({ config: { study: 'c', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', strategy: { name: 'darts', options: {} }, evaluator: { name: 'train', dataset: 'digits', weights: true } } }));
    assert.match(u.message + (u.hint ?? ''), /evaluator\.weights: unknown field[\s\S]*allowed fields here: .*early_stopping/);
    assert.doesNotMatch(u.message + (u.hint ?? ''), /cv_folds|budget_samples/);
    // early_stopping applies to the derived architecture's retraining: accepted
    const ok = prepareOneShot({ config: { study: 'c', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', strategy: { name: 'darts', options: {} }, evaluator: { name: 'train', dataset: 'digits', early_stopping: { metric: 'train_loss', patience: 3 } } } });
    assert.equal(ok.method, 'darts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alpha heat-map titles: no repeated cell, nodes only for graph edges', () => {
  assert.deepEqual(chainEdges(2).map(alphaEdgeTitle), ['layers[0].kernel', 'layers[0].channels', 'layers[1].kernel', 'layers[1].channels']);
  assert.equal(alphaEdgeTitle(NB201_EDGES[2]!), 'e2: 1→2');
  assert.equal(alphaEdgeTitle(NB201_EDGES[0]!), 'e0: 0→1');
  assert.equal(alphaEdgeTitle(DARTS_EDGES[0]!), 'normal.n2.in0: 0→2');
  assert.equal(alphaEdgeTitle(DARTS_EDGES[14]!), 'reduce.n2.in0: 0→2');
  assert.equal(alphaEdgeTitle({ name: 'x', cell: 'stage1', from: 0, to: 1 }), 'stage1 x: 0→1', 'a cell the name does not say is kept');
});

test('skip / parameter-free counts only where the supernet has such ops', () => {
  assert.equal(hasParamFreeOps(chainEdges(3)), false);
  assert.equal(hasParamFreeOps(NB201_EDGES), true);
  assert.equal(hasParamFreeOps(DARTS_EDGES), true);
});

test('identityDiff: every differing field path of every section, as the config file names it', () => {
  const a = { space: 'nb201', strategy: { name: 'darts', options: { epochs: 4, lr: 0.025 } }, evaluator: { name: 'train', options: { dataset: 'digits', train_per_class: 300 } }, objectives: [{ metric: 'val_acc', direction: 'maximize' }], constraints: [], trials: 2, seed: 0 };
  const b = { ...a, strategy: { name: 'darts', options: { epochs: 5, lr: 0.025 } } };
  assert.deepEqual(identityDiff(a, b), [{ path: 'strategy.options.epochs', stored: 4, now: 5 }]);
  const c = { ...b, evaluator: { name: 'train', options: { dataset: 'digits', train_per_class: 100 } }, objectives: [{ metric: 'val_acc', direction: 'minimize' }], seed: 3, space: 'darts' };
  assert.deepEqual(identityDiff(a, c).map((d) => d.path), ['space', 'strategy.options.epochs', 'evaluator.train_per_class', 'objectives[0].direction', 'seed']);
  const d = { ...a, objectives: [...a.objectives, { metric: 'latency_ms', direction: 'minimize' }], constraints: [{ metric: 'params', max: 10 }], prescreen: { proxies: ['synflow'] } };
  assert.deepEqual(identityDiff(a, d).map((x) => x.path), ['objectives', 'constraints', 'prescreen']);
  assert.deepEqual(identityDiff(a, { ...a, strategy: { name: 'gdas', options: { epochs: 4, lr: 0.025, tau_max: 10 } } }).map((x) => x.path), ['strategy.name', 'strategy.options.tau_max']);
  assert.deepEqual(identityDiff(a, a), []);
  const e = identityConflict('fm', 'sqlite:x.db', identityDiff(a, c));
  assert.equal(e.field, 'space');
  assert.match(e.message, /: study "fm" already exists in sqlite:x\.db with a different config: space \(stored "nb201", now "darts"\), strategy\.options\.epochs \(stored 4, now 5\), evaluator\.train_per_class \(stored 300, now 100\), objectives\[0\]\.direction \(stored "maximize", now "minimize"\), seed \(stored 0, now 3\) \(rerun with the same config/);
  const many = identityConflict('fm', 'u', Array.from({ length: 7 }, (_, i) => ({ path: `p${i}`, stored: i, now: i + 1 })));
  assert.match(many.message, /p4 \(stored 4, now 5\) and 2 more \(rerun/);
});

test('a one-shot rerun with epochs 5 instead of 4 names strategy.options.epochs; a multi-trial one names its option too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-os-identity-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    const cfg = (epochs: number) => ({ study: 'fm', storage, space: 'nb201', strategy: { name: 'darts', options: { epochs } }, evaluator: { name: 'train', dataset: 'digits' } });
    // the stored study as oneShotSearch records it (its identity), without training it
    const first = prepareOneShot({ config: cfg(4) });
    const store = await openStore(storage);
    try {
      await store.createStudy({ name: 'fm', strategy: first.config.strategy, space: { name: 'nb201', definition: null }, evaluator: first.config.evaluator, objectives: first.config.objectives, constraints: [], seed: 0, maxTrials: 2, config: { identity: identityOf(first.config) }, userAttrs: {} });
    } finally {
      await store.close();
    }
    await assert.rejects(oneShotSearch(prepareOneShot({ config: cfg(5) })), (e: unknown) => {
      assert.ok(e instanceof NasError);
      assert.equal(e.field, 'strategy.options.epochs');
      assert.match(e.message, /already exists in .* with a different config: strategy\.options\.epochs \(stored 4, now 5\) \(rerun/);
      return true;
    });
    // multi-trial: another option of the strategy, and of the evaluator
    const base = { study: 'mt', storage, space: 'nb201', strategy: { name: 'evolution', options: { population: 8 } }, evaluator: { name: 'nb201', table: TABLE }, trials: 4 };
    const h = await createStudy(prepareSearch({ config: base }));
    await h.close();
    await assert.rejects(createStudy(prepareSearch({ config: { ...base, strategy: { name: 'evolution', options: { population: 6 } }, seed: 2 } })), (e: unknown) => {
      assert.ok(e instanceof NasError);
      assert.equal(e.field, 'strategy.options.population');
      assert.match(e.message, /with a different config: strategy\.options\.population \(stored 8, now 6\), seed \(stored 0, now 2\) \(rerun/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
