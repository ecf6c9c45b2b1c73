/**
 * Pruning of a compression graph's weights.
 *
 * Unstructured magnitude pruning (Han et al. 2015, "Learning both Weights and Connections"): the
 * conv and linear weights of smallest |w| are set to zero, to a target sparsity either over all
 * layers at once (`global`: one threshold) or per layer; in one shot, or gradually over the
 * fine-tuning epochs with the cubic schedule of Zhu & Gupta 2017 ("To prune, or not to prune"),
 * s_e = s * (1 - (1 - e/E)^3). Masks are re-applied after every optimizer step.
 * A per-layer floor keeps every pruned layer alive: with one global threshold the layers of
 * smallest weights (wide layers, whose init scale is 1/sqrt(fan_in)) would otherwise lose nearly
 * all of them, and a layer with no weight left cuts the network (every class gets the same logit).
 * The global threshold compares weights at the scale they act at: a layer followed by batch norm is
 * scale-invariant (weight decay shrinks such layers without changing the function), so its |w| is
 * multiplied per output channel by |gamma| / sqrt(running_var + eps), the folded weight, as the
 * channel ranking below does. Each layer keeps at least `minDensity` of its weights (default a quarter of the average density,
 * (1 - sparsity) / 4) and at least one; the zeros a floored layer cannot take are spread over the
 * others (water filling), so the total sparsity is still the target. The output layer (the one
 * producing the logits) is not pruned unless `pruneOutput` is set: it is small and every class
 * depends on it (Zhu & Gupta 2017 and Gale et al. 2019 leave it dense too).
 *
 * Structured channel pruning (Li et al. 2017, "Pruning Filters for Efficient ConvNets": filters
 * ranked by L1 norm; or the first-order Taylor criterion of Molchanov et al. 2019,
 * |sum(w * dL/dw)| per filter) removes channels for real: the pruned graph has smaller convs,
 * batch norms and linears. Channels tied by a sum (skip connections, NB201/DARTS node sums) or a
 * depthwise conv must go together: the channels of all values are split into coupled classes by a
 * union-find over channel elements (as in DepGraph, Fang et al. 2023), and a class is removed
 * from every producer and consumer at once. The network input and the logits are never pruned.
 */
import { didYouMean } from '../core/suggest.js';
import { Issues } from '../core/issues.js';
import { NasError } from '../core/errors.js';
import { Tensor, cat, noGrad, tidy } from '../tensor/index.js';
import { consumers, graphCost, graphShapes, type Graph, type GraphNode } from './graph.js';

/** What to prune; plain data tagged by `kind`. */
export type PruneSpec =
  | {
      readonly kind: 'magnitude';
      /** Fraction of conv/linear weights set to zero, in (0, 1). */
      readonly sparsity: number;
      /** One threshold over all layers (default) or the same sparsity in each layer. */
      readonly scope?: 'global' | 'layer';
      /** All at once before fine-tuning (default) or gradually over the fine-tuning epochs. */
      readonly schedule?: 'oneshot' | 'gradual';
      /** Per-layer floor: fraction of each pruned layer's weights kept at least, in [0, 1 - sparsity]; default (1 - sparsity) / 4. At least one weight is always kept. */
      readonly minDensity?: number;
      /** Prune the output (logits) layer too; default false. */
      readonly pruneOutput?: boolean;
    }
  | {
      readonly kind: 'channels';
      /** Fraction of the prunable channels removed from each coupled group, in (0, 1). */
      readonly ratio?: number;
      /** Instead of ratio: the pruned network has at most this fraction of the FLOPs, in (0, 1) (see `allocation`). */
      readonly flops?: number;
      /**
       * With `flops`: how the channels to remove are shared among the layers. `greedy` (default):
       * the smallest uniform ratio meeting the target, then removed channel classes restored,
       * highest score first, while the FLOPs stay within the target (per-layer ratios, landing
       * as close below the target as the channel counts allow); `uniform`: the same ratio in every
       * coupled group (the smallest of 1/64 steps meeting the target).
       */
      readonly allocation?: 'greedy' | 'uniform';
      /** Filter ranking: L1 norm (default) or first-order Taylor |sum w*grad| (needs gradients). */
      readonly criterion?: 'l1' | 'taylor';
    };

