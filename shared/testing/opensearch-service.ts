// Where the OpenSearch node of the `*.opensearch.test.ts` tests is, and a check that it answers.
// A missing node fails the test with the command that starts it: never a skip.

const DEFAULT_OPENSEARCH_URL = 'http://127.0.0.1:19200';
const HEALTH_TIMEOUT_MS = 5000;

/** SLUICE_OPENSEARCH_URL, default http://127.0.0.1:19200. */
export function openSearchUrl(): string {
  const configured = process.env.SLUICE_OPENSEARCH_URL?.trim();
  return configured && configured.length > 0 ? configured.replace(/\/+$/, '') : DEFAULT_OPENSEARCH_URL;
}

/** The node's URL once its cluster health is green or yellow; an Error saying how to start it otherwise. */
export async function requireOpenSearch(): Promise<string> {
  const url = openSearchUrl();
  let problem: string;
  try {
    const response = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    const body = await response.text();
    const status = response.ok ? (JSON.parse(body) as { status?: unknown }).status : undefined;
    if (status === 'green' || status === 'yellow') return url;
    problem = `/_cluster/health answered ${response.status}: ${body.slice(0, 200)}`;
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  throw new Error(
    `OpenSearch is missing: no healthy node at ${url} (SLUICE_OPENSEARCH_URL; ${problem}). ` +
      'Start it with `scripts/services.sh start opensearch` (or run `npm test`, which starts it).',
  );
}
