// One bulk request of the OpenSearch sink: `index` actions with the document ids the records
// give, as the NDJSON body of `POST /_bulk`, and the reading of its per-item results. A batch
// keeps one action per (index, id) — the last one written — so a document rejected with 429 and
// retried can never overwrite a newer version of itself sent in the same request.

/** One document to index. `actionLine` and `sourceLine` are the two NDJSON lines, without line ends. */
export interface BulkEntry {
  readonly index: string;
  readonly id: string;
  readonly actionLine: string;
  readonly sourceLine: string;
}

export function bulkEntry(index: string, id: string, sourceLine: string): BulkEntry {
  return { index, id, actionLine: JSON.stringify({ index: { _index: index, _id: id } }), sourceLine };
}

/** Body bytes of an entry: both lines and their line ends (UTF-8). */
export function entryBytes(entry: BulkEntry): number {
  return Buffer.byteLength(entry.actionLine) + Buffer.byteLength(entry.sourceLine) + 2;
}

/** Entries gathered for one request, one per (index, id), with the body size. */
export class BulkBatch {
  private readonly entries = new Map<string, { entry: BulkEntry; bytes: number }>();
  private totalBytes = 0;

  add(entry: BulkEntry): void {
    const key = `${entry.index}\u0000${entry.id}`;
    const previous = this.entries.get(key);
    if (previous) {
      this.totalBytes -= previous.bytes;
      this.entries.delete(key); // re-added at the end: the request keeps the order of last writes
    }
    const bytes = entryBytes(entry);
    this.entries.set(key, { entry, bytes });
    this.totalBytes += bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The entries, in order; the batch is left empty. */
  take(): BulkEntry[] {
    const entries = [...this.entries.values()].map((e) => e.entry);
    this.entries.clear();
    this.totalBytes = 0;
    return entries;
  }
}

export function bulkBody(entries: readonly BulkEntry[]): string {
  let body = '';
  for (const e of entries) body += `${e.actionLine}\n${e.sourceLine}\n`;
  return body;
}

/** An item the server refused: which document, and why. */
export interface BulkItemFailure {
  readonly entry: BulkEntry;
  readonly status: number;
  readonly type: string;
  readonly reason: string;
}

export interface BulkOutcome {
  /** How many entries were written. */
  readonly written: number;
  /** Refused for now (429 Too Many Requests, 503 Unavailable): worth sending again after a pause. */
  readonly retry: BulkItemFailure[];
  /** Refused for good (a mapping conflict, a missing index, a bad id…). */
  readonly failed: BulkItemFailure[];
}

/** HTTP statuses of an item that a later attempt may get through. */
export const RETRIABLE_ITEM_STATUSES: ReadonlySet<number> = new Set([429, 503]);

interface BulkItemResult {
  status?: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } | string;
}

/** Splits a `_bulk` response over the entries sent (items come back in request order). */
export function readBulkResponse(entries: readonly BulkEntry[], body: unknown): BulkOutcome {
  const response = body as { errors?: boolean; items?: Array<Record<string, BulkItemResult>> } | null;
  if (typeof response !== 'object' || response === null || !Array.isArray(response.items) || response.items.length !== entries.length) {
    throw new Error(`the _bulk response has ${Array.isArray(response?.items) ? response.items.length : 'no'} items for ${entries.length} actions`);
  }
  if (response.errors === false) return { written: entries.length, retry: [], failed: [] };
  const retry: BulkItemFailure[] = [];
  const failed: BulkItemFailure[] = [];
  response.items.forEach((item, i) => {
    const result = Object.values(item)[0] ?? {};
    const status = typeof result.status === 'number' ? result.status : 0;
    if (status >= 200 && status < 300 && result.error === undefined) return;
    const error = result.error;
    const type = typeof error === 'object' && error !== null ? (error.type ?? 'unknown') : 'error';
    let reason = typeof error === 'string' ? error : (error?.reason ?? `status ${status}`);
    if (typeof error === 'object' && error?.caused_by?.reason) reason += ` (caused by ${error.caused_by.type}: ${error.caused_by.reason})`;
    (RETRIABLE_ITEM_STATUSES.has(status) ? retry : failed).push({ entry: entries[i]!, status, type, reason });
  });
  return { written: entries.length - retry.length - failed.length, retry, failed };
}
