/** Zero-cost proxies (one file each), their scoring, ranking and ensembles, and the `proxy` evaluator. */
export type { ProxyBatch, ProxyInput, ZeroCostProxy } from './types.js';
export { ZERO_COST_PROXIES, PROXY_NAMES, getProxy, checkProxyNames, type ProxyName } from './registry.js';
export { scoreArch, rankScores, spearman, type ProxyScore, type ScoreOptions } from './score.js';
export { rankAggregate, fitCombination, predictCombination, minPoints, type ProxyCombination } from './ensemble.js';
export { ProxyEvaluator, proxyBatch, type ProxyEvaluatorOptions } from './evaluator.js';
export { synflowLog } from './synflow.js';
export { resizeBatch } from './resize.js';
export { loadProxyTable, tableAbsent, tableProvider, ProxyProvider, NB201_PROXIES_CSV, type ProxyTable, type ProxyValues } from './table.js';
export { checkProxyAvailability, proxyConsumers, proxyUnavailable, LIVE_HINT, type ProxyConsumer, type ProxySourceKind } from './availability.js';
