/**
 * Transfer learning on a compression graph (graph.ts): a trained network gets a new classifier
 * head sized to the new task's classes (freshly initialised, as torchvision's fine-tuning recipe
 * replaces `fc`), and optionally its first layers frozen (Yosinski et al. 2014, "How transferable
 * are features in deep neural networks?": the first layers are general, the last specific).
 *
 * The head is the set of conv/linear nodes that produce the logits (`outputLayers`, the same set
 * magnitude pruning leaves dense), plus the batch norms between them and the output. "Layers" for
 * freezing are the other conv/linear nodes in topological order (`featureLayers`); freezing N
 * freezes every weighted node (conv, linear, batch norm) before the (N+1)-th of them, so the batch
 * norm of a frozen conv is frozen with it; `features` freezes every weighted node outside the head.
 * A frozen batch norm is kept in inference mode (its running statistics do not move), so frozen
 * layers stay bit-identical through fine-tuning.
 */
import { NasError, assertNever } from '../core/errors.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, Linear } from '../nn/layers.js';
import type { Layer } from '../nn/module.js';
import { Generator, Tensor, noGrad } from '../tensor/index.js';
import { graphShapes, type Graph, type GraphNode } from './graph.js';
import { outputLayers } from './prune.js';

/** How many feature layers to freeze: a count, or every layer outside the head. */
export type FreezeSpec = number | 'features';

/** Conv/linear nodes outside the head, in topological (graph) order: what `--freeze N` counts. */
export function featureLayers(g: Graph): number[] {
  const head = outputLayers(g);
  const out: number[] = [];
  g.nodes.forEach((n, i) => {
    if ((n.kind === 'conv' || n.kind === 'linear') && !head.has(i)) out.push(i);
  });
  return out;
}

/** Head nodes: the logit-producing conv/linear nodes and the batch norms between them and the output. */
export function headNodes(g: Graph): Set<number> {
  const heads = outputLayers(g);
  const out = new Set<number>(heads);
  const seen = new Set<number>();
  const visit = (v: number): void => {
    if (v === 0 || seen.has(v)) return;
    seen.add(v);
    const i = v - 1;
    const n = g.nodes[i]!;
    switch (n.kind) {
      case 'conv':
      case 'linear':
        return;
      case 'bn':
        out.add(i);
        visit(n.input);
        return;
      case 'cat':
        throw new NasError('invalid_arch', `the classifier head of this network ends in a concatenation (node ${i}): a new head of another size cannot be derived`, {
          field: 'model',
          hint: 'fine-tune a network whose logits come from a linear or conv layer',
        });
      case 'add':
        n.inputs.forEach(visit);
        return;
      case 'zero':
        return;
      case 'act':
      case 'maxpool':
      case 'avgpool':
      case 'gap':
      case 'flatten':
      case 'slice_hw':
      case 'dropout':
        visit(n.input);
        return;
      default:
        assertNever(n, 'graph node');
    }
  };
  visit(g.output);
  return out;
}

/** Checks `freeze` against the network; returns the number of feature layers frozen. Throws invalid_config naming `freeze`. */
export function checkFreeze(freeze: FreezeSpec | undefined, layers: number): number {
  if (freeze === undefined) return 0;
  if (freeze === 'features') return layers;
  if (!Number.isInteger(freeze) || freeze < 0)
    throw new NasError('invalid_config', `freeze must be an integer >= 0 or "features", got ${JSON.stringify(freeze)}`, { field: 'freeze', hint: `use --freeze 0..${layers} or --freeze features` });
  if (freeze > layers)
    throw new NasError('invalid_config', `freeze ${freeze}: the network has only ${layers} layer(s) before its classifier head`, {
      field: 'freeze',
      hint: `use --freeze 0..${layers} (or --freeze features for all ${layers})`,
      details: { layers },
    });
  return freeze;
}

