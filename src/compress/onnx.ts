/**
 * ONNX export of compressed models (opset 13, the encoder of src/nn/onnx/proto.ts).
 *
 * Float and pruned networks (GraphNet): through exportOnnx with one exporter for GraphNet, which
 * emits the graph's nodes and calls the layer exporters (Conv2d, BatchNorm, Linear, Dropout) for
 * its weighted nodes.
 *
 * Int8 networks (QuantizedNet): a QDQ graph, the format onnxruntime's quantizer writes and its
 * graph optimizer turns into QLinearConv/QLinearMatMul kernels: every int8 activation is followed
 * by QuantizeLinear -> DequantizeLinear with the calibrated (scale, zero point); weights are int8
 * initializers with per-output-channel scales behind DequantizeLinear(axis=0); conv biases are
 * int32 with scale s_in * s_w (PyTorch/ORT convention). GELU/SiLU/tanh/sigmoid, which tsnas runs
 * in int8 by table, are DequantizeLinear -> float op -> QuantizeLinear/DequantizeLinear with the
 * activation's own parameters (what the table computes); ops that run in float in tsnas (a
 * standalone batch norm...) are float ops here too. Dynamic int8 models export their
 * int8 linear weights behind DequantizeLinear and float activations (ONNX's dynamic path would
 * need MatMulInteger; the weights, the part dynamic quantization changes, are the same).
 */
import { NasError, assertNever } from '../core/errors.js';
import { exportOnnx, exporter, ONNX_IR_VERSION, ONNX_OPSET, type OnnxContext, type OnnxValue } from '../nn/onnx/export.js';
import { attr, encodeModel, type NodeDef, type TensorDef } from '../nn/onnx/proto.js';
import { noGrad, tidy } from '../tensor/index.js';
import type { GraphNode, Pair } from './graph.js';
import { GraphNet } from './graphnet.js';
import type { QuantizedNet } from './quantize.js';

export interface CompressedOnnxOptions {
  readonly name?: string;
  /** Input preprocessing `x * a + b` per channel (the training normalisation): the model takes raw values. */
  readonly inputAffine?: { readonly a: ArrayLike<number>; readonly b: ArrayLike<number> };
  readonly metadata?: Readonly<Record<string, string>>;
}

const pads = (p: Pair) => [p[0], p[1], p[0], p[1]];

function graphNode(n: GraphNode, i: number, v: OnnxValue[], ctx: OnnxContext, net: GraphNet): OnnxValue {
  const c = (k: string, vals: number[], dims: number[], t: 'float' | 'int64' = 'float') => ctx.constant(k, vals, dims, t);
  switch (n.kind) {
    case 'conv':
    case 'bn':
    case 'linear':
    case 'dropout':
      return ctx.call(net.layers.get(i)!, v[n.input]!);
    case 'act':
      return floatAct(n.fn, v[n.input]!, (op, ins, attrs) => ctx.node(op, ins, v[n.input]!.rank, attrs), c);
    case 'maxpool':
      return ctx.node('MaxPool', [v[n.input]!], 4, { kernel_shape: attr.ints(n.kernel), strides: attr.ints(n.stride), pads: attr.ints(pads(n.padding)) });
    case 'avgpool':
      return ctx.node('AveragePool', [v[n.input]!], 4, { kernel_shape: attr.ints(n.kernel), strides: attr.ints(n.stride), pads: attr.ints(pads(n.padding)), count_include_pad: attr.int(n.countIncludePad ?? true ? 1 : 0) });
    case 'gap':
      return ctx.node('GlobalAveragePool', [v[n.input]!], 4);
    case 'flatten':
      return ctx.node('Flatten', [v[n.input]!], 2, { axis: attr.int(1) });
    case 'add':
      return ctx.node('Add', [v[n.inputs[0]]!, v[n.inputs[1]]!], v[n.inputs[0]]!.rank);
    case 'cat':
      return ctx.node('Concat', n.inputs.map((k) => v[k]!), 4, { axis: attr.int(1) });
    case 'slice_hw':
      return ctx.node('Slice', [v[n.input]!, c(`s${n.start}`, [n.start, n.start], [2], 'int64'), c('send', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], [2], 'int64'), c('saxes', [2, 3], [2], 'int64'), c(`st${n.step}`, [n.step, n.step], [2], 'int64')], 4);
    case 'zero':
      return ctx.node('Mul', [v[n.input]!, c('zero', [0], [])], v[n.input]!.rank);
    default:
      return assertNever(n, 'graph node');
  }
}