const inUnit = (v: unknown, field: string, what: string): number => {
  if (typeof v !== 'number' || !(v > 0 && v < 1))
    throw new NasError('invalid_config', `${what} must be a number in (0, 1), got ${JSON.stringify(v)}${v === 1 ? ': that would remove every weight or channel' : ''}`, {
      field,
      hint: v === 1 ? 'use a value below 1 (e.g. 0.5); a layer needs at least one weight and one channel' : 'e.g. 0.5',
    });
  return v;
};

/**
 * Checks a prune spec; returns it complete. Every problem is reported at once (one invalid_config
 * error, `details.issues`, src/core/issues.ts), each naming `prune.<field>`.
 */
export function checkPruneSpec(s: unknown): PruneSpec {
  const o = s as Partial<Record<string, unknown>> | null;
  if (!o || typeof o !== 'object') throw new NasError('invalid_config', 'prune must be an object with a kind', { field: 'prune', hint: 'e.g. { kind: "channels", ratio: 0.3 }' });
  const I = new Issues();
  const bad = (field: string, message: string, hint?: string): void => I.add(new NasError('invalid_config', message, { field, ...(hint === undefined ? {} : { hint }) }));
  switch (o.kind) {
    case 'magnitude': {
      const scope = o.scope ?? 'global';
      const schedule = o.schedule ?? 'oneshot';
      if (scope !== 'global' && scope !== 'layer') bad('prune.scope', `prune scope must be global or layer, got ${JSON.stringify(scope)}`);
      if (schedule !== 'oneshot' && schedule !== 'gradual') bad('prune.schedule', `prune schedule must be oneshot or gradual, got ${JSON.stringify(schedule)}`);
      const sparsity = I.take(() => inUnit(o.sparsity, 'prune.sparsity', 'sparsity'), NaN);
      const minDensity = o.minDensity ?? (Number.isNaN(sparsity) ? 0 : (1 - sparsity) / 4);
      // The floor's range depends on the sparsity: checked only when the sparsity is sound.
      if (!Number.isNaN(sparsity) && (typeof minDensity !== 'number' || !(minDensity >= 0 && minDensity <= 1 - sparsity + 1e-12)))
        bad(
          'prune.minDensity',
          `the per-layer floor minDensity must be a number in [0, ${+(1 - sparsity).toFixed(6)}] (at most the average density 1 - sparsity), got ${JSON.stringify(o.minDensity)}`,
          `e.g. ${+((1 - sparsity) / 4).toFixed(6)} (the default, a quarter of the average density); CLI: --prune-min-density`,
        );
      if (o.pruneOutput !== undefined && typeof o.pruneOutput !== 'boolean') bad('prune.pruneOutput', `pruneOutput must be true or false, got ${JSON.stringify(o.pruneOutput)}`);
      I.throwIfAny('the prune options');
      return { kind: 'magnitude', sparsity, scope: scope as 'global' | 'layer', schedule: schedule as 'oneshot' | 'gradual', minDensity: minDensity as number, pruneOutput: (o.pruneOutput as boolean | undefined) ?? false };
    }
    case 'channels': {
      const criterion = o.criterion ?? 'l1';
      if (criterion !== 'l1' && criterion !== 'taylor') bad('prune.criterion', `prune criterion must be l1 or taylor, got ${JSON.stringify(criterion)}`);
      if (o.allocation !== undefined) {
        if (o.allocation !== 'greedy' && o.allocation !== 'uniform') bad('prune.allocation', `prune allocation must be greedy or uniform, got ${JSON.stringify(o.allocation)}`, 'CLI: --prune-allocation greedy|uniform');
        else if (o.flops === undefined) bad('prune.allocation', 'the allocation applies to a FLOPs target; a channel ratio is the same in every group', 'use --prune flops=F with --prune-allocation, or drop it');
      }
      let out: PruneSpec | undefined;
      if ((o.ratio === undefined) === (o.flops === undefined))
        bad('prune.ratio', 'channel pruning needs exactly one of ratio and flops', 'e.g. ratio: 0.3 (remove 30% of the channels) or flops: 0.5 (keep at most half the FLOPs)');
      else
        out = I.take(
          (): PruneSpec =>
            o.ratio !== undefined
              ? { kind: 'channels', ratio: inUnit(o.ratio, 'prune.ratio', 'channel ratio'), criterion: criterion as 'l1' | 'taylor' }
              : { kind: 'channels', flops: inUnit(o.flops, 'prune.flops', 'FLOPs fraction'), criterion: criterion as 'l1' | 'taylor', allocation: (o.allocation as 'greedy' | 'uniform' | undefined) ?? 'greedy' },
          undefined,
        );
      I.throwIfAny('the prune options');
      return out!;
    }
    default:
      throw new NasError('invalid_config', `unknown prune kind ${JSON.stringify(o.kind)}${typeof o.kind === 'string' ? didYouMean(o.kind, ['magnitude', 'channels']) : ''}`, { field: 'prune.kind', hint: 'use magnitude or channels' });
  }
}

