/**
 * Test and benchmark fixture (excluded from the build): a large study written directly through the
 * Store, the way the dashboard meets one after a long multi-worker search. Architectures are real
 * samples of the DARTS cell space (src/space/darts.ts); the evaluator is synthetic: val_acc is a
 * deterministic function of the sampled ops plus seeded noise, params/latency follow the number
 * of parametric ops. Two objectives (val_acc max, latency_ms min) so hypervolume applies. About
 * 2% of trials fail (no values), 8% are pruned, and trials are spread over 4 workers with real
 * start/finish times so the timeline has lanes. Not a benchmark of any search: a data generator.
 */
import { workerId, type StudyId } from '../../core/ids.js';
import type { Json } from '../../core/json.js';
import { Rng } from '../../core/rng.js';
import { dartsSpace } from '../../space/darts.js';
import type { Store } from '../../store/types.js';

export interface BigStudyOptions {
  readonly name?: string;
  readonly trials: number;
  readonly seed?: number;
  readonly workers?: number;
}

const PARAMETRIC: Record<string, number> = { sep_conv_3x3: 3, sep_conv_5x5: 5, dil_conv_3x3: 2.5, dil_conv_5x5: 4, max_pool_3x3: 0, avg_pool_3x3: 0, skip_connect: 0, none: 0 };

/** Creates the study and its trials; returns the study id. Roughly 0.5-1 ms per trial on SQLite. */
export async function createBigStudy(store: Store, o: BigStudyOptions): Promise<StudyId> {
  const rng = Rng.fromSeed(o.seed ?? 11);
  const workers = o.workers ?? 4;
  const rec = await store.createStudy({
    name: o.name ?? `darts-synthetic-${o.trials}`,
    strategy: { name: 'evolution', options: { population: 50, sampleSize: 10 } },
    space: { name: 'darts', definition: null },
    evaluator: { name: 'synthetic', options: {} },
    objectives: [
      { metric: 'val_acc', direction: 'maximize' },
      { metric: 'latency_ms', direction: 'minimize' },
    ],
    constraints: [],
    seed: o.seed ?? 11,
    maxTrials: o.trials,
    config: { fixture: 'src/server/testing/big-study.ts' },
  });
  for (let i = 0; i < o.trials; i++) {
    const arch = dartsSpace.sample(rng.derive(i));
    const ops = [...Object.values(arch.normal as unknown as Record<string, unknown>), ...Object.values(arch.reduce as unknown as Record<string, unknown>)];
    const flatOps = JSON.stringify(ops).match(/[a-z]+_[a-z0-9_]+/g) ?? [];
    const weight = flatOps.reduce((a, op) => a + (PARAMETRIC[op] ?? 0), 0);
    const w = workerId(`worker-${i % workers}`);
    const t = await store.createTrial(rec.id, {
      arch: arch as unknown as Json,
      archKey: dartsSpace.key(arch),
      budget: null,
      params: { generation: Math.floor(i / 50), lr: 10 ** rng.uniform(-4, -1) },
      claim: { workerId: w, leaseMs: 60_000 },
    });
    const u = rng.float();
    const acc = 70 + 20 * (1 - Math.exp(-weight / 25)) + 3 * rng.float() + 2 * Math.min(1, i / o.trials);
    const latency = 0.4 + weight * 0.05 + rng.float() * 0.3;
    if (u < 0.02) {
      await store.finishTrial(t.id, w, { state: 'failed', error: 'synthetic failure', durationMs: 5 });
    } else if (u < 0.1) {
      await store.finishTrial(t.id, w, { state: 'pruned', values: [acc - 10], metrics: { val_acc: acc - 10, latency_ms: latency }, error: 'pruned at epoch 1', durationMs: 10 });
    } else {
      const params = Math.round(2e5 + weight * 3e4 + rng.float() * 1e4);
      await store.finishTrial(t.id, w, {
        state: 'complete',
        values: [acc, latency],
        metrics: { val_acc: acc, latency_ms: latency, params, flops: params * 120, train_loss: 2.5 - acc / 45, val_loss: 2.6 - acc / 45 },
        durationMs: 20,
      });
    }
  }
  return rec.id;
}
