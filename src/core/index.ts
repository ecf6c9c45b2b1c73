export * from './errors.js';
export * from './ids.js';
export * from './json.js';
export * from './rng.js';
export * from './arch.js';
export * from './metrics.js';
export * from './paths.js';
