// A sink that indexes records as documents in OpenSearch (Amazon OpenSearch Service or any
// cluster) through the bulk API, at-least-once with idempotent writes.
//
// Each record becomes an `index` action with the id `documentId` gives it, so sending a document
// twice — a retried request, a replay from the last checkpoint after a failure — overwrites it
// and never adds a second one. Documents gather in a batch that is sent once it holds
// `maxBatchDocuments` documents or `maxBatchBytes` bytes, and on every checkpoint barrier, which
// waits for everything before it to be written. Documents the cluster refuses for now (429 Too
// Many Requests when its write queue is full, 503) are sent again, alone, after an exponential
// backoff with jitter; documents refused for good (a mapping conflict, a missing index) fail the
// job with an error that names each document id, its index and the reason.

import { Client, errors as clientErrors, type ClientOptions } from '@opensearch-project/opensearch';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { sleep } from '../../../shared/clock.ts';
import { ConfigurationError, ExternalSystemError, UserFunctionError } from '../../../shared/errors.ts';
import { backoffDelayMs } from '../common/backoff.ts';
import { SerialBatchSender } from '../common/serial-batch-sender.ts';
import { BulkBatch, bulkBody, bulkEntry, readBulkResponse, type BulkEntry, type BulkItemFailure } from './bulk-batch.ts';
import { resolveOpenSearchSinkOptions, type OpenSearchSinkOptions, type ResolvedOpenSearchSinkOptions } from './opensearch-sink-options.ts';

export interface OpenSearchSinkWriterStatus {
  readonly documentsBuffered: number;
  readonly documentsWritten: number;
  readonly bulkRequests: number;
  /** Documents sent again after a 429/503. */
  readonly documentsRetried: number;
  /** Whole requests sent again after a network error or a 429/5xx answer. */
  readonly requestsRetried: number;
}

/** Failures listed in one error message; the rest are counted. */
const MAX_FAILURES_IN_MESSAGE = 5;

export class OpenSearchSink<T = Record<string, unknown>> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedOpenSearchSinkOptions<T>;

  constructor(options: OpenSearchSinkOptions<T>) {
    this.options = resolveOpenSearchSinkOptions(options);
    this.name = this.options.name;
  }

  async createWriter(_context: SinkWriterContext): Promise<SinkWriter<T>> {
    const options = this.options;
    const clientOptions: ClientOptions = {
      ...options.clientOptions,
      node: [...options.nodes],
      maxRetries: 0, // the writer retries, with backoff, and knows which documents to resend
      requestTimeout: options.requestTimeoutMs,
      ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
    };
    const client = new Client(clientOptions);
    const writer = new OpenSearchSinkWriter<T>(options, client);
    try {
      await writer.checkCluster();
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
    return writer;
  }
}

class OpenSearchSinkWriter<T> implements SinkWriter<T> {
  private readonly label: string;
  private readonly where: string;
  private batch = new BulkBatch();
  /** Bulk requests, one after the other, so a later write of a document lands last. */
  private readonly sender = new SerialBatchSender<readonly BulkEntry[]>((entries) => this.send(entries));
  private documentsWritten = 0;
  private bulkRequests = 0;
  private documentsRetried = 0;
  private requestsRetried = 0;

  constructor(
    private readonly options: ResolvedOpenSearchSinkOptions<T>,
    private readonly client: Client,
  ) {
    this.label = `OpenSearch sink "${options.name}"`;
    this.where = options.nodes.join(', ');
  }

  /**
   * `GET /`: fails at start, with the setting to fix, when the cluster is not there or refuses
   * the credentials. Any other answer will do (OpenSearch Serverless has no `GET /`).
   */
  async checkCluster(): Promise<void> {
    try {
      await this.client.transport.request({ method: 'GET', path: '/' });
    } catch (error) {
      if (error instanceof clientErrors.ResponseError && error.statusCode !== 401 && error.statusCode !== 403) return;
      throw this.requestError(error, 'connecting').error;
    }
  }

  write(value: T): void {
    this.sender.throwIfFailed();
    this.batch.add(this.toEntry(value));
    if (this.batch.size >= this.options.maxBatchDocuments || this.batch.bytes >= this.options.maxBatchBytes) this.startFlush();
  }

