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
export type HparamsDef = typeof hparamsDef;

/**
 * Training hyperparameters for small tabular data (`joint_mlp_small`): batches of 16-128 rows,
 * learning rates up to 0.1, and L2 weight decay up to 0.1. Few rows need strong regularisation:
 * scikit-learn's LogisticRegression(C) on the mean loss is weight decay 1/(C n) for n rows, so
 * C = 0.1 on 113 rows is ~0.09, beyond joint_mlp's 1e-2.
 */
export const smallHparamsDef = struct({
  optimizer: choice(['sgd', 'adam', 'adamw']),
  lr: float(1e-4, 0.1, { log: true }),
  batchSize: choice([16, 32, 64, 128]),
  weightDecay: float(1e-6, 0.1, { log: true }),
  momentum: conditional({ field: 'optimizer', in: ['sgd'] }, float(0.8, 0.99)),
});

export function jointDef<D extends ParamDef, H extends ParamDef = HparamsDef>(arch: D, hparams: H = hparamsDef as unknown as H) {
  return struct({ arch, hparams });
}
export type JointDef<D extends ParamDef, H extends ParamDef = HparamsDef> = ReturnType<typeof jointDef<D, H>>;

/**
 * `joint_<name>` (or `opts.name`): `archSpace` searched together with training hyperparameters
 * (`opts.hparams`, default hparamsDef); keeps the architecture space's symmetries.
 */
export function jointSpace<D extends ParamDef, H extends ParamDef = HparamsDef>(
  archSpace: Space<ArchOf<D>, D>,
  opts: { readonly name?: string; readonly hparams?: H } = {},
): Space<ArchOf<JointDef<D, H>>, JointDef<D, H>> {
  const h = (opts.hparams ?? hparamsDef) as H;
  const def = jointDef(archSpace.def, h);
  return defineSpace(opts.name ?? `joint_${archSpace.name}`, def, {
    canonical: (a) => {
      const v = a as unknown as { arch: ArchOf<D>; hparams: unknown };
      return { arch: archSpace.key(v.arch), hparams: canonicalValue(h, v.hparams) };
    },
  });
}
