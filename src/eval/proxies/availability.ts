/**
 * Whether the zero-cost proxies a study's parts ask for can be had from its proxy source: the one
 * check every consumer of proxy scores goes through, at config time, with one message (new user,
 * session 10, finding 8: `local_search` with `order: naswot` on the NB201 table ran unguided, every
 * neighbour "missing -> last", while `prescreen: { proxies: [naswot] }` on the same table was refused).
 *
 * Consumers (each a `ProxyConsumer`: its config field, what it is, the names it needs):
 *  - `prescreen.proxies` (src/strategy/prescreen.ts);
 *  - `strategy.options.order` of local_search (one proxy name);
 *  - `strategy.options.proxy_features` of bananas (whatever the source has: `'any'`);
 *  - the NB201 strategy bench (bench/nb201.ts), which reads the shipped table.
 *
 * Sources: the shipped per-key NB201 table (a fixed set of proxies, looked up), live computation on
 * the real networks (every registered proxy, `src/eval/proxies/registry.ts`), or none.
 */
import { NasError } from '../../core/errors.js';
import { Issues } from '../../core/issues.js';
import { PROXY_NAMES } from './registry.js';

/** Where a study's proxy scores come from. */
export type ProxySourceKind =
  | { readonly kind: 'table'; readonly file: string; readonly proxies: readonly string[] }
  | { readonly kind: 'live' }
  /** No source: `why` says which space/evaluator lacks one (e.g. `space mlp with evaluator tabular`). */
  | { readonly kind: 'none'; readonly why: string };

export interface ProxyConsumer {
  /** The config field that asks for proxies, e.g. `prescreen.proxies`, `strategy.options.order`. */
  readonly field: string;
  /** What it is, in words: `prescreen`, `local_search order`, `bananas proxy_features`. */
  readonly what: string;
  /** The proxy names it needs, or 'any' (it uses whatever the source has, but needs a source). */
  readonly proxies: readonly string[] | 'any';
}

/**
 * The parts of a study that consume zero-cost proxy scores, from the validated strategy options
 * (schema names: `order`, `proxyFeatures`) and the prescreen: what checkProxyAvailability checks.
 */
export function proxyConsumers(strategy: string, options: Readonly<Record<string, unknown>>, prescreen: { readonly proxies: readonly string[] } | null): ProxyConsumer[] {
  const out: ProxyConsumer[] = [];
  if (prescreen) out.push({ field: 'prescreen.proxies', what: 'prescreen', proxies: prescreen.proxies });
  const order = options['order'];
  if (typeof order === 'string' && order !== 'random') out.push({ field: 'strategy.options.order', what: `${strategy} order: ${order}`, proxies: [order] });
  if (options['proxyFeatures'] === true) out.push({ field: 'strategy.options.proxy_features', what: `${strategy} proxy_features`, proxies: 'any' });
  return out;
}

/** How to get proxies computed that a table lacks, or when there is no source at all. */
export const LIVE_HINT = 'a train or proxy evaluator with a dataset computes every proxy on the real networks (e.g. evaluator: { name: proxy, dataset: digits }; one batch per candidate)';

/** The error for a consumer whose source lacks some of its proxies (or is absent): the same wording for every consumer. */
export function proxyUnavailable(c: ProxyConsumer, source: ProxySourceKind, missing: readonly string[] = []): NasError {
  if (source.kind === 'none')
    return new NasError('invalid_config', `${c.what} needs zero-cost proxy scores, and ${source.why} has no proxy source`, {
      field: c.field,
      hint: `the nb201 space reads the shipped table (synflow, params, flops); otherwise ${LIVE_HINT}; or drop ${c.field}`,
    });
  const has = source.kind === 'table' ? source.proxies : PROXY_NAMES;
  const where = source.kind === 'table' ? `the shipped NB201 proxy table (${source.file.replace(/^.*\/(data\/)/, '$1')})` : 'live computation';
  return new NasError('invalid_config', `${c.what} needs proxy ${missing.join(', ')}, and ${where} has no ${missing.join(', ')}: it has ${has.join(', ')}`, {
    field: c.field,
    hint: `use one of ${has.join(', ')}${source.kind === 'table' ? `, or have ${missing.join(', ')} computed: ${LIVE_HINT}` : ''}`,
  });
}

/**
 * Checks every consumer against the source; all problems at once (one combined invalid_config,
 * each naming its consumer's field). Proxy names are assumed registered (checkProxyNames ran).
 */
export function checkProxyAvailability(consumers: readonly ProxyConsumer[], source: ProxySourceKind): void {
  const I = new Issues();
  for (const c of consumers)
    I.take(() => {
      if (source.kind === 'none') throw proxyUnavailable(c, source);
      if (c.proxies === 'any' || source.kind === 'live') return;
      const missing = c.proxies.filter((p) => !source.proxies.includes(p));
      if (missing.length) throw proxyUnavailable(c, source, missing);
    }, undefined);
  I.throwIfAny('the zero-cost proxies');
}
