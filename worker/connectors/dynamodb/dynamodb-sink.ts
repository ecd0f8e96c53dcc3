// A sink that upserts records into a DynamoDB table with BatchWriteItem (25 puts per call), as
// Flink's DynamoDbSink. A put replaces the item with the same table key, so writing a record twice
// — a retry, or a replay after a restore — leaves the same item: at-least-once delivery gives
// exactly-once results. Items with the same key waiting to be sent are merged (the last write
// wins): DynamoDB refuses a batch that names one key twice, and the earlier values would be
// overwritten anyway. UnprocessedItems are sent again with exponential backoff. A checkpoint
// barrier flushes and waits, so a checkpoint completes only once its items are written.

import { BatchWriteItemCommand, DescribeTableCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { sleep, SystemClock, type Clock } from '../../../shared/clock.ts';
import { ConfigurationError, ExternalSystemError, UserFunctionError } from '../../../shared/errors.ts';
import {
  AWS_CONNECTION_FIELDS,
  awsClientConfig,
  classifyAwsFailure,
  describeAwsFailure,
  resolveAwsConnection,
  type AwsConnectionOptions,
  type ResolvedAwsConnection,
} from '../common/aws-connection.ts';
import { backoffDelayMs } from '../common/backoff.ts';
import { checkKnownFields, positiveIntegerOption } from '../common/connector-options.ts';
import { SerialBatchSender } from '../common/serial-batch-sender.ts';

export interface DynamoDbSinkOptions<T> extends AwsConnectionOptions {
  readonly tableName: string;
  readonly name?: string;
  /** The item to put (plain JS values, marshalled by @aws-sdk/util-dynamodb). Default: the record itself. */
  readonly toItem?: (value: T) => Record<string, unknown>;
  /** Distinct keys buffered before a flush starts (a checkpoint flushes anyway). Default 500. */
  readonly maxBufferedItems?: number;
  /** Attempts for unprocessed items or a failed call before the job fails. Default 10. */
  readonly maxRetries?: number;
  readonly retryBaseMs?: number;
  readonly maxRetryBackoffMs?: number;
  readonly clock?: Clock;
}

interface ResolvedDynamoDbSinkOptions<T> {
  readonly tableName: string;
  readonly name: string;
  readonly label: string;
  readonly connection: ResolvedAwsConnection;
  readonly toItem: ((value: T) => Record<string, unknown>) | undefined;
  readonly maxBufferedItems: number;
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly maxRetryBackoffMs: number;
  readonly clock: Clock;
}

/** DynamoDB's limit of requests in one BatchWriteItem. */
const BATCH_WRITE_MAX_ITEMS = 25;

const OPTION_FIELDS = new Set(['tableName', 'name', 'toItem', 'maxBufferedItems', 'maxRetries', 'retryBaseMs', 'maxRetryBackoffMs', 'clock', ...AWS_CONNECTION_FIELDS]);

function resolveOptions<T>(options: DynamoDbSinkOptions<T>): ResolvedDynamoDbSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'DynamoDbSink');
  const { tableName, name, toItem } = options;
  if (typeof tableName !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(tableName)) {
    throw new ConfigurationError('tableName', `must be a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -), got ${JSON.stringify(tableName)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  if (toItem !== undefined && typeof toItem !== 'function') throw new ConfigurationError('toItem', `must be a function (record) => item, got ${typeof toItem}`);
  const resolvedName = name ?? tableName;
  return {
    tableName,
    name: resolvedName,
    label: `DynamoDB sink "${resolvedName}"`,
    connection: resolveAwsConnection(options),
    toItem,
    maxBufferedItems: positiveIntegerOption('maxBufferedItems', options.maxBufferedItems, 500, 'items'),
    maxRetries: positiveIntegerOption('maxRetries', options.maxRetries, 10, 'attempts'),
    retryBaseMs: positiveIntegerOption('retryBaseMs', options.retryBaseMs, 100, 'ms'),
    maxRetryBackoffMs: positiveIntegerOption('maxRetryBackoffMs', options.maxRetryBackoffMs, 5000, 'ms'),
    clock: options.clock ?? SystemClock.INSTANCE,
  };
}

/** What the writers count, for tests and status. */
export interface DynamoDbSinkCounters {
  batchWriteCalls: number;
  itemsWritten: number;
  /** Writes merged into a later write of the same key before being sent. */
  itemsMerged: number;
  /** Unprocessed items sent again. */
  itemsRetried: number;
}

export class DynamoDbSink<T = unknown> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedDynamoDbSinkOptions<T>;
  private readonly writers: DynamoDbSinkWriter<T>[] = [];

  constructor(options: DynamoDbSinkOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
  }

  /** Reads the table's key schema first: a missing table fails here, naming it. */
  async createWriter(_context: SinkWriterContext): Promise<SinkWriter<T>> {
    const { options } = this;
    const client = new DynamoDBClient(awsClientConfig(options.connection));
    let keyAttributes: string[];
    try {
      const table = await client.send(new DescribeTableCommand({ TableName: options.tableName }));
      keyAttributes = (table.Table?.KeySchema ?? []).map((k) => k.AttributeName!);
    } catch (error) {
      client.destroy();
      if (classifyAwsFailure(error) === 'not-found') {
        const where = options.connection.endpoint ?? `region ${options.connection.region}`;
        throw new ExternalSystemError(`${options.label}: table "${options.tableName}" does not exist at ${where} (setting tableName)`, { cause: error });
      }
      throw describeAwsFailure(options.label, options.connection, `DescribeTable of "${options.tableName}"`, error);
    }
    const writer = new DynamoDbSinkWriter<T>(options, client, keyAttributes);
    this.writers.push(writer);
    return writer;
  }

  counters(): DynamoDbSinkCounters {
    const sum: DynamoDbSinkCounters = { batchWriteCalls: 0, itemsWritten: 0, itemsMerged: 0, itemsRetried: 0 };
    for (const writer of this.writers) {
      for (const key of Object.keys(sum) as (keyof DynamoDbSinkCounters)[]) sum[key] += writer.counters[key];
    }
    return sum;
  }
}

class DynamoDbSinkWriter<T> implements SinkWriter<T> {
  readonly counters: DynamoDbSinkCounters = { batchWriteCalls: 0, itemsWritten: 0, itemsMerged: 0, itemsRetried: 0 };
  /** Items not sent yet, by their key (JSON of the key attributes): the last write of a key wins. */
  private pending = new Map<string, WriteRequest>();
  private readonly sender = new SerialBatchSender<WriteRequest[]>((requests) => this.writeRequests(requests));

  constructor(
    private readonly options: ResolvedDynamoDbSinkOptions<T>,
    private readonly client: DynamoDBClient,
    private readonly keyAttributes: readonly string[],
  ) {}

  write(value: T): void {
    this.sender.throwIfFailed();
    const { options } = this;
    const item = options.toItem ? options.toItem(value) : (value as Record<string, unknown>);
    if (typeof item !== 'object' || item === null) throw new UserFunctionError(`${options.label}: a record became ${JSON.stringify(item)}, not an item object (setting toItem)`);
    const keyValues = this.keyAttributes.map((attribute) => {
      const v = item[attribute];
      if (v === undefined || v === null) {
        throw new UserFunctionError(`${options.label}: an item has no key attribute "${attribute}" (the key of table "${options.tableName}" is ${this.keyAttributes.join(', ')}): ${JSON.stringify(item).slice(0, 200)}`);
      }
      return v;
    });
    const key = JSON.stringify(keyValues, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
    if (this.pending.delete(key)) this.counters.itemsMerged++;
    this.pending.set(key, { PutRequest: { Item: marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }) } });
    if (this.pending.size >= options.maxBufferedItems) this.flush();
  }

  async prepareCommit(): Promise<undefined> {
    this.sender.throwIfFailed();
    if (this.pending.size > 0) this.flush();
    await this.sender.drain();
    return undefined;
  }

  async commit(): Promise<void> {
    // Upserts are written by prepareCommit; a replay rewrites the same items.
  }

  private flush(): void {
    this.sender.enqueue([...this.pending.values()]);
    this.pending = new Map();
  }

  /** The requests in BatchWriteItem calls of DynamoDB's size, one after the other. */
  private async writeRequests(requests: WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX_ITEMS) await this.writeBatch(requests.slice(i, i + BATCH_WRITE_MAX_ITEMS));
  }

  /** One BatchWriteItem, then its unprocessed items again until none is left. */
  private async writeBatch(requests: WriteRequest[]): Promise<void> {
    const { options } = this;
    let pending = requests;
    for (let attempt = 0; ; attempt++) {
      try {
        this.counters.batchWriteCalls++;
        const response = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [options.tableName]: pending } }));
        const unprocessed = response.UnprocessedItems?.[options.tableName] ?? [];
        this.counters.itemsWritten += pending.length - unprocessed.length;
        if (unprocessed.length === 0) return;
        if (attempt >= options.maxRetries) {
          throw new ExternalSystemError(`${options.label}: ${unprocessed.length} items still unprocessed after ${attempt} retries of BatchWriteItem to "${options.tableName}" (setting maxRetries)`, { retriable: true });
        }
        this.counters.itemsRetried += unprocessed.length;
        pending = unprocessed;
      } catch (error) {
        if (error instanceof ExternalSystemError) throw error;
        const kind = classifyAwsFailure(error);
        if (kind === 'not-found') {
          throw new ExternalSystemError(`${options.label}: table "${options.tableName}" does not exist (setting tableName): ${(error as Error).message}`, { cause: error });
        }
        if (kind === 'permanent' || attempt >= options.maxRetries) {
          throw describeAwsFailure(options.label, options.connection, `BatchWriteItem to "${options.tableName}"${attempt > 0 ? ` (after ${attempt} retries)` : ''}`, error);
        }
      }
      await sleep(options.clock, backoffDelayMs(attempt, options.retryBaseMs, options.maxRetryBackoffMs));
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
