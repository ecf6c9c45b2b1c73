/**
 * Weight-sharing supernets (one-shot NAS): one network that holds every candidate operation of a
 * search space on every edge, with shared weights, plus architecture parameters `alpha` kept
 * apart from the network weights (one logit vector per edge, never returned by `parameters()`), so
 * weights and alpha get their own optimizers (DARTS, Liu et al. 2019, section 2.3).
 *
 * A supernet's forward pass runs in one of three modes, set before `forward`:
 *   - `mixed`: every edge outputs sum_k w[e][k] * op_k(x)  (DARTS: w = softmax(alpha));
 *   - `hard`:  every edge outputs op_idx(x) * w[e][idx] + sum_{k != idx} w[e][k], where w is the
 *              straight-through one-hot of a Gumbel-softmax sample (GDAS, Dong & Yang 2019): its
 *              value is one-hot, its gradient flows to every alpha of the edge;
 *   - `path`:  every edge runs only op idx[e] (SPOS, Guo et al. 2020; also the evaluation of one
 *              derived architecture inside the supernet).
 * `none` (zero) candidates are never computed: they add w * 0, which changes no value and no
 * gradient of the weights; in `mixed` mode their alpha still moves through the softmax, exactly
 * as with the reference implementation's `x.mul(0)`.
 */
import { NasError } from '../core/errors.js';
import { tidy, type Tensor } from '../tensor/index.js';
import { Module, type Layer } from '../nn/module.js';
import { ModuleList } from '../nn/layers.js';

/** One searchable edge (a row of the alpha table). */
export interface EdgeInfo {
  /** Stable name used in records, e.g. `e0` (NB201, = arch.ops[0]) or `normal.n2.in0`. */
  readonly name: string;
  /** The cell this edge belongs to (`cell` for NB201, `normal` / `reduce` for DARTS, `layers[i]` for chains). */
  readonly cell: string;
  /** Source node (cell-local numbering of the space's own docs), -1 where not a DAG edge. */
  readonly from: number;
  /** Target node, -1 where not a DAG edge. */
  readonly to: number;
  /** Candidate op names in alpha order. */
  readonly ops: readonly string[];
}

export type ForwardMode =
  | { readonly kind: 'mixed'; readonly weights: readonly Tensor[] }
  | { readonly kind: 'hard'; readonly weights: readonly Tensor[]; readonly index: readonly number[] }
  | { readonly kind: 'path'; readonly index: readonly number[] };

/** The mode shared by every mixed edge of one supernet (set by the supernet before forward). */
export interface ModeRef {
  mode: ForwardMode | undefined;
}

/**
 * A supernet for architectures of type A. `alpha[e]` is a leaf tensor [edges[e].ops.length]
 * (requires grad, owned by the supernet, not among `parameters()`).
 */
export interface Supernet<A> {
  readonly module: Layer;
  readonly edges: readonly EdgeInfo[];
  readonly alpha: readonly Tensor[];
  /** Sets how the next forward passes combine candidates. */
  setMode(mode: ForwardMode): void;
  /** The discrete architecture (the space's ordinary type) from per-edge op preferences [edge][op]. */
  derive(prefs: readonly (readonly number[])[]): A;
  /** The architecture of one path (op index per edge); `derive` of a one-hot table. */
  pathArch(index: readonly number[]): A;
  /** The chosen op of every edge an architecture keeps (for skip / parameter-free counts). */
  archOps(arch: A): string[];
  /** Frees the weights and alpha. */
  dispose(): void;
}

/**
 * One mixed edge: the candidates (in alpha order; `undefined` for a `none` candidate) reading the
 * shared mode of their supernet.
 */
export class MixedEdge extends Module {
  readonly ops: ModuleList<Layer>;
  private readonly live: readonly boolean[];
  constructor(
    readonly edge: number,
    candidates: readonly (Layer | undefined)[],
    private readonly ref: ModeRef,
    /** Produces the zero output of a `none` edge from the input (e.g. strided for reductions). */
    private readonly zero: (x: Tensor) => Tensor,
  ) {
    super();
    this.live = candidates.map((c) => c !== undefined);
    this.ops = this.child('ops', new ModuleList(candidates.filter((c): c is Layer => c !== undefined)));
  }

  private opAt(k: number): Layer {
    let j = 0;
    for (let i = 0; i < k; i++) if (this.live[i]) j++;
    return this.ops.at(j);
  }

  /**
   * The edge's output; every intermediate tensor of its candidates is freed when the edge returns
   * (its own tidy scope), except what autograd saved for the backward pass. Without the scope an
   * enclosing tidy kept every candidate's conv/BN/ReLU output of every edge until the whole
   * forward ended: a no-grad NB201 forward (width 16, 28x28) at batch 256, the report pass's
   * batch, held ~2 GB at its peak (memleak, session 10).
   */
  forward(x: Tensor): Tensor {
    return tidy(() => this.edgeForward(x));
  }

  private edgeForward(x: Tensor): Tensor {
    const m = this.ref.mode;
    if (!m) throw new NasError('internal', 'supernet forward before setMode()');
    const e = this.edge;
    switch (m.kind) {
      case 'path': {
        const k = m.index[e]!;
        return this.live[k] ? this.opAt(k).forward(x) : this.zero(x);
      }
      case 'hard': {
        const k = m.index[e]!;
        const w = m.weights[e]!;
        const y = this.live[k] ? this.opAt(k).forward(x).mul(w.select(0, k)) : this.zero(x);
        // + sum of the other (zero-valued) straight-through weights: their gradient reaches alpha.
        return y.add(w.sum().sub(w.select(0, k)));
      }
      case 'mixed': {
        const w = m.weights[e]!;
        let acc: Tensor | undefined;
        for (let k = 0; k < this.live.length; k++) {
          if (!this.live[k]) continue;
          const y = this.opAt(k).forward(x).mul(w.select(0, k));
          acc = acc === undefined ? y : acc.add(y);
        }
        return acc ?? this.zero(x);
      }
    }
  }
}

/** Whether an op is parameter-free (none, skip_connect, pools): what opCounts counts. */
function isParamFree(op: string): boolean {
  return op === 'none' || op === 'skip_connect' || op.includes('pool');
}

/**
 * Whether any edge offers a parameter-free op: only then are the derived architecture's skip /
 * parameter-free counts (`skip_edges`, `param_free_edges`) recorded (NB201, DARTS cells; not a
 * chain CNN, whose choices are kernel sizes and widths).
 */
export function hasParamFreeOps(edges: readonly { readonly ops: readonly string[] }[]): boolean {
  return edges.some((e) => e.ops.some(isParamFree));
}

/** Number of `skip_connect` ops, and of parameter-free ones (none, skip, pools), among `ops`. */
export function opCounts(ops: readonly string[]): { skip: number; paramFree: number } {
  let skip = 0;
  let paramFree = 0;
  ops.forEach((op) => {
    if (op === 'skip_connect') skip++;
    if (isParamFree(op)) paramFree++;
  });
  return { skip, paramFree };
}

/** Row-wise argmax. */
export function argmaxRows(p: readonly (readonly number[])[]): number[] {
  return p.map((row) => {
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
    return best;
  });
}
