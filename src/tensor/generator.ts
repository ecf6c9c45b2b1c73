/**
 * A seeded random generator (libtorch's CPU Mersenne-Twister generator). There is no global
 * generator: every random op takes one explicitly. For the same seed, draws equal PyTorch's
 * `torch.manual_seed(seed)` followed by the same calls (randn, rand, randint, randperm, bernoulli,
 * dropout masks, init).
 */
import { NasError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { native, type GenHandle } from './native.js';
import { Tensor, dtypeCode, type DType, type Shape } from './tensor.js';

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new NasError('invalid_config', `seed must be a non-negative safe integer, got ${seed}`, { field: 'seed' });
}

export class Generator {
  /** @internal */ readonly handle: GenHandle;

  constructor(seed: number) {
    checkSeed(seed);
    this.handle = native.genNew(seed);
  }

  /** A generator seeded from a core Rng (draws one 32-bit seed from it). */
  static fromRng(rng: Rng): Generator {
    return new Generator(rng.int(0, 2 ** 31 - 1));
  }

  manualSeed(seed: number): this {
    checkSeed(seed);
    native.genSeed(this.handle, seed);
    return this;
  }
  /** The full generator state (opaque bytes) for checkpoints. */
  state(): Uint8Array {
    return native.genGetState(this.handle);
  }
  setState(s: Uint8Array): this {
    native.genSetState(this.handle, s);
    return this;
  }

  /** Standard normal draws. */
  randn(shape: Shape, dtype: DType = 'float32'): Tensor {
    return new Tensor(native.randn(this.handle, shape, dtypeCode(dtype)));
  }
  /** Uniform draws in [0, 1). */
  rand(shape: Shape, dtype: DType = 'float32'): Tensor {
    return new Tensor(native.rand(this.handle, shape, dtypeCode(dtype)));
  }
  normal(shape: Shape, mean = 0, std = 1): Tensor {
    const t = Tensor.zeros(shape);
    native.normal_(this.handle, t.h, mean, std);
    return t;
  }
  uniform(shape: Shape, low = 0, high = 1): Tensor {
    const t = Tensor.zeros(shape);
    native.uniform_(this.handle, t.h, low, high);
    return t;
  }
  /** Fills t in place with normal draws (outside autograd; for initialisation). */
  normal_(t: Tensor, mean = 0, std = 1): Tensor {
    native.normal_(this.handle, t.h, mean, std);
    return t;
  }
  /** Fills t in place with uniform draws in [low, high) (outside autograd). */
  uniform_(t: Tensor, low = 0, high = 1): Tensor {
    native.uniform_(this.handle, t.h, low, high);
    return t;
  }
  /** Integers in [low, high), int64. */
  randint(low: number, high: number, shape: Shape): Tensor {
    if (!(high > low)) throw new NasError('invalid_config', `randint: high (${high}) must exceed low (${low})`, { field: 'high' });
    return new Tensor(native.randint(this.handle, low, high, shape));
  }
  /** A random permutation of 0..n-1, int64. */
  randperm(n: number): Tensor {
    return new Tensor(native.randperm(this.handle, n));
  }
  /** 0/1 draws with the given probabilities (a tensor, or a number with a shape). */
  bernoulli(probs: Tensor | number, shape?: Shape): Tensor {
    if (typeof probs === 'number') {
      if (!shape) throw new NasError('invalid_config', 'bernoulli(p, shape): shape is required with a numeric p', { field: 'shape' });
      const p = Tensor.full(shape, probs);
      try {
        return new Tensor(native.bernoulli(this.handle, p.h));
      } finally {
        p.dispose();
      }
    }
    return new Tensor(native.bernoulli(this.handle, probs.h));
  }
  /** n category indices per row drawn from (unnormalised) probabilities. */
  multinomial(probs: Tensor, n: number, replacement = false): Tensor {
    return new Tensor(native.multinomial(this.handle, probs.h, n, replacement));
  }
}
