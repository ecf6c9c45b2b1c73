/**
 * One error type for the whole project. Errors are data: a stable `code` that programs switch on,
 * a message for people, and where it applies the `field` (a dotted path into the user's input) and
 * a `hint` saying how to fix it. Anything thrown across a module boundary should be a NasError.
 */
export const ERROR_CODES = [
  'invalid_config', // a user-supplied config/option is wrong (field + hint say which and how)
  'invalid_arch', // an architecture does not parse or violates its space
  'invalid_space', // a search-space definition is malformed
  'shape_mismatch', // an architecture does not fit its input, or tensors do not fit an op
  'native_error', // libtorch raised; message names the op and the shapes
  'disposed', // a tensor or module was used after dispose()
  'dtype_error',
  'data_error', // a dataset file is missing, truncated or corrupt
  'not_found', // a study, trial, file or registry entry does not exist
  'unknown_strategy',
  'unknown_space',
  'unknown_evaluator',
  'constraint_unsatisfiable', // no architecture in the space can satisfy the constraints
  'diverged', // training produced NaN/Inf
  'budget_exhausted',
  'timeout',
  'storage_error', // the store failed (locked, read-only, bad URL, migration)
  'conflict', // a concurrent update lost (lease taken, trial already finished)
  'aborted', // cancelled by the user (Ctrl-C) or a signal
  'internal', // a bug in tsnas: please report
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface NasErrorOptions {
  /** Dotted path of the offending input field, e.g. `strategy.population` or `layers[3].kernel`. */
  field?: string;
  /** What the user can do about it, e.g. `use one of: random, grid, evolution`. */
  hint?: string;
  /** Structured details for programs (shapes, row numbers, offsets...). Must be JSON-serializable. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class NasError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  /**
   * The message as given, without the `field: ` prefix and the ` (hint)` that `message` adds. To
   * put an error in context use `nestError`, never `new NasError(..., e.message, { field, hint })`
   * (that printed the field and the hint twice).
   */
  readonly text: string;

  constructor(code: ErrorCode, message: string, opts: NasErrorOptions = {}) {
    super(formatMessage(message, opts), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NasError';
    this.code = code;
    this.text = message;
    this.field = opts.field;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, field: this.field, hint: this.hint, details: this.details };
  }
}

function formatMessage(message: string, opts: NasErrorOptions): string {
  let m = opts.field ? `${opts.field}: ${message}` : message;
  if (opts.hint) m += ` (${opts.hint})`;
  return m;
}

/**
 * Why a `storage_error` happened: `details.reason` of every storage_error a store throws. The
 * input reasons mean the storage the user named cannot be used as given (fix the URL, path,
 * password, permissions or the tsnas version); the others happen while it runs.
 */
export const STORAGE_INPUT_REASONS = ['bad_path', 'not_a_database', 'read_only', 'login', 'no_database', 'unreachable', 'newer_schema', 'old_schema', 'not_tsnas'] as const;
export const STORAGE_RUNTIME_REASONS = ['locked', 'io', 'corrupt', 'lost', 'closed', 'state', 'other'] as const;
export type StorageReason = (typeof STORAGE_INPUT_REASONS)[number] | (typeof STORAGE_RUNTIME_REASONS)[number];

/** A `storage_error` with its reason in `details.reason` (see STORAGE_INPUT_REASONS). */
export function storageError(reason: StorageReason, message: string, opts: NasErrorOptions = {}): NasError {
  return new NasError('storage_error', message, { ...opts, details: { ...opts.details, reason } });
}

/** Codes that always mean the user's input (config, flags, names, files) is wrong. */
export const INPUT_ERROR_CODES: readonly ErrorCode[] = [
  'invalid_config',
  'invalid_arch',
  'invalid_space',
  'shape_mismatch',
  'data_error',
  'not_found',
  'unknown_strategy',
  'unknown_space',
  'unknown_evaluator',
  'constraint_unsatisfiable',
];

/**
 * True when `e` is the user's input or configuration being wrong (the CLI exits 2, the HTTP
 * server answers 4xx) rather than a failure while running (exit 1): an input code, or a
 * storage_error whose `details.reason` is one of STORAGE_INPUT_REASONS.
 */
export function isInputError(e: NasError): boolean {
  if (INPUT_ERROR_CODES.includes(e.code)) return true;
  const reason = e.details?.['reason'];
  return e.code === 'storage_error' && (STORAGE_INPUT_REASONS as readonly unknown[]).includes(reason);
}

/**
 * `e` in the context of an outer input field (e.g. the table file's error under `evaluator.table`):
 * the same code, details and hint, the outer `field`, and the inner field kept in the text, each
 * printed once: `evaluator.table: t.csv:header: missing column "arch" (hint)`. `extra` is appended
 * to the text (a second line of advice); `hint` replaces the inner hint.
 */
export function nestError(e: NasError, field: string | undefined, opts: { extra?: string; hint?: string; code?: ErrorCode } = {}): NasError {
  const inner = e.field !== undefined && e.field !== field ? `${e.field}: ${e.text}` : e.text;
  const hint = opts.hint ?? e.hint;
  return new NasError(opts.code ?? e.code, opts.extra === undefined ? inner : `${inner}\n${opts.extra}`, {
    ...(field === undefined ? {} : { field }),
    ...(hint === undefined ? {} : { hint }),
    ...(e.details === undefined ? {} : { details: e.details }),
    cause: e,
  });
}

/** One problem of a combined error (`details.issues` of combineErrors). */
export interface Issue {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly message: string;
  readonly hint?: string;
  /**
   * Where the problem was written, as a phrase for the header: "in the config file b1.yaml",
   * "on the command line" (set by whoever knows, see `withIssueSources`); absent = the `what` of
   * the list that reports it.
   */
  readonly source?: string;
}

/** The problems an error stands for: the issues of a combined error, else the error itself. */
export function issuesOf(e: NasError): Issue[] {
  const l = e.details?.['issues'];
  if (Array.isArray(l)) return l as Issue[];
  const source = e.details?.['source'];
  return [{ code: e.code, ...(e.field === undefined ? {} : { field: e.field }), message: e.text, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(typeof source === 'string' ? { source } : {}) }];
}

/**
 * Several input errors as one, so a user fixes every field in one go instead of one per run:
 * `3 problems in the config:` then one numbered line per problem, each `field: message (hint)`;
 * `details.issues` lists them for programs (Issue[]). The code is the problems' common code, else
 * `invalid_config`. A single error is returned as it is; combined errors are flattened.
 */
export function combineErrors(errors: readonly NasError[], what: string): NasError {
  if (errors.length === 1) return errors[0]!;
  const issues = errors.flatMap(issuesOf);
  const code = issues.every((i) => i.code === issues[0]!.code) ? issues[0]!.code : 'invalid_config';
  return new NasError(code, issueListText(issues, `in ${what}`), { details: { issues: issues as unknown as Record<string, unknown>[] } });
}

/**
 * The text of several problems: `N problems <where>:` then one numbered line each, `field:
 * message (hint)`. `where` is the issues' `source` (`fallback` for those without): when they
 * came from more than one place (flags and a config file), the header names each and the lines
 * are grouped under them, numbered through.
 */
export function issueListText(issues: readonly Issue[], fallback: string): string {
  const where = (i: Issue): string => i.source ?? fallback;
  const line = (i: Issue, k: number): string => `  ${k + 1}. ${i.field === undefined ? '' : `${i.field}: `}${i.message}${i.hint === undefined ? '' : ` (${i.hint})`}`;
  const groups = [...new Set(issues.map(where))];
  if (groups.length === 1) return `${issues.length} problems ${groups[0]}:\n${issues.map(line).join('\n')}`;
  const out = [`${issues.length} problems ${groups.join(' and ')}:`];
  let k = 0;
  for (const g of groups) {
    out.push(` ${g}:`);
    for (const i of issues) if (where(i) === g) out.push(line(i, k++));
  }
  return out.join('\n');
}

/**
 * `e` (an input error, one problem or a combined list) with each problem's `source` set by
 * `sourceOf(field)`, and the list's text rewritten to name them (issueListText); a single
 * problem keeps its text and gets `details.source`. Other errors are returned as they are.
 */
export function withIssueSources(e: unknown, sourceOf: (field: string | undefined) => string, fallback: string): unknown {
  if (!isNasError(e) || !isInputError(e)) return e;
  const issues = issuesOf(e).map((i) => ({ ...i, source: i.source ?? sourceOf(i.field) }));
  if (issues.length === 1)
    return new NasError(e.code, e.text, { ...(e.field === undefined ? {} : { field: e.field }), ...(e.hint === undefined ? {} : { hint: e.hint }), details: { ...e.details, source: issues[0]!.source }, cause: e });
  return new NasError(e.code, issueListText(issues, fallback), { details: { ...e.details, issues: issues as unknown as Record<string, unknown>[] } });
}

export function isNasError(e: unknown, code?: ErrorCode): e is NasError {
  return e instanceof NasError && (code === undefined || e.code === code);
}

/** For exhaustive switches: `default: return assertNever(x)` fails to compile when a case is missing. */
export function assertNever(x: never, what = 'value'): never {
  throw new NasError('internal', `unexpected ${what}: ${JSON.stringify(x)}`);
}

/** Throws an `internal` NasError when `cond` is false; for invariants, not for user input. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new NasError('internal', message);
}

/**
 * `e` with the field of each of its problems renamed by `rename` (undefined: kept as it is): a
 * command that builds a config or API options from its flags reports their problems in terms of
 * the flags the user typed (`evaluator.path` -> `--path`, `finetuneEpochs` -> `--finetune-epochs`).
 * A problem renamed to a flag that was not given (`must be ..., got nothing (the field is
 * missing)`) reads `is required`. A combined error keeps its header and numbering.
 */
export function renameFields(e: NasError, rename: (field: string, message: string) => string | { field: string; message: string } | undefined): NasError {
  const fix = (i: Issue): Issue => {
    const r = i.field === undefined ? undefined : rename(i.field, i.message);
    const to = typeof r === 'object' ? r.field : r;
    if (to === undefined || (to === i.field && typeof r !== 'object')) return i;
    const given = typeof r === 'object' ? r.message : i.message;
    const message = to.startsWith('--') && /^must be .*, got nothing \(the field is missing\)$/.test(given) ? 'is required' : given;
    return { ...i, field: to, message };
  };
  const list = e.details?.['issues'];
  if (Array.isArray(list)) {
    const issues = (list as Issue[]).map(fix);
    if (issues.every((i, k) => i === list[k])) return e;
    const head = /^\d+ problems (.*?):(\n|$)/.exec(e.text)?.[1] ?? 'in the input';
    return new NasError(e.code, issueListText(issues, head.includes(' and ') ? 'in the input' : head), { details: { ...e.details, issues: issues as unknown as Record<string, unknown>[] }, cause: e });
  }
  if (e.field === undefined) return e;
  const one = fix({ code: e.code, field: e.field, message: e.text });
  if ((one.field === e.field && one.message === e.text) || one.field === undefined) return e;
  return new NasError(e.code, one.message, { field: one.field, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(e.details === undefined ? {} : { details: e.details }), cause: e });
}
