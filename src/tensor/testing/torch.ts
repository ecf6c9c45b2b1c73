/**
 * Test helper: runs scripts/torch/parity.py with Debian's /usr/bin/python3 (python3-torch) and
 * compares tsnas results to PyTorch's. `torchAvailable()` is false only when python3-torch is
 * absent; tests then skip with that reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Tensor } from '../index.js';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../../scripts/torch/parity.py', import.meta.url));

let available: boolean | undefined;
export function torchAvailable(): boolean {
  available ??= existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  return available;
}
export const SKIP_REASON = 'python3-torch is not installed (/usr/bin/python3 -c "import torch" fails); apt-get install python3-torch';

export function runTorch<R>(mode: string, cases: unknown[]): R[] {
  const r = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify({ mode, cases }), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`parity.py failed (${r.status}): ${r.stderr}`);
  // Non-finite numbers travel as strings ('nan', 'inf', '-inf') both ways.
  return (JSON.parse(r.stdout, (_k, v) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v)) as { results: R[] }).results;
}

export interface Encoded {
  data: number[];
  shape: number[];
  dtype: string;
  grad?: boolean;
}
export function enc(t: Tensor, grad = false): Encoded {
  return { data: t.toArray().map((v) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf')) as number[], shape: [...t.shape], dtype: t.dtype, grad };
}

/** The cotangent parity.py uses: sin(0.37 * i + 0.1) in float64, cast to float32, shaped like t. */
export function cot(t: Tensor): Tensor {
  return Tensor.arange(0, t.numel, 1, 'float64').mul(0.37).add(0.1).sin().to('float32').reshape(t.shape);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) assert.fail(`${what}: element ${i}: tsnas ${a} vs torch ${e}`);
  }
}
