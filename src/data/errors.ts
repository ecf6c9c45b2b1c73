import { NasError } from '../core/errors.js';

export interface DataErrorWhere {
  /** Byte offset into the (decompressed) file where the problem is. */
  offset?: number;
  /** 1-based line number of a text file. */
  row?: number;
  /** Column name or 1-based index of a text file. */
  column?: string | number;
  hint?: string;
  field?: string;
  cause?: unknown;
}

/** A `data_error` whose message always names the file and, when known, the offset or row/column. */
export function dataError(file: string, problem: string, where: DataErrorWhere = {}): NasError {
  const loc: string[] = [];
  if (where.offset !== undefined) loc.push(`offset ${where.offset}`);
  if (where.row !== undefined) loc.push(`row ${where.row}`);
  if (where.column !== undefined) loc.push(`column ${where.column}`);
  const at = loc.length ? ` at ${loc.join(', ')}` : '';
  const details: Record<string, unknown> = { file };
  if (where.offset !== undefined) details.offset = where.offset;
  if (where.row !== undefined) details.row = where.row;
  if (where.column !== undefined) details.column = where.column;
  return new NasError('data_error', `${file}${at}: ${problem}`, {
    details,
    ...(where.hint !== undefined ? { hint: where.hint } : {}),
    ...(where.field !== undefined ? { field: where.field } : {}),
    ...(where.cause !== undefined ? { cause: where.cause } : {}),
  });
}
