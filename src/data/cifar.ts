/**
 * CIFAR-10 "binary version" batches: each file is a sequence of 3073-byte records, one label byte
 * (0-9) then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major 32x32), i.e. already CHW.
 * Training = data_batch_1..5.bin (50,000), test = test_batch.bin (10,000).
 */
import { readFileSync } from 'node:fs';
import { dataError } from './errors.js';
import type { Dataset } from './types.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const CIFAR_RECORD = 3073;
const PIXELS = 3072;

export function parseCifarBatches(files: readonly { file: string; bytes: Uint8Array }[], name: string): Dataset {
  let n = 0;
  for (const { file, bytes } of files) {
    if (bytes.length === 0) throw dataError(file, 'empty CIFAR-10 batch file', { offset: 0 });
    if (bytes.length % CIFAR_RECORD !== 0) {
      const whole = Math.floor(bytes.length / CIFAR_RECORD);
      throw dataError(
        file,
        `truncated or corrupt: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD}-byte records (record ${whole} is incomplete)`,
        { offset: whole * CIFAR_RECORD, hint: 'the file is incomplete; download or extract it again' },
      );
    }
    n += bytes.length / CIFAR_RECORD;
  }
  const x = new Uint8Array(n * PIXELS);
  const y = new Int32Array(n);
  let k = 0;
  for (const { file, bytes } of files) {
    const records = bytes.length / CIFAR_RECORD;
    for (let r = 0; r < records; r++, k++) {
      const off = r * CIFAR_RECORD;
      const label = bytes[off] as number;
      if (label > 9) throw dataError(file, `label ${label} of record ${r} is out of range [0, 10)`, { offset: off });
      y[k] = label;
      x.set(bytes.subarray(off + 1, off + CIFAR_RECORD), k * PIXELS);
    }
  }
  return { name, x, y, shape: [3, 32, 32], numClasses: 10, classNames: CIFAR10_CLASSES };
}

export function readCifarBatches(files: readonly string[], name: string): Dataset {
  return parseCifarBatches(
    files.map((file) => {
      try {
        const b = readFileSync(file);
        return { file, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
      } catch (e) {
        throw dataError(file, `cannot read CIFAR-10 batch (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
      }
    }),
    name,
  );
}