type Emit = (op: string, inputs: readonly (OnnxValue | string)[], attrs?: Record<string, ReturnType<typeof attr.int>>) => OnnxValue;

/** Activations as opset-13 ops (GELU exact via Erf, SiLU = x * sigmoid(x)), as src/nn/onnx/layers.ts. */
function floatAct(fn: 'relu' | 'gelu' | 'silu' | 'tanh' | 'sigmoid', x: OnnxValue, node: Emit, c: (k: string, v: number[], d: number[]) => string): OnnxValue {
  switch (fn) {
    case 'relu':
      return node('Relu', [x]);
    case 'tanh':
      return node('Tanh', [x]);
    case 'sigmoid':
      return node('Sigmoid', [x]);
    case 'silu':
      return node('Mul', [x, node('Sigmoid', [x])]);
    case 'gelu': {
      const e = node('Erf', [node('Div', [x, c('sqrt2', [Math.SQRT2], [])])]);
      return node('Mul', [node('Mul', [x, c('half', [0.5], [])]), node('Add', [e, c('one', [1], [])])]);
    }
    default:
      return assertNever(fn, 'activation');
  }
}

const GRAPH_EXPORTER = exporter(GraphNet, (m, [x], ctx) => {
  const v: OnnxValue[] = [x!];
  m.graph.nodes.forEach((n, i) => v.push(graphNode(n, i, v, ctx, m)));
  return v[m.graph.output]!;
});

/** ONNX bytes of a float or pruned GraphNet (inputs [batch, ...inputShape]). */
export function exportGraphOnnx(net: GraphNet, o: CompressedOnnxOptions = {}): Uint8Array {
  return exportOnnx(net, net.graph.inputShape, { exporters: [GRAPH_EXPORTER], ...(o.name ? { name: o.name } : {}), ...(o.inputAffine ? { inputAffine: o.inputAffine } : {}), ...(o.metadata ? { metadata: o.metadata } : {}) });
}

