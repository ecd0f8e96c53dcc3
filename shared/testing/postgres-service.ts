// Where the PostgreSQL server of the `*.postgres.test.ts` tests is, and a check that it answers.
// A missing server fails the test with the command that starts it: never a skip.

import pg from 'pg';

const DEFAULT_POSTGRES_URL = 'postgres://sluice:sluice@127.0.0.1:15432/sluice';
const CONNECT_TIMEOUT_MS = 5000;

/** SLUICE_POSTGRES_URL, default postgres://sluice:sluice@127.0.0.1:15432/sluice. */
export function postgresUrl(): string {
  const configured = process.env.SLUICE_POSTGRES_URL?.trim();
  return configured && configured.length > 0 ? configured : DEFAULT_POSTGRES_URL;
}

/** The server's URL once a `SELECT 1` there succeeds; an Error saying how to start it otherwise. */
export async function requirePostgres(): Promise<string> {
  const url = postgresUrl();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch (error) {
    throw new Error(
      `PostgreSQL is missing: ${redactPassword(url)} (SLUICE_POSTGRES_URL) does not answer: ${error instanceof Error ? error.message : String(error)}. ` +
        'Start it with `scripts/services.sh start postgres` (or run `npm test`, which starts it).',
    );
  } finally {
    await client.end().catch(() => {});
  }
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
