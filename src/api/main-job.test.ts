import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/rng.js';
import { analyzeArch } from '../nn/build/index.js';
import type { TrialRecord } from '../store/index.js';
import { MAIN_DEFAULTS, estimateFinalSeconds, mainSearchConfig, mainStudyName, pickWinner } from './main-job.js';
import { prepareSearch } from './study.js';
import { FASHION_MNIST_DIR } from '../data/sources.js';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainBaselineArch, mainSpace } from './main-space.js';

const INPUT = { shape: [1, 28, 28], numClasses: 10 };

function trial(number: number, budget: number | null, value: number | null, state: TrialRecord['state'] = 'complete'): TrialRecord {
  return {
    id: number as TrialRecord["id"],
    studyId: 1 as TrialRecord["studyId"],
    number,
    state,
    arch: { n: number },
    archKey: null,
    budget,
    params: {},
    workerId: null,
    attempt: 1,
    leaseExpiresAt: null,
    heartbeatAt: null,
    metrics: value === null ? null : { val_acc: value },
    values: value === null ? null : [value],
    error: null,
    durationMs: 1,
    createdAt: number,
    startedAt: number,
    finishedAt: number,
    userAttrs: {},
  };
}

test('pickWinner: best value among the highest budget reached, not the best value overall', () => {
  const w = pickWinner([trial(0, 1, 90), trial(1, 3, 80), trial(2, 3, 85), trial(3, 9, 70, 'running'), trial(4, 3, 85)]);
  assert.equal(w?.number, 2); // 9-epoch trial is not complete; 2 and 4 tie at 85, the earlier wins
  assert.equal(pickWinner([trial(0, 9, 50), trial(1, null, 40)])?.number, 1); // full budget (null) ranks above any rung
  assert.equal(pickWinner([trial(0, 1, null), trial(1, 3, 60, 'failed')]), undefined);
  // With a fit test (the job's time): the best that fits at the highest budget with one, else the plain winner.
  const ts = [trial(0, 9, 91), trial(1, 9, 90), trial(2, 3, 95), trial(3, 9, 89)];
  assert.equal(pickWinner(ts, (t) => t.number !== 0)?.number, 1);
  assert.equal(pickWinner(ts, (t) => t.number === 2)?.number, 2);
  assert.equal(pickWinner(ts, () => false)?.number, 0);
  // A complete trial recorded without values (as a one-shot supernet trial) is no candidate, whatever its metrics say (core candidateValue).
  assert.equal(pickWinner([{ ...trial(0, null, 99), values: null }, trial(1, null, 70)])?.number, 1);
  assert.equal(pickWinner([{ ...trial(0, null, 99), values: [Number.NaN] }, trial(1, null, 70)])?.number, 1);
});

test('estimateFinalSeconds: the rung trial\'s trainer seconds scaled by samples', () => {
  const t = { ...trial(0, 9, 90), metrics: { val_acc: 90, train_seconds: 30 } };
  assert.equal(estimateFinalSeconds(t, 54_000, 720_000), 400);
  assert.equal(estimateFinalSeconds(trial(1, 9, 90), 54_000, 720_000), undefined);
});

test('mainStudyName: seed 0 keeps the name, other seeds get their own study', () => {
  assert.equal(mainStudyName('fmnist-main', 0), 'fmnist-main');
  assert.equal(mainStudyName('fmnist-main', 2), 'fmnist-main-seed2');
});

test('mainBaselineArch: the widest VGG-style network within the MACs, growing with them', () => {
  let prev = 0;
  for (const cap of [1e6, 2e6, 4e6, 8e6]) {
    const b = mainBaselineArch(cap);
    const macs = analyzeArch(b.arch, INPUT).macs;
    assert.ok(macs <= cap, `${macs} <= ${cap}`);
    assert.ok(macs > prev);
    // the next width (+2 on the first layer) would not fit
    const w = b.arch.layers[0]!.channels + 2;
    const wider = { ...b.arch, layers: b.arch.layers.map((l, i) => ({ ...l, channels: [w, 2 * w, 2 * w, 4 * w, 4 * w][i]! })) };
    assert.ok(analyzeArch(wider, INPUT).macs > cap);
    prev = macs;
  }
  assert.equal(mainBaselineArch(10).arch.layers[0]!.channels, 4); // nothing fits: the narrowest
});

test('mainSpace: samples are joint chain CNNs with batch norm and a cosine schedule; skip is canonical under pooling', () => {
  const space = mainSpace();
  const rng = Rng.fromSeed(3);
  for (let i = 0; i < 50; i++) {
    const a = space.sample(rng);
    assert.equal(a.arch.family, 'chain_cnn');
    assert.ok(a.arch.layers.length >= 3 && a.arch.layers.length <= 5);
    assert.ok(a.arch.layers.every((l) => l.batchNorm));
    assert.equal(a.hparams.schedule, 'cosine');
    const flipped = { ...a, arch: { ...a.arch, layers: a.arch.layers.map((l) => (l.pool === 2 ? { ...l, skip: !l.skip } : l)) } };
    assert.equal(space.key(flipped), space.key(a));
  }
});

test('mainSearchConfig: a valid study config; the prescreen option reaches the study as given, null leaves it out', { skip: !existsSync(FASHION_MNIST_DIR) }, () => {
  // prepareSearch only checks the storage URL and reads the data directory's listing; nothing is written.
  const o = { ...MAIN_DEFAULTS, storage: `sqlite:${join(tmpdir(), 'tsnas-main-config-test.db')}` };
  const plain = prepareSearch({ config: mainSearchConfig(o, 'm', FASHION_MNIST_DIR) });
  assert.equal(plain.config.prescreen, undefined);
  assert.equal(plain.config.strategy.name, 'asha');
  assert.deepEqual(plain.config.constraints.map((c) => [c.metric, c.max]), [['macs', MAIN_DEFAULTS.maxMacs]]);
  const pre = prepareSearch({ config: mainSearchConfig({ ...o, prescreen: { candidates: 60, top: 3, proxies: ['snip'], pool: 20 } }, 'm', FASHION_MNIST_DIR) });
  assert.deepEqual(pre.config.prescreen, { candidates: 60, top: 3, proxies: ['snip'], pool: 20 });
  // A bad prescreen is refused up front like any config field.
  assert.throws(() => prepareSearch({ config: mainSearchConfig({ ...o, prescreen: { candidates: 60, top: 3, proxies: ['nope'], pool: 20 } }, 'm', FASHION_MNIST_DIR) }), /prescreen/);
});
