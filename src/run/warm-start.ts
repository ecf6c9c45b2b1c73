/**
 * Warm start (transfer between searches): a new study begins with the finished results of earlier
 * studies - in the same store or another one - as if it had evaluated them itself, so its strategy
 * is told them (and population-based strategies seed their population from them) before its
 * first ask. This is Optuna's `study.add_trials` / Syne Tune's transfer-learning warm start.
 *
 *   warm_start: [{ study: nb201-earlier, storage: sqlite:./old.db }]   # storage: default this study's
 *
 * How: every complete source trial whose architecture belongs to this study's space is copied
 * into the new study as a complete trial (architecture, budget, metrics; objective values
 * recomputed for this study's objectives) with the user attribute
 * `warm_start: { study, storage, number }` naming where it came from; `tsnas trials` and the
 * dashboard show that attribute. The run layer's `reconcile` then tells the strategy each of them,
 * exactly as it tells trials a crashed worker finished. Duplicate architectures are imported once.
 * Imported trials do not count against the study's budget of new trials (`trials:` stays the
 * number of evaluations this study makes): the study's stored `maxTrials` is `trials + imported`.
 *
 * `checkWarmStart` runs before anything is written: a missing source study, a source that searched
 * another space (different name or definition), a source trial whose architecture the space
 * rejects, or a source without any complete trial that reports this study's objective metrics,
 * is an `invalid_config` error naming `warm_start[i]` and the fix.
 */
import { candidateValue } from '../core/metrics.js';
import { canonicalJson } from '../core/json.js';
import type { Json } from '../core/json.js';
import { NasError } from '../core/errors.js';
import type { Space } from '../space/space.js';
import { openStore } from '../store/index.js';
import type { Objective, Store, StudyRecord, TrialRecord } from '../store/types.js';
import { workerId } from '../core/ids.js';

export interface WarmStartSource {
  readonly study: string;
  /** Store URL of the source study (already resolved against the config's directory). */
  readonly storage: string;
}

/** One trial to import: where it came from and what it carries. */
export interface WarmTrial {
  readonly source: WarmStartSource;
  readonly number: number;
  readonly arch: Json;
  readonly archKey: string;
  readonly budget: number | null;
  readonly metrics: Record<string, number>;
  readonly values: number[];
}

export interface WarmStartPlan {
  readonly trials: readonly WarmTrial[];
  /** Per source: complete trials found, imported, and skipped (duplicates, lacking a metric). */
  readonly perSource: readonly { source: WarmStartSource; complete: number; imported: number; skipped: number }[];
}

const fail = (i: number, message: string, hint: string): never => {
  throw new NasError('invalid_config', message, { field: `warm_start[${i}]`, hint });
};

/**
 * Reads and checks the source studies (nothing is written anywhere). `spaceName`/`spaceDef` are
 * this study's space; `objectives` its objectives (their metrics must be in a source trial's
 * metrics for it to be imported). `open` opens a store (default `openStore`; the caller's own
 * store may be passed through for the same URL).
 */
