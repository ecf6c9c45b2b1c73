/**
 * Where a command takes an architecture from, one resolver for all of them (tsnas train, the
 * model directories of finetune / compress, and the API's `train`):
 *   a file            ARCH.json: a NetworkArch or {arch, hparams} (what tsnas export writes)
 *   a directory       written by tsnas export (its arch.json); a finetune / compress directory
 *                     (model.json, a compression graph) holds no architecture to train anew
 *   a study's trial   { study, storage, trial? }: the best trial's architecture, or trial N's
 * Errors name the path (and what the directory holds) or the study and trial.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NasError } from '../core/errors.js';
import { parseJsonStrict } from './validate.js';
import type { StudyRecord, TrialRecord } from '../store/index.js';
import { noSuchTrial, refuseSupernetTrial, requireBestTrial, studyTrials } from './results.js';
import { trialSeed } from '../run/study.js';

/** An architecture read from disk: its parsed JSON and the file it came from (named in later errors). */
export interface ArchFile {
  readonly json: unknown;
  readonly file: string;
}

const HINT = 'give an architecture JSON file (e.g. arch.json) or a directory written by tsnas export';

/**
 * The architecture at `path`: the file itself, or a directory's arch.json (the resolver of every
 * command that takes an architecture). Errors (invalid_config naming `field`, or invalid_arch for
 * JSON that does not parse) name the path; a directory without arch.json says what it holds.
 */
export function readArchPath(path: string, field = 'arch'): ArchFile {
  let file = path;
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new NasError('invalid_config', `cannot read architecture file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { field, hint: HINT });
  }
  if (isDir) {
    file = join(path, 'arch.json');
    if (!existsSync(file)) {
      const graph = existsSync(join(path, 'model.json'));
      const held = (() => {
        try {
          return readdirSync(path).slice(0, 8).join(', ') || 'nothing';
        } catch {
          return 'unreadable';
        }
      })();
      throw new NasError('invalid_config', graph
        ? `${path} is a fine-tuned or compressed model (model.json, a compression graph), not an architecture to train from scratch`
        : `${path} is a directory without arch.json (it holds ${held})`, {
        field,
        hint: graph ? 'fine-tune it further with tsnas finetune, or train the architecture of the directory it came from (tsnas export writes arch.json)' : HINT,
      });
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new NasError('invalid_config', `cannot read architecture file ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { field, hint: HINT });
  }
  try {
    return { json: parseJsonStrict(text), file };
  } catch (e) {
    throw new NasError('invalid_arch', `${file} is not valid JSON: ${(e as Error).message}`, { field });
  }
}

/** A study's trial to take an architecture from: the best feasible one, or trial number `trial`. */
export interface StudyArchSource {
  readonly study: string;
  readonly storage: string;
  readonly trial?: number;
}

/**
 * A study's best trial (requireBestTrial: feasible, with its errors), or trial number `trial`
 * (any state; not_found naming `trial` and the range when there is none). The one resolver of
 * `--study NAME [--trial N]` for train, compress and finetune (and the API's loadModel); `name`
 * says which trial was taken. A one-shot study's supernet search trial is refused (refuseSupernetTrial;
 * `verb`: the command its hint names).
 */
export async function trialOfStudy(src: StudyArchSource, verb = 'train'): Promise<{ study: StudyRecord; trial: TrialRecord; name: string }> {
  if (src.trial === undefined) {
    const { study, best } = await requireBestTrial(src.storage, src.study);
    return { study, trial: best, name: `${src.study} trial ${best.number} (the best)` };
  }
  const { study, trials } = await studyTrials(src.storage, src.study);
  const t = trials.find((x) => x.number === src.trial);
  if (!t) throw noSuchTrial(src.study, src.trial, trials.map((x) => x.number));
  refuseSupernetTrial(src.study, t, 'trial', verb);
  return { study, trial: t, name: `${src.study} trial ${t.number}` };
}

/**
 * The architecture of a study's best trial or trial N (trialOfStudy; for an architecture, trial N
 * may be in any state: its architecture is what was proposed). `name` says which; `evaluator` (the
 * study's) and `params` (the trial's) make its model record (recordOfEvaluator); `seed` is the
 * trial's training seed (trialSeed of the stored study seed and the trial number).
 */
export async function archOfStudy(src: StudyArchSource): Promise<{ arch: unknown; name: string; trial: number; evaluator: unknown; params?: number; seed: number; final?: unknown }> {
  const { study, trial: t, name } = await trialOfStudy(src);
  // `final`: what the trial's weights were retrained on after the search (tsnas main's final_record), for its record.
  return { arch: t.arch, name, trial: t.number, evaluator: study.evaluator, ...(typeof t.metrics?.['params'] === 'number' ? { params: t.metrics['params'] } : {}), seed: trialSeed(study.seed, t.number), ...(t.userAttrs['final_record'] !== undefined ? { final: t.userAttrs['final_record'] } : {}) };
}
