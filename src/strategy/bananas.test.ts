import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { liveTensors } from '../tensor/index.js';
import { strategyConformanceSuite, toyScore, toySpace } from './common-suite.js';
import { simulate } from './common-testing.js';
import { fitMlpEnsemble } from './predictor/mlp-ensemble.js';
import { createStrategy } from './registry.js';

// Small ensembles keep the suite cheap (each ask refits the predictor).
strategyConformanceSuite('bananas', { options: { epochs: 15, members: 2, hidden: 16, candidates: 40, acquisition: 'ucb', init: 6 }, trials: 24, toyQuality: 7.5 });

test('MLP ensemble: fits a simple function, predicts with spread, frees its tensors; too few points is an error naming the option', () => {
  const before = liveTensors();
  const x = Array.from({ length: 30 }, (_, i) => Float64Array.from([i / 30, (i % 3) / 3]));
  const y = x.map((r) => 3 * r[0]! - r[1]!);
  const m = fitMlpEnsemble(x, y, 1, { members: 3, hidden: [16], epochs: 300, lr: 0.02, minPoints: 5 });
  const p = m.predict([Float64Array.from([0.9, 0]), Float64Array.from([0.1, 0.66])]);
  m.dispose();
  assert.equal(liveTensors(), before);
  assert.ok(p.mean[0]! > p.mean[1]! + 1, `${p.mean[0]} vs ${p.mean[1]}`);
  assert.ok(p.sd[0]! >= 0);
  assert.throws(
    () => fitMlpEnsemble(x.slice(0, 3), y.slice(0, 3), 1, { members: 1, hidden: [4], epochs: 1, lr: 0.1, minPoints: 5, field: 'strategy.options.init' }),
    (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.options.init' && /at least 5/.test(e.message),
  );
});

test('bananas uses proxy features when the context has a proxy source', () => {
  let calls = 0;
  const proxyOf = (a: ReturnType<typeof toySpace.sample>) => {
    calls++;
    return { values: { proxy_fake: toyScore(a).val_acc! + (a.n % 2) }, ms: 1 };
  };
  const r = simulate(createStrategy('bananas', { epochs: 10, members: 2, hidden: 8, proxyFeatures: true, init: 5 }), { space: toySpace, objectives: [{ metric: 'val_acc', direction: 'maximize' }], evaluate: toyScore, trials: 12, seed: 3, proxyOf });
  assert.equal(r.history.length, 12);
  assert.ok(calls > 0);
});

test('bananas proxy_features without a proxy source is an error naming the option, never a silent fit without them', () => {
  assert.throws(
    () => simulate(createStrategy('bananas', { proxy_features: true, init: 2 }), { space: toySpace, objectives: [{ metric: 'val_acc', direction: 'maximize' }], evaluate: toyScore, trials: 3, seed: 1 }),
    (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'strategy.options.proxy_features',
  );
});
