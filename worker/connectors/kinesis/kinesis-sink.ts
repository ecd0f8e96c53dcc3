// An at-least-once sink writing records to a Kinesis data stream with PutRecords, as Flink's
// KinesisStreamsSink. Records are batched up to 500 records or 5 MiB per call (the service's
// limits; a record with its partition key may have at most 1 MiB, a larger one fails the job with
// an error naming it). A partial failure retries only the failed entries, with exponential
// backoff. A checkpoint barrier flushes everything and waits for the acknowledgements, so a
// checkpoint completes only once its records are in the stream: a restore may write records of
// the last incomplete checkpoint again (at-least-once), never lose one.
//
// One PutRecords call is in flight at a time per subtask, so records of one partition key keep
// their order across batches; the retry of a partially failed batch may reorder the failed
// entries after later ones of the same batch (as with Kinesis's own clients).

import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
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

export interface KinesisSinkOptions<T> extends AwsConnectionOptions {
  readonly streamName: string;
  readonly name?: string;
  /** The partition key of a record (1 to 256 characters): it picks the shard, and order holds per key. */
  readonly partitionKey: (value: T) => string;
  /** The record's bytes. Default: JSON.stringify as UTF-8. */
  readonly serialize?: (value: T) => string | Uint8Array;
  /** Records per PutRecords. Default and maximum 500. */
  readonly maxBatchRecords?: number;
  /** Bytes (data + partition keys) per PutRecords. Default and maximum 5 MiB. */
  readonly maxBatchBytes?: number;
  /** Attempts for the failed entries of a call before the job fails. Default 10. */
  readonly maxRetries?: number;
  readonly retryBaseMs?: number;
  readonly maxRetryBackoffMs?: number;
  readonly clock?: Clock;
}

interface ResolvedKinesisSinkOptions<T> {
  readonly streamName: string;
  readonly name: string;
  readonly label: string;
  readonly connection: ResolvedAwsConnection;
  readonly partitionKey: (value: T) => string;
  readonly serialize: ((value: T) => string | Uint8Array) | undefined;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly maxRetryBackoffMs: number;
  readonly clock: Clock;
}

const MIB = 1024 * 1024;
/** Kinesis's limits: a record (data + partition key) 1 MiB, a PutRecords call 500 records and 5 MiB. */
export const KINESIS_MAX_RECORD_BYTES = MIB;
const KINESIS_MAX_BATCH_RECORDS = 500;
const KINESIS_MAX_BATCH_BYTES = 5 * MIB;

const OPTION_FIELDS = new Set([
  'streamName', 'name', 'partitionKey', 'serialize', 'maxBatchRecords', 'maxBatchBytes', 'maxRetries', 'retryBaseMs', 'maxRetryBackoffMs', 'clock', ...AWS_CONNECTION_FIELDS,
]);

function resolveOptions<T>(options: KinesisSinkOptions<T>): ResolvedKinesisSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'KinesisSink');
  const { streamName, name, partitionKey, serialize } = options;
  if (typeof streamName !== 'string' || !/^[a-zA-Z0-9_.-]{1,128}$/.test(streamName)) {
    throw new ConfigurationError('streamName', `must be a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -), got ${JSON.stringify(streamName)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  if (typeof partitionKey !== 'function') throw new ConfigurationError('partitionKey', `must be a function (record) => string, got ${typeof partitionKey}`);
  if (serialize !== undefined && typeof serialize !== 'function') throw new ConfigurationError('serialize', `must be a function (record) => string | Uint8Array, got ${typeof serialize}`);
  const maxBatchRecords = positiveIntegerOption('maxBatchRecords', options.maxBatchRecords, KINESIS_MAX_BATCH_RECORDS, 'records');
  const maxBatchBytes = positiveIntegerOption('maxBatchBytes', options.maxBatchBytes, KINESIS_MAX_BATCH_BYTES, 'bytes');
  if (maxBatchRecords > KINESIS_MAX_BATCH_RECORDS) throw new ConfigurationError('maxBatchRecords', `must be at most ${KINESIS_MAX_BATCH_RECORDS} (Kinesis's limit), got ${maxBatchRecords}`);
  if (maxBatchBytes > KINESIS_MAX_BATCH_BYTES) throw new ConfigurationError('maxBatchBytes', `must be at most ${KINESIS_MAX_BATCH_BYTES} (Kinesis's limit), got ${maxBatchBytes}`);
  const resolvedName = name ?? streamName;
  return {
    streamName,
    name: resolvedName,
    label: `Kinesis sink "${resolvedName}"`,
    connection: resolveAwsConnection(options),
    partitionKey,
    serialize,
    maxBatchRecords,
    maxBatchBytes,
    maxRetries: positiveIntegerOption('maxRetries', options.maxRetries, 10, 'attempts'),
    retryBaseMs: positiveIntegerOption('retryBaseMs', options.retryBaseMs, 100, 'ms'),
    maxRetryBackoffMs: positiveIntegerOption('maxRetryBackoffMs', options.maxRetryBackoffMs, 5000, 'ms'),
    clock: options.clock ?? SystemClock.INSTANCE,
  };
}

/** What the writers count, for tests and status. */
export interface KinesisSinkCounters {
  putRecordsCalls: number;
  recordsAcknowledged: number;
  /** Entries sent again after a partial failure. */
  entriesRetried: number;
  /** Whole calls sent again after throttling or a transient failure. */
  callsRetried: number;
}

export class KinesisSink<T = unknown> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedKinesisSinkOptions<T>;
  private readonly writers: KinesisSinkWriter<T>[] = [];

  constructor(options: KinesisSinkOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
  }

  createWriter(_context: SinkWriterContext): SinkWriter<T> {
    const writer = new KinesisSinkWriter<T>(this.options);
    this.writers.push(writer);
    return writer;
  }

  /** The counters of every writer this sink created in this process, summed. */
  counters(): KinesisSinkCounters {
    const sum: KinesisSinkCounters = { putRecordsCalls: 0, recordsAcknowledged: 0, entriesRetried: 0, callsRetried: 0 };
    for (const writer of this.writers) {
      for (const key of Object.keys(sum) as (keyof KinesisSinkCounters)[]) sum[key] += writer.counters[key];
    }
    return sum;
  }
}

interface Entry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly bytes: number;
}