/** ONNX bytes of an int8 network as a QDQ graph (see the file comment). */
export function exportQuantizedOnnx(qn: QuantizedNet, o: CompressedOnnxOptions = {}): Uint8Array {
  const f = qn.fused;
  const nodes: NodeDef[] = [];
  const inits: TensorDef[] = [];
  let counter = 0;
  const fresh = (base: string) => `${base}_${counter++}`;
  const node = (op: string, inputs: readonly string[], attrs?: NodeDef['attributes']): string => {
    const out = fresh(op);
    nodes.push({ opType: op, name: out, inputs, outputs: [out], ...(attrs ? { attributes: attrs } : {}) });
    return out;
  };
  const init = (base: string, t: Omit<TensorDef, 'name'>): string => {
    const name = fresh(base);
    inits.push({ name, ...t });
    return name;
  };
  const fconst = (base: string, vals: ArrayLike<number>, dims: number[]) => init(base, { dataType: 'float', dims, data: Float32Array.from(vals) });
  const qdq = (x: string, p: { scale: number; zeroPoint: number }): string => {
    const s = fconst('scale', [p.scale], []);
    const z = init('zp', { dataType: 'uint8', dims: [], data: Uint8Array.of(p.zeroPoint) });
    return node('DequantizeLinear', [node('QuantizeLinear', [x, s, z]), s, z]);
  };
  const weightDq = (i: number): string => {
    const { data, shape, scales } = qn.int8Weight(i);
    const w = init(`w${i}`, { dataType: 'int8', dims: shape, data });
    const s = fconst(`w${i}_scale`, scales, scales.length > 1 ? [scales.length] : []);
    const z = init(`w${i}_zp`, { dataType: 'int8', dims: scales.length > 1 ? [scales.length] : [], data: new Int8Array(scales.length) });
    return node('DequantizeLinear', [w, s, z], scales.length > 1 ? { axis: attr.int(0) } : undefined);
  };
  const floatW = (i: number, k: string): Float32Array => tidy(() => noGrad(() => f.weights.get(i)!.get(k)!.toTypedArray() as Float32Array));

  let x = 'input';
  if (o.inputAffine) {
    const c = o.inputAffine.a.length;
    const dims = c === 1 ? [] : [c, ...new Array<number>(f.inputShape.length - 1).fill(1)];
    x = node('Add', [node('Mul', [x, fconst('input_scale', Array.from(o.inputAffine.a), dims)]), fconst('input_shift', Array.from(o.inputAffine.b), dims)]);
  }
  const stat = qn.mode === 'static';
  const qp = qn.qparams;
  const held = qn.held; // the parameters each int8 value is held with (a pool/ReLU keeps its input's)
  // Per value: its float name, and (static mode) its name after Q/DQ once made.
  const fv: string[] = [x];
  const qv: (string | undefined)[] = [];
  const getQ = (k: number): string => (stat ? (qv[k] ??= qdq(fv[k]!, qp![k]!)) : fv[k]!);
  const ctxConst = (k: string, v: number[], d: number[]) => fconst(k, v, d);
  f.nodes.forEach((n, i) => {
    const out = i + 1;
    const setQ = (name: string) => {
      fv[out] = name;
      qv[out] = name;
    };
    switch (n.kind) {
      case 'qconv': {
        const xin = getQ(n.input);
        let bias: string;
        const b = floatW(i, 'bias');
        if (stat) {
          const { scales } = qn.int8Weight(i);
          const sIn = held![n.input]!.scale;
          const bs = Float32Array.from(b, (_, c) => sIn * scales[scales.length > 1 ? c : 0]!); // per channel, or one scale (per tensor)
          const bq = Int32Array.from(b, (v, c) => Math.round(v / bs[c]!));
          bias = node('DequantizeLinear', [init(`b${i}`, { dataType: 'int32', dims: [b.length], data: bq }), fconst(`b${i}_scale`, bs, [b.length]), init(`b${i}_zp`, { dataType: 'int32', dims: [b.length], data: new Int32Array(b.length) })], { axis: attr.int(0) });
        } else bias = fconst(`b${i}`, b, [b.length]);
        const w = stat ? weightDq(i) : fconst(`w${i}`, floatW(i, 'weight'), [n.outC, n.inC / n.groups, n.kernel[0], n.kernel[1]]);
        let y = node('Conv', [xin, w, bias], { kernel_shape: attr.ints(n.kernel), strides: attr.ints(n.stride), pads: attr.ints(pads(n.padding)), dilations: attr.ints(n.dilation), group: attr.int(n.groups) });
        if (n.relu) y = node('Relu', [y]);
        if (stat) setQ(qdq(y, qp![out]!));
        else fv[out] = y;
        break;
      }
      case 'qlinear': {
        const xin = getQ(n.input);
        const b = fconst(`b${i}`, floatW(i, 'bias'), [n.outF]);
        let y = node('Gemm', [xin, weightDq(i), b], { transB: attr.int(1) });
        if (n.relu) y = node('Relu', [y]);
        if (stat) setQ(qdq(y, qp![out]!));
        else fv[out] = y;
        break;
      }
      case 'qadd': {
        let y = node('Add', [getQ(n.inputs[0]), getQ(n.inputs[1])]);
        if (n.relu) y = node('Relu', [y]);
        if (stat) setQ(qdq(y, qp![out]!));
        else fv[out] = y;
        break;
      }
      case 'cat': {
        const y = node('Concat', n.inputs.map(getQ), { axis: attr.int(1) });
        if (stat) setQ(qdq(y, qp![out]!));
        else fv[out] = y;
        break;
      }
      case 'act':
        if (stat && n.fn === 'relu') setQ(node('Relu', [getQ(n.input)]));
        else if (stat) setQ(qdq(floatAct(n.fn, { name: getQ(n.input), rank: 0 }, (op, ins) => ({ name: node(op, ins.map((e) => (typeof e === 'string' ? e : e.name))), rank: 0 }), ctxConst).name, qp![out]!)); // the int8 table: quantize(act(dequantize(x)))
        else fv[out] = floatAct(n.fn, { name: fv[n.input]!, rank: 0 }, (op, ins) => ({ name: node(op, ins.map((e) => (typeof e === 'string' ? e : e.name))), rank: 0 }), ctxConst).name;
        break;
      case 'maxpool': {
        const y = node('MaxPool', [getQ(n.input)], { kernel_shape: attr.ints(n.kernel), strides: attr.ints(n.stride), pads: attr.ints(pads(n.padding)) });
        if (stat) setQ(y);
        else fv[out] = y;
        break;
      }
      case 'avgpool':
      case 'gap': {
        const y =
          n.kind === 'gap'
            ? node('GlobalAveragePool', [getQ(n.input)])
            : node('AveragePool', [getQ(n.input)], { kernel_shape: attr.ints(n.kernel), strides: attr.ints(n.stride), pads: attr.ints(pads(n.padding)), count_include_pad: attr.int(n.countIncludePad ?? true ? 1 : 0) });
        // The int8 average requantizes to its input's parameters.
        if (stat) setQ(qdq(y, held![n.input]!));
        else fv[out] = y;
        break;
      }
      case 'flatten': {
        const y = node('Flatten', [getQ(n.input)], { axis: attr.int(1) });
        if (stat) setQ(y);
        else fv[out] = y;
        break;
      }
      case 'slice_hw': {
        const i64 = (k: string, v: number[]) => init(k, { dataType: 'int64', dims: [v.length], data: BigInt64Array.from(v, BigInt) });
        const y = node('Slice', [getQ(n.input), i64('ss', [n.start, n.start]), i64('se', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]), i64('sa', [2, 3]), i64('sp', [n.step, n.step])]);
        if (stat) setQ(y);
        else fv[out] = y;
        break;
      }
      case 'bn': {
        const w = (k: string) => fconst(`bn${i}_${k}`, floatW(i, k), [n.channels]);
        fv[out] = node('BatchNormalization', [fv[n.input]!, w('weight'), w('bias'), w('running_mean'), w('running_var')], { epsilon: attr.float(n.eps) });
        break;
      }
      case 'zero':
        fv[out] = node('Mul', [fv[n.input]!, fconst('zero', [0], [])]);
        break;
      case 'dropout':
        fv[out] = fv[n.input]!;
        break;
      default:
        assertNever(n, 'fused node');
    }
  });
  let outName = fv[f.output]!;
  if (outName === 'input') throw new NasError('internal', 'quantized graph output is its input');
  nodes.push({ opType: 'Identity', name: 'output_identity', inputs: [outName], outputs: ['output'] });
  outName = 'output';
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'tsnas',
    producerVersion: '0.1.0',
    ...(o.metadata ? { metadata: o.metadata } : {}),
    graph: {
      name: o.name ?? 'tsnas-int8',
      nodes,
      initializers: inits,
      inputs: [{ name: 'input', dataType: 'float', shape: ['batch', ...f.inputShape] }],
      outputs: [{ name: outName, dataType: 'float', shape: ['batch', f.numClasses] }],
    },
  });
}
