// The OpenSearch sink's options: what a user writes, checked once into a frozen resolved form.
// Errors name the option (ConfigurationError's field).

import type { ClientOptions } from '@opensearch-project/opensearch';
import type { Clock } from '../../../shared/clock.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { checkKnownFields } from '../common/connector-options.ts';

export interface OpenSearchSinkOptions<T> {
  /** The cluster's endpoint(s): `http://127.0.0.1:9200`, `https://search-….es.amazonaws.com`. */
  readonly node: string | readonly string[];
  /** The index of every document, or of each record (daily indices, a tenant's index). */
  readonly index: string | ((record: T) => string);
  /**
   * The document id from the record: a retry or a replay after a failure writes the same id
   * again and overwrites the document instead of adding a second one.
   */
  readonly documentId: (record: T) => string | number;
  /** The document's JSON object. Default: the record. */
  readonly toDocument?: (record: T) => unknown;
  /** HTTP basic authentication (fine-grained access control's internal users). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** More client options, e.g. `AwsSigv4Signer({ region, service: 'es', getCredentials })` for Amazon OpenSearch Service, or `ssl`. */
  readonly clientOptions?: ClientOptions;
  /** A bulk request is sent once it holds this many documents. Default 1000. */
  readonly maxBatchDocuments?: number;
  /** … or this many body bytes. Default 5 MiB (Amazon OpenSearch Service takes 10 MiB or more per request). */
  readonly maxBatchBytes?: number;
  /** Attempts after the first for documents refused with 429/503, and for requests that fail on the network. Default 8. */
  readonly maxRetries?: number;
  /** The first pause before a retry, doubled each time (with jitter) up to `maxBackoffMs`. Default 100. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Time allowed for one bulk request. Default 60000. */
  readonly requestTimeoutMs?: number;
  readonly name?: string;
  /** The clock the backoff sleeps on (tests). */
  readonly clock?: Clock;
}

export interface ResolvedOpenSearchSinkOptions<T> {
  readonly name: string;
  readonly nodes: readonly string[];
  readonly index: (record: T) => string;
  readonly documentId: (record: T) => string | number;
  readonly toDocument: ((record: T) => unknown) | undefined;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  readonly clientOptions: ClientOptions;
  readonly maxBatchDocuments: number;
  readonly maxBatchBytes: number;
  readonly maxRetries: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly clock: Clock;
}

const OPTION_FIELDS = new Set([
  'node', 'index', 'documentId', 'toDocument', 'auth', 'clientOptions', 'maxBatchDocuments', 'maxBatchBytes', 'maxRetries',
  'initialBackoffMs', 'maxBackoffMs', 'requestTimeoutMs', 'name', 'clock',
]);

function integer(value: unknown, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new ConfigurationError(field, `must be an integer >= ${min}, got ${String(value)}`);
  return value;
}

function nodes(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigurationError('node', `must be an http(s):// URL or a non-empty list of them, got ${JSON.stringify(value)}`);
  for (const node of list) {
    if (typeof node !== 'string' || !/^https?:\/\/[^/]/.test(node)) throw new ConfigurationError('node', `must be an http(s):// URL, got ${JSON.stringify(node)}`);
  }
  return [...list];
}

export function resolveOpenSearchSinkOptions<T>(options: OpenSearchSinkOptions<T>): ResolvedOpenSearchSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'OpenSearchSink', 'an');
  const { index, documentId, toDocument, auth } = options;
  let indexOf: (record: T) => string;
  if (typeof index === 'string') {
    if (index.length === 0 || index !== index.toLowerCase()) throw new ConfigurationError('index', `must be a non-empty lower-case index name, got ${JSON.stringify(index)}`);
    indexOf = () => index;
  } else if (typeof index === 'function') {
    indexOf = index;
  } else {
    throw new ConfigurationError('index', `must be an index name or a function (record) => index name, got ${typeof index}`);
  }
  if (typeof documentId !== 'function') throw new ConfigurationError('documentId', `must be a function (record) => id (ids make retries overwrite, not duplicate), got ${typeof documentId}`);
  if (toDocument !== undefined && typeof toDocument !== 'function') throw new ConfigurationError('toDocument', `must be a function (record) => document, got ${typeof toDocument}`);
  if (auth !== undefined && (typeof auth !== 'object' || auth === null || typeof auth.username !== 'string' || typeof auth.password !== 'string')) {
    throw new ConfigurationError('auth', 'must be { username, password }');
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) throw new ConfigurationError('name', 'must be a non-empty string');
  const initialBackoffMs = integer(options.initialBackoffMs, 'initialBackoffMs', 100, 0);
  return Object.freeze({
    name: options.name ?? 'OpenSearch',
    nodes: nodes(options.node),
    index: indexOf,
    documentId,
    toDocument,
    auth,
    clientOptions: options.clientOptions ?? {},
    maxBatchDocuments: integer(options.maxBatchDocuments, 'maxBatchDocuments', 1000, 1),
    maxBatchBytes: integer(options.maxBatchBytes, 'maxBatchBytes', 5 * 1024 * 1024, 1),
    maxRetries: integer(options.maxRetries, 'maxRetries', 8, 0),
    initialBackoffMs,
    maxBackoffMs: integer(options.maxBackoffMs, 'maxBackoffMs', Math.max(initialBackoffMs, 10_000), initialBackoffMs),
    requestTimeoutMs: integer(options.requestTimeoutMs, 'requestTimeoutMs', 60_000, 1),
    clock: options.clock ?? SystemClock.INSTANCE,
  });
}
