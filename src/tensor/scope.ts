/**
 * Explicit lifetimes for native memory. Every Tensor created inside `tidy(fn)` is disposed when fn
 * returns, except the tensors in fn's result (which move to the enclosing scope) and those passed
 * to `keep()`. Tensors created outside any scope are untracked: free them with `dispose()` (the
 * GC finalizer is only a backstop). Scopes are synchronous: fn must not return a Promise.
 */
import { NasError } from '../core/errors.js';
import { native, type Handle } from './native.js';

export interface Trackable {
  /** @internal the native id, null once disposed. */
  _h: Handle | null;
  /** @internal registered with the GC backstop. */
  _reg: boolean;
  /** @internal scope bookkeeping: true when keep() exempted it from scopes. */
  _kept: boolean;
  /** @internal */
  _scopeMark: number;
  readonly isDisposed: boolean;
  dispose(): void;
}

const stack: Trackable[][] = [];

// The GC backstop: tensors that live outside every tidy scope (created outside one, returned from
// the outermost one, or kept) are registered so a collected, never-disposed wrapper still frees its
// native tensor. Tensors inside a scope are freed by the scope, so they skip the (costly) registry.
const backstop = new FinalizationRegistry<Handle>((h) => native.dispose(h));

function guard(t: Trackable): void {
  if (!t._reg && t._h !== null) {
    t._reg = true;
    backstop.register(t, t._h, t);
    // Only GC-owned tensors are reported as external memory, so V8's collection heuristics see
    // what a collection could free, not every short-lived activation inside a scope.
    native.account(t._h);
  }
}

/** @internal called by Tensor.dispose(). */
export function unguard(t: Trackable): void {
  if (t._reg) {
    t._reg = false;
    backstop.unregister(t);
  }
}

/** @internal called by every Tensor constructor. */
export function track(t: Trackable): void {
  const top = stack.length;
  if (top !== 0) stack[top - 1]!.push(t);
  else guard(t);
}

/** Exempts tensors from every enclosing and future tidy scope; the caller must dispose() them. */
export function keep<T extends Trackable>(t: T): T {
  t._kept = true;
  guard(t);
  return t;
}

let markCounter = 0;

function collect(v: unknown, mark: number, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 8) return;
  if ('_scopeMark' in v && 'dispose' in v) {
    (v as Trackable)._scopeMark = mark;
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, mark, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collect(x, mark, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, mark, depth + 1);
}

/**
 * Runs fn in a new scope. Tensors reachable from the result (a tensor, or arrays / plain objects /
 * Maps of them, 8 levels deep) survive; all others created inside are disposed, even when fn throws.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Trackable[] = [];
  stack.push(scope);
  let result: T | undefined;
  let ok = false;
  try {
    result = fn();
    ok = true;
  } finally {
    stack.pop();
    const mark = ++markCounter;
    if (ok) {
      if (result instanceof Promise) {
        for (const t of scope) if (!t._kept) t.dispose();
        // eslint-disable-next-line no-unsafe-finally
        throw new NasError('internal', 'tidy(fn): fn returned a Promise; scopes are synchronous', {
          hint: 'await outside tidy() and use tidy() around the synchronous tensor work',
        });
      }
      collect(result, mark, 0);
    }
    const parent = stack.length ? stack[stack.length - 1]! : undefined;
    for (const t of scope) {
      if (t._kept || t.isDisposed) continue;
      if (ok && t._scopeMark === mark) {
        if (parent) parent.push(t);
        else guard(t);
      } else t.dispose();
    }
  }
  return result as T;
}

/** Number of open tidy scopes (for tests and assertions). */
export function scopeDepth(): number {
  return stack.length;
}
