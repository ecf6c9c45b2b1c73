/**
 * The shared test-case suite every strategy must pass (call it from the strategy's test file):
 * determinism per seed, JSON state and exact resume, no duplicate keys (also with trials in
 * flight), cost constraints honoured, unsatisfiable constraints rejected before any trial, archs
 * that cannot be evaluated never proposed (and a space of only such archs rejected), and
 * exhaustion of a small finite space. Uses a toy space (no data files) and, when available, the
 * NB201 table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isNasError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { NB201_CIFAR10_CSV, loadNb201Table, type Nb201Table } from '../eval/tabular.js';
import { choice, dag, int, struct } from '../space/dsl.js';
import { nb201Space } from '../space/nb201.js';
import { defineSpace } from '../space/space.js';
import { simulate } from './common-testing.js';
import { createStrategy } from './registry.js';

/** 3 x 4 x 3^3 = 324 members; the score is known (maximum 9.5), so quality can be checked without data. */
export const toySpace = defineSpace(
  'toy',
  struct({
    a: choice(['x', 'y', 'z']),
    n: int(0, 3),
    cell: dag({ nodes: 3, ops: ['zero', 'id', 'conv'], zeroOp: 'zero', identityOp: 'id' }),
  }),
);
export type ToyArch = ReturnType<typeof toySpace.sample>;
export function toyScore(a: ToyArch): Metrics {
  const score = (a.a === 'z' ? 2 : a.a === 'y' ? 1 : 0) + a.n + a.cell.filter((o) => o === 'conv').length * 1.5;
  return { val_acc: score, test_acc: score, params: a.n * 10 + a.cell.filter((o) => o === 'conv').length * 100 };
}
const toyObjectives = [{ metric: 'val_acc', direction: 'maximize' }] as const;

let table: Nb201Table | undefined;
function nb201(): Nb201Table | undefined {
  if (!table && existsSync(NB201_CIFAR10_CSV)) table = loadNb201Table(NB201_CIFAR10_CSV);
  return table;
}

export interface SuiteOptions {
  /** Options passed to createStrategy. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Trials for the toy checks (default 60). */
  readonly trials?: number;
  /** Minimum mean best toy score over 5 seeds at `trials` (default 8; random reaches 8.6, the maximum is 9.5). */
  readonly toyQuality?: number;
  /** Skip the finite-space exhaustion check (strategies with a fixed schedule). */
  readonly skipExhaustion?: boolean;
}

export function strategyConformanceSuite(name: string, so: SuiteOptions = {}): void {
  const make = () => createStrategy(name, so.options ?? {});
  const trials = so.trials ?? 60;
  const toyRun = (seed: number, extra: Partial<Parameters<typeof simulate<ToyArch>>[1]> = {}) =>
    simulate(make(), { space: toySpace, objectives: toyObjectives, evaluate: toyScore, trials, seed, ...extra });

  test(`${name}: deterministic per seed, different across seeds`, () => {
    const a = toyRun(1).history.map((t) => t.key);
    assert.deepEqual(toyRun(1).history.map((t) => t.key), a);
    assert.notDeepEqual(toyRun(2).history.map((t) => t.key), a);
  });

  test(`${name}: the JSON state resumes exactly`, () => {
    const full = toyRun(3);
    const half = toyRun(3, { trials: Math.floor(trials / 2) });
    const resumed = simulate(make(), { space: toySpace, objectives: toyObjectives, evaluate: toyScore, trials, seed: 999, resume: { history: half.history, state: half.state } });
    assert.deepEqual(
      resumed.history.map((t) => t.key),
      full.history.map((t) => t.key),
    );
  });

  test(`${name}: no duplicate keys with 4 trials in flight; failed trials are outcomes`, () => {
    let i = 0;
    const r = toyRun(4, { parallel: 4, evaluate: (a: ToyArch) => (i++ % 7 === 3 ? undefined : toyScore(a)) });
    assert.equal(new Set(r.history.map((t) => t.key)).size, r.history.length);
    assert.ok(r.history.length >= Math.min(trials, 40));
  });

  test(`${name}: honours cost constraints; rejects unsatisfiable ones before any trial`, () => {
    const costOf = (a: ToyArch) => ({ params: toyScore(a).params! });
    const r = toyRun(5, { constraints: [{ metric: 'params', max: 120 }], costOf, trials: 30 });
    assert.ok(r.history.length > 0);
    for (const t of r.history) assert.ok(costOf(t.arch).params <= 120, `${t.key} violates params <= 120`);
    assert.throws(
      () => toyRun(5, { constraints: [{ metric: 'params', max: -1 }], costOf, trials: 5 }),
      (e: unknown) => isNasError(e, 'constraint_unsatisfiable') && e.field === 'constraints',
    );
  });

  test(`${name}: never proposes an arch that cannot be evaluated (no constraints); fails before any trial when none can`, () => {
    // As a chain CNN that pools 28x28 inputs below 1x1: here every arch with a = 'x' (a third of the space).
    const infeasible = (a: ToyArch) => (a.a === 'x' ? 'pooling reduces the input to 0x0' : undefined);
    const r = toyRun(8, { infeasible, trials: 30 });
    assert.ok(r.history.length > 0);
    for (const t of r.history) assert.equal(infeasible(t.arch), undefined, `${t.key} cannot be evaluated`);
    assert.throws(
      () => toyRun(8, { infeasible: () => 'pooling reduces the input to 0x0', trials: 5 }),
      (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'space' && /can be evaluated.*0x0/.test(e.message),
    );
  });

  if (!so.skipExhaustion)
    test(`${name}: exhausts a finite space without repeats, then says done`, () => {
      const tiny = defineSpace('tiny', struct({ a: choice(['x', 'y', 'z']), n: int(0, 3) }));
      const r = simulate(make(), { space: tiny, objectives: toyObjectives, evaluate: (a) => ({ val_acc: (a.a === 'z' ? 1 : 0) + a.n }), trials: 20, seed: 6 });
      assert.equal(r.history.length, 12);
      assert.ok(r.done, 'the strategy reports done');
    });

  test(`${name}: finds good toy architectures`, () => {
    let sum = 0;
    for (let s = 0; s < 5; s++) sum += Math.max(...toyRun(100 + s).history.map((t) => t.metrics?.val_acc ?? -Infinity));
    assert.ok(sum / 5 >= (so.toyQuality ?? 8), `mean best toy score ${sum / 5}`);
  });

  test(`${name}: runs on NAS-Bench-201 through the tabular table`, { skip: !nb201() && 'NB201 table not found' }, () => {
    const t = nb201()!;
    const r = simulate(make(), { space: nb201Space, objectives: toyObjectives, evaluate: (a) => t.lookup(a), trials: 50, seed: 7 });
    assert.equal(r.history.length, 50);
    assert.ok(r.history.every((x) => x.state === 'complete'));
    assert.ok(Math.max(...r.history.map((x) => x.metrics!.val_acc!)) > 85);
  });
}
