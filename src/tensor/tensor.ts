/**
 * Tensor: a typed wrapper over one native libtorch tensor. Ops return new tensors (never mutate,
 * except the methods ending in `_`), broadcast like PyTorch, and record autograd when an input
 * requires grad and grad mode is on. Native memory is freed by `dispose()` or by the enclosing
 * `tidy()` scope; libtorch errors come back as NasError (`shape_mismatch` / `native_error` /
 * `dtype_error`) naming the op and the input shapes.
 */
import { NasError } from '../core/errors.js';
import { native, type Handle } from './native.js';
import { keep, track, unguard, type Trackable } from './scope.js';

export type DType = 'float32' | 'int64' | 'bool' | 'float64' | 'int32' | 'uint8';
export type Shape = readonly number[];
export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

const DTYPES: readonly DType[] = ['float32', 'int64', 'bool', 'float64', 'int32', 'uint8'];
/** @internal */
export function dtypeCode(d: DType): number {
  const c = DTYPES.indexOf(d);
  if (c < 0) throw new NasError('dtype_error', `unknown dtype ${JSON.stringify(d)}`, { hint: `use one of: ${DTYPES.join(', ')}` });
  return c;
}

// Op codes: must match native/src/ops.cc.
const U = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, rsqrt: 5, sin: 6, cos: 7, tanh: 8, sigmoid: 9, relu: 10, gelu: 11, silu: 12,
  square: 13, sign: 14, floor: 15, ceil: 16, round: 17, reciprocal: 18, log1p: 19, expm1: 20, erf: 21, logicalNot: 22,
  softplus: 23, isnan: 24, isfinite: 25, relu6: 26, hardswish: 27, hardsigmoid: 28, mish: 29, elu: 30, selu: 31,
  logSigmoid: 32, tan: 33, asin: 34, acos: 35, atan: 36, sinh: 37, cosh: 38, log2: 39, log10: 40, exp2: 41, trunc: 42,
  frac: 43,
} as const;
const B = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
  logicalAnd: 13, logicalOr: 14, remainder: 15, floorDivide: 16, atan2: 17, logicalXor: 18,
} as const;
const R = { sum: 0, mean: 1, prod: 2, amax: 3, amin: 4, logsumexp: 5, all: 6, any: 7, norm: 8 } as const;

export type Operand = Tensor | number;

/** Dims to reduce over: one dim, several, or undefined for all. Negative dims count from the end. */
export type Dims = number | readonly number[] | undefined;

function dimsArg(d: Dims): readonly number[] | null {
  if (d === undefined) return null;
  return typeof d === 'number' ? [d] : d;
}

function checkShape(shape: Shape, field = 'shape'): void {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < -1) throw new NasError('shape_mismatch', `bad dimension ${s} in shape [${shape.join(',')}]`, { field, hint: 'dimensions are integers >= 0 (reshape also accepts one -1)' });
  }
}

export class Tensor implements Trackable {
  /** @internal */ _h: Handle | null;
  /** @internal */ _kept = false;
  /** @internal */ _reg = false;
  /** @internal */ _scopeMark = 0;
  private _shape: number[] | undefined;

  /** @internal Wraps a native handle; use the static factories or ops instead. */
  constructor(h: Handle) {
    this._h = h;
    track(this);
  }

  /** @internal The native handle; throws NasError('disposed') after dispose(). */
  get h(): Handle {
    const h = this._h;
    if (h === null) throw new NasError('disposed', 'tensor used after dispose()', { hint: 'keep() the tensor or return it from tidy() to use it later' });
    return h;
  }

  // ------------------------------------------------------------------ creation

