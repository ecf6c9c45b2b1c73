/**
 * Enumerated values and metric names: the suggestion every check gives (new-user finding 10,
 * session 9: `--quantize int8` got no hint; `--objective val_accuracy` no "did you mean val_acc").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestMetric, didYouMeanMetric } from './metrics.js';
import { didYouMeanValue, suggestValue } from './suggest.js';
import { DIRECTION_SYNONYMS, QUANTIZE_SYNONYMS, STRATEGY_SYNONYMS, TRIAL_STATE_SYNONYMS } from './synonyms.js';

test('didYouMeanValue: a synonym (with its note) before the closest spelling; nothing when neither fits', () => {
  const modes = ['static', 'qat', 'dynamic'];
  assert.match(didYouMeanValue('int8', modes, QUANTIZE_SYNONYMS), /^; did you mean static \(every mode is int8; .*\)\?$/);
  assert.match(didYouMeanValue('INT8', modes, QUANTIZE_SYNONYMS), /did you mean static/);
  assert.equal(didYouMeanValue('ptq', modes, QUANTIZE_SYNONYMS), '; did you mean static (post-training quantization)?');
  assert.match(didYouMeanValue('quantization-aware', modes, QUANTIZE_SYNONYMS), /did you mean qat/);
  assert.equal(didYouMeanValue('dynamc', modes, QUANTIZE_SYNONYMS), '; did you mean dynamic?');
  assert.equal(didYouMeanValue('int8', modes), '', 'no table: only spellings');
  assert.equal(didYouMeanValue('zzzz', modes, QUANTIZE_SYNONYMS), '');
  assert.equal(didYouMeanValue('max', ['maximize', 'minimize'], DIRECTION_SYNONYMS), '; did you mean maximize?');
  assert.equal(didYouMeanValue('min', ['maximize', 'minimize'], DIRECTION_SYNONYMS), '; did you mean minimize?');
  assert.match(didYouMeanValue('re', ['random', 'evolution'], STRATEGY_SYNONYMS), /did you mean evolution \(regularized evolution/);
  assert.equal(didYouMeanValue('completed', ['waiting', 'complete', 'failed'], TRIAL_STATE_SYNONYMS), '; did you mean complete?');
  // A synonym whose value the command does not offer falls back to spelling.
  assert.equal(suggestValue('re', ['random'], STRATEGY_SYNONYMS), undefined);
});

test('closestMetric: long words, val_ for the decision metric, units, then spelling', () => {
  const names = ['val_acc', 'val_loss', 'test_acc', 'train_loss', 'params', 'flops', 'latency_ms', 'train_seconds', 'val_f1'];
  for (const [w, m] of [
    ['val_accuracy', 'val_acc'],
    ['accuracy', 'val_acc'],
    ['Val-Accuracy', 'val_acc'],
    ['validation_accuracy', 'val_acc'],
    ['validation_loss', 'val_loss'],
    ['loss', 'val_loss'],
    ['test_accuracy', 'test_acc'],
    ['num_params', 'params'],
    ['parameters', 'params'],
    ['latency', 'latency_ms'],
    ['flop', 'flops'],
    ['train_time', 'train_seconds'],
    ['val_f1_score', 'val_f1'],
    ['val_accc', 'val_acc'],
  ] as const)
    assert.equal(closestMetric(w, names), m, w);
  assert.equal(closestMetric('synflow', names), undefined);
  assert.equal(didYouMeanMetric('val_accuracy', names), '; did you mean val_acc?');
  assert.equal(didYouMeanMetric('zzz', names), '');
  // The proxy evaluator's names: the one prefixed name is meant (new user 10b, finding 7); two (val_/test_) are not guessed between.
  const proxy = ['proxy_synflow', 'proxy_naswot', 'proxy_jacov', 'params', 'flops'];
  assert.equal(didYouMeanMetric('synflow', proxy), '; did you mean proxy_synflow?');
  assert.equal(closestMetric('NASWOT', proxy), 'proxy_naswot');
  assert.equal(closestMetric('f1', ['val_f1', 'test_f1']), 'val_f1', 'val_ first');
  assert.equal(closestMetric('x1', ['a_x1', 'b_x1']), undefined);
});
