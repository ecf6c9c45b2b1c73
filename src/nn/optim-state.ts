/**
 * Optimizer state kept beside trained weights, and restored into a child network's optimizer
 * where the child inherited a parameter whole (weight inheritance, src/nn/inherit.ts).
 *
 * Population-based training (Jaderberg et al. 2017, "Population Based Training of Neural
 * Networks") and Lamarckian evolution copy a member's optimizer state along with its weights, so
 * the copy continues training as the member would have, instead of restarting Adam's moment
 * estimates from zero (bias-corrected, but estimated from the first few mini-batches only).
 *
 * File: the state-dict format of src/nn/state.ts, one tensor per (parameter, buffer), named
 * `<parameter state-dict name>.<buffer>` with PyTorch's buffer names (SGD `momentum_buffer`;
 * Adam/AdamW `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` with amsgrad), and the header meta
 * `{ format: 'tsnas-optimizer-state', optimizer, steps: { <parameter>: n } }` (per-parameter step
 * counts, as PyTorch keeps them). It lives next to the weights file (`optimizerStatePath`).
 *
 * Restoring is per parameter: a parameter gets its parent's step count and buffers only when the
 * weights were copied whole (same name, same shape: InheritReport.copied), the parent ran the same
 * optimizer kind and the buffers have the parameter's shape. Every other parameter (new, widened,
 * a kernel that grew: copied partially or not at all) starts with fresh state (step 0, no buffers),
 * exactly like a parameter of a network trained from scratch. So a child whose shapes differ is
 * correct by construction: it never receives a moment estimate of another shape or of another tensor.
 */
import { NasError } from '../core/errors.js';
import type { Tensor } from '../tensor/index.js';
import type { Optimizer } from './optim.js';
import { loadStateDict, saveStateDict } from './state.js';

export type OptimizerKind = 'sgd' | 'adam' | 'adamw';

const FORMAT = 'tsnas-optimizer-state';

/** Buffer names per native buffer slot (src/nn/optim.ts keeps three slots per parameter). */
function bufferNames(kind: OptimizerKind): readonly [string, string, string] {
  return kind === 'sgd' ? ['momentum_buffer', 'unused_1', 'unused_2'] : ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'];
}

/** The optimizer-state file kept beside `weightsFile`: `<name>.optim.sd` (a trailing `.sd` replaced). */
export function optimizerStatePath(weightsFile: string): string {
  return `${weightsFile.endsWith('.sd') ? weightsFile.slice(0, -3) : weightsFile}.optim.sd`;
}

/** An optimizer state read back: its kind, per-parameter steps and buffers (owned by the holder: dispose()). */
export interface SavedOptimizerState {
  readonly optimizer: OptimizerKind;
  readonly steps: ReadonlyMap<string, number>;
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/**
 * Writes `opt`'s state to `path` (atomically, src/nn/state.ts). `names[i]` is the state-dict name of
 * `opt.params[i]` (e.g. module.namedParameters()). Throws invalid_config naming `names` when the
 * counts differ; storage_error when the file cannot be written.
 */
export function saveOptimizerState(path: string, opt: Optimizer, kind: OptimizerKind, names: readonly string[]): void {
  if (names.length !== opt.params.length) throw new NasError('invalid_config', `saveOptimizerState: ${names.length} names for ${opt.params.length} parameters`, { field: 'names' });
  const s = opt.state();
  const buf = bufferNames(kind);
  const tensors = new Map<string, Tensor>();
  const steps: Record<string, number> = {};
  try {
    names.forEach((n, i) => {
      steps[n] = s.steps[i] ?? 0;
      s.buffers.forEach((slot, b) => {
        const t = slot[i];
        if (t) tensors.set(`${n}.${buf[b]}`, t);
      });
    });
    saveStateDict(path, tensors, { format: FORMAT, optimizer: kind, steps });
  } finally {
    for (const slot of s.buffers) for (const t of slot) t?.dispose();
  }
}

/**
 * Reads a file written by saveOptimizerState. Throws not_found (no file) or data_error (not an
 * optimizer-state file); the caller owns the returned tensors (disposeOptimizerState).
 */
export function loadOptimizerState(path: string): SavedOptimizerState {
  const { tensors, meta } = loadStateDict(path);
  const kind = meta['optimizer'];
  const steps = meta['steps'];
  if (meta['format'] !== FORMAT || (kind !== 'sgd' && kind !== 'adam' && kind !== 'adamw') || typeof steps !== 'object' || steps === null) {
    for (const t of tensors.values()) t.dispose();
    throw new NasError('data_error', `${path} is not a tsnas optimizer-state file`, { hint: 'it is written beside kept weights by the train evaluator with inherit_optimizer' });
  }
  return { optimizer: kind, steps: new Map(Object.entries(steps as Record<string, number>)), tensors };
}

export function disposeOptimizerState(s: SavedOptimizerState): void {
  for (const t of s.tensors.values()) t.dispose();
}

/**
 * Loads `saved` into `opt` for the parameters named in `inherited` (those whose weights were copied
 * whole from the same parent); every other parameter of `opt` gets fresh state (see the file
 * comment). `names[i]` names `opt.params[i]`. Returns the restored and the fresh parameter names and
 * the fraction of parameter elements restored. A saved state of another optimizer kind restores
 * nothing. `saved` is not disposed (the optimizer keeps copies).
 */
export function restoreOptimizerState(
  opt: Optimizer,
  kind: OptimizerKind,
  names: readonly string[],
  saved: SavedOptimizerState,
  inherited: ReadonlySet<string>,
): { restored: string[]; fresh: string[]; fraction: number } {
  if (names.length !== opt.params.length) throw new NasError('invalid_config', `restoreOptimizerState: ${names.length} names for ${opt.params.length} parameters`, { field: 'names' });
  const buf = bufferNames(kind);
  const restored: string[] = [];
  const fresh: string[] = [];
  let total = 0;
  let from = 0;
  const steps: number[] = [];
  const buffers: (Tensor | undefined)[][] = [[], [], []];
  names.forEach((n, i) => {
    const p = opt.params[i]!;
    total += p.numel;
    const own = buf.map((b) => saved.tensors.get(`${n}.${b}`));
    const step = saved.steps.get(n);
    const sameShape = (t: Tensor | undefined) => t === undefined || (t.shape.length === p.shape.length && t.shape.every((s, k) => s === p.shape[k]));
    const ok = saved.optimizer === kind && inherited.has(n) && typeof step === 'number' && own.some((t) => t !== undefined) && own.every(sameShape);
    steps.push(ok ? step : 0);
    own.forEach((t, b) => buffers[b]!.push(ok ? t : undefined));
    if (ok) {
      restored.push(n);
      from += p.numel;
    } else fresh.push(n);
  });
  opt.loadState({ lr: opt.lr, steps, buffers });
  return { restored, fresh, fraction: total ? from / total : 0 };
}
