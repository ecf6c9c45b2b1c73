/**
 * Test fixture only (excluded from the build): a small but real evaluator that trains MLPs on the
 * shared 8x8 digits data in plain TypeScript (mini-batch SGD with momentum, softmax cross-entropy),
 * so the dashboard's tests have genuine per-epoch learning curves without the native engine.
 * Every number it reports is measured on this data: train/val loss and accuracy per epoch.
 * Honoured arch fields: hidden widths, activation, dropout. batchNorm is not implemented here, so
 * an arch with batchNorm: true fails as `invalid_arch` (the fixture proposes none).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { MlpArch } from '../../core/arch.js';
import { Rng } from '../../core/rng.js';
import type { EvalOutcome, EvalRequest, Evaluator, Progress } from '../../eval/types.js';

interface Split {
  readonly x: Float64Array[];
  readonly y: number[];
}

/** A seeded split of the digits rows: `nTrain` for training, `nVal` for validation (disjoint). */
export function loadDigitsSplit(path: string, seed: number, nTrain = 500, nVal = 300): { train: Split; val: Split } {
  const lines = gunzipSync(readFileSync(path)).toString('utf8').trim().split('\n');
  const rows = lines.map((l) => l.split(',').map(Number));
  const rng = Rng.fromSeed(seed);
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pick = (idx: number[]): Split => ({
    x: idx.map((i) => Float64Array.from(rows[i]!.slice(0, 64), (v) => v / 16)),
    y: idx.map((i) => rows[i]![64]!),
  });
  return { val: pick(order.slice(0, nVal)), train: pick(order.slice(nVal, nVal + nTrain)) };
}

type Act = MlpArch['activation'];
const act = (a: Act, z: number): number => {
  switch (a) {
    case 'relu':
      return z > 0 ? z : 0;
    case 'tanh':
      return Math.tanh(z);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'silu':
      return z / (1 + Math.exp(-z));
    case 'gelu':
      return 0.5 * z * (1 + Math.tanh(0.7978845608 * (z + 0.044715 * z * z * z)));
  }
};
const dact = (a: Act, z: number): number => {
  const e = 1e-4;
  if (a === 'relu') return z > 0 ? 1 : 0;
  if (a === 'tanh') return 1 - Math.tanh(z) ** 2;
  if (a === 'sigmoid') {
    const s = 1 / (1 + Math.exp(-z));
    return s * (1 - s);
  }
  return (act(a, z + e) - act(a, z - e)) / (2 * e);
};

