/**
 * Zero-cost proxies moved to ./proxies/ (one file per proxy, a registry, ensembles and the `proxy`
 * evaluator); this module keeps the old import path working.
 */
export { ProxyEvaluator, PROXY_NAMES as PROXIES, type ProxyEvaluatorOptions, type ProxyName } from './proxies/index.js';
