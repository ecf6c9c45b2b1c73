/**
 * Test fixture (excluded from the build): a one-shot study written in the `tsnas.oneshot/1`
 * format of docs/oneshot.md (the contract src/oneshot writes), with a `tsnas.alpha/1` table of
 * 6 NB201 edges x 5 ops over `epochs` epochs in which the weight of each edge's final op grows
 * steadily, and a derived architecture. The values are made up to exercise the drawing (trial 0's val_acc above trial 1's, so
 * anything that counts the supernet trial as a candidate shows);  the real
 * searches are tested in src/oneshot.
 */
import { workerId } from '../../core/ids.js';
import type { Json } from '../../core/json.js';
import type { Store } from '../../store/types.js';
import { nb201Space } from '../../space/nb201.js';

/** Trial 0's val_acc (the supernet's), above the derived trial's DERIVED_VAL_ACC. */
export const SUPERNET_VAL_ACC = 91;
export const DERIVED_VAL_ACC = 84.2;
export const ONESHOT_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
export const ONESHOT_DERIVED = ['nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
const EDGES: [number, number][] = [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]];

export async function createOneShotStudy(store: Store, epochs = 8): Promise<number> {
  const rec = await store.createStudy({
    name: 'oneshot-darts-fixture',
    strategy: { name: 'darts', options: { epochs } },
    space: { name: 'nb201', definition: nb201Space.def as unknown as Json },  // as src/api/oneshot.ts records it
    evaluator: { name: 'train', options: {} },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [],
    seed: 0,
    maxTrials: 2,
    config: {},
    userAttrs: { oneshot: { format: 'tsnas.oneshot/1', method: 'darts', space: 'nb201', search_trial: 0, derived_trial: 1, guard: 'beta_decay' } },
  });
  const w = workerId('oneshot-fixture');
  const search = await store.createTrial(rec.id, { arch: { supernet: 'nb201', method: 'darts' }, archKey: null, budget: null, params: { oneshot_role: 'search', method: 'darts' }, claim: { workerId: w, leaseMs: 60_000 } });
  const table: { epoch: number; probs: number[][]; derived: Json }[] = [];
  for (let ep = 1; ep <= epochs; ep++) {
    const f = ep / epochs;
    const probs = ONESHOT_DERIVED.map((win) => {
      const raw = ONESHOT_OPS.map((op) => (op === win ? 1 + 4 * f : 1));
      const z = raw.reduce((a, b) => a + b, 0);
      return raw.map((x) => Number((x / z).toPrecision(6)));
    });
    table.push({ epoch: ep, probs, derived: { family: 'nb201', ops: ONESHOT_DERIVED } });
    await store.reportIntermediate(search.id, w, ep, { train_loss: 2 - f, train_acc: 40 + 30 * f, val_loss: 2.1 - f, val_acc: 61 + 30 * f, arch_loss: 2.1 - f, skip_edges: 1, param_free_edges: 2, lr: 0.025 * (1 - f / 2), epoch_seconds: 30 });
  }
  await store.setTrialAttr(search.id, 'alpha', {
    format: 'tsnas.alpha/1',
    method: 'darts',
    edges: EDGES.map(([from, to], i) => ({ name: `e${i}`, cell: 'cell', from, to, ops: ONESHOT_OPS })),
    epochs: table,
  } as unknown as Json);
  await store.setTrialAttr(search.id, 'derived_arch', { family: 'nb201', ops: ONESHOT_DERIVED });
  // The supernet's val_acc (on the architecture half) above the derived network's, as in the new
  // user's DARTS run of session 10 (76.2 vs 73.6): whatever counts it as a candidate shows 91.
  await store.finishTrial(search.id, w, { state: 'complete', values: null, metrics: { val_acc: SUPERNET_VAL_ACC, val_loss: 0.61, search_seconds: 240, supernet_params: 50000, epochs } });
  const derived = await store.createTrial(rec.id, { arch: { family: 'nb201', ops: ONESHOT_DERIVED }, archKey: null, budget: null, params: { oneshot_role: 'derived', method: 'darts' }, claim: { workerId: w, leaseMs: 60_000 } });
  await store.finishTrial(derived.id, w, { state: 'complete', values: [DERIVED_VAL_ACC], metrics: { val_acc: DERIVED_VAL_ACC, val_loss: 0.7, test_acc: 83.9, params: 120000 } });
  await store.setStudyState(rec.id, 'finished');
  return rec.id;
}
