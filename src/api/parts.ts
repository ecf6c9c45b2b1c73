/**
 * From a validated config to the parts of a running study: space, strategy, evaluator and the
 * run-layer driver. Everything here runs before a store is opened, so bad names, bad options and
 * unreadable data files are reported before anything is written.
 */
import { resolve } from 'node:path';
import { NasError, isNasError, nestError, renameFields } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { Json, JsonObject } from '../core/json.js';
import type { EvalOutcome, Evaluator, Metrics } from '../eval/types.js';
import { loadNb201Table, NB201_CIFAR10_CSV, NB201_LATENCY_CSV, TabularEvaluator } from '../eval/tabular.js';
import type { StrategyDriver } from '../run/driver.js';
import { strategyDriver } from '../run/strategy-driver.js';
import { syntheticEvaluator } from '../run/synthetic.js';
import { getSpace, SPACE_NAMES } from '../space/registry.js';
import type { Space } from '../space/space.js';
import { getStrategyEntry, MULTI_OBJECTIVE_STRATEGIES, validateOptions, type StrategyEntry } from '../strategy/registry.js';
import { archFromJson, type Strategy, type StrategyContext } from '../strategy/types.js';
import { assertSatisfiable } from '../strategy/common.js';
import { Rng } from '../core/rng.js';
import { didYouMeanMetric, violates, type Constraint } from '../core/metrics.js';
import type { StudySpec } from '../store/types.js';
import { identityOf, type ObjectiveWithTieBreak, type StudyConfig } from './config.js';
import { Issues, bool, checkReadableFile, fail, noExtraKeys, num, str } from './validate.js';
export { checkReadableFile } from './validate.js';
import { EXTRA_EVALUATORS, EXTRA_SPACES } from './extensions.js';
import { proxyConsumers, proxySource } from './proxy-parts.js';
import { withPrescreen, type PrescreenOptions } from '../strategy/prescreen.js';
import { withEnqueued } from '../strategy/enqueue.js';
import type { DataNotes } from '../data/prepare.js';

export interface StudyParts {
  readonly config: StudyConfig;
  readonly space: Space<unknown>;
  readonly strategyEntry: StrategyEntry;
  readonly strategy: Strategy;
  readonly evaluator: Evaluator<unknown>;
  readonly driver: StrategyDriver;
  /**
   * Loads what the evaluator needs (e.g. the dataset) before trials run; costs need it. Resolves to
   * what loading the data decided (CSV header detection, label mapping, warnings), for a command to
   * say once; memoised.
   */
  readonly ready?: () => Promise<DataNotes>;
  /**
   * Throws when no architecture of the space can ever be proposed: `constraint_unsatisfiable`
   * (field `constraints`) when none meets the cost constraints, `invalid_config` (field `space`)
   * when none can be evaluated on the data. Run after `ready` (costs may need the data) and before
   * a study is written (createStudy), so such a config leaves nothing behind. Costs measured only by
   * training (e.g. measured latency) are not known here: a constraint on them is judged on the
   * evaluated trials (none feasible: `best` says so).
   */
  readonly checkProposable: () => void;
  /** What the config asks that runs but is likely a mistake (a multi-objective strategy on one objective), for a command to say. */
  readonly warnings: readonly string[];
}

export const BUILTIN_EVALUATORS = ['nb201', 'synthetic'] as const;

/** The options each built-in evaluator accepts (snake_case config keys, beside `name`). */
export const NB201_OPTIONS = ['table', 'latency', 'arch_column', 'val_column', 'test_column', 'params_column', 'delay_ms', 'busy', 'allow_partial'] as const;
export const SYNTHETIC_OPTIONS = ['delay_ms', 'steps', 'busy', 'kill_below'] as const;

export function evaluatorNames(): string[] {
  return [...BUILTIN_EVALUATORS, ...Object.keys(EXTRA_EVALUATORS)];
}

