/**
 * `tsnas search` with a one-shot strategy (darts, darts2, gdas, spos): the supernet search and the
 * derived architecture's retraining as one study (src/api/oneshot.ts). Called by cmdSearch when the
 * strategy (flag or config) is a one-shot method.
 */
import { flagError, sayDataNotes } from './args.js';
import { oneShotSearch, prepareOneShot, formatDerived, type OneShotEvent } from '../api/index.js';
import { formatCell } from './table.js';

const err = (s: string) => process.stderr.write(s);
const out = (s: string) => process.stdout.write(s);

export const ONESHOT_HELP = `
one-shot strategies (weight sharing; see docs/oneshot.md):
  --strategy darts|darts2|gdas|spos   DARTS 1st / 2nd order, GDAS, SPOS over a supernet
                        (spaces: nb201 and chain_cnn with every method; darts with darts, darts2, gdas)
  --dataset NAME        train evaluator's dataset (fashion_mnist, mnist, cifar10, digits, csv)
  --final-epochs N      epochs of the derived architecture's retraining (default: the evaluator's epochs)
  The study records one intermediate value per supernet epoch, alpha per epoch, and the derived
  architecture retrained as its best trial; rerunning the command resumes after the last epoch.
`;

function fmt(m: Record<string, number>, keys: readonly string[]): string {
  return keys
    .filter((k) => typeof m[k] === 'number')
    .map((k) => `${k} ${Number.isInteger(m[k]) ? m[k] : m[k]!.toFixed(k.endsWith('acc') ? 2 : 4)}`)
    .join(', ');
}

export async function runOneShotSearch(
  configPath: string | undefined,
  flags: Readonly<Record<string, string | boolean | undefined>>,
  signal: AbortSignal,
): Promise<number> {
  const fe = flags['final-epochs'];
  let finalEpochs: number | undefined;
  if (typeof fe === 'string') {
    finalEpochs = Number(fe);
    if (!Number.isInteger(finalEpochs) || finalEpochs < 1 || fe.trim() === '') throw flagError('final-epochs', `must be a positive integer, got ${JSON.stringify(fe)}`);
  }
  const prepared = prepareOneShot({ ...(configPath === undefined ? {} : { configPath }), flags, ...(finalEpochs === undefined ? {} : { finalEpochs }) });
  const quiet = Boolean(flags['quiet']);
  const c = prepared.config;
  // Data that cannot be trained on (an empty split, a continuous label) is said alone, not after
  // the banner, as a multi-trial search says it (loaded once: oneShotSearch reuses it).
  await prepared.data();
  if (!quiet)
    err(`tsnas: study ${c.study} in ${c.storage}: one-shot ${prepared.method} on ${c.space} (${prepared.options.epochs} supernet epochs), dataset ${String(c.evaluator.options['dataset'])}\n`);
  const onEvent = (e: OneShotEvent) => {
    if (e.type === 'warning') return err(`warning: ${e.message}\n`);
    if (e.type === 'data') return sayDataNotes(e.notes, quiet);
    if (quiet) return;
    switch (e.type) {
      case 'epoch':
        err(`supernet epoch ${e.epoch}/${e.epochs}: ${fmt(e.metrics, ['train_loss', 'train_acc', 'val_acc', 'skip_edges', 'tau', 'epoch_seconds'])}\n`);
        break;
      case 'resumed':
        err(`resumed the supernet search after epoch ${e.after} (checkpoint)\n`);
        break;
      case 'waiting':
        err(`trial ${e.trial} is held by worker ${e.holder ?? '?'}: waiting for its lease to expire\n`);
        break;
      case 'derived':
        err(`derived architecture: ${formatDerived(e.arch)}\n`);
        break;
      case 'retrain_epoch':
        err(`retraining epoch ${e.epoch}/${e.epochs}: ${fmt(e.metrics, ['train_loss', 'train_acc', 'val_acc', 'epoch_seconds'])}\n`);
        break;
    }
  };
  const r = await oneShotSearch(prepared, { signal, onEvent });
  if (flags['json']) out(JSON.stringify(r, null, 2) + '\n');
  else {
    out(`study ${r.study}: ${r.reason}${r.resumed ? ' (resumed)' : ''} in ${r.seconds.toFixed(1)} s${r.searchSeconds === null ? '' : ` (supernet search ${r.searchSeconds.toFixed(1)} s)`}\n`);
    if (r.error) out(`error: ${r.error}\n`);
    if (r.arch) out(`derived: ${formatDerived(r.arch)}\n`);
    if (r.best) out(`best: trial ${r.best.number} ${c.objectives[0]!.metric}=${formatCell(r.best.values?.[0])}${typeof r.best.metrics?.['test_acc'] === 'number' ? ` test_acc=${formatCell(r.best.metrics['test_acc'])}` : ''}\n`);
    if (r.reason === 'aborted') out(`resume with the same command (study ${r.study})\n`);
  }
  return r.reason === 'complete' ? 0 : r.reason === 'aborted' ? 130 : 1;
}
