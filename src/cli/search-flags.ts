/**
 * The enumerated flags of `tsnas search` and `tsnas repeat` (they override the same config
 * fields), with their allowed values; parse() (args.ts) rejects anything else naming the flag.
 */
import { DATASET_KINDS, ONESHOT_METHODS, SPACE_NAMES, STRATEGY_NAMES, evaluatorNames } from '../api/index.js';
import { NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, type FlagSpec } from './args.js';
import { CONFIG_FIELD_FLAGS, EVALUATOR_NUMBER_FLAGS } from '../api/config.js';
import { DATASET_SYNONYMS, DIRECTION_SYNONYMS, HEADER_SYNONYMS, STRATEGY_SYNONYMS } from '../core/synonyms.js';

export const SEARCH_CHOICE_FLAGS: FlagSpec = {
  space: { type: 'string', choices: SPACE_NAMES },
  strategy: { type: 'string', choices: [...STRATEGY_NAMES, ...ONESHOT_METHODS], synonyms: STRATEGY_SYNONYMS },
  evaluator: { type: 'string', choices: evaluatorNames() },
  direction: { type: 'string', choices: ['maximize', 'minimize'], list: true, synonyms: DIRECTION_SYNONYMS },
  dataset: { type: 'string', choices: DATASET_KINDS, synonyms: DATASET_SYNONYMS },
  header: { type: 'string', choices: ['auto', 'true', 'false'], synonyms: HEADER_SYNONYMS },
};

/**
 * The train evaluator's flags of `tsnas search`/`repeat`, with `tsnas train`'s names and ranges
 * (`--epochs 2` instead of a config file for a small trained search); they set the evaluator's
 * options of the same names (configFromFlags).
 */
export const SEARCH_EVALUATOR_FLAGS: FlagSpec = {
  epochs: { type: 'string', number: POSITIVE_INT },
  'train-per-class': { type: 'string', number: POSITIVE_INT },
  threads: { type: 'string', number: POSITIVE_INT },
  'time-limit': { type: 'string', number: POSITIVE },
  'split-seed': { type: 'string', number: NON_NEGATIVE_INT },
};

/** The flags of `tsnas search`/`repeat` whose values parse() checks and that also become config fields. */
export const CONFIG_FLAGS: ReadonlySet<string> = new Set([...Object.keys(SEARCH_CHOICE_FLAGS), ...Object.keys(SEARCH_EVALUATOR_FLAGS)]);

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
  ...Object.fromEntries(EVALUATOR_NUMBER_FLAGS.map(([flag, key]) => [flag, `evaluator.${key}`])),
};

/**
 * The config fields of the refused flags in `bad` (Parsed.bad), and the flags of those fields and
 * of the fields inside them: prepareSearch names a field the flags set by its flag
 * (withFlagNames), so a refused --dataset leaves out `--path` problems as well as `evaluator.*` ones.
 */
export function badConfigFields(bad: ReadonlySet<string>): string[] {
  return [...bad].flatMap((k) => {
    const field = CONFIG_FLAG_FIELDS[k];
    if (field === undefined) return [];
    const inside = Object.entries(CONFIG_FIELD_FLAGS).filter(([f]) => f === field || f.startsWith(`${field}.`) || f.startsWith(`${field}[`));
    return [field, `--${k}`, ...inside.map(([, flag]) => `--${flag}`)];
  });
}
