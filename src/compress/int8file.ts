/**
 * The int8 model file (`model.int8.bin`): the state-dict container of src/nn/state.ts holding, per
 * quantized conv/linear node i of the fused network, `q<i>.weight` (the int8 weights, stored as
 * their bytes in a uint8 entry), `q<i>.scale` (float32 per output channel, or one) and `q<i>.bias`
 * (float32); float fallback batch norms as float32 (`q<i>.running_mean`, ...). The header's meta
 * holds the fused network's nodes, the activation (scale, zero point) per value, the mode and
 * the engine. Its byte length is the int8 stage's `size_bytes`.
 */
import { encodeStateDict } from '../nn/state.js';
import { Tensor } from '../tensor/index.js';
import type { QuantizedNet } from './quantize.js';

export function encodeInt8(qn: QuantizedNet, meta: { engine: string }): Uint8Array {
  const sd = new Map<string, Tensor>();
  const made: Tensor[] = [];
  const put = (k: string, t: Tensor) => {
    made.push(t);
    sd.set(k, t);
  };
  try {
    qn.fused.nodes.forEach((_n, i) => {
      const w = qn.fused.weights.get(i);
      if (!w) return;
      if (qn.qweights.has(i)) {
        const { data, shape, scales } = qn.int8Weight(i);
        put(`q${i}.weight`, Tensor.fromArray(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), shape, 'uint8'));
        put(`q${i}.scale`, Tensor.fromArray(scales));
        sd.set(`q${i}.bias`, w.get('bias')!);
      } else for (const [k, t] of w) sd.set(`q${i}.${k}`, t);
    });
    return encodeStateDict(sd, {
      format: 'tsnas-int8',
      version: 1,
      mode: qn.mode,
      engine: meta.engine,
      inputShape: qn.fused.inputShape,
      numClasses: qn.fused.numClasses,
      output: qn.fused.output,
      nodes: qn.fused.nodes,
      qparams: qn.qparams ?? null,
    });
  } finally {
    for (const t of made) t.dispose();
  }
}