export async function checkWarmStart(
  sources: readonly WarmStartSource[],
  target: { name: string; space: Space<unknown>; objectives: readonly Objective[] },
  open: (url: string) => Promise<{ store: Store; close: () => Promise<void> }> = async (url) => {
    const store = await openStore(url, { readOnly: true });
    return { store, close: () => store.close() };
  },
): Promise<WarmStartPlan> {
  const seen = new Set<string>();
  const trials: WarmTrial[] = [];
  const perSource: { source: WarmStartSource; complete: number; imported: number; skipped: number }[] = [];
  const targetDef = canonicalJson(target.space.def as unknown as Json);
  for (const [i, src] of sources.entries()) {
    if (src.study === target.name) fail(i, `study ${src.study} cannot warm-start from itself`, 'name an earlier study');
    let h: { store: Store; close: () => Promise<void> };
    try {
      h = await open(src.storage);
    } catch (e) {
      return fail(i, `cannot open the warm-start storage ${src.storage}: ${(e as Error).message}`, 'give the storage URL of the earlier study (sqlite:PATH or postgres://...)');
    }
    // Recorded with the store's own (password-masked) URL.
    const shown: WarmStartSource = { study: src.study, storage: h.store.url };
    try {
      const rec: StudyRecord | null = await h.store.getStudy(src.study);
      if (rec === null) {
        const names = (await h.store.listStudies()).map((s) => s.name);
        fail(i, `no study ${JSON.stringify(src.study)} in ${src.storage}`, names.length ? `studies there: ${names.slice(0, 10).join(', ')}` : 'that storage holds no study');
      }
      const r = rec as StudyRecord;
      if (r.space.name !== target.space.name || canonicalJson(r.space.definition) !== targetDef)
        fail(
          i,
          `study ${src.study} searched space ${r.space.name}${r.space.name === target.space.name ? ' with a different definition' : ''}; this study searches ${target.space.name}: their architectures are not comparable`,
          'warm-start only from a study over the same search space',
        );
      const complete: TrialRecord[] = await h.store.listTrials(r.id, { states: ['complete'] });
      let imported = 0;
      let skipped = 0;
      for (const t of complete) {
        // Not a candidate in its own study (core candidateValue: values null, e.g. a one-shot
        // study's supernet search trial, whose arch is no network): never imported.
        if (candidateValue(t) === null) {
          skipped++;
          continue;
        }
        let key: string;
        try {
          key = target.space.key(t.arch as never) as string;
        } catch (e) {
          return fail(i, `trial ${t.number} of study ${src.study} is not an architecture of space ${target.space.name}: ${(e as Error).message}`, 'warm-start only from a study over the same search space');
        }
        const metrics = t.metrics ?? {};
        const values = target.objectives.map((o) => metrics[o.metric]);
        if (seen.has(key) || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
          skipped++;
          continue;
        }
        seen.add(key);
        trials.push({ source: shown, number: t.number, arch: t.arch, archKey: key, budget: t.budget, metrics: { ...metrics }, values: values as number[] });
        imported++;
      }
      if (complete.length > 0 && imported === 0 && trials.length === 0 && complete.every((t) => target.objectives.some((o) => typeof t.metrics?.[o.metric] !== 'number')))
        fail(i, `no complete trial of study ${src.study} reports ${target.objectives.map((o) => o.metric).join(', ')}`, 'warm-start from a study whose evaluator reports this study\'s objective metrics');
      perSource.push({ source: shown, complete: complete.length, imported, skipped });
    } finally {
      await h.close();
    }
  }
  return { trials, perSource };
}

/**
 * Copies the planned trials into `study` (a new study of `store`) as complete trials marked
 * `warm_start`, then records the study attribute `warm_start` (sources and counts). Idempotent: a
 * source trial already imported (a resumed study whose import was interrupted) is not imported
 * again. Returns the number of trials created now.
 */
export async function importWarmStart(store: Store, study: StudyRecord, plan: WarmStartPlan): Promise<number> {
  const have = new Set<string>();
  for (const t of await store.listTrials(study.id)) {
    const w = t.userAttrs['warm_start'] as { study?: string; storage?: string; number?: number } | undefined;
    if (w) have.add(`${w.storage}\u0000${w.study}\u0000${w.number}`);
  }
  const w = workerId('warm-start');
  let n = 0;
  for (const t of plan.trials) {
    const id = `${t.source.storage}\u0000${t.source.study}\u0000${t.number}`;
    if (have.has(id)) continue;
    const created = await store.createTrial(study.id, {
      arch: t.arch,
      archKey: t.archKey,
      budget: t.budget,
      params: {},
      userAttrs: { warm_start: { study: t.source.study, storage: t.source.storage, number: t.number } },
      claim: { workerId: w, leaseMs: 60_000 },
    });
    await store.finishTrial(created.id, w, { state: 'complete', metrics: t.metrics, values: t.values, durationMs: 0 }, created.attempt);
    n++;
  }
  await store.setStudyAttr(study.id, 'warm_start', {
    sources: plan.perSource.map((p) => ({ study: p.source.study, storage: p.source.storage, complete: p.complete, imported: p.imported, skipped: p.skipped })),
    imported: plan.trials.length,
  });
  return n;
}
