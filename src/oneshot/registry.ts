/**
 * Which spaces have a supernet (nb201 and chain_cnn: every method; darts: darts, darts2, gdas), and building it. Spaces without one (mlp, the joint_* spaces with
 * their hyperparameters) cannot be searched by a one-shot method: `invalid_config` naming `space`.
 */
import { NasError } from '../core/errors.js';
import type { InputSpec } from '../nn/build/analyze.js';
import type { Generator } from '../tensor/index.js';
import { chainSupernet } from './chain.js';
import { dartsSupernet } from './darts-cell.js';
import { nb201Supernet } from './nb201.js';
import type { OneShotMethodName, OneShotOptions } from './options.js';
import type { Supernet } from './supernet.js';

export const ONESHOT_SPACES = ['nb201', 'darts', 'chain_cnn'] as const;

/** The supernet factory of `space` for `method`, or an `invalid_config` error naming `field`. */
export function supernetFactory(space: string, method: OneShotMethodName, o: OneShotOptions, field = 'space'): (input: InputSpec, gen: Generator) => Supernet<unknown> {
  switch (space) {
    case 'nb201':
      return (input, gen) => nb201Supernet(input, gen, { width: o.width, cells: o.cells }) as Supernet<unknown>;
    case 'darts':
      if (method === 'spos')
        throw new NasError('invalid_config', 'spos samples one op per edge; a DARTS cell path must also pick 2 inputs per node, which this SPOS does not sample', {
          field: 'strategy.name',
          hint: 'search the darts space with darts, darts2 or gdas, or use spos on nb201',
        });
      return (input, gen) => dartsSupernet(input, gen, { width: o.width, layers: o.layers }) as Supernet<unknown>;
    case 'chain_cnn':
      return (input, gen) => chainSupernet(input, gen, { layers: o.layers }) as Supernet<unknown>;
    default:
      throw new NasError('invalid_config', `one-shot method ${method} needs a supernet of the search space; space ${JSON.stringify(space)} has none`, {
        field,
        hint: `use one of: ${ONESHOT_SPACES.join(', ')} (or a multi-trial strategy for ${space})`,
      });
  }
}
