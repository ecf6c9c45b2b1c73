import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readMaybeGzip } from '../data/gzip.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasError } from '../core/errors.js';
import { createStudy, exportWinner, prepareSearch, search, studyTrials, trialsToCsv } from './index.js';

const TABLE = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));

function base(dir: string, over: Record<string, unknown> = {}) {
  return { study: 's', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201', table: TABLE }, trials: 12, ...over };
}

function rejects(f: () => unknown, code: string, field: RegExp, hint?: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof NasError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.field ?? '', field, e.message);
    if (hint) assert.match(e.hint ?? '', hint, e.message);
    return;
  }
  assert.fail('did not throw');
}

test('config validation names the field and what is allowed', () => {
  // Validation only: nothing is created in the (existing, empty) directory of the storage.
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-validate-'));
  rejects(() => prepareSearch({ config: base(dir, { strategy: 'nope' }) }), 'unknown_strategy', /^strategy$/, /random/);
  rejects(() => prepareSearch({ config: base(dir, { space: 'nope' }) }), 'unknown_space', /^space$/, /nb201/);
  rejects(() => prepareSearch({ config: base(dir, { evaluator: { name: 'nope' } }) }), 'unknown_evaluator', /^evaluator\.name$/, /nb201, synthetic/);
  rejects(() => prepareSearch({ config: base(dir, { storage: 'ftp://x' }) }), 'invalid_config', /^storage$/, /sqlite:PATH/);
  // A misspelt directory is an error naming it (never created, as sqlite3 and Optuna refuse it).
  rejects(() => prepareSearch({ config: base(dir, { storage: `sqlite:${join(dir, 'nodir', 'deeper', 's.db')}` }) }), 'invalid_config', /^storage$/, /mkdir -p .*nodir\/deeper/);
  rejects(() => prepareSearch({ config: base(dir, { evaluator: { name: 'nb201', table: '/no/such.csv' } }) }), 'data_error', /^evaluator\.table$/);
  rejects(() => prepareSearch({ config: base(dir, { strategy: { name: 'evolution', options: { populaton: 3 } } }) }), 'invalid_config', /^strategy\.options\.populaton$/);
  rejects(() => prepareSearch({ config: base(dir, { objectives: [{ metric: 'test_acc' }] }) }), 'invalid_config', /^objectives\[0\]\.metric$/);
  rejects(() => prepareSearch({ config: base(dir, { objectives: [{ metric: 'val_f1' }] }) }), 'invalid_config', /^objectives\[0\]\.metric$/, /val_acc/);
  rejects(() => prepareSearch({ config: base(dir, { constraints: [{ metric: 'params' }] }) }), 'invalid_config', /^constraints\[0\]$/);
  rejects(() => prepareSearch({ config: base(dir, { space: 'chain_cnn' }) }), 'invalid_config', /^space$/);
  rejects(() => prepareSearch({ config: base(dir, { study: 'a b' }) }), 'invalid_config', /^study$/);
  rejects(() => prepareSearch({ config: base(dir, { worker: 2 }) }), 'invalid_config', /^worker$/, /workers/);
  rejects(() => prepareSearch({ configPath: '/no/such/config.yaml' }), 'invalid_config', /^config$/);
  assert.deepEqual(readdirSync(dir), []);
  rmSync(dir, { recursive: true });
});