/**
 * Evaluation time simulated on top of a fast evaluator (a table), so a tabular study behaves like
 * an evaluation-bound one: each trial sleeps (or busy-waits, using a core like training would)
 * `delayMs` before its result. The result itself is the wrapped evaluator's, unchanged.
 */
export function withDelay<A>(inner: Evaluator<A>, delayMs: number, busy: boolean): Evaluator<A> {
  return {
    name: `${inner.name}+delay${delayMs}ms`,
    metricNames: inner.metricNames,
    maxBudget: inner.maxBudget,
    ...(inner.fidelities ? { fidelities: inner.fidelities } : {}),
    ...(inner.costs ? { costs: inner.costs.bind(inner) } : {}),
    async evaluate(req): Promise<EvalOutcome> {
      const end = Date.now() + delayMs;
      if (busy) while (Date.now() < end && !req.signal?.aborted);
      else
        await new Promise<void>((res) => {
          const t = setTimeout(res, delayMs);
          req.signal?.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
        });
      if (req.signal?.aborted) return { status: 'failed', reason: 'aborted', message: 'aborted', curve: [] };
      const out = await inner.evaluate(req);
      // Evaluators that compute a whole curve at once (tables) report it here, so it is stored.
      if (out.status === 'complete' && req.onProgress) for (const p of out.curve) await req.onProgress(p);
      return out;
    },
  };
}

