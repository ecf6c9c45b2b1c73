/**
 * Batch adaptation for proxies computed on a network built for another input: bilinear resize of
 * each channel (align_corners=False, as torch.nn.functional.interpolate) and channel replication,
 * e.g. Fashion-MNIST [1, 28, 28] -> the NAS-Bench-201 network's [3, 32, 32].
 */
import type { ProxyBatch } from './types.js';

export function resizeBatch(b: ProxyBatch, channels: number, h: number, w: number): ProxyBatch {
  const [n, c, ih, iw] = b.shape as [number, number, number, number];
  const out = new Float32Array(n * channels * h * w);
  const sy = ih / h;
  const sx = iw / w;
  for (let s = 0; s < n; s++)
    for (let oc = 0; oc < channels; oc++) {
      const ic = oc % c;
      const src = (s * c + ic) * ih * iw;
      const dst = (s * channels + oc) * h * w;
      for (let y = 0; y < h; y++) {
        const fy = Math.max(0, (y + 0.5) * sy - 0.5);
        const y0 = Math.min(ih - 1, Math.floor(fy));
        const y1 = Math.min(ih - 1, y0 + 1);
        const ay = fy - y0;
        for (let x = 0; x < w; x++) {
          const fx = Math.max(0, (x + 0.5) * sx - 0.5);
          const x0 = Math.min(iw - 1, Math.floor(fx));
          const x1 = Math.min(iw - 1, x0 + 1);
          const ax = fx - x0;
          const v =
            (1 - ay) * ((1 - ax) * b.x[src + y0 * iw + x0]! + ax * b.x[src + y0 * iw + x1]!) + ay * ((1 - ax) * b.x[src + y1 * iw + x0]! + ax * b.x[src + y1 * iw + x1]!);
          out[dst + y * w + x] = v;
        }
      }
    }
  return { x: out, shape: [n, channels, h, w], y: b.y };
}
