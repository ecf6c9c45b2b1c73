/**
 * The complete shape check of an architecture that arrives as JSON from outside (a `tsnas train`
 * file, an exported model's arch.json, a study config's `enqueue`): every field of every family
 * (src/core/arch.ts) is checked for presence and type BEFORE anything is built, so a malformed file
 * is an input error naming the field and the fix, never a TypeError from the builder (issue 17's
 * kind). All problems of one architecture are recorded in the caller's `Issues` (one combined
 * error): a missing field is said as "missing", an unknown one is refused with a did-you-mean
 * suggestion when one is close, a bad value names what is allowed.
 *
 * Only the shape is checked here; whether the network fits an input (spatial sizes, channel
 * parity) stays with the cost analysis (src/nn/build/analyze.ts, `shape_mismatch`).
 *
 * Errors: `invalid_arch`, field = the dotted path under `prefix` (`hidden`, `layers[1].kernel`,
 * `arch.normal.edges[3].op`).
 */
import { ACTIVATIONS, DARTS_OPS, NB201_OPS } from './arch.js';
import { NasError, issueListText, type Issue } from './errors.js';
import type { Issues } from './issues.js';
import { didYouMean } from './suggest.js';

export const ARCH_FAMILIES = ['chain_cnn', 'nb201', 'darts', 'mlp'] as const;

type Obj = Record<string, unknown>;

const at = (prefix: string, f: string): string => (prefix === '' ? f : f.startsWith('[') ? `${prefix}${f}` : `${prefix}.${f}`);
const show = (v: unknown): string => (v === undefined ? 'undefined' : JSON.stringify(v));
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(issues: Issues, field: string, message: string, hint?: string): void {
  issues.add(new NasError('invalid_arch', message, { field, ...(hint === undefined ? {} : { hint }) }));
}

/**
 * Refuses keys outside `allowed` (did you mean) and reports each `required` key that is absent
 * as missing (`hints[key]` says what to put there). `synonyms`: names another family uses for a
 * field (an mlp's `layers` is its `hidden`), suggested when the spelling is not close.
 */
function fields(o: Obj, prefix: string, allowed: readonly string[], required: readonly string[], hints: Readonly<Record<string, string>>, issues: Issues, what: string, synonyms: Readonly<Record<string, string>> = {}): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) {
      const near = synonyms[k] !== undefined && allowed.includes(synonyms[k]) ? `; did you mean ${synonyms[k]}?` : didYouMean(k, allowed);
      bad(issues, at(prefix, k), `unknown field ${JSON.stringify(k)} of ${what}${near}`, `the fields of ${what} are: ${allowed.join(', ')}`);
    }
  for (const k of required) if (o[k] === undefined) bad(issues, at(prefix, k), `missing`, `add "${k}": ${hints[k] ?? 'see src/core/arch.ts'}`);
}

function oneOf(issues: Issues, o: Obj, k: string, prefix: string, allowed: readonly (string | number)[], hint: string): void {
  const v = o[k];
  if (v === undefined || allowed.includes(v as string | number)) return;
  const near = typeof v === 'string' ? didYouMean(v, allowed.map(String)) : '';
  bad(issues, at(prefix, k), `must be one of ${allowed.join(', ')}, got ${show(v)}${near}`, hint);
}
function bool(issues: Issues, o: Obj, k: string, prefix: string): void {
  if (o[k] !== undefined && typeof o[k] !== 'boolean') bad(issues, at(prefix, k), `must be true or false, got ${show(o[k])}`, `write "${k}": true or false (a JSON boolean, not a string)`);
}
function rate(issues: Issues, o: Obj, k: string, prefix: string): void {
  const v = o[k];
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= 1)) bad(issues, at(prefix, k), `must be a number in [0, 1), got ${show(v)}`, `e.g. "${k}": 0.1 (0 for none)`);
}
function posInt(issues: Issues, v: unknown, field: string, hint: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad(issues, field, `must be a positive integer, got ${show(v)}`, hint);
}

const ACT_HINT = `one of ${ACTIVATIONS.join(', ')}`;

function mlp(o: Obj, p: string, issues: Issues): void {
  fields(o, p, ['family', 'hidden', 'activation', 'batchNorm', 'dropout'], ['hidden', 'activation', 'batchNorm', 'dropout'], { hidden: 'the hidden layer widths, e.g. [128, 64]', activation: ACT_HINT, batchNorm: 'true or false', dropout: 'a rate in [0, 1), e.g. 0' }, issues, 'an mlp architecture', { layers: 'hidden', widths: 'hidden', units: 'hidden', act: 'activation', batch_norm: 'batchNorm', bn: 'batchNorm' });
  const h = o['hidden'];
  if (h !== undefined) {
    if (!Array.isArray(h)) bad(issues, at(p, 'hidden'), `must be an array of layer widths, got ${show(h)}`, typeof h === 'number' ? `write "hidden": [${h}]` : 'e.g. "hidden": [128, 64]');
    else h.forEach((w, i) => posInt(issues, w, at(p, `hidden[${i}]`), 'a layer width, e.g. 64'));
  }
  oneOf(issues, o, 'activation', p, ACTIVATIONS, ACT_HINT);
  bool(issues, o, 'batchNorm', p);
  rate(issues, o, 'dropout', p);
}

