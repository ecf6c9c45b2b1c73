/**
 * Behaviour of space definitions (src/space/dsl.ts): pure functions over (definition, value).
 * Values are plain JSON; each function here trusts that its value was validated against `def`
 * (`validateValue` is the gate). Everything random takes an Rng.
 */
import { NasError } from '../core/errors.js';
import { Issues } from '../core/issues.js';
import { didYouMean } from '../core/suggest.js';
import type { Json } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import type { CellDef, ConditionalDef, DagDef, FieldDef, ParamDef, RepeatDef, Scalar, StructDef } from './dsl.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Val = any;
type Obj = Record<string, Val>;

export const ENCODINGS = ['onehot', 'adjacency', 'path'] as const;
/**
 * onehot: every categorical one-hot, numbers scaled to [0,1], sequences padded to their max length
 *   with a presence bit; adjacency: cells as adjacency matrix + one-hot op per edge (other fields as
 *   onehot); path: cells as BANANAS path indicators (White et al. 2021: which input->output op
 *   sequences exist), other fields as onehot.
 */
export type EncodingKind = (typeof ENCODINGS)[number];

// ---- small helpers -------------------------------------------------------------------------------

export const dagEdgeCount = (nodes: number): number => (nodes * (nodes - 1)) / 2;
/** [source, target] of each dense-DAG edge, in the value's order. */
export function dagEdges(nodes: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 1; j < nodes; j++) for (let i = 0; i < j; i++) out.push([i, j]);
  return out;
}
const cellEdgeCount = (d: CellDef): number => d.nodes * d.degree;
/** Inputs an edge of intermediate node k (0-based) may read: nodes 0 .. inputs+k-1. */
const cellAvail = (d: CellDef, k: number): number => d.inputs + k;

function isActive(f: ConditionalDef, parent: Obj): boolean {
  return f.when.in.includes(parent[f.when.field] as Scalar);
}
function intGrid(d: { min: number; max: number; step?: number }): number {
  return Math.floor((d.max - d.min) / (d.step ?? 1)) + 1;
}
function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
/**
 * Every float the engine produces goes through here: exp/log and midpoint arithmetic can round one
 * ulp past a bound (log-float with min == max: exp(log(0.01)) = 0.010000000000000005), and the space
 * itself then rejects the value.
 */
function inFloatBounds(d: { min: number; max: number }, x: number): number {
  return d.min === d.max ? d.min : clamp(x, d.min, d.max);
}
function snapInt(d: { min: number; max: number; step?: number }, x: number): number {
  const s = d.step ?? 1;
  return clamp(d.min + Math.round((x - d.min) / s) * s, d.min, d.min + (intGrid(d) - 1) * s);
}

/** Repairs conditionals of a struct after a change: samples newly active fields, drops inactive ones. */
function repairStruct(d: StructDef, v: Obj, rng: Rng | undefined): Obj {
  for (const [name, f] of Object.entries(d.fields)) {
    if (f.kind !== 'conditional') continue;
    if (isActive(f, v)) {
      if (v[name] === undefined) v[name] = rng ? sampleValue(f.then, rng) : defaultValue(f.then);
    } else delete v[name];
  }
  return v;
}

// ---- sample / default ----------------------------------------------------------------------------

export function sampleValue(d: ParamDef, rng: Rng): Val {
  switch (d.kind) {
    case 'choice':
      return rng.choice(d.options);
    case 'const':
      return d.value;
    case 'int':
      if (d.log) return snapInt(d, Math.exp(rng.uniform(Math.log(d.min), Math.log(d.max + 1))) - 0.5);
      return d.min + rng.int(0, intGrid(d)) * (d.step ?? 1);
    case 'float':
      if (d.log) return inFloatBounds(d, Math.exp(rng.uniform(Math.log(d.min), Math.log(d.max))));
      return inFloatBounds(d, rng.uniform(d.min, d.max));
    case 'dag':
      return Array.from({ length: dagEdgeCount(d.nodes) }, () => rng.choice(d.ops));
    case 'cell': {
      const edges: Val[] = [];
      for (let k = 0; k < d.nodes; k++)
        for (const input of rng.sample(Array.from({ length: cellAvail(d, k) }, (_, i) => i), d.degree))
          edges.push({ op: rng.choice(d.ops), input });
      return { edges };
    }
    case 'repeat': {
      const n = rng.int(d.min, d.max + 1);
      return Array.from({ length: n }, () => sampleValue(d.item, rng));
    }
    case 'struct': {
      const v: Obj = {};
      for (const [name, f] of Object.entries(d.fields)) if (f.kind !== 'conditional') v[name] = sampleValue(f, rng);
      return repairStruct(d, v, rng);
    }
  }
}

