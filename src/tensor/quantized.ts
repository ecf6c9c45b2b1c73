/**
 * Quantized tensors and int8 kernels over libtorch's quantized engines (native/src/quant.cc).
 * A quantized tensor is a `Tensor` whose native dtype is quint8/qint8/qint32: it lives in the same
 * handle table, is freed by dispose()/tidy like any tensor, and the shape-only ops (reshape,
 * flatten, slice), relu and the pooling functions work on it directly (libtorch dispatches them to
 * the quantized kernels). Its `dtype` getter does not apply (it names float dtypes only).
 *
 * Engines: Debian's libtorch 1.13 has `qnnpack` and `onednn` (no fbgemm); `quantizedEngines()`
 * lists what the running build supports, `setQuantizedEngine()` selects one process-wide.
 * Prepacked weights (`PackedWeight`) are engine-specific: pack after choosing the engine.
 */
import { NasError } from '../core/errors.js';
import { native, type Handle } from './native.js';
import { Tensor } from './tensor.js';

/** Quantized element types: activations are quint8, weights qint8, (biases qint32 in ONNX only). */
export type QDType = 'quint8' | 'qint8' | 'qint32';
const QCODE: Record<QDType, number> = { quint8: 0, qint8: 1, qint32: 2 };

export type QEngine = 'qnnpack' | 'onednn' | 'fbgemm' | 'x86';

/** An engine-specific prepacked conv or linear weight (freed by the GC; small and few). */
export type PackedWeight = { readonly __packedWeight: unique symbol };

interface QuantAddon {
  qEngines(): string[];
  qEngine(): string;
  setQEngine(name: string): void;
  quantizePerTensor(x: Handle, scale: number, zeroPoint: number, dtype: number): Handle;
  quantizePerChannel(x: Handle, scales: Handle, zeroPoints: Handle, axis: number, dtype: number): Handle;
  dequantize(q: Handle): Handle;
  qIntRepr(q: Handle): Handle;
  qParams(q: Handle): { scheme: 'per_tensor' | 'per_channel'; scale?: number; zeroPoint?: number; scales?: Handle; zeroPoints?: Handle; axis?: number; dtype: number };
  qPrepackConv(w: Handle, bias: Handle | null, stride: number[], padding: number[], dilation: number[], groups: number): PackedWeight;
  qPrepackLinear(w: Handle, bias: Handle | null): PackedWeight;
  qConv(x: Handle, p: PackedWeight, scale: number, zeroPoint: number, relu: boolean): Handle;
  qLinear(x: Handle, p: PackedWeight, scale: number, zeroPoint: number, relu: boolean): Handle;
  qLinearDynamic(x: Handle, p: PackedWeight, reduceRange: boolean): Handle;
  qAdd(a: Handle, b: Handle, scale: number, zeroPoint: number, relu: boolean): Handle;
  qCat(xs: Handle[], dim: number, scale: number, zeroPoint: number): Handle;
  qLut(x: Handle, lut: Uint8Array, scale: number, zeroPoint: number): Handle;
}

/** The addon's quantized ops; read at each use (`native` is bound to the addon on its first use). */
const q = (): QuantAddon => native as unknown as QuantAddon;

/** Affine quantization parameters of an activation: real = scale * (q - zeroPoint). */
export interface QParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** The quantized engines this libtorch supports (e.g. ['qnnpack', 'onednn'] on Debian). */
export function quantizedEngines(): QEngine[] {
  return q().qEngines() as QEngine[];
}
export function quantizedEngine(): QEngine {
  return q().qEngine() as QEngine;
}
/** Selects the process-wide quantized engine; throws invalid_config naming `qengine` when not built in. */
export function setQuantizedEngine(e: QEngine): void {
  const have = quantizedEngines();
  if (!have.includes(e)) throw new NasError('invalid_config', `quantized engine ${e} is not in this libtorch build`, { field: 'qengine', hint: `use one of: ${have.join(', ')}` });
  q().setQEngine(e);
}

/**
 * Runs `f` with the process-wide quantized engine set to `e`, and restores the previous engine
 * after (also when `f` throws). Unchecked, for per-forward switching (two native calls): `e` must
 * be one of quantizedEngines(), checked once by the caller (e.g. when the weights were packed).
 */
export function withQuantizedEngine<T>(e: QEngine, f: () => T): T {
  const prev = q().qEngine();
  if (prev === e) return f();
  q().setQEngine(e);
  try {
    return f();
  } finally {
    if (prev !== 'none') q().setQEngine(prev);
  }
}

