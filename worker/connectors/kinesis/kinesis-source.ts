// An unbounded source reading a Kinesis data stream by polling GetRecords, as Flink's Kinesis
// source does. Each shard is a split; its checkpointed position is the sequence number of the
// last record emitted (or where to start, or "read to the end"), so a restored job resumes
// AFTER_SEQUENCE_NUMBER exactly: nothing lost, nothing twice.
//
// Resharding: a child shard is read only after its parents have been read to their end (a closed
// shard ends when GetRecords returns no next iterator). The subtask that holds a child's
// `ParentShardId` claims the child when it finishes that parent; it is the only one holding the
// parent, so each new shard goes to exactly one subtask without a round trip to the coordinator
// (see kinesis-shards.ts). Those claims are the periodic shard discovery: a finished parent whose
// children are not listed yet is listed again every `shardDiscoveryIntervalMs`. Records of a
// child are emitted on the split index of the shard it descends from, so watermarks keep one
// generator per initial split. Limit: the adjacent parent of a merged child held by another
// subtask is not waited for (no cross-subtask signal); keys of that parent may see the child's
// records before its last ones.
//
// Throttling (ProvisionedThroughputExceeded, LimitExceeded) is retried with exponential backoff
// per shard, without end; other transient failures `maxRetries` times. The reader never awaits
// on the hot path: GetRecords calls run in the background and `poll` emits what has arrived.

import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, type _Record, type GetShardIteratorCommandInput } from '@aws-sdk/client-kinesis';
import type { PollStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SplitState } from '../../../shared/api/connectors.ts';
import { ConfigurationError, ExternalSystemError, RestoreError } from '../../../shared/errors.ts';
import { poisonRecordPolicy, rejectRecord, type PoisonRecordPolicy } from '../common/poison-records.ts';
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
import { compileDeserializer, recordAsText, type CompiledDeserializer, type KinesisDeserializer, type KinesisRecordOrigin } from './kinesis-deserializer.ts';
import { childrenToClaim, initialShards, listShards, type ShardInfo } from './kinesis-shards.ts';
import { checkKnownFields, positiveIntegerOption } from '../common/connector-options.ts';

export type KinesisStartPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

export interface KinesisSourceOptions<T> extends AwsConnectionOptions {
  readonly streamName: string;
  readonly name?: string;
  /** Where a fresh job starts in every shard. Default 'LATEST' (records written after the job starts). */
  readonly startPosition?: KinesisStartPosition;
  /** For 'AT_TIMESTAMP': records that arrived at or after this time (ms since the epoch). */
  readonly startTimestampMs?: number;
  /** Default 'json'. */
  readonly deserializer?: KinesisDeserializer<T>;
  /** What an unreadable record does: 'fail', 'skip' or 'dead-letter' (default). */
  readonly onPoisonRecord?: PoisonRecordPolicy;
  /** GetRecords Limit. Default 10000 (the service's maximum). */
  readonly maxRecordsPerFetch?: number;
  /** Wait after a GetRecords that found the shard caught up. Default 200 (Kinesis allows 5 calls/s per shard). */
  readonly idleFetchIntervalMs?: number;
  /** How often a finished parent whose children are not listed yet is listed again. Default 10000. */
  readonly shardDiscoveryIntervalMs?: number;
  /** First backoff after a throttled or failed call; doubles per attempt. Default 100. */
  readonly retryBaseMs?: number;
  readonly maxRetryBackoffMs?: number;
  /** Consecutive failures other than throttling before the job fails. Default 8. */
  readonly maxRetries?: number;
}

/** Where a shard is read from next: the checkpointed position of a split. */
export type KinesisShardPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestampMs: number }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string }
  /** Read to its end; its children are not claimed yet. */
  | { readonly type: 'SHARD_END' };

interface ResolvedKinesisSourceOptions {
  readonly streamName: string;
  readonly name: string;
  readonly label: string;
  readonly connection: ResolvedAwsConnection;
  readonly startPosition: KinesisStartPosition;
  readonly startTimestampMs: number | undefined;
  readonly deserialize: CompiledDeserializer;
  readonly onPoisonRecord: PoisonRecordPolicy;
  readonly maxRecordsPerFetch: number;
  readonly idleFetchIntervalMs: number;
  readonly shardDiscoveryIntervalMs: number;
  readonly retryBaseMs: number;
  readonly maxRetryBackoffMs: number;
  readonly maxRetries: number;
}