// ------------------------------------------------------------------ unstructured

/**
 * Graph nodes that produce the logits: the conv/linear nodes reached from the output going back
 * through nodes that do not mix channels (dropout, activations, flatten, pools, batch norm), and
 * through both inputs of a sum or concatenation.
 */
export function outputLayers(g: Graph): Set<number> {
  const out = new Set<number>();
  const seen = new Set<number>();
  const visit = (v: number): void => {
    if (v === 0 || seen.has(v)) return; // value 0 is the network input
    seen.add(v);
    const n = g.nodes[v - 1]!;
    switch (n.kind) {
      case 'conv':
      case 'linear':
        out.add(v - 1);
        return;
      case 'add':
      case 'cat':
        n.inputs.forEach(visit);
        return;
      case 'zero':
        return;
      default:
        visit(n.input);
    }
  };
  visit(g.output);
  return out;
}

/** Conv and linear weight keys of a graph (`n<i>.weight`), the tensors magnitude pruning masks; without the output layer unless `pruneOutput`. */
export function prunableWeights(g: Graph, o: { readonly pruneOutput?: boolean } = {}): string[] {
  const skip = o.pruneOutput ? new Set<number>() : outputLayers(g);
  return g.nodes.flatMap((n, i) => ((n.kind === 'conv' || n.kind === 'linear') && !skip.has(i) ? [`n${i}.weight`] : []));
}

/** Weights a layer of `n` weights must keep under the floor `minDensity` (at least one). */
export const layerFloor = (n: number, minDensity: number): number => Math.min(n, Math.max(1, Math.ceil(minDensity * n - 1e-9)));

/**
 * How many weights of each layer to zero so that `sparsity` of all `sizes` are zero with one
 * global magnitude threshold, no layer keeping fewer than layerFloor(n, minDensity) (water filling:
 * a layer the threshold would take below its floor is held at the floor, and the threshold over the
 * remaining layers is recomputed for the zeros left). `below(l, t)` counts the weights of layer l
 * with |w| <= t; `kth(ls, k)` is the k-th smallest |w| (1-based) over layers `ls`.
 */
