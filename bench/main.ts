/**
 * `npm run bench -- main [--json] [--seeds 0,1,2] [--threads 2] [--data-dir DIR] [--keep DIR] [--no-peer | --peer-only FILE] [-- tsnas main options]`
 *
 * The main job against what a user would otherwise write: for each seed, runs `tsnas main` (a
 * fresh study, the default budgets) and then bench/optuna_main.py (Debian's /usr/bin/python3 with
 * python3-optuna 3.1 and python3-torch 1.13): Optuna's TPE sampler + Hyperband pruner over the same
 * space, with PyTorch training on the same class-balanced search subsets (this side writes their
 * indices for the peer), the same final recipe (all 60,000 training images, the same epochs,
 * horizontal flips, label smoothing 0.1, cosine schedule) and the same thread count; the peer's
 * search gets the wall clock tsnas's search phase took (`search_seconds`, counted from the peer's
 * process start), held as tsnas holds its `wallclock`: a trial still training at the deadline is
 * stopped at its next step and recorded failed (Optuna's own timeout only stops starting new
 * trials; a run once searched 269.8 s against 133 s), then trains its winner once. Each side's
 * finished trials are printed (tsnas: trials; peer: complete / pruned / stopped at the deadline). Each side's seconds run from its process start to its winner's test
 * accuracy (tsnas's also include the two baselines' trainings, which the peer does not do).
 * Prints both winners' test accuracy, params and wall time per seed, the means with sample std over
 * the seeds, the accuracy margin and the wall-time ratio optuna / tsnas.
 * --json: one object per side and seed, {"side", "test_acc", "params", "seconds", "seed"}, plus detail.
 * --peer-only FILE: runs only the peer, against the tsnas sides of an earlier `--json` run in FILE
 * (their search seconds and final epochs; printed again with `"reused": true`), e.g. after a fix
 * to the peer script.
 * --no-peer: runs only the tsnas side (e.g. to re-time tsnas after an engine change; a later
 * `--peer-only` run of this output adds the peer); the text output then has no margin.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN_DEFAULTS, MAIN_RECIPE, type MainSeedsResult } from '../src/api/main-job.js';
import { statsOf } from '../src/api/repeat.js';
import { NasError } from '../src/core/errors.js';
import { prepareData } from '../src/data/prepare.js';
import { FASHION_MNIST_DIR } from '../src/data/sources.js';
import { peerEnv } from './engine.js';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./optuna_main.py', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

interface Side {
  side: 'tsnas' | 'optuna';
  test_acc: number;
  params: number;
  seconds: number;
  seed: number;
  [k: string]: unknown;
}

/** Runs a command; resolves with stdout (stderr is passed through) or throws naming the command. */
function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => {
      if (code === 0) resolve({ stdout: out, seconds: (performance.now() - t0) / 1000 });
      else reject(new NasError('internal', `${cmd} ${args.slice(0, 3).join(' ')} ... exited with code ${code}`));
    });
  });
}

