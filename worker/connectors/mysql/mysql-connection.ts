// Opening a MySQL connection for the sink, fixing its session, checking the table it writes, and
// turning `mysql2`'s errors into ones that name the connector and what to fix: an unreachable
// server (connection), a refused password (connection user/password), a missing database, table
// or column (table, columns), key columns without a unique index (keyColumns), a table that
// cannot take part in a transaction (deliveryGuarantee), and a row the server refuses (the
// column, the row).

import { createConnection, type Connection, type ConnectionOptions } from 'mysql2/promise';
import { ConfigurationError, ExternalSystemError, UserFunctionError } from '../../../shared/errors.ts';
import type { ResolvedMysqlSinkOptions } from './mysql-sink-options.ts';
import type { MysqlStatement } from './mysql-statements.ts';

/** `MySQL sink "orders"`: how messages name the connector. */
export function sinkLabel(options: { name: string }): string {
  return `MySQL sink "${options.name}"`;
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/** Server errors worth a retry: lock conflicts, too many connections, a server going down. */
const RETRIABLE_ERROR_CODES = new Set([
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_CONNECTION_KILLED', 'ER_CLIENT_INTERACTION_TIMEOUT',
]);

interface MysqlErrorFields {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly sqlMessage?: unknown;
  readonly fatal?: unknown;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as MysqlErrorFields | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(error: unknown): string {
  const sqlMessage = (error as MysqlErrorFields | null)?.sqlMessage;
  if (typeof sqlMessage === 'string') return sqlMessage;
  return error instanceof Error ? error.message : String(error);
}

/** Maps an error of talking to the server into a named error; `doing` says what we were doing. */
export function mysqlError(label: string, where: string, user: string, doing: string, error: unknown): Error {
  const code = errorCode(error);
  const message = errorMessage(error);
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) {
    return new ExternalSystemError(`${label}: server ${where} unreachable (setting connection): ${message}`, { cause: error, retriable: true });
  }
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
    case 'MYSQL_CLEAR_PASSWORD_NOT_ENABLED':
      return new ConfigurationError('connection', `${label}: ${where} refused user "${user}": ${message} (check the user and password in setting connection)`, { cause: error });
    case 'ER_BAD_DB_ERROR':
    case 'ER_NO_DB_ERROR':
      return new ConfigurationError('connection', `${label}: ${message} at ${where} (the database in setting connection)`, { cause: error });
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return new ConfigurationError('connection', `${label}: user "${user}" may not do this: ${message} (setting connection, or the table's grants)`, { cause: error });
    case 'ER_NO_SUCH_TABLE':
      return new ConfigurationError('table', `${label}: ${message} (setting table)`, { cause: error });
    case 'ER_BAD_FIELD_ERROR':
      return new ConfigurationError('columns', `${label}: ${message} (setting columns)`, { cause: error });
  }
  const retriable = code === undefined || RETRIABLE_ERROR_CODES.has(code) || (error as MysqlErrorFields).fatal === true;
  return new ExternalSystemError(`${label}: ${doing} failed at ${where}${code ? ` (${code})` : ''}: ${message}`, { cause: error, retriable });
}

/**
 * When the server refused a row of `statement` (a value its column cannot hold, a null in a NOT
 * NULL column, a duplicate of a unique key, a check or foreign key), an error naming the column
 * and showing the row; undefined for other errors. The row is found by the server's "at row N",
 * or as the first row with a null in the column it names.
 */
export function refusedRowError(label: string, columns: readonly string[], statement: MysqlStatement, doing: string, error: unknown): UserFunctionError | undefined {
  const code = errorCode(error);
  if (code === undefined || !REFUSED_ROW_CODES.has(code)) return undefined;
  const message = errorMessage(error);
  const columnText = /for column (\S+) at row \d+/.exec(message)?.[1] ?? /^Column '([^']+)' cannot be null/.exec(message)?.[1];
  const column = columnText === undefined ? undefined : lastIdentifier(columnText);
  const index = columns.findIndex((c) => column !== undefined && c.toLowerCase() === column.toLowerCase());
  const rowNumber = Number(/ at row (\d+)/.exec(message)?.[1] ?? Number.NaN);
  let row = Number.isSafeInteger(rowNumber) ? statement.rows[rowNumber - 1] : undefined;
  if (row === undefined && code === 'ER_BAD_NULL_ERROR' && index >= 0) row = statement.rows.find((r) => r[index] === 'NULL');
  const where = column === undefined ? 'refused a row' : `refused the value of column ${JSON.stringify(columns[index] ?? column)} in a row`;
  const shown = row === undefined ? '' : ` ${describeLiterals(columns, row)}`;
  const hint = code === 'ER_DUP_ENTRY' ? ' (a unique key of the table repeats: upsert on it with setting keyColumns, or drop the duplicates)' : '';
  return new UserFunctionError(`${label}: ${doing}: the server ${where}: ${message}${hint}:${shown}`, { cause: error });
}