/** Normalizes evaluator options (absolute paths, defaults) and builds the evaluator. */
export function buildEvaluator(
  name: string,
  options: JsonObject,
  baseDir: string,
  space: Space<unknown>,
): { evaluator: Evaluator<unknown>; options: JsonObject; ready?: () => Promise<DataNotes> } {
  const o = options;
  // Every problem of the options is reported at once (core/issues.ts): each check runs through
  // `I.take`, a bad option leaves a placeholder and the following ones are still checked.
  const I = new Issues();
  const delay = (): { delayMs: number; busy: boolean } => ({
    delayMs: I.take(() => num(o['delay_ms'] ?? 0, 'evaluator.delay_ms', { min: 0, max: 3_600_000 }), 0),
    busy: I.take(() => (o['busy'] === undefined ? false : bool(o['busy'], 'evaluator.busy')), false),
  });
  switch (name) {
    case 'nb201': {
      I.take(() => noExtraKeys(o, 'evaluator', NB201_OPTIONS), undefined);
      I.take(() => {
        if (!space.name.startsWith('nb201'))
          fail('space', `evaluator nb201 looks up NAS-Bench-201 cells, not ${space.name} architectures`, 'use space: nb201');
      }, undefined);
      // No table: the CIFAR-10 table and HELP latency table shipped in data/nb201 (latency: null leaves
      // latency out). Normalised options keep `table` absent then, so the study does not depend on
      // where the repository was cloned.
      const bundled = o['table'] === undefined;
      const table = I.take(() => {
        const t = bundled ? NB201_CIFAR10_CSV : resolve(baseDir, str(o['table'], 'evaluator.table', 'a NAS-Bench-201 CSV (or omit it for the bundled CIFAR-10 table)'));
        checkReadableFile(t, 'evaluator.table', 'NAS-Bench-201 table');
        return t;
      }, undefined);
      const latency = I.take(() => {
        const l =
          o['latency'] === null ? undefined
          : o['latency'] === undefined ? (bundled ? NB201_LATENCY_CSV : undefined)
          : resolve(baseDir, str(o['latency'], 'evaluator.latency'));
        if (l) checkReadableFile(l, 'evaluator.latency', 'latency table');
        return l;
      }, undefined);
      const { delayMs, busy } = delay();
      const column = (k: string, f: string): { [x: string]: string } => (o[k] === undefined ? {} : { [f]: I.take(() => str(o[k], `evaluator.${k}`), '') });
      const columns = {
        ...column('arch_column', 'archColumn'),
        ...column('val_column', 'valColumn'),
        ...column('test_column', 'testColumn'),
        ...(o['params_column'] === undefined ? {} : { paramsColumn: o['params_column'] === null ? null : I.take(() => str(o['params_column'], 'evaluator.params_column'), '') }),
      };
      // A table that lacks architectures of the space makes every such proposal a failed trial
      // (issue 17.10: a 20-row table gave 0 complete of 30). Rejected up front unless the user says
      // the table is partial on purpose (allow_partial: missing rows become failed trials, the search
      // goes on).
      const allowPartial = I.take(() => (o['allow_partial'] === undefined ? false : bool(o['allow_partial'], 'evaluator.allow_partial')), false);
      // The table is read only when the options that say how to read it are sound.
      I.throwIfAny('the evaluator options');
      let tab;
      try {
        tab = loadNb201Table(table!, { ...columns, latency: latency ? { path: latency } : null });
      } catch (e) {
        if (isNasError(e)) throw nestError(e, 'evaluator.table');
        throw e;
      }
      const covered = tab.covered;
      if (covered < space.size() && !allowPartial)
        fail(
          'evaluator.table',
          `table ${table} has rows for ${covered.toLocaleString('en-US')} of the ${space.size().toLocaleString('en-US')} architectures of space ${space.name}: every other proposal would fail`,
          'use a complete table (omit table for the bundled NB201 CIFAR-10 one), or set evaluator.allow_partial: true to record proposals missing from the table as failed trials',
        );
      const inner = new TabularEvaluator(tab, 'nb201');
      const evaluator = (delayMs > 0 ? withDelay(inner, delayMs, busy) : inner) as unknown as Evaluator<unknown>;
      const norm: JsonObject = bundled ? { ...o } : { ...o, table: table!, ...(latency ? { latency } : {}) };
      return { evaluator, options: norm };
    }
    case 'synthetic': {
      I.take(() => noExtraKeys(o, 'evaluator', SYNTHETIC_OPTIONS), undefined);
      const { delayMs, busy } = delay();
      const steps = I.take(() => num(o['steps'] ?? 3, 'evaluator.steps', { integer: true, min: 1, max: 1000 }), 3);
      // Fault injection (tests of lost workers): candidates scoring below this kill their worker.
      const killBelow = I.take(() => (o['kill_below'] === undefined ? undefined : num(o['kill_below'], 'evaluator.kill_below', { min: 0, max: 100 })), undefined);
      I.throwIfAny('the evaluator options');
      return { evaluator: syntheticEvaluator({ delayMs, steps, busy, ...(killBelow === undefined ? {} : { killBelow }) }), options: { ...o } };
    }
    default: {
      const extra = EXTRA_EVALUATORS[name];
      if (extra) return extra(o, baseDir, space);
      throw unknownEvaluator(name);
    }
  }
}

function unknownEvaluator(name: string): NasError {
  return new NasError('unknown_evaluator', `unknown evaluator ${JSON.stringify(name)}${didYouMean(name, evaluatorNames())}`, {
    field: 'evaluator.name',
    hint: `use one of: ${evaluatorNames().join(', ')}`,
  });
}

export function resolveSpace(name: string): Space<unknown> {
  const extra = EXTRA_SPACES[name];
  if (extra) return extra();
  try {
    return getSpace(name);
  } catch (e) {
    if (isNasError(e, 'unknown_space'))
      throw new NasError('unknown_space', `unknown search space ${JSON.stringify(name)}${didYouMean(name, [...SPACE_NAMES, ...Object.keys(EXTRA_SPACES)])}`, {
        field: 'space',
        hint: `use one of: ${[...SPACE_NAMES, ...Object.keys(EXTRA_SPACES)].join(', ')}`,
      });
    throw e;
  }
}

/**
 * Builds every part and checks that they fit together (objective and constraint metrics are ones
 * the evaluator reports). Returns the config with normalized evaluator options (absolute paths).
 */
