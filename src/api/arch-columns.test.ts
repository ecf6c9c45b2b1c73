import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Json } from '../core/json.js';
import { ArchColumns, type ArchWalk, type LeafValue } from './arch-columns.js';

// The definition used by these tests: the dashboard's own walk rules in small (a `family` string
// tag dropped, a joint candidate's `arch` without its prefix, array indices in brackets).
const walk: ArchWalk = (a, set) => {
  const leaf = (v: Json | undefined, prefix: string): void => {
    if (v === undefined) return;
    if (v === null || typeof v !== 'object') return set(prefix || 'value', v);
    if (Array.isArray(v)) return v.forEach((x, i) => leaf(x, `${prefix}[${i}]`));
    for (const k in v) {
      const x = v[k]!;
      if (k === 'family' && typeof x === 'string') continue;
      leaf(x, prefix ? `${prefix}.${k}` : k === 'arch' && x !== null && typeof x === 'object' ? '' : k);
    }
  };
  leaf(a, '');
};

/** What the definition gives, trial by trial, as columns. */
function definition(texts: readonly string[]): Map<string, (LeafValue | undefined)[]> {
  const cols = new Map<string, (LeafValue | undefined)[]>();
  texts.forEach((t, i) =>
    walk(JSON.parse(t) as Json, (p, v) => {
      if (!cols.has(p)) cols.set(p, new Array<LeafValue | undefined>(texts.length).fill(undefined));
      cols.get(p)![i] = v;
    }),
  );
  return cols;
}

function fast(texts: readonly string[]): ArchColumns {
  const c = new ArchColumns(texts.length, walk, (t) => JSON.parse(t) as Json);
  texts.forEach((t, i) => c.add(i, t));
  return c;
}

/** Checks the columns against the definition; returns how many texts took a known shape. */
const same = (texts: readonly string[], why: string): number => {
  const c = fast(texts);
  const got = c.columns;
  const want = definition(texts);
  assert.deepEqual([...got.keys()], [...want.keys()], `${why}: column names and their order`);
  for (const [k, col] of want) {
    const g = got.get(k)!;
    for (let i = 0; i < texts.length; i++) assert.ok(Object.is(g[i], col[i]), `${why}: ${k} of trial ${i}: ${String(g[i])} vs ${String(col[i])}`);
  }
  return c.matched;
};

test('ArchColumns: the leaves of every text as the definition (parse + walk) sets them, shape by shape', () => {
  const darts = (ops: string[], inputs: number[]): string =>
    JSON.stringify({ family: 'darts', normal: { edges: ops.map((op, i) => ({ op, input: inputs[i] })) }, reduce: { edges: [{ op: ops[0], input: 1 }] } });
  assert.equal(same([darts(['a', 'b'], [0, 1]), darts(['c', 'd'], [1, 0]), darts(['e', 'f'], [2, 2])], 'one shape'), 2, 'the texts after the first take its shape');
  // values that must be read as JSON.parse reads them: escapes, unicode, numbers at the edges
  const valuesMatched = same(
    [
      '{"x":"a","n":1,"b":true,"z":null}',
      '{"x":"q\\"\\\\\\n\\u00e9\\ud83d\\ude00","n":-0,"b":false,"z":null}',
      '{"x":"μ\u2028","n":1e400,"b":true,"z":null}',
      '{"x":"","n":-1e-400,"b":false,"z":null}',
      '{"x":"e","n":5e-324,"b":true,"z":null}',
      '{"x":"e","n":0.1,"b":true,"z":null}',
      '{"x":"e","n":123456789012345678901234567890,"b":true,"z":null}',
      '{"x":"e","n":-12.5E+3,"b":true,"z":null}',
    ],
    'values',
  );
  assert.equal(valuesMatched, 7);
  // a leaf that changes kind is another shape
  same(['{"a":1}', '{"a":"1"}', '{"a":null}', '{"a":true}', '{"a":[1]}', '{"a":{"b":1}}', '{"a":1}'], 'kinds');
  // key rules: duplicates (the last wins), integer-like keys (listed first), family as a string
  // only, a joint candidate, escaped keys, whitespace
  assert.equal(same(['{"a":1,"b":2,"a":3}', '{"a":4,"b":5,"a":6}'], 'duplicate keys'), 1);
  assert.equal(same(['{"b":1,"2":2,"1":3}', '{"b":4,"2":5,"1":6}'], 'integer-like keys'), 1);
  same(['{"family":"x","a":1}', '{"family":"y","a":2}', '{"family":3,"a":2}'], 'family');
  same(['{"arch":{"w":[1,2]},"hparams":{"lr":0.1}}', '{"arch":{"w":[3,4]},"hparams":{"lr":0.2}}', '{"arch":null,"hparams":{"lr":0.2}}'], 'joint');
  same(['{"a\\"b":1,"a.b":2,"a":{"b":3}}', '{"a\\"b":4,"a.b":5,"a":{"b":6}}'], 'escaped and colliding keys');
  same(['{ "a" : [ 1 , "x" ] }', '{ "a" : [ 2 , "y" ] }', '{"a":[3,"z"]}'], 'whitespace');
  same(['5', '"s"', 'null', '[]', '{}', '[[],{}]', '6'], 'top-level values');
});

test('ArchColumns: a text that is not valid JSON is never taken for a known shape (the definition decides)', () => {
  const bad = ['{"a":01}', '{"a":+1}', '{"a":.5}', '{"a":1.}', '{"a":"x\u0001"}', '{"a":"\\x"}', '{"a":tru}', '{"a":1}x', '{"a":1'];
  for (const b of bad) {
    const c = new ArchColumns(2, walk, (t) => JSON.parse(t) as Json);
    c.add(0, '{"a":1}');
    assert.throws(() => c.add(1, b), SyntaxError, b);
  }
});

test('ArchColumns: many shapes, random texts, against the definition', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const scalar = (): Json => pick<() => Json>([() => rnd(), () => Math.floor(rnd() * 10), () => pick(['a', 'b"', 'c\\', 'ü', '']), () => null, () => rnd() < 0.5, () => -0])();
  const value = (d: number): Json => {
    if (d > 2 || rnd() < 0.4) return scalar();
    if (rnd() < 0.5) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(d + 1));
    const o: Record<string, Json> = {};
    for (let k = 0; k < 3; k++) o[pick(['a', 'b', '1', 'family', 'arch', 'x.y'])] = value(d + 1);
    return o;
  };
  const templates = Array.from({ length: 12 }, () => value(0));
  // texts of a few templates with their values changed (same shapes) and some new ones
  const vary = (v: Json): Json => (v === null || typeof v !== 'object' ? (typeof v === 'string' ? pick(['a', 'z', 'q\\"']) : typeof v === 'number' ? Math.floor(rnd() * 100) / 7 : v) : Array.isArray(v) ? v.map(vary) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, vary(x)])));
  const texts = Array.from({ length: 400 }, () => JSON.stringify(rnd() < 0.9 ? vary(pick(templates)) : value(0)));
  assert.ok(same(texts, 'random') > 200, 'most texts take a known shape');
});
