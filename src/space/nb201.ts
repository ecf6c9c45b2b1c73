/** The NAS-Bench-201 cell space (Dong & Yang 2020): 4 nodes, 6 edges, 5 ops; 15,625 members. */
import { didYouMean } from '../core/suggest.js';
import { NB201_OPS, type Nb201Arch, type Nb201Op } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import type { ArchKey } from '../core/ids.js';
import { constant, dag, struct } from './dsl.js';
import { defineSpace } from './space.js';

export const nb201Def = struct({
  family: constant('nb201'),
  ops: dag({ nodes: 4, ops: NB201_OPS, zeroOp: 'none', identityOp: 'skip_connect' }),
});

/** `|e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|` */
export function formatNb201(arch: Nb201Arch): string {
  const o = arch.ops;
  return `|${o[0]}~0|+|${o[1]}~0|${o[2]}~1|+|${o[3]}~0|${o[4]}~1|${o[5]}~2|`;
}

const OP_SET: ReadonlySet<string> = new Set(NB201_OPS);

/**
 * Parses the benchmark's arch string. Throws `invalid_arch`: field `arch` for a malformed string,
 * `ops[i]` for an unknown op. `field` prefixes the path (e.g. `nb201-cifar10.csv:row 7.arch`).
 */
export function parseNb201(text: string, field = ''): Nb201Arch {
  const f = (s: string) => (field ? `${field}.${s}` : s);
  const malformed = (why: string): never => {
    throw new NasError('invalid_arch', `malformed NAS-Bench-201 arch string ${JSON.stringify(text)}: ${why}`, {
      field: field || 'arch',
      hint: 'expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|',
    });
  };
  if (typeof text !== 'string') malformed('not a string');
  const groups = text.trim().split('+');
  if (groups.length !== 3) malformed(`${groups.length} node groups separated by '+', expected 3`);
  const ops: string[] = [];
  groups.forEach((g, j) => {
    if (!g.startsWith('|') || !g.endsWith('|') || g.length < 2) malformed(`node ${j + 1} group must start and end with '|'`);
    const toks = g.slice(1, -1).split('|');
    if (toks.length !== j + 1) malformed(`node ${j + 1} has ${toks.length} inputs, expected ${j + 1}`);
    toks.forEach((t, i) => {
      const tilde = t.lastIndexOf('~');
      if (tilde < 0) malformed(`token ${JSON.stringify(t)} is not op~input`);
      if (t.slice(tilde + 1) !== String(i)) malformed(`token ${JSON.stringify(t)} of node ${j + 1} must read input ${i}`);
      const op = t.slice(0, tilde);
      if (!OP_SET.has(op))
        throw new NasError('invalid_arch', `unknown op ${JSON.stringify(op)}${typeof op === 'string' ? didYouMean(op, NB201_OPS) : ''}`, { field: f(`ops[${ops.length}]`), hint: `use one of: ${NB201_OPS.join(', ')}` });
      ops.push(op);
    });
  });
  return { family: 'nb201', ops: ops as unknown as Nb201Arch['ops'] };
}

/** Keys by nb201Index, filled on first use (the key is on every strategy's hot path). */
const keyCache: (ArchKey | undefined)[] = new Array(15625);

export const nb201Space = defineSpace('nb201', nb201Def, {
  format: formatNb201,
  key: (arch, generic) => {
    const i = nb201Index(arch.ops);
    return (keyCache[i] ??= generic(arch));
  },
  parse: (text) => {
    if (!text.trim().startsWith('{')) return parseNb201(text);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new NasError('invalid_arch', `not JSON: ${(e as Error).message}`, { hint: 'write an arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2| or a JSON object' });
    }
  },
});

/** Index of an NB201 arch in base 5 (edge 0 most significant), 0..15624; for fast table lookup. */
export function nb201Index(ops: readonly Nb201Op[]): number {
  let x = 0;
  if (ops.length !== 6) throw new NasError('invalid_arch', `an NB201 cell has 6 edges, got ${ops.length}`, { field: 'ops' });
  for (let i = 0; i < 6; i++) {
    const o = NB201_OPS.indexOf(ops[i]!);
    if (o < 0) throw new NasError('invalid_arch', `unknown op ${JSON.stringify(ops[i])}${typeof ops[i] === 'string' ? didYouMean(ops[i] as string, NB201_OPS) : ''}`, { field: `ops[${i}]`, hint: `use one of: ${NB201_OPS.join(', ')}` });
    x = x * 5 + o;
  }
  return x;
}

const FAST = /^\|([a-z0-9_]+)~0\|\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|([a-z0-9_]+)~2\|$/;
const OP_INDEX: ReadonlyMap<string, number> = new Map(NB201_OPS.map((o, i) => [o, i]));

/** `nb201Index(parseNb201(text).ops)`, fast for well-formed strings; errors as parseNb201's. */
export function nb201IndexOfString(text: string, field = ''): number {
  const m = FAST.exec(text);
  if (m) {
    let x = 0;
    for (let i = 1; i <= 6; i++) {
      const o = OP_INDEX.get(m[i]!);
      if (o === undefined) return nb201Index(parseNb201(text, field).ops);
      x = x * 5 + o;
    }
    return x;
  }
  return nb201Index(parseNb201(text, field).ops);
}

/**
 * The NB201 authors' `CellStructure.to_unique_str(consider_zero=True)`, for comparison: it gives
 * the paper's 6,466 unique cells. `nb201Space.key` normalises further (it flattens sums passed on
 * through skip_connect and drops zero terms instead of keeping a '#' placeholder), giving 4,930.
 */
export function nb201PaperUniqueString(ops: readonly Nb201Op[]): string {
  const nodes: string[] = ['0'];
  let e = 0;
  for (let j = 1; j < 4; j++) {
    const cur: string[] = [];
    for (let i = 0; i < j; i++, e++) {
      const op = ops[e]!;
      if (op === 'none' || nodes[i] === '#') cur.push('#');
      else if (op === 'skip_connect') cur.push(nodes[i]!);
      else cur.push(`(${nodes[i]})@${op}`);
    }
    nodes.push(cur.sort().join('+'));
  }
  return nodes[3]!;
}
