/** tsnas nn: modules, layers, initialisation, optimizers, LR schedules, state-dict files. */
export { Module, type Layer } from './module.js';
export * from './layers.js';
export * as init from './init.js';
export { SGD, Adam, AdamW, Optimizer, clipGradNorm, type SgdOptions, type AdamOptions, type OptimizerState } from './optim.js';
export { LrScheduler, lrAt, validateSchedule, type LrSchedule } from './schedule.js';
export { encodeStateDict, decodeStateDict, saveStateDict, loadStateDict, saveModule, loadModule, type StateDictEntry } from './state.js';
