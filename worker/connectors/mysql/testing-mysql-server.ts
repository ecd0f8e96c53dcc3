// Where the MySQL-protocol server of the `*.mariadb.test.ts` tests is (scripts/services.sh start
// mariadb), and a check that it answers. A missing server fails the test with the command that
// starts it: never a skip.

import { createConnection } from 'mysql2/promise';

const DEFAULT_MYSQL_URL = 'mysql://sluice:sluice@127.0.0.1:13306/sluice';
const CONNECT_TIMEOUT_MS = 5000;

/** SLUICE_MYSQL_URL, default mysql://sluice:sluice@127.0.0.1:13306/sluice. */
export function mysqlUrl(): string {
  const configured = process.env.SLUICE_MYSQL_URL?.trim();
  return configured && configured.length > 0 ? configured : DEFAULT_MYSQL_URL;
}

/** The server's URL once a `SELECT 1` there succeeds; an Error saying how to start it otherwise. */
export async function requireMysql(): Promise<string> {
  const url = mysqlUrl();
  try {
    const connection = await createConnection({ uri: url, connectTimeout: CONNECT_TIMEOUT_MS });
    try {
      await connection.query('SELECT 1');
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
    return url;
  } catch (error) {
    throw new Error(
      `MariaDB is missing: ${url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')} (SLUICE_MYSQL_URL) does not answer: ${error instanceof Error ? error.message : String(error)}. ` +
        'Start it with `scripts/services.sh start mariadb` (or run `npm test`, which starts it).',
    );
  }
}
