/**
 * A Study: ask/tell over a Store, and `optimize()` built on them (Optuna's design: ask/tell is the
 * core; optimize is a worker loop around it). Any number of Study objects - in one process or on
 * many machines - may drive the same stored study at once:
 *
 *  - ask: load the strategy state, let the strategy propose, then create the trial (already claimed
 *    by this worker) and save the new state by compare-and-set in one store transaction (reload and
 *    retry on `conflict`): the state never records a proposal without its trial, nor the reverse.
 *  - tell: finish the trial in the store (only the lease holder can, only once), then give the
 *    result to the strategy (compare-and-set again). The saved state records which trials it has
 *    been told, so a result is given to the strategy exactly once even when a process dies between
 *    the two steps: the next Study to start tells it (`reconcile`).
 *  - a worker evaluates a trial under a lease renewed by a heartbeat timer; when the lease is lost
 *    (the trial was taken over after this process stalled) the evaluation is aborted and its
 *    result discarded. A trial whose worker died is claimed again when its lease expires, at most
 *    `maxLeaseRetries` times: then it is recorded failed (`lease_retries_exhausted`).
 *  - a failed trial is an outcome; it never stops the study.
 */
import { NasError, isNasError, storageError } from '../core/errors.js';
import { type WorkerId, workerId as makeWorkerId } from '../core/ids.js';
import type { Json, JsonObject } from '../core/json.js';
import { Rng, hash32 } from '../core/rng.js';
import type { EvalOutcome, Evaluator, ParentTrial, Progress } from '../eval/types.js';
import { leaseExpiriesOf, type FinishTrial, type IntermediateRecord, type LeaseExpiry, type StrategyState as StoredState, type StudyRecord, type Store, type TrialCounts, type TrialRecord } from '../store/types.js';
import type { HistoryItem, Proposal, StrategyDriver } from './driver.js';

export interface StudyOptions<A> {
  /** Default: host-pid-random. Must be unique among live workers. */
  readonly workerId?: WorkerId;
  /** Lease length; a dead worker's trial is re-run this long after its last heartbeat. Default 30 s. */
  readonly leaseMs?: number;
  /** Default leaseMs / 3. */
  readonly heartbeatMs?: number;
  /** How often an idle worker looks for work (trials waiting for others, expired leases). Default 500 ms. */
  readonly pollMs?: number;
  /** Turns a stored architecture back into the evaluator's type (validation). Default: a cast. */
  readonly decode?: (arch: Json) => A;
  /** Stop after this many failed trials (a broken evaluator fails every trial). Default max(20, maxTrials). */
  readonly maxFailures?: number;
  /**
   * How many times a trial is run again after its lease expired (its worker died, hung, or was cut
   * off longer than the lease): the claim that finds it expired more often than this records it
   * `failed` with the error `lease_retries_exhausted: ...` naming each lost attempt and its worker,
   * and the search goes on. A trial that kills its worker (out of memory) would otherwise be re-run
   * forever. Trials given back (Ctrl-C, a host that cannot keep artifacts) do not count. Optuna's
   * `RetryFailedTrialCallback(max_retry)` plays this part for its heartbeat-failed trials.
   * Default DEFAULT_MAX_LEASE_RETRIES (3); 0 fails a trial at its first lost lease.
   */
  readonly maxLeaseRetries?: number;
}

/** Study config `max_lease_retries` when not given (see StudyOptions.maxLeaseRetries). */
export const DEFAULT_MAX_LEASE_RETRIES = 3;

export type StudyEvent =
  | { readonly type: 'asked'; readonly trial: TrialRecord }
  | { readonly type: 'claimed'; readonly trial: TrialRecord }
  | { readonly type: 'progress'; readonly trial: TrialRecord; readonly progress: Progress }
  | { readonly type: 'finished'; readonly trial: TrialRecord }
  | { readonly type: 'released'; readonly trial: TrialRecord }
  /** `reason`: why the store refused this worker (the lease expired and the trial was taken over...). */
  | { readonly type: 'lease_lost'; readonly trial: TrialRecord; readonly reason: string }
  /**
   * This worker claimed a trial that an earlier attempt started but did not finish: its lease
   * expired (the worker died, hung or was starved of CPU longer than the lease) or it was given
   * back. `previous`: that attempt's holder and state as this worker last saw them (null: unseen).
   */
  | { readonly type: 'rerun'; readonly trial: TrialRecord; readonly why: 'lease_expired' | 'given_back' | 'unknown'; readonly previousWorker: string | null }
  /**
   * This worker claimed a trial whose lease expired more than `maxLeaseRetries` times (`expiries`:
   * each lost attempt and its worker) and records it failed instead of running it; a `finished`
   * event with the failed record follows.
   */
  | { readonly type: 'lease_retries_exhausted'; readonly trial: TrialRecord; readonly expiries: readonly LeaseExpiry[] }
  | { readonly type: 'warning'; readonly message: string };

export type AskOutcome =
  | { readonly kind: 'trial'; readonly trial: TrialRecord }
  | { readonly kind: 'wait' }
  | { readonly kind: 'done'; readonly reason: 'budget' | 'strategy' | 'failures' };

