import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseMetricColumns, fmtCount, fmtFloat, fmtMetric, isCountMetric } from './columns.js';

test('one formatter for counts, one for floats: 1,073,466 not 1.07e+6, 400,346 not 400346.0', () => {
  assert.equal(fmtCount(1073466), '1,073,466');
  assert.equal(fmtCount(858426), '858,426');
  assert.equal(fmtCount(400346.00000000006), '400,346');
  assert.equal(fmtMetric('params', 1073466), '1,073,466');
  assert.equal(fmtMetric('flops', 230995402), '230,995,402');
  assert.equal(fmtMetric('size_bytes', 2048), '2,048');
  assert.equal(fmtMetric('val_acc', 91.552), '91.552');
  assert.equal(fmtMetric('latency_ms', 123.456), '123.5');
  assert.equal(fmtMetric('val_loss', 0.123456), '0.123');
  assert.equal(fmtFloat(1073466), '1,073,466', 'an integer value is written in full whatever the metric');
  assert.equal(fmtFloat(0.0001234), '1.23e-4');
  assert.equal(fmtFloat(null), '–');
  assert.ok(isCountMetric('params') && isCountMetric('nonzero_params') && !isCountMetric('latency_ms') && !isCountMetric('params_m'));
});

test('metric columns: objectives and tie-break first, then test/val metrics, then costs; latency copies dropped', () => {
  // The 2,500-trial NB201 study of new user 11: the old cut (first six alphabetically) dropped test_acc.
  const nb201 = ['latency_gold_6226_ms', 'latency_ms', 'latency_pixel3_ms', 'latency_raspi4_ms', 'latency_titan_rtx_1_ms', 'params', 'test_acc', 'val_acc'];
  const rows = [{ latency_ms: 5, latency_raspi4_ms: 5, latency_pixel3_ms: 2 }, { latency_ms: 7, latency_raspi4_ms: 7, latency_pixel3_ms: 3 }];
  const cols = chooseMetricColumns(nb201, [{ metric: 'val_acc' }], { max: 6, rows });
  assert.deepEqual(cols, ['test_acc', 'params', 'latency_ms', 'latency_gold_6226_ms', 'latency_pixel3_ms', 'latency_titan_rtx_1_ms']);
  // Without rows the copy cannot be told: kept, after latency_ms.
  assert.ok(chooseMetricColumns(nb201, [{ metric: 'val_acc' }]).includes('latency_raspi4_ms'));
  // A two-objective study: the second objective comes first; a tie-break next.
  const train = ['params', 'test_acc', 'test_f1', 'train_loss', 'val_acc', 'val_f1', 'val_loss', 'latency_ms', 'epochs'];
  assert.deepEqual(chooseMetricColumns(train, [{ metric: 'val_acc' }, { metric: 'latency_ms' }], { tieBreak: 'val_loss', max: 6 }), ['latency_ms', 'val_loss', 'test_acc', 'test_f1', 'val_f1', 'train_loss']);
  // The first objective is never repeated, even as a tie-break.
  assert.ok(!chooseMetricColumns(train, [{ metric: 'val_acc' }], { tieBreak: 'val_acc' }).includes('val_acc'));
});
