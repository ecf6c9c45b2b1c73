/**
 * An architecture as a sequence of decisions ("sites"), for strategies that model each decision
 * separately: TPE (a Parzen estimator per site) and REINFORCE (one controller step per site).
 *
 * `buildFromSites(def, pick)` walks a space definition in a fixed order and asks `pick` for every
 * decision; `siteValues(def, value)` reads the same decisions back from an architecture. Sites are
 * named by dotted paths (`ops[3]`, `layers.length`, `layers[2].kernel`, `normal.edges[5].input`);
 * which sites exist can depend on earlier decisions (sequence lengths, conditional fields).
 *
 * Categorical sites (choices, ops, cell inputs, sequence lengths, ints with at most 16 grid values)
 * are decided by an option index; numeric sites (floats, larger ints) by u in [0, 1], mapped
 * linearly or on a log scale to the range.
 */
import { NasError } from '../core/errors.js';
import type { ParamDef, Scalar } from '../space/dsl.js';

export type SiteSpec =
  | { readonly kind: 'cat'; readonly path: string; readonly n: number }
  | { readonly kind: 'num'; readonly path: string };

/** Returns an option index from `allowed` (cat) or u in [0, 1] (num). */
export type Picker = (site: SiteSpec, allowed: readonly number[] | undefined) => number;

type Val = unknown;
type Obj = Record<string, unknown>;

const MAX_CAT_INT = 16;
const intGrid = (d: { min: number; max: number; step?: number }) => Math.floor((d.max - d.min) / (d.step ?? 1)) + 1;
const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function fromUnit(d: { min: number; max: number; log?: boolean }, u: number): number {
  const x = Math.min(1, Math.max(0, u));
  if (d.max === d.min) return d.min;
  // Clamped: exp(log(min) + log(max / min)) can round past max (1e-6..0.01 gives 0.010000000000000012,
  // which the space rejects).
  const v = d.log ? Math.exp(Math.log(d.min) + x * Math.log(d.max / d.min)) : d.min + x * (d.max - d.min);
  return Math.min(d.max, Math.max(d.min, v));
}
function toUnit(d: { min: number; max: number; log?: boolean }, v: number): number {
  if (d.max === d.min) return 0;
  return d.log ? Math.log(v / d.min) / Math.log(d.max / d.min) : (v - d.min) / (d.max - d.min);
}
function snap(d: { min: number; max: number; step?: number }, x: number): number {
  const s = d.step ?? 1;
  return Math.min(d.min + (intGrid(d) - 1) * s, Math.max(d.min, d.min + Math.round((x - d.min) / s) * s));
}

function checkIndex(i: number, site: SiteSpec & { kind: 'cat' }, allowed: readonly number[] | undefined): number {
  if (!Number.isInteger(i) || i < 0 || i >= site.n || (allowed && !allowed.includes(i)))
    throw new NasError('internal', `picker returned ${i} for site ${site.path} (${site.n} options${allowed ? `, allowed ${allowed.join(',')}` : ''})`);
  return i;
}

/** Builds a member of the space from decisions made by `pick`, in a fixed site order. */
export function buildFromSites(d: ParamDef, pick: Picker, path = ''): Val {
  const cat = (p: string, n: number, allowed?: readonly number[]) => {
    const site = { kind: 'cat', path: p, n } as const;
    return checkIndex(pick(site, allowed), site, allowed);
  };
  const num = (p: string) => pick({ kind: 'num', path: p }, undefined);
  switch (d.kind) {
    case 'choice':
      return d.options[cat(path, d.options.length)];
    case 'const':
      return d.value;
    case 'int':
      if (intGrid(d) <= MAX_CAT_INT) return d.min + cat(path, intGrid(d)) * (d.step ?? 1);
      return snap(d, fromUnit(d, num(path)));
    case 'float':
      return fromUnit(d, num(path));
    case 'dag': {
      const E = (d.nodes * (d.nodes - 1)) / 2;
      return range(E).map((e) => d.ops[cat(join(path, e), d.ops.length)]);
    }
    case 'cell': {
      const edges: { op: string; input: number }[] = [];
      for (let k = 0; k < d.nodes; k++) {
        const avail = d.inputs + k;
        const used = new Set<number>();
        for (let j = 0; j < d.degree; j++) {
          const p = join(join(path, 'edges'), k * d.degree + j);
          const input = cat(join(p, 'input'), avail, range(avail).filter((i) => !used.has(i)));
          used.add(input);
          edges.push({ op: d.ops[cat(join(p, 'op'), d.ops.length)]!, input });
        }
      }
      return { edges };
    }
    case 'repeat': {
      const n = d.min + cat(join(path, 'length'), d.max - d.min + 1);
      return range(n).map((i) => buildFromSites(d.item, pick, join(path, i)));
    }
    case 'struct': {
      const v: Obj = {};
      for (const [name, f] of Object.entries(d.fields)) if (f.kind !== 'conditional') v[name] = buildFromSites(f, pick, join(path, name));
      for (const [name, f] of Object.entries(d.fields))
        if (f.kind === 'conditional' && f.when.in.includes(v[f.when.field] as Scalar)) v[name] = buildFromSites(f.then, pick, join(path, name));
      return v;
    }
  }
}

