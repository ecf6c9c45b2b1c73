/**
 * `npm run bench -- grasp`: tsnas's grasp (exact Hessian-vector product by double backward,
 * src/eval/proxies/grasp.ts) against PyTorch's reference computation (bench/torch_grasp.py, after
 * foresight/pruners/measures/grasp.py) on the same six MLPs (ReLU with batch norm, tanh, ReLU;
 * 12 -> 16 -> 8 -> 3, two seeds each; the weights exported from tsnas's initialisation) and the same
 * batch of 16; also the finite-difference variant with step 1e-3. Prints each value and the
 * relative difference to PyTorch (accuracy only, no timing).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';
import { graspFiniteDifference, graspProxy } from '../src/eval/proxies/grasp.js';
import { analyzeArch, buildNetwork } from '../src/nn/build/index.js';
import { Generator } from '../src/tensor/index.js';

const SCRIPT = fileURLToPath(new URL('./torch_grasp.py', import.meta.url));

export default async function main(argv: string[]): Promise<void> {
  if (argv.length) throw new Error('bench grasp takes no options');
  const spec = { shape: [12], numClasses: 3 };
  const rng = Rng.fromSeed('grasp-bench');
  const b = { x: Float32Array.from({ length: 16 * 12 }, () => rng.float() * 2 - 1), shape: [16, 12], y: Int32Array.from({ length: 16 }, (_, i) => i % 3) };
  const nets: unknown[] = [];
  for (const [act, bn] of [['relu', true], ['tanh', false], ['relu', false]] as const)
    for (const seed of [1, 2]) {
      const arch = { family: 'mlp' as const, hidden: [16, 8], activation: act, batchNorm: bn, dropout: 0 };
      const build = () => buildNetwork(arch, spec, { gen: new Generator(seed) }).module;
      const pi = { build, sampleShape: spec.shape, numClasses: 3, batch: b, costs: analyzeArch(arch, spec, {}), gen: () => new Generator(9) };
      const net = build();
      const sd: Record<string, { shape: number[]; data: number[] }> = {};
      for (const [k, v] of net.stateDict()) sd[k] = { shape: [...v.shape], data: [...v.toFloat32Array()] };
      net.dispose();
      nets.push({ act, bn, seed, sd, exact: graspProxy.compute(pi), fd1e3: graspFiniteDifference(pi, 1e-3) });
    }
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-grasp-'));
  try {
    const file = join(dir, 'nets.json');
    writeFileSync(file, JSON.stringify({ x: [...b.x], y: [...b.y], nets }));
    const lines = execFileSync('/usr/bin/python3', [SCRIPT, file], { encoding: 'utf8' }).trim().split('\n');
    console.log(`grasp: tsnas (double backward) vs PyTorch reference, 6 MLPs 12-16-8-3, batch 16`);
    console.log(`${'net'.padEnd(22)}${'pytorch'.padStart(14)}${'tsnas'.padStart(14)}${'rel diff'.padStart(10)}${'fd 1e-3'.padStart(14)}`);
    for (const l of lines) {
      const r = JSON.parse(l) as { act: string; bn: boolean; seed: number; torch: number; tsnas_exact: number; 'tsnas_fd_1e-3': number; rel_diff_exact: number };
      console.log(`${`${r.act}${r.bn ? '+bn' : ''} seed ${r.seed}`.padEnd(22)}${r.torch.toExponential(5).padStart(14)}${r.tsnas_exact.toExponential(5).padStart(14)}${r.rel_diff_exact.toExponential(1).padStart(10)}${r['tsnas_fd_1e-3'].toExponential(5).padStart(14)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
