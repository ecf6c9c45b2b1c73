import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError, type NasError } from '../core/errors.js';
import { parseNb201 } from '../space/nb201.js';
import { NB201_CIFAR10_CSV, NB201_LATENCY_CSV, TabularEvaluator, loadNb201Table, nb201Cifar10 } from './tabular.js';

const ROW1 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

test('counts are integers: params from the table\'s params_m (millions) are rounded, never fractional', async () => {
  const ev = nb201Cifar10();
  const params = ev.table.metrics.get('params')!;
  let nonInteger = 0;
  for (const v of params) if (!Number.isInteger(v)) nonInteger++;
  assert.equal(nonInteger, 0, 'every params value of the shipped table is an integer');
  // params_m 0.11997266666666667 (a mean over runs) -> 119973; 0.40034600000000004 (float noise) -> 400346.
  const frac = await ev.evaluate({ arch: parseNb201('|skip_connect~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|'), seed: 0 });
  const noise = await ev.evaluate({ arch: parseNb201('|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|'), seed: 0 });
  assert.ok(frac.status === 'complete' && noise.status === 'complete');
  assert.equal(frac.metrics.params, 119973);
  assert.equal(noise.metrics.params, 400346);
  assert.equal(ev.costs(parseNb201('|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|')).params, 400346);
  // A user table: the same rounding; a non-count extra column (flops_m) keeps its value as written.
  const p = tmpTable('int.csv', `arch,valid_acc,test_acc,params_m,flops_m\n${ROW1},1,2,0.0000026,1.5\n`);
  const t = loadNb201Table(p, { extra: { flops_m: 'flops_m' } });
  assert.equal(t.metrics.get('params')![0], 3);
  assert.equal(t.metrics.get('flops_m')![0], 1.5);
});

test('loads the bundled CIFAR-10 table with latencies, fast', async () => {
  const t0 = performance.now();
  const ev = nb201Cifar10();
  const ms = performance.now() - t0;
  assert.equal(ev.table.size, 15625);
  // The target is < 300 ms on an idle machine; the bound here leaves room for a loaded CI box.
  assert.ok(ms < 1500, `load took ${ms.toFixed(0)} ms`);
  const out = await ev.evaluate({ arch: parseNb201(ROW1), seed: 0 });
  assert.equal(out.status, 'complete');
  if (out.status !== 'complete') return;
  assert.ok(Math.abs(out.metrics.val_acc! - 90.76933332438152) < 1e-9);
  assert.ok(Math.abs(out.metrics.test_acc! - 93.66000000000001) < 1e-9);
  assert.ok(Math.abs(out.metrics.params! - 802426) < 1e-3);
  assert.ok(Math.abs(out.metrics.latency_ms! - 54.77739761998237) < 1e-9);
  assert.equal(out.metrics.latency_ms, out.metrics.latency_raspi4_ms);
  assert.ok(Math.abs(out.metrics.latency_pixel3_ms! - 17.2381) < 1e-9);
  assert.deepEqual(Object.keys(ev.costs(parseNb201(ROW1))).sort(), ['latency_gold_6226_ms', 'latency_ms', 'latency_pixel3_ms', 'latency_raspi4_ms', 'latency_titan_rtx_1_ms', 'params']);
  assert.ok(!('val_acc' in ev.costs(parseNb201(ROW1))), 'costs never leak accuracies');
  const steps: number[] = [];
  const pruned = await ev.evaluate({ arch: parseNb201(ROW1), seed: 0, onProgress: (p) => (steps.push(p.step), 'stop') });
  assert.equal(pruned.status, 'pruned');
  assert.deepEqual(steps, [200]);
  const ac = new AbortController();
  ac.abort();
  assert.equal((await ev.evaluate({ arch: parseNb201(ROW1), seed: 0, signal: ac.signal })).status, 'failed');
  // A smaller fidelity than the table holds is a failed outcome, not invented numbers.
  const low = await ev.evaluate({ arch: parseNb201(ROW1), seed: 0, budget: 12 });
  assert.equal(low.status, 'failed');
  // Best by validation, and the table's optimum of test accuracy.
  const val = ev.table.column('val_acc');
  const test_ = ev.table.column('test_acc');
  let bv = 0;
  for (let i = 0; i < val.length; i++) if (val[i]! > val[bv]!) bv = i;
  assert.ok(Math.abs(test_[bv]! - 94.37) < 0.01, `test acc of the best-by-validation arch: ${test_[bv]}`);
});