/** The decisions of an architecture: site path -> option index (cat) or u in [0, 1] (num). */
export function siteValues(d: ParamDef, v: Val, path = '', out: Map<string, number> = new Map()): Map<string, number> {
  switch (d.kind) {
    case 'choice':
      out.set(path, d.options.indexOf(v as Scalar));
      break;
    case 'const':
      break;
    case 'int':
      if (intGrid(d) <= MAX_CAT_INT) out.set(path, Math.round(((v as number) - d.min) / (d.step ?? 1)));
      else out.set(path, toUnit(d, v as number));
      break;
    case 'float':
      out.set(path, toUnit(d, v as number));
      break;
    case 'dag':
      (v as string[]).forEach((op, e) => out.set(join(path, e), d.ops.indexOf(op)));
      break;
    case 'cell':
      (v as { edges: { op: string; input: number }[] }).edges.forEach((e, i) => {
        const p = join(join(path, 'edges'), i);
        out.set(join(p, 'input'), e.input);
        out.set(join(p, 'op'), d.ops.indexOf(e.op));
      });
      break;
    case 'repeat': {
      const a = v as Val[];
      out.set(join(path, 'length'), a.length - d.min);
      a.forEach((x, i) => siteValues(d.item, x, join(path, i), out));
      break;
    }
    case 'struct': {
      const o = v as Obj;
      for (const [name, f] of Object.entries(d.fields)) {
        if (f.kind !== 'conditional') siteValues(f, o[name], join(path, name), out);
        else if (o[name] !== undefined) siteValues(f.then, o[name], join(path, name), out);
      }
      break;
    }
  }
  return out;
}

/** Every site that can occur (sequences at their longest, every conditional field active), in order. */
export function allSites(d: ParamDef, path = '', out: SiteSpec[] = []): SiteSpec[] {
  switch (d.kind) {
    case 'choice':
      out.push({ kind: 'cat', path, n: d.options.length });
      break;
    case 'const':
      break;
    case 'int':
    case 'float':
      if (d.kind === 'int' && intGrid(d) <= MAX_CAT_INT) out.push({ kind: 'cat', path, n: intGrid(d) });
      else out.push({ kind: 'num', path });
      break;
    case 'dag':
      for (let e = 0; e < (d.nodes * (d.nodes - 1)) / 2; e++) out.push({ kind: 'cat', path: join(path, e), n: d.ops.length });
      break;
    case 'cell':
      for (let k = 0; k < d.nodes; k++)
        for (let j = 0; j < d.degree; j++) {
          const p = join(join(path, 'edges'), k * d.degree + j);
          out.push({ kind: 'cat', path: join(p, 'input'), n: d.inputs + k });
          out.push({ kind: 'cat', path: join(p, 'op'), n: d.ops.length });
        }
      break;
    case 'repeat':
      out.push({ kind: 'cat', path: join(path, 'length'), n: d.max - d.min + 1 });
      for (let i = 0; i < d.max; i++) allSites(d.item, join(path, i), out);
      break;
    case 'struct':
      for (const [name, f] of Object.entries(d.fields)) if (f.kind !== 'conditional') allSites(f, join(path, name), out);
      for (const [name, f] of Object.entries(d.fields)) if (f.kind === 'conditional') allSites(f.then, join(path, name), out);
      break;
  }
  return out;
}
