/**
 * Weight initialisation, in place and outside autograd, with torch.nn.init's formulas (fan
 * computation, gains). With the same Generator seed and call order the values equal PyTorch's.
 */
import { NasError } from '../core/errors.js';
import { noGrad, type Generator, type Tensor } from '../tensor/index.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** torch.nn.init.calculate_gain */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    case 'selu':
      return 3 / 4;
  }
}

/** [fanIn, fanOut] of a weight [out, in, ...kernel] (torch's _calculate_fan_in_and_fan_out). */
export function fans(t: Tensor): [number, number] {
  const s = t.shape;
  if (s.length < 2) throw new NasError('shape_mismatch', `fan in/out needs a tensor with >= 2 dims, got [${s.join(',')}]`);
  const rf = s.slice(2).reduce((a, b) => a * b, 1);
  return [s[1]! * rf, s[0]! * rf];
}

export interface KaimingOptions {
  /** Negative slope for leaky_relu (PyTorch's default layer init uses sqrt(5)). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const [fi, fo] = fans(t);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fi : fo;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

export function kaimingUniform_(t: Tensor, gen: Generator, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return noGrad(() => gen.uniform_(t, -bound, bound));
}
export function kaimingNormal_(t: Tensor, gen: Generator, o: KaimingOptions = {}): Tensor {
  const std = kaimingStd(t, o);
  return noGrad(() => gen.normal_(t, 0, std));
}
export function xavierUniform_(t: Tensor, gen: Generator, gain = 1): Tensor {
  const [fi, fo] = fans(t);
  const a = gain * Math.sqrt(6 / (fi + fo));
  return noGrad(() => gen.uniform_(t, -a, a));
}
export function xavierNormal_(t: Tensor, gen: Generator, gain = 1): Tensor {
  const [fi, fo] = fans(t);
  const std = gain * Math.sqrt(2 / (fi + fo));
  return noGrad(() => gen.normal_(t, 0, std));
}
export function uniform_(t: Tensor, gen: Generator, low = 0, high = 1): Tensor {
  return noGrad(() => gen.uniform_(t, low, high));
}
export function normal_(t: Tensor, gen: Generator, mean = 0, std = 1): Tensor {
  return noGrad(() => gen.normal_(t, mean, std));
}
export function constant_(t: Tensor, v: number): Tensor {
  return noGrad(() => t.fill_(v));
}
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/**
 * PyTorch's default init of Linear/Conv weights and biases: kaiming_uniform(a=sqrt(5)) for the
 * weight, uniform(+-1/sqrt(fanIn)) for the bias (weight drawn first, then bias).
 */
export function torchDefaultInit_(weight: Tensor, bias: Tensor | undefined, gen: Generator): void {
  kaimingUniform_(weight, gen, { a: Math.sqrt(5) });
  if (bias) {
    const [fi] = fans(weight);
    const b = fi > 0 ? 1 / Math.sqrt(fi) : 0;
    uniform_(bias, gen, -b, b);
  }
}
