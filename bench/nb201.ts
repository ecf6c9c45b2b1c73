/**
 * `npm run bench -- nb201 [--seeds N] [--seed-base B] [--strategies a,b] [--budgets 10,20,30,50,100]
 *                         [--options JSON] [--prescreen JSON] [--json] [--no-timing] [--no-mo]`
 *
 * A strategy name `NAME+prescreen` runs NAME behind the zero-cost prescreen (src/strategy/
 * prescreen.ts) over the shipped proxy table data/nb201/nb201-proxies.csv.gz (`--prescreen` sets
 * its options, default {"candidates": 3000, "top": 10, "proxies": ["synflow"]}: chosen on seeds 1000-1099); such runs, and
 * runs of strategies with proxy features, report `proxy_ms_mean`: the proxy compute per study in
 * ms, the sum of the table's recorded per-key times over the keys the study scored (each key once).
 * Each seed runs once at the largest budget; the figures for a smaller budget b are those of the
 * run's first b trials (the same as a run stopped at b: no single-objective strategy here plans
 * with the total).
 *
 * Every registered single-objective strategy on the NAS-Bench-201 CIFAR-10 table: for each budget
 * (unique architectures) and seed, one run from scratch with that many trials; reported: mean +- std
 * of the test accuracy of the best-by-validation architecture found, the fraction of runs that
 * found the table's best-by-validation architecture and the mean number of queries it took, and
 * the strategy's own CPU time per ask+tell around trial 1,000 (mean over trials 901-1000 of one run).
 * Multi-objective: hypervolume (val_acc up, raspi4 latency down) of the front found after 300
 * queries, relative to the whole table's front, for NSGA-II (and random search for comparison).
 * Strategies see only `val_acc` (and latency costs); `test_acc` is read here, after the run.
 * Benchmark seeds are 0..N-1 by default; tune with `--seed-base 1000`.
 */
import { fileURLToPath } from 'node:url';
import type { Nb201Arch } from '../src/core/arch.js';
import { nb201Cifar10, type TabularEvaluator } from '../src/eval/tabular.js';
import type { Objective } from '../src/eval/types.js';
import { nb201Space } from '../src/space/nb201.js';
import { simulate } from '../src/strategy/common-testing.js';
import { hypervolume2d, paretoFront } from '../src/strategy/pareto.js';
import { STRATEGIES, STRATEGY_NAMES, createStrategy, getStrategyEntry, validateOptions } from '../src/strategy/registry.js';
import type { Strategy } from '../src/strategy/types.js';
import { prescreenReport, withPrescreen, type PrescreenOptions } from '../src/strategy/prescreen.js';
import { loadProxyTable, tableProvider, type ProxyTable } from '../src/eval/proxies/table.js';
import { checkProxyAvailability, proxyConsumers } from '../src/eval/proxies/availability.js';
import { parseBenchArgs } from './args.js';
import { mean as statMean, populationStd } from '../src/core/stats.js';

interface Args {
  seeds: number;
  seedBase: number;
  strategies: string[] | undefined;
  budgets: number[];
  options: Record<string, Record<string, unknown>>;
  prescreen: PrescreenOptions;
  json: boolean;
  timing: boolean;
  mo: boolean;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'nb201', {
    seeds: 'number', 'seed-base': 'number', strategies: 'list', budgets: 'list', options: 'string', prescreen: 'string', json: 'flag', 'no-timing': 'flag', 'no-mo': 'flag',
  });
  const prescreen: PrescreenOptions = { candidates: 3000, top: 10, proxies: ['synflow'] };
  const a: Args = {
    seeds: o.seeds ?? 100,
    seedBase: o['seed-base'] ?? 0,
    strategies: o.strategies,
    budgets: o.budgets ? o.budgets.map(Number) : [10, 20, 30, 50, 100],
    options: o.options !== undefined ? (JSON.parse(o.options) as Args['options']) : {},
    prescreen: o.prescreen !== undefined ? { ...prescreen, ...(JSON.parse(o.prescreen) as Partial<PrescreenOptions>) } : prescreen,
    json: o.json ?? false,
    timing: !o['no-timing'],
    mo: !o['no-mo'],
  };
  if (!(a.seeds >= 1) || !Number.isInteger(a.seeds)) throw new Error('--seeds must be a positive integer');
  return a;
}

const VAL: readonly Objective[] = [{ metric: 'val_acc', direction: 'maximize' }];