  private toEntry(value: T): BulkEntry {
    const { options, label } = this;
    let index: string;
    let id: string | number;
    let document: unknown;
    try {
      index = options.index(value);
      id = options.documentId(value);
      document = options.toDocument ? options.toDocument(value) : value;
    } catch (error) {
      throw new UserFunctionError(`${label}: index, documentId or toDocument threw: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    if (typeof index !== 'string' || index.length === 0) throw new UserFunctionError(`${label}: the index for a record is ${JSON.stringify(index)}, not an index name (setting index)`);
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '') {
      throw new UserFunctionError(`${label}: documentId gave ${JSON.stringify(id)} for a record; an id must be a non-empty string or a number (setting documentId)`);
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new UserFunctionError(`${label}: a document must be a JSON object, got ${Array.isArray(document) ? 'an array' : String(document)} for id ${JSON.stringify(id)} (setting toDocument)`);
    }
    return bulkEntry(index, String(id), JSON.stringify(document));
  }

  private startFlush(): void {
    if (this.batch.size > 0) this.sender.enqueue(this.batch.take());
  }

  /** Sends the entries; resends the ones refused for now, after a backoff, until all are written or retries run out. */
  private async send(entries: readonly BulkEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; ; attempt++) {
      let body: unknown;
      try {
        this.bulkRequests++;
        body = (await this.client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: bulkBody(pending) })).body;
      } catch (error) {
        const { error: mapped, retriable } = this.requestError(error, `sending ${pending.length} documents`);
        if (!retriable || attempt >= this.options.maxRetries) throw mapped;
        this.requestsRetried++;
        await sleep(this.options.clock, backoffDelayMs(attempt, this.options.initialBackoffMs, this.options.maxBackoffMs));
        continue;
      }
      let outcome;
      try {
        outcome = readBulkResponse(pending, body);
      } catch (error) {
        throw new ExternalSystemError(`${this.label}: ${this.where}: ${(error as Error).message}`, { cause: error });
      }
      this.documentsWritten += outcome.written;
      if (outcome.failed.length > 0) throw this.itemsError(outcome.failed, 'refused');
      if (outcome.retry.length === 0) return;
      if (attempt >= this.options.maxRetries) throw this.itemsError(outcome.retry, `still refused after ${this.options.maxRetries} retries`, true);
      this.documentsRetried += outcome.retry.length;
      await sleep(this.options.clock, backoffDelayMs(attempt, this.options.initialBackoffMs, this.options.maxBackoffMs));
      pending = outcome.retry.map((f) => f.entry);
    }
  }

  private itemsError(failures: readonly BulkItemFailure[], what: string, retriable = false): ExternalSystemError {
    const shown = failures.slice(0, MAX_FAILURES_IN_MESSAGE).map((f) => {
      const hint = f.type === 'index_not_found_exception' ? ' (setting index)' : f.type.includes('mapper') || f.type === 'illegal_argument_exception' ? ' (setting toDocument or the index mapping)' : '';
      return `document ${JSON.stringify(f.entry.id)} in index ${JSON.stringify(f.entry.index)}: ${f.status} ${f.type}: ${f.reason}${hint}`;
    });
    const more = failures.length > shown.length ? `; and ${failures.length - shown.length} more` : '';
    return new ExternalSystemError(`${this.label}: ${failures.length} document${failures.length === 1 ? '' : 's'} ${what} by ${this.where}: ${shown.join('; ')}${more}`, { retriable });
  }

  /** A failed request as a named error, and whether sending it again may help. */
  private requestError(error: unknown, doing: string): { error: Error; retriable: boolean } {
    const label = this.label;
    if (error instanceof clientErrors.ResponseError) {
      const status = error.statusCode;
      const reason = describeResponseBody(error.body) ?? error.message;
      if (status === 401) return { error: new ConfigurationError('auth', `${label}: ${this.where} refused the credentials (401): ${reason} (setting auth)`, { cause: error }), retriable: false };
      if (status === 403) return { error: new ConfigurationError('auth', `${label}: ${this.where} forbids ${doing} (403): ${reason} (setting auth, or the user's permissions)`, { cause: error }), retriable: false };
      if (status === 413) return { error: new ConfigurationError('maxBatchBytes', `${label}: ${this.where} refused a bulk request as too large (413); lower setting maxBatchBytes`, { cause: error }), retriable: false };
      const retriable = status === 429 || status >= 500;
      return { error: new ExternalSystemError(`${label}: ${doing} at ${this.where} failed with ${status}: ${reason}`, { cause: error, retriable }), retriable };
    }
    if (error instanceof clientErrors.ConnectionError || error instanceof clientErrors.NoLivingConnectionsError || error instanceof clientErrors.TimeoutError) {
      return { error: new ExternalSystemError(`${label}: ${this.where} unreachable (setting node): ${(error as Error).message}`, { cause: error, retriable: true }), retriable: true };
    }
    return { error: new ExternalSystemError(`${label}: ${doing} at ${this.where} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }), retriable: false };
  }

  /** Sends what is buffered and waits for every request before the barrier to be written. */
  async prepareCommit(): Promise<undefined> {
    this.startFlush();
    await this.sender.drain();
    return undefined;
  }

  async commit(): Promise<void> {
    // Documents were written at prepareCommit; ids make a replay overwrite them.
  }

  status(): OpenSearchSinkWriterStatus {
    return {
      documentsBuffered: this.batch.size,
      documentsWritten: this.documentsWritten,
      bulkRequests: this.bulkRequests,
      documentsRetried: this.documentsRetried,
      requestsRetried: this.requestsRetried,
    };
  }

  async close(): Promise<void> {
    this.batch = new BulkBatch();
    await this.sender.settled();
    await this.client.close().catch(() => {});
  }
}

/** `type: reason` of an OpenSearch error body, if it has one. */
function describeResponseBody(body: unknown): string | undefined {
  const error = (body as { error?: { type?: string; reason?: string } | string } | null)?.error;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && error.reason) return `${error.type ?? 'error'}: ${error.reason}`;
  return undefined;
}
