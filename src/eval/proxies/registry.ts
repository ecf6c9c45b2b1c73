/**
 * Zero-cost proxies by name. To add one: a file exporting a `ZeroCostProxy`, one line here.
 */
import { didYouMean } from '../../core/suggest.js';
import { Issues } from '../../core/issues.js';
import { NasError } from '../../core/errors.js';
import { fisherProxy } from './fisher.js';
import { flopsProxy } from './flops.js';
import { gradNormProxy } from './grad-norm.js';
import { graspProxy } from './grasp.js';
import { jacobCovProxy } from './jacob-cov.js';
import { naswotProxy } from './naswot.js';
import { paramsProxy } from './params.js';
import { snipProxy } from './snip.js';
import { synflowProxy } from './synflow.js';
import type { ZeroCostProxy } from './types.js';
import { zenProxy } from './zen.js';

export const ZERO_COST_PROXIES = {
  synflow: synflowProxy,
  grad_norm: gradNormProxy,
  snip: snipProxy,
  grasp: graspProxy,
  fisher: fisherProxy,
  jacob_cov: jacobCovProxy,
  naswot: naswotProxy,
  zen: zenProxy,
  params: paramsProxy,
  flops: flopsProxy,
} as const satisfies Record<string, ZeroCostProxy>;

export type ProxyName = keyof typeof ZERO_COST_PROXIES;
export const PROXY_NAMES = Object.keys(ZERO_COST_PROXIES) as ProxyName[];

/** The proxy called `name`; an unknown name is `invalid_config` naming `field` and the known names. */
export function getProxy(name: string, field = 'proxies'): ZeroCostProxy {
  if (!Object.hasOwn(ZERO_COST_PROXIES, name))
    throw new NasError('invalid_config', `unknown zero-cost proxy ${JSON.stringify(name)}${didYouMean(name, PROXY_NAMES)}`, { field, hint: `use one of: ${PROXY_NAMES.join(', ')}` });
  return ZERO_COST_PROXIES[name as ProxyName];
}

/** Validates a list of proxy names (field `field[i]` in errors); an empty list is an error too. */
export function checkProxyNames(names: readonly string[], field = 'proxies'): ProxyName[] {
  if (!Array.isArray(names) || names.length === 0) throw new NasError('invalid_config', 'no zero-cost proxy named', { field, hint: `use some of: ${PROXY_NAMES.join(', ')}` });
  // Every unknown name is reported at once (core/issues.ts).
  const I = new Issues();
  names.forEach((n, i) => I.take(() => getProxy(String(n), `${field}[${i}]`), undefined));
  I.throwIfAny(field);
  return names.map((n) => n as ProxyName);
}
