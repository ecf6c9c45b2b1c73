/**
 * The exporter contract: an exporter describes one module class in ONNX nodes through an
 * OnnxContext. Kept apart from export.ts so the exporter tables can import it without a cycle.
 */
import type { Tensor } from '../../tensor/index.js';
import type { Module } from '../module.js';
import type { AttrValue } from './proto.js';

/** A value in the graph being built: its name and its rank (Linear, Flatten depend on it). */
export interface OnnxValue {
  readonly name: string;
  readonly rank: number;
}

/** What an exporter may do while describing its module. */
export interface OnnxContext {
  /** Dotted state-dict prefix of the module being exported (`''` at the root, else ending in `.`). */
  readonly path: string;
  /** Emits one node with one output of rank `rank`; returns that output. */
  node(opType: string, inputs: readonly (OnnxValue | string)[], rank: number, attributes?: Readonly<Record<string, AttrValue>>): OnnxValue;
  /** Registers the module's own parameter or buffer `key` (e.g. `weight`) as an initializer named `path + key`. */
  weight(key: string, t: Tensor): string;
  /** A float32 (or int64) constant initializer, shared by equal `key`s; for scalars and shape vectors. */
  constant(key: string, values: readonly number[], dims: readonly number[], dataType?: 'float' | 'int64'): string;
  /** Exports a descendant module (registered anywhere under the root) on `inputs`. */
  call(m: Module<any, any>, ...inputs: OnnxValue[]): OnnxValue;
}

/** Describes one module class in ONNX; returns the module's output value. */
export type OnnxExporter<M extends Module<any, any> = Module<any, any>> = (m: M, inputs: readonly OnnxValue[], ctx: OnnxContext) => OnnxValue;

/** A class and its exporter (`exporter(Conv2d, (m, [x], ctx) => ...)` keeps the module type). */
export interface ExporterEntry {
  readonly cls: abstract new (...args: any[]) => Module<any, any>;
  readonly fn: OnnxExporter;
}
export function exporter<M extends Module<any, any>>(cls: abstract new (...args: any[]) => M, fn: OnnxExporter<M>): ExporterEntry {
  return { cls, fn: fn as OnnxExporter };
}
