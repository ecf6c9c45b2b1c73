/**
 * Multi-fidelity strategies end to end: successive halving, Hyperband and ASHA drive a real study
 * through the API (prepareSearch/search, SQLite in a temp dir) with the real training evaluator on
 * the digits data (MLP space, budgets of 1 and 3 epochs: rungs [1, 3] with eta 3). Checked from what
 * the store recorded, as a user would read it:
 *  - the budgets of the trials follow the strategy's schedule (which trial runs at which rung);
 *  - every promotion re-runs an architecture that was in the top 1/eta of the finished trials of
 *    the rung below, at the next rung's budget, and was really trained that long (its learning
 *    curve has one point per epoch, its `epochs` metric is the budget);
 *  - the study's best trial is at the top rung;
 *  - a study stopped in the middle (between trials, or while a promoted trial trains), whose next
 *    trial is then taken by a worker that is killed, and that is started again, continues the same
 *    schedule: same architectures at the same budgets, same promotions, same results as a study that
 *    ran without a stop (training is deterministic per study seed and trial number).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type Store, type TrialRecord } from '../store/index.js';
import { loadStudy, prepareSearch, search, type StudyEvent } from './index.js';

const DIGITS = fileURLToPath(new URL('../../data/digits/digits.csv.gz', import.meta.url));
const MAX_EPOCHS = 3;
const ETA = 3;

interface Case {
  readonly strategy: string;
  readonly options: Record<string, number | string>;
  readonly trials: number;
  /** The budget of each trial in creation order, as the schedule prescribes (one worker). */
  readonly budgets: readonly number[];
  /** Where the interrupted run is stopped. */
  readonly stop: { readonly after: 'finished' | 'progress'; readonly trial: number };
}

const CASES: readonly Case[] = [
  // One bracket: 6 archs for 1 epoch, the best floor(6/3) = 2 again for 3 epochs. Stopped while the
  // first promoted trial trains (after its first epoch).
  { strategy: 'successive_halving', options: { n: 6 }, trials: 8, budgets: [1, 1, 1, 1, 1, 1, 3, 3], stop: { after: 'progress', trial: 6 } },
  // s_max = 1: bracket s=1 runs 3 archs for 1 epoch and promotes 1; bracket s=0 runs 2 new archs for
  // 3 epochs. Stopped between trials, when rung 0 is complete and the promotion not yet asked.
  { strategy: 'hyperband', options: {}, trials: 6, budgets: [1, 1, 1, 3, 3, 3], stop: { after: 'finished', trial: 2 } },
  // Asynchronous: a promotion as soon as a rung-0 trial is in the top floor(n/3) of the n finished
  // ones and not yet promoted (after 3 and after 6 finished), otherwise a new arch for 1 epoch.
  { strategy: 'asha', options: {}, trials: 8, budgets: [1, 1, 1, 3, 1, 1, 1, 3], stop: { after: 'progress', trial: 3 } },
];

function config(dir: string, c: Case, study: string) {
  return {
    study,
    storage: `sqlite:${join(dir, 'mf.db')}`,
    space: 'mlp',
    strategy: { name: c.strategy, options: { eta: ETA, minBudget: 1, ...c.options } },
    evaluator: { name: 'train', dataset: 'digits', path: DIGITS, epochs: MAX_EPOCHS, threads: 1, skip_test: true },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    trials: c.trials,
    seed: 7,
  };
}

interface Recorded {
  readonly trials: TrialRecord[];
  /** Learning-curve steps per trial number. */
  readonly steps: Map<number, number[]>;
}

async function recorded(storage: string, study: string): Promise<Recorded> {
  const store: Store = await openStore(storage);
  try {
    const rec = await store.requireStudy(study);
    const trials = await store.listTrials(rec.id);
    const steps = new Map<number, number[]>();
    for (const t of trials) steps.set(t.number, (await store.getIntermediates(t.id)).map((i) => i.step));
    return { trials, steps };
  } finally {
    await store.close();
  }
}