export function globalPruneCounts(sizes: readonly number[], sparsity: number, minDensity: number, below: (l: number, t: number) => number, kth: (ls: readonly number[], k: number) => number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const cap = sizes.map((n) => n - layerFloor(n, minDensity));
  const counts = sizes.map(() => 0);
  const capped = new Set<number>();
  let want = Math.floor(sparsity * total);
  for (;;) {
    const pool = sizes.map((_, l) => l).filter((l) => !capped.has(l));
    const left = want - [...capped].reduce((a, l) => a + cap[l]!, 0);
    if (pool.length === 0 || left <= 0) {
      for (const l of pool) counts[l] = 0;
      break;
    }
    const poolSize = pool.reduce((a, l) => a + sizes[l]!, 0);
    const t = kth(pool, Math.min(left, poolSize));
    const over = pool.filter((l) => below(l, t) > cap[l]!);
    if (over.length === 0) {
      for (const l of pool) counts[l] = below(l, t);
      break;
    }
    for (const l of over) capped.add(l);
  }
  for (const l of capped) counts[l] = cap[l]!;
  return counts;
}

/**
 * Per-output-channel factors |gamma| / sqrt(running_var + eps) of the batch norm that directly
 * follows a layer in `keys` (its only consumer), for ranking the folded weights; layers without one
 * are absent. New tensors (call inside tidy, or dispose them).
 */
export function bnScales(g: Graph, weights: ReadonlyMap<string, Tensor>, keys: readonly string[]): Map<string, Tensor> {
  const cons = consumers(g);
  const out = new Map<string, Tensor>();
  noGrad(() => {
    for (const k of keys) {
      const i = Number(/^n(\d+)\.weight$/.exec(k)?.[1]);
      const c = cons[i + 1] ?? [];
      const bn = c.length === 1 ? g.nodes[c[0]!] : undefined;
      if (!bn || bn.kind !== 'bn') continue;
      const b = (x: string) => weights.get(`n${c[0]}.${x}`)!;
      out.set(k, b('weight').abs().div(b('running_var').add(bn.eps).sqrt()));
    }
  });
  return out;
}

/**
 * 0/1 float masks (kept by the caller: dispose them) keeping the largest-|w| weights so that
 * `sparsity` of them is zero, per layer or with one global threshold (over |w| times the batch-norm
 * factors of bnScales when `graph` is given), each layer keeping at least
 * layerFloor(n, minDensity) weights (see the file comment). Exactly the counted number of each
 * layer is zeroed (ties at the cut are broken by the sort).
 */
export function magnitudeMasks(weights: ReadonlyMap<string, Tensor>, keys: readonly string[], sparsity: number, scope: 'global' | 'layer', minDensity = (1 - sparsity) / 4, graph?: Graph): Map<string, Tensor> {
  const masks = new Map<string, Tensor>();
  tidy(() => {
    noGrad(() => {
      const scales = graph && scope === 'global' ? bnScales(graph, weights, keys) : undefined;
      const abs = keys.map((k) => {
        const w = weights.get(k)!.abs();
        const f = scales?.get(k);
        return (f ? w.mul(f.reshape([f.numel, ...w.shape.slice(1).map(() => 1)])) : w).flatten();
      });
      const sizes = abs.map((a) => a.numel);
      let counts: number[];
      if (scope === 'global') {
        counts = globalPruneCounts(
          sizes,
          sparsity,
          minDensity,
          (l, t) => abs[l]!.le(t).sum().item() as number,
          (ls, k) => (cat(ls.map((l) => abs[l]!), 0).sort(0).values.slice(0, k - 1, k).item() as number),
        );
      } else counts = sizes.map((n) => Math.min(Math.floor(sparsity * n), n - layerFloor(n, minDensity)));
      keys.forEach((k, l) => {
        const a = abs[l]!;
        const n = sizes[l]!;
        const c = counts[l]!;
        // Zero exactly the c smallest (by rank, so ties at the threshold cannot empty a layer).
        const m = Tensor.ones([n]);
        const mask = c > 0 ? m.scatter(0, a.sort(0).indices.slice(0, 0, c), Tensor.zeros([c])) : m;
        masks.set(k, mask.reshape(weights.get(k)!.shape).keep());
      });
    });
  });
  return masks;
}

