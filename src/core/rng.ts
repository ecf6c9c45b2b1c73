/**
 * Seeded random numbers with a state that is plain JSON, so a strategy can save its generator with
 * the rest of its state and a resumed study draws exactly what an uninterrupted one would have.
 * There is no global generator anywhere in tsnas: every random choice takes an Rng.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna), seeded through splitmix32; 32-bit words held as
 * unsigned integers. Not cryptographic.
 */
export interface RngState {
  readonly algo: 'xoshiro128**';
  readonly s: readonly [number, number, number, number];
}

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over UTF-16 code units; turns string seeds and fork labels into 32-bit numbers. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined; // second Box-Muller value; not part of the saved state

  private constructor(s: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = s;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  static fromSeed(seed: number | string): Rng {
    const n = typeof seed === 'string' ? hash32(seed) : seed;
    if (!Number.isFinite(n)) throw new RangeError(`Rng seed must be finite, got ${seed}`);
    // Mix both halves of a 53-bit integer seed so that seeds differing only above bit 32 differ.
    const lo = n >>> 0;
    const hi = Math.floor(n / 2 ** 32) >>> 0;
    const g = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1));
    return new Rng([g(), g(), g(), g()]);
  }

  static fromState(state: RngState): Rng {
    if (state?.algo !== 'xoshiro128**' || !Array.isArray(state.s) || state.s.length !== 4)
      throw new TypeError('Rng.fromState: not an xoshiro128** state');
    return new Rng([state.s[0] >>> 0, state.s[1] >>> 0, state.s[2] >>> 0, state.s[3] >>> 0]);
  }

  state(): RngState {
    return { algo: 'xoshiro128**', s: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0] };
  }

  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** An independent generator derived from this one's state and a label; does not advance this one. */
  derive(label: string | number): Rng {
    const g = splitmix32((this.a ^ rotl(this.c, 7) ^ hash32(String(label))) >>> 0);
    return new Rng([(g() ^ this.b) >>> 0, (g() ^ this.d) >>> 0, g(), g()]);
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of precision. */
  float(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi) (hi exclusive), without modulo bias. */
  int(lo: number, hi: number): number {
    const n = hi - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || n <= 0)
      throw new RangeError(`Rng.int: need integers lo < hi, got [${lo}, ${hi})`);
    if (n <= 2 ** 32) {
      const limit = 2 ** 32 - (2 ** 32 % n);
      let x: number;
      do x = this.nextUint32();
      while (x >= limit);
      return lo + (x % n);
    }
    return lo + Math.floor(this.float() * n);
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.choice: empty list');
    return items[this.int(0, items.length)] as T;
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0)) throw new RangeError(`Rng.weighted: weights must be >= 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('Rng.weighted: all weights are zero');
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = a[i] as T;
      a[i] = a[j] as T;
      a[j] = t;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** k distinct items, in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    if (k > items.length) throw new RangeError(`Rng.sample: k=${k} > ${items.length} items`);
    return this.shuffle(items).slice(0, k);
  }

  /** Normal(mean, std) by Box-Muller. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }
}
