/**
 * `npm run bench -- oneshot [--json] [--train-per-class 100] [--val-per-class 50] [--epochs 12]
 *                           [--final-epochs 3] [--standalone-epochs 2] [--archs 20] [--random 5]
 *                           [--alpha-lr 3e-3] [--guard-lambda 1] [--width 16] [--cells 1]
 *                           [--threads 2] [--cifar-dir DIR] [--seed 0]`
 *
 * One-shot NAS on Fashion-MNIST (and CIFAR-10 when --cifar-dir holds its binary batches), all in
 * one run, sized for two cores: a class-balanced subset of the training images split into the two
 * halves, the NB201 cell with C=16 and one cell per stage for supernets and stand-alone networks.
 *   1. SPOS ranking quality: Kendall tau between the SPOS supernet's accuracy (BN recalibrated,
 *      architecture half) of `--archs` random architectures and their accuracy trained stand-alone
 *      with the same recipe (`--standalone-epochs`, validation split).
 *   2. DARTS without vs with the beta-decay guard: skip and parameter-free edges of the derived
 *      cell, and its test accuracy after retraining.
 *   3. Derived architectures of DARTS (guarded), GDAS and SPOS retrained with the final recipe
 *      (`--final-epochs`, whole training subset), against `--random` random architectures and the
 *      winner of multi-trial regularized evolution given the same wall-clock as DARTS (guarded)'s
 *      search, each with test accuracy, params, FLOPs and search seconds.
 * The peer is the multi-trial search (regularized evolution) at equal wall-clock, in the same run.
 * `--json`: one object per line, as issue 11 specifies.
 */
import { existsSync } from 'node:fs';
import { uptime, loadavg } from 'node:os';
import { NB201_OPS, type Nb201Arch } from '../src/core/arch.js';
import { trialId } from '../src/core/ids.js';
import { Rng } from '../src/core/rng.js';
import { prepareData, type DatasetSpec, type PreparedData } from '../src/data/prepare.js';
import { trainOnData, type TrainOptions } from '../src/eval/train.js';
import { NB201_EDGES, nb201Supernet } from '../src/oneshot/nb201.js';
import { parseOneShotOptions, type OneShotMethodName, type OneShotOptions } from '../src/oneshot/options.js';
import { runOneShot, splitHalves } from '../src/oneshot/search.js';
import { randomPath, scorePath } from '../src/oneshot/spos.js';
import { opCounts } from '../src/oneshot/supernet.js';
import { formatNb201, nb201Space } from '../src/space/nb201.js';
import { createStrategy } from '../src/strategy/registry.js';
import type { StrategyContext, TrialRecord } from '../src/strategy/types.js';
import { setNumThreads } from '../src/tensor/index.js';
import { parseBenchArgs } from './args.js';

interface Args {
  json: boolean;
  trainPerClass: number;
  valPerClass: number;
  epochs: number;
  finalEpochs: number;
  standaloneEpochs: number;
  archs: number;
  random: number;
  alphaLr: number;
  guardLambda: number;
  width: number;
  cells: number;
  threads: number;
  cifarDir: string | undefined;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'oneshot', {
    json: 'flag', 'train-per-class': 'number', 'val-per-class': 'number', epochs: 'number', 'final-epochs': 'number', 'standalone-epochs': 'number',
    archs: 'number', random: 'number', 'alpha-lr': 'number', 'guard-lambda': 'number', width: 'number', cells: 'number', threads: 'number', 'cifar-dir': 'string', seed: 'number',
  });
  return {
    json: o.json ?? false, trainPerClass: o['train-per-class'] ?? 100, valPerClass: o['val-per-class'] ?? 50, epochs: o.epochs ?? 12, finalEpochs: o['final-epochs'] ?? 3,
    standaloneEpochs: o['standalone-epochs'] ?? 2, archs: o.archs ?? 20, random: o.random ?? 5, alphaLr: o['alpha-lr'] ?? 3e-3, guardLambda: o['guard-lambda'] ?? 1,
    width: o.width ?? 16, cells: o.cells ?? 1, threads: o.threads ?? 2, cifarDir: o['cifar-dir'], seed: o.seed ?? 0,
  };
}

