/**
 * The libtorch addon (native/build/Release/tsnas_native.node), loaded on first use, and its functions.
 * Internal to src/tensor: everything else uses Tensor and the functional ops. The same relative
 * path works from src/tensor/*.ts (tsx) and dist/tensor/*.js (compiled).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { NasError, type ErrorCode } from '../core/errors.js';

/** An opaque native tensor id (a slot in the addon's tensor table; see native/src/common.h). */
export type Handle = number & { readonly __nativeTensor: unique symbol };
export type GenHandle = { readonly __nativeGenerator: unique symbol };
export type OptimHandle = { readonly __nativeOptimizer: unique symbol };
export type GraphHandle = { readonly __nativeGraph: unique symbol };
/** One instruction of a native graph program (see native/src/graph.cc and src/nn/native-exec.ts). */
export interface GraphInstr {
  op: number;
  in: number[];
  out: number[];
  t?: (Handle | undefined)[];
  i?: number[];
  f?: number[];
  gen?: GenHandle;
  layer: string;
  module: string;
}
/**
 * The BLAS behind libtorch's matmul/linear: OpenBLAS's build configuration string ('' when it is not
 * OpenBLAS), its threading ('openmp' shares libtorch's OpenMP pool; 'pthreads' has a pool of its
 * own), its thread count when the addon loaded, and whether the addon limited a pthreads pool to
 * the calling thread (it does unless OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or TSNAS_KEEP_BLAS is set).
 */
/** Counters of the addon's caching CPU allocator (native/src/alloc.cc), bytes. */
export interface MemoryCacheStats {
  /** Tensor buffers of 1 MiB or more served from a freed block / newly mapped. */
  hits: number;
  misses: number;
  /** Bytes in large blocks held by live tensors. */
  liveBytes: number;
  /** Bytes in freed blocks kept for reuse (at most limitBytes; TSNAS_CPU_CACHE_MB). */
  idleBytes: number;
  /** liveBytes + idleBytes. */
  mappedBytes: number;
  limitBytes: number;
}
export interface BlasInfo {
  openblas: string;
  threading: 'openmp' | 'pthreads' | 'sequential' | 'unknown';
  threadsAtLoad: number;
  limited: boolean;
}
type H = Handle;
type Opt = H | null | undefined;
type Num = H | number;

export interface NativeAddon {
  setErrorFactory(f: (code: string, message: string, details: Record<string, unknown> | null) => Error): void;
  dispose(h: H): void;
  /** Reports the tensor's storage to V8 as external memory (for GC-owned tensors only). */
  account(h: H): void;
  /** V8's external-memory count for this isolate, in bytes (what account() adds to). */
  externalMemory(): number;
  liveTensors(): number;
  trimMemory(): number;
  memoryCacheStats(): MemoryCacheStats;
  shape(h: H): number[];
  dtype(h: H): number;
  numel(h: H): number;
  toString(h: H): string;
  fromTyped(data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array, shape: readonly number[], dtype: number): H;
  toTyped(h: H): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  toFloat64(h: H): Float64Array;
  item(h: H): number | boolean;
  full(shape: readonly number[], value: number | boolean, dtype: number): H;
  arange(start: number, end: number, step: number, dtype: number): H;
  linspace(start: number, end: number, steps: number, dtype: number): H;
  eye(n: number, dtype: number): H;
  fullLike(h: H, value: number | boolean): H;
  setRequiresGrad(h: H, v: boolean): void;
  requiresGrad(h: H): boolean;
  isLeaf(h: H): boolean;
  grad(h: H): H | undefined;
  setGrad(h: H, g: Opt): void;
  zeroGrad(h: H): void;
  zeroGrads(hs: H[]): void;
  backward(h: H, grad: Opt, retainGraph: boolean): void;
  autogradGrad(outputs: H[], inputs: H[], createGraph: boolean, retainGraph: boolean): (H | undefined)[];
  detach(h: H): H;
  setGradEnabled(v: boolean): boolean;
  isGradEnabled(): boolean;
  genNew(seed: number): GenHandle;
  genSeed(g: GenHandle, seed: number): void;
  genGetState(g: GenHandle): Uint8Array;
  genSetState(g: GenHandle, s: Uint8Array): void;
  randn(g: GenHandle, shape: readonly number[], dtype: number): H;
  rand(g: GenHandle, shape: readonly number[], dtype: number): H;
  randint(g: GenHandle, low: number, high: number, shape: readonly number[]): H;
  randperm(g: GenHandle, n: number): H;
  bernoulli(g: GenHandle, probs: H): H;
  normal_(g: GenHandle, h: H, mean: number, std: number): void;
  uniform_(g: GenHandle, h: H, lo: number, hi: number): void;
  multinomial(g: GenHandle, probs: H, n: number, replacement: boolean): H;
  setNumThreads(n: number): void;
  /** The BLAS libtorch's matmuls run on, as the addon found it when it loaded (native/src/addon.cc tuneBlas). */
  blasInfo(): BlasInfo;
  getNumThreads(): number;
  /**
   * The calling thread's intra-op count for the calls that follow, without resizing QNNPACK's
   * pthreadpool (native/src/graph.cc callThreads; n == 1 bypasses that pool); returns the previous
   * count. For narrowing one call (src/tensor/thread-choice.ts), restored with callThreads(previous).
   */
  callThreads(n: number): number;
  setNumInteropThreads(n: number): void;
  getNumInteropThreads(): number;