/** Zhu & Gupta's cubic schedule: the sparsity to reach by the end of epoch `e` of `epochs` (1-based). */
export function gradualSparsity(final: number, e: number, epochs: number): number {
  const span = Math.max(1, epochs - 1); // the last epoch fine-tunes at the final sparsity
  const t = Math.min(1, e / span);
  return final * (1 - (1 - t) ** 3);
}

/** Fraction of exact zeros among the given weights. */
export function sparsityOf(weights: ReadonlyMap<string, Tensor>, keys: readonly string[]): number {
  let zeros = 0;
  let n = 0;
  tidy(() => {
    for (const k of keys) {
      const w = weights.get(k)!;
      zeros += w.eq(0).sum().item() as number;
      n += w.numel;
    }
  });
  return n ? zeros / n : 0;
}

// ------------------------------------------------------------------ structured

class UnionFind {
  readonly parent: number[] = [];
  readonly fixed: boolean[] = [];
  make(fixed: boolean): number {
    this.parent.push(this.parent.length);
    this.fixed.push(fixed);
    return this.parent.length - 1;
  }
  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[a] !== r) {
      const n = this.parent[a]!;
      this.parent[a] = r;
      a = n;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    this.parent[rb] = ra;
    this.fixed[ra] = this.fixed[ra]! || this.fixed[rb]!;
  }
}

/** A producer channel: output channel `channel` of conv/linear node `node`. */
interface ProducerChannel {
  readonly node: number;
  readonly channel: number;
}

/** The coupled channel classes of a graph. */
export interface ChannelStructure {
  /** Per value: the class (union-find root) of each channel position (dim 1; a flatten repeats a channel H*W times). */
  readonly layout: readonly (readonly number[])[];
  /** Prunable classes, each with the producer channels it removes. */
  readonly classes: ReadonlyMap<number, readonly ProducerChannel[]>;
  /** Classes grouped by the set of producers they span (pruned with one ratio per group). */
  readonly groups: readonly (readonly number[])[];
}

const isDepthwise = (n: GraphNode): boolean => n.kind === 'conv' && n.groups > 1 && n.groups === n.inC && n.inC === n.outC;

/** Finds the coupled channel classes of `g` (see the file comment). */
export function channelStructure(g: Graph): ChannelStructure {
  const shapes = graphShapes(g);
  const uf = new UnionFind();
  const lay: number[][] = [];
  const fresh = (n: number, fixed: boolean) => Array.from({ length: n }, () => uf.make(fixed));
  lay.push(fresh(g.inputShape[0]!, true));
  const producers: [number, ProducerChannel][] = [];
  g.nodes.forEach((n, i) => {
    const inp = (k: number) => lay[k]!;
    let out: number[];
    switch (n.kind) {
      case 'conv':
        if (isDepthwise(n)) out = inp(n.input);
        else {
          const grouped = n.groups > 1;
          out = fresh(n.outC, grouped);
          if (grouped) for (const e of inp(n.input)) uf.fixed[uf.find(e)] = true;
          out.forEach((e, c) => producers.push([e, { node: i, channel: c }]));
        }
        break;
      case 'linear':
        out = fresh(n.outF, false);
        out.forEach((e, c) => producers.push([e, { node: i, channel: c }]));
        break;
      case 'flatten': {
        const s = shapes[n.input]!.shape;
        const hw = s.slice(1).reduce((a, b) => a * b, 1);
        out = inp(n.input).flatMap((e) => new Array<number>(hw).fill(e));
        break;
      }
      case 'add': {
        const [a, b] = [inp(n.inputs[0]), inp(n.inputs[1])];
        a.forEach((e, k) => uf.union(e, b[k]!));
        out = a;
        break;
      }
      case 'cat':
        out = n.inputs.flatMap((k) => inp(k));
        break;
      case 'bn':
      case 'act':
      case 'maxpool':
      case 'avgpool':
      case 'gap':
      case 'slice_hw':
      case 'zero':
      case 'dropout':
        out = inp(n.input);
        break;
    }
    lay.push(out!);
  });
  for (const e of lay[g.output]!) uf.fixed[uf.find(e)] = true;
  const layout = lay.map((l) => l.map((e) => uf.find(e)));
  const classes = new Map<number, ProducerChannel[]>();
  for (const [e, p] of producers) {
    const r = uf.find(e);
    if (uf.fixed[r]) continue;
    const list = classes.get(r) ?? [];
    list.push(p);
    classes.set(r, list);
  }
  const byKey = new Map<string, number[]>();
  for (const [r, ps] of classes) {
    const key = [...new Set(ps.map((p) => p.node))].sort((a, b) => a - b).join(',');
    const list = byKey.get(key) ?? [];
    list.push(r);
    byKey.set(key, list);
  }
  return { layout, classes, groups: [...byKey.values()] };
}