test('multi-fidelity strategies on a single-fidelity table are refused before anything is written (issue 17.9)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-mf-'));
  try {
    for (const name of ['successive_halving', 'hyperband', 'asha']) {
      rejects(() => prepareSearch({ config: base(dir, { strategy: name }) }), 'invalid_config', /^strategy$/, /single-fidelity strategy/);
      // the same table behind a simulated delay (a wrapper) keeps its fidelities
      rejects(() => prepareSearch({ config: base(dir, { strategy: name, evaluator: { name: 'nb201', delay_ms: 5 } }) }), 'invalid_config', /^strategy$/);
    }
    rejects(() => prepareSearch({ config: base(dir, { strategy: { name: 'asha', options: { mode: 'stop' } } }) }), 'invalid_config', /^strategy$/);
    // a rung schedule that only asks for the final budget is fine
    prepareSearch({ config: base(dir, { strategy: { name: 'asha', options: { minBudget: 200 } } }) });
    assert.deepEqual(readdirSync(dir), [], 'no database written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a table that does not cover the space: refused up front, or searched with allow_partial (issue 17.10)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-partial-'));
  try {
    const lines = new TextDecoder().decode(readMaybeGzip(TABLE)).trim().split('\n');
    const small = join(dir, 'small.csv');
    writeFileSync(small, lines.slice(0, 21).join('\n') + '\n');
    rejects(() => prepareSearch({ config: base(dir, { evaluator: { name: 'nb201', table: small } }) }), 'invalid_config', /^evaluator\.table$/, /allow_partial/);
    assert.deepEqual(readdirSync(dir), ['small.csv'], 'nothing written');
    const r = await search(prepareSearch({ config: base(dir, { trials: 6, evaluator: { name: 'nb201', table: small, allow_partial: true } }) }));
    // missing rows are failed trials (recorded, not crashes) until the study's failure limit stops it
    assert.ok(r.counts.failed > 0 && r.counts.failed + r.counts.complete === r.counts.total, JSON.stringify(r.counts));
    const trials = await studyTrials(`sqlite:${join(dir, 's.db')}`, 's');
    assert.match(trials.trials.find((t) => t.state === 'failed')!.error ?? '', /not in (the )?table/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('search, resume, mismatch, results and export through the API', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-api-'));
  try {
    const p = prepareSearch({ config: base(dir, { strategy: { name: 'evolution', options: { population: 5, sampleSize: 2 } } }) });
    assert.equal(p.config.storage, `sqlite:${join(dir, 's.db')}`);
    const r = await search(p);
    assert.equal(r.reason, 'complete');
    assert.equal(r.counts.complete, 12);
    assert.equal(r.resumed, false);
    const again = await search(p);
    assert.equal(again.resumed, true);
    assert.equal(again.counts.total, 12);
    // Same name, different strategy options: an error naming what differs, nothing changed.
    const other = prepareSearch({ config: base(dir, { strategy: { name: 'evolution', options: { population: 6, sampleSize: 2 } } }) });
    await assert.rejects(createStudy(other), (e: unknown) => e instanceof NasError && e.code === 'invalid_config' && /^strategy\.options\./.test(e.field ?? '') && /already exists .* with a different config: strategy\.options\./.test(e.message));
    const { study, trials } = await studyTrials(p.config.storage, 's');
    const csv = trialsToCsv(study, trials).trim().split('\n');
    assert.equal(csv.length, 13);
    assert.match(csv[0]!, /^number,state,attempt,value_val_acc,val_acc,test_acc/);
    const ex = await exportWinner(p.config.storage, 's', join(dir, 'out'));
    assert.deepEqual(readdirSync(ex.dir).sort(), ['arch.json', 'metrics.json']);
    const m = JSON.parse(readFileSync(join(ex.dir, 'metrics.json'), 'utf8')) as { objectives: { value: number }[]; costs: { params: number } };
    assert.equal(m.objectives[0]!.value, r.best!.values![0]);
    assert.ok(m.costs.params > 0);
    await assert.rejects(exportWinner(p.config.storage, 's', join(dir, 'out')), /already exists/);
    await assert.rejects(studyTrials(`sqlite:${join(dir, 'typo.db')}`, 's'), /no study database/);
    assert.ok(!existsSync(join(dir, 'typo.db')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train: one architecture on the digits fixture; metrics and costs; bad input is an error naming the field', async () => {
  const { train } = await import('./index.js');
  const s = await train({
    arch: { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 },
    options: { dataset: 'digits', epochs: 2, threads: 1, latency: false },
  });
  assert.equal(s.status, 'complete');
  assert.ok(s.metrics['test_acc']! > 50, JSON.stringify(s.metrics));
  assert.ok(s.metrics['val_acc']! > 50);
  assert.equal(s.costs['params'], 64 * 32 + 32 + 32 * 10 + 10);
  assert.equal(s.confusion?.length, 10);
  // Both problems at once (a bad option and a bad architecture), each naming its field.
  await assert.rejects(train({ arch: {}, options: { dataset: 'imagenet' } }), (e: unknown) =>
    e instanceof NasError && JSON.stringify((e.details?.['issues'] as { field: string }[]).map((i) => i.field)) === '["evaluator.dataset","family"]');
  await assert.rejects(train({ arch: {}, options: { dataset: 'digits' } }), (e: unknown) => e instanceof NasError && e.field === 'family');
  await assert.rejects(train({ arch: '/no/arch.json', options: { dataset: 'digits' } }), (e: unknown) => e instanceof NasError && e.field === 'arch');
});