  unary(code: number, h: H): H;
  binary(code: number, a: H, b: H): H;
  binaryScalar(code: number, a: H, b: number | boolean): H;
  rbinary(code: number, a: number, b: H): H;
  binaryInplace(code: number, a: H, b: Num, bIsTensor: boolean): void;
  addScaled(a: H, b: H, alpha: number): H;
  copy_(dst: H, src: H): void;
  fill_(h: H, v: number | boolean): void;
  where(c: H, a: Num, b: Num, aIsTensor: boolean, bIsTensor: boolean): H;
  clamp(h: H, lo: number | null, hi: number | null): H;
  maskedFill(h: H, mask: H, v: number | boolean): H;
  leakyRelu(h: H, slope: number): H;
  reduce(code: number, h: H, dims: readonly number[] | null, keepdim: boolean): H;
  maxDim(h: H, dim: number, keepdim: boolean): [H, H];
  minDim(h: H, dim: number, keepdim: boolean): [H, H];
  argmax(h: H, dim: number | null, keepdim: boolean): H;
  argmin(h: H, dim: number | null, keepdim: boolean): H;
  varStd(isStd: boolean, h: H, dims: readonly number[] | null, unbiased: boolean, keepdim: boolean): H;
  cumsum(h: H, dim: number): H;
  sort(h: H, dim: number, descending: boolean): [H, H];
  topk(h: H, k: number, dim: number, largest: boolean): [H, H];
  reshape(h: H, shape: readonly number[]): H;
  view(h: H, shape: readonly number[]): H;
  permute(h: H, dims: readonly number[]): H;
  transpose(h: H, d0: number, d1: number): H;
  cat(hs: H[], dim: number): H;
  stack(hs: H[], dim: number): H;
  slice(h: H, dim: number, start: number, end: number | null, step: number): H;
  select(h: H, dim: number, index: number): H;
  indexSelect(h: H, dim: number, index: H): H;
  gather(h: H, dim: number, index: H): H;
  scatter(h: H, dim: number, index: H, src: H): H;
  scatterAdd(h: H, dim: number, index: H, src: H): H;
  maskedSelect(h: H, mask: H): H;
  flatten(h: H, start: number, end: number): H;
  squeeze(h: H, dim: number | null): H;
  unsqueeze(h: H, dim: number): H;
  expand(h: H, shape: readonly number[]): H;
  repeat(h: H, reps: readonly number[]): H;
  flip(h: H, dims: readonly number[]): H;
  contiguous(h: H): H;
  clone(h: H): H;
  toDtype(h: H, dtype: number): H;
  split(h: H, sizes: number | readonly number[], dim: number): H[];
  oneHot(h: H, n: number): H;
  tril(h: H, k: number): H;
  triu(h: H, k: number): H;
  matmul(a: H, b: H): H;
  mm(a: H, b: H): H;
  bmm(a: H, b: H): H;
  linear(x: H, w: H, b: Opt): H;
  outer(a: H, b: H): H;