const LAYER_FIELDS = ['kernel', 'channels', 'activation', 'batchNorm', 'pool', 'skip'];
const LAYER_HINTS = { kernel: '3, 5 or 7', channels: 'a positive integer, e.g. 16', activation: ACT_HINT, batchNorm: 'true or false', pool: '1 (no pooling), 2, 3 or 5', skip: 'true or false' };

function chainCnn(o: Obj, p: string, issues: Issues): void {
  fields(o, p, ['family', 'layers', 'dropout', 'head'], ['layers', 'dropout'], { layers: `an array of layers, each {${LAYER_FIELDS.join(', ')}}`, dropout: 'a rate in [0, 1), e.g. 0' }, issues, 'a chain_cnn architecture', { hidden: 'layers' });
  const layers = o['layers'];
  if (layers !== undefined) {
    if (!Array.isArray(layers)) bad(issues, at(p, 'layers'), `must be an array of layers, got ${show(layers)}`, `each layer is {${LAYER_FIELDS.join(', ')}}`);
    else
      layers.forEach((l, i) => {
        const lp = at(p, `layers[${i}]`);
        if (!isObj(l)) return bad(issues, lp, `must be an object {${LAYER_FIELDS.join(', ')}}, got ${show(l)}`);
        fields(l, lp, LAYER_FIELDS, LAYER_FIELDS, LAYER_HINTS, issues, 'a chain_cnn layer', { batch_norm: 'batchNorm', bn: 'batchNorm', filters: 'channels', out_channels: 'channels', kernel_size: 'kernel', act: 'activation' });
        oneOf(issues, l, 'kernel', lp, [3, 5, 7], 'a square kernel of 3, 5 or 7');
        if (l['channels'] !== undefined) posInt(issues, l['channels'], at(lp, 'channels'), 'e.g. 16');
        oneOf(issues, l, 'activation', lp, ACTIVATIONS, ACT_HINT);
        bool(issues, l, 'batchNorm', lp);
        oneOf(issues, l, 'pool', lp, [1, 2, 3, 5], 'the max-pool window; 1 means no pooling');
        bool(issues, l, 'skip', lp);
      });
  }
  rate(issues, o, 'dropout', p);
  const head = o['head'];
  if (head === undefined) return;
  const hp = at(p, 'head');
  if (!isObj(head)) return bad(issues, hp, `must be an object, got ${show(head)}`, '{"kind": "gap"} or {"kind": "flatten", "hidden": 0}');
  if (head['kind'] === 'flatten') {
    fields(head, hp, ['kind', 'hidden'], ['hidden'], { hidden: 'an integer >= 0 (0: no hidden layer)' }, issues, 'a flatten head');
    const hh = head['hidden'];
    if (hh !== undefined && (typeof hh !== 'number' || !Number.isInteger(hh) || hh < 0)) bad(issues, at(hp, 'hidden'), `must be an integer >= 0, got ${show(hh)}`, '0 means no hidden layer');
  } else if (head['kind'] === 'gap') fields(head, hp, ['kind'], [], {}, issues, 'a gap head');
  else if (head['kind'] === undefined) bad(issues, at(hp, 'kind'), 'missing', 'add "kind": "gap" or "flatten"');
  else bad(issues, at(hp, 'kind'), `must be "gap" or "flatten", got ${show(head['kind'])}${typeof head['kind'] === 'string' ? didYouMean(head['kind'], ['gap', 'flatten']) : ''}`, 'gap: global average pool; flatten: keeps positions');
}

function nb201(o: Obj, p: string, issues: Issues): void {
  fields(o, p, ['family', 'ops'], ['ops'], { ops: `6 operations, one per edge, each one of ${NB201_OPS.join(', ')}` }, issues, 'an nb201 architecture');
  const ops = o['ops'];
  if (ops === undefined) return;
  if (!Array.isArray(ops) || ops.length !== 6) return bad(issues, at(p, 'ops'), `an NB201 cell has 6 edges, got ${Array.isArray(ops) ? `${ops.length} ops` : show(ops)}`, 'edges in order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2');
  ops.forEach((op, i) => {
    if (!NB201_OPS.includes(op)) bad(issues, at(p, `ops[${i}]`), `unknown op ${show(op)}${typeof op === 'string' ? didYouMean(op, NB201_OPS) : ''}`, `use one of ${NB201_OPS.join(', ')}`);
  });
}

