// The MySQL sink's options: what a user writes, checked once into a frozen resolved form that
// the rest of the connector reads. Errors name the option (ConfigurationError's field). The
// options other than the connection are the PostgreSQL sink's, checked by the same code.

import { ConfigurationError } from '../../../shared/errors.ts';
import { positiveIntegerOption } from '../common/connector-options.ts';
import {
  nonEmptyStringOption,
  resolveSqlSinkOptions,
  SQL_SINK_OPTION_FIELDS,
  type ResolvedSqlSinkOptions,
  type SqlDeliveryGuarantee,
} from '../common/sql-sink-options.ts';

export type MysqlDeliveryGuarantee = SqlDeliveryGuarantee;

/** Where the database is, as fields (the alternative to a `mysql://` URL). */
export interface MysqlConnectionFields {
  readonly host: string;
  /** Default 3306. */
  readonly port?: number;
  readonly user: string;
  /**
   * A string, or a function giving one for each new connection (an RDS IAM token from
   * @aws-sdk/rds-signer: with `ssl` set, the server may then ask for it in clear text, over TLS).
   */
  readonly password?: string | (() => string | Promise<string>);
  readonly database: string;
  /** TLS, as `mysql2` takes it: options for `tls.connect` (RDS: `{ ca }` with its bundle), or a profile name ('Amazon RDS'). */
  readonly ssl?: string | Record<string, unknown>;
}

export interface MysqlSinkOptions<T> {
  /** `mysql://user:password@host:port/database`, or the fields. */
  readonly connection: string | MysqlConnectionFields;
  /** `name` or `database.name`; the table must exist (InnoDB for exactly-once). */
  readonly table: string;
  /** The columns written (MySQL matches column names without regard to case). */
  readonly columns: readonly string[];
  /**
   * The columns of the primary key or a unique index: rows are upserted on them
   * (`ON DUPLICATE KEY UPDATE`), so a replay overwrites instead of duplicating. MySQL applies the
   * update when a row collides on any unique index of the table, so one other than these should
   * not collide. Without key columns rows are plain INSERTs (exactly-once only).
   */
  readonly keyColumns?: readonly string[];
  /** Turns a record into a row: `{ column: value }`. Default: the record is the row. */
  readonly toRow?: (record: T) => Record<string, unknown>;
  /** Rows per INSERT statement (fewer if the server's max_allowed_packet would not hold them). Default 500. */
  readonly batchSize?: number;
  /**
   * 'at-least-once' (default): upserts flushed every `batchSize` rows and on each checkpoint; a
   * replay after a failure writes some rows again, which the upsert makes harmless.
   * 'exactly-once': a checkpoint's rows are kept in the checkpoint and written when it completes,
   * in one transaction with the checkpoint id (table `commitTable`), so a replay writes nothing twice.
   */
  readonly deliveryGuarantee?: MysqlDeliveryGuarantee;
  /** Exactly-once: this sink's id in `commitTable` (at most 255 characters); unique per sink. Default `<job name>/<sink name>`. */
  readonly sinkId?: string;
  /** Exactly-once: the table of each writer run's committed checkpoint id, created if needed. Default `sluice_sink_commits`. */
  readonly commitTable?: string;
  readonly name?: string;
  /** How long to wait for a connection, in ms. Default 10000. */
  readonly connectTimeoutMs?: number;
}

export interface ResolvedMysqlSinkOptions<T> extends ResolvedSqlSinkOptions<T> {
  readonly connection: string | MysqlConnectionFields;
}

/** The commit table's sink_id column holds this many characters. */
export const MAX_SINK_ID_CHARS = 255;

const OPTION_FIELDS = new Set([...SQL_SINK_OPTION_FIELDS, 'connection']);
const CONNECTION_HINT = 'a mysql:// URL or { host, port, user, password, database }';

function connection(value: unknown): string | MysqlConnectionFields {
  if (typeof value === 'string') {
    if (!/^mysql:\/\//.test(value)) throw new ConfigurationError('connection', `must be ${CONNECTION_HINT}`);
    return value;
  }
  if (typeof value !== 'object' || value === null) throw new ConfigurationError('connection', `must be ${CONNECTION_HINT}, got ${String(value)}`);
  const fields = value as Partial<MysqlConnectionFields>;
  nonEmptyStringOption(fields.host, 'connection.host');
  nonEmptyStringOption(fields.user, 'connection.user');
  nonEmptyStringOption(fields.database, 'connection.database');
  if (fields.port !== undefined) positiveIntegerOption('connection.port', fields.port, 3306);
  if (fields.password !== undefined && typeof fields.password !== 'string' && typeof fields.password !== 'function') {
    throw new ConfigurationError('connection.password', 'must be a string or a function () => string | Promise<string>');
  }
  if (fields.ssl !== undefined && typeof fields.ssl !== 'string' && (typeof fields.ssl !== 'object' || fields.ssl === null)) {
    throw new ConfigurationError('connection.ssl', `must be tls.connect options or a mysql2 profile name, got ${String(fields.ssl)}`);
  }
  return { ...(fields as MysqlConnectionFields) };
}

export function resolveMysqlSinkOptions<T>(options: MysqlSinkOptions<T>): ResolvedMysqlSinkOptions<T> {
  const resolved = resolveSqlSinkOptions(options, { className: 'MysqlSink', defaultName: 'MySQL', knownFields: OPTION_FIELDS });
  if (resolved.sinkId !== undefined && resolved.sinkId.length > MAX_SINK_ID_CHARS) {
    throw new ConfigurationError('sinkId', `must be at most ${MAX_SINK_ID_CHARS} characters (the commit table's sink_id column), got ${resolved.sinkId.length}`);
  }
  return Object.freeze({ ...resolved, connection: connection(options.connection) });
}