const REFUSED_ROW_CODES = new Set([
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', 'ER_TRUNCATED_WRONG_VALUE', 'ER_DATA_TOO_LONG', 'ER_WARN_DATA_OUT_OF_RANGE', 'ER_BAD_NULL_ERROR',
  'WARN_DATA_TRUNCATED', 'ER_WARN_NULL_TO_NOTNULL', 'ER_DIVISION_BY_ZERO', 'ER_INVALID_JSON_TEXT', 'ER_INVALID_JSON_TEXT_IN_PARAM',
  'ER_DUP_ENTRY', 'ER_NO_REFERENCED_ROW_2', 'ER_CONSTRAINT_FAILED', 'ER_CHECK_CONSTRAINT_VIOLATED', 'ER_CANT_CREATE_GEOMETRY_OBJECT',
]);

/** `` `db`.`t`.`col` `` or `'col'` → `col`. */
function lastIdentifier(text: string): string {
  const parts = text.split(/[`'"]\.[`'"]/);
  return parts[parts.length - 1]!.replace(/^[`'"]|[`'"]$/g, '');
}

/** A row of literals as `{ column: literal }`, cut short. */
function describeLiterals(columns: readonly string[], row: readonly string[]): string {
  const text = `{ ${columns.map((c, i) => `${c}: ${row[i]}`).join(', ')} }`;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** A connected session, its address for messages, and the first error the idle connection reported. */
export interface MysqlSession {
  readonly connection: Connection;
  readonly where: string;
  readonly user: string;
  /** The server's max_allowed_packet, in bytes: no statement may be longer. */
  maxPacketBytes: number;
  /** Set when the server closed the connection between queries. */
  brokenBy: Error | undefined;
}

/** Where the connection goes, for messages, and mysql2's options for it. */
async function connectionOptions(options: ResolvedMysqlSinkOptions<unknown>): Promise<{ config: ConnectionOptions; where: string; user: string }> {
  const common: ConnectionOptions = {
    connectTimeout: options.connectTimeoutMs,
    charset: 'UTF8MB4_GENERAL_CI',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectAttributes: { program_name: `sluice ${options.name}` },
  };
  if (typeof options.connection === 'string') {
    const url = new URL(options.connection);
    const where = `${url.hostname}:${url.port || 3306}${url.pathname}`;
    return { config: { ...common, uri: options.connection }, where, user: decodeURIComponent(url.username) };
  }
  const { password, ssl, ...fields } = options.connection;
  const resolvedPassword = typeof password === 'function' ? await password() : password;
  const config: ConnectionOptions = { ...common, ...fields, password: resolvedPassword };
  if (ssl !== undefined) config.ssl = ssl as ConnectionOptions['ssl'];
  // An RDS IAM token is sent as a clear-text password, which is only safe over TLS.
  if (typeof password === 'function' && ssl !== undefined) config.enableCleartextPlugin = true;
  return { config, where: `${fields.host}:${fields.port ?? 3306}/${fields.database}`, user: fields.user };
}

export async function connectMysql(options: ResolvedMysqlSinkOptions<unknown>): Promise<MysqlSession> {
  const label = sinkLabel(options);
  const { config, where, user } = await connectionOptions(options);
  let connection: Connection;
  try {
    connection = await createConnection(config);
  } catch (error) {
    throw mysqlError(label, where, user, 'connecting', error);
  }
  const session: MysqlSession = { connection, where, user, maxPacketBytes: 0, brokenBy: undefined };
  // A connection that breaks while idle emits 'error'; unhandled, it would end the process.
  connection.on('error', (error: unknown) => {
    session.brokenBy ??= mysqlError(label, where, user, 'the connection', error);
  });
  try {
    session.maxPacketBytes = await fixSession(connection);
  } catch (error) {
    connection.destroy();
    throw mysqlError(label, where, user, 'setting up the session', error);
  }
  return session;
}

/**
 * Fixes what the sink's literals and errors rely on, whatever the server's defaults: backslash
 * escapes on (NO_BACKSLASH_ESCAPES off), strict mode (a value a column cannot hold is an error,
 * not a warning and a silently changed row), times in UTC, and READ COMMITTED, which takes fewer
 * gap locks, so subtasks upserting into one table deadlock less. Returns max_allowed_packet.
 */
async function fixSession(connection: Connection): Promise<number> {
  const [rows] = await connection.query('SELECT @@SESSION.sql_mode AS sqlMode, @@max_allowed_packet AS maxPacketBytes');
  const { sqlMode, maxPacketBytes } = (rows as Array<{ sqlMode: string; maxPacketBytes: number | string }>)[0]!;
  const modes = sqlMode.split(',').filter((m) => m !== '' && m !== 'NO_BACKSLASH_ESCAPES');
  if (!modes.includes('STRICT_ALL_TABLES') && !modes.includes('STRICT_TRANS_TABLES')) modes.push('STRICT_ALL_TABLES');
  await connection.query("SET SESSION sql_mode = ?, SESSION time_zone = '+00:00'", [modes.join(',')]);
  // Its own statement: the variable's name differs (MariaDB's tx_isolation, MySQL 8's transaction_isolation).
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  return Number(maxPacketBytes);
}

/** Storage engines whose tables roll back with a transaction. */
const TRANSACTIONAL_ENGINES = new Set(['innodb', 'rocksdb', 'ndbcluster', 'ndb', 'tokudb']);

/**
 * Checks that the table exists, has every column, and — when there are key columns — a primary
 * key or unique index on exactly them (what the upsert needs); for exactly-once, that it is in
 * an engine with transactions. A wrong setting fails at start with its name.
 */
export async function checkTable(session: MysqlSession, options: ResolvedMysqlSinkOptions<unknown>): Promise<void> {
  const label = sinkLabel(options);
  const schema = options.table.schema ?? null;
  const [tables] = await session.connection.query(
    'SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?',
    [schema, options.table.table],
  );
  const table = (tables as Array<{ engine: string | null }>)[0];
  if (table === undefined) {
    throw new ConfigurationError('table', `${label}: table ${options.tableText} does not exist in ${session.where} (setting table; create it first, the sink does not)`);
  }
  if (options.deliveryGuarantee === 'exactly-once' && !TRANSACTIONAL_ENGINES.has((table.engine ?? '').toLowerCase())) {
    throw new ConfigurationError(
      'deliveryGuarantee',
      `${label}: table ${options.tableText} uses the ${table.engine ?? 'unknown'} engine, which has no transactions, so exactly-once cannot write its rows together with the checkpoint id (setting deliveryGuarantee; use InnoDB, or at-least-once)`,
    );
  }
  const [columnRows] = await session.connection.query(
    'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [schema, options.table.table],
  );
  const existing = (columnRows as Array<{ name: string }>).map((r) => r.name);
  const existingLower = new Set(existing.map((c) => c.toLowerCase()));
  const missing = options.columns.filter((c) => !existingLower.has(c.toLowerCase()));
  if (missing.length > 0) {
    throw new ConfigurationError(
      'columns',
      `${label}: table ${options.tableText} has no column ${missing.map((c) => JSON.stringify(c)).join(', ')} (setting columns; its columns: ${existing.join(', ')})`,
    );
  }
  if (options.keyColumns.length === 0) return;
  const [indexRows] = await session.connection.query(
    'SELECT INDEX_NAME AS indexName, COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0',
    [schema, options.table.table],
  );
  const uniqueIndexes = new Map<string, string[]>();
  for (const { indexName, name } of indexRows as Array<{ indexName: string; name: string }>) {
    uniqueIndexes.set(indexName, [...(uniqueIndexes.get(indexName) ?? []), name.toLowerCase()]);
  }
  const wanted = options.keyColumns.map((c) => c.toLowerCase()).sort().join('\u0000');
  if (![...uniqueIndexes.values()].some((columns) => columns.sort().join('\u0000') === wanted)) {
    throw new ConfigurationError(
      'keyColumns',
      `${label}: table ${options.tableText} has no primary key or unique index on exactly (${options.keyColumns.join(', ')}) (setting keyColumns), which the upsert needs`,
    );
  }
}
