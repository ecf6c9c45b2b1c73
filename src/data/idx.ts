/**
 * The idx-ubyte format of MNIST and Fashion-MNIST (optionally gzipped): bytes 0-1 zero, byte 2 the
 * element type (only 0x08 = unsigned byte is used by these datasets), byte 3 the number of
 * dimensions, then one big-endian uint32 per dimension, then the data. Every size is checked so a
 * truncated or corrupted file is a `data_error` naming the file and the offset, never garbage.
 */
import { dataError } from './errors.js';
import { readMaybeGzip } from './gzip.js';
import type { Dataset } from './types.js';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw dataError(file, `file is ${bytes.length} bytes, shorter than the 4-byte idx header`, { offset: 0 });
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw dataError(file, `bad idx magic number: first two bytes must be 0, got ${bytes[0]}, ${bytes[1]}`, {
      offset: 0,
      hint: 'is this an idx-ubyte file (e.g. train-images-idx3-ubyte.gz)?',
    });
  const type = bytes[2] as number;
  if (type !== 0x08)
    throw dataError(file, `unsupported idx element type 0x${type.toString(16).padStart(2, '0')} (only 0x08 unsigned byte)`, { offset: 2 });
  const ndims = bytes[3] as number;
  if (ndims < 1 || ndims > 4) throw dataError(file, `idx header declares ${ndims} dimensions (expected 1 to 4)`, { offset: 3 });
  const headerEnd = 4 + 4 * ndims;
  if (bytes.length < headerEnd)
    throw dataError(file, `truncated header: ${ndims} dimensions need ${headerEnd} bytes, file has ${bytes.length}`, {
      offset: bytes.length,
    });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const v = view.getUint32(4 + 4 * d, false);
    if (v === 0) throw dataError(file, `dimension ${d} is 0`, { offset: 4 + 4 * d });
    dims.push(v);
    count *= v;
  }
  const expected = headerEnd + count;
  if (bytes.length < expected)
    throw dataError(
      file,
      `truncated: header declares dims [${dims.join(', ')}] = ${count} bytes of data, but the data ends after ${bytes.length - headerEnd}`,
      { offset: bytes.length, hint: 'the file is incomplete; download it again' },
    );
  if (bytes.length > expected)
    throw dataError(file, `${bytes.length - expected} unexpected trailing bytes after the declared data [${dims.join(', ')}]`, {
      offset: expected,
    });
  return { dims, data: bytes.subarray(headerEnd, expected) };
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}

/**
 * An images file (N x H x W) and a labels file (N) as one dataset of `[1, H, W]` byte images.
 * Labels must be in [0, numClasses).
 */
export function readIdxPair(imagesFile: string, labelsFile: string, name: string, numClasses = 10, classNames?: readonly string[]): Dataset {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3)
    throw dataError(imagesFile, `expected a 3-d idx array (N x H x W) of images, got dims [${images.dims.join(', ')}]`, { offset: 3 });
  if (labels.dims.length !== 1)
    throw dataError(labelsFile, `expected a 1-d idx array of labels, got dims [${labels.dims.join(', ')}]`, { offset: 3 });
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n)
    throw dataError(labelsFile, `has ${labels.dims[0]} labels but ${imagesFile} has ${n} images`, { offset: 4 });
  const y = new Int32Array(n);
  const labelHeader = 8;
  for (let i = 0; i < n; i++) {
    const v = labels.data[i] as number;
    if (v >= numClasses)
      throw dataError(labelsFile, `label ${v} of sample ${i} is out of range [0, ${numClasses})`, { offset: labelHeader + i });
    y[i] = v;
  }
  return { name, x: images.data, y, shape: [1, h, w], numClasses, ...(classNames ? { classNames } : {}) };
}

/** Encodes an idx-ubyte array (for tests and tools). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const v = new DataView(out.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
