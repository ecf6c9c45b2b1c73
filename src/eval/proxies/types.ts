/**
 * The one shape of every zero-cost proxy: a score of an untrained network, larger = predicted
 * better, computed from the network at initialisation (and, for the data-dependent ones, one real
 * minibatch). Survey and benchmark: Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight
 * NAS" (ICLR); each proxy's file names the paper it follows.
 *
 * A proxy never keeps the network: it asks `input.build()` for a fresh, identically seeded network
 * (so proxies that rewrite weights, like synflow, do not affect the others), and disposes it.
 */
import type { CostReport } from '../../nn/build/index.js';
import type { Layer } from '../../nn/module.js';
import type { Generator } from '../../tensor/index.js';

/** One real minibatch: x [B, ...sampleShape] (normalised like training data), labels y [B]. */
export interface ProxyBatch {
  readonly x: Float32Array;
  readonly shape: readonly number[];
  readonly y: Int32Array;
}

export interface ProxyInput {
  /** A freshly initialised network (same weights at every call for one input); the caller of build() disposes it. */
  readonly build: () => Layer;
  /** One sample's shape, e.g. [3, 32, 32]. */
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  /** The real batch; required by proxies with `needsData`. */
  readonly batch?: ProxyBatch;
  /** Analytic costs of the architecture (params, FLOPs). */
  readonly costs: CostReport;
  /** A seeded generator for proxies that draw random inputs (zen-score), fresh per call. */
  readonly gen: () => Generator;
}

export interface ZeroCostProxy {
  readonly name: string;
  /** The paper the computation follows. */
  readonly paper: string;
  /** Takes the real batch (`input.batch`); the others use constant or random inputs only. */
  readonly needsData: boolean;
  /**
   * The score (larger = predicted better). May return NaN or +-Infinity for degenerate networks;
   * callers (`scoreArch`, `rankScores`) rank those last with a recorded reason.
   */
  compute(input: ProxyInput): number;
}
