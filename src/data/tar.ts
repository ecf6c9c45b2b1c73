/**
 * Minimal ustar reader: enough to take regular files out of a (gunzipped) archive such as
 * cifar-10-binary.tar.gz without shelling out. Checks header checksums and member bounds.
 */
import { dataError } from './errors.js';

export interface TarMember {
  readonly name: string;
  readonly data: Uint8Array;
}

function field(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('utf8');
}

function octal(b: Uint8Array, off: number, len: number): number {
  const s = field(b, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

export function readTar(bytes: Uint8Array, file: string): TarMember[] {
  const out: TarMember[] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= bytes.length) {
    const h = bytes.subarray(off, off + 512);
    if (h.every((v) => v === 0)) break; // end-of-archive marker
    const stored = octal(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
    if (sum !== stored) throw dataError(file, `tar header checksum mismatch (stored ${stored}, computed ${sum})`, { offset: off });
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = field(h, 345, 155);
    let name = prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100);
    if (longName !== undefined) {
      name = longName;
      longName = undefined;
    }
    const start = off + 512;
    if (start + size > bytes.length)
      throw dataError(file, `tar member ${name} (${size} bytes) runs past the end of the archive`, { offset: start });
    const data = bytes.subarray(start, start + size);
    if (type === 'L') longName = field(data, 0, size);
    else if (type === '0') out.push({ name, data });
    off = start + Math.ceil(size / 512) * 512;
  }
  return out;
}