function tmpTable(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-tab-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function err(fn: () => unknown): NasError {
  try {
    fn();
  } catch (e) {
    if (isNasError(e)) return e;
    throw e;
  }
  assert.fail('expected a NasError');
}

test('custom column names (bring your own CIFAR-100 / ImageNet16 table)', () => {
  const p = tmpTable('c100.csv', `arch,acc_val,acc_test,flops_m\n${ROW1},70.5,71.25,120\n"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",1,1,0\n`);
  const l = tmpTable('lat.csv', `arch,edge_ms\n${ROW1},3.5\n`);
  const t = loadNb201Table(p, { valColumn: 'acc_val', testColumn: 'acc_test', paramsColumn: null, extra: { flops: 'flops_m' }, latency: { path: l } });
  const ev = new TabularEvaluator(t);
  assert.deepEqual(t.lookup(parseNb201(ROW1)), { val_acc: 70.5, test_acc: 71.25, flops: 120, latency_edge_ms: 3.5, latency_ms: 3.5 });
  assert.deepEqual(t.lookup(parseNb201('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|')), { val_acc: 1, test_acc: 1, flops: 0 });
  assert.equal(t.lookup(parseNb201(ROW1.replace('avg_pool_3x3', 'nor_conv_1x1'))), undefined);
  const miss = ev.evaluateSync({ arch: parseNb201(ROW1.replace('avg_pool_3x3', 'nor_conv_1x1')) });
  assert.equal(miss.status, 'failed');
});

test('bad tables: errors name file, line and column', () => {
  const missing = err(() => loadNb201Table(tmpTable('a.csv', `arch,valid_acc,params_m\n${ROW1},1,2\n`)));
  assert.equal(missing.code, 'data_error');
  assert.equal(missing.field, 'a.csv:header');
  assert.match(missing.message, /test_acc/);
  assert.match(missing.hint ?? '', /testColumn/);
  const dup = err(() => loadNb201Table(tmpTable('b.csv', `arch,valid_acc,test_acc,params_m\n${ROW1},1,2,3\n${ROW1},1,2,3\n`)));
  assert.equal(dup.code, 'data_error');
  assert.equal(dup.field, 'b.csv:line 3.arch');
  assert.match(dup.message, /duplicate.*line 2/);
  const bad = err(() => loadNb201Table(tmpTable('c.csv', `arch,valid_acc,test_acc,params_m\n|nor_conv_3x3~0|+|x~0|,1,2,3\n`)));
  assert.equal(bad.code, 'invalid_arch');
  assert.equal(bad.field, 'c.csv:line 2.arch');
  const op = err(() => loadNb201Table(tmpTable('d.csv', `arch,valid_acc,test_acc,params_m\n${ROW1.replace('avg_pool_3x3', 'max_pool_3x3')},1,2,3\n`)));
  assert.equal(op.code, 'invalid_arch');
  assert.equal(op.field, 'd.csv:line 2.arch.ops[2]');
  const nan = err(() => loadNb201Table(tmpTable('e.csv', `arch,valid_acc,test_acc,params_m\n${ROW1},1,abc,3\n`)));
  assert.equal(nan.code, 'data_error');
  assert.equal(nan.field, 'e.csv:line 2.test_acc');
  const ragged = err(() => loadNb201Table(tmpTable('f.csv', `arch,valid_acc,test_acc,params_m\n${ROW1},1,2\n`)));
  assert.equal(ragged.field, 'f.csv:line 2');
  const nofile = err(() => loadNb201Table('/nonexistent/x.csv'));
  assert.equal(nofile.code, 'data_error');
  const dev = err(() => loadNb201Table(NB201_CIFAR10_CSV, { latency: { path: NB201_LATENCY_CSV, defaultDevice: 'tpu_ms' } }));
  assert.equal(dev.field, 'latency.defaultDevice');
});