/** The schedule as a comparable list: arch key, budget and the number of the promoted trial. */
function schedule(trials: readonly TrialRecord[]): string[] {
  const numberOf = new Map(trials.map((t) => [t.id as number, t.number]));
  return trials.map((t) => `${t.archKey}@${t.budget}${t.params['promotes'] === undefined ? '' : ` promotes #${numberOf.get(t.params['promotes'] as number)}`}`);
}

/** Checks the recorded study against the case's schedule and the promotion rule. */
function checkSchedule(c: Case, r: Recorded, bestNumber: number | undefined): void {
  const { trials } = r;
  const label = `${c.strategy}: ${schedule(trials).join(', ')}`;
  assert.equal(trials.length, c.trials, label);
  assert.deepEqual(trials.map((t) => t.state), trials.map(() => 'complete'), label);
  assert.deepEqual(trials.map((t) => t.budget), [...c.budgets], label);
  const byId = new Map(trials.map((t) => [t.id as number, t]));
  const seen = new Set<string>();
  for (const t of trials) {
    const budget = t.budget!;
    // Trained for exactly its budget: one curve point per epoch, 1..budget, and the epochs metric.
    assert.deepEqual(r.steps.get(t.number), Array.from({ length: budget }, (_, i) => i + 1), `${c.strategy} trial ${t.number} curve`);
    assert.equal(t.metrics?.['epochs'], budget, `${c.strategy} trial ${t.number} epochs`);
    const key = `${t.archKey}@${budget}`;
    assert.ok(!seen.has(key), `${c.strategy}: ${key} ran twice`);
    seen.add(key);
    const promotes = t.params['promotes'];
    if (promotes === undefined) {
      assert.ok(![...seen].some((k) => k.startsWith(`${t.archKey}@`) && k !== key), `${c.strategy} trial ${t.number}: a known arch without a promotion`);
      continue;
    }
    const from = byId.get(promotes as number);
    assert.ok(from, `${c.strategy} trial ${t.number} promotes an unknown trial`);
    assert.ok(from.number < t.number && from.archKey === t.archKey && from.budget === 1 && budget === MAX_EPOCHS, `${c.strategy} trial ${t.number} promotes #${from.number}`);
    // The promoted trial was in the top floor(n / eta) of the rung's n finished trials at the time.
    const rung = trials.filter((x) => x.number < t.number && x.budget === 1 && x.state === 'complete');
    const top = [...rung].sort((a, b) => b.values![0]! - a.values![0]! || a.number - b.number).slice(0, Math.floor(rung.length / ETA));
    assert.ok(
      top.some((x) => x.number === from.number),
      `${c.strategy} trial ${t.number} promotes #${from.number} (${from.values![0]}), not in the top ${top.length} of ${rung.length}: ${top.map((x) => `#${x.number} ${x.values![0]}`).join(', ')}`,
    );
  }
  const best = trials.find((t) => t.number === bestNumber);
  assert.equal(best?.budget, MAX_EPOCHS, `${c.strategy}: the best trial #${bestNumber} ran at budget ${best?.budget}`);
}

const dir = mkdtempSync(join(tmpdir(), 'tsnas-mf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const c of CASES)
  test(`${c.strategy} on real training: budgets follow the rungs, promotions are the rung's best trained longer, best at the top rung, a stopped then killed study resumes the same schedule`, async () => {
    // Uninterrupted reference.
    const p = prepareSearch({ config: config(dir, c, `${c.strategy}-once`) });
    const once = await search(p);
    assert.equal(once.reason, 'complete');
    const ref = await recorded(p.config.storage, p.config.study);
    checkSchedule(c, ref, once.best?.number);

    // The same study stopped in the middle, then started again.
    const q = prepareSearch({ config: config(dir, c, `${c.strategy}-stopped`) });
    const ctl = new AbortController();
    const onEvent = (e: StudyEvent) => {
      if (e.type === c.stop.after && e.trial.number === c.stop.trial) ctl.abort();
    };
    const first = await search(q, { signal: ctl.signal, onEvent });
    assert.equal(first.reason, 'aborted');
    const cut = await recorded(q.config.storage, q.config.study);
    // Stopped after trial k finished: k + 1 trials, all complete. Stopped during trial k's training:
    // trial k is handed back (waiting, with part of its curve) to be re-run from its start.
    assert.equal(cut.trials.length, c.stop.trial + 1, `${c.strategy}: trials created before the stop`);
    const stopped = cut.trials[c.stop.trial]!;
    assert.deepEqual(
      cut.trials.slice(0, c.stop.trial).map((t) => t.state),
      cut.trials.slice(0, c.stop.trial).map(() => 'complete'),
    );
    if (c.stop.after === 'finished') assert.equal(stopped.state, 'complete');
    else {
      assert.equal(stopped.state, 'waiting', `${c.strategy}: the trial stopped while training is handed back`);
      assert.ok(cut.steps.get(stopped.number)!.length < stopped.budget!, `${c.strategy}: trial ${stopped.number} was stopped before its last epoch`);
    }

    // Then a worker takes the next trial (the one handed back, or a new one from the strategy) and
    // is killed: no result, no release; its short lease lapses and the next worker re-runs the trial.
    const dead = await loadStudy(q.config.storage, q.config.study, { workerId: 'killed-worker', leaseMs: 300 });
    let killed: number;
    try {
      const claimed = await dead.store.claimTrial(dead.record.id, dead.study.workerId, dead.study.leaseMs);
      const asked = claimed ? undefined : await dead.study.ask();
      killed = claimed?.number ?? (asked?.kind === 'trial' ? asked.trial.number : -1);
    } finally {
      await dead.close();
    }
    assert.equal(killed, c.stop.after === 'finished' ? c.stop.trial + 1 : c.stop.trial, `${c.strategy}: the killed worker's trial`);

    const again = await search(q, { pollMs: 50 });
    assert.equal(again.resumed, true);
    assert.equal(again.reason, 'complete');
    const resumed = await recorded(q.config.storage, q.config.study);
    checkSchedule(c, resumed, again.best?.number);
    assert.deepEqual(schedule(resumed.trials), schedule(ref.trials), `${c.strategy}: the resumed study continues the same schedule`);
    if (c.stop.after === 'progress') assert.equal(resumed.trials[c.stop.trial]!.attempt, 3, `${c.strategy}: the stopped trial ran again after the killed worker`);
    else assert.equal(resumed.trials[killed]!.attempt, 2, `${c.strategy}: the killed worker's trial ran again`);
    assert.deepEqual(
      resumed.trials.map((t) => t.values![0]),
      ref.trials.map((t) => t.values![0]),
      `${c.strategy}: same results (training is deterministic per study seed and trial number)`,
    );
  });
