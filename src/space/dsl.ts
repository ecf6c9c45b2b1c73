/**
 * The search-space DSL: a space is plain data (a tree of definitions tagged by `kind`), and the
 * architecture type is inferred from it, zod-style:
 *
 *   const def = struct({ family: constant('nb201'), ops: dag({ nodes: 4, ops: NB201_OPS }) });
 *   type A = ArchOf<typeof def>; // { readonly family: 'nb201'; readonly ops: readonly [Op, Op, Op, Op, Op, Op] }
 *
 * Definitions say what may be searched; src/space/engine.ts gives them behaviour (sample, mutate,
 * crossover, neighbours, canonical keys, encodings, validation) and src/space/space.ts wraps both
 * into a `Space<A>`. The constructors below check their arguments and throw `invalid_space`.
 */
import { NasError } from '../core/errors.js';

export type Scalar = string | number | boolean;

/** Categorical choice among listed values (strings, numbers or booleans). */
export interface ChoiceDef<V extends Scalar = Scalar> {
  readonly kind: 'choice';
  readonly options: readonly V[];
}
/** A fixed value (e.g. the `family` tag); not searched, but validated. */
export interface ConstDef<V extends Scalar = Scalar> {
  readonly kind: 'const';
  readonly value: V;
}
/** Integer in [min, max] on a grid of `step` (default 1); `log` samples log-uniformly (min >= 1). */
export interface IntDef {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly step?: number;
  readonly log?: boolean;
}
/** Real number in [min, max]; `log` samples and mutates on a log scale (min > 0). */
export interface FloatDef {
  readonly kind: 'float';
  readonly min: number;
  readonly max: number;
  readonly log?: boolean;
}
/**
 * A dense cell DAG (NAS-Bench-201 style): `nodes` nodes, node 0 the input and node nodes-1 the
 * output; every pair i < j has an edge carrying one op. Edges are ordered by target then source:
 * (0->1), (0->2), (1->2), (0->3), (1->3), (2->3), ... The value is the op per edge.
 * `zeroOp` (an op that outputs zeros, e.g. 'none') and `identityOp` (e.g. 'skip_connect') let the
 * canonical key merge architectures that compute the same function.
 */
export interface DagDef<Op extends string = string, N extends number = number> {
  readonly kind: 'dag';
  readonly nodes: N;
  readonly ops: readonly Op[];
  readonly zeroOp?: Op;
  readonly identityOp?: Op;
}
/**
 * A cell with input choices (DARTS/ENAS style): `inputs` cell inputs (nodes 0..inputs-1), then
 * `nodes` intermediate nodes; each intermediate node picks `degree` edges, each an (earlier node,
 * op) pair. The cell output concatenates all intermediate nodes. The value lists the edges
 * node-major: edges[k*degree + d].
 */
export interface CellDef<Op extends string = string> {
  readonly kind: 'cell';
  readonly inputs: number;
  readonly nodes: number;
  readonly degree: number;
  readonly ops: readonly Op[];
  readonly zeroOp?: Op;
}
/** A variable-length sequence of `item`, between `min` and `max` long. */
export interface RepeatDef<I extends ParamDef = ParamDef> {
  readonly kind: 'repeat';
  readonly item: I;
  readonly min: number;
  readonly max: number;
}
/** An object with named fields; fields may be `conditional`. */
export interface StructDef<F extends Readonly<Record<string, FieldDef>> = Readonly<Record<string, FieldDef>>> {
  readonly kind: 'struct';
  readonly fields: F;
}
/**
 * A struct field that exists only while a sibling field (a choice or const) has one of the listed
 * values, e.g. `momentum` only when `optimizer` is 'sgd'. Its inferred type is an optional property.
 */
export interface ConditionalDef<P extends ParamDef = ParamDef> {
  readonly kind: 'conditional';
  readonly when: { readonly field: string; readonly in: readonly Scalar[] };
  readonly then: P;
}

export type ParamDef = ChoiceDef | ConstDef | IntDef | FloatDef | DagDef | CellDef | RepeatDef | StructDef;
export type FieldDef = ParamDef | ConditionalDef;

// ---- type inference ----------------------------------------------------------------------------

type Tuple<T, N extends number, Acc extends readonly T[] = []> = Acc['length'] extends N ? Acc : Tuple<T, N, readonly [...Acc, T]>;
/** Edges of a dense DAG with N nodes: N(N-1)/2 (tabulated; larger DAGs infer an array). */
interface DagEdgeCount {
  2: 1;
  3: 3;
  4: 6;
  5: 10;
  6: 15;
  7: 21;
}
export type DagValue<Op extends string, N extends number> = N extends keyof DagEdgeCount ? Tuple<Op, DagEdgeCount[N]> : readonly Op[];
export interface CellEdge<Op extends string = string> {
  readonly op: Op;
  readonly input: number;
}
export interface CellValue<Op extends string = string> {
  readonly edges: readonly CellEdge<Op>[];
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<F> = { [K in keyof F]: F[K] extends ConditionalDef ? never : K }[keyof F];
type OptionalKeys<F> = { [K in keyof F]: F[K] extends ConditionalDef ? K : never }[keyof F];
type StructValue<F> = Simplify<
  { readonly [K in RequiredKeys<F>]: ArchOf<F[K]> } & {
    readonly [K in OptionalKeys<F>]?: F[K] extends ConditionalDef<infer P> ? ArchOf<P> : never;
  }
>;

/** The value type a definition describes. */
export type ArchOf<D> = D extends ChoiceDef<infer V>
  ? V
  : D extends ConstDef<infer V>
    ? V
    : D extends IntDef | FloatDef
      ? number
      : D extends DagDef<infer Op, infer N>
        ? DagValue<Op, N>
        : D extends CellDef<infer Op>
          ? CellValue<Op>
          : D extends RepeatDef<infer I>
            ? readonly ArchOf<I>[]
            : D extends StructDef<infer F>
              ? StructValue<F>
              : never;

// ---- constructors ------------------------------------------------------------------------------

function bad(message: string, field: string, hint?: string): never {
  throw new NasError('invalid_space', message, { field, ...(hint ? { hint } : {}) });
}
function finite(x: number, field: string): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) bad(`must be a finite number, got ${String(x)}`, field);
}