export interface OptimizeOptions {
  /** Stops asking, aborts running evaluations and releases their trials (they are re-run on resume). */
  readonly signal?: AbortSignal;
  /**
   * Wall-clock limit for this call, ms: reaching it stops asking and aborts the running
   * evaluation at once (it does not wait for it); `atWallclock` says what becomes of its trial.
   */
  readonly wallclockMs?: number;
  /** An absolute cap (epoch ms, Date.now() clock), e.g. a search's start + its `wallclock`; the earlier of this and `wallclockMs` applies. */
  readonly deadline?: number;
  /**
   * What a trial stopped by the wall clock becomes:
   *  - 'fail' (a study's time budget, `wallclock` of `tsnas search` / `tsnas main`): recorded
   *    `failed` with the error `wallclock: ...` and its last reported metrics - what Optuna records
   *    for a trial interrupted mid-run (FAIL); the study is over, so nothing is left running or
   *    waiting, and a partially trained value never ranks against finished ones;
   *  - 'release' (default; one worker's own time slot, `tsnas worker --wallclock`): given back
   *    (`waiting`) for the workers that stay, like Ctrl-C.
   */
  readonly atWallclock?: 'fail' | 'release';
  readonly onEvent?: (e: StudyEvent) => void;
  /** Finish at most this many trials in this call, then return `max_trials` (a Job's worker quota). */
  readonly maxTrials?: number;
  /**
   * Return `idle` after this long without a trial to run (the budget is spent and others finish the
   * last trials, or the strategy waits): lets a batch Job end instead of staying for take-overs.
   */
  readonly idleExitMs?: number;
}

export interface OptimizeResult {
  /** Why the loop ended. */
  readonly reason: 'complete' | 'strategy_done' | 'failures' | 'aborted' | 'wallclock' | 'max_trials' | 'idle';
  /** Trials this call finished (complete + pruned + failed). */
  readonly finished: number;
}

/** The strategy's state plus the run layer's bookkeeping, as saved in the store. */
interface RunState extends JsonObject {
  format: 'tsnas.run/1';
  strategy: Json;
  /** Trial numbers the strategy has been told: all below `below`, plus `extra`. */
  toldBelow: number;
  toldExtra: number[];
}

const isTold = (s: RunState, n: number) => n < s.toldBelow || s.toldExtra.includes(n);

function markTold(s: RunState, n: number): RunState {
  const extra = new Set(s.toldExtra);
  extra.add(n);
  let below = s.toldBelow;
  while (extra.has(below)) extra.delete(below++);
  return { ...s, toldBelow: below, toldExtra: [...extra].sort((a, b) => a - b) };
}

export function defaultWorkerId(host: string, pid: number, salt: string | number): WorkerId {
  const r = Rng.fromSeed(`${host}:${pid}:${salt}`).nextUint32().toString(36);
  return makeWorkerId(`${host}-${pid}-${r}`);
}

/** The per-trial seed: fixed by the study seed and the trial number, so a re-run repeats the run. */
export function trialSeed(studySeed: number, trialNumber: number): number {
  return hash32(`${studySeed}:${trialNumber}`);
}

export class Study<A> {
  readonly workerId: WorkerId;
  readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly decode: (arch: Json) => A;
  private readonly maxFailures: number;
  readonly maxLeaseRetries: number;
  private readonly jitter: Rng;
  /**
   * This worker's copy of the study's history, in number order (trials are numbered 0, 1, 2...
   * without gaps), brought up to date by `history()` with one query for what changed: trials
   * created since, and the trials it last saw unfinished. Finished trials never change, so the
   * cost of a sync grows with the number of workers, not with the study (issue 18 item 5). The
   * array keeps its identity and finished items are never replaced, so the strategy layer can
   * index it incrementally (see strategy-driver.ts).
   */
  private readonly items: HistoryItem[] = [];
  /** Numbers of the items still waiting or running. */
  private readonly open = new Set<number>();
  private readonly tally: TrialCounts = { waiting: 0, running: 0, complete: 0, pruned: 0, failed: 0, total: 0 };

  constructor(
    readonly store: Store,
    readonly record: StudyRecord,
    readonly driver: StrategyDriver,
    readonly evaluator: Evaluator<A>,
    opts: StudyOptions<A> = {},
  ) {
    this.workerId = opts.workerId ?? defaultWorkerId('local', process.pid, Date.now());
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(10, Math.floor(this.leaseMs / 3));
    this.pollMs = opts.pollMs ?? 500;
    this.decode = opts.decode ?? ((a) => a as A);
    this.maxFailures = opts.maxFailures ?? Math.max(20, record.maxTrials ?? 0);
    this.maxLeaseRetries = opts.maxLeaseRetries ?? DEFAULT_MAX_LEASE_RETRIES;
    if (!Number.isSafeInteger(this.maxLeaseRetries) || this.maxLeaseRetries < 0)
      throw new NasError('invalid_config', `maxLeaseRetries must be an integer >= 0, got ${String(this.maxLeaseRetries)}`, { field: 'max_lease_retries', hint: 'e.g. max_lease_retries: 3' });
    this.jitter = Rng.fromSeed(`jitter:${this.workerId}`);
  }

  get id() {
    return this.record.id;
  }
  get name() {
    return this.record.name;
  }

  // ---------------------------------------------------------------- history

