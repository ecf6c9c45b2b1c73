/**
 * flops: floating-point operations of one forward pass of one sample (2 x MACs), from the analytic
 * cost model (no network is built). A strong baseline in Abdelfattah et al. 2021, "Zero-Cost
 * Proxies for Lightweight NAS" (Table 1).
 */
import type { ZeroCostProxy } from './types.js';

export const flopsProxy: ZeroCostProxy = {
  name: 'flops',
  paper: 'Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS (FLOPs baseline)',
  needsData: false,
  compute: (input) => input.costs.flops,
};
