import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSpace } from '../src/space/index.js';
import main, { ceilingRows, DEFAULT_CONFIG, defaultConfigOf, earlyStoppingFlag, permutationP } from './tabular.js';

const PEER_SCRIPT = fileURLToPath(new URL('./sklearn_mlp.py', import.meta.url));

test('permutationP: one-sided sign-flip test of mean > 0; seeded; all-zero or symmetric differences are not significant', () => {
  // 10 positive differences, no negative: only the observed sign pattern reaches the mean, p ~ 2^-10.
  const allUp = Array.from({ length: 10 }, () => 2.78);
  const p = permutationP(allUp, 20_000);
  assert.ok(p < 0.003 && p >= 1 / 20_001, `p ${p}`);
  assert.equal(permutationP(allUp, 20_000), p, 'same seed, same p');
  assert.equal(permutationP([0, 0, 0, 0], 1000), 1, 'no difference: every flip reaches the mean');
  const sym = permutationP([1, -1, 1, -1, 2, -2], 20_000);
  assert.ok(sym > 0.4, `symmetric differences: p ${sym}`);
  // 3 wins, 1 loss of one test row each in 36 (2.78 points): far from significant.
  assert.ok(permutationP([2.78, 2.78, 2.78, -2.78, 0, 0, 0, 0], 20_000) > 0.2);
});

test('defaultConfigOf: the enqueued default is a member of each space; joint_mlp_small holds scikit-learn\'s [100]', () => {
  assert.deepEqual(defaultConfigOf('joint_mlp'), DEFAULT_CONFIG);
  assert.deepEqual(defaultConfigOf('joint_mlp_small').arch.hidden, [100]);
  for (const s of ['joint_mlp', 'joint_mlp_small'] as const) assert.doesNotThrow(() => getSpace(s).validate(defaultConfigOf(s)), s);
});

const sklearnOk = spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { encoding: 'utf8' }).status === 0;

test('sklearn_mlp.py eval-states: the peer refitted per random state; its own seed as a state reproduces eval', { skip: !sklearnOk && 'no /usr/bin/python3 with scikit-learn' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-peer-'));
  try {
    const csv = join(dir, 'toy.csv');
    writeFileSync(csv, 'a,b,label\n' + Array.from({ length: 60 }, (_, i) => `${Math.sin(i)},${Math.cos(i * 3)},${i % 2}`).join('\n') + '\n');
    const splits = join(dir, 'splits.json');
    writeFileSync(splits, JSON.stringify({ '3': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], '4': [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] }));
    const run = (...args: string[]) => {
      const r = spawnSync('/usr/bin/python3', [PEER_SCRIPT, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const own = run('eval', csv, splits) as Record<string, number>;
    const states = run('eval-states', csv, splits, '3,4,10000') as Record<string, number[]>;
    for (const s of ['3', '4']) {
      assert.equal(states[s]!.length, 3);
      assert.ok(states[s]!.every((x) => x >= 0 && x <= 100));
    }
    assert.equal(states['3']![0], own['3'], 'random_state 3 on split 3 is the peer itself');
    assert.equal(states['4']![1], own['4']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--early-stopping METRIC:PATIENCE[:MIN_DELTA]: scikit-learn\'s rule and the validation metrics; bad text refused with the form', () => {
  assert.deepEqual(earlyStoppingFlag('train_loss:11:1e-4'), { metric: 'train_loss', patience: 11, minDelta: 1e-4 });
  assert.deepEqual(earlyStoppingFlag('val_loss:5'), { metric: 'val_loss', patience: 5 });
  for (const bad of ['train_los:11', 'train_loss', 'train_loss:0', 'train_loss:1.5', 'train_loss:11:-1', 'train_loss:11:', 'train_loss:11:x', 'train_loss:11:1e-4:3'])
    assert.throws(() => earlyStoppingFlag(bad), /METRIC:PATIENCE\[:MIN_DELTA\]/, bad);
});

test('ceilingRows: paired differences to the peer and to its expected accuracy, W/T/L; a recipe missing a split is refused', () => {
  const peer = { '1': 97.22, '2': 100, '3': 94.44 };
  const expected = { '1': 97.5, '2': 99.5, '3': 95 };
  const rows = ceilingRows({ peer, up: { '1': 100, '2': 100, '3': 97.22 } }, peer, expected);
  assert.deepEqual(rows.map((r) => r.recipe), ['peer', 'up']);
  const [p, u] = rows;
  assert.equal(p!.diff, 0);
  assert.deepEqual([p!.wins, p!.ties, p!.losses], [0, 3, 0]);
  assert.equal(p!.p_perm, 1, 'no difference is never significant');
  assert.deepEqual([u!.wins, u!.ties, u!.losses], [2, 1, 0]);
  assert.ok(Math.abs(u!.diff - (2.78 + 0 + 2.78) / 3) < 0.01, `diff ${u!.diff}`);
  assert.ok(Math.abs(u!.diff_expected - ((100 - 97.5) + (100 - 99.5) + (97.22 - 95)) / 3) < 0.01, `vs expected ${u!.diff_expected}`);
  assert.ok(u!.mean > p!.mean);
  assert.throws(() => ceilingRows({ gap: { '1': 100, '2': 100 } }, peer, expected), /recipe gap has no accuracy for split seeds 3/);
});

test('--ceiling runs no search: the search-only flags are refused, naming them', async () => {
  await assert.rejects(main(['--ceiling', '--trials', '5', '--variants']), /--ceiling runs no search, so --trials, --variants do not apply/);
});

test('sklearn_mlp.py ceiling: every recipe and both CV selections on every split; the peer recipe is eval\'s; picks come from their pools', { skip: !sklearnOk && 'no /usr/bin/python3 with scikit-learn' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-peer-'));
  try {
    const csv = join(dir, 'toy.csv');
    writeFileSync(csv, 'a,b,label\n' + Array.from({ length: 60 }, (_, i) => `${Math.sin(i)},${Math.cos(i * 3)},${i % 2}`).join('\n') + '\n');
    const splits = join(dir, 'splits.json');
    writeFileSync(splits, JSON.stringify({ '3': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }));
    const run = (...args: string[]) => {
      const r = spawnSync('/usr/bin/python3', [PEER_SCRIPT, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const own = run('eval', csv, splits) as Record<string, number>;
    const c = run('ceiling', csv, splits) as { acc: Record<string, Record<string, number>>; picks: Record<string, Record<string, string>> };
    for (const k of ['peer', 'lr_C0.1', 'bag10_mlp', 'extra_trees', 'cv_select', 'cv_select_nn']) assert.ok(c.acc[k]?.['3'] !== undefined, k);
    assert.ok(Object.values(c.acc).every((m) => m['3']! >= 0 && m['3']! <= 100));
    assert.equal(c.acc['peer']!['3'], own['3'], 'the screen\'s peer is the benchmark\'s peer');
    const nn = c.picks['cv_select_nn']!['3']!;
    assert.ok(nn === 'peer' || nn.startsWith('mlp_') || nn.startsWith('lr_'), `cv_select_nn picked ${nn}`);
    assert.notEqual(c.picks['cv_select']!['3'], 'bag10_mlp', 'the bag is not selectable');
    assert.equal(c.acc['cv_select']!['3'], c.acc[c.picks['cv_select']!['3']!]!['3']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