  /**
   * Every trial of the study in creation order, as the strategy sees it: this worker's copy,
   * synced with the store (one query, plus one for learning curves when the driver needs them).
   * The returned array is the live copy: read it before the next await.
   */
  async history(): Promise<readonly HistoryItem[]> {
    const id = this.record.id;
    const changed = await this.store.listTrialsSince(id, this.items.length, [...this.open]);
    let curves = new Map<number, IntermediateRecord[]>();
    if (this.driver.needsIntermediates && changed.length > 0) {
      // Finished trials' curves never change: only those of new or previously unfinished trials.
      for (const r of await this.store.listIntermediates(id, changed.map((t) => t.id))) {
        const l = curves.get(r.trialId) ?? [];
        l.push(r);
        curves.set(r.trialId, l);
      }
    } else curves = new Map();
    for (const t of changed) this.put(t, curves.get(t.id) ?? []);
    return this.items;
  }

  /** Trial counts by state as of the last sync (or finish) of this worker's copy. */
  get counts(): Readonly<TrialCounts> {
    return this.tally;
  }

  /**
   * Puts a record into the copy: appended when it is the next number, replaced when known and
   * not yet finished (finished records never change), ignored otherwise (a later sync brings it).
   */
  private put(t: TrialRecord, intermediates: readonly IntermediateRecord[]): void {
    const item: HistoryItem = { trial: t, intermediates };
    const finished = t.state !== 'waiting' && t.state !== 'running';
    if (t.number === this.items.length) {
      this.items.push(item);
      this.tally.total++;
    } else if (t.number < this.items.length && this.open.has(t.number)) {
      this.tally[this.items[t.number]!.trial.state]--;
      this.items[t.number] = item;
    } else return;
    this.tally[t.state]++;
    if (finished) this.open.delete(t.number);
    else this.open.add(t.number);
  }

  // ---------------------------------------------------------------- strategy state (CAS)

  /**
   * The run state from a stored strategy state. `history` must have been read AFTER `stored` (see
   * `snapshot`): a fresh state is initialised from it.
   */
  private runStateOf(stored: StoredState, history: readonly HistoryItem[]): RunState {
    if (stored.state === null) {
      return { format: 'tsnas.run/1', strategy: this.driver.init(this.record.seed, history), toldBelow: 0, toldExtra: [] };
    }
    const st = stored.state as RunState;
    if (typeof st !== 'object' || st === null || st.format !== 'tsnas.run/1')
      throw storageError('state', `study ${this.record.name}: stored strategy state is not a tsnas run state`);
    return st;
  }

  /**
   * The strategy state's version, then the history - in that order. Every trial a strategy
   * proposes is created in the same transaction that bumps the version, so a trial committed
   * before the version was read is in the history read after it, and one committed after makes
   * the compare-and-set on that version fail. Reading the history first (the order before this
   * fix) let an ask succeed against a history that lacked another worker's new trial, and two
   * workers proposed the same architecture (issue 17, fault 1).
   */
  private async snapshot(): Promise<{ version: number; state: RunState; history: readonly HistoryItem[] }> {
    const stored = await this.store.loadStrategyState(this.record.id);
    const history = await this.history();
    return { version: stored.version, state: this.runStateOf(stored, history), history };
  }