  /**
   * A tensor from flat data in row-major order. `shape` defaults to [data.length]; `dtype` defaults
   * to the TypedArray's own (Float32Array -> float32, BigInt64Array -> int64, Uint8Array -> uint8,
   * Int32Array -> int32, Float64Array -> float64) or float32 for number[]. Copies the data.
   */
  static fromArray(data: TypedData | ArrayLike<number> | readonly boolean[], shape?: Shape, dtype?: DType): Tensor {
    const sh = shape ?? [data.length];
    checkShape(sh);
    let typed: TypedData;
    let d: DType;
    if (data instanceof Float32Array) (typed = data), (d = dtype ?? 'float32');
    else if (data instanceof Float64Array) (typed = data), (d = dtype ?? 'float64');
    else if (data instanceof Int32Array) (typed = data), (d = dtype ?? 'int32');
    else if (data instanceof BigInt64Array) (typed = data), (d = dtype ?? 'int64');
    else if (data instanceof Uint8Array) (typed = data), (d = dtype ?? 'uint8');
    else {
      d = dtype ?? 'float32';
      const arr = data as ArrayLike<number | boolean>;
      if (d === 'float32') typed = Float32Array.from(arr as ArrayLike<number>);
      else if (d === 'bool' || d === 'uint8') typed = Uint8Array.from(arr as ArrayLike<number>, (v) => (v ? (d === 'bool' ? 1 : Number(v)) : 0));
      else typed = Float64Array.from(arr as ArrayLike<number>, Number);
    }
    return new Tensor(native.fromTyped(typed, sh, dtypeCode(d)));
  }

