/** Built-in spaces by name. */
import { didYouMean } from '../core/suggest.js';
import { NasError } from '../core/errors.js';
import { chainCnnSpace } from './chain-cnn.js';
import { dartsSpace } from './darts.js';
import { jointSpace, smallHparamsDef } from './joint.js';
import { mlpSmallSpace, mlpSpace } from './mlp.js';
import { nb201Space } from './nb201.js';
import type { Space } from './space.js';

export const SPACES = {
  chain_cnn: chainCnnSpace,
  nb201: nb201Space,
  darts: dartsSpace,
  mlp: mlpSpace,
  mlp_small: mlpSmallSpace,
  joint_chain_cnn: jointSpace(chainCnnSpace),
  joint_nb201: jointSpace(nb201Space),
  joint_darts: jointSpace(dartsSpace),
  joint_mlp: jointSpace(mlpSpace),
  joint_mlp_small: jointSpace(mlpSmallSpace, { hparams: smallHparamsDef }),
} as const;

export type SpaceName = keyof typeof SPACES;
export const SPACE_NAMES = Object.keys(SPACES) as SpaceName[];

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;
/** The typed space for a literal name; `Space<unknown>` for a union of names or a plain string. */
export type SpaceOf<N extends SpaceName> = true extends IsUnion<N> ? Space<unknown> : (typeof SPACES)[N];

export function getSpace<N extends SpaceName>(name: N): SpaceOf<N>;
export function getSpace(name: string): Space<unknown>;
export function getSpace(name: string): Space<unknown> {
  if (!Object.hasOwn(SPACES, name))
    throw new NasError('unknown_space', `unknown search space ${JSON.stringify(name)}${didYouMean(name, SPACE_NAMES)}`, { field: 'space', hint: `use one of: ${SPACE_NAMES.join(', ')}` });
  return SPACES[name as SpaceName] as unknown as Space<unknown>;
}