/**
 * Wraps a strategy to time each ask+tell pair, in process CPU time (user + system), so that other
 * processes competing for the cores do not inflate the figure as wall-clock time would.
 */
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
function timed(s: Strategy, times: number[]): Strategy {
  let t = 0;
  return {
    ...s,
    name: s.name,
    init: (seed, ctx) => s.init(seed, ctx),
    ask(state, ctx) {
      const t0 = cpuMs();
      const r = s.ask(state, ctx);
      t = cpuMs() - t0;
      return r;
    },
    tell(state, trial, ctx) {
      const t0 = cpuMs();
      const r = s.tell(state, trial, ctx);
      times.push(t + cpuMs() - t0);
      return r;
    },
  };
}

interface Row {
  strategy: string;
  budget: number;
  seeds: number;
  test_acc_mean: number;
  test_acc_std: number;
  found_best_fraction: number;
  found_best_queries: number | null;
  ms_per_ask: number | null;
  /** Zero-cost proxy compute per study (mean over seeds), ms; 0 without proxies. */
  proxy_ms_mean: number;
}

const mean = (x: readonly number[]): number => (x.length ? statMean(x) : 0);
/** Population std; 0 for values equal within rounding (src/core/stats.ts). */
const std = populationStd;

const PRESCREEN = '+prescreen';
let proxyTable: ProxyTable | undefined;

function runOne(ev: TabularEvaluator, name: string, opts: Record<string, unknown>, seed: number, trials: number, a: Args, times?: number[]) {
  const base = name.endsWith(PRESCREEN) ? name.slice(0, -PRESCREEN.length) : name;
  let s = createStrategy(base, opts);
  // The validated options (camelCase whether the user wrote proxy_features or proxyFeatures).
  const v = validateOptions(getStrategyEntry(base).options, opts) as Record<string, unknown>;
  const proxies = name.endsWith(PRESCREEN) || v['proxyFeatures'] === true || (typeof v['order'] === 'string' && v['order'] !== 'random');
  if (name.endsWith(PRESCREEN)) s = withPrescreen(s, a.prescreen) as unknown as Strategy;
  if (times) s = timed(s, times);
  if (proxies) {
    // The same config-time check as a study (src/eval/proxies/availability.ts): a proxy the table
    // lacks is refused, not ranked "missing -> last" for every candidate.
    const t = (proxyTable ??= loadProxyTable());
    checkProxyAvailability(proxyConsumers(base, v, name.endsWith(PRESCREEN) ? a.prescreen : null), { kind: 'table', file: t.file, proxies: t.proxies });
  }
  const provider = proxies ? tableProvider(proxyTable!) : undefined;
  const r = simulate<Nb201Arch>(s, {
    space: nb201Space,
    objectives: VAL,
    costOf: (a) => ev.costs(a),
    ...(provider ? { proxyOf: provider.proxyOf } : {}),
    evaluate: (arch) => {
      const o = ev.evaluateSync({ arch });
      return o.status === 'complete' ? o.metrics : undefined;
    },
    trials,
    seed,
    roundTrip: false,
  });
  const rep = prescreenReport(r.state);
  return { ...r, proxyMs: provider?.totalMs ?? rep?.proxyMs ?? 0 };
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const ev = nb201Cifar10();
  const table = ev.table;
  const val = table.column('val_acc');
  const test = table.column('test_acc');
  let bestRow = 0;
  for (let r = 1; r < table.size; r++) if (val[r]! > val[bestRow]!) bestRow = r;

  const single = STRATEGY_NAMES.filter((n) => {
    const e = STRATEGIES[n] as { multiObjective?: boolean; multiFidelity?: boolean };
    return !e.multiObjective && !e.multiFidelity;
  });
  const names = a.strategies ?? single;
  for (const n of names) if (!(STRATEGY_NAMES as string[]).includes(n.replace(/\+prescreen$/, ''))) throw new Error(`unknown strategy ${n}; registered: ${STRATEGY_NAMES.join(', ')}`);

  const rows: Row[] = [];
  if (!a.json)
    console.log(
      `NAS-Bench-201 CIFAR-10: table optimum (test_acc of the best-by-valid arch) ${test[bestRow]!.toFixed(2)}; seeds ${a.seedBase}..${a.seedBase + a.seeds - 1}\n` +
        `${'strategy'.padEnd(22)}${'budget'.padStart(7)}  ${'test_acc mean ± std'.padEnd(20)}${'found best'.padStart(11)}${'queries'.padStart(9)}${'ms/ask@1000'.padStart(13)}${'proxy ms/study'.padStart(16)}`,
    );
  for (const name of names) {
    const e = STRATEGIES[name.replace(/\+prescreen$/, '') as keyof typeof STRATEGIES] as { multiObjective?: boolean; multiFidelity?: boolean };
    if (e.multiObjective || e.multiFidelity) continue;
    const opts = a.options[name] ?? {};
    let ms: number | null = null;
    if (a.timing) {
      const times: number[] = [];
      runOne(ev, name, opts, a.seedBase, 1000, a, times);
      ms = mean(times.slice(900));
    }
    const maxBudget = Math.max(...a.budgets);
    const runs = [];
    for (let s = 0; s < a.seeds; s++) runs.push(runOne(ev, name, opts, a.seedBase + s, maxBudget, a));
    for (const budget of a.budgets) {
      const accs: number[] = [];
      const found: number[] = [];
      for (const r of runs) {
        let bv = -Infinity;
        let bt = NaN;
        let foundAt = -1;
        r.history.slice(0, budget).forEach((t, i) => {
          const row = table.rowOf(t.arch);
          if (row === bestRow && foundAt < 0) foundAt = i + 1;
          const v = t.metrics?.['val_acc'];
          if (v !== undefined && v > bv) {
            bv = v;
            bt = test[row]!;
          }
        });
        accs.push(bt);
        if (foundAt > 0) found.push(foundAt);
      }
      const row: Row = {
        strategy: name,
        budget,
        seeds: a.seeds,
        test_acc_mean: mean(accs),
        test_acc_std: std(accs),
        found_best_fraction: found.length / a.seeds,
        found_best_queries: found.length ? mean(found) : null,
        ms_per_ask: ms,
        proxy_ms_mean: mean(runs.map((r) => r.proxyMs)),
      };
      rows.push(row);
      if (a.json) console.log(JSON.stringify(row));
      else
        console.log(
          `${name.padEnd(22)}${String(budget).padStart(7)}  ${`${row.test_acc_mean.toFixed(2)} ± ${row.test_acc_std.toFixed(2)}`.padEnd(20)}${row.found_best_fraction.toFixed(2).padStart(11)}${(row.found_best_queries === null ? '-' : row.found_best_queries.toFixed(0)).padStart(9)}${(ms === null ? '-' : ms.toFixed(2)).padStart(13)}${row.proxy_ms_mean.toFixed(0).padStart(16)}`,
        );
    }
  }
  if (a.mo && (a.strategies === undefined || a.strategies.includes('nsga2'))) multiObjective(a, ev);
}

