/**
 * Test fixture only (excluded from the build): fills a fresh SQLite store with real studies for
 * the dashboard's API and browser tests.
 *
 *  - `nb201-random` and `nb201-<second>`: real searches with tsnas's own Study loop (src/run), the
 *    strategies of src/strategy and the NAS-Bench-201 CIFAR-10 table evaluator (src/eval/tabular),
 *    on ../shared/data/nb201. Every value is the table's (valid/test accuracy, params, latency).
 *    The table holds final values only, so each trial has one intermediate point (epoch 200).
 *  - `digits-mlp`: eight small MLPs really trained for a few epochs on the 8x8 digits data shipped
 *    in data/ by tsnas's own training evaluator (src/eval/train.ts, the native engine: what `tsnas
 *    search --evaluator train --dataset digits` runs), through the same Study loop, with a fixed
 *    list of architectures and a simple pruning rule (val_acc < 80% at epoch 3 -> pruned). Plain
 *    SGD at a small learning rate on a subset, so the curves rise over several epochs and the
 *    smallest networks are still below 80% at epoch 3. Its per-epoch curves are measured.
 */
import { fileURLToPath } from 'node:url';
import type { MlpArch, Nb201Arch } from '../../core/arch.js';
import { workerId } from '../../core/ids.js';
import type { Json, JsonObject } from '../../core/json.js';
import { nb201Cifar10, type TabularEvaluator } from '../../eval/tabular.js';
import { strategyDriver } from '../../run/strategy-driver.js';
import { Study } from '../../run/study.js';
import type { StrategyDriver } from '../../run/driver.js';
import { nb201Space } from '../../space/nb201.js';
import { STRATEGY_NAMES, createStrategy } from '../../strategy/registry.js';
import { openStore } from '../../store/index.js';
import type { Store, StudySpec } from '../../store/types.js';
import { TrainingEvaluator } from '../../eval/train.js';
import type { Evaluator } from '../../eval/types.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Fixture {
  readonly url: string;
  readonly ids: { readonly random: number; readonly second: number; readonly digits: number };
  readonly secondStrategy: string;
}

/** Small populations so that a 40-trial study shows several generations. */
const STRATEGY_OPTIONS: Record<string, JsonObject> = { evolution: { population: 10, sampleSize: 5 } };

function spec(name: string, strategy: string, space: string, evaluator: string, maxTrials: number, seed: number): StudySpec {
  return {
    name,
    strategy: { name: strategy, options: STRATEGY_OPTIONS[strategy] ?? {} },
    space: { name: space, definition: null },
    evaluator: { name: evaluator, options: {} },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [],
    seed,
    maxTrials,
    config: { fixture: 'src/server/testing/fixture.ts' },
  };
}

/** A strategy other than random for the comparison view: the first of these that exists. */
export function secondStrategyName(): string {
  const prefs = ['regularized_evolution', 'evolution', 'local_search', 'bananas', 'grid'];
  return prefs.find((p) => (STRATEGY_NAMES as readonly string[]).includes(p)) ?? 'random';
}

async function runNb201(store: Store, evaluator: TabularEvaluator, name: string, strategy: string, trials: number, seed: number): Promise<number> {
  const rec = await store.createStudy(spec(name, strategy, 'nb201', evaluator.name, trials, seed));
  const driver = strategyDriver<Nb201Arch>({
    strategy: createStrategy(strategy, STRATEGY_OPTIONS[strategy] ?? {}),
    space: nb201Space as never,
    objectives: rec.objectives,
    constraints: [],
    costOf: (a) => evaluator.costs(a),
    maxBudget: evaluator.maxBudget,
    totalTrials: trials,
  });
  const study = new Study<Nb201Arch>(store, rec, driver, evaluator, { workerId: workerId(`fixture-${name}`) });
  await study.optimize();
  return rec.id;
}

const MLPS: MlpArch[] = [
  { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 },
  { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 },
  { family: 'mlp', hidden: [16, 16], activation: 'sigmoid', batchNorm: false, dropout: 0 },
  { family: 'mlp', hidden: [64], activation: 'tanh', batchNorm: false, dropout: 0.1 },
  { family: 'mlp', hidden: [32, 32], activation: 'relu', batchNorm: false, dropout: 0 },
  { family: 'mlp', hidden: [4], activation: 'tanh', batchNorm: false, dropout: 0.3 },
  { family: 'mlp', hidden: [64, 32], activation: 'silu', batchNorm: false, dropout: 0 },
  { family: 'mlp', hidden: [16], activation: 'gelu', batchNorm: false, dropout: 0 },
];

/** Proposes MLPS in order; prunes a trial whose val_acc is below 80% after epoch 3. */
function listDriver(): StrategyDriver {
  return {
    needsIntermediates: true,
    init: () => ({ next: 0 }),
    ask(state) {
      const n = (state as { next: number }).next;
      if (n >= MLPS.length) return { state, result: { kind: 'done', reason: 'list exhausted' } };
      return { state: { next: n + 1 }, result: { kind: 'trial', proposal: { arch: MLPS[n] as unknown as Json, archKey: JSON.stringify(MLPS[n]), budget: null, params: {} } } };
    },
    tell: (state) => state,
    shouldPrune(state, item) {
      const last = item.intermediates[item.intermediates.length - 1];
      const acc = last?.metrics['val_acc'];
      return { state, prune: last !== undefined && last.step === 3 && acc !== undefined && acc < 80 };
    },
  };
}

/** The training evaluator on a seeded subset of the shipped digits (the fixture's trainer). */
export function digitsEvaluator(epochs: number): Evaluator<MlpArch> {
  return new TrainingEvaluator({
    dataset: { kind: 'digits' },
    split: { seed: 7, trainPerClass: 50, valPerClass: 30 },
    epochs,
    threads: 1,
    skipTest: true,
    hparams: { optimizer: 'sgd', lr: 0.02, batchSize: 32, weightDecay: 0 },
  }) as unknown as Evaluator<MlpArch>;
}

async function runDigits(store: Store, epochs: number): Promise<number> {
  const evaluator = digitsEvaluator(epochs);
  const rec = await store.createStudy(spec('digits-mlp', 'fixed-list', 'mlp', evaluator.name, MLPS.length, 3));
  const study = new Study<MlpArch>(store, rec, listDriver(), evaluator, { workerId: workerId('fixture-digits') });
  await study.optimize();
  return rec.id;
}

/**
 * Runs the three studies into a new store: `where` is a SQLite file path or a postgres:// URL.
 * A few seconds on one core.
 */
export async function buildFixture(where: string, opts: { nb201Trials?: number; epochs?: number } = {}): Promise<Fixture> {
  const url = /^postgres(ql)?:/.test(where) ? where : `sqlite:${where}`;
  const store = await openStore(url);
  try {
    const n = opts.nb201Trials ?? 50;
    const second = secondStrategyName();
    const table = nb201Cifar10();
    const random = await runNb201(store, table, 'nb201-random', 'random', n, 1);
    const sec = await runNb201(store, table, `nb201-${second.replace(/_/g, '-')}`, second, n, 2);
    const digits = await runDigits(store, opts.epochs ?? 8);
    return { url, ids: { random, second: sec, digits }, secondStrategy: second };
  } finally {
    await store.close();
  }
}