/** A deterministic member of the space (first option, lower bound, ...). */
export function defaultValue(d: ParamDef): Val {
  switch (d.kind) {
    case 'choice':
      return d.options[0];
    case 'const':
      return d.value;
    case 'int':
      return d.min;
    case 'float':
      return inFloatBounds(d, d.log ? Math.sqrt(d.min * d.max) : (d.min + d.max) / 2);
    case 'dag':
      return Array.from({ length: dagEdgeCount(d.nodes) }, () => d.ops[0]);
    case 'cell': {
      const edges: Val[] = [];
      for (let k = 0; k < d.nodes; k++) for (let e = 0; e < d.degree; e++) edges.push({ op: d.ops[0], input: e });
      return { edges };
    }
    case 'repeat':
      return Array.from({ length: Math.max(d.min, 1) }, () => defaultValue(d.item));
    case 'struct': {
      const v: Obj = {};
      for (const [name, f] of Object.entries(d.fields)) if (f.kind !== 'conditional') v[name] = defaultValue(f);
      return repairStruct(d, v, undefined);
    }
  }
}

// ---- validate ----------------------------------------------------------------------------------

function invalid(field: string, message: string, hint?: string): never {
  throw new NasError('invalid_arch', message, { field: field || '(root)', ...(hint ? { hint } : {}) });
}
const join = (field: string, key: string | number): string =>
  typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${key}` : key;

function checkOp(ops: readonly string[], v: unknown, field: string): void {
  if (!ops.includes(v as string)) invalid(field, `unknown op ${JSON.stringify(v)}${typeof v === 'string' ? didYouMean(v, ops) : ''}`, `use one of: ${ops.join(', ')}`);
}

/** What to write for a missing field of kind `d`. */
function missingHint(d: ParamDef): string | undefined {
  switch (d.kind) {
    case 'choice':
      return `add it: one of ${d.options.map((o) => JSON.stringify(o)).join(', ')}`;
    case 'const':
      return `add it: ${JSON.stringify(d.value)}`;
    case 'int':
    case 'float':
      return `add it: a number in [${d.min}, ${d.max}]`;
    case 'repeat':
      return `add it: a list of ${d.min}..${d.max} items`;
    default:
      return undefined;
  }
}

/**
 * Throws `invalid_arch` naming the bad field (e.g. `ops[3]`, `layers[2].kernel`); an object's or a
 * list's problems all at once (one combined error, src/core/issues.ts), a missing field as
 * "missing", an unknown one with a did-you-mean. Returns a fresh copy.
 */
export function validateValue(d: ParamDef, v: unknown, field: string): Val {
  if (v === undefined) invalid(field, 'missing', missingHint(d));
  switch (d.kind) {
    case 'choice':
      if (!d.options.includes(v as Scalar))
        invalid(field, `${JSON.stringify(v)} is not an allowed value${typeof v === 'string' || typeof v === 'number' ? didYouMean(String(v), d.options.map(String)) : ''}`, `use one of: ${d.options.map((o) => JSON.stringify(o)).join(', ')}`);
      return v;
    case 'const':
      if (v !== d.value) invalid(field, `must be ${JSON.stringify(d.value)}, got ${JSON.stringify(v)}`);
      return v;
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v)) invalid(field, `must be an integer, got ${JSON.stringify(v)}`);
      if (v < d.min || v > d.max) invalid(field, `${v} is outside [${d.min}, ${d.max}]`);
      if ((v - d.min) % (d.step ?? 1) !== 0) invalid(field, `${v} is not on the grid ${d.min} + k*${d.step}`);
      return v;
    }
    case 'float':
      if (typeof v !== 'number' || !Number.isFinite(v)) invalid(field, `must be a finite number, got ${JSON.stringify(v)}`);
      if (v < d.min || v > d.max) invalid(field, `${v} is outside [${d.min}, ${d.max}]`);
      return v;
    case 'dag': {
      const n = dagEdgeCount(d.nodes);
      if (!Array.isArray(v) || v.length !== n) invalid(field, `must be a list of ${n} ops (one per edge)`);
      v.forEach((op, i) => checkOp(d.ops, op, join(field, i)));
      return v.slice();
    }
    case 'cell': {
      const edges = (v as Obj | null)?.edges;
      const n = cellEdgeCount(d);
      const ef = join(field, 'edges');
      if (!Array.isArray(edges) || edges.length !== n) invalid(ef, `must be a list of ${n} edges ({op, input}), ${d.degree} per node`);
      const out: Val[] = [];
      for (let k = 0; k < d.nodes; k++) {
        const used = new Set<number>();
        for (let e = 0; e < d.degree; e++) {
          const i = k * d.degree + e;
          const edge = edges[i] as Obj | null;
          const f = join(ef, i);
          if (typeof edge !== 'object' || edge === null) invalid(f, 'must be an object {op, input}');
          checkOp(d.ops, edge.op, join(f, 'op'));
          const avail = cellAvail(d, k);
          if (!Number.isInteger(edge.input) || edge.input < 0 || edge.input >= avail)
            invalid(join(f, 'input'), `input ${JSON.stringify(edge.input)} is not an earlier node`, `node ${d.inputs + k} may read nodes 0..${avail - 1}`);
          if (used.has(edge.input)) invalid(join(f, 'input'), `node ${d.inputs + k} reads node ${edge.input} twice`);
          used.add(edge.input);
          out.push({ op: edge.op, input: edge.input });
        }
      }
      return { edges: out };
    }
    case 'repeat': {
      if (!Array.isArray(v)) invalid(field, `must be a list, got ${JSON.stringify(v)}`, typeof v === 'number' || typeof v === 'string' ? `write [${JSON.stringify(v)}]` : undefined);
      if (v.length < d.min || v.length > d.max) invalid(field, `length ${v.length} is outside [${d.min}, ${d.max}]`);
      // Every item's problems, not only the first's (one combined error).
      const I = new Issues();
      const items = v.map((x, i) => I.take(() => validateValue(d.item, x, join(field, i)), null));
      I.throwIfAny('the architecture');
      return items;
    }
    case 'struct': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(field, `must be an object, got ${JSON.stringify(v)}`);
      const o = v as Obj;
      // Every problem of the object at once: unknown fields (did you mean), missing and bad ones.
      const I = new Issues();
      const names = Object.keys(d.fields);
      for (const k of Object.keys(o))
        if (!(k in d.fields) && o[k] !== undefined) I.add(new NasError('invalid_arch', `unknown field ${JSON.stringify(k)}${didYouMean(k, names)}`, { field: join(field, k), hint: `fields are: ${names.join(', ')}` }));
      const out: Obj = {};
      // A wrong constant (the family) makes the other fields meaningless: it alone is reported.
      for (const [name, f] of Object.entries(d.fields)) if (f.kind === 'const') validateValue(f, o[name], join(field, name));
      const bad = new Set<string>();
      for (const [name, f] of Object.entries(d.fields))
        if (f.kind !== 'conditional') {
          const n0 = I.count;
          out[name] = I.take(() => validateValue(f, o[name], join(field, name)), undefined);
          if (I.count > n0) bad.add(name);
        }
      for (const [name, f] of Object.entries(d.fields)) {
        if (f.kind !== 'conditional' || bad.has(f.when.field)) continue;
        I.take(() => {
          if (isActive(f, out)) {
            if (o[name] === undefined) invalid(join(field, name), `missing (required when ${f.when.field} is ${JSON.stringify(out[f.when.field])})`);
            out[name] = validateValue(f.then, o[name], join(field, name));
          } else if (o[name] !== undefined)
            invalid(join(field, name), `only allowed when ${f.when.field} is one of ${f.when.in.map((x) => JSON.stringify(x)).join(', ')}`);
        }, undefined);
      }
      I.throwIfAny('the architecture');
      return out;
    }
  }
}

// ---- mutate ------------------------------------------------------------------------------------

/** Number of places a single mutation can change. */
function sites(d: ParamDef, v: Val): number {
  switch (d.kind) {
    case 'choice':
      return d.options.length > 1 ? 1 : 0;
    case 'const':
      return 0;
    case 'int':
      return intGrid(d) > 1 ? 1 : 0;
    case 'float':
      return d.max > d.min ? 1 : 0;
    case 'dag':
      return d.ops.length > 1 ? dagEdgeCount(d.nodes) : 0;
    case 'cell':
      return cellEdgeCount(d) * 2;
    case 'repeat':
      return (d.max > d.min ? 1 : 0) + (v as Val[]).reduce((s: number, x: Val) => s + sites(d.item, x), 0);
    case 'struct': {
      let s = 0;
      for (const [name, f] of Object.entries(d.fields)) {
        if (f.kind === 'conditional') {
          if (v[name] !== undefined) s += sites(f.then, v[name]);
        } else s += sites(f, v[name]);
      }
      return s;
    }
  }
}

function perturb(d: { min: number; max: number; log?: boolean }, x: number, rng: Rng, scale: number): number {
  if (d.log) return inFloatBounds(d, Math.exp(Math.log(x) + rng.normal(0, scale * Math.log(d.max / d.min))));
  return inFloatBounds(d, x + rng.normal(0, scale * (d.max - d.min)));
}

function otherThan<T>(items: readonly T[], cur: T, rng: Rng): T {
  const others = items.filter((x) => x !== cur);
  return others.length ? rng.choice(others) : cur;
}

function mutateAt(d: ParamDef, v: Val, site: number, rng: Rng): Val {
  switch (d.kind) {
    case 'choice':
      return otherThan(d.options, v, rng);
    case 'const':
      return v;
    case 'int': {
      if (intGrid(d) <= 16) {
        const vals = Array.from({ length: intGrid(d) }, (_, i) => d.min + i * (d.step ?? 1));
        return otherThan(vals, v, rng);
      }
      let x = snapInt(d, perturb(d, v, rng, 0.15));
      if (x === v) x = snapInt(d, v + (rng.bool() ? 1 : -1) * (d.step ?? 1));
      return x === v ? snapInt(d, v - (d.step ?? 1)) : x;
    }
    case 'float': {
      // A perturbation clamped back onto the same bound would change nothing: resample instead.
      const x = perturb(d, v, rng, 0.15);
      return x !== v ? x : sampleValue(d, rng);
    }
    case 'dag': {
      const out = (v as string[]).slice();
      out[site] = otherThan(d.ops, out[site]!, rng);
      return out;
    }
    case 'cell': {
      const edges = (v.edges as Obj[]).map((e) => ({ ...e }));
      const ei = site >> 1;
      const e = edges[ei]!;
      const k = Math.floor(ei / d.degree);
      const used = new Set(edges.slice(k * d.degree, (k + 1) * d.degree).map((x) => x.input as number));
      const freeInputs = Array.from({ length: cellAvail(d, k) }, (_, i) => i).filter((i) => !used.has(i));
      if (site % 2 === 1 && freeInputs.length) e.input = rng.choice(freeInputs);
      else e.op = otherThan(d.ops, e.op, rng);
      return { edges };
    }
    case 'repeat': {
      const arr = (v as Val[]).slice();
      if (d.max > d.min) {
        if (site === 0) {
          const grow = arr.length < d.max && (arr.length === d.min || rng.bool());
          if (grow) arr.splice(rng.int(0, arr.length + 1), 0, sampleValue(d.item, rng));
          else arr.splice(rng.int(0, arr.length), 1);
          return arr;
        }
        site -= 1;
      }
      for (let i = 0; i < arr.length; i++) {
        const s = sites(d.item, arr[i]);
        if (site < s) {
          arr[i] = mutateAt(d.item, arr[i], site, rng);
          return arr;
        }
        site -= s;
      }
      return arr;
    }
    case 'struct': {
      const out: Obj = { ...v };
      for (const [name, f] of Object.entries(d.fields)) {
        const fd = f.kind === 'conditional' ? (v[name] === undefined ? undefined : f.then) : f;
        if (!fd) continue;
        const s = sites(fd, v[name]);
        if (site < s) {
          out[name] = mutateAt(fd, v[name], site, rng);
          return repairStruct(d, out, rng);
        }
        site -= s;
      }
      return out;
    }
  }
}

/** Changes exactly one site (one op, one choice, one number, one sequence length) to a different value. */
export function mutateValue(d: ParamDef, v: Val, rng: Rng): Val {
  const n = sites(d, v);
  if (n === 0) return structuredClone(v);
  return mutateAt(d, v, rng.int(0, n), rng);
}

// ---- crossover ---------------------------------------------------------------------------------

/** Uniform crossover, aligned by structure: per field / edge / cell node / sequence position. */
export function crossoverValue(d: ParamDef, a: Val, b: Val, rng: Rng): Val {
  switch (d.kind) {
    case 'choice':
    case 'const':
    case 'int':
    case 'float':
      return rng.bool() ? a : b;
    case 'dag':
      return (a as string[]).map((x, i) => (rng.bool() ? x : (b as string[])[i]));
    case 'cell': {
      const edges: Val[] = [];
      for (let k = 0; k < d.nodes; k++) {
        const src = rng.bool() ? a : b;
        for (let e = 0; e < d.degree; e++) edges.push({ ...src.edges[k * d.degree + e] });
      }
      return { edges };
    }
    case 'repeat': {
      const len = rng.bool() ? a.length : b.length;
      const out: Val[] = [];
      for (let i = 0; i < len; i++) {
        if (i < a.length && i < b.length) out.push(crossoverValue(d.item, a[i], b[i], rng));
        else out.push(structuredClone(i < a.length ? a[i] : b[i]));
      }
      return out;
    }
    case 'struct': {
      const out: Obj = {};
      for (const [name, f] of Object.entries(d.fields)) if (f.kind !== 'conditional') out[name] = crossoverValue(f, a[name], b[name], rng);
      for (const [name, f] of Object.entries(d.fields)) {
        if (f.kind !== 'conditional' || !isActive(f, out)) continue;
        const xa = a[name], xb = b[name];
        out[name] = xa !== undefined && xb !== undefined ? crossoverValue(f.then, xa, xb, rng) : structuredClone(xa ?? xb ?? sampleValue(f.then, rng));
      }
      return out;
    }
  }
}

// ---- neighbours --------------------------------------------------------------------------------

/** All values one site away (floats: one step of a tenth of the (log) range either way). */
export function neighbourValues(d: ParamDef, v: Val): Val[] {
  switch (d.kind) {
    case 'choice':
      return d.options.filter((o) => o !== v);
    case 'const':
      return [];
    case 'int': {
      const s = d.step ?? 1;
      const stepN = Math.max(1, Math.round(intGrid(d) / 10)) * s;
      const cand = intGrid(d) <= 16 ? [v - s, v + s] : [v - s, v + s, snapInt(d, v - stepN), snapInt(d, v + stepN)];
      return [...new Set(cand)].filter((x) => x >= d.min && x <= d.max && x !== v);
    }
    case 'float': {
      const cand = d.log
        ? [v / Math.pow(d.max / d.min, 0.1), v * Math.pow(d.max / d.min, 0.1)]
        : [v - (d.max - d.min) / 10, v + (d.max - d.min) / 10];
      return [...new Set(cand.map((x) => inFloatBounds(d, x)))].filter((x) => x !== v);
    }
    case 'dag': {
      const out: Val[] = [];
      (v as string[]).forEach((op, i) => {
        for (const o of d.ops) if (o !== op) out.push((v as string[]).map((x, j) => (j === i ? o : x)));
      });
      return out;
    }
    case 'cell': {
      const out: Val[] = [];
      const edges = v.edges as Obj[];
      edges.forEach((e, i) => {
        const k = Math.floor(i / d.degree);
        const used = new Set(edges.slice(k * d.degree, (k + 1) * d.degree).map((x) => x.input));
        for (const o of d.ops) if (o !== e.op) out.push({ edges: edges.map((x, j) => (j === i ? { ...x, op: o } : { ...x })) });
        for (let inp = 0; inp < cellAvail(d, k); inp++)
          if (!used.has(inp)) out.push({ edges: edges.map((x, j) => (j === i ? { ...x, input: inp } : { ...x })) });
      });
      return out;
    }
    case 'repeat': {
      const arr = v as Val[];
      const out: Val[] = [];
      arr.forEach((x, i) => {
        for (const n of neighbourValues(d.item, x)) out.push(arr.map((y, j) => (j === i ? n : y)));
      });
      if (arr.length > d.min) arr.forEach((_, i) => out.push(arr.filter((_, j) => j !== i)));
      if (arr.length < d.max) arr.forEach((x, i) => out.push([...arr.slice(0, i + 1), structuredClone(x), ...arr.slice(i + 1)]));
      return out;
    }
    case 'struct': {
      const out: Val[] = [];
      for (const [name, f] of Object.entries(d.fields)) {
        const fd = f.kind === 'conditional' ? (v[name] === undefined ? undefined : f.then) : f;
        if (!fd) continue;
        for (const n of neighbourValues(fd, v[name])) out.push(repairStruct(d, { ...v, [name]: n }, undefined));
      }
      return out;
    }
  }
}

// ---- canonical form ----------------------------------------------------------------------------

/**
 * The function a dense DAG computes, as a string: node 0 is `x`; a node is the sorted multiset of
 * its incoming terms `op(source)`, where the zero op and zero sources contribute nothing and the
 * identity op passes its source's terms through. Edges off every input->output path, or whose
 * contribution is killed by the zero op, therefore do not change the string.
 */
export function dagFunction(d: DagDef, ops: readonly string[]): string {
  const terms: (string[] | null)[] = [['x']];
  let e = 0;
  for (let j = 1; j < d.nodes; j++) {
    const t: string[] = [];
    for (let i = 0; i < j; i++, e++) {
      const op = ops[e]!;
      const src = terms[i]!;
      if (src === null || op === d.zeroOp) continue;
      if (op === d.identityOp) t.push(...src);
      else t.push(`${op}(${src.length === 1 ? src[0] : src.join('+')})`);
    }
    terms.push(t.length ? t.sort() : null);
  }
  const out = terms[d.nodes - 1]!;
  return out === null ? '0' : out.join('+');
}

/** A JSON form where equal means "computes the same function" as far as the space knows. */
export function canonicalValue(d: ParamDef, v: Val): Json {
  switch (d.kind) {
    case 'choice':
    case 'const':
    case 'int':
    case 'float':
      return v;
    case 'dag':
      return d.zeroOp !== undefined || d.identityOp !== undefined ? dagFunction(d, v) : (v as string[]).slice();
    case 'cell': {
      // A node computes the sum of op(input) over its edges: its value is the sorted multiset of
      // those terms, where a zero-op edge or an all-zero input adds nothing. The cell output
      // concatenates the intermediate nodes; their order only permutes channels, so the key is the
      // sorted list of node values. Relabelling independent nodes therefore keeps the key.
      const expr: (string | null)[] = Array.from({ length: d.inputs }, (_, i) => `in${i}`);
      for (let k = 0; k < d.nodes; k++) {
        const terms: string[] = [];
        for (let e = 0; e < d.degree; e++) {
          const edge = v.edges[k * d.degree + e];
          const src = expr[edge.input];
          if (edge.op === d.zeroOp || src === null || src === undefined) continue;
          terms.push(`${edge.op}(${src})`);
        }
        expr.push(terms.length ? `[${terms.sort().join('+')}]` : null);
      }
      return expr.slice(d.inputs).map((x) => x ?? '0').sort();
    }
    case 'repeat':
      return (v as Val[]).map((x) => canonicalValue(d.item, x));
    case 'struct': {
      const out: Record<string, Json> = {};
      for (const [name, f] of Object.entries(d.fields)) {
        if (v[name] === undefined) continue;
        out[name] = canonicalValue(f.kind === 'conditional' ? f.then : f, v[name]);
      }
      return out;
    }
  }
}

// ---- encodings ---------------------------------------------------------------------------------

function nonZeroOps(ops: readonly string[], zeroOp: string | undefined): string[] {
  return ops.filter((o) => o !== zeroOp);
}
function pathFeatures(k: number, maxLen: number): number {
  let s = 0;
  for (let l = 1, p = k; l <= maxLen; l++, p *= k) s += p;
  return s;
}

export function encodingLength(d: ParamDef, kind: EncodingKind): number {
  switch (d.kind) {
    case 'choice':
      return d.options.length;
    case 'const':
      return 0;
    case 'int':
      return intGrid(d) <= 16 ? intGrid(d) : 1;
    case 'float':
      return 1;
    case 'dag': {
      const E = dagEdgeCount(d.nodes);
      if (kind === 'onehot') return E * d.ops.length;
      if (kind === 'adjacency') return d.nodes * d.nodes + E * d.ops.length;
      return pathFeatures(nonZeroOps(d.ops, d.zeroOp).length, d.nodes - 1);
    }
    case 'cell': {
      const E = cellEdgeCount(d);
      const N = d.inputs + d.nodes;
      if (kind === 'onehot') return E * (d.ops.length + N);
      if (kind === 'adjacency') return N * N + E * d.ops.length;
      return d.inputs * pathFeatures(nonZeroOps(d.ops, d.zeroOp).length, d.nodes);
    }
    case 'repeat':
      return d.max * (1 + encodingLength(d.item, kind));
    case 'struct': {
      let s = 0;
      for (const f of Object.values(d.fields)) s += f.kind === 'conditional' ? 1 + encodingLength(f.then, kind) : encodingLength(f, kind);
      return s;
    }
  }
}

function scale01(d: { min: number; max: number; log?: boolean }, x: number): number {
  if (d.max === d.min) return 0;
  return d.log ? Math.log(x / d.min) / Math.log(d.max / d.min) : (x - d.min) / (d.max - d.min);
}

/** Appends the encoding of `v` to `out`; the layout depends only on `d`, never on `v`. */
export function encodeInto(d: ParamDef, v: Val, kind: EncodingKind, out: number[]): void {
  switch (d.kind) {
    case 'choice':
      for (const o of d.options) out.push(o === v ? 1 : 0);
      return;
    case 'const':
      return;
    case 'int':
      if (intGrid(d) <= 16) for (let i = 0; i < intGrid(d); i++) out.push(d.min + i * (d.step ?? 1) === v ? 1 : 0);
      else out.push(scale01(d, v));
      return;
    case 'float':
      out.push(scale01(d, v));
      return;
    case 'dag': {
      const ops = v as string[];
      if (kind === 'path') return encodeDagPaths(d, ops, out);
      if (kind === 'adjacency') {
        const adj = new Array<number>(d.nodes * d.nodes).fill(0);
        dagEdges(d.nodes).forEach(([i, j], e) => {
          if (ops[e] !== d.zeroOp) adj[i * d.nodes + j] = 1;
        });
        out.push(...adj);
      }
      for (const op of ops) for (const o of d.ops) out.push(o === op ? 1 : 0);
      return;
    }
    case 'cell': {
      const edges = v.edges as { op: string; input: number }[];
      const N = d.inputs + d.nodes;
      if (kind === 'path') return encodeCellPaths(d, edges, out);
      if (kind === 'adjacency') {
        const adj = new Array<number>(N * N).fill(0);
        edges.forEach((e, i) => {
          if (e.op !== d.zeroOp) adj[e.input * N + d.inputs + Math.floor(i / d.degree)]! += 1;
        });
        out.push(...adj);
        for (const e of edges) for (const o of d.ops) out.push(o === e.op ? 1 : 0);
        return;
      }
      for (const e of edges) {
        for (const o of d.ops) out.push(o === e.op ? 1 : 0);
        for (let i = 0; i < N; i++) out.push(i === e.input ? 1 : 0);
      }
      return;
    }
    case 'repeat': {
      const L = encodingLength(d.item, kind);
      for (let i = 0; i < d.max; i++) {
        if (i < v.length) {
          out.push(1);
          encodeInto(d.item, v[i], kind, out);
        } else for (let j = 0; j <= L; j++) out.push(0);
      }
      return;
    }
    case 'struct':
      for (const [name, f] of Object.entries(d.fields)) {
        if (f.kind !== 'conditional') encodeInto(f, v[name], kind, out);
        else if (v[name] === undefined) for (let j = 0; j <= encodingLength(f.then, kind); j++) out.push(0);
        else {
          out.push(1);
          encodeInto(f.then, v[name], kind, out);
        }
      }
      return;
  }
}

/** BANANAS path encoding: indicator per op sequence (non-zero ops) along some input->output path. */
function encodeDagPaths(d: DagDef, ops: readonly string[], out: number[]): void {
  const live = nonZeroOps(d.ops, d.zeroOp);
  const K = live.length;
  const feats = new Array<number>(pathFeatures(K, d.nodes - 1)).fill(0);
  const offsets = [0];
  for (let l = 1, p = K; l < d.nodes; l++, p *= K) offsets.push(offsets[l - 1]! + p);
  const edges = dagEdges(d.nodes);
  const walk = (node: number, len: number, code: number): void => {
    if (node === d.nodes - 1) {
      feats[offsets[len - 1]! + code] = 1;
      return;
    }
    edges.forEach(([i, j], e) => {
      if (i !== node) return;
      const o = live.indexOf(ops[e]!);
      if (o >= 0) walk(j, len + 1, code * K + o);
    });
  };
  walk(0, 0, 0);
  out.push(...feats);
}
function encodeCellPaths(d: CellDef, edges: readonly { op: string; input: number }[], out: number[]): void {
  const live = nonZeroOps(d.ops, d.zeroOp);
  const K = live.length;
  const per = pathFeatures(K, d.nodes);
  const feats = new Array<number>(d.inputs * per).fill(0);
  const offsets = [0];
  for (let l = 1, p = K; l < d.nodes; l++, p *= K) offsets.push(offsets[l - 1]! + p);
  // Paths end at any intermediate node (the cell output concatenates them all).
  const walk = (start: number, node: number, len: number, code: number): void => {
    if (len > 0) feats[start * per + offsets[len - 1]! + code] = 1;
    edges.forEach((e, i) => {
      if (e.input !== node) return;
      const o = live.indexOf(e.op);
      if (o >= 0) walk(start, d.inputs + Math.floor(i / d.degree), len + 1, code * K + o);
    });
  };
  for (let s = 0; s < d.inputs; s++) walk(s, s, 0, 0);
  out.push(...feats);
}

// ---- size / enumerate --------------------------------------------------------------------------

function permutations(n: number, k: number): number {
  let p = 1;
  for (let i = 0; i < k; i++) p *= n - i;
  return p;
}

/** Number of distinct values (not keys); Infinity for continuous spaces. */
export function sizeOf(d: ParamDef): number {
  switch (d.kind) {
    case 'choice':
      return d.options.length;
    case 'const':
      return 1;
    case 'int':
      return intGrid(d);
    case 'float':
      return d.max === d.min ? 1 : Infinity;
    case 'dag':
      return Math.pow(d.ops.length, dagEdgeCount(d.nodes));
    case 'cell': {
      let s = 1;
      for (let k = 0; k < d.nodes; k++) s *= permutations(cellAvail(d, k), d.degree) * Math.pow(d.ops.length, d.degree);
      return s;
    }
    case 'repeat': {
      const m = sizeOf(d.item);
      let s = 0;
      for (let l = d.min; l <= d.max; l++) s += Math.pow(m, l);
      return s;
    }
    case 'struct': {
      let n = 0;
      for (const v of enumerateValue(structSkeleton(d))) {
        let p = 1;
        for (const [name, f] of Object.entries(d.fields)) {
          if (f.kind !== 'conditional') p *= referenced(d).has(name) ? 1 : sizeOf(f);
          else if (isActive(f, v)) p *= sizeOf(f.then);
        }
        n += p;
      }
      return n;
    }
  }
}
function referenced(d: StructDef): Set<string> {
  return new Set(Object.values(d.fields).flatMap((f) => (f.kind === 'conditional' ? [f.when.field] : [])));
}
/** The fields that conditions refer to, as a struct of its own. */
function structSkeleton(d: StructDef): StructDef {
  const ref = referenced(d);
  const fields: Record<string, FieldDef> = {};
  for (const name of ref) fields[name] = d.fields[name]!;
  return { kind: 'struct', fields };
}

/** Every value, in a fixed order (odometer, last field fastest). Only for finite spaces. */
export function* enumerateValue(d: ParamDef): Generator<Val> {
  switch (d.kind) {
    case 'choice':
      yield* d.options;
      return;
    case 'const':
      yield d.value;
      return;
    case 'int':
      for (let i = 0; i < intGrid(d); i++) yield d.min + i * (d.step ?? 1);
      return;
    case 'float':
      if (d.max !== d.min) throw new NasError('invalid_config', 'cannot enumerate a continuous range', { hint: 'use a choice or int instead of float' });
      yield d.min;
      return;
    case 'dag': {
      const E = dagEdgeCount(d.nodes);
      const K = d.ops.length;
      const idx = new Array<number>(E).fill(0);
      for (;;) {
        yield idx.map((i) => d.ops[i]);
        let p = E - 1;
        while (p >= 0 && ++idx[p]! === K) idx[p--] = 0;
        if (p < 0) return;
      }
    }
    case 'cell': {
      const nodeChoices: Val[][] = [];
      for (let k = 0; k < d.nodes; k++) {
        const opts: Val[] = [];
        const pick = (prefix: Val[]): void => {
          if (prefix.length === d.degree) {
            opts.push(prefix);
            return;
          }
          for (let inp = 0; inp < cellAvail(d, k); inp++)
            if (!prefix.some((e) => e.input === inp)) for (const op of d.ops) pick([...prefix, { op, input: inp }]);
        };
        pick([]);
        nodeChoices.push(opts);
      }
      for (const combo of product(nodeChoices)) yield { edges: combo.flat().map((e: Val) => ({ ...e })) };
      return;
    }
    case 'repeat':
      for (let l = d.min; l <= d.max; l++) {
        const items = [...enumerateValue(d.item)];
        for (const combo of product(Array.from({ length: l }, () => items))) yield combo.map((x) => structuredClone(x));
      }
      return;
    case 'struct': {
      const plain = Object.entries(d.fields).filter(([, f]) => f.kind !== 'conditional') as [string, ParamDef][];
      const conds = Object.entries(d.fields).filter(([, f]) => f.kind === 'conditional') as [string, ConditionalDef][];
      for (const combo of product(plain.map(([, f]) => [...enumerateValue(f)]))) {
        const base: Obj = {};
        plain.forEach(([name], i) => (base[name] = combo[i]));
        const active = conds.filter(([, f]) => isActive(f, base));
        for (const cc of product(active.map(([, f]) => [...enumerateValue(f.then)]))) {
          const v: Obj = structuredClone(base);
          active.forEach(([name], i) => (v[name] = structuredClone(cc[i])));
          yield v;
        }
      }
      return;
    }
  }
}
function* product(lists: Val[][]): Generator<Val[]> {
  const n = lists.length;
  if (lists.some((l) => l.length === 0)) return;
  const idx = new Array<number>(n).fill(0);
  for (;;) {
    yield idx.map((i, k) => lists[k]![i]);
    let p = n - 1;
    while (p >= 0 && ++idx[p]! === lists[p]!.length) idx[p--] = 0;
    if (p < 0) return;
  }
}

export type { RepeatDef };