/**
 * A multi-fidelity schedule must only ask for budgets the evaluator can answer (issue 17.9: Hyperband
 * on the NB201 table, which holds final values only, recorded 30 failed trials after writing the
 * study). Checked here, before any study or trial is written.
 */
function checkFidelities(entry: StrategyEntry, options: unknown, evaluator: Evaluator<unknown>, evaluatorName: string): void {
  if (!entry.budgets) return;
  const budgets = entry.budgets(options as never, evaluator.maxBudget);
  if (!evaluator.fidelities) return;
  const missing = budgets.filter((b) => !evaluator.fidelities!.includes(b));
  if (missing.length === 0) return;
  const has = evaluator.fidelities.join(', ');
  fail(
    'strategy',
    `strategy ${entry.name} would evaluate at budgets ${budgets.join(', ')}, but evaluator ${evaluatorName} can only answer budget${evaluator.fidelities.length > 1 ? 's' : ''} ${has} (not ${missing.join(', ')})`,
    evaluator.fidelities.length === 1
      ? `this evaluator has one fidelity: use a single-fidelity strategy (evolution, tpe, random, ...), or an evaluator with per-epoch values (train)`
      : `set strategy.options min_budget/max_budget/eta so every rung is one of ${has}`,
  );
}

/** The `enqueue` list checked against the space and strategy (every problem at once); the validated architectures. */
function checkEnqueue(list: readonly JsonObject[], space: Space<unknown>, entry: StrategyEntry | undefined): Json[] {
  const I = new Issues();
  if (entry?.budgets)
    I.take(() => fail('enqueue', `strategy ${entry.name} is multi-fidelity: its rung schedule counts only its own proposals, so it cannot start from enqueued architectures`, 'use a single-fidelity strategy (tpe, evolution, random, ...), or remove enqueue'), undefined);
  const keys = new Map<string, number>();
  const out = list.map((a, i) =>
    I.take(() => {
      let v: unknown;
      try {
        v = space.validate(a);
      } catch (e) {
        if (!(e instanceof NasError)) throw e;
        throw nestError(e, `enqueue[${i}]`, { hint: `give an architecture of space ${space.name} (tsnas trials --format json shows the shape of its trials)` });
      }
      const key = space.key(v);
      const first = keys.get(key);
      if (first !== undefined) fail(`enqueue[${i}]`, `is the same architecture as enqueue[${first}] (key ${key})`, 'list each architecture once');
      keys.set(key, i);
      return v as Json;
    }, null),
  );
  I.throwIfAny('enqueue');
  return out;
}

/**
 * Every problem the registries find is reported at once (core/issues.ts), each naming its field:
 * an unknown space, strategy or evaluator name, each bad strategy option and evaluator option,
 * objectives and constraints on metrics the evaluator does not report, a budget schedule the
 * evaluator cannot answer. A check that needs a part that failed (e.g. the evaluator's metrics
 * when its options are bad) is skipped rather than reported as a consequence.
 */
