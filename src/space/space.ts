/**
 * `Space<A>`: a search-space definition with behaviour. A space is never an architecture: it
 * produces and judges architectures (plain JSON values of type A). All methods are pure; all
 * randomness comes from the Rng argument.
 */
import { NasError } from '../core/errors.js';
import { archKey, type ArchKey } from '../core/ids.js';
import { canonicalJson, type Json } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import type { ArchOf, ParamDef } from './dsl.js';
import {
  ENCODINGS,
  canonicalValue,
  crossoverValue,
  encodeInto,
  encodingLength,
  enumerateValue,
  mutateValue,
  neighbourValues,
  sampleValue,
  sizeOf,
  validateValue,
  type EncodingKind,
} from './engine.js';

export type { EncodingKind } from './engine.js';

export interface Space<A, D extends ParamDef = ParamDef> {
  readonly name: string;
  readonly def: D;
  /** A random member, uniform per site (per op / choice / number / sequence length). */
  sample(rng: Rng): A;
  /** A copy with exactly one site changed (the key may still be equal, e.g. a change on a dead edge). */
  mutate(arch: A, rng: Rng): A;
  /** Uniform crossover aligned by structure; the child is a member of the space. */
  crossover(a: A, b: A, rng: Rng): A;
  /** Every member one site away, in a fixed order (may contain key-duplicates of `arch`). */
  neighbours(arch: A): A[];
  /** Equal keys mean the same function, as far as the space's symmetries go (see engine.canonicalValue). */
  key(arch: A): ArchKey;
  /** Checks an untrusted value; throws `invalid_arch` naming the bad field (`ops[3]`). Returns a clean copy. */
  validate(value: unknown): A;
  isValid(value: unknown): value is A;
  /** The space's text form (JSON by default; NB201 uses the benchmark's arch string). */
  format(arch: A): string;
  parse(text: string): A;
  encode(arch: A, kind: EncodingKind): number[];
  encodingLength(kind: EncodingKind): number;
  readonly encodings: readonly EncodingKind[];
  /** Number of members (not keys); Infinity for continuous spaces. */
  size(): number;
  /** Every member in a fixed order; throws `invalid_config` for spaces larger than `limit` (default 1e7). */
  enumerate(limit?: number): Generator<A>;
}

export interface SpaceOptions<A> {
  /** Text form; defaults to canonical JSON of the value. */
  format?: (arch: A) => string;
  /** Parses the text form to an unvalidated value (validation follows); defaults to JSON.parse. */
  parse?: (text: string) => unknown;
  /**
   * Replaces the generic canonical form (engine.canonicalValue) when the space knows more symmetry,
   * e.g. the chain CNN ignores `skip` on pooling layers. The key is canonical JSON of this value.
   */
  canonical?: (arch: A) => Json;
  /** Replaces the whole key computation, e.g. with a cache; must agree with `canonical`'s notion of equality. */
  key?: (arch: A, generic: (arch: A) => ArchKey) => ArchKey;
}

export function defineSpace<D extends ParamDef>(name: string, def: D, opts: SpaceOptions<ArchOf<D>> = {}): Space<ArchOf<D>, D> {
  type A = ArchOf<D>;
  const validate = (value: unknown): A => validateValue(def, value, '') as A;
  const genericKey = (arch: A): ArchKey => archKey(canonicalJson(opts.canonical ? opts.canonical(arch) : canonicalValue(def, arch)));
  const space: Space<A, D> = {
    name,
    def,
    encodings: ENCODINGS,
    sample: (rng) => sampleValue(def, rng) as A,
    mutate: (arch, rng) => mutateValue(def, arch, rng) as A,
    crossover: (a, b, rng) => crossoverValue(def, a, b, rng) as A,
    neighbours: (arch) => neighbourValues(def, arch) as A[],
    key: opts.key ? (arch) => opts.key!(arch, genericKey) : genericKey,
    validate,
    isValid(value): value is A {
      try {
        validate(value);
        return true;
      } catch {
        return false;
      }
    },
    format: opts.format ?? ((arch) => canonicalJson(arch)),
    parse(text) {
      let raw: unknown;
      if (opts.parse) raw = opts.parse(text);
      else {
        try {
          raw = JSON.parse(text);
        } catch (e) {
          throw new NasError('invalid_arch', `not JSON: ${(e as Error).message}`, { hint: `write the ${name} architecture as JSON` });
        }
      }
      return validate(raw);
    },
    encode(arch, kind) {
      const out: number[] = [];
      encodeInto(def, arch, kind, out);
      return out;
    },
    encodingLength: (kind) => encodingLength(def, kind),
    size: () => sizeOf(def),
    *enumerate(limit = 1e7) {
      const n = sizeOf(def);
      if (n > limit)
        throw new NasError('invalid_config', `space ${name} has ${n} members, more than the enumeration limit ${limit}`, {
          hint: 'sample instead, or pass a larger limit',
        });
      yield* enumerateValue(def) as Generator<A>;
    },
  };
  return space;
}
