/**
 * Strategies by name, each with its option schema. To add one: export a `defineStrategy({...})`
 * entry (from ./common-options.js) from its file, import it here and add one line to STRATEGIES.
 */
import { didYouMeanValue } from '../core/suggest.js';
import { STRATEGY_SYNONYMS } from '../core/synonyms.js';
import { NasError } from '../core/errors.js';
import type { Strategy } from './types.js';
import { validateOptions, type StrategyEntry } from './common-options.js';
export { defineStrategy, validateOptions, type OptionSpec, type OptionSpecs, type OptionsOf, type StrategyEntry } from './common-options.js';
import { randomStrategy } from './random.js';
import { gridStrategy } from './grid.js';
import { localSearchStrategy } from './local-search.js';
import { geneticStrategy } from './genetic.js';
import { evolutionStrategy } from './evolution.js';
import { boStrategy } from './bo.js';
import { tpeStrategy } from './tpe.js';
import { nsga2Strategy } from './nsga2.js';
import { successiveHalvingStrategy } from './successive-halving.js';
import { hyperbandStrategy } from './hyperband.js';
import { ashaStrategy } from './asha.js';
import { reinforceStrategy } from './reinforce.js';
import { bananasStrategy } from './bananas.js';

export const STRATEGIES = {
  random: randomStrategy,
  grid: gridStrategy,
  local_search: localSearchStrategy,
  genetic: geneticStrategy,
  evolution: evolutionStrategy,
  bo: boStrategy,
  tpe: tpeStrategy,
  nsga2: nsga2Strategy,
  successive_halving: successiveHalvingStrategy,
  hyperband: hyperbandStrategy,
  asha: ashaStrategy,
  reinforce: reinforceStrategy,
  bananas: bananasStrategy,
} as const satisfies Record<string, StrategyEntry<any>>;

export type StrategyName = keyof typeof STRATEGIES;
export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];
/** The strategies that optimize every objective (entry `multiObjective`); the others use the first. */
export const MULTI_OBJECTIVE_STRATEGIES = STRATEGY_NAMES.filter((n) => (STRATEGIES[n] as { multiObjective?: boolean }).multiObjective === true);

export function getStrategyEntry(name: string): StrategyEntry {
  if (!Object.hasOwn(STRATEGIES, name))
    throw new NasError('unknown_strategy', `unknown strategy ${JSON.stringify(name)}${didYouMeanValue(name, STRATEGY_NAMES, STRATEGY_SYNONYMS)}`, { field: 'strategy', hint: `use one of: ${STRATEGY_NAMES.join(', ')}` });
  return STRATEGIES[name as StrategyName] as unknown as StrategyEntry;
}

/** `createStrategy('evolution', { population: 20 })`; options are validated (field `strategy.options.population`). */
export function createStrategy(name: string, options: Readonly<Record<string, unknown>> = {}): Strategy {
  const e = getStrategyEntry(name);
  return e.create(validateOptions(e.options, options, 'strategy.options'));
}
