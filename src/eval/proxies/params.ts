/**
 * params: the number of trainable parameters, from the analytic cost model (no network is built).
 * A strong baseline in Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS" (Table 1).
 */
import type { ZeroCostProxy } from './types.js';

export const paramsProxy: ZeroCostProxy = {
  name: 'params',
  paper: 'Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS (params baseline)',
  needsData: false,
  compute: (input) => input.costs.params,
};
