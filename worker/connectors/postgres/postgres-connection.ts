// Opening a PostgreSQL connection for the sink, checking the table it writes, and turning `pg`'s
// errors into ones that name the connector and the setting to fix: an unreachable server
// (connection), a refused password (connection user/password), a missing database, table or
// column (table, columns), key columns without a unique constraint (keyColumns).

import pg from 'pg';
import { ConfigurationError, ExternalSystemError } from '../../../shared/errors.ts';
import type { ResolvedPostgresSinkOptions } from './postgres-sink-options.ts';
import { quoteTableName } from './postgres-statements.ts';

/** `PostgreSQL sink "orders"`: how messages name the connector. */
export function sinkLabel(options: { name: string }): string {
  return `PostgreSQL sink "${options.name}"`;
}

const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

/** What `pg` tells about a failure: the SQLSTATE of a server error, the errno code of a socket error. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps an error of talking to the server into a named error; `doing` says what we were doing. */
export function postgresError(label: string, where: string, user: string, doing: string, error: unknown): Error {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) {
    return new ExternalSystemError(`${label}: server ${where} unreachable (setting connection): ${message}`, { cause: error, retriable: true });
  }
  if (/timeout|Connection terminated/i.test(message) && code === undefined) {
    return new ExternalSystemError(`${label}: server ${where} did not answer (setting connection): ${message}`, { cause: error, retriable: true });
  }
  switch (code) {
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification (pg_hba refused)
      return new ConfigurationError('connection', `${label}: ${where} refused user "${user}": ${message} (check the user and password in setting connection)`, { cause: error });
    case '3D000': // invalid_catalog_name
      return new ConfigurationError('connection', `${label}: ${message} at ${where} (the database in setting connection)`, { cause: error });
    case '42P01': // undefined_table
      return new ConfigurationError('table', `${label}: ${message} (setting table)`, { cause: error });
    case '42703': // undefined_column
      return new ConfigurationError('columns', `${label}: ${message} (setting columns)`, { cause: error });
    case '42P10': // invalid_column_reference: no unique index for ON CONFLICT
      return new ConfigurationError('keyColumns', `${label}: ${message} (setting keyColumns)`, { cause: error });
    case '42501': // insufficient_privilege
      return new ConfigurationError('connection', `${label}: user "${user}" may not do this: ${message} (setting connection, or the table's grants)`, { cause: error });
  }
  // Connection-class (08…) and shutdown (57P…) states are worth a retry; data errors are not.
  const retriable = code === undefined || code.startsWith('08') || code.startsWith('57P') || code === '40001' || code === '40P01';
  return new ExternalSystemError(`${label}: ${doing} failed at ${where}${code ? ` (SQLSTATE ${code})` : ''}: ${message}`, { cause: error, retriable });
}

/** A connected client, its address for messages, and the first error the idle connection reported. */
export interface PostgresSession {
  readonly client: pg.Client;
  readonly where: string;
  readonly user: string;
  /** Set when the server closed the connection between queries. */
  brokenBy: Error | undefined;
}

export async function connectPostgres(options: ResolvedPostgresSinkOptions<unknown>): Promise<PostgresSession> {
  const label = sinkLabel(options);
  const config: pg.ClientConfig =
    typeof options.connection === 'string'
      ? { connectionString: options.connection }
      : { ...options.connection, ssl: options.connection.ssl as pg.ClientConfig['ssl'] };
  config.connectionTimeoutMillis = options.connectTimeoutMs;
  config.application_name = `sluice ${options.name}`.slice(0, 63);
  const client = new pg.Client(config);
  const where = `${client.host}:${client.port}/${client.database ?? ''}`;
  const session: PostgresSession = { client, where, user: client.user ?? '', brokenBy: undefined };
  // An idle connection that breaks emits 'error'; unhandled, it would end the process.
  client.on('error', (error) => {
    session.brokenBy ??= postgresError(label, where, session.user, 'the connection', error);
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw postgresError(label, where, session.user, 'connecting', error);
  }
  return session;
}

/**
 * Checks that the table exists, has every column, and — when there are key columns — a unique
 * index on exactly them (what ON CONFLICT needs), so a wrong setting fails at start with its name.
 */
export async function checkTable(session: PostgresSession, options: ResolvedPostgresSinkOptions<unknown>): Promise<void> {
  const label = sinkLabel(options);
  const quoted = quoteTableName(options.table);
  let found: pg.QueryResult<{ oid: string | null }>;
  try {
    found = await session.client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [quoted]);
  } catch (error) {
    throw postgresError(label, session.where, session.user, `looking up table ${options.tableText}`, error);
  }
  const oid = found.rows[0]?.oid;
  if (!oid) {
    throw new ConfigurationError('table', `${label}: table ${options.tableText} does not exist in ${session.where} (setting table; create it first, the sink does not)`);
  }
  const columns = await session.client.query<{ name: string }>(
    'SELECT attname::text AS name FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [oid],
  );
  const existing = columns.rows.map((r) => r.name);
  const missing = options.columns.filter((c) => !existing.includes(c));
  if (missing.length > 0) {
    throw new ConfigurationError(
      'columns',
      `${label}: table ${options.tableText} has no column ${missing.map((c) => JSON.stringify(c)).join(', ')} (setting columns; its columns: ${existing.join(', ')})`,
    );
  }
  if (options.keyColumns.length === 0) return;
  const indexes = await session.client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text) AS columns
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL
      GROUP BY i.indexrelid, i.indnkeyatts
     HAVING count(*) = i.indnkeyatts`,
    [oid],
  );
  const wanted = [...options.keyColumns].sort().join('\u0000');
  if (!indexes.rows.some((r) => [...r.columns].sort().join('\u0000') === wanted)) {
    throw new ConfigurationError(
      'keyColumns',
      `${label}: table ${options.tableText} has no primary key or unique constraint on exactly (${options.keyColumns.join(', ')}) (setting keyColumns), which the upsert needs`,
    );
  }
}