export function buildParts(config: StudyConfig, baseDir: string): StudyParts {
  const I = new Issues();
  const space = I.take(() => resolveSpace(config.space), undefined);
  const strategyEntry = I.take(() => getStrategyEntry(config.strategy.name), undefined);
  const options = strategyEntry ? I.take(() => validateOptions(strategyEntry.options, config.strategy.options, 'strategy.options'), undefined) : undefined;
  let strategy = strategyEntry && options ? I.take(() => strategyEntry.create(options as never), undefined) : undefined;
  if (strategyEntry && config.objectives.length > 1 && !strategyEntry.multiObjective)
    I.take(() => fail('objectives', `strategy ${strategyEntry.name} optimizes one objective; ${config.objectives.length} were given (${config.objectives.map((o) => o.metric).join(', ')})`, `give one objective, or use a multi-objective strategy: ${MULTI_OBJECTIVE_STRATEGIES.join(', ')}`), undefined);
  // A multi-objective strategy on one objective runs (NSGA-II's non-dominated sort of one value is
  // a ranking), but it is almost always a lost second objective: said, not refused.
  const warnings: string[] = [];
  if (strategyEntry?.multiObjective && config.objectives.length === 1)
    warnings.push(
      `strategy ${strategyEntry.name} is multi-objective, but the study has one objective (${config.objectives[0]!.metric}): it searches that alone; ` +
        'for a trade-off give two, e.g. objectives: [{ metric: val_acc, direction: maximize }, { metric: latency_ms, direction: minimize }] or --objective val_acc,latency_ms --direction maximize,minimize',
    );
  const built = space ? I.take(() => buildEvaluator(config.evaluator.name, config.evaluator.options, baseDir, space), undefined) : undefined;
  // Without a space the evaluator cannot be built, but its name can still be checked.
  if (!space && !evaluatorNames().includes(config.evaluator.name))
    I.add(unknownEvaluator(config.evaluator.name));
  if (built) {
    const evaluator = built.evaluator;
    // A metric the evaluator reports only with an option (train's latency_ms with latency: true):
    // say so and name the option, not only the metrics it reports now.
    const optionFor = (m: string): string | undefined => evaluator.metricOptions?.[m];
    const optionNote = (m: string): string => (optionFor(m) ? ` without ${optionFor(m)} in its options` : '');
    const notReportedHint = (m: string): string =>
      optionFor(m) ? `add ${optionFor(m)} to the evaluator's options, e.g. evaluator: { name: ${config.evaluator.name}, ..., ${optionFor(m)} }; or use one of: ${evaluator.metricNames.join(', ')}` : `use one of: ${evaluator.metricNames.join(', ')}`;
    // One check for every metric name a config takes (objective, tie-break, constraint): the
    // evaluator must report it; a near name (closestMetric: val_accuracy -> val_acc) is suggested.
    const checkMetric = (field: string, m: string): void => {
      if (!evaluator.metricNames.includes(m))
        fail(field, `evaluator ${config.evaluator.name} does not report ${JSON.stringify(m)}${optionNote(m)}${didYouMeanMetric(m, evaluator.metricNames)}`, notReportedHint(m));
    };
    // The objective's metric and its tie-break's are checked on their own: both problems at once.
    config.objectives.forEach((o, i) => {
      I.take(() => {
        checkMetric(`objectives[${i}].metric`, o.metric);
        if (o.metric.startsWith('test_'))
          fail(`objectives[${i}].metric`, `${o.metric} is a test-split metric: search must not see it`, 'optimize a val_* metric or a cost');
      }, undefined);
      const tb = (o as ObjectiveWithTieBreak).tieBreak;
      if (tb)
        I.take(() => {
          checkMetric(`objectives[${i}].tie_break.metric`, tb.metric);
          if (tb.metric.startsWith('test_'))
            fail(`objectives[${i}].tie_break.metric`, `${tb.metric} is a test-split metric: search must not see it`, 'break ties on a val_* metric, e.g. val_loss');
        }, undefined);
    });
    config.constraints.forEach((c, i) => I.take(() => checkMetric(`constraints[${i}].metric`, c.metric), undefined));
    if (strategyEntry && options) I.take(() => checkFidelities(strategyEntry, options, evaluator, config.evaluator.name), undefined);
  }
  // Enqueued architectures (src/strategy/enqueue.ts): each valid in the space, distinct keys, and a
  // single-fidelity strategy (a rung schedule counts only its own proposals).
  const enqueued = config.enqueue && space ? I.take(() => checkEnqueue(config.enqueue!, space, strategyEntry), undefined) : undefined;
  // Zero-cost proxies: every consumer (prescreen, local_search `order: <proxy>`, bananas
  // `proxy_features`) is checked against the study's proxy source at once (src/api/proxy-parts.ts).
  const prescreen = (config.prescreen ?? null) as PrescreenOptions | null;
  const consumers = strategyEntry && options ? proxyConsumers(strategyEntry.name, options as Record<string, unknown>, prescreen) : prescreen ? proxyConsumers('', {}, prescreen) : [];
  const proxy =
    consumers.length && space && built
      ? I.take(() => {
          const named = consumers.flatMap((c) => (c.proxies === 'any' ? [] : c.proxies));
          // Live sources compute what is named, plus the default set for consumers that use any.
          const proxyNames = consumers.some((c) => c.proxies === 'any') ? [...new Set(['synflow', 'naswot', 'jacob_cov', 'params', 'flops', ...named])] : [...new Set(named)];
          return proxySource(space, { name: config.evaluator.name, options: built.options }, baseDir, consumers, proxyNames, config.seed);
        }, undefined)
      : undefined;
  I.throwIfAny('the config');
  // Past throwIfAny every part was built.
  const { evaluator, options: evOptions, ready: evReady } = built!;
  if (prescreen) strategy = withPrescreen(strategy!, prescreen) as unknown as Strategy;
  if (config.enqueue) strategy = withEnqueued(strategy!, enqueued!) as unknown as Strategy;
  // The evaluator and a live proxy source may read the same file: its notes are said once.
  // The data layer names its fields as the evaluator's options (val_fraction, label): in a study
  // they are the config's `evaluator.` fields, which prepareSearch names as the flags that set them.
  const ready =
    evReady || proxy?.ready
      ? async (): Promise<DataNotes> => {
          try {
            return [...new Set((await Promise.all([evReady?.(), proxy?.ready?.()])).flatMap((n) => n ?? []))];
          } catch (e) {
            throw isNasError(e) ? asEvaluatorFields(e) : e;
          }
        }
      : undefined;
  config = { ...config, strategy: { name: strategyEntry!.name, options: options as unknown as JsonObject }, evaluator: { name: config.evaluator.name, options: evOptions } };
  const costOf = evaluator.costs
    ? (arch: unknown): Metrics => {
        try {
          return evaluator.costs!(arch);
        } catch (e) {
          // An architecture the data cannot flow through (e.g. pooling below 1x1) meets no
          // constraint: the strategy proposes another instead of a trial that fails at once.
          if (isNasError(e, 'invalid_arch') || isNasError(e, 'shape_mismatch')) return Object.fromEntries(config.constraints.map((c) => [c.metric, NaN]));
          return {};
        }
      }
    : undefined;
  // The same test without constraints: strategies skip such archs (precheck) instead of spending a
  // trial that fails at once with invalid_arch.
  const infeasible = evaluator.costs
    ? (arch: unknown): string | undefined => {
        try {
          evaluator.costs!(arch);
          return undefined;
        } catch (e) {
          return isNasError(e, 'invalid_arch') || isNasError(e, 'shape_mismatch') ? e.text : undefined;
        }
      }
    : undefined;
  const driver = strategyDriver({
    strategy: strategy!,
    space: space!,
    objectives: config.objectives,
    constraints: driverConstraints(config.constraints),
    ...(costOf ? { costOf } : {}),
    ...(infeasible ? { infeasible } : {}),
    maxBudget: evaluator.maxBudget,
    totalTrials: config.trials,
    multiFidelity: Boolean(strategyEntry!.multiFidelity),
    ...(proxy ? { proxyOf: proxy.provider.proxyOf } : {}),
    // Live proxies are computed ahead of the synchronous strategy calls, interruptibly (not the table's lookups).
    ...(proxy?.ready ? { proxyPrefetch: proxy.provider } : {}),
  });
  const constraints = driverConstraints(config.constraints);
  const checkProposable = (): void => {
    const ctx = { space: space!, objectives: config.objectives, constraints, history: [], ...(costOf ? { costOf } : {}), ...(infeasible ? { infeasible } : {}) } as StrategyContext<unknown>;
    try {
      assertSatisfiable(ctx, Rng.fromSeed(config.seed).derive('constraints'));
    } catch (e) {
      if (!isNasError(e, 'constraint_unsatisfiable') || !costOf) throw e;
      throw new NasError('constraint_unsatisfiable', `${e.text}${costRanges(ctx, costOf, Rng.fromSeed(config.seed).derive('ranges'))}`, {
        field: 'constraints',
        ...(e.hint ? { hint: e.hint } : {}),
        ...(e.details ? { details: e.details } : {}),
      });
    }
    // An enqueued architecture outside the constraints was skipped at its ask without a word (the
    // user asked for it): named here, every one at once, before anything is written.
    if (enqueued && costOf && constraints.length) {
      const E = new Issues();
      enqueued.forEach((a, i) => {
        const m = costOf(archFromJson(structuredClone(a)));
        const broken = constraints.filter((c) => violates(m, [c]));
        if (broken.length)
          E.add(
            new NasError('invalid_config', `violates ${broken.map((c) => `${c.metric}${c.max !== undefined ? ` <= ${c.max}` : ''}${c.min !== undefined ? ` >= ${c.min}` : ''} (its ${c.metric}: ${fmtCost(m[c.metric]!)})`).join(', ')}: it would never be proposed`, {
              field: `enqueue[${i}]`,
              hint: 'remove it, or loosen the constraint',
            }),
          );
      });
      E.throwIfAny('enqueue');
    }
  };
  return { config, space: space!, strategyEntry: strategyEntry!, strategy: strategy!, evaluator, driver, checkProposable, warnings, ...(ready ? { ready } : {}) };
}