  /**
   * Read-modify-write of the run state by compare-and-set, retried (with a little jitter) when
   * another worker saved in between. `update` returns null to save nothing.
   */
  private async updateRunState<T>(update: (s: RunState, history: readonly HistoryItem[]) => { state: RunState | null; value: T }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { version, state, history } = await this.snapshot();
      const { state: next, value } = update(state, history);
      if (next === null) return value;
      try {
        await this.store.saveStrategyState(this.record.id, version, next);
        return value;
      } catch (e) {
        if (!isNasError(e, 'conflict') || attempt >= 200) throw e;
        if (attempt >= 3) await sleep(this.jitter.int(1, 5 + 2 * attempt));
      }
    }
  }

  // ---------------------------------------------------------------- ask / tell

  /**
   * Proposes a new trial and creates it already claimed by this worker (running, under a lease).
   * `done` when the budget of `maxTrials` non-failed trials is reached, the strategy is exhausted,
   * or too many trials failed; `wait` when the strategy needs results first.
   */
  async ask(signal?: AbortSignal): Promise<AskOutcome> {
    const max = this.record.maxTrials;
    if (this.driver.prepare) {
      // Live proxy scores the ask will need are computed first, between checks of the signal: an
      // interrupt during a prescreen stops within one candidate (the state is not touched).
      const stored = await this.store.loadStrategyState(this.record.id);
      const st = stored.state as RunState | null;
      if (await this.driver.prepare(st && typeof st === 'object' && st.format === 'tsnas.run/1' ? st.strategy : null, this.record.seed, await this.history(), signal)) return { kind: 'wait' };
    }
    // Like updateRunState, but a proposal's state is saved by the store together with its trial
    // (one transaction): a crash or a refusal in between can no longer leave a state that issued
    // a proposal with no trial behind it.
    for (let attempt = 0; ; attempt++) {
      const { version, state, history } = await this.snapshot();
      const counts = this.tally;
      if (counts.failed >= this.maxFailures) return { kind: 'done', reason: 'failures' };
      if (max !== null && counts.total - counts.failed >= max) return { kind: 'done', reason: 'budget' };
      const r = this.driver.ask(state.strategy, history);
      const next: RunState = { ...state, strategy: r.state };
      try {
        if (r.result.kind === 'trial') return { kind: 'trial', trial: await this.createProposed(r.result.proposal, version, next) };
        // `wait` and `done` create nothing, but may still advance the strategy's state.
        if (r.state !== state.strategy) await this.store.saveStrategyState(this.record.id, version, next);
        return r.result.kind === 'wait' ? { kind: 'wait' } : { kind: 'done', reason: 'strategy' };
      } catch (e) {
        // Another worker took the last slot between our count and our insert: nothing was saved.
        if (isNasError(e, 'budget_exhausted')) return { kind: 'done', reason: 'budget' };
        if (!isNasError(e, 'conflict') || attempt >= 200) throw e;
        if (attempt >= 3) await sleep(this.jitter.int(1, 5 + 2 * attempt));
      }
    }
  }

  /** Creates the trial claimed by this worker, saving `state` (CAS on `version`) in the same transaction. */
  private createProposed(p: Proposal, version: number, state: RunState): Promise<TrialRecord> {
    const max = this.record.maxTrials;
    return this.store.createTrial(this.record.id, {
      arch: p.arch,
      archKey: p.archKey,
      budget: p.budget,
      params: p.params,
      claim: { workerId: this.workerId, leaseMs: this.leaseMs },
      ...(max === null ? {} : { maxTrials: max }),
      strategyState: { expectedVersion: version, state },
      // A multi-fidelity promotion re-runs a seen key at a new budget, which uniqueKey allows.
      ...(p.archKey === null ? {} : { uniqueKey: true }),
    });
  }

  /**
   * Finishes a trial this worker holds, then tells the strategy. Throws `conflict` when the lease
   * was lost (someone else runs the trial now) or the trial is already finished.
   */
  async tell(trial: TrialRecord, result: FinishTrial): Promise<TrialRecord> {
    const done = await this.store.finishTrial(trial.id, this.workerId, result, trial.attempt);
    const curve = this.driver.needsIntermediates ? await this.store.getIntermediates(done.id) : [];
    this.put(done, curve);
    await this.tellStrategy(done, curve);
    return done;
  }

  /** Gives a finished trial to the strategy unless it has already been told. */
  private async tellStrategy(done: TrialRecord, curve?: readonly IntermediateRecord[]): Promise<void> {
    await this.updateRunState((s, history) => {
      if (isTold(s, done.number)) return { state: null, value: undefined };
      // The synced copy holds every trial up to the newest, finished ones as final records.
      const known = history[done.number];
      const item = known !== undefined && known.trial.state === done.state ? known : { trial: done, intermediates: curve ?? [] };
      return { state: markTold({ ...s, strategy: this.driver.tell(s.strategy, item, history) }, done.number), value: undefined };
    });
  }

  /**
   * Tells the strategy about finished trials it has not heard of (a worker died between
   * finishing a trial and telling). Cheap when there are none; called when a worker starts.
   */
  async reconcile(): Promise<number> {
    const { state, history } = await this.snapshot();
    const untold = history.filter((h) => !this.open.has(h.trial.number) && !isTold(state, h.trial.number)).map((h) => h.trial);
    for (const t of untold) await this.tellStrategy(t);
    return untold.length;
  }

  /** The finish record for an evaluator outcome: objective values from the metrics. */
  toFinish(outcome: EvalOutcome, durationMs: number): FinishTrial {
    switch (outcome.status) {
      case 'complete': {
        const missing = this.record.objectives.filter((o) => typeof outcome.metrics[o.metric] !== 'number');
        if (missing.length > 0)
          return {
            state: 'failed',
            metrics: { ...outcome.metrics },
            error: `evaluator ${this.evaluator.name} did not report objective metric(s) ${missing.map((o) => (outcome.absent?.[o.metric] ? `${o.metric} (${outcome.absent[o.metric]})` : o.metric)).join(', ')}`,
            durationMs,
          };
        // A NaN/Inf objective is no result: the trial fails with the reason (never complete with a null value).
        const nonFinite = this.record.objectives.filter((o) => !Number.isFinite(outcome.metrics[o.metric] as number));
        if (nonFinite.length > 0)
          return {
            state: 'failed',
            metrics: { ...outcome.metrics },
            error: `non_finite: evaluator ${this.evaluator.name} reported ${nonFinite.map((o) => `${o.metric} = ${outcome.metrics[o.metric]}`).join(', ')}`,
            durationMs,
          };
        return {
          state: 'complete',
          metrics: { ...outcome.metrics },
          values: this.record.objectives.map((o) => outcome.metrics[o.metric] as number),
          durationMs,
        };
      }
      case 'pruned': {
        const vals = this.record.objectives.map((o) => outcome.metrics[o.metric]);
        return {
          state: 'pruned',
          metrics: { ...outcome.metrics },
          values: vals.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (vals as number[]) : null,
          error: `pruned at step ${outcome.step}`,
          durationMs,
        };
      }
      case 'failed':
        return {
          state: 'failed',
          error: `${outcome.reason}: ${outcome.message}`,
          durationMs,
          ...(outcome.curve.length > 0 ? { metrics: { ...outcome.curve[outcome.curve.length - 1]!.metrics } } : {}),
        };
    }
  }

  // ---------------------------------------------------------------- running one trial

  /**
   * Evaluates a trial this worker holds, keeping its lease alive, and finishes it. Returns the
   * finished record, or 'released' (stopped by `signal`; the trial is waiting again) or
   * 'lease_lost' (another worker took it over; nothing was recorded).
   */
  async runTrial(
    trial: TrialRecord,
    signal?: AbortSignal,
    onEvent?: (e: StudyEvent) => void,
    atWallclock: 'fail' | 'release' = 'release',
  ): Promise<TrialRecord | 'released' | 'lease_lost'> {
    const ctl = new AbortController();
    let leaseLost = false;
    let lostWhy = 'the lease expired and another worker took the trial over';
    const stopOnSignal = () => ctl.abort(signal?.reason ?? 'aborted');
    if (signal?.aborted) stopOnSignal();
    signal?.addEventListener('abort', stopOnSignal, { once: true });
    let beating = false;
    const timer = setInterval(() => {
      if (beating || leaseLost) return;
      beating = true;
      this.store
        .heartbeat(trial.id, this.workerId, this.leaseMs, trial.attempt)
        .catch((e: unknown) => {
          if (isNasError(e, 'conflict')) {
            leaseLost = true;
            lostWhy = `heartbeat refused: ${e.message}`;
            ctl.abort('lease_lost');
          } else onEvent?.({ type: 'warning', message: `heartbeat for trial ${trial.number} failed: ${(e as Error).message}` });
        })
        .finally(() => {
          beating = false;
        });
    }, this.heartbeatMs);
    timer.unref?.();
    const started = Date.now();
    let outcome: EvalOutcome;
    try {
      let arch: A;
      try {
        arch = this.decode(trial.arch);
      } catch (e) {
        outcome = { status: 'failed', reason: 'invalid_arch', message: (e as Error).message, curve: [] };
        arch = undefined as A;
      }
      outcome ??= await this.evaluate(trial, arch, ctl.signal, onEvent);
    } finally {
      clearInterval(timer);
      signal?.removeEventListener('abort', stopOnSignal);
    }
    // A kept artifact (trained weights) belongs to the trial only once the trial is recorded
    // complete; every other ending deletes it, so no file outlives an unrecorded result.
    const artifact = outcome.status === 'complete' ? outcome.artifact : undefined;
    const discard = () => {
      if (artifact !== undefined) this.evaluator.discardArtifact?.(artifact);
    };
    if (leaseLost) {
      discard();
      onEvent?.({ type: 'lease_lost', trial, reason: `${lostWhy}; the result of attempt ${trial.attempt} was discarded` });
      return 'lease_lost';
    }
    if (ctl.signal.aborted && outcome.status !== 'complete' && ctl.signal.reason === 'wallclock' && atWallclock === 'fail') {
      // The study's time budget is spent: the stopped trial is recorded failed (see OptimizeOptions.atWallclock).
      return this.finishOrLost(trial, wallclockFailure(outcome, trial, Date.now() - started), onEvent);
    }
    if (ctl.signal.aborted && outcome.status !== 'complete') {
      // Stopped by the user or the wall clock: give the trial back so a resumed study re-runs it.
      // (A result that completed before the stop took effect is kept.)
      try {
        await this.store.releaseTrial(trial.id, this.workerId, trial.attempt);
      } catch (e) {
        if (!isNasError(e, 'conflict')) throw e;
        onEvent?.({ type: 'lease_lost', trial, reason: `release refused: ${e.message}` });
        return 'lease_lost';
      }
      onEvent?.({ type: 'released', trial });
      return 'released';
    }
    if (outcome.status === 'failed' && outcome.error !== undefined && isNasError(outcome.error, 'storage_error')) {
      // This host cannot keep what the trial produced (its artifacts directory is read-only,
      // missing or full): a fault of the host, not of the candidate. Recording the trial failed
      // would lose it; it goes back to the queue for a worker that can, and this one stops.
      let released = true;
      try {
        await this.store.releaseTrial(trial.id, this.workerId, trial.attempt);
      } catch (e) {
        if (!isNasError(e, 'conflict')) throw e;
        released = false;
      }
      if (released) onEvent?.({ type: 'released', trial });
      throw new NasError('storage_error', `trial ${trial.number} cannot be kept on this host: ${outcome.message}`, {
        hint: `${released ? 'the trial was given back and another worker will run it' : 'the trial was already taken over by another worker'}; every worker must be able to write the study's artifacts directory: fix it on this host and restart the worker`,
        cause: outcome.error,
      });
    }
    let done: TrialRecord;
    try {
      done = await this.tell(trial, this.toFinish(outcome, Date.now() - started));
    } catch (e) {
      // Any other error may come after the finish was recorded: the file then stays.
      if (!isNasError(e, 'conflict')) throw e;
      discard();
      // Fencing: the store records a result only from the current lease holder, so a late result
      // (this worker was cut off longer than the lease) is refused here and the re-run's counts.
      onEvent?.({ type: 'lease_lost', trial, reason: `result of attempt ${trial.attempt} refused: ${e.message}` });
      return 'lease_lost';
    }
    if (artifact !== undefined) {
      if (done.state === 'complete') {
        // Recorded after the finish (the store finishes a trial only for its lease holder): a
        // crash in between leaves the file without the attribute, never an attribute without a file.
        // Fenced: only the attempt that finished the trial may annotate it.
        await this.store.setTrialAttr(done.id, 'weights_path', artifact, { workerId: this.workerId, attempt: trial.attempt });
        done = { ...done, userAttrs: { ...done.userAttrs, weights_path: artifact } };
      } else discard();
    }
    const attrs = outcome.status === 'complete' ? outcome.attrs : undefined;
    if (attrs !== undefined && done.state === 'complete') {
      // The evaluator's extra results (e.g. out-of-fold predictions), fenced like weights_path.
      for (const [key, value] of Object.entries(attrs)) await this.store.setTrialAttr(done.id, key, value, { workerId: this.workerId, attempt: trial.attempt });
      done = { ...done, userAttrs: { ...done.userAttrs, ...attrs } };
    }
    onEvent?.({ type: 'finished', trial: done });
    return done;
  }

  /** Records `result` for a trial this worker holds; 'lease_lost' when the store refuses (taken over). */
  private async finishOrLost(trial: TrialRecord, result: FinishTrial, onEvent?: (e: StudyEvent) => void): Promise<TrialRecord | 'lease_lost'> {
    let done: TrialRecord;
    try {
      done = await this.tell(trial, result);
    } catch (e) {
      if (!isNasError(e, 'conflict')) throw e;
      onEvent?.({ type: 'lease_lost', trial, reason: `result of attempt ${trial.attempt} refused: ${e.message}` });
      return 'lease_lost';
    }
    onEvent?.({ type: 'finished', trial: done });
    return done;
  }

  /**
   * Records as failed (`wallclock: ...`) a trial still running when a study's wall-clock cap
   * passed and its worker was stopped by force (a worker starved of CPU or blocked in one native
   * step does not answer its own timer). Acts as the holder the store names (worker id and
   * attempt), so it is refused if another worker took the trial over meanwhile; then tells the
   * strategy. Returns the finished record, or null when the trial was no longer running so.
   */
  async failAtCap(trial: TrialRecord, note: string): Promise<TrialRecord | null> {
    if (trial.state !== 'running' || trial.workerId === null) return null;
    const curve = await this.store.getIntermediates(trial.id);
    const last = curve[curve.length - 1];
    const durationMs = trial.startedAt === null ? 0 : Math.max(0, Date.now() - trial.startedAt);
    const result: FinishTrial = {
      state: 'failed',
      error: `wallclock: ${note} after ${(durationMs / 1000).toFixed(1)} s of attempt ${trial.attempt}${last ? ` (last reported step ${last.step})` : ' (no step reported)'}`,
      durationMs,
      ...(last ? { metrics: { ...last.metrics } } : {}),
    };
    try {
      const done = await this.store.finishTrial(trial.id, trial.workerId, result, trial.attempt);
      this.put(done, curve);
      await this.tellStrategy(done, curve);
      return done;
    } catch (e) {
      if (isNasError(e, 'conflict')) return null;
      throw e;
    }
  }

  /**
   * A claimed trial whose lease expired more than `maxLeaseRetries` times (Store.claimTrial's
   * `lease_expiries`) is recorded failed by this claim, without running it: error
   * `lease_retries_exhausted: ...` naming every lost attempt and its worker. Returns the failed
   * record ('lease_lost' if another worker took it over meanwhile), or null when it may run.
   */
  private async failIfRetriesExhausted(trial: TrialRecord, onEvent?: (e: StudyEvent) => void): Promise<TrialRecord | 'lease_lost' | null> {
    const lost = leaseExpiriesOf(trial);
    if (lost.length <= this.maxLeaseRetries) return null;
    const result: FinishTrial = { state: 'failed', error: leaseRetriesExhausted(trial.number, lost, this.maxLeaseRetries), durationMs: null };
    onEvent?.({ type: 'lease_retries_exhausted', trial, expiries: lost });
    return this.finishOrLost(trial, result, onEvent);
  }

  /**
   * Makes a re-run visible: called for a claimed trial at attempt > 1. Emits `rerun` and adds
   * `{attempt, why, previous_worker}` to the trial's user attribute `reruns` (shown by `tsnas
   * trials`). The previous holder is this worker's last view of the trial (its copy of the history).
   */
  private async noteRerun(trial: TrialRecord, onEvent?: (e: StudyEvent) => void): Promise<void> {
    // The claim recorded the lease it took over (Store.claimTrial); otherwise the previous attempt
    // was given back - or claimed by a build that predates the record: then this worker's last view.
    const expired = leaseExpiriesOf(trial).find((x) => x.attempt === trial.attempt - 1);
    const seen = this.items[trial.number]?.trial;
    const prev = seen !== undefined && seen.attempt === trial.attempt - 1 ? seen : undefined;
    const why = expired !== undefined ? 'lease_expired' : prev === undefined ? 'unknown' : prev.state === 'waiting' ? 'given_back' : 'unknown';
    const previousWorker = expired?.worker ?? prev?.workerId ?? null;
    onEvent?.({ type: 'rerun', trial, why, previousWorker });
    const old = trial.userAttrs['reruns'];
    const list: Json[] = Array.isArray(old) ? [...old] : [];
    list.push({ attempt: trial.attempt, why, previous_worker: previousWorker, worker: this.workerId, at: Date.now() });
    try {
      // Fenced: a worker that lost this claim meanwhile records nothing about it.
      await this.store.setTrialAttr(trial.id, 'reruns', list, { workerId: this.workerId, attempt: trial.attempt });
    } catch (e) {
      onEvent?.({ type: 'warning', message: `trial ${trial.number}: could not record the re-run: ${(e as Error).message}` });
    }
  }

  private async evaluate(
    trial: TrialRecord,
    arch: A,
    signal: AbortSignal,
    onEvent?: (e: StudyEvent) => void,
  ): Promise<EvalOutcome> {
    const onProgress = async (p: Progress): Promise<'continue' | 'stop'> => {
      try {
        await this.store.reportIntermediate(trial.id, this.workerId, p.step, { ...p.metrics }, trial.attempt);
      } catch (e) {
        if (isNasError(e, 'conflict')) {
          return 'stop'; // lease lost; runTrial discards the outcome
        }
        throw e;
      }
      onEvent?.({ type: 'progress', trial, progress: p });
      const shouldPrune = this.driver.shouldPrune;
      if (!shouldPrune) return 'continue';
      const prune = await this.updateRunState((s, history) => {
        const item = history.find((h) => h.trial.number === trial.number) ?? { trial, intermediates: [] };
        const r = shouldPrune(s.strategy, item, history);
        return { state: r.state === s.strategy ? null : { ...s, strategy: r.state }, value: r.prune };
      });
      return prune ? 'stop' : 'continue';
    };
    try {
      const parent = await this.parentOf(trial);
      return await this.evaluator.evaluate({
        arch,
        ...(trial.budget === null ? {} : { budget: trial.budget }),
        seed: trialSeed(this.record.seed, trial.number),
        signal,
        onProgress,
        id: `trial-${trial.number}-a${trial.attempt}`,
        ...(parent ? { parent } : {}),
      });
    } catch (e) {
      // The evaluator itself broke on this candidate; still an outcome, never a crash of the study.
      const err = e instanceof Error ? e : new Error(String(e));
      return {
        status: 'failed',
        reason: signal.aborted ? 'aborted' : 'error',
        message: err.message,
        curve: [],
        ...(e instanceof NasError ? { error: e } : {}),
      };
    }
  }

  /**
   * The complete trial with kept weights that `trial` promotes (params.promotes: multi-fidelity
   * strategies) or was mutated from (params.parent: evolution), for weight inheritance; recorded
   * as the trial's user attribute `parent_trial` (its number). Undefined when there is none, it
   * did not complete, or it kept no weights.
   */
  private async parentOf(trial: TrialRecord): Promise<ParentTrial | undefined> {
    const promotes = trial.params['promotes'];
    const mutated = trial.params['parent'];
    const id = typeof promotes === 'number' ? promotes : typeof mutated === 'number' ? mutated : undefined;
    if (id === undefined) return undefined;
    const rec = await this.store.getTrial(id as TrialRecord['id']);
    if (!rec || rec.studyId !== trial.studyId) return undefined;
    // The parent is recorded (shown by `tsnas trials`) whether or not its weights can be inherited.
    if (trial.userAttrs['parent_trial'] !== rec.number) await this.store.setTrialAttr(trial.id, 'parent_trial', rec.number, { workerId: this.workerId, attempt: trial.attempt });
    const w = rec.userAttrs['weights_path'];
    if (rec.state !== 'complete' || typeof w !== 'string') return undefined;
    return { trial: rec.number, kind: typeof promotes === 'number' ? 'promotion' : 'mutation', arch: rec.arch, ...(rec.budget === null ? {} : { budget: rec.budget }), weightsPath: w };
  }

  // ---------------------------------------------------------------- the worker loop

  /**
   * Runs trials until the study is complete (budget reached and nothing left running anywhere),
   * the strategy is exhausted, too many trials failed, or the signal / wall clock stops it.
   * Re-claims expired trials of dead workers before asking for new ones.
   */
  async optimize(opts: OptimizeOptions = {}): Promise<OptimizeResult> {
    const deadline = Math.min(opts.wallclockMs === undefined ? Infinity : Date.now() + opts.wallclockMs, opts.deadline ?? Infinity);
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(opts.signal?.reason ?? 'aborted');
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let wallTimer: NodeJS.Timeout | undefined;
    if (Number.isFinite(deadline)) {
      wallTimer = setTimeout(() => ctl.abort('wallclock'), Math.max(0, deadline - Date.now()));
      wallTimer.unref?.();
    }
    let finished = 0;
    let idleWaits = 0;
    let idleSince: number | null = null;
    const idleOut = (): boolean => {
      idleSince ??= Date.now();
      return opts.idleExitMs !== undefined && Date.now() - idleSince >= opts.idleExitMs;
    };
    const stopReason = (): OptimizeResult['reason'] => (ctl.signal.reason === 'wallclock' ? 'wallclock' : 'aborted');
    try {
      // A study's first init (reconcile reads the state: init runs there, synchronously) may score
      // a live prescreen's candidates: computed first, interruptibly (StrategyDriver.prepare).
      if (this.driver.prepare && (await this.store.loadStrategyState(this.record.id)).state === null)
        if (await this.driver.prepare(null, this.record.seed, await this.history(), ctl.signal)) return { reason: stopReason(), finished };
      await this.reconcile();
      for (;;) {
        // A macrotask turn between trials: a SIGINT/SIGTERM that arrived while trials ran without
        // yielding (trials shorter than the trainer's YIELD_MS, table or proxy evaluators) is
        // delivered here, so the stop is taken before the next trial instead of being lost when
        // the command removes its handlers at the end (a signal that found no listener then).
        await new Promise<void>((r) => setImmediate(r));
        if (ctl.signal.aborted) return { reason: stopReason(), finished };
        let trial = await this.store.claimTrial(this.record.id, this.workerId, this.leaseMs);
        if (trial) {
          opts.onEvent?.({ type: 'claimed', trial });
          const exhausted = await this.failIfRetriesExhausted(trial, opts.onEvent);
          if (exhausted !== null) {
            // Recorded failed without running it: the search goes on with the next trial.
            if (exhausted !== 'lease_lost') finished++;
            if (opts.maxTrials !== undefined && finished >= opts.maxTrials) return { reason: 'max_trials', finished };
            continue;
          }
          if (trial.attempt > 1) await this.noteRerun(trial, opts.onEvent);
        }
        else {
          const a = await this.ask(ctl.signal);
          if (a.kind === 'trial') {
            trial = a.trial;
            opts.onEvent?.({ type: 'asked', trial });
          } else if (a.kind === 'done') {
            const c = await this.store.countTrials(this.record.id);
            if (c.running + c.waiting === 0) {
              await this.reconcile();
              return { reason: a.reason === 'budget' ? 'complete' : a.reason === 'strategy' ? 'strategy_done' : 'failures', finished };
            }
            // Others still run trials; stay to take over any whose worker dies.
            if (idleOut()) return { reason: 'idle', finished };
            await sleep(this.pollMs, ctl.signal);
            continue;
          } else {
            // The strategy waits for results; if nothing runs anywhere for a while, none will come.
            const c = await this.store.countTrials(this.record.id);
            idleWaits = c.running + c.waiting === 0 ? idleWaits + 1 : 0;
            if (idleWaits >= 20) {
              opts.onEvent?.({ type: 'warning', message: 'the strategy waits for results but no trial is running: stopping' });
              return { reason: 'strategy_done', finished };
            }
            if (idleOut()) return { reason: 'idle', finished };
            await sleep(this.pollMs, ctl.signal);
            continue;
          }
        }
        idleSince = null;
        const r = await this.runTrial(trial, ctl.signal, opts.onEvent, opts.atWallclock ?? 'release');
        if (typeof r === 'object') finished++;
        if (opts.maxTrials !== undefined && finished >= opts.maxTrials) return { reason: 'max_trials', finished };
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      if (wallTimer) clearTimeout(wallTimer);
    }
  }
}

