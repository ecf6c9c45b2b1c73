/**
 * The enumerated flags of `tsnas search` and `tsnas repeat` (they override the same config
 * fields), with their allowed values; parse() (args.ts) rejects anything else naming the flag.
 */
import { DATASET_KINDS, ONESHOT_METHODS, SPACE_NAMES, STRATEGY_NAMES, evaluatorNames } from '../api/index.js';
import type { FlagSpec } from './args.js';

export const SEARCH_CHOICE_FLAGS: FlagSpec = {
  space: { type: 'string', choices: SPACE_NAMES },
  strategy: { type: 'string', choices: [...STRATEGY_NAMES, ...ONESHOT_METHODS] },
  evaluator: { type: 'string', choices: evaluatorNames() },
  direction: { type: 'string', choices: ['maximize', 'minimize'] },
  dataset: { type: 'string', choices: DATASET_KINDS },
};

/** The flags of `tsnas search`/`repeat` whose values parse() checks and that also become config fields. */
export const CONFIG_FLAGS: ReadonlySet<string> = new Set([...Object.keys(SEARCH_CHOICE_FLAGS), 'header']);
