/** libtorch thread pools. The intra-op pool (OpenMP) parallelises one op; set it once at start-up. */
import { NasError } from '../core/errors.js';
import { native, type BlasInfo, type MemoryCacheStats } from './native.js';

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new NasError('invalid_config', `thread count must be a positive integer, got ${n}`, { field: 'threads' });
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** The inter-op pool size; libtorch allows setting it only once, before any parallel work. */
export function setNumInteropThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new NasError('invalid_config', `thread count must be a positive integer, got ${n}`, { field: 'interopThreads' });
  native.setNumInteropThreads(n);
}
export function getNumInteropThreads(): number {
  return native.getNumInteropThreads();
}
/** Native tensors not yet disposed or collected (for leak tests). */
export function liveTensors(): number {
  return native.liveTensors();
}
/**
 * Gives idle memory back to the system: the freed tensor buffers the addon's caching allocator keeps
 * for reuse (native/src/alloc.cc: buffers of 1 MiB or more; without reuse glibc maps, faults in and
 * unmaps large activations on every op) and glibc's free heap (malloc_trim). Training runs call it
 * when they end. Returns the bytes the cache released.
 */
export function trimMemory(): number {
  return native.trimMemory();
}
/** The caching allocator's counters (hits, misses, live/idle/mapped bytes, limit). */
export function memoryCacheStats(): MemoryCacheStats {
  return native.memoryCacheStats();
}
/**
 * The BLAS libtorch's matmuls run on and its threading (see BlasInfo). With OpenBLAS's pthreads
 * build the addon limits its pool to one thread at load (`limited`), since a second pool next to
 * libtorch's OpenMP threads oversubscribes the cores; `scripts/setup` selects the OpenMP build.
 */
export function blasInfo(): BlasInfo {
  return native.blasInfo();
}