/**
 * Importance of each class: the sum over its producer channels of the filter's score divided by
 * the mean score of that producer's filters (so layers of different size and scale compare).
 * `l1`: sum |w| of the filter (times |gamma| / sqrt(var + eps) of a batch norm right after it); `taylor`: |sum w * grad| of the filter, from `grads` (same keys).
 */
export function classScores(g: Graph, s: ChannelStructure, weights: ReadonlyMap<string, Tensor>, criterion: 'l1' | 'taylor', grads?: ReadonlyMap<string, Tensor>): Map<number, number> {
  const perNode = new Map<number, Float64Array>();
  const cons = consumers(g);
  tidy(() =>
    noGrad(() => {
      for (const ps of s.classes.values())
        for (const p of ps) {
          if (perNode.has(p.node)) continue;
          const key = `n${p.node}.weight`;
          const w = weights.get(key)!;
          let f: Tensor;
          if (criterion === 'l1') {
            f = w.abs().flatten(1).sum(1);
            // A filter followed by batch norm is rescaled by it: rank the effective (folded)
            // filter, |w| * |gamma| / sqrt(var + eps), as network slimming's BN-scale criterion
            // (Liu et al. 2017) does; raw |w| would be meaningless behind a normalisation.
            const c = cons[p.node + 1] ?? [];
            const bn = c.length === 1 ? g.nodes[c[0]!] : undefined;
            if (bn && bn.kind === 'bn') {
              const b = (k: string) => weights.get(`n${c[0]}.${k}`)!;
              f = f.mul(b('weight').abs().div(b('running_var').add(bn.eps).sqrt()));
            }
          } else {
            const gr = grads?.get(key);
            if (!gr) throw new NasError('invalid_config', 'the taylor criterion needs gradients of the weights', { field: 'prune.criterion', hint: 'compress with data, or use criterion l1' });
            f = w.mul(gr).flatten(1).sum(1).abs();
          }
          const v = Float64Array.from(f.toArray() as number[]);
          const mean = v.reduce((a, b) => a + b, 0) / v.length || 1;
          perNode.set(p.node, v.map((x) => x / mean));
        }
    }),
  );
  const out = new Map<number, number>();
  for (const [r, ps] of s.classes) out.set(r, ps.reduce((a, p) => a + perNode.get(p.node)![p.channel]!, 0));
  return out;
}

/** The classes removed at `ratio`: the floor(ratio * n) lowest-scored of each group, at least one kept. */
export function classesToRemove(s: ChannelStructure, scores: ReadonlyMap<number, number>, ratio: number): Set<number> {
  const removed = new Set<number>();
  for (const grp of s.groups) {
    const k = Math.min(Math.floor(ratio * grp.length), grp.length - 1);
    [...grp].sort((a, b) => scores.get(a)! - scores.get(b)! || a - b).slice(0, k).forEach((r) => removed.add(r));
  }
  return removed;
}