/** Weighted node indices (conv, linear, bn) frozen by freezing the first `n` feature layers. */
export function frozenNodes(g: Graph, n: number): Set<number> {
  const feats = featureLayers(g);
  const head = headNodes(g);
  const cut = n >= feats.length ? g.nodes.length : feats[n]!;
  const out = new Set<number>();
  g.nodes.forEach((node, i) => {
    if (i < cut && !head.has(i) && (node.kind === 'conv' || node.kind === 'linear' || node.kind === 'bn')) out.add(i);
  });
  return out;
}

export interface NewHead {
  readonly graph: Graph;
  /** Copies of the body's weights plus the fresh head's (owned by the caller). */
  readonly weights: Map<string, Tensor>;
  readonly head: ReadonlySet<number>;
}

/**
 * The network with its head resized to `numClasses` outputs and freshly initialised (the layers'
 * default initialisation, drawn from `seed`); the body's weights are copied. Throws invalid_arch
 * naming `model` when the head cannot be resized (a concatenation, a grouped conv).
 */
export function replaceHead(g: Graph, weights: ReadonlyMap<string, Tensor>, numClasses: number, seed = 0): NewHead {
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new NasError('invalid_config', `the new head needs at least 1 class, got ${numClasses}`, { field: 'classes' });
  const head = headNodes(g);
  const nodes: GraphNode[] = g.nodes.map((n, i) => {
    if (!head.has(i)) return n;
    switch (n.kind) {
      case 'conv':
        if (n.groups !== 1) throw new NasError('invalid_arch', `the classifier head (node ${i}) is a grouped conv: it cannot be resized`, { field: 'model' });
        return { ...n, outC: numClasses };
      case 'linear':
        return { ...n, outF: numClasses };
      case 'bn':
        return { ...n, channels: numClasses };
      default:
        return n;
    }
  });
  const graph: Graph = { ...g, numClasses, nodes };
  graphShapes(graph); // the resized graph must be consistent
  const out = new Map<string, Tensor>();
  try {
    noGrad(() => {
      for (const [k, t] of weights) if (!head.has(nodeOf(k))) out.set(k, t.detach().clone().keep());
    });
    freshWeights(graph, head, seed, out);
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return { graph, weights: out, head };
}

/** The node index of a state-dict key `n<i>.<name>`. */
const nodeOf = (k: string): number => Number(k.slice(1, k.indexOf('.')));

/**
 * Fresh weights for the weighted nodes `which` of `g` (the layers' default initialisation, drawn in
 * node order from `seed`), added to `into` (or a new map); the caller owns them.
 */
export function freshWeights(g: Graph, which: ReadonlySet<number>, seed = 0, into = new Map<string, Tensor>()): Map<string, Tensor> {
  const shapes = graphShapes(g);
  const gen = new Generator(seed);
  noGrad(() => {
    for (const i of [...which].sort((a, b) => a - b)) {
      const n = g.nodes[i]!;
      let l: Layer;
      if (n.kind === 'conv') l = new Conv2d(n.inC, n.outC, n.kernel, { gen, stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups, bias: n.bias });
      else if (n.kind === 'linear') l = new Linear(n.inF, n.outF, { gen, bias: n.bias });
      else if (n.kind === 'bn') l = shapes[n.input]!.shape.length === 3 ? new BatchNorm2d(n.channels, { eps: n.eps }) : new BatchNorm1d(n.channels, { eps: n.eps });
      else continue;
      try {
        for (const [k, t] of l.stateDict()) into.set(`n${i}.${k}`, t.detach().clone().keep());
      } finally {
        l.dispose();
      }
    }
  });
  return into;
}

/** Indices of the weighted nodes (conv, linear, bn) of a graph. */
export function weightedNodes(g: Graph): Set<number> {
  const out = new Set<number>();
  g.nodes.forEach((n, i) => {
    if (n.kind === 'conv' || n.kind === 'linear' || n.kind === 'bn') out.add(i);
  });
  return out;
}
