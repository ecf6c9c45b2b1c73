/**
 * Evaluators and spaces that the API adds beside the built-in registries: the training evaluator
 * (`train`, real training on a dataset) and the main job's constrained joint space.
 */
import type { JsonObject } from '../core/json.js';
import type { Evaluator } from '../eval/types.js';
import type { Space } from '../space/space.js';
import { MAIN_SPACE_NAME, mainSpace } from './main-space.js';
import { trainEvaluatorFactory } from './train-evaluator.js';
import { proxyEvaluatorFactory } from './proxy-parts.js';
import type { DataNotes } from '../data/prepare.js';

export type EvaluatorFactory = (
  options: JsonObject,
  baseDir: string,
  space: Space<unknown>,
) => { evaluator: Evaluator<unknown>; options: JsonObject; ready?: () => Promise<DataNotes> };

export const EXTRA_EVALUATORS: Record<string, EvaluatorFactory> = {
  train: trainEvaluatorFactory,
  proxy: proxyEvaluatorFactory,
};
export const EXTRA_SPACES: Record<string, () => Space<unknown>> = {
  [MAIN_SPACE_NAME]: () => mainSpace() as unknown as Space<unknown>,
};
