// The options every SQL sink (PostgreSQL, MySQL) takes besides its connection, checked once
// into a frozen resolved form: the table and its columns, the key the upsert uses, how records
// become rows, the delivery guarantee and the exactly-once commit table. Errors name the option
// (ConfigurationError's field). Each connector documents these options in its own options type,
// in its database's terms, and adds its connection.

import { ConfigurationError } from '../../../shared/errors.ts';
import { checkKnownFields, positiveIntegerOption } from './connector-options.ts';

export type SqlDeliveryGuarantee = 'at-least-once' | 'exactly-once';

const DELIVERY_GUARANTEES: readonly SqlDeliveryGuarantee[] = ['at-least-once', 'exactly-once'];

/** A table as the user names it: `orders`, or `schema.orders` (in MySQL the schema is the database). */
export interface TableName {
  readonly schema: string | undefined;
  readonly table: string;
}

export function parseTableName(name: string): TableName {
  const dot = name.indexOf('.');
  if (dot < 0) return { schema: undefined, table: name };
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** The shared options as the user wrote them (each connector's options type documents them). */
export interface SqlSinkOptionFields<T> {
  readonly table: string;
  readonly columns: readonly string[];
  readonly keyColumns?: readonly string[];
  readonly toRow?: (record: T) => Record<string, unknown>;
  readonly batchSize?: number;
  readonly deliveryGuarantee?: SqlDeliveryGuarantee;
  readonly sinkId?: string;
  readonly commitTable?: string;
  readonly name?: string;
  readonly connectTimeoutMs?: number;
}

export interface ResolvedSqlSinkOptions<T> {
  readonly name: string;
  readonly table: TableName;
  readonly tableText: string;
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
  readonly toRow: ((record: T) => Record<string, unknown>) | undefined;
  readonly batchSize: number;
  readonly deliveryGuarantee: SqlDeliveryGuarantee;
  readonly sinkId: string | undefined;
  readonly commitTable: TableName;
  readonly connectTimeoutMs: number;
}

/** The option names of SqlSinkOptionFields; a connector adds its own (`connection`). */
export const SQL_SINK_OPTION_FIELDS: readonly string[] = [
  'table', 'columns', 'keyColumns', 'toRow', 'batchSize', 'deliveryGuarantee', 'sinkId', 'commitTable', 'name', 'connectTimeoutMs',
];

export function nonEmptyStringOption(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigurationError(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function tableNameOption(value: unknown, field: string): TableName {
  const text = nonEmptyStringOption(value, field);
  const name = parseTableName(text);
  if (name.table.length === 0 || name.schema === '' || name.table.includes('.')) {
    throw new ConfigurationError(field, `must be "table" or "schema.table", got ${JSON.stringify(text)}`);
  }
  return name;
}

function columnListOption(value: unknown, field: string, allowEmpty: boolean): string[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0)) {
    throw new ConfigurationError(field, `must be ${allowEmpty ? 'an' : 'a non-empty'} array of column names, got ${JSON.stringify(value)}`);
  }
  const seen = new Set<string>();
  for (const column of value) {
    nonEmptyStringOption(column, field);
    if (seen.has(column)) throw new ConfigurationError(field, `names column ${JSON.stringify(column)} twice`);
    seen.add(column);
  }
  return [...seen];
}

/**
 * Checks the shared options; `connector` names the class in messages (`PostgresSink`),
 * `knownFields` are every option it takes, `defaultName` its name when none is given.
 */
export function resolveSqlSinkOptions<T>(
  options: SqlSinkOptionFields<T>,
  connector: { readonly className: string; readonly defaultName: string; readonly knownFields: ReadonlySet<string> },
): ResolvedSqlSinkOptions<T> {
  checkKnownFields(options, connector.knownFields, connector.className);
  const name = options.name === undefined ? connector.defaultName : nonEmptyStringOption(options.name, 'name');
  const table = tableNameOption(options.table, 'table');
  const columns = columnListOption(options.columns, 'columns', false);
  const keyColumns = options.keyColumns === undefined ? [] : columnListOption(options.keyColumns, 'keyColumns', true);
  for (const key of keyColumns) {
    if (!columns.includes(key)) throw new ConfigurationError('keyColumns', `${JSON.stringify(key)} is not one of columns (${columns.join(', ')})`);
  }
  if (options.toRow !== undefined && typeof options.toRow !== 'function') throw new ConfigurationError('toRow', `must be a function (record) => row, got ${typeof options.toRow}`);
  const deliveryGuarantee = options.deliveryGuarantee ?? 'at-least-once';
  if (!DELIVERY_GUARANTEES.includes(deliveryGuarantee)) {
    throw new ConfigurationError('deliveryGuarantee', `must be one of ${DELIVERY_GUARANTEES.join(', ')}, got ${JSON.stringify(deliveryGuarantee)}`);
  }
  if (deliveryGuarantee === 'at-least-once' && keyColumns.length === 0) {
    throw new ConfigurationError('keyColumns', 'are required for at-least-once delivery: without a key a replay after a failure would insert rows twice (give the key, or use exactly-once)');
  }
  return {
    name,
    table,
    tableText: options.table,
    columns,
    keyColumns,
    toRow: options.toRow,
    batchSize: positiveIntegerOption('batchSize', options.batchSize, 500),
    deliveryGuarantee,
    sinkId: options.sinkId === undefined ? undefined : nonEmptyStringOption(options.sinkId, 'sinkId'),
    commitTable: tableNameOption(options.commitTable ?? 'sluice_sink_commits', 'commitTable'),
    connectTimeoutMs: positiveIntegerOption('connectTimeoutMs', options.connectTimeoutMs, 10_000),
  };
}
