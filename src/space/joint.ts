/** Joint spaces: an architecture plus its training hyperparameters (values assignable to JointArch). */
import { choice, conditional, float, struct, type ArchOf, type ParamDef } from './dsl.js';
import { canonicalValue } from './engine.js';
import { defineSpace, type Space } from './space.js';

export const hparamsDef = struct({
  optimizer: choice(['sgd', 'adam', 'adamw']),
  lr: float(1e-4, 0.3, { log: true }),
  batchSize: choice([32, 64, 128, 256]),
  weightDecay: float(1e-6, 1e-2, { log: true }),
  momentum: conditional({ field: 'optimizer', in: ['sgd'] }, float(0.8, 0.99)),
});

export function jointDef<D extends ParamDef>(arch: D) {
  return struct({ arch, hparams: hparamsDef });
}
export type JointDef<D extends ParamDef> = ReturnType<typeof jointDef<D>>;

/** `joint_<name>`: `archSpace` searched together with training hyperparameters; keeps its symmetries. */
export function jointSpace<D extends ParamDef>(archSpace: Space<ArchOf<D>, D>): Space<ArchOf<JointDef<D>>, JointDef<D>> {
  const def = jointDef(archSpace.def);
  return defineSpace(`joint_${archSpace.name}`, def, {
    canonical: (a) => {
      const v = a as unknown as { arch: ArchOf<D>; hparams: unknown };
      return { arch: archSpace.key(v.arch), hparams: canonicalValue(hparamsDef, v.hparams) };
    },
  });
}
