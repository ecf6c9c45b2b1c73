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

  constructor(code: ErrorCode, message: string, opts: NasErrorOptions = {}) {
    super(formatMessage(message, opts), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NasError';
    this.code = code;
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