/** Hypervolume ratio after 300 queries: NSGA-II, and random search as the reference point of view. */
function multiObjective(a: Args, ev: TabularEvaluator): void {
  const table = ev.table;
  const val = table.column('val_acc');
  const lat = table.column('latency_ms');
  // Points as minimisation pairs (-val_acc, latency); reference = worst of each over the table.
  const all: [number, number][] = [];
  for (let r = 0; r < table.size; r++) if (Number.isFinite(lat[r]!)) all.push([-val[r]!, lat[r]!]);
  const ref: [number, number] = [Math.max(...all.map((p) => p[0])), Math.max(...all.map((p) => p[1]))];
  const trueHv = hypervolume2d(paretoFront(all), ref);
  const objectives: Objective[] = [
    { metric: 'val_acc', direction: 'maximize' },
    { metric: 'latency_ms', direction: 'minimize' },
  ];
  for (const name of ['nsga2', 'random']) {
    if (!(STRATEGY_NAMES as string[]).includes(name)) continue;
    const ratios: number[] = [];
    const times: number[] = [];
    for (let s = 0; s < a.seeds; s++) {
      let st = createStrategy(name, a.options[name] ?? {});
      if (s === 0) st = timed(st, times);
      const r = simulate<Nb201Arch>(st, {
        space: nb201Space,
        objectives,
        costOf: (x) => ev.costs(x),
        evaluate: (arch) => {
          const o = ev.evaluateSync({ arch });
          return o.status === 'complete' ? o.metrics : undefined;
        },
        trials: 300,
        seed: a.seedBase + s,
        roundTrip: false,
      });
      const pts: [number, number][] = [];
      for (const t of r.history) {
        const v = t.metrics?.['val_acc'];
        const l = t.metrics?.['latency_ms'];
        if (v !== undefined && l !== undefined) pts.push([-v, l]);
      }
      ratios.push(hypervolume2d(paretoFront(pts), ref) / trueHv);
    }
    const row = { strategy: name, budget: 300, seeds: a.seeds, objectives: 'val_acc max, latency_ms (raspi4) min', hv_ratio_mean: mean(ratios), hv_ratio_std: std(ratios), ms_per_ask: mean(times) };
    if (a.json) console.log(JSON.stringify(row));
    else console.log(`multi-objective ${name.padEnd(8)} 300 queries: hypervolume ratio ${row.hv_ratio_mean.toFixed(4)} ± ${row.hv_ratio_std.toFixed(4)} (ms/ask ${row.ms_per_ask.toFixed(2)})`);
  }
}
