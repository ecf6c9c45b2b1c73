/**
 * ONNX exporters for the blocks of the network families (src/nn/build): each mirrors its
 * module's forward(), node for node.
 */
import { NasError } from '../../core/errors.js';
import type { DartsOp, Nb201Op } from '../../core/arch.js';
import { ChainBlock, ChainCnnNet } from '../build/chain.js';
import { Zero } from '../build/common.js';
import { DartsNet, DartsNetCell, FactorizedReduce } from '../build/darts.js';
import { Nb201Cell, Nb201Net, Nb201ResBlock } from '../build/nb201.js';
import { exporter, type ExporterEntry, type OnnxContext, type OnnxValue } from './types.js';
import { attr } from './proto.js';

/** x * 0 (not a constant zero: NaN/Inf propagate as in the tsnas and PyTorch forward). */
const times0 = (x: OnnxValue, ctx: OnnxContext): OnnxValue => ctx.node('Mul', [x, ctx.constant('zero', [0], [])], x.rank);

/** x[:, :, start::step, start::step] of a 4-D value. */
function sliceHw(x: OnnxValue, start: number, step: number, ctx: OnnxContext): OnnxValue {
  const c = (k: string, v: number) => ctx.constant(k, [v, v], [2], 'int64');
  // ends = INT64_MAX: "to the end" (clamped by the runtime).
  return ctx.node('Slice', [x, c(`slice_start${start}`, start), ctx.constant('slice_end', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], [2], 'int64'), ctx.constant('slice_axes_hw', [2, 3], [2], 'int64'), c(`slice_step${step}`, step)], 4);
}

/** Edge e of an NB201 cell goes from node EDGE_FROM[e] into node EDGE_TO[e] (as in nb201.ts). */
const EDGE_FROM: readonly number[] = [0, 0, 1, 0, 1, 2];
const EDGE_TO: readonly number[] = [1, 2, 2, 3, 3, 3];

function nb201Cell(m: Nb201Cell, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  const nodes: OnnxValue[] = [x!];
  let acc: OnnxValue | undefined;
  for (let e = 0; e < 6; e++) {
    // As Nb201Cell.forward: `none` edges are skipped unless a node would have no input at all.
    const op = m.arch.ops[e] as Nb201Op;
    const from = nodes[EDGE_FROM[e]!]!;
    if (op !== 'none') {
      const y = ctx.call(m.ops.at(e), from);
      acc = acc === undefined ? y : ctx.node('Add', [acc, y], 4);
    }
    if (e === 5 || EDGE_TO[e + 1] !== EDGE_TO[e]) {
      nodes.push(acc ?? ctx.call(m.ops.at(e), from));
      acc = undefined;
    }
  }
  return nodes[3]!;
}

/** ChainBlock keeps `residual` private; read here with a loud failure if the field changes. */
function isResidual(m: ChainBlock): boolean {
  const r = (m as unknown as { residual?: unknown }).residual;
  if (typeof r !== 'boolean') throw new NasError('internal', 'ChainBlock no longer has the `residual` field the ONNX exporter reads');
  return r;
}

function dartsCell(m: DartsNetCell, [s0, s1]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  const states = [ctx.call(m.preprocess0, s0!), ctx.call(m.preprocess1, s1!)];
  const edge = (i: number): OnnxValue => {
    const e = m.cell.edges[i]!;
    const x = states[e.input]!;
    const op: DartsOp = e.op;
    if (op !== 'none') return ctx.call(m.ops.at(i), x);
    // ZeroStrided: x[:, :, ::s, ::s] * 0 with s = 2 on a reduction cell's inputs.
    return times0(m.reduction && e.input < 2 ? sliceHw(x, 0, 2, ctx) : x, ctx);
  };
  for (let k = 0; k < 4; k++) states.push(ctx.node('Add', [edge(2 * k), edge(2 * k + 1)], 4));
  return ctx.node('Concat', states.slice(2), 4, { axis: attr.int(1) });
}

export const BUILD_EXPORTERS: readonly ExporterEntry[] = [
  exporter(Zero, (_m, [x], ctx) => times0(x!, ctx)),
  exporter(ChainBlock, (m, [x], ctx) => {
    let y = ctx.call(m.body, x!);
    if (isResidual(m)) y = ctx.node('Add', [y, m.proj ? ctx.call(m.proj, x!) : x!], 4);
    return m.pool ? ctx.call(m.pool, y) : y;
  }),
  exporter(ChainCnnNet, (m, [x], ctx) => {
    let y = x!;
    for (const l of m.layers) y = ctx.call(l, y);
    return ctx.call(m.head, y);
  }),
  exporter(Nb201Cell, nb201Cell),
  exporter(Nb201ResBlock, (m, [x], ctx) => ctx.node('Add', [ctx.call(m.down, x!), ctx.call(m.b, ctx.call(m.a, x!))], 4)),
  exporter(Nb201Net, (m, [x], ctx) => ctx.call(m.net, x!)),
  exporter(FactorizedReduce, (m, [x], ctx) => {
    const r = ctx.node('Relu', [x!], 4);
    const cat = ctx.node('Concat', [ctx.call(m.conv1, r), ctx.call(m.conv2, sliceHw(r, 1, 1, ctx))], 4, { axis: attr.int(1) });
    return ctx.call(m.bn, cat);
  }),
  exporter(DartsNetCell, dartsCell),
  exporter(DartsNet, (m, [x], ctx) => {
    let s0 = ctx.call(m.stem, x!);
    let s1 = s0;
    for (const c of m.cells) [s0, s1] = [s1, ctx.call(c, s0, s1)];
    // DartsNet.pool is AdaptiveAvgPool2d(1), not a registered child: emitted here.
    const pooled = ctx.node('Flatten', [ctx.node('GlobalAveragePool', [s1], 4)], 2, { axis: attr.int(1) });
    return ctx.call(m.classifier, pooled);
  }),
];
