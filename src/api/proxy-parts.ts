/**
 * Zero-cost proxies in study configs:
 *  - the `proxy` evaluator, a search's cheapest fidelity: metrics `proxy_<name>` plus the costs;
 *    on the nb201 space from the shipped per-key table (data/nb201/nb201-proxies.csv.gz: synflow,
 *    params, flops; reported time `proxy_ms` is the table's recorded compute time), on network
 *    spaces computed on the real network with one batch of the dataset (`train` options:
 *    `dataset`, `data_dir`, ...; plus `proxies` and `per_class`);
 *  - `prescreen: { candidates, top, proxies, pool }` for any strategy (src/strategy/prescreen.ts), with
 *    the study's proxy source: the nb201 table, or live computation on the `train` or `proxy`
 *    evaluator's dataset (each key once per process; the values of the kept candidates live in
 *    the strategy's stored state).
 */
import type { NetworkArch } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkProxyAvailability, checkProxyNames, proxyConsumers, tableAbsent, loadProxyTable, ProxyEvaluator, ProxyProvider, tableProvider, type ProxyConsumer, type ProxySourceKind, type ProxyTable, type ProxyValues } from '../eval/proxies/index.js';
import type { EvalOutcome, EvalRequest, Evaluator } from '../eval/types.js';
import type { Space } from '../space/space.js';
import type { PrescreenOptions } from '../strategy/prescreen.js';
import { TRAIN_OPTIONS, parseTrainOptions } from './train-evaluator.js';
import { Issues, fail, noExtraKeys, num, obj } from './validate.js';

export { proxyConsumers };
import type { DataNotes } from '../data/prepare.js';

let shipped: ProxyTable | undefined;
const nb201Table = (): ProxyTable => (shipped ??= loadProxyTable());

/** Validates `prescreen: { candidates, top, proxies, pool }` (null when absent; pool 0 = plain random draws after the top ones). */
export function parsePrescreen(raw: unknown): (PrescreenOptions & JsonObject) | null {
  if (raw === undefined || raw === null) return null;
  const o = obj(raw, 'prescreen');
  const I = new Issues();
  I.take(() => noExtraKeys(o, 'prescreen', ['candidates', 'top', 'proxies', 'pool']), undefined);
  const candidates = I.take(() => num(o['candidates'] ?? 1000, 'prescreen.candidates', { integer: true, min: 1, max: 10_000_000 }), 1);
  const top = I.take(() => num(o['top'] ?? 10, 'prescreen.top', { integer: true, min: 1, max: 1_000_000 }), 1);
  const proxies = I.take(() => {
    const p = o['proxies'] ?? ['synflow'];
    if (!Array.isArray(p)) fail('prescreen.proxies', 'must be a list of proxy names', 'e.g. proxies: [synflow]');
    return checkProxyNames(p as string[], 'prescreen.proxies');
  }, []);
  const pool = I.take(() => num(o['pool'] ?? 0, 'prescreen.pool', { integer: true, min: 0, max: 1_000_000 }), 0);
  // More kept than scored would be silently capped: the user meant something else.
  if (top > candidates && !I.fields().some((f) => f === 'prescreen.candidates' || f === 'prescreen.top'))
    I.add(new NasError('invalid_config', `keeps the best ${top} of ${candidates} candidates: more than it scores`, { field: 'prescreen.top', hint: `use top <= candidates (e.g. candidates: ${Math.max(candidates, top * 10)}, top: ${top})` }));
  I.throwIfAny('prescreen');
  return { candidates, top, proxies, ...(pool > 0 ? { pool } : {}) };
}

/** Table proxies on the nb201 space: `proxy_<name>` for the table's proxies, `proxy_ms`, params, flops. */
function tableProxyEvaluator(): Evaluator<unknown> {
  const t = nb201Table();
  return {
    name: 'proxy:nb201-table',
    maxBudget: 1,
    metricNames: [...t.proxies.map((p) => `proxy_${p}`), 'proxy_ms'],
    async evaluate(req: EvalRequest<unknown>): Promise<EvalOutcome> {
      const v = t.lookup(req.arch as never);
      if (!v) return { status: 'failed', reason: 'error', message: `architecture not in ${t.file}`, curve: [] };
      const absent = tableAbsent(t, v);
      return { status: 'complete', metrics: { ...v.values, proxy_ms: v.ms }, curve: [], ...(absent ? { absent } : {}) };
    },
  };
}

/** Train-evaluator options the live proxy evaluator refuses (it takes the data fields, nb201/darts, threads). */
export const PROXY_UNUSED_TRAIN_FIELDS = ['epochs', 'time_limit', 'latency', 'hparams', 'skip_test', 'keep_weights', 'artifacts_dir', 'cv_folds', 'cv_repeats', 'cv_predictions', 'inherit', 'inherit_lr_scale', 'inherit_optimizer', 'budget_samples', 'early_stopping'] as const;

