// bench/optuna_main.py (the main-job bench's Optuna peer) holds its search budget inside a trial:
// Optuna's `timeout` only stops starting trials (a new user's run, session 11: 269.8 s of peer
// search against a 133 s budget), so train() checks the deadline at every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch, optuna'], { encoding: 'utf8' }).status === 0;

const SCRIPT = `
import sys, time, json, torch
sys.path.insert(0, ${JSON.stringify(BENCH)})
from optuna_main import train, SearchTimeUp
torch.set_num_threads(1)
cfg = {'layers': [{'kernel': 3, 'channels': 16, 'activation': 'relu', 'pool': 2, 'skip': False}], 'dropout': 0.0, 'head': 'gap', 'hidden': 0,
       'optimizer': 'adamw', 'lr': 1e-3, 'batch': 32, 'wd': 1e-4}
g = torch.Generator().manual_seed(0)
x = torch.randn(64, 1, 28, 28, generator=g)
y = torch.randint(0, 10, (64,), generator=g)
out = {}
# No deadline: one unit trains to the end.
units = []
train(cfg, x, y, 1, 0, 0.1, on_unit=lambda m, k: units.append(k))
out['plain_units'] = units
# A deadline already past: stopped before the first step.
try:
    train(cfg, x, y, 1, 0, 0.1, deadline=time.perf_counter() - 1)
    out['past'] = 'finished'
except SearchTimeUp as e:
    out['past'] = str(e)
# A deadline 0.5 s ahead of a training of 5,000 units (10,000 steps, seconds to minutes): stopped inside the trial, not finished.
units = []
try:
    train(cfg, x, y, 5000, 0, 0.1, on_unit=lambda m, k: units.append(k), deadline=time.perf_counter() + 0.5)
    out['long'] = 'finished'
except SearchTimeUp as e:
    out['long'] = str(e)
out['long_units'] = len(units)
print(json.dumps(out))
`;

test('optuna_main.py train(): a trial still training at the search deadline stops at its next step (SearchTimeUp), without a deadline it trains to the end', { skip: !torchOk && 'no /usr/bin/python3 with torch and optuna' }, () => {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { plain_units: number[]; past: string; long: string; long_units: number };
  assert.deepEqual(o.plain_units, [1]);
  assert.equal(o.past, 'search budget reached at step 0 of 2');
  assert.match(o.long, /^search budget reached (at step \d+ of 10000|before the validation after unit \d+)$/);
  assert.ok(o.long_units < 5000);
});
