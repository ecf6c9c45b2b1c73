/**
 * tsnas tensor engine: typed tensors over libtorch with autograd, explicit lifetimes (tidy/dispose),
 * seeded generators and thread control. See native/README.md for the build.
 */
export { Tensor, type DType, type Shape, type TypedData, type Operand, type Dims } from './tensor.js';
export { tidy, keep, scopeDepth } from './scope.js';
export { Generator } from './generator.js';
export { noGrad, enableGrad, isGradEnabled, zeroGrads, clipGradNorm, gradNorm } from './autograd.js';
export { setNumThreads, getNumThreads, setNumInteropThreads, getNumInteropThreads, liveTensors } from './threads.js';
export * from './functional.js';
