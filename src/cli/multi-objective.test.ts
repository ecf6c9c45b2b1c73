/**
 * New user, session 10, finding 6: `best`, `export`, `status` and `repeat` of a multi-objective
 * study used its first objective only. Now `best` lists the Pareto set (text and --json, as
 * Optuna's best_trials), `status` gives the front's size and hypervolume with its reference point,
 * `export` says the trial is one of a front and exports another with --trial N, and `repeat`
 * summarises each seed's hypervolume bounded by one reference point for all seeds (stated).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured as cli } from './testing/run-captured.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-mo-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const S = ['--storage', `sqlite:${join(dir, 'mo.db')}`];
const MO = ['--space', 'nb201', '--strategy', 'nsga2', '--evaluator', 'nb201', '--objective', 'val_acc,latency_ms', '--direction', 'maximize,minimize', '--quiet'];
type T = { number: number; state: string; values: number[] | null };

/** Non-dominated (maximize values[0], minimize values[1]) complete trials, by brute force. */
function front(trials: T[]): number[] {
  const c = trials.filter((t) => t.state === 'complete' && t.values);
  const dom = (a: number[], b: number[]) => a[0]! >= b[0]! && a[1]! <= b[1]! && (a[0]! > b[0]! || a[1]! < b[1]!);
  return c.filter((t) => !c.some((u) => dom(u.values!, t.values!))).map((t) => t.number).sort((a, b) => a - b);
}