export function quantizePerTensor(x: Tensor, p: QParams, dtype: QDType = 'quint8'): Tensor {
  return new Tensor(q().quantizePerTensor(x.h, p.scale, p.zeroPoint, QCODE[dtype]));
}
/** Per-channel quantization along `axis` (scales float32 [C], zeroPoints int64 [C]). */
export function quantizePerChannel(x: Tensor, scales: Tensor, zeroPoints: Tensor, axis: number, dtype: QDType = 'qint8'): Tensor {
  return new Tensor(q().quantizePerChannel(x.h, scales.h, zeroPoints.h, axis, QCODE[dtype]));
}
export function dequantize(x: Tensor): Tensor {
  return new Tensor(q().dequantize(x.h));
}
/** The stored integers of a quantized tensor, as int32. */
export function intRepr(x: Tensor): Tensor {
  return new Tensor(q().qIntRepr(x.h));
}
/** Per-tensor parameters of a quantized tensor (throws for per-channel ones). */
export function qparamsOf(x: Tensor): QParams {
  const p = q().qParams(x.h);
  if (p.scheme !== 'per_tensor') {
    new Tensor(p.scales!).dispose();
    new Tensor(p.zeroPoints!).dispose();
    throw new NasError('dtype_error', 'qparamsOf: the tensor is quantized per channel');
  }
  return { scale: p.scale!, zeroPoint: p.zeroPoint! };
}

/** Prepacks a qint8 conv weight [out, in/groups, kh, kw] with a float bias for quantizedConv2d. */
export function prepackConv2d(w: Tensor, bias: Tensor | undefined, o: { stride: readonly number[]; padding: readonly number[]; dilation: readonly number[]; groups: number }): PackedWeight {
  return q().qPrepackConv(w.h, bias ? bias.h : null, [...o.stride], [...o.padding], [...o.dilation], o.groups);
}
/** Prepacks a qint8 linear weight [out, in] with a float bias. */
export function prepackLinear(w: Tensor, bias: Tensor | undefined): PackedWeight {
  return q().qPrepackLinear(w.h, bias ? bias.h : null);
}
/** quantized::conv2d(_relu): quint8 [N, C, H, W] -> quint8 with the given output parameters. */
export function quantizedConv2d(x: Tensor, w: PackedWeight, out: QParams, relu = false): Tensor {
  return new Tensor(q().qConv(x.h, w, out.scale, out.zeroPoint, relu));
}
/** quantized::linear(_relu): quint8 [N, in] -> quint8 [N, out]. */
export function quantizedLinear(x: Tensor, w: PackedWeight, out: QParams, relu = false): Tensor {
  return new Tensor(q().qLinear(x.h, w, out.scale, out.zeroPoint, relu));
}
/** quantized::linear_dynamic: float [N, in] -> float [N, out], the input quantized on the fly. */
export function dynamicLinear(x: Tensor, w: PackedWeight, reduceRange = false): Tensor {
  return new Tensor(q().qLinearDynamic(x.h, w, reduceRange));
}
/** quantized::add(_relu) of two quint8 tensors of one shape. */
export function quantizedAdd(a: Tensor, b: Tensor, out: QParams, relu = false): Tensor {
  return new Tensor(q().qAdd(a.h, b.h, out.scale, out.zeroPoint, relu));
}
/** quantized::cat along `dim`. */
export function quantizedCat(xs: readonly Tensor[], dim: number, out: QParams): Tensor {
  return new Tensor(q().qCat(xs.map((x) => x.h), dim, out.scale, out.zeroPoint));
}

/**
 * An elementwise function of a quint8 per-tensor tensor by table: y = lut[x] (256 entries, the
 * output codes) with the output parameters `out`, in x's memory format. Any elementwise activation
 * of 8-bit inputs is exactly such a table (the lookup TFLite and QNNPACK use for int8 sigmoid and
 * tanh); `activationTable` builds one. Throws dtype_error for a float or per-channel input or a
 * table that is not 256 bytes.
 */
export function quantizedLut(x: Tensor, lut: Uint8Array, out: QParams): Tensor {
  return new Tensor(q().qLut(x.h, lut, out.scale, out.zeroPoint));
}
/** Whether the loaded addon has quantizedLut (an addon built before it lacks it: rebuild with `npm run build:native`). */
export function hasQuantizedLut(): boolean {
  return typeof (q() as Partial<QuantAddon>).qLut === 'function';
}

interface FakeQuantAddon {
  fakeQuantPerTensor(x: Handle, scale: number, zeroPoint: number, qmin: number, qmax: number): Handle;
  fakeQuantPerChannel(x: Handle, scales: Handle, zeroPoints: Handle, axis: number, qmin: number, qmax: number): Handle;
}
const fq = (): FakeQuantAddon => native as unknown as FakeQuantAddon;

/**
 * at::fake_quantize_per_tensor_affine: `scale * (clamp(round(x / scale) + zeroPoint, qmin, qmax) - zeroPoint)`
 * in float, differentiable by the straight-through estimator (the gradient passes where
 * `round(x / scale) + zeroPoint` lies in [qmin, qmax], else 0). Quantization-aware training
 * (Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference").
 */
export function fakeQuantPerTensor(x: Tensor, p: QParams, qmin = 0, qmax = 255): Tensor {
  return new Tensor(fq().fakeQuantPerTensor(x.h, p.scale, p.zeroPoint, qmin, qmax));
}
/** at::fake_quantize_per_channel_affine along `axis` (scales float32 [C], zeroPoints [C]); same estimator. */
export function fakeQuantPerChannel(x: Tensor, scales: Tensor, zeroPoints: Tensor, axis: number, qmin = -128, qmax = 127): Tensor {
  return new Tensor(fq().fakeQuantPerChannel(x.h, scales.h, zeroPoints.h, axis, qmin, qmax));
}
