/**
 * Evaluators and spaces that the API adds beside the built-in registries: the training evaluator
 * (`train`, real training on a dataset) and the main job's constrained joint space.
 */
import type { JsonObject } from '../core/json.js';
import type { Evaluator } from '../eval/types.js';
import type { Space } from '../space/space.js';

export type EvaluatorFactory = (
  options: JsonObject,
  baseDir: string,
  space: Space<unknown>,
) => { evaluator: Evaluator<unknown>; options: JsonObject };

export const EXTRA_EVALUATORS: Record<string, EvaluatorFactory> = {};
export const EXTRA_SPACES: Record<string, () => Space<unknown>> = {};
