/**
 * The one mechanism by which every parser of user input (study configs, strategy options, space
 * and evaluator options, one-shot options, training hyperparameters, prescreen, CLI files) reports
 * ALL of its problems at once instead of stopping at the first (issue 17: "config errors are
 * reported one at a time"): independent checks run through `Issues.take`, a failing check leaves a
 * placeholder so the following checks still run, and `throwIfAny` throws one combined NasError
 * (`N problems in <what>:` + numbered `field: message (hint)` lines, `details.issues`; see
 * combineErrors). A parser called inside another parser's `take` contributes each of its issues
 * (combined errors are flattened), so a config's list goes down to the leaves.
 *
 * Also the option-name rule shared by those parsers: config keys are snake_case (`sample_size`);
 * option tables written in code with camelCase names (`sampleSize`) accept both spellings, document
 * and suggest the snake_case one (`optionKeys`).
 */
import { NasError, combineErrors, isInputError, isNasError, issuesOf } from './errors.js';
import { didYouMean } from './suggest.js';

export class Issues {
  private readonly errors: NasError[] = [];
  /**
   * Runs `check`; an input error (isInputError) is kept and `fallback` returned, so the following
   * checks still run; any other error (a bug, a runtime failure) is thrown at once.
   */
  take<T>(check: () => T, fallback: T): T {
    try {
      return check();
    } catch (e) {
      if (!isNasError(e) || !isInputError(e)) throw e;
      this.errors.push(e);
      return fallback;
    }
  }
  /**
   * `take` for a check that reads fields already found bad (they hold placeholders): its problems
   * on those fields (the same field, one inside it or one containing it) are consequences and are
   * dropped; its other problems are kept (`alsoBad`: more such fields, e.g. those a bad CLI flag
   * sets). So a misspelt strategy name is still reported beside a bad
   * objective direction (session 9), and a placeholder never adds a second line for one mistake.
   */
  takeBeyond<T>(check: () => T, fallback: T, alsoBad: readonly string[] = []): T {
    const bad = [...this.fields(), ...alsoBad].filter((f) => f !== '');
    try {
      return check();
    } catch (e) {
      if (!isNasError(e) || !isInputError(e)) throw e;
      if (!Array.isArray(e.details?.['issues'])) {
        if (!bad.some((b) => related(b, e.field))) this.errors.push(e);
      } else
        for (const i of issuesOf(e))
          if (!bad.some((b) => related(b, i.field)))
            this.errors.push(new NasError(i.code, i.message, { ...(i.field === undefined ? {} : { field: i.field }), ...(i.hint === undefined ? {} : { hint: i.hint }), ...(i.source === undefined ? {} : { details: { source: i.source } }) }));
      return fallback;
    }
  }
  /** Records a problem found without a check function (same as a failing `take`). */
  add(e: NasError): void {
    this.errors.push(e);
  }
  get count(): number {
    return this.errors.length;
  }
  /** The fields named so far (dotted paths; combined errors contribute each of theirs). */
  fields(): string[] {
    return this.errors.flatMap((e) => {
      const l = e.details?.['issues'];
      return Array.isArray(l) ? (l as { field?: string }[]).map((i) => i.field ?? '') : [e.field ?? ''];
    });
  }
  /** Throws every problem recorded as one error (a single problem as it is); `what` e.g. "the config". */
  throwIfAny(what: string): void {
    if (this.errors.length > 0) throw combineErrors(this.errors, what);
  }
}

/** Whether two dotted field paths name the same field or one lies inside the other (`a` and `a.b`, `a[0]`). */
function related(a: string, b: string | undefined): boolean {
  if (b === undefined || b === '') return false;
  const inside = (x: string, y: string) => x === y || (x.startsWith(y) && (x[y.length] === '.' || x[y.length] === '['));
  return inside(a, b) || inside(b, a);
}

/** `sampleSize` -> `sample_size`, `topK` -> `top_k`; snake_case names are returned unchanged. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Maps the keys a user wrote to the option names of a table whose names are camelCase in code:
 * each option is accepted as its snake_case name (documented, suggested) or as the code name.
 * Every unknown key and every option given under both spellings is recorded in `issues` (field
 * `<prefix>.<key>`); the others are returned as code name -> the key the user wrote.
 */
export function optionKeys(raw: Readonly<Record<string, unknown>>, names: readonly string[], prefix: string, issues: Issues, what = 'option'): Map<string, string> {
  const bySpelling = new Map<string, string>();
  for (const n of names) {
    bySpelling.set(snakeCase(n), n);
    bySpelling.set(n, n);
  }
  const documented = names.map(snakeCase);
  const out = new Map<string, string>();
  for (const k of Object.keys(raw)) {
    const n = bySpelling.get(k);
    if (n === undefined) {
      issues.add(new NasError('invalid_config', `unknown ${what} ${JSON.stringify(k)}${didYouMean(snakeCase(k), documented)}`, { field: `${prefix}.${k}`, hint: `${what}s are: ${documented.join(', ') || '(none)'}` }));
      continue;
    }
    const prev = out.get(n);
    if (prev !== undefined) {
      issues.add(new NasError('invalid_config', `${what} ${snakeCase(n)} is given twice (as ${prev} and ${k})`, { field: `${prefix}.${k}`, hint: `keep one: ${snakeCase(n)}` }));
      continue;
    }
    out.set(n, k);
  }
  return out;
}
