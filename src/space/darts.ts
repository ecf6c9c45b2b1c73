/** The DARTS cell space (Liu et al. 2019): normal + reduction cell, 4 intermediate nodes, 2 inputs each, 8 ops. */
import { DARTS_OPS } from '../core/arch.js';
import { cell, constant, struct } from './dsl.js';
import { defineSpace } from './space.js';

export const dartsCellDef = cell({ inputs: 2, nodes: 4, degree: 2, ops: DARTS_OPS, zeroOp: 'none' });
export const dartsDef = struct({ family: constant('darts'), normal: dartsCellDef, reduce: dartsCellDef });
export const dartsSpace = defineSpace('darts', dartsDef);
