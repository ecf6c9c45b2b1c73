/** Helpers shared by the proxies: running one batch, the cross-entropy backward, batch checks. */
import { NasError } from '../../core/errors.js';
import type { Layer } from '../../nn/module.js';
import { Tensor, crossEntropy } from '../../tensor/index.js';
import type { ProxyBatch, ProxyInput } from './types.js';

export function needBatch(input: ProxyInput, proxy: string): ProxyBatch {
  if (!input.batch)
    throw new NasError('invalid_config', `proxy ${proxy} needs one real batch of data`, { field: 'proxies', hint: 'give the proxy scorer a dataset (its `batch`)' });
  return input.batch;
}

export const batchX = (b: ProxyBatch): Tensor => Tensor.fromArray(b.x, b.shape);
export const batchY = (b: ProxyBatch): Tensor => Tensor.fromArray(b.y, [b.y.length], 'int64');

/** Training-mode cross-entropy of the batch, backpropagated into the parameters' `.grad`. Call inside tidy. */
export function ceBackward(net: Layer, b: ProxyBatch): void {
  net.train();
  net.zeroGrad();
  crossEntropy(net.forward(batchX(b)), batchY(b)).backward();
}

/** Sum of a tensor as a JS number (float64 accumulation over a float32 reduction). */
export const total = (t: Tensor): number => t.sum().item();

/** Builds a network, runs fn, always disposes it. */
export function withNet<T>(input: ProxyInput, fn: (net: Layer) => T): T {
  const net = input.build();
  try {
    return fn(net);
  } finally {
    net.dispose();
  }
}