const encoder = new TextEncoder();

class KinesisSinkWriter<T> implements SinkWriter<T> {
  readonly counters: KinesisSinkCounters = { putRecordsCalls: 0, recordsAcknowledged: 0, entriesRetried: 0, callsRetried: 0 };
  private readonly client: KinesisClient;
  private batch: Entry[] = [];
  private batchBytes = 0;
  /** One PutRecords call in flight at a time. */
  private readonly sender = new SerialBatchSender<Entry[]>((entries) => this.put(entries));

  constructor(private readonly options: ResolvedKinesisSinkOptions<T>) {
    this.client = new KinesisClient(awsClientConfig(options.connection));
  }

  write(value: T): void {
    this.sender.throwIfFailed();
    const { options } = this;
    const partitionKey = options.partitionKey(value);
    if (typeof partitionKey !== 'string' || partitionKey.length === 0 || partitionKey.length > 256) {
      throw new UserFunctionError(`${options.label}: partitionKey returned ${JSON.stringify(partitionKey)}; it must be a string of 1 to 256 characters (setting partitionKey)`);
    }
    const serialized = options.serialize ? options.serialize(value) : JSON.stringify(value);
    const data = typeof serialized === 'string' ? encoder.encode(serialized) : serialized;
    const bytes = data.byteLength + Buffer.byteLength(partitionKey);
    if (bytes > KINESIS_MAX_RECORD_BYTES) {
      const preview = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 80)).toString('utf8');
      throw new UserFunctionError(
        `${options.label}: the record with partition key ${JSON.stringify(partitionKey)} has ${bytes} bytes (data and key), over Kinesis's limit of ${KINESIS_MAX_RECORD_BYTES}; it starts ${JSON.stringify(preview)}`,
      );
    }
    if (this.batch.length >= options.maxBatchRecords || this.batchBytes + bytes > options.maxBatchBytes) this.sendBatch();
    this.batch.push({ data, partitionKey, bytes });
    this.batchBytes += bytes;
  }

  /** Sends what is batched and waits for every record written so far to be acknowledged. */
  async prepareCommit(): Promise<undefined> {
    this.sender.throwIfFailed();
    if (this.batch.length > 0) this.sendBatch();
    await this.sender.drain();
    return undefined;
  }

  async commit(): Promise<void> {
    // At-least-once: prepareCommit already waited for the acknowledgements.
  }

  private sendBatch(): void {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.sender.enqueue(batch);
  }

  /** PutRecords until every entry is acknowledged, resending only the failed ones. */
  private async put(entries: Entry[]): Promise<void> {
    const { options } = this;
    let pending = entries;
    for (let attempt = 0; ; attempt++) {
      const records: PutRecordsRequestEntry[] = pending.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey }));
      let failed: Entry[];
      let lastError: string;
      try {
        this.counters.putRecordsCalls++;
        const response = await this.client.send(new PutRecordsCommand({ StreamName: options.streamName, Records: records }));
        const results = response.Records ?? [];
        failed = pending.filter((_, i) => results[i]?.ErrorCode !== undefined || results[i] === undefined);
        this.counters.recordsAcknowledged += pending.length - failed.length;
        if (failed.length === 0) return;
        const firstError = results.find((r) => r.ErrorCode !== undefined);
        lastError = `${failed.length} of ${pending.length} entries failed, e.g. ${firstError?.ErrorCode}: ${firstError?.ErrorMessage}`;
        this.counters.entriesRetried += failed.length;
      } catch (error) {
        const kind = classifyAwsFailure(error);
        if (kind === 'not-found') {
          throw new ExternalSystemError(`${options.label}: stream "${options.streamName}" does not exist at ${options.connection.endpoint ?? `region ${options.connection.region}`} (setting streamName)`, { cause: error });
        }
        if (kind === 'permanent' || attempt >= options.maxRetries) throw describeAwsFailure(options.label, options.connection, `PutRecords to stream "${options.streamName}"${attempt > 0 ? ` (after ${attempt} retries)` : ''}`, error);
        failed = pending;
        lastError = (error as Error).message;
        this.counters.callsRetried++;
      }
      if (attempt >= options.maxRetries) {
        throw new ExternalSystemError(`${options.label}: PutRecords to stream "${options.streamName}" still failing after ${attempt} retries: ${lastError} (setting maxRetries)`, { retriable: true });
      }
      pending = failed;
      await sleep(options.clock, backoffDelayMs(attempt, options.retryBaseMs, options.maxRetryBackoffMs));
    }
  }

  async close(): Promise<void> {
    // Records not flushed by a checkpoint are not acknowledged to anyone; a restore writes them again.
    this.client.destroy();
  }
}
