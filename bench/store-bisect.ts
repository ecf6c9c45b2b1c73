/**
 * `npm run bench -- store-bisect [--commits A,B,...] [--rounds 5] [--trials 500] [--backend postgres|sqlite]`
 *
 * The run-layer per-trial store overhead (bench/study.ts `overhead`: Study.optimize over a counter
 * strategy and the synthetic evaluator with 3 intermediate values and no delay) measured at several
 * commits of this repository in one run, so that a per-trial regression can be bisected without
 * the machine's load changing between the figures compared (issue 18: the ~1 ms PostgreSQL cost
 * attributed to the store refactor be9777a).
 *
 * Each commit's `src/` is exported with `git archive` into a temporary directory (no git metadata
 * is touched; node_modules is this checkout's), and a child process runs that commit's own Study
 * and store against one PostgreSQL server started here (a fresh database per run) or a fresh
 * SQLite file. The commits are run interleaved, round after round (A B C A B C ...), and each
 * commit's median and spread over the rounds are printed, with the ratio to the first commit.
 * The child is the same code at every commit (the counter driver, a 20-trial warm-up study, then
 * the timed one), so differences are the commits' run and store layers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPgServer, type PgServer } from '../src/store/testing/pg-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Default commits: before the session-2 store work, the one-transaction ask, the commit before the refactor, the refactor, later store/run milestones, HEAD. */
const DEFAULT_COMMITS = ['c30e8f8', '1b4477d', '52e054a', 'be9777a', 'ede3577', 'f3fcc26', 'HEAD'];

const CHILD = `
import { workerId } from '../src/core/ids.js';
import { Study } from '../src/run/study.js';
import { syntheticEvaluator } from '../src/run/synthetic.js';
import { openStore } from '../src/store/index.js';

const counter = {
  needsIntermediates: false,
  init: () => ({ next: 0 }),
  ask: (state) => {
    const n = state.next;
    return { state: { next: n + 1 }, result: { kind: 'trial', proposal: { arch: { x: n }, archKey: String(n), budget: null, params: {} } } };
  },
  tell: (state) => state,
};
const spec = (name, trials) => ({
  name, strategy: { name: 'counter', options: {} }, space: { name: 'bench', definition: null },
  evaluator: { name: 'synthetic', options: { steps: 3 } }, objectives: [{ metric: 'val_acc', direction: 'maximize' }],
  constraints: [], seed: 0, maxTrials: trials, config: {},
});
const [url, n] = process.argv.slice(2);
const trials = Number(n);
const store = await openStore(url);
try {
  const warm = await store.createStudy(spec('warmup', 20));
  await new Study(store, warm, counter, syntheticEvaluator({ steps: 3 }), { workerId: workerId('bench-warm') }).optimize();
  const rec = await store.createStudy(spec('overhead', trials));
  const study = new Study(store, rec, counter, syntheticEvaluator({ steps: 3 }), { workerId: workerId('bench') });
  const t0 = process.hrtime.bigint();
  const r = await study.optimize();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.finished !== trials) throw new Error('finished ' + r.finished + ' of ' + trials);
  console.log('ms_per_trial=' + ms / trials);
} finally {
  await store.close();
}
`;

function list(argv: string[], name: string, def: string): string[] {
  const i = argv.indexOf(`--${name}`);
  return (i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def).split(',').filter((x) => x !== '');
}
function arg(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : def;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Exports `commit`'s src/ (and package.json, tsconfig.json) into `dir` with the child script. */
function checkout(commit: string, dir: string): string {
  const sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', commit], { encoding: 'utf8' }).trim();
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', sha, 'src', 'package.json', 'tsconfig.json'], { maxBuffer: 1 << 30 });
  const r = spawnSync('tar', ['-x', '-C', dir], { input: tar });
  if (r.status !== 0) throw new Error(`tar failed for ${sha}: ${r.stderr.toString()}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'bench'), { recursive: true });
  writeFileSync(join(dir, 'bench', 'bisect-child.ts'), CHILD);
  return sha;
}

export default async function main(argv: string[]): Promise<void> {
  const commits = list(argv, 'commits', DEFAULT_COMMITS.join(','));
  const rounds = arg(argv, 'rounds', 5);
  const trials = arg(argv, 'trials', 500);
  const backend = list(argv, 'backend', 'postgres')[0]!;
  if (backend !== 'postgres' && backend !== 'sqlite') throw new Error(`--backend: postgres or sqlite, not ${backend}`);
  const work = mkdtempSync(join(tmpdir(), 'tsnas-bisect-'));
  let server: PgServer | null = null;
  try {
    const trees = commits.map((c, i) => {
      const dir = join(work, `c${i}`);
      return { commit: c, sha: checkout(c, dir), dir, ms: [] as number[] };
    });
    if (backend === 'postgres') server = await startPgServer();
    let db = 0;
    for (let r = 0; r < rounds; r++) {
      for (const t of trees) {
        const url = server !== null ? await server.createDatabase(`bisect_${db++}`) : `sqlite:${join(work, `b${db++}.db`)}`;
        const c = spawnSync(process.execPath, ['--import', 'tsx', 'bench/bisect-child.ts', url, String(trials)], { cwd: t.dir, encoding: 'utf8', timeout: 600_000 });
        const m = /ms_per_trial=([0-9.]+)/.exec(c.stdout);
        if (c.status !== 0 || m === null) throw new Error(`${t.sha}: child failed (${c.status}): ${c.stderr.slice(-2000)}`);
        t.ms.push(Number(m[1]));
        console.log(`round ${r + 1} ${t.sha} (${t.commit}): ${Number(m[1]).toFixed(3)} ms per trial`);
      }
    }
    const base = median(trees[0]!.ms);
    console.log(`\n${backend}, ${trials} trials per run, ${rounds} interleaved rounds: median (min-max) ms per trial`);
    for (const t of trees) {
      const subject = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%s', t.sha], { encoding: 'utf8' }).trim().slice(0, 70);
      console.log(`${t.sha.padEnd(9)} ${median(t.ms).toFixed(3)} (${Math.min(...t.ms).toFixed(3)}-${Math.max(...t.ms).toFixed(3)})  x${(median(t.ms) / base).toFixed(2)}  ${subject}`);
    }
  } finally {
    if (server !== null) await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