function dartsCell(o: Obj, k: string, p: string, issues: Issues): void {
  const cell = o[k];
  const cp = at(p, k);
  if (cell === undefined) return;
  if (!isObj(cell)) return bad(issues, cp, `must be an object {"edges": [...]}, got ${show(cell)}`, '8 edges {op, input}, 2 per intermediate node');
  fields(cell, cp, ['edges'], ['edges'], { edges: '8 edges {op, input}, 2 per intermediate node' }, issues, 'a DARTS cell');
  const edges = cell['edges'];
  if (edges === undefined) return;
  if (!Array.isArray(edges) || edges.length !== 8) return bad(issues, at(cp, 'edges'), `a DARTS cell has 8 edges (2 per intermediate node), got ${Array.isArray(edges) ? `${edges.length} edges` : show(edges)}`, 'each edge is {op, input}');
  edges.forEach((e, i) => {
    const ep = at(cp, `edges[${i}]`);
    if (!isObj(e)) return bad(issues, ep, `must be an object {op, input}, got ${show(e)}`);
    fields(e, ep, ['op', 'input'], ['op', 'input'], { op: `one of ${DARTS_OPS.join(', ')}`, input: 'an earlier node (0, 1: the previous cells)' }, issues, 'a DARTS edge');
    const op = e['op'];
    if (op !== undefined && !DARTS_OPS.includes(op as (typeof DARTS_OPS)[number]))
      bad(issues, at(ep, 'op'), `unknown op ${show(op)}${typeof op === 'string' ? didYouMean(op, DARTS_OPS) : ''}`, `use one of ${DARTS_OPS.join(', ')}`);
    const node = i >> 1;
    const inp = e['input'];
    if (inp !== undefined && (typeof inp !== 'number' || !Number.isInteger(inp) || inp < 0 || inp > node + 1))
      bad(issues, at(ep, 'input'), `node ${node + 2} can take inputs 0..${node + 1} (0, 1: the previous cells), got ${show(inp)}`, 'an integer naming an earlier node');
  });
}

function darts(o: Obj, p: string, issues: Issues): void {
  const cellHint = '{"edges": [8 x {op, input}]}';
  fields(o, p, ['family', 'normal', 'reduce'], ['normal', 'reduce'], { normal: cellHint, reduce: cellHint }, issues, 'a darts architecture');
  dartsCell(o, 'normal', p, issues);
  dartsCell(o, 'reduce', p, issues);
}

/**
 * Records in `issues` every shape problem of the network architecture `j` (not a joint one), its
 * fields named under `prefix` ('' at the top, 'arch' inside `{arch, hparams}`).
 */
export function checkNetworkArchFields(j: unknown, prefix: string, issues: Issues): void {
  if (!isObj(j)) return bad(issues, prefix, `an architecture must be a JSON object, got ${Array.isArray(j) ? 'an array' : show(j)}`, 'e.g. {"family": "mlp", "hidden": [128], "activation": "relu", "batchNorm": false, "dropout": 0}');
  const f = j['family'];
  if (f === undefined) return bad(issues, at(prefix, 'family'), 'missing', `add "family": one of ${ARCH_FAMILIES.join(', ')}`);
  if (!ARCH_FAMILIES.includes(f as (typeof ARCH_FAMILIES)[number]))
    return bad(issues, at(prefix, 'family'), `unknown network family ${show(f)}${typeof f === 'string' ? didYouMean(f, ARCH_FAMILIES) : ''}`, `use one of: ${ARCH_FAMILIES.join(', ')}`);
  switch (f as (typeof ARCH_FAMILIES)[number]) {
    case 'mlp':
      return mlp(j, prefix, issues);
    case 'chain_cnn':
      return chainCnn(j, prefix, issues);
    case 'nb201':
      return nb201(j, prefix, issues);
    case 'darts':
      return darts(j, prefix, issues);
  }
}

/**
 * `e`, an error about an architecture read from `file`, naming the file: a list of problems is
 * headed `N problems in the architecture file F:`, a single problem's field is `F:field` (as a
 * data file's `t.csv:header`). Other errors are returned as they are.
 */
export function inArchFile(e: unknown, file: string | undefined): unknown {
  if (file === undefined || !(e instanceof NasError) || (e.code !== 'invalid_arch' && e.code !== 'invalid_config')) return e;
  const issues = e.details?.['issues'];
  if (Array.isArray(issues)) return new NasError(e.code, issueListText(issues as Issue[], `in the architecture file ${file}`), { details: e.details, cause: e });
  if (e.field?.startsWith(`${file}:`) || e.text.includes(file)) return e;
  return new NasError(e.code, e.text, { field: `${file}:${e.field ?? ''}`, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(e.details === undefined ? {} : { details: e.details }), cause: e });
}
