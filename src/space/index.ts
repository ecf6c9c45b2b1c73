export * from './dsl.js';
export { ENCODINGS, type EncodingKind, dagEdges, dagFunction } from './engine.js';
export * from './space.js';
export * from './nb201.js';
export * from './chain-cnn.js';
export * from './darts.js';
export * from './mlp.js';
export * from './joint.js';
export * from './registry.js';
