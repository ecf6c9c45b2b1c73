import type { Activation } from '../../core/arch.js';
import { assertNever } from '../../core/errors.js';
import type { Tensor } from '../../tensor/index.js';
import { GELU, ReLU, Sigmoid, SiLU, Tanh } from '../layers.js';
import { Module, type Layer } from '../module.js';

export function activation(a: Activation): Layer {
  switch (a) {
    case 'relu':
      return new ReLU();
    case 'gelu':
      return new GELU();
    case 'silu':
      return new SiLU();
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    default:
      return assertNever(a, 'activation');
  }
}

/** NB201's `none` op: a zero tensor of the input's shape (x * 0, exactly as the reference). */
export class Zero extends Module {
  forward(x: Tensor): Tensor {
    return x.mul(0);
  }
}
