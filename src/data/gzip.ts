import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dataError } from './errors.js';

/** Reads a file, transparently gunzipping it when it starts with the gzip magic bytes 1f 8b. */
export function readMaybeGzip(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw dataError(file, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(e)})`, { cause: e });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const out = gunzipSync(raw);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      throw dataError(file, `corrupt or truncated gzip stream (${(e as Error).message})`, {
        hint: 'download the file again',
        cause: e,
      });
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}