export default async function mainBench(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const sep = argv.indexOf('--');
  const own = sep >= 0 ? argv.slice(0, sep) : argv;
  const extra = sep >= 0 ? argv.slice(sep + 1) : [];
  const val = (flag: string) => {
    const i = own.indexOf(flag);
    return i >= 0 ? own[i + 1] : undefined;
  };
  const seeds = (val('--seeds') ?? '0').split(',').map(Number);
  const threads = Number(val('--threads') ?? MAIN_DEFAULTS.threads);
  const dataDir = val('--data-dir') ?? FASHION_MNIST_DIR;
  const keep = val('--keep');
  const peerOnly = val('--peer-only');
  const noPeer = own.includes('--no-peer');
  if (noPeer && peerOnly) throw new NasError('invalid_config', '--no-peer and --peer-only exclude each other', { hint: 'give one of them' });
  const earlier: Side[] = peerOnly
    ? readFileSync(peerOnly, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Side)
        .filter((x) => x.side === 'tsnas')
    : [];
  const work = keep ?? mkdtempSync(join(tmpdir(), 'tsnas-bench-main-'));
  mkdirSync(work, { recursive: true });
  const log = (s: string) => process.stderr.write(s + '\n');

  // The search subsets of the main job's `train` evaluator, for the peer (not loaded without one).
  const trainIdx = join(work, 'train-indices.i32');
  const valIdx = join(work, 'val-indices.i32');
  if (!noPeer) {
    const sub = await prepareData({ kind: 'fashion_mnist', dataDir }, { valPerClass: MAIN_DEFAULTS.valPerClass });
    writeFileSync(trainIdx, Buffer.from(sub.train.indices.buffer, sub.train.indices.byteOffset, sub.train.indices.byteLength));
    writeFileSync(valIdx, Buffer.from(sub.val.indices.buffer, sub.val.indices.byteOffset, sub.val.indices.byteLength));
  }

  const sides: Side[] = [];
  try {
    for (const seed of seeds) {
      let r: { searchSeconds: number; finalEpochs: number };
      const reused = earlier.find((x) => x.seed === seed);
      if (peerOnly) {
        if (!reused) throw new NasError('invalid_config', `--peer-only ${peerOnly} has no tsnas side for seed ${seed}`, { hint: 'give the --json output of an earlier run with this seed' });
        sides.push({ ...reused, reused: true });
        r = { searchSeconds: Number(reused['search_seconds']), finalEpochs: Number(reused['final_epochs']) };
      } else {
        const db = join(work, `main-s${seed}.db`);
        rmSync(db, { force: true });
        log(`bench main: seed ${seed}: tsnas main (uptime: ${(await run('uptime', [], process.env)).stdout.trim()})`);
        const t = await run(process.execPath, ['--import', 'tsx', CLI, 'main', '--storage', `sqlite:${db}`, '--seed', String(seed), '--threads', String(threads), '--data-dir', dataDir, '--json', '--no-report', ...extra], process.env);
        const run0 = (JSON.parse(t.stdout) as MainSeedsResult).runs[0]!;
        r = run0;
        const w = run0.rows.find((x) => x.key === 'winner')!;
        const wallOfWinner = run0.searchSeconds + w.train_seconds;
        sides.push({
          side: 'tsnas',
          test_acc: w.test_acc ?? NaN,
          params: w.params ?? NaN,
          seconds: Number(t.seconds.toFixed(1)),
          seed,
          search_seconds: Number(run0.searchSeconds.toFixed(1)),
          winner_train_seconds: Number(w.train_seconds.toFixed(1)),
          search_plus_winner_seconds: Number(wallOfWinner.toFixed(1)),
          trials: run0.trials,
          macs: w.macs,
          baseline_test_acc: run0.rows.find((x) => x.key === 'baseline')?.test_acc ?? null,
          lenet_test_acc: run0.rows.find((x) => x.key === 'lenet')?.test_acc ?? null,
          final_epochs: run0.finalEpochs,
        });
      }
      if (noPeer) continue;
      log(`bench main: seed ${seed}: optuna_main.py, search budget ${r.searchSeconds.toFixed(0)} s (uptime: ${(await run('uptime', [], process.env)).stdout.trim()})`);
      const p = await run(
        PYTHON,
        [
          PEER,
          '--data-dir', dataDir,
          '--train-indices', trainIdx,
          '--val-indices', valIdx,
          '--search-seconds', String(r.searchSeconds),
          '--min-epochs', String(MAIN_DEFAULTS.minBudget),
          '--max-epochs', String(MAIN_DEFAULTS.maxBudget),
          '--budget-samples', String(MAIN_DEFAULTS.budgetSamples),
          '--eta', String(MAIN_DEFAULTS.eta),
          '--final-epochs', String(r.finalEpochs),
          '--max-macs', String(MAIN_DEFAULTS.maxMacs),
          '--label-smoothing', String(MAIN_RECIPE.labelSmoothing),
          '--threads', String(threads),
          '--seed', String(seed),
        ],
        { ...process.env, ...peerEnv(true) },
      );
      const o = JSON.parse(p.stdout.trim().split('\n').pop()!) as Side;
      sides.push({ ...o, side: 'optuna', seed });
    }
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
  if (json) {
    for (const s of sides) process.stdout.write(JSON.stringify(s) + '\n');
    return;
  }
  const of = (side: Side['side']) => sides.filter((s) => s.side === side);
  const sd = (s: { std: number | null }) => (s.std === null ? '' : ` ± ${s.std.toFixed(2)}`);
  const tsnasLine = (t: Side) => `seed ${t.seed}: tsnas ${t.test_acc.toFixed(2)}% (${t.params} params, ${t.seconds.toFixed(0)} s whole job; search ${String(t['search_seconds'])} s, ${String(t['trials'])} trials; search + winner ${String(t['search_plus_winner_seconds'])} s)`;
  const ts = statsOf(of('tsnas').map((s) => s.test_acc))!;
  if (noPeer) {
    process.stdout.write(of('tsnas').map(tsnasLine).join('\n') + `\nwinner test accuracy over ${seeds.length} seed(s): tsnas ${ts.mean.toFixed(2)}${sd(ts)}% (no peer: --no-peer)\n`);
    return;
  }
  const lines = seeds.map((seed) => {
    const t = sides.find((s) => s.side === 'tsnas' && s.seed === seed)!;
    const p = sides.find((s) => s.side === 'optuna' && s.seed === seed)!;
    return `${tsnasLine(t)}  |  optuna ${p.test_acc.toFixed(2)}% (${p.params} params, ${p.seconds.toFixed(0)} s; search ${String(p['search_seconds'])} s of ${String(p['search_budget_seconds'] ?? t['search_seconds'])} s, ${String(p['trials'])} trials: ${String(p['complete'])} complete, ${String(p['pruned'])} pruned, ${String(p['stopped_at_deadline'] ?? '?')} stopped at the budget)`;
  });
  const ps = statsOf(of('optuna').map((s) => s.test_acc))!;
  const tSec = statsOf(of('tsnas').map((s) => Number(s['search_plus_winner_seconds'])))!.mean;
  const pSec = statsOf(of('optuna').map((s) => s.seconds))!.mean;
  process.stdout.write(
    lines.join('\n') +
      `\nwinner test accuracy over ${seeds.length} seed(s): tsnas ${ts.mean.toFixed(2)}${sd(ts)}%, optuna ${ps.mean.toFixed(2)}${sd(ps)}%; margin ${(ts.mean - ps.mean).toFixed(2)} points\n` +
      `wall clock to the winner's test accuracy (search + winner training): tsnas ${tSec.toFixed(0)} s, optuna ${pSec.toFixed(0)} s; ratio optuna / tsnas ${(pSec / tSec).toFixed(2)}\n`,
  );
}
