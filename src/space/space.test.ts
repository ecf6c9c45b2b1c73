import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch, DartsArch, JointArch, MlpArch, Nb201Arch, TrainHparams } from '../core/arch.js';
import { isNasError, NasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import {
  SPACES,
  SPACE_NAMES,
  bool,
  cell,
  choice,
  conditional,
  constant,
  dag,
  defineSpace,
  float,
  getSpace,
  int,
  nb201PaperUniqueString,
  nb201Space,
  parseNb201,
  repeat,
  SKLEARN_DEFAULT_MLP,
  struct,
  type ArchOf,
  type Space,
} from './index.js';

// ---- type inference: these lines only compile if the inferred types are right ----
type Eq<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
const assertType = <_T extends true>() => undefined;
const toyDef = struct({
  kind: choice(['a', 'b']),
  depth: int(1, 4),
  lr: float(1e-4, 1e-1, { log: true }),
  flags: repeat(bool(), 0, 3),
  extra: conditional({ field: 'kind', in: ['b'] }, choice([1, 2, 3])),
});
type Toy = ArchOf<typeof toyDef>;
assertType<Eq<Toy['kind'], 'a' | 'b'>>();
assertType<Eq<Toy['extra'], 1 | 2 | 3 | undefined>>();
assertType<Eq<Toy['flags'], readonly boolean[]>>();
assertType<Eq<ArchOf<typeof nb201Space.def>['ops']['length'], 6>>();
const rng0 = Rng.fromSeed(0);
const _n: Nb201Arch = SPACES.nb201.sample(rng0);
const _c: ChainCnnArch = SPACES.chain_cnn.sample(rng0);
const _d: DartsArch = SPACES.darts.sample(rng0);
const _m: MlpArch = SPACES.mlp.sample(rng0);
const _j: JointArch<Nb201Arch> = SPACES.joint_nb201.sample(rng0);
const _h: TrainHparams = SPACES.joint_mlp.sample(rng0).hparams;
void [_n, _c, _d, _m, _j, _h];

const toy = defineSpace('toy', toyDef);
const all: [string, Space<unknown>][] = [...SPACE_NAMES.map((n) => [n, getSpace(n)] as [string, Space<unknown>]), ['toy', toy as Space<unknown>]];

function throwsCode(fn: () => unknown, code: NasError['code'], field?: string | RegExp): NasError {
  try {
    fn();
  } catch (e) {
    assert.ok(isNasError(e, code), `expected ${code}, got ${String(e)}`);
    if (field !== undefined) {
      if (typeof field === 'string') assert.equal(e.field, field);
      else assert.match(e.field ?? '', field);
    }
    return e;
  }
  assert.fail(`expected a ${code} NasError`);
}

test('every space: samples validate, mutation and crossover stay in the space, neighbours are valid', () => {
  for (const [name, space] of all) {
    const rng = Rng.fromSeed(name);
    for (let i = 0; i < 40; i++) {
      const a = space.sample(rng);
      const b = space.sample(rng);
      assert.doesNotThrow(() => space.validate(a), name);
      const m = space.mutate(a, rng);
      space.validate(m);
      assert.notDeepEqual(m, a, `${name}: mutation changes one site`);
      space.validate(space.crossover(a, b, rng));
      assert.equal(space.parse(space.format(a)) !== undefined, true);
      assert.deepEqual(space.parse(space.format(a)), space.validate(a), `${name}: parse(format(a)) == a`);
      for (const kind of space.encodings) assert.equal(space.encode(a, kind).length, space.encodingLength(kind), `${name} ${kind}`);
      if (i < 3) for (const n of space.neighbours(a)) space.validate(n);
    }
  }
});

test('sampling is deterministic per seed and does not alias its inputs', () => {
  for (const [name, space] of all) {
    const a = space.sample(Rng.fromSeed(5));
    assert.deepEqual(space.sample(Rng.fromSeed(5)), a, name);
    const copy = structuredClone(a);
    space.mutate(a, Rng.fromSeed(1));
    space.crossover(a, space.sample(Rng.fromSeed(2)), Rng.fromSeed(3));
    space.neighbours(a);
    assert.deepEqual(a, copy, `${name}: operators must not modify their arguments`);
  }
});

test('NB201: parse/format round trip, 24 neighbours, size and enumerate', () => {
  const s = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const a = parseNb201(s);
  assert.deepEqual(a.ops, ['nor_conv_3x3', 'nor_conv_3x3', 'avg_pool_3x3', 'skip_connect', 'nor_conv_3x3', 'skip_connect']);
  assert.equal(nb201Space.format(a), s);
  assert.deepEqual(nb201Space.parse(s), a);
  assert.equal(nb201Space.neighbours(a).length, 24);
  assert.equal(nb201Space.size(), 15625);
  assert.equal(nb201Space.encodingLength('onehot'), 30);
  assert.equal(nb201Space.encodingLength('path'), 4 + 16 + 64);
});

test('NB201 canonical keys: dead and zeroed edges do not matter; unique counts', () => {
  const k = (s: string) => nb201Space.key(parseNb201(s));
  // Node 1 is only read through `none` edges, so edge 0->1 is dead.
  assert.equal(
    k('|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|'),
    k('|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|'),
  );
  // An edge out of an all-zero node is dead too.
  assert.equal(
    k('|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|'),
    k('|none~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_3x3~2|'),
  );
  // Order of summands does not matter: conv on 0->1 + skip, vs skip + conv through node 2.
  assert.equal(k('|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|'), k('|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|skip_connect~2|'));
  // Different functions differ.
  assert.notEqual(k('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|'), k('|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|'));
  const ours = new Set<string>();
  const paper = new Set<string>();
  for (const a of nb201Space.enumerate()) {
    ours.add(nb201Space.key(a));
    paper.add(nb201PaperUniqueString(a.ops));
  }
  assert.equal(paper.size, 6466, "the NB201 authors' to_unique_str count");
  assert.equal(ours.size, 4930, 'our normalisation also flattens skip-passed sums and drops zero terms');
});

test('chain CNN: skip is ignored on pooling layers; DARTS: edge order within a node and zero edges are ignored', () => {
  const layer = { kernel: 3, channels: 32, activation: 'relu', batchNorm: true, pool: 2, skip: true } as const;
  const a: ChainCnnArch = { family: 'chain_cnn', layers: [layer], dropout: 0.1 };
  const b: ChainCnnArch = { family: 'chain_cnn', layers: [{ ...layer, skip: false }], dropout: 0.1 };
  assert.equal(SPACES.chain_cnn.key(a as never), SPACES.chain_cnn.key(b as never));
  assert.notEqual(SPACES.chain_cnn.key({ ...a, layers: [{ ...layer, pool: 1 }] } as never), SPACES.chain_cnn.key({ ...b, layers: [{ ...layer, pool: 1, skip: false }] } as never));
  const d = SPACES.darts.sample(Rng.fromSeed(1));
  const e = d.normal.edges;
  const swapped = { ...d, normal: { edges: [e[1]!, e[0]!, ...e.slice(2)] } };
  assert.equal(SPACES.darts.key(swapped), SPACES.darts.key(d));
  const z1 = { ...d, normal: { edges: [{ op: 'none' as const, input: 0 }, ...e.slice(1)] } };
  const z2 = { ...d, normal: { edges: [{ op: 'none' as const, input: e[1]!.input === 1 ? 0 : 1 }, ...e.slice(1)] } };
  assert.equal(SPACES.darts.key(z1), SPACES.darts.key(z2));
  // Nodes 2 and 3 both read only the cell inputs: exchanging them (and renumbering the readers) is an isomorphism.
  const iso = (a: number, b: number) => ({
    family: 'darts' as const,
    reduce: d.reduce,
    normal: {
      edges: [
        { op: 'sep_conv_3x3' as const, input: 0 }, { op: 'skip_connect' as const, input: 1 },
        { op: 'max_pool_3x3' as const, input: 0 }, { op: 'dil_conv_5x5' as const, input: 1 },
        { op: 'sep_conv_5x5' as const, input: a }, { op: 'avg_pool_3x3' as const, input: 0 },
        { op: 'sep_conv_3x3' as const, input: b }, { op: 'skip_connect' as const, input: 4 },
      ],
    },
  });
  const swapped2 = { ...iso(2, 3), normal: { edges: [...iso(3, 2).normal.edges.slice(2, 4), ...iso(3, 2).normal.edges.slice(0, 2), ...iso(3, 2).normal.edges.slice(4)] } };
  assert.equal(SPACES.darts.key(swapped2), SPACES.darts.key(iso(2, 3)));
  assert.notEqual(SPACES.darts.key(iso(3, 2)), SPACES.darts.key(iso(2, 3)));
});

test('bad architectures: errors name the field', () => {
  throwsCode(() => parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|conv_9x9~1|skip_connect~2|'), 'invalid_arch', 'ops[4]');
  const e = throwsCode(() => parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|none~1|none~2|'), 'invalid_arch', 'arch');
  assert.match(e.message, /node 2 has 1 inputs/);
  throwsCode(() => parseNb201('nor_conv_3x3'), 'invalid_arch', 'arch');
  throwsCode(() => nb201Space.validate({ family: 'nb201', ops: ['none', 'none', 'none', 'bogus', 'none', 'none'] }), 'invalid_arch', 'ops[3]');
  throwsCode(() => nb201Space.validate({ family: 'nb201', ops: ['none'] }), 'invalid_arch', 'ops');
  throwsCode(() => nb201Space.validate({ family: 'darts', ops: [] }), 'invalid_arch', 'family');
  throwsCode(() => nb201Space.parse('{"family":"nb201"'), 'invalid_arch');
  const chain = SPACES.chain_cnn.sample(Rng.fromSeed(1));
  const badLayers = chain.layers.map((l, i) => (i === 0 ? { ...l, kernel: 4 } : l));
  const ce = throwsCode(() => SPACES.chain_cnn.validate({ ...chain, layers: badLayers }), 'invalid_arch', 'layers[0].kernel');
  assert.match(ce.hint ?? '', /3, 5, 7/);
  throwsCode(() => SPACES.chain_cnn.validate({ ...chain, layers: [] }), 'invalid_arch', 'layers');
  throwsCode(() => SPACES.chain_cnn.validate({ ...chain, dropout: 0.9 }), 'invalid_arch', 'dropout');
  throwsCode(() => SPACES.chain_cnn.validate({ ...chain, extra: 1 }), 'invalid_arch', 'extra');
  const d = SPACES.darts.sample(Rng.fromSeed(2));
  const de = d.normal.edges.map((x, i) => (i === 2 ? { ...x, input: 3 } : x));
  throwsCode(() => SPACES.darts.validate({ ...d, normal: { edges: de } }), 'invalid_arch', 'normal.edges[2].input');
  // Conditional: momentum only with sgd.
  const j = SPACES.joint_mlp.sample(Rng.fromSeed(3));
  throwsCode(() => SPACES.joint_mlp.validate({ ...j, hparams: { ...j.hparams, optimizer: 'adam', momentum: 0.9 } }), 'invalid_arch', 'hparams.momentum');
  throwsCode(() => SPACES.joint_mlp.validate({ ...j, hparams: { optimizer: 'sgd', lr: 0.1, batchSize: 64, weightDecay: 1e-4 } }), 'invalid_arch', 'hparams.momentum');
  // Every problem at once (session 9, an enqueued architecture): missing said as missing, unknown with did-you-mean.
  const all = throwsCode(() => SPACES.mlp.validate({ family: 'mlp', layers: [16], activaton: 'relu' }), 'invalid_arch');
  const issues = (all.details?.['issues'] ?? []) as { field: string; message: string }[];
  const f = Object.fromEntries(issues.map((i) => [i.field, i.message]));
  assert.ok(/unknown field/.test(f['layers'] ?? '') && /did you mean activation/.test(f['activaton'] ?? ''), JSON.stringify(issues));
  assert.equal(f['hidden'], 'missing');
  assert.equal(f['activation'], 'missing');
  const two = throwsCode(() => SPACES.chain_cnn.validate({ ...chain, layers: chain.layers.map((l, i) => (i === 0 ? { ...l, kernel: 4, pool: 7 } : l)) }), 'invalid_arch');
  assert.deepEqual(((two.details?.['issues'] ?? []) as { field: string }[]).map((i) => i.field).sort(), ['layers[0].kernel', 'layers[0].pool']);
});

test('bad space definitions: invalid_space naming the field', () => {
  throwsCode(() => choice([]), 'invalid_space', 'options');
  throwsCode(() => choice(['a', 'a']), 'invalid_space', 'options[1]');
  throwsCode(() => int(5, 1), 'invalid_space', 'max');
  throwsCode(() => float(0, 1, { log: true }), 'invalid_space', 'min');
  throwsCode(() => dag({ nodes: 4, ops: [] }), 'invalid_space', 'ops');
  throwsCode(() => dag({ nodes: 4, ops: ['a'], zeroOp: 'b' as 'a' }), 'invalid_space', 'zeroOp');
  throwsCode(() => cell({ inputs: 1, nodes: 2, degree: 2, ops: ['a'] }), 'invalid_space', 'degree');
  throwsCode(() => repeat(bool(), 3, 2), 'invalid_space', 'max');
  throwsCode(() => struct({ a: choice([1]), b: conditional({ field: 'zz', in: [1] }, bool()) }), 'invalid_space', 'b.when.field');
  throwsCode(() => struct({ a: choice([1]), b: conditional({ field: 'a', in: [2] }, bool()) }), 'invalid_space', 'b.when.in[0]');
  const e = throwsCode(() => getSpace('nasbench101'), 'unknown_space', 'space');
  assert.match(e.hint ?? '', /nb201/);
});

test('toy space: conditional fields follow their condition; size and enumerate agree', () => {
  const rng = Rng.fromSeed(11);
  for (let i = 0; i < 200; i++) {
    const a = toy.sample(rng);
    assert.equal(a.extra !== undefined, a.kind === 'b');
    const m = toy.mutate(a, rng);
    assert.equal(m.extra !== undefined, m.kind === 'b');
  }
  const fin = defineSpace('fin', struct({ k: choice(['a', 'b']), n: int(0, 2), x: conditional({ field: 'k', in: ['b'] }, bool()), seq: repeat(choice([1, 2]), 0, 2) }));
  const members = [...fin.enumerate()];
  // k=a: 3 * 7 seqs; k=b: 3 * 2 * 7
  assert.equal(fin.size(), 21 + 42);
  assert.equal(members.length, fin.size());
  assert.equal(new Set(members.map((m) => fin.key(m))).size, members.length);
  for (const m of members) fin.validate(m);
  throwsCode(() => [...toy.enumerate()], 'invalid_config');
  const dartsSize = SPACES.darts.size();
  // ordered distinct input pairs x 8^2 ops per node: (2*1)(3*2)(4*3)(5*4) * 64^4, per cell
  assert.equal(dartsSize, Math.pow(2 * 6 * 12 * 20 * 64 ** 4, 2));
  void constant;
});

test('path encoding: BANANAS paths; a cell with no live input->output path encodes to zeros', () => {
  const zero = parseNb201('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
  assert.ok(nb201Space.encode(zero, 'path').every((x) => x === 0));
  const direct = parseNb201('|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|');
  const p = nb201Space.encode(direct, 'path');
  assert.equal(p.reduce((s, x) => s + x, 0), 1);
  assert.equal(p[2], 1, 'length-1 path through nor_conv_3x3 (third non-none op)');
  const rng = Rng.fromSeed(4);
  for (let i = 0; i < 50; i++) {
    const a = nb201Space.sample(rng);
    const b = nb201Space.sample(rng);
    if (nb201Space.key(a) === nb201Space.key(b)) assert.deepEqual(nb201Space.encode(a, 'path'), nb201Space.encode(b, 'path'));
  }
});

test('mlp_small / joint_mlp_small: 0-2 hidden layers, no batch norm, weight decay to 0.1; a linear model\'s key ignores activation and dropout; scikit-learn\'s default is a member', () => {
  const rng = Rng.fromSeed('mlp_small');
  const depths = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const a = SPACES.joint_mlp_small.sample(rng);
    depths.add(a.arch.hidden.length);
    assert.equal(a.arch.batchNorm, false);
    assert.ok(a.arch.hidden.every((h) => [16, 32, 64, 100, 128, 256].includes(h)), JSON.stringify(a.arch.hidden));
    assert.ok(a.hparams.weightDecay >= 1e-6 && a.hparams.weightDecay <= 0.1 && a.hparams.lr >= 1e-4 && a.hparams.lr <= 0.1, JSON.stringify(a.hparams));
  }
  assert.deepEqual([...depths].sort(), [0, 1, 2]);
  const linear: MlpArch = { family: 'mlp', hidden: [], activation: 'relu', batchNorm: false, dropout: 0 };
  // Keys and validation take any MlpArch / JointArch (batchNorm typed boolean): the space's own type is narrower.
  const s = SPACES.mlp_small as unknown as Space<MlpArch>;
  assert.equal(s.key({ ...linear, activation: 'tanh', dropout: 0.3 }), s.key(linear));
  assert.notEqual(s.key({ ...SKLEARN_DEFAULT_MLP, activation: 'tanh' }), s.key(SKLEARN_DEFAULT_MLP));
  assert.notEqual(s.key({ ...SKLEARN_DEFAULT_MLP, dropout: 0.3 }), s.key(SKLEARN_DEFAULT_MLP));
  const h = { optimizer: 'adam', lr: 0.001, batchSize: 32, weightDecay: 1e-6 } as const;
  const j = SPACES.joint_mlp_small as unknown as Space<JointArch>;
  assert.deepEqual(j.validate({ arch: SKLEARN_DEFAULT_MLP, hparams: h }), { arch: SKLEARN_DEFAULT_MLP, hparams: h });
  assert.equal(j.key({ arch: { ...linear, activation: 'gelu', dropout: 0.5 }, hparams: h }), j.key({ arch: linear, hparams: h }));
  assert.notEqual(j.key({ arch: linear, hparams: { ...h, weightDecay: 0.1 } }), j.key({ arch: linear, hparams: h }));
  throwsCode(() => j.validate({ arch: linear, hparams: { ...h, weightDecay: 0.2 } }), 'invalid_arch', 'hparams.weightDecay');
  throwsCode(() => j.validate({ arch: { ...linear, batchNorm: true }, hparams: h }), 'invalid_arch', 'arch.batchNorm');
  throwsCode(() => j.validate({ arch: { ...linear, hidden: [16, 16, 16] }, hparams: h }), 'invalid_arch', 'arch.hidden');
  // joint_mlp keeps its own ranges (1e-2 is its largest weight decay).
  throwsCode(() => (SPACES.joint_mlp as unknown as Space<JointArch>).validate({ arch: { ...SKLEARN_DEFAULT_MLP, hidden: [128] }, hparams: { ...h, weightDecay: 0.05 } }), 'invalid_arch', 'hparams.weightDecay');
});
