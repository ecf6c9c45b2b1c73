/**
 * Small checkers for user input (configs, flags). Every failure is a NasError('invalid_config')
 * naming the dotted field and saying what is allowed.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { NasError, combineErrors } from '../core/errors.js';
import { didYouMean, didYouMeanValue, type Synonyms } from '../core/suggest.js';

export type Obj = Record<string, unknown>;

/** The shared all-problems-at-once collector (src/core/issues.ts), re-exported for the API's parsers. */
export { Issues } from '../core/issues.js';

export function fail(field: string, message: string, hint?: string): never {
  throw new NasError('invalid_config', message, hint === undefined ? { field } : { field, hint });
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) fail(field, `must be an object, got ${describe(v)}`);
  return v;
}

export function str(v: unknown, field: string, hint?: string): string {
  if (typeof v !== 'string' || v.trim() === '') fail(field, `must be a non-empty string, got ${describe(v)}`, hint);
  return v;
}

export function optStr(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : str(v, field);
}

export function num(v: unknown, field: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  const what = opts.integer ? 'an integer' : 'a number';
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` in [${opts.min}, ${opts.max}]`
      : opts.min !== undefined
        ? ` >= ${opts.min}`
        : opts.max !== undefined
          ? ` <= ${opts.max}`
          : '';
  if (typeof n !== 'number' || !Number.isFinite(n)) fail(field, `must be ${what}${range}, got ${describe(v)}`);
  if (opts.integer && !Number.isInteger(n)) fail(field, `must be ${what}${range}, got ${n}`);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max))
    fail(field, `must be ${what}${range}, got ${n}`);
  return n;
}

export function optNum(v: unknown, field: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  return v === undefined ? undefined : num(v, field, opts);
}

/** `v` as one of `allowed`; otherwise the field, the value, a synonym's or the closest value (didYouMeanValue) and the list. */
export function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], synonyms?: Synonyms): T {
  if (v === undefined) fail(field, 'is required', `use one of: ${allowed.join(', ')}`);
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    fail(field, `unknown value ${describe(v)}${typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? didYouMeanValue(String(v), allowed, synonyms) : ''}`, `use one of: ${allowed.join(', ')}`);
  return v as T;
}

export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${describe(v)}`);
  return v;
}

/**
 * Rejects keys not in `allowed`, so a typo is an error instead of a silently ignored option. Every
 * unknown key is named (one combined error when there are several), not only the first.
 */
export function noExtraKeys(o: Obj, field: string, allowed: readonly string[]): void {
  const bad = Object.keys(o).filter((k) => !allowed.includes(k));
  const errors = bad.map(
    (k) => new NasError('invalid_config', `unknown field${didYouMean(k, allowed)}`, { field: field ? `${field}.${k}` : k, hint: allowed.length ? `allowed fields here: ${allowed.join(', ')}` : 'no fields are allowed here' }),
  );
  if (errors.length > 0) throw combineErrors(errors, field ? `the fields of ${field}` : 'the config');
}

/** A readable regular file, or a `data_error` naming the config field. */
export function checkReadableFile(path: string, field: string, what: string): void {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new NasError('data_error', `cannot read ${what} ${path} (${code})`, { field, hint: 'give the path of a readable file' });
  }
}

/**
 * JSON.parse that refuses duplicate keys. Plain JSON.parse keeps the last value silently (issue
 * 17.13: a config with `"trials": 10, ..., "trials": 1000` ran 1000); YAML configs already refuse
 * duplicates, so user JSON (configs, architecture files) does too. Syntax errors come from
 * JSON.parse; duplicates are found by the `yaml` package's JSON-schema parser (a maintained parser
 * that reports positions), whose message names the key, line and column.
 */
export function parseJsonStrict(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const doc = parseDocument(text, { schema: 'json', uniqueKeys: true, prettyErrors: true });
  const dup = doc.errors.find((e) => e.code === 'DUPLICATE_KEY');
  if (dup) {
    const key = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(dup.pos[0]))?.[0] ?? text.slice(dup.pos[0], dup.pos[1]).trim();
    const at = dup.linePos?.[0];
    throw new Error(`duplicate key ${key}${at ? ` at line ${at.line}, column ${at.col}` : ''} (each key may appear once; JSON would silently keep the last value)`);
  }
  return value;
}
