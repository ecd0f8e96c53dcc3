// The columns of the Parquet files the S3 sink writes: given by the user as `{ field: type }` or
// inferred from the first record, and the check that each later record fits them. A record that
// does not fit fails with the field, what it holds and what the schema says, so the fix is one
// line of configuration (or of the application).

import type { SchemaElement } from 'hyparquet-writer';
import { ConfigurationError, UserFunctionError } from '../../../shared/errors.ts';

export type ParquetColumnType = 'BOOLEAN' | 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE' | 'STRING' | 'TIMESTAMP' | 'JSON';

/** Field name → Parquet type, in column order. Every column is nullable (a missing field is null). */
export type ParquetSchema = Readonly<Record<string, ParquetColumnType>>;

export interface ParquetColumn {
  readonly name: string;
  readonly type: ParquetColumnType;
}

export const PARQUET_COLUMN_TYPES: readonly ParquetColumnType[] = ['BOOLEAN', 'INT32', 'INT64', 'FLOAT', 'DOUBLE', 'STRING', 'TIMESTAMP', 'JSON'];

/** Marks a value that does not fit its column. */
export const DOES_NOT_FIT = Symbol('does not fit');

export function resolveParquetSchema(schema: unknown): ParquetColumn[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new ConfigurationError('schema', `must be an object mapping field names to Parquet types (${PARQUET_COLUMN_TYPES.join(', ')}), got ${JSON.stringify(schema)}`);
  }
  const columns: ParquetColumn[] = [];
  for (const [name, type] of Object.entries(schema)) {
    if (!PARQUET_COLUMN_TYPES.includes(type as ParquetColumnType)) {
      throw new ConfigurationError(`schema.${name}`, `must be one of ${PARQUET_COLUMN_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
    }
    columns.push({ name, type: type as ParquetColumnType });
  }
  if (columns.length === 0) throw new ConfigurationError('schema', 'must name at least one field');
  return columns;
}

/** Columns from the first record: integers INT64, other numbers DOUBLE, Dates TIMESTAMP, objects JSON. */
export function inferParquetSchema(record: unknown, sinkName: string): ParquetColumn[] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new UserFunctionError(`${sinkName}: Parquet rows must be objects, got ${describeValue(record)}`);
  }
  const columns: ParquetColumn[] = [];
  for (const [name, value] of Object.entries(record)) {
    let type: ParquetColumnType;
    if (typeof value === 'boolean') type = 'BOOLEAN';
    else if (typeof value === 'bigint') type = 'INT64';
    else if (typeof value === 'number') type = Number.isSafeInteger(value) ? 'INT64' : 'DOUBLE';
    else if (typeof value === 'string') type = 'STRING';
    else if (value instanceof Date) type = 'TIMESTAMP';
    else if (typeof value === 'object' && value !== null) type = 'JSON';
    else {
      throw new UserFunctionError(
        `${sinkName}: cannot infer the Parquet type of field "${name}" from the first record: it is ${describeValue(value)}; ` +
          `give the schema option, e.g. schema: { ${name}: 'STRING', … }`,
      );
    }
    columns.push({ name, type });
  }
  if (columns.length === 0) throw new UserFunctionError(`${sinkName}: cannot infer a Parquet schema from a first record with no fields; give the schema option`);
  return columns;
}

/** The value as the writer takes it for the column's type, null for a missing one, or DOES_NOT_FIT. */
export function convertForColumn(type: ParquetColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : DOES_NOT_FIT;
    case 'INT32':
      return typeof value === 'number' && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 ? value : DOES_NOT_FIT;
    case 'INT64':
      if (typeof value === 'bigint') return value >= -(2n ** 63n) && value < 2n ** 63n ? value : DOES_NOT_FIT;
      return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : DOES_NOT_FIT;
    case 'FLOAT':
    case 'DOUBLE':
      return typeof value === 'number' ? value : DOES_NOT_FIT;
    case 'STRING':
      return typeof value === 'string' ? value : DOES_NOT_FIT;
    case 'TIMESTAMP':
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? DOES_NOT_FIT : value;
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : DOES_NOT_FIT;
    case 'JSON':
      return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? DOES_NOT_FIT : value;
  }
}

export function schemaMismatchError(sinkName: string, column: ParquetColumn, value: unknown, inferred: boolean): UserFunctionError {
  const hint = inferred
    ? ` (the schema was inferred from the first record; give the schema option, e.g. schema: { ${column.name}: '${suggestType(value)}', … })`
    : '';
  return new UserFunctionError(`${sinkName}: record does not fit the Parquet schema: field "${column.name}" is ${describeValue(value)}, the schema says ${column.type}${hint}`);
}

export function unknownFieldError(sinkName: string, field: string, value: unknown, columns: readonly ParquetColumn[], inferred: boolean): UserFunctionError {
  const how = inferred ? 'inferred from the first record' : 'given';
  return new UserFunctionError(
    `${sinkName}: record does not fit the Parquet schema: field "${field}" (${describeValue(value)}) is not one of its columns ` +
      `(${columns.map((c) => c.name).join(', ')}; ${how})`,
  );
}

export function toSchemaElements(columns: readonly ParquetColumn[]): SchemaElement[] {
  const elements: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const { name, type } of columns) {
    const repetition_type = 'OPTIONAL' as const;
    if (type === 'STRING') elements.push({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type });
    else if (type === 'JSON') elements.push({ name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type });
    else if (type === 'TIMESTAMP') elements.push({ name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type });
    else elements.push({ name, type, repetition_type });
  }
  return elements;
}

function suggestType(value: unknown): ParquetColumnType {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'INT64' : 'DOUBLE';
  if (typeof value === 'boolean') return 'BOOLEAN';
  if (typeof value === 'object') return 'JSON';
  return 'STRING';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof Date) return `a Date (${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)})`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  return `a ${typeof value}`;
}