  conv2d(x: H, w: H, b: Opt, stride: number[], padding: number[], dilation: number[], groups: number): H;
  conv1d(x: H, w: H, b: Opt, stride: number[], padding: number[], dilation: number[], groups: number): H;
  convTranspose2d(x: H, w: H, b: Opt, stride: number[], padding: number[], outputPadding: number[], groups: number, dilation: number[]): H;
  maxPool2d(x: H, k: number[], s: number[], p: number[], d: number[], ceil: boolean): H;
  avgPool2d(x: H, k: number[], s: number[], p: number[], ceil: boolean, countIncludePad: boolean): H;
  adaptiveAvgPool2d(x: H, out: number[]): H;
  adaptiveMaxPool2d(x: H, out: number[]): H;
  batchNorm(x: H, w: Opt, b: Opt, rm: Opt, rv: Opt, training: boolean, momentum: number, eps: number): H;
  layerNorm(x: H, shape: readonly number[], w: Opt, b: Opt, eps: number): H;
  groupNorm(x: H, groups: number, w: Opt, b: Opt, eps: number): H;
  dropout(g: GenHandle, x: H, p: number, training: boolean): H;
  softmax(x: H, dim: number): H;
  logSoftmax(x: H, dim: number): H;
  crossEntropy(logits: H, target: H, reduction: number, labelSmoothing: number, weight: Opt, ignoreIndex: number): H;
  nllLoss(logp: H, target: H, reduction: number, weight: Opt, ignoreIndex: number): H;
  mseLoss(a: H, b: H, reduction: number): H;
  l1Loss(a: H, b: H, reduction: number): H;
  smoothL1Loss(a: H, b: H, reduction: number, beta: number): H;
  bceWithLogits(logits: H, target: H, reduction: number, posWeight: Opt): H;
  lstmCell(x: H, h: H, c: H, wIh: H, wHh: H, bIh: Opt, bHh: Opt): [H, H];
  gruCell(x: H, h: H, wIh: H, wHh: H, bIh: Opt, bHh: Opt): H;
  embedding(w: H, idx: H): H;
  pad(x: H, pads: readonly number[], mode: number, value: number): H;

  optimNew(kind: number, params: H[], opts: Record<string, number | boolean>): OptimHandle;
  optimStep(o: OptimHandle): void;
  optimZeroGrad(o: OptimHandle): void;
  optimSetLr(o: OptimHandle, lr: number): void;
  optimGetLr(o: OptimHandle): number;
  optimState(o: OptimHandle): { steps: number[]; buffers: [(H | undefined)[], (H | undefined)[], (H | undefined)[]] };
  optimLoadState(o: OptimHandle, steps: number[], buffers: (H | undefined)[][]): void;
  clipGradNorm(params: H[], maxNorm: number, normType: number): number;
  gradNorm(params: H[]): number;

  graphNew(code: GraphInstr[], nregs: number, output: number, params: H[], opts: { channelsLast: boolean; poolKernel?: boolean; bnKernel?: boolean; stepThreads?: 'auto' | 'all' }): GraphHandle;
  graphFree(g: GraphHandle): void;
  graphForward(g: GraphHandle, x: H, training: boolean): H;
  graphInfer(g: GraphHandle, x: H, fold: boolean): H;
  graphTrainStep(g: GraphHandle, x: Float32Array | H, shape: readonly number[], y: Int32Array | H, optim: OptimHandle | undefined, opts: { labelSmoothing?: number; clip?: number }): [number, number, number];
  graphEvalBatch(g: GraphHandle, x: Float32Array | H, shape: readonly number[], y: Int32Array | H, fold: boolean): [number, Int32Array];
}

/**
 * Sets the thread environment libgomp and libtorch read when the addon loads. Runs at import (not
 * at the lazy load below), so the environment is the same whenever the addon loads, and
 * src/run/pool.ts, which reads the marker to size its workers' pools, sees it before any tensor.
 */
