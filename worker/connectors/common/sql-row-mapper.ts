// Turns a record into the values of one table row, in the order of the sink's `columns`, for
// the SQL sinks (PostgreSQL, MySQL). A row that cannot be written as asked is refused here, with
// the field named: a field that is no column (a typo would otherwise drop its value), a missing
// or null key, a value the database's form cannot hold. Each database says how a value is sent
// (`toSqlValue`), in a form that survives the checkpoint, where exactly-once rows wait.

import { recordText } from '../../../shared/record-text.ts';
import { UserFunctionError } from '../../../shared/errors.ts';

export interface SqlRowShape<T> {
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
  readonly toRow: ((record: T) => Record<string, unknown>) | undefined;
}

export class SqlRowMapper<T> {
  private readonly keyIndexes: readonly number[];

  /**
   * `label` names the sink in messages (`MySQL sink "orders"`); `toSqlValue` turns a field's
   * value into what the database is sent, and may throw an Error saying why it cannot.
   */
  constructor(
    private readonly label: string,
    private readonly shape: SqlRowShape<T>,
    private readonly toSqlValue: (value: unknown) => unknown,
  ) {
    this.keyIndexes = shape.keyColumns.map((k) => shape.columns.indexOf(k));
  }

  /** The record as an array of values in `columns` order, checked. */
  toValues(record: T): unknown[] {
    let row: Record<string, unknown>;
    try {
      row = this.shape.toRow ? this.shape.toRow(record) : (record as Record<string, unknown>);
    } catch (error) {
      throw new UserFunctionError(`${this.label}: toRow threw: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new UserFunctionError(`${this.label}: a row must be an object { column: value }, got ${Array.isArray(row) ? 'an array' : String(row)} (setting toRow)`);
    }
    const columns = this.shape.columns;
    const values = new Array<unknown>(columns.length);
    let present = 0;
    for (let i = 0; i < columns.length; i++) {
      const value = row[columns[i]!];
      if (value !== undefined) present++;
      try {
        values[i] = this.toSqlValue(value);
      } catch (error) {
        throw new UserFunctionError(`${this.label}: field ${JSON.stringify(columns[i])} cannot be written: ${(error as Error).message ?? String(error)}: ${recordText(row)}`, { cause: error });
      }
    }
    if (Object.keys(row).length > present) {
      const extra = Object.keys(row).filter((k) => !columns.includes(k) && row[k] !== undefined);
      if (extra.length > 0) {
        throw new UserFunctionError(`${this.label}: the row has field ${extra.map((k) => JSON.stringify(k)).join(', ')}, which is not in setting columns (${columns.join(', ')})`);
      }
    }
    for (const index of this.keyIndexes) {
      const value = row[columns[index]!];
      if (value === null || value === undefined) {
        throw new UserFunctionError(`${this.label}: key column ${JSON.stringify(columns[index])} is null or missing in a row (setting keyColumns): ${recordText(row)}`);
      }
    }
    return values;
  }
}


/**
 * The rows with each key's last occurrence only, in key order. A statement that upserts a key
 * twice is refused by PostgreSQL and wasteful in MySQL, and the last row is what applying them in
 * order would leave; the order of keys is the same in every subtask, so statements of different
 * subtasks that upsert overlapping keys lock them in the same order and do not deadlock.
 */
export function lastRowPerKey<R extends readonly unknown[]>(rows: readonly R[], keyIndexes: readonly number[]): readonly R[] {
  if (keyIndexes.length === 0 || rows.length < 2) return rows;
  const lastByKey = new Map<string, R>();
  for (const row of rows) lastByKey.set(keyOf(row, keyIndexes), row);
  return [...lastByKey.keys()].sort().map((key) => lastByKey.get(key)!);
}

function keyOf(row: readonly unknown[], keyIndexes: readonly number[]): string {
  if (keyIndexes.length === 1) {
    const value = row[keyIndexes[0]!];
    return typeof value === 'string' ? `s${value}` : `j${JSON.stringify(value)}`;
  }
  return JSON.stringify(keyIndexes.map((i) => row[i]));
}
