/**
 * Issue 17 (config errors one at a time), every parser a config reaches: the strategy's options,
 * the nb201 / synthetic / proxy / train evaluators' options, training hyperparameters, prescreen,
 * one-shot options, warm_start and each objective or constraint report ALL their problems at once
 * (one NasError, `details.issues`, each naming its field), through the one mechanism of
 * src/core/issues.ts; option names are snake_case in configs (camelCase code names accepted too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError, type Issue } from '../core/errors.js';
import { Issues, optionKeys, snakeCase } from '../core/issues.js';
import { parseOneShotOptions } from '../oneshot/options.js';
import { validateOptions } from '../strategy/registry.js';
import { evolutionStrategy as evolution } from '../strategy/evolution.js';
import { prepareSearch } from './index.js';
import { prepareOneShot } from './oneshot.js';

const fieldsOf = (e: unknown): string[] => {
  assert.ok(isNasError(e), String(e));
  const l = (e.details as { issues?: Issue[] } | undefined)?.issues;
  return l ? l.map((i) => i.field ?? '') : [e.field ?? ''];
};

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-opt-issues-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('optionKeys: snake_case names, camelCase accepted, unknown and doubled keys all reported', () => {
  assert.equal(snakeCase('sampleSize'), 'sample_size');
  assert.equal(snakeCase('alphaBeta1'), 'alpha_beta1');
  assert.equal(snakeCase('top_k'), 'top_k');
  const I = new Issues();
  const m = optionKeys({ sample_size: 1, population: 2, popuation: 3, sampleSize: 4, nope: 5 }, ['population', 'sampleSize'], 'strategy.options', I);
  assert.deepEqual([...m], [['sampleSize', 'sample_size'], ['population', 'population']]);
  assert.throws(() => I.throwIfAny('x'), (e: unknown) => {
    assert.deepEqual(fieldsOf(e), ['strategy.options.popuation', 'strategy.options.sampleSize', 'strategy.options.nope']);
    assert.match((e as Error).message, /popuation.*did you mean population\?/);
    assert.match((e as Error).message, /sample_size is given twice \(as sample_size and sampleSize\)/);
    return true;
  });
});

test('strategy options: every bad option at once; snake_case and camelCase give the same options', () => {
  assert.throws(() => validateOptions(evolution.options, { populaton: 20, sample_size: 'ten', population: 1.5 }, 'strategy.options'), (e: unknown) => {
    assert.ok(isNasError(e, 'invalid_config'));
    assert.deepEqual(fieldsOf(e), ['strategy.options.populaton', 'strategy.options.population', 'strategy.options.sample_size']);
    assert.match((e as Error).message, /^3 problems in strategy\.options:/);
    return true;
  });
  assert.deepEqual(validateOptions(evolution.options, { sample_size: 5 }), validateOptions(evolution.options, { sampleSize: 5 }));
  // One problem: the error itself, hint listing the snake_case names.
  assert.throws(() => validateOptions(evolution.options, { size: 5 }, 'strategy.options'), (e: unknown) => isNasError(e) && e.field === 'strategy.options.size' && /sample_size/.test(e.hint ?? ''));
});

test('a search config: config fields, strategy options and evaluator options listed together', () => {
  withDir((dir) => {
    const base = { study: 's', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', trials: 5 };
    // nb201: two unknown keys and two bad values, beside a bad strategy option and a bad scalar field.
    assert.throws(
      () => prepareSearch({ config: { ...base, seed: -1, strategy: { name: 'evolution', options: { population: 0 } }, evaluator: { name: 'nb201', tabel: 'x.csv', foo: 1, delay_ms: -5, busy: 'yes' } } }),
      (e: unknown) => {
        assert.deepEqual(fieldsOf(e), ['seed', 'strategy.options.population', 'evaluator.tabel', 'evaluator.foo', 'evaluator.delay_ms', 'evaluator.busy']);
        assert.match((e as Error).message, /^6 problems in the config:/);
        return true;
      },
    );
    // synthetic: every option; an objective the evaluator does not report is still checked when the evaluator is sound.
    assert.throws(() => prepareSearch({ config: { ...base, strategy: 'random', evaluator: { name: 'synthetic', steps: 0, delay_ms: 'x' } } }), (e: unknown) => {
      assert.deepEqual(fieldsOf(e), ['evaluator.delay_ms', 'evaluator.steps']);
      return true;
    });
    assert.throws(() => prepareSearch({ config: { ...base, strategy: { name: 'evolution', options: { sample_size: 0 } }, evaluator: 'synthetic', objectives: ['nope'], constraints: [{ metric: 'nope2', max: 1 }] } }), (e: unknown) => {
      assert.deepEqual(fieldsOf(e), ['strategy.options.sample_size', 'objectives[0].metric', 'constraints[0].metric']);
      return true;
    });
    // prescreen: each field and each proxy name.
    assert.throws(() => prepareSearch({ config: { ...base, strategy: 'random', evaluator: 'nb201', prescreen: { candidates: 0, top: 'x', proxies: ['synflo', 'nope'] } } }), (e: unknown) => {
      assert.deepEqual(fieldsOf(e), ['prescreen.candidates', 'prescreen.top', 'prescreen.proxies[0]', 'prescreen.proxies[1]']);
      assert.match((e as Error).message, /synflo/);
      return true;
    });
    // Each key of one objective / constraint, and every warm_start entry.
    assert.throws(
      () =>
        prepareSearch({
          config: { ...base, strategy: 'random', evaluator: 'nb201', objectives: [{ metric: 5, direction: 'up', extra: 1 }], constraints: [{ metric: 'params', max: 'big', x: 1 }], warm_start: [{ study: '' }, { stduy: 'a' }] },
        }),
      (e: unknown) => {
        assert.deepEqual(fieldsOf(e), [
          'objectives[0].extra',
          'objectives[0].metric',
          'objectives[0].direction',
          'constraints[0].x',
          'constraints[0].max',
          'warm_start[0].study',
          'warm_start[1].stduy',
          'warm_start[1].study',
        ]);
        return true;
      },
    );
  });
});

test('train and proxy evaluators: hyperparameters (snake_case) and proxy options with the train options', () => {
  withDir((dir) => {
    const base = { study: 's', storage: `sqlite:${join(dir, 's.db')}`, space: 'mlp', strategy: 'random', trials: 5 };
    // Bad hyperparameters were accepted and failed every trial; now checked up front, all of them.
    assert.throws(
      () => prepareSearch({ config: { ...base, evaluator: { name: 'train', dataset: 'digits', epochs: 0, hparams: { wd: 1, lr: -1, batch_size: 0, label_smoothing: 2 } } } }),
      (e: unknown) => {
        assert.deepEqual(fieldsOf(e), ['evaluator.epochs', 'evaluator.hparams.wd', 'evaluator.hparams.lr', 'evaluator.hparams.batch_size', 'evaluator.hparams.label_smoothing']);
        assert.match((e as Error).message, /wd.*hyperparameters are: optimizer, lr, batch_size, weight_decay/);
        return true;
      },
    );
    // Both spellings of a hyperparameter are accepted.
    for (const hparams of [{ batch_size: 32, weight_decay: 1e-4 }, { batchSize: 32, weightDecay: 1e-4 }])
      assert.doesNotThrow(() => prepareSearch({ config: { ...base, evaluator: { name: 'train', dataset: 'digits', epochs: 1, hparams } } }), JSON.stringify(hparams));
    // proxy: its own options and the train options it shares, together.
    assert.throws(() => prepareSearch({ config: { ...base, evaluator: { name: 'proxy', dataset: 'digits', proxies: ['synflo', 'naswot', 'nope'], per_class: 0, val_fraction: 5 } } }), (e: unknown) => {
      assert.deepEqual(fieldsOf(e), ['evaluator.val_fraction', 'evaluator.proxies[0]', 'evaluator.proxies[2]', 'evaluator.per_class']);
      return true;
    });
  });
});

test('one-shot studies: options, the restricted fields and the train options together', () => {
  assert.throws(() => parseOneShotOptions({ epocs: 3, lr: -1, top_k: 'x', tau_min: 0, population: 1 }), (e: unknown) => {
    assert.deepEqual(fieldsOf(e), ['strategy.options.epocs', 'strategy.options.top_k', 'strategy.options.lr', 'strategy.options.tau_min', 'strategy.options.population']);
    assert.match((e as Error).message, /epocs.*did you mean epochs\?/);
    return true;
  });
  withDir((dir) => {
    assert.throws(
      () =>
        prepareOneShot({
          config: { study: 'o', storage: `sqlite:${join(dir, 'o.db')}`, space: 'nb201', strategy: { name: 'darts', options: { epochs: 0, width: -1 } }, workers: 2, constraints: [{ metric: 'params', max: 1 }], evaluator: { name: 'train', dataset: 'digits', epochs: 0 } },
        }),
      (e: unknown) => {
        assert.deepEqual(fieldsOf(e), ['strategy.options.epochs', 'strategy.options.width', 'evaluator.epochs', 'workers', 'constraints']);
        return true;
      },
    );
  });
});
