/**
 * The hand-designed baseline: the `lenet` workload of ../shared/bench/torch_reference.py, layer for
 * layer (28x28x1 -> conv 1->16 k3 p1, relu, maxpool 2 -> conv 16->32 k3 p1, relu, maxpool 2 ->
 * flatten -> linear 1568->10), with PyTorch's default initialisation drawn from `gen`. The main job
 * compares searched winners with it, and the engine and trainer benchmarks train it on both sides.
 */
import type { Generator } from '../../tensor/index.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../layers.js';

export function lenet(gen: Generator): Sequential {
  return new Sequential(
    new Conv2d(1, 16, 3, { gen, padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(16, 32, 3, { gen, padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(1568, 10, { gen }),
  );
}