/** The graph with the classes `removed` taken out (channel counts only; no weights). */
export function prunedGraph(g: Graph, s: ChannelStructure, removed: ReadonlySet<number>): Graph {
  const kept = (v: number) => s.layout[v]!.filter((r) => !removed.has(r)).length;
  const nodes = g.nodes.map((n, i): GraphNode => {
    switch (n.kind) {
      case 'conv': {
        const outC = kept(i + 1);
        const inC = kept(n.input);
        if (outC < 1 || inC < 1) throw new NasError('invalid_config', `pruning would remove every channel of graph node ${i} (${n.from ?? 'conv'})`, { field: 'prune.ratio', hint: 'use a smaller ratio' });
        return { ...n, outC, inC, groups: isDepthwise(n) ? outC : n.groups };
      }
      case 'bn':
        return { ...n, channels: kept(i + 1) };
      case 'linear': {
        const outF = kept(i + 1);
        const inF = kept(n.input);
        if (outF < 1 || inF < 1) throw new NasError('invalid_config', `pruning would remove every unit of graph node ${i} (${n.from ?? 'linear'})`, { field: 'prune.ratio', hint: 'use a smaller ratio' });
        return { ...n, outF, inF };
      }
      default:
        return n;
    }
  });
  return { ...g, nodes };
}

export interface ChannelPlan {
  readonly structure: ChannelStructure;
  readonly removed: ReadonlySet<number>;
  /** The uniform ratio (spec.ratio, or the one the FLOPs bisection found, before any greedy restoring). */
  readonly ratio: number;
  /** Greedy allocation: channel classes the uniform ratio removed that were restored (0 otherwise). */
  readonly restored: number;
  readonly graph: Graph;
}

/**
 * Largest ratio a FLOPs target may choose: every coupled channel group keeps at least 10% of its
 * channels (and at least one), the structured counterpart of magnitude pruning's per-layer floor.
 */
export const MAX_FLOPS_RATIO = 0.9;

/**
 * Decides which channel classes to remove: at `spec.ratio`, or at the smallest ratio (bisection,
 * 1/64 steps, at most MAX_FLOPS_RATIO) whose pruned graph has at most `spec.flops` of the original
 * FLOPs; with the `greedy` allocation (the default for a FLOPs target) the removed classes are
 * then visited from the highest score down and each is restored when the graph with it stays
 * within the target (restoreWithin). A uniform ratio moves every group's channel count at once, so
 * its FLOPs fall in steps (a main-job winner landed at 0.508x for a 0.55x target); restoring
 * single classes fills the gap with the most important channels, so the layers end with different
 * ratios. Classes are coupled channel sets, so skip/sum shapes stay consistent, and restoring only
 * adds channels, so every group keeps at least what MAX_FLOPS_RATIO leaves. Throws invalid_config
 * naming `prune.flops` and the reachable range when the target is below what MAX_FLOPS_RATIO gives.
 */