const OPTION_FIELDS = new Set([
  'streamName', 'name', 'startPosition', 'startTimestampMs', 'deserializer', 'onPoisonRecord', 'maxRecordsPerFetch',
  'idleFetchIntervalMs', 'shardDiscoveryIntervalMs', 'retryBaseMs', 'maxRetryBackoffMs', 'maxRetries', ...AWS_CONNECTION_FIELDS,
]);
const START_POSITIONS: readonly KinesisStartPosition[] = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'];

function resolveOptions<T>(options: KinesisSourceOptions<T>): ResolvedKinesisSourceOptions {
  checkKnownFields(options, OPTION_FIELDS, 'KinesisSource');
  const { streamName, name, startPosition = 'LATEST', startTimestampMs } = options;
  if (typeof streamName !== 'string' || !/^[a-zA-Z0-9_.-]{1,128}$/.test(streamName)) {
    throw new ConfigurationError('streamName', `must be a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -), got ${JSON.stringify(streamName)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  if (!START_POSITIONS.includes(startPosition)) throw new ConfigurationError('startPosition', `must be one of ${START_POSITIONS.join(', ')}, got ${JSON.stringify(startPosition)}`);
  if (startPosition === 'AT_TIMESTAMP' && (typeof startTimestampMs !== 'number' || !Number.isFinite(startTimestampMs) || startTimestampMs < 0)) {
    throw new ConfigurationError('startTimestampMs', `must be a time in ms since the epoch when startPosition is AT_TIMESTAMP, got ${String(startTimestampMs)}`);
  }
  if (startPosition !== 'AT_TIMESTAMP' && startTimestampMs !== undefined) throw new ConfigurationError('startTimestampMs', 'is only used with startPosition AT_TIMESTAMP');
  const resolvedName = name ?? streamName;
  return {
    streamName,
    name: resolvedName,
    label: `Kinesis source "${resolvedName}"`,
    connection: resolveAwsConnection(options),
    startPosition,
    startTimestampMs,
    deserialize: compileDeserializer(options.deserializer),
    onPoisonRecord: poisonRecordPolicy(options.onPoisonRecord, 'onPoisonRecord'),
    maxRecordsPerFetch: Math.min(10_000, positiveIntegerOption('maxRecordsPerFetch', options.maxRecordsPerFetch, 10_000, 'records')),
    idleFetchIntervalMs: positiveIntegerOption('idleFetchIntervalMs', options.idleFetchIntervalMs, 200, 'ms'),
    shardDiscoveryIntervalMs: positiveIntegerOption('shardDiscoveryIntervalMs', options.shardDiscoveryIntervalMs, 10_000, 'ms'),
    retryBaseMs: positiveIntegerOption('retryBaseMs', options.retryBaseMs, 100, 'ms'),
    maxRetryBackoffMs: positiveIntegerOption('maxRetryBackoffMs', options.maxRetryBackoffMs, 5000, 'ms'),
    maxRetries: positiveIntegerOption('maxRetries', options.maxRetries, 8, 'attempts'),
  };
}

export class KinesisSource<T = unknown> implements Source<T> {
  readonly name: string;
  readonly bounded = false;
  private readonly options: ResolvedKinesisSourceOptions;
  private readonly readers: KinesisShardReader<T>[] = [];

  constructor(options: KinesisSourceOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
  }

  /** The counters of every reader this source created in this process, summed. */
  counters(): KinesisReaderCounters {
    const sum: KinesisReaderCounters = { getRecordsCalls: 0, throttledRetries: 0, failedRetries: 0, expiredIterators: 0, shardsClaimed: 0 };
    for (const reader of this.readers) {
      for (const key of Object.keys(sum) as (keyof KinesisReaderCounters)[]) sum[key] += reader.counters[key];
    }
    return sum;
  }

  /**
   * The shards of a fresh job (see `initialShards`). 'LATEST' becomes "at the time of discovery",
   * so a checkpoint taken before a shard's first record still restores to the same point.
   */
  async discoverSplits(): Promise<SplitState[]> {
    const { options } = this;
    const client = new KinesisClient(awsClientConfig(options.connection));
    let shards: ShardInfo[];
    try {
      shards = await listShards(client, options.streamName);
    } catch (error) {
      throw describeSourceFailure(options, 'ListShards', error);
    } finally {
      client.destroy();
    }
    const start: KinesisShardPosition =
      options.startPosition === 'TRIM_HORIZON'
        ? { type: 'TRIM_HORIZON' }
        : { type: 'AT_TIMESTAMP', timestampMs: options.startPosition === 'AT_TIMESTAMP' ? options.startTimestampMs! : Date.now() };
    return initialShards(shards, options.startPosition !== 'LATEST').map((s) => ({ id: s.shardId, position: start }));
  }

  createReader(context: SourceReaderContext): SourceReader<T> {
    const reader = new KinesisShardReader<T>(this.options, context);
    this.readers.push(reader);
    return reader;
  }
}

function describeSourceFailure(options: ResolvedKinesisSourceOptions, action: string, error: unknown): ExternalSystemError {
  if (classifyAwsFailure(error) === 'not-found') {
    const where = options.connection.endpoint ?? `region ${options.connection.region}`;
    return new ExternalSystemError(`${options.label}: stream "${options.streamName}" does not exist at ${where} (setting streamName); ${action}: ${(error as Error).message}`, { cause: error });
  }
  return describeAwsFailure(options.label, options.connection, `${action} of stream "${options.streamName}"`, error);
}

/** One shard being read. `buffer[next…]` holds records fetched but not emitted yet. */
interface ShardState {
  readonly shardId: string;
  /** The split index its records are emitted on: its own, or its root's for a claimed child. */
  readonly slot: number;
  /** After the last record emitted: what a checkpoint holds. */
  position: KinesisShardPosition;
  iterator: string | undefined;
  /** The last record fetched, to get a new iterator after one expired. */
  lastFetchedSequence: string | undefined;
  buffer: _Record[];
  next: number;
  /** GetRecords returned no next iterator: the shard is closed and everything was fetched. */
  endFetched: boolean;
  fetching: boolean;
  nextFetchAtMs: number;
  consecutiveFailures: number;
}

/** What the reader counts, for tests and status. */
export interface KinesisReaderCounters {
  getRecordsCalls: number;
  throttledRetries: number;
  failedRetries: number;
  expiredIterators: number;
  shardsClaimed: number;
}

class KinesisShardReader<T> implements SourceReader<T> {
  readonly waitHintMs = 5;
  readonly counters: KinesisReaderCounters = { getRecordsCalls: 0, throttledRetries: 0, failedRetries: 0, expiredIterators: 0, shardsClaimed: 0 };
  private readonly client: KinesisClient;
  /** In the order of `addSplits`, then claimed children. */
  private readonly shards = new Map<string, ShardState>();
  /** Slots that still have a shard (watermarks wait for them). */
  private readonly slotCount: number[] = [];
  private fatal: Error | undefined;
  private rotation = 0;
  private discovering = false;
  private discoveryWanted = false;
  private nextDiscoveryAtMs = 0;
  private discoveryFailures = 0;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly options: ResolvedKinesisSourceOptions,
    private readonly context: SourceReaderContext,
  ) {
    this.client = new KinesisClient(awsClientConfig(options.connection));
  }

  addSplits(splits: readonly SplitState[]): void {
    for (const split of splits) {
      const position = parsePosition(this.options, split);
      this.addShard(split.id, this.slotCount.length, position);
      this.slotCount.push(1);
      if (position.type === 'SHARD_END') this.discoveryWanted = true;
    }
  }

  private addShard(shardId: string, slot: number, position: KinesisShardPosition): void {
    this.shards.set(shardId, {
      shardId,
      slot,
      position,
      iterator: undefined,
      lastFetchedSequence: undefined,
      buffer: [],
      next: 0,
      endFetched: position.type === 'SHARD_END',
      fetching: false,
      nextFetchAtMs: 0,
      consecutiveFailures: 0,
    });
  }

  poll(output: SourceOutput<T>, maxRecords: number): PollStatus {
    if (this.fatal) throw this.fatal;
    const now = this.context.now();
    const shards = [...this.shards.values()];
    let emitted = 0;
    // Start at a different shard each poll so that none starves the others.
    for (let i = 0; i < shards.length && emitted < maxRecords; i++) {
      const shard = shards[(this.rotation + i) % shards.length]!;
      emitted += this.emitBuffered(shard, output as SourceOutput<unknown>, maxRecords - emitted);
      if (shard.next >= shard.buffer.length && shard.endFetched && shard.position.type !== 'SHARD_END') {
        shard.position = { type: 'SHARD_END' };
        this.discoveryWanted = true;
      }
    }
    this.rotation = shards.length === 0 ? 0 : (this.rotation + 1) % shards.length;
    for (const shard of shards) {
      if (!shard.fetching && !shard.endFetched && shard.next >= shard.buffer.length && now >= shard.nextFetchAtMs) this.fetch(shard);
    }
    const finishedPending = shards.some((s) => s.position.type === 'SHARD_END');
    if (finishedPending && !this.discovering && (this.discoveryWanted || now >= this.nextDiscoveryAtMs)) this.discover(output as SourceOutput<unknown>);
    return emitted > 0 ? 'more' : 'wait';
  }

  private emitBuffered(shard: ShardState, output: SourceOutput<unknown>, budget: number): number {
    const end = Math.min(shard.buffer.length, shard.next + budget);
    const { streamName } = this.options;
    let emitted = 0;
    while (shard.next < end) {
      const record = shard.buffer[shard.next++]!;
      const sequenceNumber = record.SequenceNumber!;
      const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? this.context.now();
      const data = record.Data ?? new Uint8Array(0);
      let value: unknown;
      let ok = true;
      try {
        value = this.options.deserialize(data, { streamName, shardId: shard.shardId, sequenceNumber, partitionKey: record.PartitionKey ?? '', approximateArrivalTimestampMs: arrivalMs } satisfies KinesisRecordOrigin);
      } catch (error) {
        ok = false;
        rejectRecord(this.options.onPoisonRecord, output, {
          connector: this.options.label,
          raw: recordAsText(data),
          reason: error instanceof Error ? error.message : String(error),
          position: `stream ${streamName} ${shard.shardId} sequence ${sequenceNumber}`,
        });
        shard.position = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber }; // skipped or dead-lettered: not read again
      }
      if (ok) {
        shard.position = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber };
        output.collect(value, shard.slot, arrivalMs);
        emitted++;
      }
    }
    if (shard.next >= shard.buffer.length && shard.buffer.length > 0) {
      shard.buffer = [];
      shard.next = 0;
    }
    return emitted;
  }

  /** One GetRecords in the background (and GetShardIterator first when needed). */
  private fetch(shard: ShardState): void {
    shard.fetching = true;
    this.fetchOnce(shard).then(
      () => {
        shard.fetching = false;
        shard.consecutiveFailures = 0;
      },
      (error: unknown) => {
        shard.fetching = false;
        if (!this.closed) this.onFetchFailure(shard, error);
      },
    );
  }

  private async fetchOnce(shard: ShardState): Promise<void> {
    if (shard.iterator === undefined) shard.iterator = await this.shardIterator(shard);
    this.counters.getRecordsCalls++;
    const response = await this.client.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.options.maxRecordsPerFetch }), { abortSignal: this.abort.signal });
    if (this.closed) return;
    const records = response.Records ?? [];
    shard.iterator = response.NextShardIterator ?? undefined;
    if (records.length > 0) {
      // Only called once the buffer is emitted.
      shard.buffer = records;
      shard.next = 0;
      shard.lastFetchedSequence = records[records.length - 1]!.SequenceNumber;
    }
    if (shard.iterator === undefined) shard.endFetched = true;
    // Caught up (or nothing yet): wait before asking again; behind: ask as soon as the buffer is emitted.
    const caughtUp = records.length === 0 || response.MillisBehindLatest === 0;
    shard.nextFetchAtMs = caughtUp ? this.context.now() + this.options.idleFetchIntervalMs : 0;
  }

  private async shardIterator(shard: ShardState): Promise<string> {
    const { streamName } = this.options;
    const input: GetShardIteratorCommandInput = shard.lastFetchedSequence
      ? { StreamName: streamName, ShardId: shard.shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: shard.lastFetchedSequence }
      : iteratorInput(streamName, shard.shardId, shard.position);
    const response = await this.client.send(new GetShardIteratorCommand(input), { abortSignal: this.abort.signal });
    if (!response.ShardIterator) throw new ExternalSystemError(`${this.options.label}: GetShardIterator of ${shard.shardId} returned no iterator`);
    return response.ShardIterator;
  }

  private onFetchFailure(shard: ShardState, error: unknown): void {
    const kind = classifyAwsFailure(error);
    const name = (error as { name?: string }).name;
    if (name === 'ExpiredIteratorException') {
      this.counters.expiredIterators++;
      shard.iterator = undefined;
      return;
    }
    if (kind === 'throttled') {
      this.counters.throttledRetries++;
      shard.nextFetchAtMs = this.context.now() + backoffDelayMs(shard.consecutiveFailures++, this.options.retryBaseMs, this.options.maxRetryBackoffMs);
      return;
    }
    if (kind === 'transient' && shard.consecutiveFailures < this.options.maxRetries) {
      this.counters.failedRetries++;
      shard.iterator = undefined; // the failed call may have used it up
      shard.nextFetchAtMs = this.context.now() + backoffDelayMs(shard.consecutiveFailures++, this.options.retryBaseMs, this.options.maxRetryBackoffMs);
      return;
    }
    const action = `GetRecords of ${shard.shardId}${kind === 'transient' ? ` (after ${shard.consecutiveFailures} retries)` : ''}`;
    this.fatal ??= describeSourceFailure(this.options, action, error);
  }

  /** Lists the shards and claims the children of every finished shard (see `childrenToClaim`). */
  private discover(output: SourceOutput<unknown>): void {
    this.discovering = true;
    this.discoveryWanted = false;
    listShards(this.client, this.options.streamName, this.abort.signal).then(
      (listed) => {
        this.discovering = false;
        this.discoveryFailures = 0;
        if (this.closed) return;
        this.nextDiscoveryAtMs = this.context.now() + this.options.shardDiscoveryIntervalMs;
        this.claimChildren(listed, output);
      },
      (error: unknown) => {
        this.discovering = false;
        if (this.closed) return;
        const kind = classifyAwsFailure(error);
        if ((kind === 'throttled' || kind === 'transient') && this.discoveryFailures < this.options.maxRetries) {
          if (kind === 'throttled') this.counters.throttledRetries++;
          else this.counters.failedRetries++;
          this.nextDiscoveryAtMs = this.context.now() + backoffDelayMs(this.discoveryFailures++, this.options.retryBaseMs, this.options.maxRetryBackoffMs);
          return;
        }
        this.fatal ??= describeSourceFailure(this.options, 'ListShards (shard discovery)', error);
      },
    );
  }

  private claimChildren(listed: readonly ShardInfo[], output: SourceOutput<unknown>): void {
    const childStart: KinesisShardPosition =
      this.options.startPosition === 'AT_TIMESTAMP' ? { type: 'AT_TIMESTAMP', timestampMs: this.options.startTimestampMs! } : { type: 'TRIM_HORIZON' };
    const pendingHere = (shardId: string) => {
      const shard = this.shards.get(shardId);
      return shard !== undefined && shard.position.type !== 'SHARD_END';
    };
    for (const parent of [...this.shards.values()]) {
      if (parent.position.type !== 'SHARD_END') continue;
      const { claim, done } = childrenToClaim(listed, parent.shardId, pendingHere);
      if (!done) continue;
      for (const child of claim) {
        if (this.shards.has(child.shardId)) continue;
        this.addShard(child.shardId, parent.slot, childStart);
        this.slotCount[parent.slot]!++;
        this.counters.shardsClaimed++;
      }
      this.shards.delete(parent.shardId);
      if (--this.slotCount[parent.slot]! === 0) output.finishSplit(parent.slot);
    }
  }

  snapshotSplits(): SplitState[] {
    return [...this.shards.values()].map((s) => ({ id: s.shardId, position: s.position }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    this.client.destroy();
  }
}

function iteratorInput(streamName: string, shardId: string, position: KinesisShardPosition): GetShardIteratorCommandInput {
  switch (position.type) {
    case 'TRIM_HORIZON':
      return { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' };
    case 'AT_TIMESTAMP':
      return { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(position.timestampMs) };
    case 'AFTER_SEQUENCE_NUMBER':
      return { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: position.sequenceNumber };
    case 'SHARD_END':
      throw new Error(`shard ${shardId} was read to its end; it has no iterator`);
  }
}

function parsePosition(options: ResolvedKinesisSourceOptions, split: SplitState): KinesisShardPosition {
  const p = split.position as Partial<{ type: string; timestampMs: number; sequenceNumber: string }> | null;
  const valid =
    typeof split.id === 'string' &&
    typeof p === 'object' &&
    p !== null &&
    (p.type === 'TRIM_HORIZON' ||
      p.type === 'SHARD_END' ||
      (p.type === 'AT_TIMESTAMP' && typeof p.timestampMs === 'number') ||
      (p.type === 'AFTER_SEQUENCE_NUMBER' && typeof p.sequenceNumber === 'string' && /^\d+$/.test(p.sequenceNumber)));
  if (!valid) {
    throw new RestoreError(`${options.label}: split ${String(split.id)} has position ${JSON.stringify(split.position)}; expected a Kinesis shard position (TRIM_HORIZON, AT_TIMESTAMP, AFTER_SEQUENCE_NUMBER, SHARD_END)`);
  }
  return p as KinesisShardPosition;
}