export function choice<const V extends readonly Scalar[]>(options: V): ChoiceDef<V[number]> {
  if (!Array.isArray(options) || options.length === 0) bad('a choice needs at least one option', 'options', 'list the allowed values');
  const seen = new Set<Scalar>();
  options.forEach((o, i) => {
    if (!['string', 'number', 'boolean'].includes(typeof o)) bad(`options must be strings, numbers or booleans`, `options[${i}]`);
    if (seen.has(o)) bad(`duplicate option ${JSON.stringify(o)}`, `options[${i}]`);
    seen.add(o);
  });
  return { kind: 'choice', options };
}
export const bool = (): ChoiceDef<boolean> => ({ kind: 'choice', options: [false, true] });
export function constant<const V extends Scalar>(value: V): ConstDef<V> {
  return { kind: 'const', value };
}
export function int(min: number, max: number, opts: { step?: number; log?: boolean } = {}): IntDef {
  finite(min, 'min');
  finite(max, 'max');
  if (!Number.isInteger(min) || !Number.isInteger(max)) bad('int bounds must be integers', 'min');
  if (max < min) bad(`max ${max} < min ${min}`, 'max');
  if (opts.step !== undefined && !(Number.isInteger(opts.step) && opts.step >= 1)) bad('step must be an integer >= 1', 'step');
  if (opts.log && min < 1) bad('a log-scale int needs min >= 1', 'min');
  return { kind: 'int', min, max, ...opts };
}
export function float(min: number, max: number, opts: { log?: boolean } = {}): FloatDef {
  finite(min, 'min');
  finite(max, 'max');
  if (max < min) bad(`max ${max} < min ${min}`, 'max');
  if (opts.log && !(min > 0)) bad('a log-scale float needs min > 0', 'min');
  return { kind: 'float', min, max, ...opts };
}
export function dag<const Op extends string, const N extends number>(d: {
  nodes: N;
  ops: readonly Op[];
  zeroOp?: Op;
  identityOp?: Op;
}): DagDef<Op, N> {
  if (!Number.isInteger(d.nodes) || d.nodes < 2) bad('a dag needs an integer number of nodes >= 2', 'nodes');
  if (!d.ops?.length) bad('a dag needs at least one op', 'ops', 'list the candidate operations');
  if (new Set(d.ops).size !== d.ops.length) bad('duplicate op', 'ops');
  if (d.zeroOp !== undefined && !d.ops.includes(d.zeroOp)) bad(`zeroOp ${d.zeroOp} is not among the ops`, 'zeroOp');
  if (d.identityOp !== undefined && !d.ops.includes(d.identityOp)) bad(`identityOp ${d.identityOp} is not among the ops`, 'identityOp');
  return { kind: 'dag', ...d };
}
export function cell<const Op extends string>(d: { inputs: number; nodes: number; degree: number; ops: readonly Op[]; zeroOp?: Op }): CellDef<Op> {
  for (const k of ['inputs', 'nodes', 'degree'] as const)
    if (!Number.isInteger(d[k]) || d[k] < 1) bad(`${k} must be an integer >= 1`, k);
  if (d.degree > d.inputs) bad(`degree ${d.degree} > inputs ${d.inputs}: the first node cannot pick that many distinct inputs`, 'degree');
  if (!d.ops?.length) bad('a cell needs at least one op', 'ops', 'list the candidate operations');
  if (new Set(d.ops).size !== d.ops.length) bad('duplicate op', 'ops');
  if (d.zeroOp !== undefined && !d.ops.includes(d.zeroOp)) bad(`zeroOp ${d.zeroOp} is not among the ops`, 'zeroOp');
  return { kind: 'cell', ...d };
}
export function repeat<I extends ParamDef>(item: I, min: number, max: number): RepeatDef<I> {
  if (!Number.isInteger(min) || min < 0) bad('min must be an integer >= 0', 'min');
  if (!Number.isInteger(max) || max < min || max < 1) bad(`max must be an integer >= max(min, 1), got ${max}`, 'max');
  return { kind: 'repeat', item, min, max };
}
export function struct<const F extends Readonly<Record<string, FieldDef>>>(fields: F): StructDef<F> {
  for (const [name, f] of Object.entries(fields)) {
    if (f.kind !== 'conditional') continue;
    const target = fields[f.when.field];
    if (!target || target.kind === 'conditional')
      bad(`condition refers to ${JSON.stringify(f.when.field)}, which is not a plain sibling field`, `${name}.when.field`, `use one of: ${Object.keys(fields).join(', ')}`);
    if (target.kind !== 'choice' && target.kind !== 'const') bad(`condition field must be a choice or const`, `${name}.when.field`);
    const allowed = target.kind === 'choice' ? target.options : [target.value];
    f.when.in.forEach((v, i) => {
      if (!allowed.includes(v)) bad(`${JSON.stringify(v)} is not a value of ${f.when.field}`, `${name}.when.in[${i}]`, `use one of: ${allowed.join(', ')}`);
    });
  }
  return { kind: 'struct', fields };
}
export function conditional<P extends ParamDef>(when: { field: string; in: readonly Scalar[] }, then: P): ConditionalDef<P> {
  if (!when.in?.length) bad('a condition needs at least one value', 'when.in');
  return { kind: 'conditional', when, then };
}
