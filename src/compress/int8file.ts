/**
 * The int8 model file (`model.int8.bin`): the state-dict container of src/nn/state.ts holding, per
 * quantized conv/linear node i of the fused network, `q<i>.weight` (the int8 weights, stored as
 * their bytes in a uint8 entry), `q<i>.scale` (float32 per output channel, or one) and `q<i>.bias`
 * (float32); float fallback batch norms as float32 (`q<i>.running_mean`, ...); the activation
 * parameters per value as `act.scale` (float32) and `act.zero_point` (uint8) in static mode. The
 * header's meta holds the fused network's nodes, the mode and the engine. Its byte length is the int8 stage's `size_bytes`.
 */
import { NasError } from '../core/errors.js';
import { decodeStateDict, encodeStateDict } from '../nn/state.js';
import { Tensor } from '../tensor/index.js';
import type { QParams } from '../tensor/quantized.js';
import { disposeFused, QuantizedNet, type FusedNet, type FusedNode, type Int8Mode, type QuantizedNetOptions } from './quantize.js';

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
    if (qn.qparams) {
      put('act.scale', Tensor.fromArray(Float32Array.from(qn.qparams, (p) => p.scale)));
      put('act.zero_point', Tensor.fromArray(Uint8Array.from(qn.qparams, (p) => p.zeroPoint), [qn.qparams.length], 'uint8'));
    }
    return encodeStateDict(sd, {
      format: 'tsnas-int8',
      version: 1,
      mode: qn.mode,
      engine: meta.engine,
      inputShape: qn.fused.inputShape,
      numClasses: qn.fused.numClasses,
      output: qn.fused.output,
      nodes: qn.fused.nodes,
    });
  } finally {
    for (const t of made) t.dispose();
  }
}

/**
 * Reads an int8 model file back into a runnable QuantizedNet (the same int8 weights, scales and
 * activation parameters: its outputs equal the saved network's). The quantized engine must be set
 * (setQuantizedEngine) before. `options` as QuantizedNet's (perOpEngines default on, chooseThreads
 * default off). The caller disposes the result with `disposeLoadedInt8`.
 */
export function decodeInt8(buf: Uint8Array, source = 'int8 model', options: QuantizedNetOptions = {}): QuantizedNet {
  const { tensors, meta } = decodeStateDict(buf, source);
  const m = meta as { format?: string; mode?: Int8Mode; inputShape?: number[]; numClasses?: number; output?: number; nodes?: FusedNode[] };
  if (m.format !== 'tsnas-int8' || !Array.isArray(m.nodes) || !m.inputShape || m.output === undefined || (m.mode !== 'static' && m.mode !== 'dynamic')) {
    for (const t of tensors.values()) t.dispose();
    throw new NasError('data_error', `${source} is not a tsnas int8 model`, { hint: 'use a model.int8.bin written by tsnas compress' });
  }
  const weights = new Map<number, Map<string, Tensor>>();
  const scales = new Map<number, Float32Array>();
  m.nodes.forEach((_n, i) => {
    const w = tensors.get(`q${i}.weight`);
    const s = tensors.get(`q${i}.scale`);
    const own = new Map<string, Tensor>();
    if (w && s) {
      const sc = s.toTypedArray() as Float32Array;
      scales.set(i, sc);
      const bytes = w.toTypedArray() as Uint8Array;
      const ints = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const per = ints.length / w.shape[0]!;
      const f = Float32Array.from(ints, (v, k) => v * sc[sc.length === 1 ? 0 : Math.floor(k / per)]!);
      own.set('weight', Tensor.fromArray(f, w.shape).keep());
      own.set('bias', tensors.get(`q${i}.bias`)!);
      w.dispose();
      s.dispose();
    } else for (const k of ['weight', 'bias', 'running_mean', 'running_var']) {
      const t = tensors.get(`q${i}.${k}`);
      if (t) own.set(k, t);
    }
    if (own.size) weights.set(i, own);
  });
  let qparams: QParams[] | undefined;
  const as = tensors.get('act.scale');
  const az = tensors.get('act.zero_point');
  if (as && az) {
    const s = as.toTypedArray() as Float32Array;
    const z = az.toTypedArray() as Uint8Array;
    qparams = Array.from(s, (scale, k) => ({ scale, zeroPoint: z[k]! }));
    as.dispose();
    az.dispose();
  }
  const fused: FusedNet = { inputShape: m.inputShape, numClasses: m.numClasses ?? 0, nodes: m.nodes, output: m.output, weights, values: [] };
  // A static file whose multi-channel conv/linear weights carry one scale was quantized per tensor.
  const perTensor = m.mode === 'static' && m.nodes.some((n, i) => (n.kind === 'qconv' ? n.outC : n.kind === 'qlinear' ? n.outF : 0) > 1 && scales.get(i)?.length === 1);
  return new QuantizedNet(fused, m.mode, qparams, scales, perTensor ? 'per_tensor' : 'per_channel', options);
}

/** Frees a network returned by decodeInt8 (its int8 weights and its float tensors). */
export function disposeLoadedInt8(qn: QuantizedNet): void {
  qn.dispose();
  disposeFused(qn.fused);
}
