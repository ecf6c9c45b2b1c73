import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toyScore, toySpace, type ToyArch } from './common-suite.js';
import { simulate } from './common-testing.js';
import { withEnqueued } from './enqueue.js';
import { createStrategy } from './registry.js';
import { eraseState } from './types.js';

test('enqueue: an enqueued arch the evaluator cannot run is still proposed (its failed trial gives the reason); the strategy\'s own draws skip such archs', () => {
  const infeasible = (a: ToyArch) => (a.a === 'x' ? 'pooling reduces the input to 0x0' : undefined);
  const bad: ToyArch = { a: 'x', n: 1, cell: ['conv', 'id', 'zero'] } as ToyArch;
  const s = eraseState(withEnqueued(createStrategy('random'), [bad as never]));
  const r = simulate(s, { space: toySpace, objectives: [{ metric: 'val_acc', direction: 'maximize' }], evaluate: (a) => (infeasible(a) ? undefined : toyScore(a)), trials: 12, seed: 1, infeasible });
  assert.equal(r.history[0]!.key, toySpace.key(bad));
  assert.equal(r.history[0]!.state, 'failed');
  assert.ok(r.history.slice(1).every((t) => infeasible(t.arch) === undefined), 'random draws skip infeasible archs');
});
