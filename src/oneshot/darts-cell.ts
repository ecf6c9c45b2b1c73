/**
 * The DARTS cell supernet (Liu et al. 2019, the search network `Network` of the DARTS code): the
 * skeleton of the stand-alone `DartsNet` (src/nn/build/darts.ts: stem conv3x3(3C)+BN, `layers`
 * cells with reductions at layers/3 and 2*layers/3, GAP + linear), each cell's 4 intermediate
 * nodes fed by mixed edges from *every* earlier node (2+3+4+5 = 14 edges per cell), each mixing
 * the 8 DARTS ops built by the stand-alone builder's own `makeOp` (stride 2 on a reduction cell's
 * edges from its inputs 0 and 1). Two alpha tables, shared by all normal cells and all reduction
 * cells: records name the edges `normal.n<j>.in<i>` / `reduce.n<j>.in<i>` (node j in 2..5 reading
 * node i; nodes 0 and 1 are the cell's inputs), normal edges first, node-major.
 *
 * Derivation (the DARTS code's `genotype()`): per node, the two inputs whose strongest non-`none`
 * op has the highest weight, each with that op, strongest first; the result is a `DartsArch`,
 * trained stand-alone by `buildNetwork(arch, input, { darts: { width, layers } })`.
 */
import { DARTS_OPS, type DartsArch, type DartsCell, type DartsOp } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import { DARTS_DEFAULTS, analyzeArch, type InputSpec } from '../nn/build/analyze.js';
import { FactorizedReduce, ZeroStrided, forwardCellChain, makeOp } from '../nn/build/darts.js';
import { reluConvBn } from '../nn/build/nb201.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, Sequential } from '../nn/layers.js';
import { Module, type Layer } from '../nn/module.js';
import { cat, tidy, type Generator, type Tensor } from '../tensor/index.js';
import { MixedEdge, type EdgeInfo, type ForwardMode, type ModeRef, type Supernet } from './supernet.js';

/** (to, from) of the 14 edges of one cell, node-major. */
const CELL_EDGES: readonly (readonly [number, number])[] = [2, 3, 4, 5].flatMap((j) => Array.from({ length: j }, (_, i) => [j, i] as const));

export const DARTS_EDGES: readonly EdgeInfo[] = (['normal', 'reduce'] as const).flatMap((cell) =>
  CELL_EDGES.map(([to, from]) => ({ name: `${cell}.n${to}.in${from}`, cell, from, to, ops: DARTS_OPS })),
);

class DartsSuperCell extends Module<[Tensor, Tensor], Tensor> {
  readonly preprocess0: Layer;
  readonly preprocess1: Layer;
  readonly edges: ModuleList<MixedEdge>;
  constructor(cpp: number, cp: number, c: number, readonly reduction: boolean, reductionPrev: boolean, gen: Generator, ref: ModeRef) {
    super();
    this.preprocess0 = this.child('preprocess0', reductionPrev ? new FactorizedReduce(cpp, c, gen) : reluConvBn(cpp, c, 1, 1, 0, gen));
    this.preprocess1 = this.child('preprocess1', reluConvBn(cp, c, 1, 1, 0, gen));
    const offset = reduction ? CELL_EDGES.length : 0;
    this.edges = this.child(
      'edges',
      new ModuleList(
        CELL_EDGES.map(([, from], k) => {
          const stride = reduction && from < 2 ? 2 : 1;
          const zero = new ZeroStrided(stride);
          return new MixedEdge(offset + k, DARTS_OPS.map((op) => (op === 'none' ? undefined : makeOp(op, c, stride, gen))), ref, (x) => zero.forward(x));
        }),
      ),
    );
  }
  forward(s0: Tensor, s1: Tensor): Tensor {
    const states = [this.preprocess0.forward(s0), this.preprocess1.forward(s1)];
    let k = 0;
    for (let j = 2; j < 6; j++) {
      let acc: Tensor | undefined;
      for (let i = 0; i < j; i++, k++) {
        const y = this.edges.at(k).forward(states[i]!);
        acc = acc === undefined ? y : acc.add(y);
      }
      states.push(acc!);
    }
    return cat(states.slice(2), 1);
  }
}

