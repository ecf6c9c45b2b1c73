/** `tsnas ensemble` (src/api/ensemble.ts): the k best trials retrained and averaged; its flags checked at once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSearch, search } from '../api/study.js';
import { run } from './main.js';


async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-ensemble-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('tsnas ensemble: members in the study\'s order with their own test accuracy, the ensemble\'s accuracy; bad flags at once', async () => {
  const csv = join(dir, 'three.csv');
  writeFileSync(csv, 'x,y,label\n' + Array.from({ length: 90 }, (_, i) => `${(i % 3) + 0.3 * Math.sin(i)},${Math.cos(i * 7)},${['a', 'b', 'c'][i % 3]}`).join('\n') + '\n');
  const storage = `sqlite:${join(dir, 'e.db')}`;
  const r = await search(prepareSearch({ config: { study: 'e', storage, space: 'joint_mlp', strategy: 'random', seed: 1, trials: 3, evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: 2, keep_weights: false, threads: 1 } } }));
  const j = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '2', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const o = JSON.parse(j.stdout) as { test_acc: number; members: { trial: number; test_acc: number }[] };
  assert.equal(o.members.length, 2);
  assert.equal(o.members[0]!.trial, r.best!.number);
  assert.ok(o.test_acc >= 0 && o.test_acc <= 100);
  const t = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`member 1: trial ${r.best!.number} weight 1.000 test_acc [0-9.]+%\\nensemble of 1: test_acc [0-9.]+%`));
  const bad = await cli(['ensemble', '--storage', storage, '--k', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--study NAME is required/);
  assert.match(bad.stderr, /--k/);
});
