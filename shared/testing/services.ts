// Where the real services the `*.<service>.test.ts` tests talk to are, and a check that they
// answer. A missing service fails the test with the command that starts it: never a skip.

import { request } from 'node:http';

const DEFAULT_ETCD_ENDPOINT = '127.0.0.1:23790';
const HEALTH_TIMEOUT_MS = 3000;

/** SLUICE_ETCD_ENDPOINTS (comma separated `host:port`), default 127.0.0.1:23790. */
export function etcdEndpoints(): string[] {
  const configured = (process.env.SLUICE_ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint.length > 0);
  return configured.length > 0 ? configured : [DEFAULT_ETCD_ENDPOINT];
}

/** The etcd endpoints, once one of them reports itself healthy; an Error saying how to start etcd otherwise. */
export async function requireEtcd(): Promise<string[]> {
  const endpoints = etcdEndpoints();
  const problems: string[] = [];
  for (const endpoint of endpoints) {
    const url = `${/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`}/health`;
    try {
      const body = await httpGet(url, HEALTH_TIMEOUT_MS);
      if ((JSON.parse(body) as { health?: unknown }).health === 'true') return endpoints;
      problems.push(`${url} answered ${body.trim()}`);
    } catch (error) {
      problems.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(
    `etcd is missing: no healthy etcd at ${endpoints.join(', ')} (SLUICE_ETCD_ENDPOINTS; ${problems.join('; ')}). ` +
      'Start it with `scripts/services.sh start etcd` (or run `npm test`, which starts it).',
  );
}

function httpGet(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