  /** A tensor from (possibly nested) number arrays; the shape is inferred. */
  static from(nested: unknown, dtype: DType = 'float32'): Tensor {
    const shape: number[] = [];
    let v: unknown = nested;
    while (Array.isArray(v)) {
      shape.push(v.length);
      v = v[0];
    }
    const flat = (shape.length ? (nested as unknown[]).flat(shape.length - 1) : [nested]) as number[];
    const numel = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== numel) throw new NasError('shape_mismatch', 'Tensor.from: ragged nested array', { hint: 'every row must have the same length' });
    return Tensor.fromArray(flat, shape, dtype);
  }

  static scalar(value: number | boolean, dtype: DType = 'float32'): Tensor {
    return new Tensor(native.full([], value, dtypeCode(dtype)));
  }
  static zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    checkShape(shape);
    return new Tensor(native.full(shape, 0, dtypeCode(dtype)));
  }
  static ones(shape: Shape, dtype: DType = 'float32'): Tensor {
    checkShape(shape);
    return new Tensor(native.full(shape, 1, dtypeCode(dtype)));
  }
  static full(shape: Shape, value: number | boolean, dtype: DType = 'float32'): Tensor {
    checkShape(shape);
    return new Tensor(native.full(shape, value, dtypeCode(dtype)));
  }
  /** [start, end) by step; `arange(n)` is 0..n-1. Default dtype int64 when all args are integers, else float32. */
  static arange(start: number, end?: number, step = 1, dtype?: DType): Tensor {
    const [s, e] = end === undefined ? [0, start] : [start, end];
    const d = dtype ?? (Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step) ? 'int64' : 'float32');
    return new Tensor(native.arange(s, e, step, dtypeCode(d)));
  }
  static linspace(start: number, end: number, steps: number, dtype: DType = 'float32'): Tensor {
    return new Tensor(native.linspace(start, end, steps, dtypeCode(dtype)));
  }
  static eye(n: number, dtype: DType = 'float32'): Tensor {
    return new Tensor(native.eye(n, dtypeCode(dtype)));
  }
  static zerosLike(t: Tensor): Tensor {
    return new Tensor(native.fullLike(t.h, 0));
  }
  static onesLike(t: Tensor): Tensor {
    return new Tensor(native.fullLike(t.h, 1));
  }
  static fullLike(t: Tensor, value: number | boolean): Tensor {
    return new Tensor(native.fullLike(t.h, value));
  }

  // ------------------------------------------------------------------ metadata & conversion

  get shape(): readonly number[] {
    return (this._shape ??= native.shape(this.h));
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return native.numel(this.h);
  }
  get dtype(): DType {
    return DTYPES[native.dtype(this.h)] ?? 'float32';
  }
  /** Size of one dim (negative counts from the end). */
  size(dim: number): number {
    const s = this.shape;
    const v = s[dim < 0 ? s.length + dim : dim];
    if (v === undefined) throw new NasError('shape_mismatch', `size(${dim}): tensor has ${s.length} dims`, { details: { shape: [...s] } });
    return v;
  }

  /** A copy of the data as float32 (converting other dtypes). */
  toFloat32Array(): Float32Array {
    const d = native.toTyped(this.h);
    return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>, Number);
  }
  toFloat64Array(): Float64Array {
    return native.toFloat64(this.h);
  }
  /** A copy as BigInt64Array (int64 data as is; others converted). */
  toBigInt64Array(): BigInt64Array {
    const d = native.toTyped(this.h);
    if (d instanceof BigInt64Array) return d;
    return BigInt64Array.from(native.toFloat64(this.h), (v) => BigInt(Math.trunc(v)));
  }
  /** A copy as Int32Array (int64 values beyond int32 wrap). */
  toInt32Array(): Int32Array {
    return Int32Array.from(native.toFloat64(this.h));
  }
  /** A copy of the raw data in the TypedArray matching the dtype (bool -> Uint8Array of 0/1). */
  toTypedArray(): TypedData {
    return native.toTyped(this.h);
  }
  /** A copy as plain numbers, flat row-major (bool -> 0/1). */
  toArray(): number[] {
    return Array.from(native.toFloat64(this.h));
  }
  /** Nested arrays following the shape. */
  toNested(): unknown {
    const flat = this.toArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    const build = (d: number, off: number): unknown => {
      const n = shape[d]!;
      if (d === shape.length - 1) return flat.slice(off, off + n);
      const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: n }, (_, i) => build(d + 1, off + i * stride));
    };
    return build(0, 0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.h));
  }
  toString(): string {
    return this._h === null ? 'Tensor(disposed)' : native.toString(this._h);
  }

  // ------------------------------------------------------------------ lifetime

  get isDisposed(): boolean {
    return this._h === null;
  }
  /** Frees the native tensor now (its storage is freed when no view or graph node still uses it). */
  dispose(): void {
    const h = this._h;
    if (h !== null) {
      this._h = null;
      unguard(this);
      native.dispose(h);
    }
  }
  /** Exempts this tensor from tidy scopes; the owner must dispose() it. */
  keep(): this {
    return keep(this);
  }

  // ------------------------------------------------------------------ autograd

  get requiresGrad(): boolean {
    return native.requiresGrad(this.h);
  }
  /** Sets requires_grad on a leaf tensor (in place) and returns this. */
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.h, v);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.h);
  }
  /** The accumulated gradient (a new wrapper sharing its storage), or undefined before backward(). */
  get grad(): Tensor | undefined {
    const g = native.grad(this.h);
    return g === undefined ? undefined : new Tensor(g);
  }
  set grad(g: Tensor | undefined) {
    native.setGrad(this.h, g?.h);
  }
  /** Drops the gradient (like PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    native.zeroGrad(this.h);
  }
  /** Backpropagates from this tensor (a scalar unless `grad` is given) into leaf .grad fields. */
  backward(grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native.backward(this.h, grad?.h, opts.retainGraph ?? false);
  }
  /** The same data, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.detach(this.h));
  }

  // ------------------------------------------------------------------ elementwise

  private un(code: number): Tensor {
    return new Tensor(native.unary(code, this.h));
  }
  private bin(code: number, o: Operand | boolean): Tensor {
    return new Tensor(typeof o === 'object' ? native.binary(code, this.h, o.h) : native.binaryScalar(code, this.h, o));
  }
  add(o: Operand): Tensor { return this.bin(B.add, o); }
  sub(o: Operand): Tensor { return this.bin(B.sub, o); }
  mul(o: Operand): Tensor { return this.bin(B.mul, o); }
  div(o: Operand): Tensor { return this.bin(B.div, o); }
  pow(o: Operand): Tensor { return this.bin(B.pow, o); }
  /** number - this */
  rsub(n: number): Tensor { return new Tensor(native.rbinary(B.sub, n, this.h)); }
  /** number / this */
  rdiv(n: number): Tensor { return new Tensor(native.rbinary(B.div, n, this.h)); }
  /** number ** this */
  rpow(n: number): Tensor { return new Tensor(native.rbinary(B.pow, n, this.h)); }
  /** this + alpha * o */
  addScaled(o: Tensor, alpha: number): Tensor { return new Tensor(native.addScaled(this.h, o.h, alpha)); }
  maximum(o: Operand): Tensor { return this.bin(B.maximum, o); }
  minimum(o: Operand): Tensor { return this.bin(B.minimum, o); }
  remainder(o: Operand): Tensor { return this.bin(B.remainder, o); }
  floorDivide(o: Operand): Tensor { return this.bin(B.floorDivide, o); }
  atan2(o: Operand): Tensor { return this.bin(B.atan2, o); }
  eq(o: Operand | boolean): Tensor { return this.bin(B.eq, o); }
  ne(o: Operand | boolean): Tensor { return this.bin(B.ne, o); }
  lt(o: Operand): Tensor { return this.bin(B.lt, o); }
  le(o: Operand): Tensor { return this.bin(B.le, o); }
  gt(o: Operand): Tensor { return this.bin(B.gt, o); }
  ge(o: Operand): Tensor { return this.bin(B.ge, o); }
  logicalAnd(o: Tensor | boolean): Tensor { return this.bin(B.logicalAnd, o); }
  logicalOr(o: Tensor | boolean): Tensor { return this.bin(B.logicalOr, o); }
  logicalXor(o: Tensor | boolean): Tensor { return this.bin(B.logicalXor, o); }
  logicalNot(): Tensor { return this.un(U.logicalNot); }

  neg(): Tensor { return this.un(U.neg); }
  abs(): Tensor { return this.un(U.abs); }
  exp(): Tensor { return this.un(U.exp); }
  exp2(): Tensor { return this.un(U.exp2); }
  expm1(): Tensor { return this.un(U.expm1); }
  log(): Tensor { return this.un(U.log); }
  log2(): Tensor { return this.un(U.log2); }
  log10(): Tensor { return this.un(U.log10); }
  log1p(): Tensor { return this.un(U.log1p); }
  sqrt(): Tensor { return this.un(U.sqrt); }
  rsqrt(): Tensor { return this.un(U.rsqrt); }
  square(): Tensor { return this.un(U.square); }
  reciprocal(): Tensor { return this.un(U.reciprocal); }
  sin(): Tensor { return this.un(U.sin); }
  cos(): Tensor { return this.un(U.cos); }
  tan(): Tensor { return this.un(U.tan); }
  asin(): Tensor { return this.un(U.asin); }
  acos(): Tensor { return this.un(U.acos); }
  atan(): Tensor { return this.un(U.atan); }
  sinh(): Tensor { return this.un(U.sinh); }
  cosh(): Tensor { return this.un(U.cosh); }
  tanh(): Tensor { return this.un(U.tanh); }
  sigmoid(): Tensor { return this.un(U.sigmoid); }
  logSigmoid(): Tensor { return this.un(U.logSigmoid); }
  relu(): Tensor { return this.un(U.relu); }
  relu6(): Tensor { return this.un(U.relu6); }
  leakyRelu(slope = 0.01): Tensor { return new Tensor(native.leakyRelu(this.h, slope)); }
  elu(): Tensor { return this.un(U.elu); }
  selu(): Tensor { return this.un(U.selu); }
  /** Exact (erf) GELU, PyTorch's default. */
  gelu(): Tensor { return this.un(U.gelu); }
  silu(): Tensor { return this.un(U.silu); }
  mish(): Tensor { return this.un(U.mish); }
  softplus(): Tensor { return this.un(U.softplus); }
  hardswish(): Tensor { return this.un(U.hardswish); }
  hardsigmoid(): Tensor { return this.un(U.hardsigmoid); }
  erf(): Tensor { return this.un(U.erf); }
  sign(): Tensor { return this.un(U.sign); }
  floor(): Tensor { return this.un(U.floor); }
  ceil(): Tensor { return this.un(U.ceil); }
  round(): Tensor { return this.un(U.round); }
  trunc(): Tensor { return this.un(U.trunc); }
  frac(): Tensor { return this.un(U.frac); }
  isnan(): Tensor { return this.un(U.isnan); }
  isfinite(): Tensor { return this.un(U.isfinite); }
  /** Clamps to [min, max]; either bound may be undefined. */
  clamp(min?: number, max?: number): Tensor { return new Tensor(native.clamp(this.h, min ?? null, max ?? null)); }
  /** Where mask is true, value; elsewhere this. */
  maskedFill(mask: Tensor, value: number | boolean): Tensor { return new Tensor(native.maskedFill(this.h, mask.h, value)); }
  softmax(dim: number): Tensor { return new Tensor(native.softmax(this.h, dim)); }
  logSoftmax(dim: number): Tensor { return new Tensor(native.logSoftmax(this.h, dim)); }

  // ------------------------------------------------------------------ in place (no autograd history of their own)

  /** this += o (in place). */
  add_(o: Operand): this { native.binaryInplace(B.add, this.h, typeof o === 'number' ? o : o.h, typeof o !== 'number'); return this; }
  sub_(o: Operand): this { native.binaryInplace(B.sub, this.h, typeof o === 'number' ? o : o.h, typeof o !== 'number'); return this; }
  mul_(o: Operand): this { native.binaryInplace(B.mul, this.h, typeof o === 'number' ? o : o.h, typeof o !== 'number'); return this; }
  div_(o: Operand): this { native.binaryInplace(B.div, this.h, typeof o === 'number' ? o : o.h, typeof o !== 'number'); return this; }
  /** Copies src into this (broadcasting), outside autograd. */
  copy_(src: Tensor): this { native.copy_(this.h, src.h); return this; }
  fill_(v: number | boolean): this { native.fill_(this.h, v); return this; }
  zero_(): this { native.fill_(this.h, 0); return this; }

  // ------------------------------------------------------------------ reductions

  sum(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.sum, this.h, dimsArg(dims), keepdim)); }
  mean(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.mean, this.h, dimsArg(dims), keepdim)); }
  prod(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.prod, this.h, dimsArg(dims), keepdim)); }
  /** Max over dims (all when undefined); values only. See maxDim for indices. */
  max(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.amax, this.h, dimsArg(dims), keepdim)); }
  min(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.amin, this.h, dimsArg(dims), keepdim)); }
  logsumexp(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.logsumexp, this.h, dimsArg(dims), keepdim)); }
  /** 2-norm over dims (all when undefined). */
  norm(dims?: Dims, keepdim = false): Tensor { return new Tensor(native.reduce(R.norm, this.h, dimsArg(dims), keepdim)); }
  all(dim?: number, keepdim = false): Tensor { return new Tensor(native.reduce(R.all, this.h, dimsArg(dim), keepdim)); }
  any(dim?: number, keepdim = false): Tensor { return new Tensor(native.reduce(R.any, this.h, dimsArg(dim), keepdim)); }
  /** Max along one dim with the argmax indices. */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.maxDim(this.h, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.minDim(this.h, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Index of the max (over the flattened tensor when dim is undefined), int64. */
  argmax(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmax(this.h, dim ?? null, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmin(this.h, dim ?? null, keepdim)); }
  /** Variance; unbiased (N-1) by default, as in PyTorch. */
  var(dims?: Dims, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.varStd(false, this.h, dimsArg(dims), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  std(dims?: Dims, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.varStd(true, this.h, dimsArg(dims), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  cumsum(dim: number): Tensor { return new Tensor(native.cumsum(this.h, dim)); }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.h, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.h, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ------------------------------------------------------------------ shape

  /** New shape with the same number of elements; one dim may be -1. Copies only when needed. */
  reshape(shape: Shape): Tensor { checkShape(shape); return new Tensor(native.reshape(this.h, shape)); }
  /** Like reshape but never copies (fails on incompatible strides). */
  view(shape: Shape): Tensor { checkShape(shape); return new Tensor(native.view(this.h, shape)); }
  permute(dims: readonly number[]): Tensor { return new Tensor(native.permute(this.h, dims)); }
  transpose(d0: number, d1: number): Tensor { return new Tensor(native.transpose(this.h, d0, d1)); }
  /** Transpose of a 2-D tensor. */
  t(): Tensor { return new Tensor(native.transpose(this.h, 0, 1)); }
  /** Elements start..end-1 (step) along dim; end undefined means to the end; negative indices count from the end. */
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    return new Tensor(native.slice(this.h, dim, start, end ?? null, step));
  }
  /** Removes dim by taking one index along it. */
  select(dim: number, index: number): Tensor { return new Tensor(native.select(this.h, dim, index)); }
  indexSelect(dim: number, index: Tensor): Tensor { return new Tensor(native.indexSelect(this.h, dim, index.h)); }
  gather(dim: number, index: Tensor): Tensor { return new Tensor(native.gather(this.h, dim, index.h)); }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor { return new Tensor(native.scatter(this.h, dim, index.h, src.h)); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return new Tensor(native.scatterAdd(this.h, dim, index.h, src.h)); }
  maskedSelect(mask: Tensor): Tensor { return new Tensor(native.maskedSelect(this.h, mask.h)); }
  flatten(startDim = 0, endDim = -1): Tensor { return new Tensor(native.flatten(this.h, startDim, endDim)); }
  /** Removes size-1 dims (only `dim` when given). */
  squeeze(dim?: number): Tensor { return new Tensor(native.squeeze(this.h, dim ?? null)); }
  unsqueeze(dim: number): Tensor { return new Tensor(native.unsqueeze(this.h, dim)); }
  /** Broadcast view to shape (-1 keeps a dim). */
  expand(shape: Shape): Tensor { return new Tensor(native.expand(this.h, shape)); }
  repeat(reps: readonly number[]): Tensor { return new Tensor(native.repeat(this.h, reps)); }
  flip(dims: readonly number[]): Tensor { return new Tensor(native.flip(this.h, dims)); }
  contiguous(): Tensor { return new Tensor(native.contiguous(this.h)); }
  /** A copy that stays in the autograd graph. */
  clone(): Tensor { return new Tensor(native.clone(this.h)); }
  to(dtype: DType): Tensor { return new Tensor(native.toDtype(this.h, dtypeCode(dtype))); }
  float(): Tensor { return this.to('float32'); }
  long(): Tensor { return this.to('int64'); }
  bool(): Tensor { return this.to('bool'); }
  /** Splits into chunks of `size` (or the given sizes) along dim. */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    return native.split(this.h, size, dim).map((h) => new Tensor(h));
  }
  tril(k = 0): Tensor { return new Tensor(native.tril(this.h, k)); }
  triu(k = 0): Tensor { return new Tensor(native.triu(this.h, k)); }

  // ------------------------------------------------------------------ linear algebra

  /** PyTorch matmul semantics (1-D/2-D/batched with broadcasting). */
  matmul(o: Tensor): Tensor { return new Tensor(native.matmul(this.h, o.h)); }
  mm(o: Tensor): Tensor { return new Tensor(native.mm(this.h, o.h)); }
  bmm(o: Tensor): Tensor { return new Tensor(native.bmm(this.h, o.h)); }
  outer(o: Tensor): Tensor { return new Tensor(native.outer(this.h, o.h)); }
}
