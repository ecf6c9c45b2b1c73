/**
 * Evolution names each mutated child's parent: the trial records it (params.parent, user attr
 * parent_trial, the `parent` column of `tsnas trials`), and with `inherit` the child starts from
 * the parent's kept weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../store/index.js';
import { prepareSearch, search } from './study.js';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('evolution: children record their parent trial (params, user attr, tsnas trials)', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-evo-parent-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    await search(prepareSearch({ config: { study: 'evo', storage, space: 'nb201', strategy: { name: 'evolution', options: { population: 4, sampleSize: 2 } }, evaluator: 'nb201', trials: 12, seed: 5 } }));
    const s = await openStore(storage);
    try {
      const rec = await s.requireStudy('evo');
      const trials = await s.listTrials(rec.id);
      const byId = new Map(trials.map((t) => [t.id as unknown as number, t]));
      const children = trials.filter((t) => t.params['parent'] !== undefined);
      assert.ok(children.length >= 6, `${children.length} mutated children of 12 trials (4 random first)`);
      for (const t of trials.slice(0, 4)) assert.equal(t.params['parent'], undefined, 'the random initial population has no parent');
      for (const c of children) {
        const p = byId.get(c.params['parent'] as number);
        assert.ok(p, 'the parent is a trial of the study');
        assert.ok(p!.number < c.number);
        assert.equal(c.userAttrs['parent_trial'], p!.number);
        // NB201 mutation changes one edge's operation.
        const a = (p!.arch as { ops: string[] }).ops;
        const b = (c.arch as { ops: string[] }).ops;
        assert.equal(a.filter((op, i) => op !== b[i]).length, 1, `${a} -> ${b}`);
      }
      const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'trials', '--study', 'evo', '--storage', storage], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n');
      const header = lines.find((l) => /\bparent\b/.test(l));
      assert.ok(header, r.stdout);
      const c = children[0]!;
      assert.ok(lines.some((l) => new RegExp(`^\\s*${c.number}\\s.*\\s${c.userAttrs['parent_trial']}\\s`).test(l)), `row of trial ${c.number} shows parent ${c.userAttrs['parent_trial']}`);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evolution + inherit: a mutated child starts from its parent\'s kept weights', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-evo-inherit-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    await search(
      prepareSearch({
        config: {
          study: 'evo',
          storage,
          space: 'mlp',
          strategy: { name: 'evolution', options: { population: 2, sampleSize: 2 } },
          evaluator: { name: 'train', dataset: 'digits', epochs: 1, threads: 1, skip_test: true, train_per_class: 20, inherit: 'morph' },
          trials: 4,
          seed: 2,
        },
      }),
    );
    const s = await openStore(storage);
    try {
      const trials = await s.listTrials((await s.requireStudy('evo')).id);
      const children = trials.filter((t) => t.params['parent'] !== undefined && t.state === 'complete');
      assert.ok(children.length >= 1);
      for (const c of children) {
        assert.equal(typeof c.userAttrs['parent_trial'], 'number');
        assert.ok(c.metrics!['inherited_fraction']! > 0, `child ${c.number} inherited ${c.metrics!['inherited_fraction']}`);
      }
      for (const t of trials.slice(0, 2)) assert.equal(t.metrics!['inherited_fraction'], 0);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