/** Kendall's tau-b of two paired samples. */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++)
    for (let j = i + 1; j < x.length; j++) {
      const a = Math.sign(x[i]! - x[j]!);
      const b = Math.sign(y[i]! - y[j]!);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

interface Row {
  method: string;
  arch: string;
  test_acc: number;
  params: number;
  flops: number;
  search_seconds: number;
  note?: string;
}

const log = (s: string) => process.stderr.write(s + '\n');

async function suite(name: string, data: PreparedData, a: Args): Promise<void> {
  const out = (o: Record<string, unknown>) => {
    // Fashion-MNIST lines are exactly issue 11's objects; CIFAR-10's carry "dataset": "cifar10".
    if (a.json) process.stdout.write(JSON.stringify(name === 'fashion_mnist' ? o : { dataset: name, ...o }) + '\n');
  };
  const net = { nb201: { width: a.width, cells: a.cells } };
  const recipe = (epochs: number, skipTest: boolean): TrainOptions => ({ ...net, epochs, hparams: { optimizer: 'adam', lr: 2e-3, batchSize: 64, weightDecay: 0, schedule: 'cosine' }, skipTest, threads: a.threads });
  const base = (o: Record<string, unknown>): OneShotOptions => parseOneShotOptions({ epochs: a.epochs, batch_size: 64, width: a.width, cells: a.cells, alpha_lr: a.alphaLr, ...o });
  const halves = splitHalves(data, 64, a.seed);
  log(`[${name}] train ${data.train.indices.length} (halves ${halves.weights.indices.length}/${halves.arch.indices.length}), val ${data.val.indices.length}, test ${data.test.indices.length}; NB201 C=${a.width} N=${a.cells}; load ${loadavg()[0]!.toFixed(1)}`);
  const supernet = (i: Parameters<typeof nb201Supernet>[0], g: Parameters<typeof nb201Supernet>[1]) => nb201Supernet(i, g, { width: a.width, cells: a.cells });
  const search = async (method: OneShotMethodName, o: Record<string, unknown>, inspect?: Parameters<typeof runOneShot<Nb201Arch>>[0]['inspect']) => {
    const t0 = performance.now();
    const r = await runOneShot<Nb201Arch>({ method, options: base(o), seed: a.seed, data: halves, supernet, threads: a.threads, ...(inspect ? { inspect } : {}) });
    const wall = (performance.now() - t0) / 1000;
    const perEpoch = r.history.reduce((s, h) => s + h.metrics['epoch_seconds']!, 0) / r.history.length;
    log(`[${name}] ${method}${o['guard'] ? `+${String(o['guard'])}` : ''}: ${formatNb201(r.arch)} in ${wall.toFixed(1)} s (${perEpoch.toFixed(1)} s per supernet epoch)`);
    return { ...r, wall, perEpoch };
  };
  const retrain = async (arch: Nb201Arch, seed: number) => {
    const r = await trainOnData(data, { arch, seed, budget: a.finalEpochs }, recipe(a.finalEpochs, false));
    if (r.outcome.status !== 'complete') throw new Error(`retraining ${formatNb201(arch)} failed: ${r.outcome.status === 'failed' ? r.outcome.message : 'pruned'}`);
    const m = r.outcome.metrics;
    return { test_acc: m['test_acc']!, params: m['params']!, flops: m['flops']!, seconds: r.seconds };
  };
  const rows: Row[] = [];

  // ---- 1. SPOS + Kendall tau
  const rng = Rng.fromSeed(`bench-oneshot:${a.seed}`);
  const sampled: number[][] = [];
  const seen = new Set<string>();
  while (sampled.length < a.archs) {
    const p = randomPath(NB201_EDGES, rng);
    if (seen.has(p.join())) continue;
    seen.add(p.join());
    sampled.push(p);
  }
  const superScores: number[] = [];
  const sposOpts = { population: 12, generations: 3, top_k: 4, recalibration_batches: 8 };
  const spos = await search('spos', sposOpts, (net, ctx) => {
    for (const p of sampled) superScores.push(scorePath(net, p, ctx.data, ctx.opts, Rng.fromSeed(`bench-recal:${p.join()}`)).acc);
  });
  const alone: number[] = [];
  let aloneSeconds = 0;
  for (const [i, p] of sampled.entries()) {
    const arch = { family: 'nb201', ops: p.map((k) => NB201_OPS[k]!) } as unknown as Nb201Arch;
    const r = await trainOnData(data, { arch, seed: 1000 + i, budget: a.standaloneEpochs }, recipe(a.standaloneEpochs, true));
    const acc = r.outcome.status === 'complete' ? r.outcome.metrics['val_acc']! : NaN;
    alone.push(acc);
    aloneSeconds += r.seconds;
    log(`[${name}] stand-alone ${i + 1}/${sampled.length} ${formatNb201(arch)}: val ${acc.toFixed(2)}% (supernet ${superScores[i]!.toFixed(2)}%) in ${r.seconds.toFixed(1)} s`);
  }
  const tau = kendallTau(superScores, alone);
  const candidateSeconds = aloneSeconds / sampled.length;
  out({ figure: 'spos_kendall_tau', value: Number(tau.toFixed(4)) });
  out({ figure: 'standalone_candidate_seconds', value: Number(candidateSeconds.toFixed(2)), epochs: a.standaloneEpochs });

  // ---- 2. DARTS without and with the guard
  const dNo = await search('darts', { guard: 'none' });
  const dG = await search('darts', { guard: 'beta_decay', guard_lambda: a.guardLambda });
  const gdas = await search('gdas', {});
  const counts = (arch: Nb201Arch) => opCounts(arch.ops);
  for (const [guard, r] of [[false, dNo], [true, dG]] as const) {
    const c = counts(r.arch);
    out({ figure: 'darts_skip_edges', guard, value: c.skip });
    out({ figure: 'darts_param_free_edges', guard, value: c.paramFree });
  }
  out({ figure: 'supernet_epoch_seconds', method: 'darts', value: Number(dG.perEpoch.toFixed(2)) });
  out({ figure: 'supernet_epoch_seconds', method: 'gdas', value: Number(gdas.perEpoch.toFixed(2)) });
  out({ figure: 'supernet_epoch_seconds', method: 'spos', value: Number(spos.perEpoch.toFixed(2)) });

  // ---- 3. retrained: one-shot winners, random, evolution at equal wall-clock
  const add = async (method: string, arch: Nb201Arch, searchSeconds: number, seed: number, note?: string) => {
    const r = await retrain(arch, seed);
    const row: Row = { method, arch: formatNb201(arch), test_acc: r.test_acc, params: r.params, flops: r.flops, search_seconds: Number(searchSeconds.toFixed(1)), ...(note ? { note } : {}) };
    rows.push(row);
    log(`[${name}] retrained ${method}${note ? ` (${note})` : ''} ${row.arch}: test ${r.test_acc.toFixed(2)}% in ${r.seconds.toFixed(1)} s`);
    if (!note) out({ method, test_acc: Number(r.test_acc.toFixed(2)), params: r.params, flops: r.flops, search_seconds: row.search_seconds });
    else out({ figure: 'darts_unguarded_test_acc', value: Number(r.test_acc.toFixed(2)), params: r.params, flops: r.flops, search_seconds: row.search_seconds });
  };
  await add('darts', dG.arch, dG.searchSeconds, 7);
  await add('darts', dNo.arch, dNo.searchSeconds, 7, 'no guard');
  await add('gdas', gdas.arch, gdas.searchSeconds, 7);
  await add('spos', spos.arch, spos.searchSeconds, 7);
  const rr = Rng.fromSeed(`bench-random:${a.seed}`);
  for (let i = 0; i < a.random; i++) await add('random', nb201Space.sample(rr), 0, 7);

  // regularized evolution, each candidate trained like the Kendall set, for DARTS (guarded)'s search wall-clock
  const budget = dG.searchSeconds;
  const strategy = createStrategy('evolution', { population: 8, sampleSize: 3 });
  const history: TrialRecord<Nb201Arch>[] = [];
  const ctx: StrategyContext<Nb201Arch> = { space: nb201Space, objectives: [{ metric: 'val_acc', direction: 'maximize' }], constraints: [], history };
  let state = strategy.init(a.seed, ctx);
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < budget) {
    const r = strategy.ask(state, ctx);
    state = r.state;
    if (r.outcome.kind !== 'trial') break;
    const arch = r.outcome.proposal.arch;
    const id = trialId(history.length);
    const t = await trainOnData(data, { arch, seed: 2000 + history.length, budget: a.standaloneEpochs }, recipe(a.standaloneEpochs, true));
    const rec: TrialRecord<Nb201Arch> =
      t.outcome.status === 'complete'
        ? { id, arch, key: nb201Space.key(arch), state: 'complete', metrics: t.outcome.metrics, intermediate: [] }
        : { id, arch, key: nb201Space.key(arch), state: 'failed', intermediate: [] };
    history.push(rec);
    state = strategy.tell(state, rec, ctx);
  }
  const evoSeconds = (performance.now() - t0) / 1000;
  const bestEvo = history.filter((h) => h.state === 'complete').sort((x, y) => y.metrics!['val_acc']! - x.metrics!['val_acc']!)[0];
  log(`[${name}] evolution: ${history.length} candidates in ${evoSeconds.toFixed(1)} s (budget ${budget.toFixed(1)} s)`);
  if (bestEvo) await add('evolution', bestEvo.arch, evoSeconds, 7);

  // ---- table
  const randomRows = rows.filter((r) => r.method === 'random');
  const meanRandom = randomRows.reduce((s, r) => s + r.test_acc, 0) / Math.max(1, randomRows.length);
  {
    // The table goes to stdout, or to stderr under --json (stdout then holds only the JSON lines).
    const print = (line: string) => (a.json ? process.stderr.write(line + '\n') : process.stdout.write(line + '\n'));
    print(`\n${name}: NB201 C=${a.width} N=${a.cells}, ${data.train.indices.length} training images (two halves for the supernets), ${a.epochs} supernet epochs, final recipe ${a.finalEpochs} epochs`);
    print(`SPOS Kendall tau (supernet vs stand-alone ${a.standaloneEpochs}-epoch val acc, ${sampled.length} archs): ${tau.toFixed(3)}`);
    print(`DARTS derived cell, skip / parameter-free edges of 6: no guard ${counts(dNo.arch).skip} / ${counts(dNo.arch).paramFree}, beta-decay ${counts(dG.arch).skip} / ${counts(dG.arch).paramFree}`);
    print(`seconds per supernet epoch: DARTS ${dG.perEpoch.toFixed(1)}, GDAS ${gdas.perEpoch.toFixed(1)}, SPOS ${spos.perEpoch.toFixed(1)}; one stand-alone candidate (${a.standaloneEpochs} epochs): ${candidateSeconds.toFixed(1)}`);
    print('| method | arch | test acc | params | FLOPs | search s |');
    print('|---|---|---|---|---|---|');
    for (const r of rows) print(`| ${r.method}${r.note ? ` (${r.note})` : ''} | \`${r.arch}\` | ${r.test_acc.toFixed(2)} | ${r.params} | ${r.flops} | ${r.search_seconds} |`);
    print(`mean of ${randomRows.length} random: ${meanRandom.toFixed(2)}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (uptime ${Math.round(uptime())} s)`);
  }
  out({ figure: 'random_mean_test_acc', value: Number(meanRandom.toFixed(2)) });
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  setNumThreads(a.threads);
  const fm = await prepareData({ kind: 'fashion_mnist' }, { seed: 0, trainPerClass: a.trainPerClass, valPerClass: a.valPerClass });
  await suite('fashion_mnist', fm, a);
  const cifar: DatasetSpec = { kind: 'cifar10', ...(a.cifarDir ? { dataDir: a.cifarDir } : {}), download: false };
  if (a.cifarDir && existsSync(a.cifarDir)) {
    const c = await prepareData(cifar, { seed: 0, trainPerClass: a.trainPerClass, valPerClass: a.valPerClass });
    await suite('cifar10', c, a);
  } else log('CIFAR-10: no --cifar-dir with its binary batches given: skipped');
}
