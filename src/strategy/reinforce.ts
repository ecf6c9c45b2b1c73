/**
 * REINFORCE with an LSTM controller (Zoph & Le 2017; Williams 1992), on the libtorch engine.
 *
 * The controller emits an architecture one decision site at a time (sites.ts, in the space's build
 * order): at each step an LSTMCell (src/tensor lstmCell, autograd by the engine) reads the embedding
 * of the previous decision (a learned start vector first), a per-site linear head gives logits over
 * the site's options (disallowed options masked, e.g. a DARTS node's second input), and the option
 * is sampled with the strategy's Rng. Logits are bounded as in ENAS (c * tanh(logits / T)). Numeric sites are decided in `bins` equal bins.
 *
 * On each `tell` the trial's decisions are replayed through the current controller and one Adam step
 * (in plain TypeScript, moments kept in the JSON state) descends
 *   loss = -A * sum_t log pi(a_t) - entropyWeight * sum_t H(pi_t),
 * with advantage A = (R - b) / sd: reward R = the first objective's fitness (failed / infeasible =
 * the worst reward seen), b an exponential moving-average baseline, sd a moving average of the
 * squared deviation (clipped to +-3). Weights, Adam moments, baseline and the decisions of running
 * trials are all plain JSON in the state, so a study resumes exactly.
 * A sampled architecture whose key was seen is re-sampled (up to 50 times), then a random novel one
 * is taken (its decisions are read back from the architecture, an off-policy sample).
 */
import { NasError } from '../core/errors.js';
import { Rng, type RngState } from '../core/rng.js';
import type { ParamDef } from '../space/dsl.js';
import { Tensor, linear, logSoftmax, lstmCell, noGrad, tidy } from '../tensor/index.js';
import { EXHAUSTED, fitness, precheck, randomNovel, seededRng, seenKeys } from './common.js';
import { defineStrategy } from './common-options.js';
import { allSites, buildFromSites, siteValues, type SiteSpec } from './sites.js';
import { eraseState, type AskOutcome, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

type Params = Record<string, number[]>;

interface ReinforceState {
  readonly rng: RngState;
  readonly params: Params;
  readonly adam: { readonly m: Params; readonly v: Params; readonly t: number };
  readonly baseline: number | null;
  readonly sqdev: number;
  readonly worst: number | null;
  /** Decisions (option indices in build order) of proposals not yet told, by key. */
  readonly pending: Readonly<Record<string, number[]>>;
}

export interface ReinforceOptions {
  readonly hidden: number;
  readonly embedding: number;
  readonly lr: number;
  readonly entropyWeight: number;
  readonly baselineDecay: number;
  readonly bins: number;
  readonly tanhConstant: number;
  readonly temperature: number;
}

const siteOptions = (s: SiteSpec, bins: number) => (s.kind === 'cat' ? s.n : bins);

/** Parameter names and shapes of the controller for a space. */
export function controllerShapes(def: ParamDef, o: Pick<ReinforceOptions, 'hidden' | 'embedding' | 'bins'>): [string, number[]][] {
  const H = o.hidden;
  const E = o.embedding;
  const out: [string, number[]][] = [
    ['lstm.weight_ih', [4 * H, E]],
    ['lstm.weight_hh', [4 * H, H]],
    ['lstm.bias_ih', [4 * H]],
    ['lstm.bias_hh', [4 * H]],
    ['start', [1, E]],
  ];
  const sites = allSites(def);
  if (!sites.length) throw new NasError('invalid_space', 'the space has no decision to learn', { field: 'space', hint: 'REINFORCE needs at least one choice' });
  sites.forEach((s, i) => {
    const n = siteOptions(s, o.bins);
    out.push([`emb.${i}`, [n, E]], [`head.${i}.weight`, [n, H]], [`head.${i}.bias`, [n]]);
  });
  return out;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * One pass of the controller over the space. `choose(site, logProbs, allowed)` returns the option
 * index for each step (sampling or replaying). Must run inside `tidy`. Returns the sum of the
 * chosen log-probabilities and of the entropies (tensors, differentiable when params require grad),
 * the decisions and the built architecture.
 */
export function controllerPass(
  def: ParamDef,
  P: ReadonlyMap<string, Tensor>,
  o: Pick<ReinforceOptions, 'hidden' | 'bins' | 'tanhConstant' | 'temperature'>,
  choose: (site: SiteSpec, logProbs: Tensor, allowed: readonly number[] | undefined) => number,
): { logProb: Tensor; entropy: Tensor; decisions: number[]; arch: unknown } {
  const index = new Map(allSites(def).map((s, i) => [s.path, i]));
  const p = (name: string) => P.get(name)!;
  const E = p('start').shape[1]!;
  let h = Tensor.zeros([1, o.hidden], 'float64');
  let c = Tensor.zeros([1, o.hidden], 'float64');
  let x = p('start');
  let logProb = Tensor.zeros([], 'float64');
  let entropy = Tensor.zeros([], 'float64');
  const decisions: number[] = [];
  const arch = buildFromSites(def, (site, allowed) => {
    const i = index.get(site.path);
    if (i === undefined) throw new NasError('internal', `site ${site.path} missing from the controller`);
    const n = siteOptions(site, o.bins);
    [h, c] = lstmCell(x, h, c, p('lstm.weight_ih'), p('lstm.weight_hh'), p('lstm.bias_ih'), p('lstm.bias_hh'));
    let logits = linear(h, p(`head.${i}.weight`), p(`head.${i}.bias`));
    // ENAS's bounded logits: c * tanh(logits / T) keeps every option's probability away from 0,
    // so the policy cannot collapse onto architectures that are already evaluated.
    if (o.tanhConstant > 0) logits = logits.div(o.temperature).tanh().mul(o.tanhConstant);
    if (allowed && allowed.length < n) {
      const mask = new Float64Array(n).fill(-1e9);
      for (const a of allowed) mask[a] = 0;
      logits = logits.add(Tensor.fromArray(mask, [1, n], 'float64'));
    }
    const lp = logSoftmax(logits, 1);
    const k = choose(site, lp, allowed);
    decisions.push(k);
    logProb = logProb.add(lp.select(1, k).sum());
    entropy = entropy.sub(lp.exp().mul(lp).sum());
    x = p(`emb.${i}`).select(0, k).reshape([1, E]);
    return site.kind === 'cat' ? k : (k + 0.5) / o.bins;
  });
  return { logProb, entropy, decisions, arch };
}

function tensors(params: Params, shapes: readonly [string, number[]][], grad: boolean): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const [name, shape] of shapes) {
    const t = Tensor.fromArray(Float64Array.from(params[name]!), shape, 'float64');
    m.set(name, grad ? t.requiresGrad_() : t);
  }
  return m;
}