function liveOptions(o: JsonObject, baseDir: string, asEvaluator: boolean): { ev: ProxyEvaluator; options: JsonObject } {
  const { proxies, per_class: perClass, ...train } = o;
  // The train options, the proxy names and per_class are checked together: every problem at once.
  const I = new Issues();
  // The proxy evaluator scores one batch of the data at initialisation: options of training
  // (epochs, hparams, cross-validation, inheritance, early stopping, latency, weights) would be
  // accepted and do nothing, so they are refused, each with the evaluator that uses it, and the
  // rest is checked against the fields it does take (an unknown field's error lists those).
  // (A prescreen's live proxies read the train evaluator's own options: those are used by it.)
  const unused: readonly string[] = asEvaluator ? PROXY_UNUSED_TRAIN_FIELDS : [];
  for (const f of unused) {
    if (train[f] !== undefined)
      I.add(new NasError('invalid_config', `the proxy evaluator does not train, so it does not use ${f}`, { field: `evaluator.${f}`, hint: `remove ${f}; it is an option of the train evaluator (name: train)` }));
  }
  const used = Object.fromEntries(Object.entries(train).filter(([k]) => !unused.includes(k))) as JsonObject;
  const allowed = asEvaluator ? [...TRAIN_OPTIONS.filter((f) => !unused.includes(f)), 'proxies', 'per_class'] : TRAIN_OPTIONS;
  const parsed = I.take(() => parseTrainOptions(used, baseDir, allowed), undefined);
  const names = I.take(() => {
    const l = proxies === undefined ? ['synflow', 'naswot', 'jacob_cov', 'params', 'flops'] : Array.isArray(proxies) ? (proxies as string[]) : fail('evaluator.proxies', 'must be a list of proxy names', 'e.g. proxies: [synflow, naswot]');
    return checkProxyNames(l, 'evaluator.proxies');
  }, []);
  const pc = perClass === undefined ? undefined : I.take(() => num(perClass, 'evaluator.per_class', { integer: true, min: 1, max: 1000 }), undefined);
  I.throwIfAny('the evaluator options');
  const ev = new ProxyEvaluator({
    dataset: parsed!.eval.dataset,
    split: parsed!.eval.split ?? {},
    proxies: names,
    ...(pc === undefined ? {} : { perClass: pc }),
    ...(parsed!.eval.nb201 ? { nb201: parsed!.eval.nb201 } : {}),
    ...(parsed!.eval.darts ? { darts: parsed!.eval.darts } : {}),
    ...(parsed!.eval.threads === undefined ? {} : { threads: parsed!.eval.threads }),
  });
  return { ev, options: { ...parsed!.options, ...(proxies === undefined ? {} : { proxies }), ...(perClass === undefined ? {} : { per_class: perClass }) } };
}

/** The `proxy` evaluator factory (see the module comment). */
export function proxyEvaluatorFactory(o: JsonObject, baseDir: string, space: Space<unknown>): { evaluator: Evaluator<unknown>; options: JsonObject; ready?: () => Promise<DataNotes> } {
  if (space.name.startsWith('nb201') && o['dataset'] === undefined) {
    const extra = Object.keys(o);
    if (extra.length)
      throw new NasError(
        'invalid_config',
        `the proxy evaluator on the ${space.name} space without a dataset reads the shipped proxy table (every key's ${nb201Table().proxies.join(', ')}) and takes no options; got ${extra.join(', ')}`,
        { field: `evaluator.${extra[0]}`, hint: 'drop the options, or add dataset (e.g. dataset: fashion_mnist) to compute the proxies live on the real NB201 networks with one batch of it' },
      );
    return { evaluator: tableProxyEvaluator(), options: {} };
  }
  const { ev, options } = liveOptions(o, baseDir, true);
  return { evaluator: ev as unknown as Evaluator<unknown>, options, ready: async () => (await ev.prepared()).notes ?? [] };
}

/** Where the study's proxy scores come from (see proxySource): the nb201 table, live computation, or none. */
export function proxySourceKind(space: Space<unknown>, evaluator: { name: string; options: JsonObject }): ProxySourceKind {
  if (space.name.startsWith('nb201') && evaluator.options['dataset'] === undefined) return { kind: 'table', file: nb201Table().file, proxies: nb201Table().proxies };
  if (evaluator.name === 'train' || evaluator.name === 'proxy') return { kind: 'live' };
  return { kind: 'none', why: `space ${space.name} with evaluator ${evaluator.name}` };
}

/**
 * The study's proxy source for every consumer of proxy scores (prescreen, local_search `order`,
 * bananas `proxy_features`): the nb201 table on the nb201 space (its proxies only), else live
 * computation with the `train`/`proxy` evaluator's dataset. Each consumer's proxies are checked
 * against the source first (checkProxyAvailability: one message for all, naming what the source
 * has and how to get the others computed); `proxies` are the names a live source computes.
 */
export function proxySource(
  space: Space<unknown>,
  evaluator: { name: string; options: JsonObject },
  baseDir: string,
  consumers: readonly ProxyConsumer[],
  proxies: readonly string[],
  seed: number,
): { provider: ProxyProvider<unknown>; ready?: () => Promise<DataNotes> } {
  const kind = proxySourceKind(space, evaluator);
  checkProxyAvailability(consumers, kind);
  if (kind.kind === 'table') return { provider: tableProvider(nb201Table()) as unknown as ProxyProvider<unknown> };
  const { proxies: _p, per_class: _c, ...train } = evaluator.options;
  const { ev } = liveOptions({ ...train, proxies: [...proxies] }, baseDir, false);
  const provider = new ProxyProvider<unknown>(
    (a) => space.key(a),
    (a): ProxyValues => {
      const scores = ev.scoreSync(a as NetworkArch, seed);
      const values: Record<string, number> = {};
      const absent: Record<string, string> = {};
      for (const s of scores) if (s.ok) values[`proxy_${s.proxy}`] = s.value;
      else absent[`proxy_${s.proxy}`] = s.reason;
      return { values, ms: scores.reduce((t, s) => t + s.ms, 0), ...(Object.keys(absent).length ? { absent } : {}) };
    },
  );
  return { provider, ready: async () => (await ev.prepared()).notes ?? [] };
}
