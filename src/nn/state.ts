/**
 * State-dict files. Format "tsnas state dict v1" (little-endian):
 *
 *   offset 0   8 bytes   magic ASCII "TSNASSD1"
 *   offset 8   uint32    H = byte length of the JSON header
 *   offset 12  H bytes   UTF-8 JSON {"format":"tsnas-state-dict","version":1,"meta":{...},
 *                          "tensors":[{"name","dtype","shape","offset","length"}...]}
 *   then       padding to a multiple of 8, then the data section: each tensor's elements in
 *              row-major order (float32/float64/int32/int64 native little-endian, bool/uint8 one
 *              byte each), at `offset` bytes from the start of the data section (8-aligned),
 *              `length` bytes long.
 *
 * Names are PyTorch's dotted state-dict keys, so a file maps 1:1 onto a torch state_dict
 * (scripts/torch/ reads it with numpy). Files are written atomically (temp file + rename).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { NasError, storageError } from '../core/errors.js';
import { holdPartial } from '../core/partial.js';
import { Tensor, type DType } from '../tensor/index.js';
import type { Module } from './module.js';

const MAGIC = 'TSNASSD1';
const ITEM: Record<DType, number> = { float32: 4, float64: 8, int32: 4, int64: 8, bool: 1, uint8: 1 };

export interface StateDictEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  length: number;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

export function encodeStateDict(sd: ReadonlyMap<string, Tensor>, meta: Record<string, unknown> = {}): Buffer {
  const entries: StateDictEntry[] = [];
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of sd) {
    const data = t.toTypedArray();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset: off, length: bytes.byteLength });
    chunks.push(bytes);
    off = align8(off + bytes.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ format: 'tsnas-state-dict', version: 1, meta, tensors: entries }), 'utf8');
  const dataStart = align8(12 + header.byteLength);
  const out = Buffer.alloc(dataStart + off);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(header.byteLength, 8);
  header.copy(out, 12);
  entries.forEach((e, i) => out.set(chunks[i]!, dataStart + e.offset));
  return out;
}

export function decodeStateDict(buf: Uint8Array, source = 'state dict'): { tensors: Map<string, Tensor>; meta: Record<string, unknown> } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string): never => {
    throw new NasError('data_error', `${source} is not a valid tsnas state dict: ${why}`, { hint: 'the file must be written by saveStateDict / encodeStateDict' });
  };
  if (b.byteLength < 12 || b.toString('ascii', 0, 8) !== MAGIC) bad('bad magic');
  const h = b.readUInt32LE(8);
  if (12 + h > b.byteLength) bad('truncated header');
  let header: { version?: number; meta?: Record<string, unknown>; tensors?: StateDictEntry[] };
  try {
    header = JSON.parse(b.toString('utf8', 12, 12 + h));
  } catch {
    return bad('unreadable header');
  }
  if (header.version !== 1 || !Array.isArray(header.tensors)) bad(`unsupported version ${header.version}`);
  const dataStart = align8(12 + h);
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of header.tensors!) {
      const item = ITEM[e.dtype];
      if (!item) bad(`unknown dtype ${e.dtype} of ${e.name}`);
      const numel = e.shape.reduce((a, c) => a * c, 1);
      if (numel * item !== e.length || dataStart + e.offset + e.length > b.byteLength) bad(`truncated or inconsistent entry ${e.name}`);
      const start = b.byteOffset + dataStart + e.offset;
      const ab = b.buffer.slice(start, start + e.length) as ArrayBuffer; // an aligned copy
      const typed =
        e.dtype === 'float32' ? new Float32Array(ab)
        : e.dtype === 'float64' ? new Float64Array(ab)
        : e.dtype === 'int32' ? new Int32Array(ab)
        : e.dtype === 'int64' ? new BigInt64Array(ab)
        : new Uint8Array(ab);
      tensors.set(e.name, Tensor.fromArray(typed, e.shape, e.dtype));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, meta: header.meta ?? {} };
}

/** Writes a state dict file (atomically). */
export function saveStateDict(path: string, sd: ReadonlyMap<string, Tensor>, meta: Record<string, unknown> = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  // Removed on an error, and on SIGINT/SIGTERM or exit while written (core/partial.ts).
  const release = holdPartial(tmp);
  try {
    writeFileSync(tmp, encodeStateDict(sd, meta));
    renameSync(tmp, path);
    release();
  } catch (e) {
    rmSync(tmp, { force: true });
    release();
    if (e instanceof NasError) throw e;
    throw storageError('io', `cannot write state dict ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads a state dict file; the caller owns (disposes) the returned tensors. */
export function loadStateDict(path: string): { tensors: Map<string, Tensor>; meta: Record<string, unknown> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new NasError('not_found', `cannot read state dict ${path}: ${(e as Error).message}`, { cause: e });
  }
  return decodeStateDict(buf, path);
}

/** Saves a module's parameters and buffers. */
export function saveModule(path: string, m: Module<any, any>, meta: Record<string, unknown> = {}): void {
  saveStateDict(path, m.stateDict(), meta);
}

/** Loads a file saved by saveModule into a module of the same architecture; returns the file's meta. */
export function loadModule(path: string, m: Module<any, any>, opts: { strict?: boolean } = {}): Record<string, unknown> {
  const { tensors, meta } = loadStateDict(path);
  try {
    m.loadStateDict(tensors, opts);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return meta;
}
