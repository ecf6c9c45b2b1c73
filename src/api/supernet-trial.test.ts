/**
 * A one-shot study's trial 0 (the supernet search, arch `{supernet, method}`) is no network: every
 * `--trial` consumer refuses it, naming the derived trial 1, and writes nothing (new user 10b,
 * finding 3: `export --trial 0` wrote the placeholder as arch.json with rc 0, and `train --study
 * --trial 0` failed later with "family: missing").
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError } from '../core/errors.js';
import { openStore } from '../store/index.js';
import { createOneShotStudy } from '../server/testing/oneshot-fixture.js';
import { exportWinner } from './results.js';
import { archOfStudy } from './arch-source.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-supernet-trial-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('export --trial 0 and train --study --trial 0 of a one-shot study are refused; trial 1 is taken', async () => {
  const url = `sqlite:${join(dir, 's.db')}`;
  const store = await openStore(url);
  try {
    await createOneShotStudy(store, 4);
  } finally {
    await store.close();
  }
  const study = 'oneshot-darts-fixture';
  const refused = (field: string, verb: string) => (e: unknown) => {
    assert.ok(isNasError(e) && e.code === 'invalid_config', String(e));
    assert.equal(e.text, 'trial 0 is the one-shot supernet search, not a network; the derived architecture is trial 1');
    assert.equal(e.field, field);
    assert.match(e.hint ?? '', new RegExp(`tsnas ${verb} --study ${study} --trial 1`));
    return true;
  };
  const out = join(dir, 'x');
  await assert.rejects(exportWinner(url, study, out, { trial: 0, onnx: false }), refused('--trial', 'export'));
  assert.ok(!existsSync(out), 'nothing written');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('x')), []);
  await assert.rejects(archOfStudy({ study, storage: url, trial: 0 }), refused('trial', 'train'));
  const derived = await archOfStudy({ study, storage: url, trial: 1 });
  assert.equal(derived.trial, 1);
  assert.ok(!('supernet' in (derived.arch as object)));
});
