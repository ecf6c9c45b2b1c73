/** Strategy option schemas: plain data, validated with errors that name the option and the allowed values. */
import { NasError } from '../core/errors.js';
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

/** Checks user options against a schema; errors name `<prefix>.<option>` and the allowed values. */
export function validateOptions<S extends OptionSpecs>(specs: S, options: Readonly<Record<string, unknown>>, prefix = 'options'): OptionsOf<S> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(options))
    if (!Object.hasOwn(specs, k))
      throw new NasError('invalid_config', `unknown option ${JSON.stringify(k)}`, { field: `${prefix}.${k}`, hint: `options are: ${Object.keys(specs).join(', ') || '(none)'}` });
  for (const [k, spec] of Object.entries(specs)) {
    const v = options[k] ?? spec.default;
    const field = `${prefix}.${k}`;
    switch (spec.kind) {
      case 'int':
      case 'float': {
        if (typeof v !== 'number' || !Number.isFinite(v) || (spec.kind === 'int' && !Number.isInteger(v)))
          throw new NasError('invalid_config', `must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`, { field });
        if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max))
          throw new NasError('invalid_config', `${v} is out of range`, { field, hint: `use a value in [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]` });
        break;
      }
      case 'choice':
        if (!spec.options.includes(v as string))
          throw new NasError('invalid_config', `${JSON.stringify(v)} is not allowed`, { field, hint: `use one of: ${spec.options.join(', ')}` });
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw new NasError('invalid_config', `must be true or false, got ${JSON.stringify(v)}`, { field });
        break;
    }
    out[k] = v;
  }
  return out as OptionsOf<S>;
}

