/** Strategy option schemas: plain data, validated with errors that name the option and the allowed values. */
import { NasError, assertNever } from '../core/errors.js';
import { Issues, optionKeys, snakeCase } from '../core/issues.js';
import { didYouMean } from '../core/suggest.js';
import type { Strategy } from './types.js';

export type OptionSpec =
  | { readonly kind: 'int'; readonly default: number; readonly min?: number; readonly max?: number; readonly doc?: string }
  | { readonly kind: 'float'; readonly default: number; readonly min?: number; readonly max?: number; readonly doc?: string }
  | { readonly kind: 'choice'; readonly options: readonly string[]; readonly default: string; readonly doc?: string }
  | { readonly kind: 'bool'; readonly default: boolean; readonly doc?: string };
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type OptionValue<S extends OptionSpec> = S extends { kind: 'int' | 'float' }
  ? number
  : S extends { kind: 'choice'; options: readonly (infer C)[] }
    ? C
    : boolean;
export type OptionsOf<S extends OptionSpecs> = { readonly [K in keyof S]: OptionValue<S[K]> };

export interface StrategyEntry<S extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  readonly description: string;
  readonly options: S;
  /** Single-objective strategies use the first objective; `multiObjective` ones use all. */
  readonly multiObjective?: boolean;
  /** Needs `budget`-aware evaluators (Hyperband, ASHA...). */
  readonly multiFidelity?: boolean;
  /**
   * Every budget the strategy may request with these options when the evaluator's largest budget is
   * `maxBudget` (multi-fidelity strategies). The study checks them against the evaluator's
   * `fidelities` before anything is written. Throws invalid_config when no schedule exists.
   */
  readonly budgets?: (options: OptionsOf<S>, maxBudget: number | undefined) => readonly number[];
  readonly create: (options: OptionsOf<S>) => Strategy;
}

export function defineStrategy<const S extends OptionSpecs>(e: StrategyEntry<S>): StrategyEntry<S> {
  return e;
}

/**
 * Checks user options against a schema and fills defaults. Options are named in snake_case in
 * configs (`sample_size`; the schema's camelCase name `sampleSize` is accepted too, see
 * core/issues.ts optionKeys); the result is keyed by the schema's names. EVERY problem is reported
 * at once (one combined invalid_config error, `details.issues`): unknown options (with a
 * did-you-mean), wrong types, out-of-range values and unknown choices, each naming
 * `<prefix>.<key as written>` and what is allowed.
 */
export function validateOptions<S extends OptionSpecs>(specs: S, options: Readonly<Record<string, unknown>>, prefix = 'options'): OptionsOf<S> {
  const I = new Issues();
  const given = optionKeys(options, Object.keys(specs), prefix, I);
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(specs)) {
    const key = given.get(k);
    const v = key === undefined ? spec.default : options[key];
    const field = `${prefix}.${key ?? snakeCase(k)}`;
    out[k] = I.take(() => checkOption(spec, v, field), spec.default);
  }
  I.throwIfAny(`${prefix}`);
  return out as OptionsOf<S>;
}

function checkOption(spec: OptionSpec, v: unknown, field: string): unknown {
  switch (spec.kind) {
    case 'int':
    case 'float': {
      const range = `[${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]`;
      if (typeof v !== 'number' || !Number.isFinite(v) || (spec.kind === 'int' && !Number.isInteger(v)))
        throw new NasError('invalid_config', `must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`, { field, hint: `use a value in ${range}` });
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max))
        throw new NasError('invalid_config', `${v} is out of range`, { field, hint: `use a value in ${range}` });
      return v;
    }
    case 'choice':
      if (!spec.options.includes(v as string))
        throw new NasError('invalid_config', `${JSON.stringify(v)} is not allowed${typeof v === 'string' ? didYouMean(v, spec.options) : ''}`, { field, hint: `use one of: ${spec.options.join(', ')}` });
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new NasError('invalid_config', `must be true or false, got ${JSON.stringify(v)}`, { field });
      return v;
    default:
      return assertNever(spec, 'option spec');
  }
}
