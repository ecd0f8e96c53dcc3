// The PostgreSQL sink's options: what a user writes, checked once into a frozen resolved form
// that the rest of the connector reads. Errors name the option (ConfigurationError's field).

import { ConfigurationError } from '../../../shared/errors.ts';
import { positiveIntegerOption } from '../common/connector-options.ts';
import {
  nonEmptyStringOption,
  resolveSqlSinkOptions,
  SQL_SINK_OPTION_FIELDS,
  type ResolvedSqlSinkOptions,
  type SqlDeliveryGuarantee,
} from '../common/sql-sink-options.ts';

export type PostgresDeliveryGuarantee = SqlDeliveryGuarantee;

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

export interface ResolvedPostgresSinkOptions<T> extends ResolvedSqlSinkOptions<T> {
  readonly connection: string | PostgresConnectionFields;
}

const OPTION_FIELDS = new Set([...SQL_SINK_OPTION_FIELDS, 'connection']);

function connection(value: unknown): string | PostgresConnectionFields {
  if (typeof value === 'string') {
    if (!/^postgres(ql)?:\/\//.test(value)) throw new ConfigurationError('connection', 'must be a postgres:// URL or { host, port, user, password, database }');
    return value;
  }
  if (typeof value !== 'object' || value === null) throw new ConfigurationError('connection', `must be a postgres:// URL or { host, port, user, password, database }, got ${String(value)}`);
  const fields = value as Partial<PostgresConnectionFields>;
  nonEmptyStringOption(fields.host, 'connection.host');
  nonEmptyStringOption(fields.user, 'connection.user');
  nonEmptyStringOption(fields.database, 'connection.database');
  if (fields.port !== undefined) positiveIntegerOption('connection.port', fields.port, 5432);
  if (fields.password !== undefined && typeof fields.password !== 'string' && typeof fields.password !== 'function') {
    throw new ConfigurationError('connection.password', 'must be a string or a function () => string | Promise<string>');
  }
  return { ...(fields as PostgresConnectionFields) };
}

export function resolvePostgresSinkOptions<T>(options: PostgresSinkOptions<T>): ResolvedPostgresSinkOptions<T> {
  const resolved = resolveSqlSinkOptions(options, { className: 'PostgresSink', defaultName: 'PostgreSQL', knownFields: OPTION_FIELDS });
  return Object.freeze({ ...resolved, connection: connection(options.connection) });
}
