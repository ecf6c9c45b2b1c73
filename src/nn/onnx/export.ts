/**
 * Module -> ONNX model (opset 13, IR version 7). Each exportable module class has one exporter
 * (a function keyed by its class, see layers.ts and build.ts in this folder): it receives the
 * module, the names of its input values and a context through which it emits ONNX nodes,
 * registers its weights and exports its child modules. The result is the inference computation
 * (eval mode: Dropout is the identity, BatchNorm uses its running statistics) whatever mode the
 * module is in. Weights become graph initializers named by their state-dict keys
 * (`net.0.weight`, `layers.1.body.1.running_mean`), so a file maps onto the `.tsnas` weights and
 * PyTorch's state_dict. The batch dimension is symbolic (`batch`).
 */
import { NasError } from '../../core/errors.js';
import { Tensor, noGrad, tidy } from '../../tensor/index.js';
import type { Module } from '../module.js';
import { BUILD_EXPORTERS } from './build.js';
import { LAYER_EXPORTERS } from './layers.js';
import { encodeModel, type NodeDef, type TensorDef } from './proto.js';
import type { ExporterEntry, OnnxContext, OnnxExporter, OnnxValue } from './types.js';

export { exporter, type ExporterEntry, type OnnxContext, type OnnxExporter, type OnnxValue } from './types.js';

export const ONNX_OPSET = 13;
/** ONNX IR version 7 is the one that opset 13 was released with (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;

export interface ExportOnnxOptions {
  /** Graph name (default `tsnas`). */
  readonly name?: string;
  /** A fixed batch size instead of the symbolic `batch` dimension. */
  readonly batch?: number;
  /** Exporters for further module classes (they take precedence over the built-in ones). */
  readonly exporters?: readonly ExporterEntry[];
  /** Key/value metadata stored in the model (e.g. the architecture JSON). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly docString?: string;
  /**
   * Preprocessing baked into the graph: the module sees `input * a + b`, per channel (dimension 1;
   * `a`, `b` have inputShape[0] entries, or one for all). With the training data's normalisation
   * here the model takes raw inputs (e.g. pixel values 0-255).
   */
  readonly inputAffine?: { readonly a: ArrayLike<number>; readonly b: ArrayLike<number> };
}

/** The built-in exporters: every layer of src/nn/layers.ts the network families use, and the family blocks. */
const BUILTIN: ReadonlyMap<Function, OnnxExporter> = new Map([...LAYER_EXPORTERS, ...BUILD_EXPORTERS].map((e) => [e.cls, e.fn]));

function modulePaths(root: Module<any, any>): Map<Module<any, any>, string> {
  const paths = new Map<Module<any, any>, string>();
  const walk = (m: Module<any, any>, prefix: string) => {
    if (!paths.has(m)) paths.set(m, prefix);
    for (const [n, c] of m.namedChildren()) walk(c, `${prefix}${n}.`);
  };
  walk(root, '');
  return paths;
}

class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  unique(base: string): string {
    let n = base;
    while (this.names.has(n)) n = `${base}_${++this.counter}`;
    this.names.add(n);
    return n;
  }
  initializer(name: string, t: Omit<TensorDef, 'name'>): string {
    if (this.names.has(name)) throw new NasError('internal', `ONNX value ${name} defined twice`);
    this.names.add(name);
    return this.push(name, t);
  }
  private push(name: string, t: Omit<TensorDef, 'name'>): string {
    this.initializers.push({ name, ...t });
    return name;
  }
  constant(key: string, values: readonly number[], dims: readonly number[], dataType: 'float' | 'int64'): string {
    const id = `${dataType}:${key}:${dims.join('x')}:${values.join(',')}`;
    const have = this.constants.get(id);
    if (have) return have;
    const name = this.push(this.unique(`const.${key}`), {
      dataType,
      dims,
      data: dataType === 'float' ? Float32Array.from(values) : BigInt64Array.from(values, (v) => BigInt(v)),
    });
    this.constants.set(id, name);
    return name;
  }
}

/**
 * Converts `module` to an ONNX model for inputs of per-sample shape `inputShape` (`[C, H, W]` or
 * `[F]`). Throws `not_found` naming the module path and class when a module has no exporter. The
 * module itself is not changed (its mode is restored after the shape check).
 */