function defaultThreadEnv(): void {
  // libgomp reads these when libtorch loads. After each parallel region its threads wait for the
  // next one: spinning (libgomp's default: ~300,000 iterations) made 2-thread training 6x slower on
  // a machine shared with other processes (NB201 training, 2 cores, ~12 runnable processes), which
  // is how NAS workers and CI run; sleeping at once (passive) costs a futex wake per region, which
  // dominates small ops (MLP step: 45k samples/s passive vs 65k with a short spin, idle machine).
  // A short spin of 1,000 iterations keeps nearly all of the idle gain and loses nothing when
  // oversubscribed (3 NB201 trainers on 2 cores: 127 samples/s in total vs 120 passive and 81 with
  // a 10,000 spin). An explicit OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment wins.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.GOMP_SPINCOUNT ??= '1000';
  // libtorch's default intra-op thread count comes from OMP_NUM_THREADS, else from cpuinfo's core
  // count, which is 1 on this 2-vCPU VM (PyTorch from Python reports 1 too): training would use
  // half the machine unless every caller set threads. Default to the CPUs this process may use;
  // local worker pools divide them among their workers (src/run/pool.ts, which reads the marker).
  if (process.env.OMP_NUM_THREADS === undefined) {
    process.env.OMP_NUM_THREADS = String(availableParallelism());
    process.env.TSNAS_THREADS_DEFAULTED = '1';
  }
}
defaultThreadEnv();

/** The addon file, relative to this module (src/tensor or dist/tensor). */
export const ADDON_PATH = '../../native/build/Release/tsnas_native.node';

function load(): NativeAddon {
  // Absolute, so an error names the file itself, not a path relative to dist/tensor or src/tensor.
  const path = fileURLToPath(new URL(ADDON_PATH, import.meta.url));
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    // Not built yet (a fresh clone before `npm run build`) vs built but not loadable (libtorch's
    // shared libraries missing or of another version): different fixes.
    const notBuilt = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && !existsSync(path);
    throw new NasError(
      'native_error',
      notBuilt ? `the libtorch addon is not built: ${path} does not exist` : `cannot load the libtorch addon ${path}: ${(e as Error).message.split('\n')[0]}`,
      {
        hint: notBuilt
          ? 'run `npm run build` (or `npm run build:native`; scripts/setup does both and installs libtorch-dev)'
          : 'rebuild it against the installed libtorch with `npm run build:native` (needs libtorch-dev; see native/README.md)',
        cause: e,
      },
    );
  }
  addon.setErrorFactory((code, message, details) => {
    const c = code as ErrorCode;
    const hint =
      c === 'shape_mismatch'
        ? 'check the shapes of the inputs named in the message'
        : c === 'disposed'
          ? 'keep() the tensor or return it from tidy() to use it later'
          : undefined;
    return new NasError(c, message, { details: details ?? undefined, hint });
  });
  return addon;
}

let loaded: NativeAddon | null = null;
function loadOnce(): NativeAddon {
  if (loaded === null) {
    loaded = load();
    native = loaded;
  }
  return loaded;
}

/**
 * The addon. Loaded on the first use of any of its functions, not at import: loading it dlopens
 * libtorch (seconds on a cold cache), which a process that only has tensors somewhere in its module
 * graph never needs (the dashboard server, the CLI's store and report commands). `native` is a live
 * ESM binding: until the first use it is a Proxy whose first property read loads the addon (a load
 * failure throws NasError `native_error` there) and rebinds `native` to the addon object itself, so
 * every later `native.f(...)` reads the addon directly, with no Proxy on the hot path. Modules must
 * therefore read `native` at each use, never keep it in a variable of their own.
 */
export let native: NativeAddon = new Proxy({} as NativeAddon, {
  get: (_t, key) => Reflect.get(loadOnce(), key) as unknown,
  has: (_t, key) => Reflect.has(loadOnce(), key),
});

/** Whether this process has loaded the addon yet (see `native`). */
export function nativeLoaded(): boolean {
  return loaded !== null;
}