test('best/status/export of a two-objective study: the Pareto set, its hypervolume and reference point, export --trial', async () => {
  const s0 = await cli(['search', ...MO, '--trials', '24', '--study', 'mo', ...S]);
  assert.equal(s0.code, 0, s0.stderr);
  // The search's own summary: the front, not the first objective's best.
  assert.match(s0.stdout, /^pareto front: \d+ of 24 feasible complete trial\(s\)/m);
  assert.doesNotMatch(s0.stdout, /^best: trial/m);
  const all = (JSON.parse((await cli(['trials', '--study', 'mo', ...S, '--format', 'json'])).stdout) as { trials: T[] }).trials;
  const expected = front(all);
  assert.ok(expected.length >= 2, `a front of ${expected.length}`);

  const bj = await cli(['best', '--study', 'mo', ...S, '--json']);
  assert.equal(bj.code, 0, bj.stderr);
  const b = JSON.parse(bj.stdout) as { best_trials: T[]; pareto: { size: number; hypervolume: number; ref_point: number[]; ref_source: string } };
  assert.deepEqual(b.best_trials.map((t) => t.number).sort((x, y) => x - y), expected);
  assert.equal(b.pareto.size, expected.length);
  assert.equal(b.pareto.ref_source, 'study');
  assert.ok(b.pareto.hypervolume > 0);
  const bt = await cli(['best', '--study', 'mo', ...S]);
  assert.match(bt.stdout, /2 objectives, no single best; its Pareto set:/);
  assert.match(bt.stdout, new RegExp(`pareto front: ${expected.length} of \\d+ feasible complete trial\\(s\\), non-dominated on val_acc \\(maximize\\), latency_ms \\(minimize\\); hypervolume [\\d.]+ \\(reference point val_acc=.*this study`));
  assert.match(bt.stdout, /tsnas export --study mo --trial N --out DIR/);

  // A fixed reference point: stated as given; the value is the area over it.
  const fixed = JSON.parse((await cli(['status', '--study', 'mo', ...S, '--ref-point', '0,100', '--json'])).stdout) as { pareto: { hypervolume: number; ref_point: number[]; ref_source: string } };
  assert.deepEqual([fixed.pareto.ref_point, fixed.pareto.ref_source], [[0, 100], 'given']);
  assert.ok(fixed.pareto.hypervolume > b.pareto.hypervolume, 'a looser point bounds a larger area');
  const st = await cli(['status', '--study', 'mo', ...S]);
  assert.match(st.stdout, new RegExp(`pareto front: ${expected.length} of`));
  assert.doesNotMatch(st.stdout, /warning/);
  // The values swapped (new user 10b, finding 6): hypervolume 0, said why, in text and JSON.
  const swapped = await cli(['status', '--study', 'mo', ...S, '--ref-point', '100,0']);
  assert.equal(swapped.code, 0, swapped.stderr);
  assert.match(swapped.stdout, /hypervolume 0 .*\nwarning: the reference point bounds none of the Pareto front, so the hypervolume is 0: val_acc=100 is at or above every Pareto-front trial's val_acc .*for a maximised objective the reference point is the worst value, below every trial's; latency_ms=0 is at or below/);
  const sj = JSON.parse((await cli(['best', '--study', 'mo', ...S, '--ref-point', '100,0', '--json'])).stdout) as { pareto: { hypervolume: number; ref_point_warning?: string } };
  assert.equal(sj.pareto.hypervolume, 0);
  assert.match(sj.pareto.ref_point_warning ?? '', /e\.g\. --ref-point /);
  assert.equal((JSON.parse((await cli(['status', '--study', 'mo', ...S, '--ref-point', '0,100', '--json'])).stdout) as { pareto: object }).pareto.hasOwnProperty('ref_point_warning'), false);
  // The list of all studies gives each multi-objective study's front too (rest-10), not only its first objective's best.
  const list = await cli(['status', ...S]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^mo \\(2 objectives; its best column is val_acc alone\\): pareto front: ${expected.length} of \\d+ feasible complete trial\\(s\\).*hypervolume [\\d.]+ .*tsnas best --study mo lists the front$`, 'm'));
  const listJson = JSON.parse((await cli(['status', ...S, '--json'])).stdout) as { name: string; pareto?: { size: number; trials: number[] } }[];
  assert.deepEqual(listJson.find((x) => x.name === 'mo')?.pareto?.trials.slice().sort((x, y) => x - y), expected);
  for (const [args, re] of [
    [['status', '--study', 'mo', ...S, '--ref-point', '0'], /--ref-point: has 1 value\(s\); the study has 2 objective/],
    [['status', ...S, '--ref-point', '0,1'], /--ref-point: applies to one study/],
  ] as const) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }

  // export: the default is said to be one of a front; --trial exports the one asked for.
  const e = await cli(['export', '--study', 'mo', ...S, '--out', join(dir, 'w1'), '--json']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, new RegExp(`warning: study mo has 2 objectives: trial \\d+ is the best by val_acc alone, one of a Pareto front of ${expected.length} trial\\(s\\).*--trial N exports another`));
  const other = expected.find((n) => n !== (JSON.parse(e.stdout) as { trial: number }).trial)!;
  const e2 = await cli(['export', '--study', 'mo', ...S, '--out', join(dir, 'w2'), '--trial', String(other)]);
  assert.equal(e2.code, 0, e2.stderr);
  assert.equal((JSON.parse(readFileSync(join(dir, 'w2', 'metrics.json'), 'utf8')) as { trial: number }).trial, other);
  assert.doesNotMatch(e2.stderr, /not on the Pareto front/);
  // A dominated trial: exported as asked, with a note that it is off the front (new user 10b, finding 7).
  const dominated = all.find((t) => t.state === 'complete' && t.values && !expected.includes(t.number))!;
  const e4 = await cli(['export', '--study', 'mo', ...S, '--out', join(dir, 'w4'), '--trial', String(dominated.number)]);
  assert.equal(e4.code, 0, e4.stderr);
  assert.match(e4.stderr, new RegExp(`warning: trial ${dominated.number} is not on the Pareto front of study mo \\(${expected.length} trial\\(s\\): .*exported as asked`));
  const e3 = await cli(['export', '--study', 'mo', ...S, '--out', join(dir, 'w3'), '--trial', '999']);
  assert.equal(e3.code, 2, e3.stderr);
  assert.match(e3.stderr, /--trial: study mo has no trial number 999 \(trial numbers run from 0 to 23/);
  assert.ok(!existsSync(join(dir, 'w3')));
});

test('single-objective studies keep best as one trial; --ref-point is refused there', async () => {
  assert.equal((await cli(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '3', '--study', 'so', '--quiet', ...S])).code, 0);
  const b = JSON.parse((await cli(['best', '--study', 'so', ...S, '--json'])).stdout) as { number: number };
  assert.equal(typeof b.number, 'number');
  const r = await cli(['best', '--study', 'so', ...S, '--ref-point', '0,1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--ref-point: applies to a multi-objective study; so has one objective \(val_acc\)/);
});

test('repeat of a two-objective config: per-seed Pareto size and hypervolume over ONE shared reference point, stated; --ref-point fixes it', async () => {
  const r = await cli(['repeat', ...MO, '--trials', '10', '--seeds', '0,1', '--study', 'rmo', ...S, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { runs: { pareto: { size: number; hypervolume: number } }[]; summary: Record<string, unknown>; hypervolume: { ref: number[]; refSource: string } };
  assert.equal(j.hypervolume.refSource, 'shared');
  assert.deepEqual(Object.keys(j.summary).sort(), ['hypervolume', 'pareto_size']);
  assert.ok(j.runs.every((x) => x.pareto.size > 0 && x.pareto.hypervolume > 0));
  // Each seed's hypervolume is its own front bounded by the shared point (as status computes it with that point).
  for (const [i, seed] of [0, 1].entries()) {
    const st = JSON.parse((await cli(['status', '--study', `rmo-seed${seed}`, ...S, '--ref-point', j.hypervolume.ref.join(','), '--json'])).stdout) as { pareto: { hypervolume: number } };
    assert.ok(Math.abs(st.pareto.hypervolume - j.runs[i]!.pareto.hypervolume) <= 1e-9 * Math.max(1, st.pareto.hypervolume), `seed ${seed}`);
  }
  const text = await cli(['repeat', ...MO, '--trials', '10', '--seeds', '0,1', '--study', 'rmo', ...S]);
  assert.match(text.stdout, /pareto size/);
  assert.match(text.stdout, /hypervolume reference point, the same for every seed: val_acc=.*shared by the 2 studies/);
  const given = JSON.parse((await cli(['repeat', ...MO, '--trials', '10', '--seeds', '0,1', '--study', 'rmo', ...S, '--ref-point', '0,100', '--json'])).stdout) as { hypervolume: { ref: number[]; refSource: string } };
  assert.deepEqual([given.hypervolume.ref, given.hypervolume.refSource], [[0, 100], 'given']);
  assert.equal((given.hypervolume as { warning?: string }).warning, undefined);
  const swapped = await cli(['repeat', ...MO, '--trials', '10', '--seeds', '0,1', '--study', 'rmo', ...S, '--ref-point', '100,0']);
  assert.equal(swapped.code, 0, swapped.stderr);
  assert.match(swapped.stdout, /\nwarning: seed\(s\) 0, 1: the reference point bounds none of the Pareto front, so the hypervolume is 0: val_acc=100 is at or above/);
});
