/**
 * Module: a tree of named parameters, buffers and child modules, as torch.nn.Module. Parameters
 * and buffers are owned by the module (kept out of tidy scopes) and freed by `dispose()`.
 * Names follow PyTorch's dotted convention (`0.weight`, `cells.3.ops.1.bn.running_mean`), so state
 * dicts map 1:1 onto PyTorch's.
 */
import { NasError } from '../core/errors.js';
import { Tensor, zeroGrads } from '../tensor/index.js';

export abstract class Module<I extends unknown[] = [Tensor], O = Tensor> {
  /** True in training mode (batch statistics, dropout active); see train()/eval(). */
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module<any, any>>();
  private _disposed = false;

  abstract forward(...args: I): O;

  /** Registers a trainable parameter (requires grad, kept out of tidy scopes). */
  protected param(name: string, t: Tensor): Tensor {
    this.checkName(name);
    t.keep();
    if (!t.requiresGrad) t.requiresGrad_(true);
    this._params.set(name, t);
    return t;
  }
  /** Registers a non-trainable state tensor saved in the state dict (e.g. BatchNorm running stats). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    t.keep();
    this._buffers.set(name, t);
    return t;
  }
  /** Registers a child module under `name`. */
  protected child<M extends Module<any, any>>(name: string, m: M): M {
    this.checkName(name);
    this._children.set(name, m);
    return m;
  }
  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new NasError('internal', `bad module member name ${JSON.stringify(name)}`);
    if (this._params.has(name) || this._buffers.has(name) || this._children.has(name))
      throw new NasError('internal', `module member ${JSON.stringify(name)} registered twice`);
  }

  /** Direct children, in registration order. */
  children(): Module<any, any>[] {
    return [...this._children.values()];
  }
  namedChildren(): [string, Module<any, any>][] {
    return [...this._children.entries()];
  }
  /** This module and all descendants, depth first (this first). */
  modules(): Module<any, any>[] {
    const out: Module<any, any>[] = [this];
    for (const c of this._children.values()) out.push(...c.modules());
    return out;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this._params) out.push([prefix + n, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) out.push([prefix + n, b]);
    for (const [n, c] of this._children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }
  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  /** Sets training mode on this module and all descendants. */
  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Drops all parameter gradients (set to none). */
  zeroGrad(): void {
    const ps = this.parameters();
    if (ps.length) zeroGrads(ps);
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's order (each module's own parameters, then
   * its buffers, then its children). The tensors are the module's own (not copies): do not dispose them.
   */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, p] of this._params) out.set(prefix + n, p);
    for (const [n, b] of this._buffers) out.set(prefix + n, b);
    for (const [n, c] of this._children) for (const [k, v] of c.stateDict(`${prefix}${n}.`)) out.set(k, v);
    return out;
  }

  /**
   * Copies values into the parameters and buffers (shapes must match). With strict (default) the
   * key sets must be equal; otherwise missing and unexpected keys are returned.
   */
  loadStateDict(sd: ReadonlyMap<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !own.has(k));
    if ((opts.strict ?? true) && (missing.length || unexpected.length))
      throw new NasError('shape_mismatch', `state dict does not match the module: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`, {
        field: 'stateDict',
        hint: 'load a state dict saved from the same architecture, or pass { strict: false }',
      });
    for (const [k, dst] of own) {
      const src = sd.get(k);
      if (!src) continue;
      const a = dst.shape, b = src.shape;
      if (a.length !== b.length || a.some((s, i) => s !== b[i]))
        throw new NasError('shape_mismatch', `state dict entry ${k} has shape [${b.join(',')}], the module expects [${a.join(',')}]`, { field: `stateDict.${k}` });
      dst.copy_(src);
    }
    return { missing, unexpected };
  }

  /** Frees all parameters and buffers of this module and its descendants. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const p of this._params.values()) p.dispose();
    for (const b of this._buffers.values()) b.dispose();
    for (const c of this._children.values()) c.dispose();
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
}

/** A module mapping one tensor to one tensor (what Sequential chains). */
export type Layer = Module<[Tensor], Tensor>;
