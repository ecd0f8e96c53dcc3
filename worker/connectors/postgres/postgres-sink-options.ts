// The PostgreSQL sink's options: what a user writes, checked once into a frozen resolved form
// that the rest of the connector reads. Errors name the option (ConfigurationError's field).

import { ConfigurationError } from '../../../shared/errors.ts';
import { parseTableName, type TableName } from './postgres-statements.ts';
import { checkKnownFields, positiveIntegerOption } from '../common/connector-options.ts';

export type PostgresDeliveryGuarantee = 'at-least-once' | 'exactly-once';

/** Where the database is, as fields (the alternative to a `postgres://` URL). */
export interface PostgresConnectionFields {
  readonly host: string;
  readonly port?: number;
  readonly user: string;
  /** A string, or a function giving one for each new connection (an RDS IAM token from @aws-sdk/rds-signer). */
  readonly password?: string | (() => string | Promise<string>);
  readonly database: string;
  /** TLS, as `pg` takes it: true, or options for `tls.connect` (RDS: `{ ca }` with its bundle). */
  readonly ssl?: boolean | Record<string, unknown>;
}

export interface PostgresSinkOptions<T> {
  /** `postgres://user:password@host:port/database[?sslmode=…]`, or the fields. */
  readonly connection: string | PostgresConnectionFields;
  /** `name` or `schema.name`; the table must exist. */
  readonly table: string;
  /** The columns written, in the table's spelling (case matters). */
  readonly columns: readonly string[];
  /**
   * The columns of a primary key or unique constraint: rows are upserted on them, so a replay
   * overwrites instead of duplicating. Without them rows are plain INSERTs (exactly-once only).
   */
  readonly keyColumns?: readonly string[];
  /** Turns a record into a row: `{ column: value }`. Default: the record is the row. */
  readonly toRow?: (record: T) => Record<string, unknown>;
  /** Rows per INSERT statement (fewer if 65535 bind parameters would not hold them). Default 500. */
  readonly batchSize?: number;
  /**
   * 'at-least-once' (default): upserts flushed every `batchSize` rows and on each checkpoint; a
   * replay after a failure writes some rows again, which the upsert makes harmless.
   * 'exactly-once': a checkpoint's rows are kept in the checkpoint and written when it completes,
   * in one transaction with the checkpoint id (table `commitTable`), so a replay writes nothing twice.
   */
  readonly deliveryGuarantee?: PostgresDeliveryGuarantee;
  /** Exactly-once: this sink's id in `commitTable`; unique per sink. Default `<job name>/<sink name>`. */
  readonly sinkId?: string;
  /** Exactly-once: the table of each writer run's committed checkpoint id, created (or given its run column) if needed. Default `sluice_sink_commits`. */
  readonly commitTable?: string;
  readonly name?: string;
  /** How long to wait for a connection, in ms. Default 10000. */
  readonly connectTimeoutMs?: number;
}

export interface ResolvedPostgresSinkOptions<T> {
  readonly name: string;
  readonly connection: string | PostgresConnectionFields;
  readonly table: TableName;
  readonly tableText: string;
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
  readonly toRow: ((record: T) => Record<string, unknown>) | undefined;
  readonly batchSize: number;
  readonly deliveryGuarantee: PostgresDeliveryGuarantee;
  readonly sinkId: string | undefined;
  readonly commitTable: TableName;
  readonly connectTimeoutMs: number;
}

const OPTION_FIELDS = new Set([
  'connection', 'table', 'columns', 'keyColumns', 'toRow', 'batchSize', 'deliveryGuarantee', 'sinkId', 'commitTable', 'name', 'connectTimeoutMs',
]);
const DELIVERY_GUARANTEES: readonly PostgresDeliveryGuarantee[] = ['at-least-once', 'exactly-once'];

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigurationError(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function tableName(value: unknown, field: string): TableName {
  const text = nonEmptyString(value, field);
  const name = parseTableName(text);
  if (name.table.length === 0 || name.schema === '' || name.table.includes('.')) {
    throw new ConfigurationError(field, `must be "table" or "schema.table", got ${JSON.stringify(text)}`);
  }
  return name;
}

function columnList(value: unknown, field: string, allowEmpty: boolean): string[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0)) {
    throw new ConfigurationError(field, `must be ${allowEmpty ? 'an' : 'a non-empty'} array of column names, got ${JSON.stringify(value)}`);
  }
  const seen = new Set<string>();
  for (const column of value) {
    nonEmptyString(column, field);
    if (seen.has(column)) throw new ConfigurationError(field, `names column ${JSON.stringify(column)} twice`);
    seen.add(column);
  }
  return [...seen];
}

function connection(value: unknown): string | PostgresConnectionFields {
  if (typeof value === 'string') {
    if (!/^postgres(ql)?:\/\//.test(value)) throw new ConfigurationError('connection', 'must be a postgres:// URL or { host, port, user, password, database }');
    return value;
  }
  if (typeof value !== 'object' || value === null) throw new ConfigurationError('connection', `must be a postgres:// URL or { host, port, user, password, database }, got ${String(value)}`);
  const fields = value as Partial<PostgresConnectionFields>;
  nonEmptyString(fields.host, 'connection.host');
  nonEmptyString(fields.user, 'connection.user');
  nonEmptyString(fields.database, 'connection.database');
  if (fields.port !== undefined) positiveIntegerOption('connection.port', fields.port, 5432);
  if (fields.password !== undefined && typeof fields.password !== 'string' && typeof fields.password !== 'function') {
    throw new ConfigurationError('connection.password', 'must be a string or a function () => string | Promise<string>');
  }
  return { ...(fields as PostgresConnectionFields) };
}

export function resolvePostgresSinkOptions<T>(options: PostgresSinkOptions<T>): ResolvedPostgresSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'PostgresSink');
  const name = options.name === undefined ? 'PostgreSQL' : nonEmptyString(options.name, 'name');
  const table = tableName(options.table, 'table');
  const columns = columnList(options.columns, 'columns', false);
  const keyColumns = options.keyColumns === undefined ? [] : columnList(options.keyColumns, 'keyColumns', true);
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
  return Object.freeze({
    name,
    connection: connection(options.connection),
    table,
    tableText: options.table,
    columns,
    keyColumns,
    toRow: options.toRow,
    batchSize: positiveIntegerOption('batchSize', options.batchSize, 500),
    deliveryGuarantee,
    sinkId: options.sinkId === undefined ? undefined : nonEmptyString(options.sinkId, 'sinkId'),
    commitTable: tableName(options.commitTable ?? 'sluice_sink_commits', 'commitTable'),
    connectTimeoutMs: positiveIntegerOption('connectTimeoutMs', options.connectTimeoutMs, 10_000),
  });
}
