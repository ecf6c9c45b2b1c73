/**
 * Session 9, fault kind 2: a misspelt strategy name, a bad storage URL and a misspelt objective
 * metric were reported alone (another field's problem, e.g. a bad objective direction, stopped the
 * registries' checks) and without "did you mean". Every name a config takes is now checked beside
 * the other fields' problems (Issues.takeBeyond: a field already found bad adds no second line),
 * with the closest valid name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NasError, type Issue } from '../core/errors.js';
import { Issues } from '../core/issues.js';
import { parseStoreUrl } from '../store/index.js';
import { getStrategyEntry } from '../strategy/registry.js';
import { getSpace } from '../space/registry.js';
import { getProxy } from '../eval/proxies/registry.js';
import { prepareSearch } from './index.js';

const issuesOf = (e: unknown): Issue[] => ((e as { details?: { issues?: Issue[] } }).details?.issues ?? []);
const dir = mkdtempSync(join(tmpdir(), 'tsnas-names-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('misspelt names get the closest valid one: strategy, space, evaluator, storage scheme, metrics, proxies', () => {
  assert.throws(() => getStrategyEntry('evolutoin'), /did you mean evolution\?/);
  assert.throws(() => getSpace('nb20'), /did you mean nb201\?/);
  assert.throws(() => parseStoreUrl('sqlit:./a.db'), /did you mean sqlite:\?/);
  assert.throws(() => parseStoreUrl('postgress://h/db'), /did you mean postgres:\?/);
  assert.throws(() => getProxy('synflw'), /did you mean synflow\?/);
  const base = { study: 's', storage: `sqlite:${join(dir, 'a.db')}`, space: 'nb201', strategy: 'random', evaluator: 'nb201' };
  for (const [over, field, near] of [
    [{ evaluator: 'nb2011' }, 'evaluator.name', 'nb201'],
    [{ objectives: [{ metric: 'val_accc', direction: 'maximize' }] }, 'objectives[0].metric', 'val_acc'],
    [{ objectives: [{ metric: 'val_acc', direction: 'maximize', tie_break: 'parms' }] }, 'objectives[0].tie_break.metric', 'params'],
    [{ constraints: [{ metric: 'latency_sm', max: 40 }] }, 'constraints[0].metric', 'latency_ms'],
  ] as const)
    assert.throws(
      () => prepareSearch({ config: { ...base, ...over } }),
      (e: unknown) => e instanceof NasError && e.field === field && e.message.includes(`did you mean ${near}?`),
      JSON.stringify(over),
    );
});

test('the registries check names beside the other fields problems (every one in one list, none twice)', () => {
  const config = {
    study: 's',
    storage: 'sqlit:./a.db',
    space: 'nb20',
    strategy: { name: 'evolutoin' },
    evaluator: 'nb201',
    objectives: [{ metric: 'val_accc', direction: 'maximise' }],
    trials: -1,
  };
  assert.throws(
    () => prepareSearch({ config }),
    (e: unknown) => {
      assert.deepEqual(
        issuesOf(e).map((i) => i.field),
        ['storage', 'objectives[0].direction', 'trials', 'space', 'strategy'],
      );
      assert.match((e as Error).message, /^5 problems in the config:/);
      assert.match((e as Error).message, /nb201\?[\s\S]*evolution\?/);
      return true;
    },
  );
  // With the space right, the objective metric is checked too, beside the bad direction of the same objective.
  assert.throws(
    () => prepareSearch({ config: { ...config, space: 'nb201' } }),
    (e: unknown) => {
      assert.deepEqual(
        issuesOf(e).map((i) => i.field),
        ['storage', 'objectives[0].direction', 'trials', 'strategy', 'objectives[0].metric'],
      );
      return true;
    },
  );
  // A bad evaluator name with a bad space: both named.
  assert.throws(
    () => prepareSearch({ config: { ...config, evaluator: 'nb2011', strategy: 'random', objectives: undefined, trials: 1, storage: `sqlite:${join(dir, 'a.db')}` } }),
    (e: unknown) => {
      assert.deepEqual(issuesOf(e).map((i) => i.field), ['space', 'evaluator.name']);
      return true;
    },
  );
});

test('Issues.takeBeyond keeps a check\'s problems except on fields already found bad (the field, inside it, or containing it)', () => {
  const I = new Issues();
  I.add(new NasError('invalid_config', 'bad', { field: 'objectives[0].direction' }));
  I.takeBeyond(() => {
    const J = new Issues();
    J.add(new NasError('invalid_config', 'consequence', { field: 'objectives[0]' }));
    J.add(new NasError('invalid_config', 'consequence', { field: 'objectives[0].direction.x' }));
    J.add(new NasError('invalid_config', 'kept', { field: 'objectives[1].metric' }));
    J.add(new NasError('invalid_config', 'kept', { field: 'objectivesX' }));
    J.add(new NasError('invalid_config', 'dropped by alsoBad', { field: 'strategy.name' }));
    J.throwIfAny('x');
  }, undefined, ['strategy']);
  assert.deepEqual(I.fields(), ['objectives[0].direction', 'objectives[1].metric', 'objectivesX']);
});