export function digitsMlpEvaluator(data: { train: Split; val: Split }, epochs: number): Evaluator<MlpArch> {
  return {
    name: 'digits-mlp (fixture trainer)',
    metricNames: ['train_loss', 'train_acc', 'val_loss', 'val_acc', 'params', 'flops'],
    maxBudget: epochs,
    async evaluate(req: EvalRequest<MlpArch>): Promise<EvalOutcome> {
      const a = req.arch;
      if (a.batchNorm) return { status: 'failed', reason: 'invalid_arch', message: 'the fixture trainer has no batch norm', curve: [] };
      const sizes = [64, ...a.hidden, 10];
      const rng = Rng.fromSeed(req.seed);
      const W: Float64Array[] = [];
      const B: Float64Array[] = [];
      const VW: Float64Array[] = [];
      const VB: Float64Array[] = [];
      for (let l = 0; l + 1 < sizes.length; l++) {
        const [n, m] = [sizes[l]!, sizes[l + 1]!];
        const scale = Math.sqrt(2 / n);
        W.push(Float64Array.from({ length: n * m }, () => rng.normal() * scale));
        B.push(new Float64Array(m));
        VW.push(new Float64Array(n * m));
        VB.push(new Float64Array(m));
      }
      const params = W.reduce((s, w) => s + w.length, 0) + B.reduce((s, b) => s + b.length, 0);
      const flops = 2 * W.reduce((s, w) => s + w.length, 0);
      const L = W.length;
      // forward one sample; returns pre-activations and activations per layer
      const forward = (x: Float64Array, train: boolean): { zs: Float64Array[]; hs: Float64Array[]; masks: (Float64Array | null)[] } => {
        const hs = [x];
        const zs: Float64Array[] = [];
        const masks: (Float64Array | null)[] = [];
        for (let l = 0; l < L; l++) {
          const [n, m] = [sizes[l]!, sizes[l + 1]!];
          const h = hs[l]!;
          const z = Float64Array.from(B[l]!);
          const w = W[l]!;
          for (let i = 0; i < n; i++) {
            const hi = h[i]!;
            if (hi === 0) continue;
            const row = i * m;
            for (let j = 0; j < m; j++) z[j]! += hi * w[row + j]!;
          }
          zs.push(z);
          if (l === L - 1) {
            hs.push(z);
            masks.push(null);
          } else {
            const o = z.map((v) => act(a.activation, v));
            let mask: Float64Array | null = null;
            if (train && a.dropout > 0) {
              mask = Float64Array.from(o, () => (rng.float() < a.dropout ? 0 : 1 / (1 - a.dropout)));
              for (let j = 0; j < m; j++) o[j]! *= mask[j]!;
            }
            masks.push(mask);
            hs.push(o);
          }
        }
        return { zs, hs, masks };
      };
      const softmax = (z: Float64Array): Float64Array => {
        const mx = Math.max(...z);
        const e = z.map((v) => Math.exp(v - mx));
        const s = e.reduce((p, q) => p + q, 0);
        return e.map((v) => v / s);
      };
      const evalSplit = (s: Split): { loss: number; acc: number } => {
        let loss = 0;
        let ok = 0;
        s.x.forEach((x, k) => {
          const p = softmax(forward(x, false).hs[L]!);
          loss -= Math.log(Math.max(p[s.y[k]!]!, 1e-12));
          if (p.indexOf(Math.max(...p)) === s.y[k]) ok++;
        });
        return { loss: loss / s.x.length, acc: (100 * ok) / s.x.length };
      };
      const curve: Progress[] = [];
      const budget = req.budget ?? epochs;
      const lr = 0.05;
      const mom = 0.9;
      const bs = 32;
      const order = data.train.x.map((_, i) => i);
      for (let ep = 1; ep <= budget; ep++) {
        if (req.signal?.aborted) return { status: 'failed', reason: 'aborted', message: 'aborted', curve };
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(0, i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        let trainLoss = 0;
        let trainOk = 0;
        for (let b0 = 0; b0 < order.length; b0 += bs) {
          const batch = order.slice(b0, b0 + bs);
          const gW = W.map((w) => new Float64Array(w.length));
          const gB = B.map((b) => new Float64Array(b.length));
          for (const k of batch) {
            const x = data.train.x[k]!;
            const y = data.train.y[k]!;
            const f = forward(x, true);
            const p = softmax(f.hs[L]!);
            trainLoss -= Math.log(Math.max(p[y]!, 1e-12));
            if (p.indexOf(Math.max(...p)) === y) trainOk++;
            let delta = Float64Array.from(p);
            delta[y]! -= 1;
            for (let l = L - 1; l >= 0; l--) {
              const [n, m] = [sizes[l]!, sizes[l + 1]!];
              const h = f.hs[l]!;
              const gw = gW[l]!;
              for (let i = 0; i < n; i++) {
                const hi = h[i]!;
                if (hi === 0) continue;
                const row = i * m;
                for (let j = 0; j < m; j++) gw[row + j]! += hi * delta[j]!;
              }
              for (let j = 0; j < m; j++) gB[l]![j]! += delta[j]!;
              if (l > 0) {
                const prev = new Float64Array(n);
                const w = W[l]!;
                for (let i = 0; i < n; i++) {
                  let sum = 0;
                  const row = i * m;
                  for (let j = 0; j < m; j++) sum += w[row + j]! * delta[j]!;
                  prev[i] = sum * dact(a.activation, f.zs[l - 1]![i]!) * (f.masks[l - 1]?.[i] ?? 1);
                }
                delta = prev;
              }
            }
          }
          for (let l = 0; l < L; l++) {
            const step = lr / batch.length;
            for (let i = 0; i < W[l]!.length; i++) {
              VW[l]![i] = mom * VW[l]![i]! - step * gW[l]![i]!;
              W[l]![i]! += VW[l]![i]!;
            }
            for (let j = 0; j < B[l]!.length; j++) {
              VB[l]![j] = mom * VB[l]![j]! - step * gB[l]![j]!;
              B[l]![j]! += VB[l]![j]!;
            }
          }
        }
        const v = evalSplit(data.val);
        const metrics = { train_loss: trainLoss / order.length, train_acc: (100 * trainOk) / order.length, val_loss: v.loss, val_acc: v.acc };
        if (!Number.isFinite(metrics.train_loss)) return { status: 'failed', reason: 'diverged', message: `loss diverged at epoch ${ep}`, curve };
        const p: Progress = { step: ep, metrics };
        curve.push(p);
        if (req.onProgress && (await req.onProgress(p)) === 'stop') return { status: 'pruned', step: ep, metrics, curve };
      }
      const last = curve[curve.length - 1]!.metrics;
      return { status: 'complete', metrics: { ...last, params, flops }, curve };
    },
  };
}
