/**
 * Reading results: study summaries, trial lists, the best trial, CSV/JSON of all trials, and the
 * winner's export directory (architecture JSON, weights if trained, metrics and costs).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { NasError } from '../core/errors.js';
import { openStore, type Store, type StudyRecord, type StudySummary, type TrialRecord } from '../store/index.js';
import { resolveStorage } from './config.js';

async function withStore<T>(storage: string, f: (s: Store) => Promise<T>): Promise<T> {
  const url = resolveStorage(storage, process.cwd());
  // Reading never creates a database: a mistyped path is an error, not a new empty file.
  if (url.startsWith('sqlite:') && !existsSync(url.slice('sqlite:'.length)))
    throw new NasError('not_found', `no study database at ${url.slice('sqlite:'.length)}`, { field: 'storage', hint: 'pass the --storage of an existing search' });
  const store = await openStore(url);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Every study in the store, with trial counts and best value. */
export function listStudies(storage: string): Promise<StudySummary[]> {
  return withStore(storage, (s) => s.listStudies());
}

/** One study's summary; `not_found` lists the names that exist. */
export function studyStatus(storage: string, study: string): Promise<StudySummary> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    const all = await s.listStudies();
    const sum = all.find((x) => x.id === rec.id);
    if (!sum) throw new NasError('not_found', `study ${study} vanished while reading`);
    return sum;
  });
}

export function studyTrials(storage: string, study: string): Promise<{ study: StudyRecord; trials: TrialRecord[] }> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    return { study: rec, trials: await s.listTrials(rec.id) };
  });
}

export function bestTrial(storage: string, study: string): Promise<{ study: StudyRecord; best: TrialRecord | null }> {
  return withStore(storage, async (s) => {
    const rec = await s.requireStudy(study);
    return { study: rec, best: await s.bestTrial(rec.id) };
  });
}

/** Metric names over all trials, sorted, val_* first then test_* then the rest. */
export function metricColumns(trials: readonly TrialRecord[]): string[] {
  const names = new Set<string>();
  for (const t of trials) for (const k of Object.keys(t.metrics ?? {})) names.add(k);
  const rank = (n: string) => (n.startsWith('val_') ? 0 : n.startsWith('test_') ? 1 : n.startsWith('train_') ? 2 : 3);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** All trials as CSV: one row per trial, objective values, every metric, the architecture JSON. */
export function trialsToCsv(study: StudyRecord, trials: readonly TrialRecord[]): string {
  const metrics = metricColumns(trials);
  const header = [
    'number',
    'state',
    'attempt',
    ...study.objectives.map((o) => `value_${o.metric}`),
    ...metrics,
    'budget',
    'duration_ms',
    'arch_key',
    'arch',
    'error',
  ];
  const rows = trials.map((t) => [
    t.number,
    t.state,
    t.attempt,
    ...study.objectives.map((_, i) => t.values?.[i] ?? null),
    ...metrics.map((m) => t.metrics?.[m] ?? null),
    t.budget,
    t.durationMs,
    t.archKey,
    JSON.stringify(t.arch),
    t.error,
  ]);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export function trialsToJson(study: StudyRecord, trials: readonly TrialRecord[]): string {
  return JSON.stringify({ study: study.name, objectives: study.objectives, trials }, null, 2) + '\n';
}

/**
 * Writes text to `path` atomically (a temp file renamed into place): a reader never sees half a
 * file, and a failure leaves nothing behind.
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new NasError('invalid_config', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      field: 'out',
      hint: 'choose a writable location',
    });
  }
}

export interface ExportResult {
  readonly dir: string;
  readonly files: string[];
  readonly trial: TrialRecord;
}

/**
 * Exports the best trial into `outDir` (created; must not exist or be empty): `arch.json`,
 * `metrics.json` (metrics, objective values, costs, provenance), `weights.*` when the trial was
 * trained and its weights were kept (trial attribute `weights_path`). Written into a temporary
 * directory renamed into place, so a failed export leaves nothing half-written.
 */
export async function exportWinner(storage: string, study: string, outDir: string): Promise<ExportResult> {
  const { study: rec, best } = await bestTrial(storage, study);
  if (!best)
    throw new NasError('not_found', `study ${study} has no complete trial to export`, { field: 'study', hint: 'run the search first (tsnas search), or check tsnas status' });
  const dir = resolve(outDir);
  if (existsSync(dir)) throw new NasError('invalid_config', `${dir} already exists`, { field: 'out', hint: 'give a new directory name; export never overwrites' });
  const tmp = `${dir}.tmp-${process.pid}`;
  const files: string[] = [];
  try {
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'arch.json'), JSON.stringify(best.arch, null, 2) + '\n');
    files.push('arch.json');
    const weights = best.userAttrs['weights_path'];
    let weightsFile: string | null = null;
    if (typeof weights === 'string' && existsSync(weights)) {
      weightsFile = `weights${weights.endsWith('.json') ? '.json' : '.bin'}`;
      copyFileSync(weights, join(tmp, weightsFile));
      files.push(weightsFile);
    }
    const m = best.metrics ?? {};
    const costNames = ['params', 'flops', 'macs', 'latency_ms', 'memory_bytes'];
    const costs = Object.fromEntries(Object.entries(m).filter(([k]) => costNames.includes(k) || k.startsWith('latency_')));
    const metrics = Object.fromEntries(Object.entries(m).filter(([k]) => !(k in costs)));
    writeFileSync(
      join(tmp, 'metrics.json'),
      JSON.stringify(
        {
          study: rec.name,
          trial: best.number,
          objectives: rec.objectives.map((o, i) => ({ ...o, value: best.values?.[i] ?? null })),
          metrics,
          costs,
          arch_key: best.archKey,
          budget: best.budget,
          duration_ms: best.durationMs,
          weights: weightsFile,
          strategy: rec.strategy,
          space: rec.space.name,
          evaluator: rec.evaluator,
          seed: rec.seed,
        },
        null,
        2,
      ) + '\n',
    );
    files.push('metrics.json');
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof NasError) throw e;
    throw new NasError('invalid_config', `cannot export into ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      field: 'out',
      hint: 'choose a writable location',
    });
  }
  return { dir, files, trial: best };
}