class DartsSuperNetModule extends Module {
  readonly stem: Sequential;
  readonly cells: ModuleList<DartsSuperCell>;
  readonly pool = new AdaptiveAvgPool2d(1);
  readonly classifier: Linear;
  constructor(inChannels: number, numClasses: number, gen: Generator, C: number, layers: number, ref: ModeRef) {
    super();
    this.stem = this.child('stem', new Sequential(new Conv2d(inChannels, 3 * C, 3, { gen, padding: 1, bias: false }), new BatchNorm2d(3 * C)));
    this.cells = this.child('cells', new ModuleList<DartsSuperCell>());
    let cpp = 3 * C;
    let cp = 3 * C;
    let cur = C;
    let reductionPrev = false;
    const reductions = new Set([Math.floor(layers / 3), Math.floor((2 * layers) / 3)]);
    for (let i = 0; i < layers; i++) {
      const reduction = reductions.has(i);
      if (reduction) cur *= 2;
      this.cells.push(new DartsSuperCell(cpp, cp, cur, reduction, reductionPrev, gen, ref));
      reductionPrev = reduction;
      cpp = cp;
      cp = 4 * cur;
    }
    this.classifier = this.child('classifier', new Linear(cp, numClasses, { gen }));
  }
  forward(x: Tensor): Tensor {
    // The built DartsNet's forward: each cell its own stage.
    return forwardCellChain(x, this.stem, this.cells, this.pool, this.classifier);
  }
}

const NONE = DARTS_OPS.indexOf('none');

/** The DARTS genotype rule for one cell's 14 rows of op preferences. */
export function deriveDartsCell(prefs: readonly (readonly number[])[]): DartsCell {
  if (prefs.length !== CELL_EDGES.length) throw new NasError('invalid_arch', `a DARTS cell has ${CELL_EDGES.length} edges, got ${prefs.length}`, { field: 'prefs' });
  const edges: { op: DartsOp; input: number }[] = [];
  let k = 0;
  for (let j = 2; j < 6; j++) {
    const cands: { input: number; op: number; w: number }[] = [];
    for (let i = 0; i < j; i++, k++) {
      const row = prefs[k]!;
      let best = -1;
      for (let o = 0; o < row.length; o++) if (o !== NONE && (best < 0 || row[o]! > row[best]!)) best = o;
      cands.push({ input: i, op: best, w: row[best]! });
    }
    cands.sort((a, b) => b.w - a.w || a.input - b.input);
    for (const c of cands.slice(0, 2)) edges.push({ op: DARTS_OPS[c.op]!, input: c.input });
  }
  return { edges };
}

export interface DartsSupernetOptions {
  readonly width?: number;
  readonly layers?: number;
}

/** Builds the DARTS cell supernet; alpha starts at 1e-3 * N(0,1) as in the DARTS code. */
export function dartsSupernet(input: InputSpec, gen: Generator, o: DartsSupernetOptions = {}): Supernet<DartsArch> {
  const width = o.width ?? DARTS_DEFAULTS.width;
  const layers = o.layers ?? DARTS_DEFAULTS.layers;
  // The stand-alone network's shape rules apply to the supernet (every edge of a full cell).
  const probe: DartsCell = { edges: [2, 3, 4, 5].flatMap((j) => [{ op: 'sep_conv_3x3' as DartsOp, input: 0 }, { op: 'sep_conv_3x3' as DartsOp, input: j - 1 }]) };
  analyzeArch({ family: 'darts', normal: probe, reduce: probe }, input, { darts: { width, layers } });
  const ref: ModeRef = { mode: undefined };
  const module = new DartsSuperNetModule(input.shape[0]!, input.numClasses, gen, width, layers, ref);
  const alpha = DARTS_EDGES.map((e) => tidy(() => gen.randn([e.ops.length]).mul(1e-3)).keep().requiresGrad_(true));
  const n = CELL_EDGES.length;
  const derive = (prefs: readonly (readonly number[])[]): DartsArch => ({ family: 'darts', normal: deriveDartsCell(prefs.slice(0, n)), reduce: deriveDartsCell(prefs.slice(n)) });
  return {
    module,
    edges: DARTS_EDGES,
    alpha,
    setMode(mode: ForwardMode) {
      ref.mode = mode;
    },
    derive,
    pathArch: (index) => derive(index.map((k, e) => DARTS_EDGES[e]!.ops.map((_, o) => (o === k ? 1 : 0)))),
    archOps: (a) => [...a.normal.edges, ...a.reduce.edges].map((e) => e.op),
    dispose() {
      module.dispose();
      for (const a of alpha) a.dispose();
    },
  };
}