export function planChannels(g: Graph, weights: ReadonlyMap<string, Tensor>, spec: Extract<PruneSpec, { kind: 'channels' }>, grads?: ReadonlyMap<string, Tensor>): ChannelPlan {
  const s = channelStructure(g);
  if (s.classes.size === 0) throw new NasError('invalid_config', 'this network has no prunable channels', { field: 'prune.kind', hint: 'use magnitude pruning' });
  const scores = classScores(g, s, weights, spec.criterion ?? 'l1', grads);
  const at = (r: number) => {
    const removed = classesToRemove(s, scores, r);
    return { removed, graph: prunedGraph(g, s, removed) };
  };
  if (spec.ratio !== undefined) return { structure: s, ratio: spec.ratio, restored: 0, ...at(spec.ratio) };
  const full = graphCost(g).flops;
  const target = spec.flops! * full;
  const max = at(MAX_FLOPS_RATIO);
  const reach = graphCost(max.graph).flops / full;
  if (reach > spec.flops!) {
    const lo = Math.ceil(reach * 1e4) / 1e4;
    throw new NasError('invalid_config', `a FLOPs fraction of ${spec.flops} cannot be reached: channel pruning of this network reaches FLOPs fractions from ${lo} (removing ${MAX_FLOPS_RATIO * 100}% of every coupled channel group; the input stem, logits and unprunable layers keep their cost) up to 1`, {
      field: 'prune.flops',
      hint: `ask for flops in [${lo}, 1) (CLI: --prune flops=${lo} or more), or use --prune channels=R`,
      details: { min_flops_fraction: reach },
    });
  }
  let lo = 0;
  let hi = 64;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (graphCost(at(Math.min(mid / 64, MAX_FLOPS_RATIO)).graph).flops <= target) hi = mid;
    else lo = mid;
  }
  const r = Math.min(hi / 64, MAX_FLOPS_RATIO);
  const uniform = at(r);
  if (spec.allocation === 'uniform') return { structure: s, ratio: r, restored: 0, ...uniform };
  const removed = restoreWithin(g, s, scores, uniform.removed, target);
  return { structure: s, ratio: r, restored: uniform.removed.size - removed.size, removed, graph: prunedGraph(g, s, removed) };
}

/**
 * Greedy restoring: `removed` minus the classes that fit, visiting them from the highest score
 * down (ties: the lower class id) and keeping each whose restoring leaves the pruned graph's FLOPs
 * at most `target`. Each class is visited once, so a cheap class late in the order can still use
 * the slack an expensive one could not. A new set; `removed` is not changed.
 */
export function restoreWithin(g: Graph, s: ChannelStructure, scores: ReadonlyMap<number, number>, removed: ReadonlySet<number>, target: number): Set<number> {
  const left = new Set(removed);
  const order = [...removed].sort((a, b) => scores.get(b)! - scores.get(a)! || a - b);
  for (const c of order) {
    left.delete(c);
    if (graphCost(prunedGraph(g, s, left)).flops > target) left.add(c);
  }
  return left;
}

/**
 * The weights of the pruned graph: each tensor sliced to the kept channels (new tensors, owned by
 * the caller). `weights` is not changed.
 */
export function pruneWeights(g: Graph, plan: ChannelPlan, weights: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const s = plan.structure;
  const keptIdx = (v: number): Tensor => {
    const idx: number[] = [];
    s.layout[v]!.forEach((r, k) => {
      if (!plan.removed.has(r)) idx.push(k);
    });
    return Tensor.fromArray(idx, [idx.length], 'int64');
  };
  const out = new Map<string, Tensor>();
  tidy(() =>
    noGrad(() => {
      g.nodes.forEach((n, i) => {
        const put = (k: string, t: Tensor) => out.set(`n${i}.${k}`, t.contiguous().clone().keep());
        const w = (k: string) => weights.get(`n${i}.${k}`)!;
        switch (n.kind) {
          case 'conv': {
            const o = keptIdx(i + 1);
            let wt = w('weight').indexSelect(0, o);
            if (!isDepthwise(n) && n.groups === 1) wt = wt.indexSelect(1, keptIdx(n.input));
            put('weight', wt);
            if (n.bias) put('bias', w('bias').indexSelect(0, o));
            break;
          }
          case 'linear': {
            const o = keptIdx(i + 1);
            put('weight', w('weight').indexSelect(0, o).indexSelect(1, keptIdx(n.input)));
            if (n.bias) put('bias', w('bias').indexSelect(0, o));
            break;
          }
          case 'bn': {
            const o = keptIdx(i + 1);
            for (const k of ['weight', 'bias', 'running_mean', 'running_var']) put(k, w(k).indexSelect(0, o));
            const nbt = weights.get(`n${i}.num_batches_tracked`);
            if (nbt) put('num_batches_tracked', nbt);
            break;
          }
          default:
            break;
        }
      });
    }),
  );
  return out;
}