export function exportOnnx(module: Module<[Tensor], Tensor>, inputShape: readonly number[], opts: ExportOnnxOptions = {}): Uint8Array {
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw new NasError('shape_mismatch', `input shape must be positive integers, got [${inputShape.join(', ')}]`, { field: 'inputShape', hint: 'give the per-sample shape, e.g. [1, 28, 28] or [64]' });
  if (opts.batch !== undefined && !(Number.isInteger(opts.batch) && opts.batch >= 1))
    throw new NasError('invalid_config', `batch must be a positive integer, got ${opts.batch}`, { field: 'batch' });
  const outShape = evalOutputShape(module, inputShape);
  const table = new Map(BUILTIN);
  for (const e of opts.exporters ?? []) table.set(e.cls, e.fn);
  const paths = modulePaths(module);
  const g = new GraphBuilder();

  const contextFor = (m: Module<any, any>): OnnxContext => {
    const path = paths.get(m) ?? '';
    const ctx: OnnxContext = {
      path,
      node(opType, inputs, rank, attributes) {
        const out = g.unique(`/${path}${opType}`);
        g.nodes.push({ opType, name: out, inputs: inputs.map((i) => (typeof i === 'string' ? i : i.name)), outputs: [out], ...(attributes ? { attributes } : {}) });
        return { name: out, rank };
      },
      weight(key, t) {
        if (t.dtype !== 'float32') throw new NasError('dtype_error', `${path}${key} is ${t.dtype}; ONNX export writes float32 weights`, { field: `${path}${key}` });
        return g.initializer(`${path}${key}`, { dataType: 'float', dims: [...t.shape], data: t.toTypedArray() as Float32Array });
      },
      constant(key, values, dims, dataType = 'float') {
        return g.constant(key, values, dims, dataType);
      },
      call(child, ...inputs) {
        if (!paths.has(child))
          throw new NasError('internal', `${path || 'the root module'} exports a ${child.constructor.name} that is not one of its registered children`);
        return visit(child, inputs);
      },
    };
    return ctx;
  };
  const visit = (m: Module<any, any>, inputs: readonly OnnxValue[]): OnnxValue => {
    const fn = table.get(m.constructor);
    if (!fn) {
      const where = (paths.get(m) ?? '').replace(/\.$/, '') || '(root)';
      throw new NasError('not_found', `cannot export module ${where} (${m.constructor.name}) to ONNX: no exporter for this class`, {
        field: where,
        hint: 'export networks built by src/nn/build, or pass an exporter for the class in options.exporters',
        details: { path: where, class: m.constructor.name },
      });
    }
    return fn(m, inputs, contextFor(m));
  };

  const input: OnnxValue = { name: g.unique('input'), rank: inputShape.length + 1 };
  let out = visit(module, [opts.inputAffine ? preprocess(input, opts.inputAffine, inputShape, contextFor(module)) : input]);
  // A graph output must be produced by a node (e.g. a module that is the identity end to end).
  if (out.name === input.name || g.initializers.some((t) => t.name === out.name)) out = contextFor(module).node('Identity', [out], out.rank);
  const batch = opts.batch ?? 'batch';
  const outName = 'output';
  const last = g.nodes.at(-1);
  // Rename the final value `output` (it is the last node's output: exporters emit in order).
  if (last && last.outputs[0] === out.name) g.nodes[g.nodes.length - 1] = { ...last, outputs: [outName] };
  else g.nodes.push({ opType: 'Identity', name: '/output', inputs: [out.name], outputs: [outName] });
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'tsnas',
    producerVersion: '0.1.0',
    ...(opts.docString ? { docString: opts.docString } : {}),
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
    graph: {
      name: opts.name ?? 'tsnas',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: input.name, dataType: 'float', shape: [batch, ...inputShape] }],
      outputs: [{ name: outName, dataType: 'float', shape: [batch, ...outShape.slice(1)] }],
    },
  });
}

function preprocess(x: OnnxValue, t: NonNullable<ExportOnnxOptions['inputAffine']>, inputShape: readonly number[], ctx: OnnxContext): OnnxValue {
  const c = t.a.length;
  if (t.b.length !== c || (c !== 1 && c !== inputShape[0]))
    throw new NasError('shape_mismatch', `inputAffine needs 1 or ${inputShape[0]} values in both a and b, got ${c} and ${t.b.length}`, { field: 'inputAffine' });
  // [C, 1, 1] broadcasts over [N, C, H, W]; [F] over [N, F]; a scalar over anything.
  const dims = c === 1 ? [] : [c, ...new Array<number>(inputShape.length - 1).fill(1)];
  const scaled = ctx.node('Mul', [x, ctx.constant('input_scale', Array.from(t.a), dims)], x.rank);
  return ctx.node('Add', [scaled, ctx.constant('input_shift', Array.from(t.b), dims)], x.rank);
}

/** The eval-mode output shape for one sample; also checks that the module accepts the input. */
function evalOutputShape(module: Module<[Tensor], Tensor>, inputShape: readonly number[]): number[] {
  const modes = module.modules().map((m) => [m, m.training] as const);
  try {
    module.eval();
    return tidy(() => noGrad(() => [...module.forward(Tensor.zeros([1, ...inputShape])).shape]));
  } finally {
    for (const [m, t] of modes) m.training = t;
  }
}