/** Decisions of an arbitrary member (for off-policy updates): its site values in build order. */
function decisionsOf(def: ParamDef, arch: unknown, bins: number): number[] {
  const v = siteValues(def, arch);
  const out: number[] = [];
  buildFromSites(def, (site) => {
    const x = v.get(site.path) ?? 0;
    const k = site.kind === 'cat' ? x : Math.min(bins - 1, Math.floor(x * bins));
    out.push(k);
    return site.kind === 'cat' ? k : (k + 0.5) / bins;
  });
  return out;
}

/** Gradient of the REINFORCE loss for given decisions and advantage (exported for the gradient check). */
export function reinforceLoss(def: ParamDef, params: Params, o: ReinforceOptions, decisions: readonly number[], advantage: number, withGrad: boolean): { loss: number; grads: Params } {
  const shapes = controllerShapes(def, o);
  return tidy(() => {
    const P = tensors(params, shapes, withGrad);
    let t = 0;
    const r = controllerPass(def, P, o, () => decisions[t++]!);
    const loss = r.logProb.mul(-advantage).sub(r.entropy.mul(o.entropyWeight));
    const grads: Params = {};
    if (withGrad) {
      loss.backward();
      for (const [name, shape] of shapes) grads[name] = P.get(name)!.grad?.toArray() ?? new Array<number>(sizeOf(shape)).fill(0);
    }
    return { loss: loss.item(), grads };
  });
}