/** The config's constraints as the run layer's `Constraint`s. */
function driverConstraints(list: StudyConfig['constraints']): Constraint[] {
  return list.map((c) => ({ metric: c.metric, ...(typeof c['max'] === 'number' ? { max: c['max'] } : {}), ...(typeof c['min'] === 'number' ? { min: c['min'] } : {}) }));
}

/**
 * ` (latency_ms of 200 sampled candidates: 3.2 to 57.1)`: the values the constrained costs take in
 * the space, so the user sees how far off the bound is; '' when no cost is known.
 */
function costRanges(ctx: StrategyContext<unknown>, costOf: (a: unknown) => Metrics, rng: Rng): string {
  const lo = new Map<string, number>();
  const hi = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const m = costOf(ctx.space.sample(rng));
    for (const c of ctx.constraints) {
      const v = m[c.metric];
      if (v === undefined || !Number.isFinite(v)) continue;
      lo.set(c.metric, Math.min(lo.get(c.metric) ?? Infinity, v));
      hi.set(c.metric, Math.max(hi.get(c.metric) ?? -Infinity, v));
    }
  }
  const parts = [...lo.keys()].map((k) => `${k} ${fmtCost(lo.get(k)!)} to ${fmtCost(hi.get(k)!)}`);
  return parts.length ? ` (over 200 sampled candidates: ${parts.join('; ')})` : '';
}

function fmtCost(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4)));
}

export function studySpecOf(parts: StudyParts): StudySpec {
  const c = parts.config;
  return {
    name: c.study,
    strategy: c.strategy,
    space: { name: c.space, definition: parts.space.def as unknown as Json },
    evaluator: c.evaluator,
    objectives: c.objectives,
    constraints: c.constraints,
    seed: c.seed,
    maxTrials: c.trials,
    config: { ...(c as unknown as JsonObject), identity: identityOf(c) },
  };
}

/**
 * `e` (an error of loading the evaluator's data) with each field of the data layer, which names
 * the evaluator's options (`val_fraction`, `label`, `hparams.batch_size`), as the config field
 * (`evaluator.val_fraction`); fields already of the config (`evaluator.`, `--flag`) are kept.
 */
export function asEvaluatorFields(e: NasError): NasError {
  return renameFields(e, (f) => (f.startsWith('evaluator.') || f.startsWith('--') || f.startsWith('dataset.') ? undefined : `evaluator.${f}`));
}