/**
 * The failed record of a trial stopped by a study's wall-clock cap: error `wallclock: ...` naming
 * the attempt, how long it ran and the last step it reported, with that step's metrics.
 */
export function wallclockFailure(outcome: EvalOutcome, trial: TrialRecord, durationMs: number): FinishTrial {
  const curve = outcome.status === 'complete' ? [] : outcome.curve;
  const last = curve[curve.length - 1];
  return {
    state: 'failed',
    error: `wallclock: stopped by the study's wall-clock cap after ${(durationMs / 1000).toFixed(1)} s of attempt ${trial.attempt}${last ? ` (last reported step ${last.step})` : ' (no step reported)'}`,
    durationMs,
    ...(last ? { metrics: { ...last.metrics } } : {}),
  };
}

/**
 * The error of a trial failed for too many lost leases: `lease_retries_exhausted: the lease of
 * trial 7 expired 4 times (attempt 1 on worker a, ...), more than max_lease_retries = 3; ...`.
 */
export function leaseRetriesExhausted(number: number, lost: readonly LeaseExpiry[], max: number): string {
  const list = lost.map((x) => `attempt ${x.attempt} on worker ${x.worker}`).join(', ');
  return (
    `lease_retries_exhausted: the lease of trial ${number} expired ${lost.length} time${lost.length === 1 ? '' : 's'} (${list}), ` +
    `more than max_lease_retries = ${max}; not run again: its workers died, hung or were cut off while running it ` +
    `(a trial that exhausts memory kills every worker that runs it); raise max_lease_retries if workers are lost for other reasons (preemption)`
  );
}

/** `trial 0: lease expired (attempt 1, worker W), run again by worker V (attempt 2)`. */
export function rerunLine(e: Extract<StudyEvent, { type: 'rerun' }>): string {
  const k = e.trial.attempt - 1;
  const prev = e.previousWorker === null ? `attempt ${k}` : `attempt ${k}, worker ${e.previousWorker}`;
  const what = e.why === 'lease_expired' ? 'lease expired' : e.why === 'given_back' ? 'given back' : 'not finished';
  return `trial ${e.trial.number}: ${what} (${prev}), run again by worker ${e.trial.workerId} (attempt ${e.trial.attempt})`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