export function reinforce(o: ReinforceOptions): Strategy<ReinforceState> {
  return {
    name: 'reinforce',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      const init = rng.derive('init');
      const params: Params = {};
      const zeros: Params = {};
      for (const [name, shape] of controllerShapes(ctx.space.def, o)) {
        params[name] = Array.from({ length: sizeOf(shape) }, () => init.uniform(-0.1, 0.1));
        zeros[name] = new Array<number>(sizeOf(shape)).fill(0);
      }
      return { rng: rng.state(), params, adam: { m: zeros, v: structuredClone(zeros), t: 0 }, baseline: null, sqdev: 0, worst: null, pending: {} };
    },
    ask<A>(state: ReinforceState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const seen = seenKeys(ctx.history);
      const shapes = controllerShapes(ctx.space.def, o);
      const propose = (arch: A, key: string, decisions: number[]) => ({
        state: { ...state, rng: rng.state(), pending: { ...state.pending, [key]: decisions } },
        outcome: { kind: 'trial', proposal: { arch } } as AskOutcome<A>,
      });
      const found = noGrad(() =>
        tidy(() => {
          const P = tensors(state.params, shapes, false);
          for (let attempt = 0; attempt < 50; attempt++) {
            const r = controllerPass(ctx.space.def, P, o, (_site, lp, allowed) => {
              const probs = lp.exp().toArray();
              const w = probs.map((q, i) => (allowed && !allowed.includes(i) ? 0 : q));
              return rng.weighted(w);
            });
            const arch = ctx.space.validate(r.arch);
            if (!precheck(arch, ctx)) continue;
            const key = ctx.space.key(arch);
            if (seen.has(key)) continue;
            return { arch, key: key as string, decisions: r.decisions };
          }
          return undefined;
        }),
      );
      if (found) return propose(found.arch, found.key, found.decisions);
      const hit = randomNovel(ctx, seen, rng);
      if (!hit) return { state: { ...state, rng: rng.state() }, outcome: EXHAUSTED };
      return propose(hit.arch, hit.key, decisionsOf(ctx.space.def, hit.arch, o.bins));
    },
    tell<A>(state: ReinforceState, trial: TrialRecord<A>, ctx: StrategyContext<A>) {
      const { [trial.key]: decisions0, ...pending } = state.pending;
      const decisions = decisions0 ?? decisionsOf(ctx.space.def, trial.arch, o.bins);
      let f = fitness(trial, ctx);
      const worst = Number.isFinite(f) ? Math.min(f, state.worst ?? f) : state.worst;
      if (!Number.isFinite(f)) {
        if (worst === null) return { ...state, pending };
        f = worst;
      }
      if (state.baseline === null) return { ...state, pending, baseline: f, worst };
      const dev = f - state.baseline;
      const sqdev = state.adam.t === 0 && state.sqdev === 0 ? dev * dev : o.baselineDecay * state.sqdev + (1 - o.baselineDecay) * dev * dev;
      const adv = sqdev > 0 ? Math.max(-3, Math.min(3, dev / Math.sqrt(sqdev))) : 0;
      const baseline = o.baselineDecay * state.baseline + (1 - o.baselineDecay) * f;
      const { grads } = reinforceLoss(ctx.space.def, state.params, o, decisions, adv, true);
      // Adam (Kingma & Ba), default betas, in plain TypeScript so its moments live in the JSON state.
      const b1 = 0.9;
      const b2 = 0.999;
      const t = state.adam.t + 1;
      const params: Params = {};
      const m: Params = {};
      const v: Params = {};
      for (const name of Object.keys(state.params)) {
        const g = grads[name]!;
        const p0 = state.params[name]!;
        const m0 = state.adam.m[name]!;
        const v0 = state.adam.v[name]!;
        const pn = new Array<number>(p0.length);
        const mn = new Array<number>(p0.length);
        const vn = new Array<number>(p0.length);
        for (let i = 0; i < p0.length; i++) {
          mn[i] = b1 * m0[i]! + (1 - b1) * g[i]!;
          vn[i] = b2 * v0[i]! + (1 - b2) * g[i]! * g[i]!;
          pn[i] = p0[i]! - (o.lr * (mn[i]! / (1 - b1 ** t))) / (Math.sqrt(vn[i]! / (1 - b2 ** t)) + 1e-8);
        }
        params[name] = pn;
        m[name] = mn;
        v[name] = vn;
      }
      return { ...state, params, adam: { m, v, t }, baseline, sqdev, worst, pending };
    },
  };
}

export const reinforceStrategy = defineStrategy({
  name: 'reinforce',
  description: 'REINFORCE with an LSTM controller (engine LSTMCell, moving-average baseline, entropy bonus)',
  options: {
    hidden: { kind: 'int', default: 32, min: 1, max: 1024, doc: 'LSTM hidden size' },
    embedding: { kind: 'int', default: 32, min: 1, max: 1024, doc: 'decision embedding size' },
    lr: { kind: 'float', default: 0.01, min: 0, max: 10, doc: 'Adam learning rate' },
    entropyWeight: { kind: 'float', default: 0.01, min: 0, max: 10, doc: 'weight of the entropy bonus' },
    baselineDecay: { kind: 'float', default: 0.9, min: 0, max: 0.9999, doc: 'moving-average decay of the reward baseline' },
    bins: { kind: 'int', default: 8, min: 2, max: 1000, doc: 'bins for numeric decision sites' },
    tanhConstant: { kind: 'float', default: 2.5, min: 0, max: 100, doc: 'logits bounded to c * tanh(logits / temperature) (ENAS); 0 = unbounded' },
    temperature: { kind: 'float', default: 5, min: 0.01, max: 100, doc: 'logit temperature inside the tanh bound' },
  },
  create: (o) => eraseState(reinforce(o)),
});
