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
  direction: { type: 'string', choices: ['maximize', 'minimize'], list: true },
  dataset: { type: 'string', choices: DATASET_KINDS },
};

/** The flags of `tsnas search`/`repeat` whose values parse() checks and that also become config fields. */
export const CONFIG_FLAGS: ReadonlySet<string> = new Set([...Object.keys(SEARCH_CHOICE_FLAGS), 'header']);

/**
 * The config field each of those flags sets: when a flag's value was refused, the config built
 * from the flags is still checked (every problem in one list), leaving out its problems on these
 * fields (the same mistake again, Issues.takeBeyond).
 */
export const CONFIG_FLAG_FIELDS: Readonly<Record<string, string>> = {
  space: 'space',
  strategy: 'strategy',
  evaluator: 'evaluator',
  direction: 'objectives',
  dataset: 'evaluator',
  header: 'evaluator.header',
};

/** The config fields of the refused flags in `bad` (Parsed.bad). */
export function badConfigFields(bad: ReadonlySet<string>): string[] {
  return [...bad].flatMap((k) => (CONFIG_FLAG_FIELDS[k] === undefined ? [] : [CONFIG_FLAG_FIELDS[k]!]));
}
