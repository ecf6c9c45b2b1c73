import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasError } from '../core/errors.js';
import { listStudies, prepareRepeat, repeatSearch, search, seedList, statsOf, studyTrials, summarizeRuns } from './index.js';

const TABLE = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));

const isErr = (field: string) => (e: unknown) => e instanceof NasError && e.code === 'invalid_config' && e.field === field;

test('statsOf: mean, sample std (n-1), min, max, n of known values', () => {
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squared deviations 32, sample variance 32/7.
  const s = statsOf([2, 4, 4, 4, 5, 5, 7, 9])!;
  assert.equal(s.mean, 5);
  assert.ok(Math.abs(s.std! - Math.sqrt(32 / 7)) < 1e-12, String(s.std));
  assert.deepEqual([s.min, s.max, s.n], [2, 9, 8]);
  assert.deepEqual(statsOf([1.5]), { mean: 1.5, std: null, min: 1.5, max: 1.5, n: 1 });
  assert.equal(statsOf([]), null);
  // Non-finite values (a NaN loss) are not data.
  assert.deepEqual(statsOf([1, NaN, 3, Infinity]), { mean: 2, std: Math.SQRT2, min: 1, max: 3, n: 2 });
  const sum = summarizeRuns([{ a: 1, b: 10 }, { a: 3 }, { a: 5, b: 20 }]);
  assert.deepEqual(Object.keys(sum), ['a', 'b']);
  assert.deepEqual(sum['a'], { mean: 3, std: 2, min: 1, max: 5, n: 3 });
  assert.equal(sum['b']!.n, 2);
  assert.equal(sum['b']!.std, Math.sqrt(50));
  assert.deepEqual(Object.keys(summarizeRuns([{ a: 1, b: 2 }], ['b', 'c'])), ['b']);
});

test('seedList: --seeds, --repeats from --seed or the config seed; bad lists name the flag', () => {
  assert.deepEqual(seedList({ seeds: '0,1, 2' }), [0, 1, 2]);
  assert.deepEqual(seedList({ repeats: '3' }), [0, 1, 2]);
  assert.deepEqual(seedList({ repeats: '2', seed: '7' }), [7, 8]);
  assert.deepEqual(seedList({ repeats: '2' }, 5), [5, 6]);
  assert.throws(() => seedList({}), isErr('--seeds'));
  assert.throws(() => seedList({ seeds: '0,x' }), isErr('--seeds'));
  assert.throws(() => seedList({ seeds: '0,-1' }), isErr('--seeds'));
  assert.throws(() => seedList({ seeds: '1,1' }), isErr('--seeds'));
  assert.throws(() => seedList({ seeds: '1', seed: '2' }), isErr('--seeds'));
  assert.throws(() => seedList({ repeats: '0' }), isErr('--repeats'));
  assert.throws(() => seedList({ repeats: '2', seed: '1.5' }), isErr('--seed'));
});

test('repeatSearch on the NB201 table: one study per seed, summary of the stored best trials, resume without re-running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-repeat-'));
  try {
    const config = { study: 'rs', storage: `sqlite:${join(dir, 'r.db')}`, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201', table: TABLE }, trials: 10 };
    // Seed 1's study is interrupted first: the repeat must resume it, not start over or skip it.
    const { perSeed } = prepareRepeat({ config, seeds: [0, 1, 2] });
    const ctl = new AbortController();
    let n = 0;
    const partial = await search(perSeed[1]!.prepared, { signal: ctl.signal, onEvent: (e) => e.type === 'finished' && ++n === 4 && ctl.abort() });
    assert.equal(partial.reason, 'aborted');
    const before = partial.counts.complete;
    assert.ok(before >= 4 && before < 10, String(before));

    const r = await repeatSearch({ config, seeds: [0, 1, 2] });
    assert.equal(r.name, 'rs');
    assert.deepEqual(r.runs.map((x) => [x.seed, x.study, x.action, x.reason]), [
      [0, 'rs-seed0', 'ran', 'complete'],
      [1, 'rs-seed1', 'ran', 'complete'],
      [2, 'rs-seed2', 'ran', 'complete'],
    ]);
    assert.equal(r.excluded, 0);
    assert.equal(r.aborted, false);

    // The summary is exactly the statistics of the stored best trials (by val_acc) of the three studies.
    const best = [];
    for (const x of r.runs) {
      const { study, trials } = await studyTrials(config.storage, x.study);
      assert.equal(study.seed, x.seed);
      assert.equal(trials.filter((t) => t.state === 'complete').length, 10);
      const b = trials.filter((t) => t.state === 'complete').reduce((p, q) => (q.values![0]! > p.values![0]! ? q : p));
      assert.equal(x.best!.number, b.number);
      best.push(b);
    }
    // Different seeds sample different architectures.
    assert.ok(new Set(best.map((b) => b.archKey)).size > 1);
    const val = best.map((b) => b.values![0]!);
    const tst = best.map((b) => b.metrics!['test_acc']!);
    const m = val.reduce((s, v) => s + v, 0) / 3;
    assert.ok(Math.abs(r.summary['val_acc']!.mean - m) < 1e-9);
    assert.ok(Math.abs(r.summary['val_acc']!.std! - Math.sqrt(val.reduce((s, v) => s + (v - m) ** 2, 0) / 2)) < 1e-9);
    assert.deepEqual(r.summary['val_acc']!, statsOf(val));
    assert.deepEqual(r.summary['test_acc']!, statsOf(tst));
    assert.deepEqual(Object.keys(r.summary).sort(), ['test_acc', 'val_acc']);

    // Rerunning the same repeat skips the finished studies: no trial is added, same summary.
    const totals = async () => Promise.all(r.runs.map(async (x) => (await studyTrials(config.storage, x.study)).trials.length));
    const t0 = await totals();
    const again = await repeatSearch({ config, seeds: [0, 1, 2] });
    assert.deepEqual(again.runs.map((x) => x.action), ['skipped', 'skipped', 'skipped']);
    assert.deepEqual(await totals(), t0);
    assert.deepEqual(again.summary, r.summary);

    // Another budget under the same names is an error naming the field, before any seed runs.
    await assert.rejects(repeatSearch({ config: { ...config, trials: 12 }, seeds: [5, 0] }), isErr('trials'));
    assert.deepEqual((await listStudies(config.storage)).map((s) => s.name).sort(), ['rs-seed0', 'rs-seed1', 'rs-seed2']);
    await assert.rejects(repeatSearch({ config, seeds: [] }), isErr('seeds'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
