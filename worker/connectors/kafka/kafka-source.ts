// The Kafka (and Amazon MSK) source. Each topic partition is one split; its position is the next
// offset to read. `discoverSplits` resolves the starting offsets once (earliest, latest,
// committed, by timestamp, explicit), the runtime assigns splits to subtasks and keeps their
// positions in checkpoints, so a restored job reads on from exactly the checkpointed offsets.
// Offsets are committed back to Kafka under `groupId` only so that lag tools see progress.
//
// How it reads: kafkajs's consumer assigns partitions through consumer-group rebalancing, which
// would fight the runtime's split assignment. The reader sends Fetch requests itself, to each
// partition's leader, through kafkajs's cluster layer (partition-fetcher.ts): manual assignment,
// seek = the offset in the next request, `read_committed` by default (aborted transactions and
// control records dropped). One fetch round is in flight in the background while `poll` hands
// buffered records to the job synchronously, so the hot path has no await per record.
//
// Partition discovery (opt-in, `partitionDiscoveryIntervalMs`): the split of partition 0 of each
// topic carries the number of partitions of that topic already handed out (and, for a topic
// pattern, the first split carries the topics already known). The reader that holds that split —
// exactly one at any time, whatever restores and rescales did, because it moves with the
// checkpoint like any split — adds the new partitions (from their earliest offset) as its own
// splits and raises the count. No coordinator round trip, and no partition is read twice: a
// partition numbered below the count was handed out before, and only one reader raises it.
// (A `hash % parallelism` rule for new partitions would collide with the runtime's round-robin
// of the first splits and with rescaled restores; owning the count in a split cannot.)
// New splits get split indices after the ones given to `addSplits`.

import { setTimeout as delay } from 'node:timers/promises';

import type { PollStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SplitState } from '../../../shared/api/connectors.ts';
import { ConfigurationError, ExternalSystemError, RestoreError } from '../../../shared/errors.ts';
import { poisonRecordPolicy, rejectRecord, type PoisonRecordPolicy } from '../common/poison-records.ts';
import {
  CONNECTION_FIELDS,
  READ_COMMITTED,
  READ_UNCOMMITTED,
  describeKafkaFailure,
  kafkaClient,
  kafkaCluster,
  positiveMs,
  resolveConnection,
  type KafkaCluster,
  type KafkaConnectionOptions,
  type RawMessage,
  type ResolvedKafkaConnection,
} from './kafka-client.ts';
import { PoisonRecordReason, recordDecoder, type KafkaDeserializer, type KafkaRecord, type RecordDecoder } from './kafka-deserializers.ts';
import { PartitionFetcher, isStaleMetadataError, type FetchedPartition } from './partition-fetcher.ts';
import { checkKnownFields } from '../common/connector-options.ts';

export type KafkaStartingOffsets =
  | 'earliest'
  | 'latest'
  /** The group's committed offsets (`groupId`); partitions without one start at the earliest. */
  | 'committed'
  /** The first record at or after this time (ms); partitions with none start at their end. */
  | { readonly timestamp: number }
  /** Offsets per topic and partition; partitions not listed start at the earliest. */
  | { readonly offsets: Readonly<Record<string, Readonly<Record<number, number | string>>>> };

export interface KafkaSourceOptions<T> extends KafkaConnectionOptions {
  readonly name?: string;
  /** The topics to read; or `topicPattern`. */
  readonly topics?: readonly string[];
  /** Every topic whose whole name matches (not starting with `__`). */
  readonly topicPattern?: RegExp;
  /** Default 'json'. */
  readonly deserializer?: KafkaDeserializer<T>;
  /** Where a fresh job starts; a restored job starts at its checkpoint. Default 'earliest'. */
  readonly startingOffsets?: KafkaStartingOffsets;
  /** Read only committed transactional records (read_committed). Default true. */
  readonly readCommitted?: boolean;
  /** 'fail', 'skip' or 'dead-letter' (default) for records that cannot be read. */
  readonly onPoisonRecord?: PoisonRecordPolicy;
  /** A record whose value is larger is a poison record. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /** Offsets are committed to this group after each checkpoint snapshot, for monitoring only. */
  readonly groupId?: string;
  /** How often to look for new partitions (and new topics of a pattern); off when not set. */
  readonly partitionDiscoveryIntervalMs?: number;
  /** How long a fetch waits on the broker for records. Default 250. */
  readonly fetchMaxWaitMs?: number;
  /** Default 1 MiB. */
  readonly fetchMaxBytesPerPartition?: number;
}

/** A split's checkpointed position. */
export interface KafkaSplitPosition {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (decimal string: offsets are 64-bit). */
  readonly offset: string;
  /** On the split of partition 0: the partitions of its topic handed out so far. */
  readonly knownPartitions?: number;
  /** On the first split of a topic-pattern source: the topics handed out so far. */
  readonly knownTopics?: readonly string[];
}

interface ResolvedKafkaSourceOptions<T> {
  readonly name: string;
  readonly connector: string;
  readonly connection: ResolvedKafkaConnection;
  readonly topics: readonly string[] | undefined;
  readonly topicPattern: RegExp | undefined;
  readonly decode: RecordDecoder<T>;
  readonly startingOffsets: KafkaStartingOffsets;
  readonly readCommitted: boolean;
  readonly onPoisonRecord: PoisonRecordPolicy;
  readonly maxRecordBytes: number;
  readonly groupId: string | undefined;
  readonly partitionDiscoveryIntervalMs: number | undefined;
  readonly fetchMaxWaitMs: number;
  readonly fetchMaxBytesPerPartition: number;
}

const OPTION_FIELDS = new Set<string>([
  ...CONNECTION_FIELDS,
  'name',
  'topics',
  'topicPattern',
  'deserializer',
  'startingOffsets',
  'readCommitted',
  'onPoisonRecord',
  'maxRecordBytes',
  'groupId',
  'partitionDiscoveryIntervalMs',
  'fetchMaxWaitMs',
  'fetchMaxBytesPerPartition',
]);

const MIB = 1024 * 1024;
/** A fetch round starts only while fewer records than this wait in the buffer. */
const MAX_BUFFERED_RECORDS = 50_000;
/** How long fetches may keep failing with moved leaders or lost connections before the job fails. */
const FETCH_RETRY_BUDGET_MS = 60_000;
/** discoverSplits asks this many times when a broker does not lead a partition yet, waiting 100, 200, 400… ms between. */
const DISCOVERY_ATTEMPTS = 6;
const DISCOVERY_RETRY_DELAY_MS = 100;

function resolveOptions<T>(options: KafkaSourceOptions<T>): ResolvedKafkaSourceOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'KafkaSource');
  const name = options.name ?? 'Kafka';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigurationError('name', 'must be a non-empty string');
  const connector = `Kafka source "${name}"`;
  const { topics, topicPattern } = options;
  if ((topics === undefined) === (topicPattern === undefined)) throw new ConfigurationError('topics', `${connector}: give either topics or topicPattern`);
  if (topics !== undefined) {
    if (!Array.isArray(topics) || topics.length === 0) throw new ConfigurationError('topics', `${connector}: must be a non-empty array of topic names`);
    topics.forEach((t, i) => {
      if (typeof t !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(t)) throw new ConfigurationError(`topics[${i}]`, `${connector}: not a valid topic name: ${JSON.stringify(t)}`);
    });
  }
  if (topicPattern !== undefined && !(topicPattern instanceof RegExp)) throw new ConfigurationError('topicPattern', `${connector}: must be a RegExp`);
  const startingOffsets = options.startingOffsets ?? 'earliest';
  checkStartingOffsets(startingOffsets, connector);
  if (startingOffsets === 'committed' && options.groupId === undefined) throw new ConfigurationError('groupId', `${connector}: startingOffsets 'committed' needs a groupId`);
  if (options.groupId !== undefined && (typeof options.groupId !== 'string' || options.groupId.length === 0)) throw new ConfigurationError('groupId', `${connector}: must be a non-empty string`);
  return {
    name,
    connector,
    connection: resolveConnection(options, `sluice-${name}`),
    topics: topics === undefined ? undefined : [...new Set(topics)],
    topicPattern,
    decode: recordDecoder(options.deserializer),
    startingOffsets,
    readCommitted: options.readCommitted ?? true,
    onPoisonRecord: poisonRecordPolicy(options.onPoisonRecord, 'onPoisonRecord'),
    maxRecordBytes: positiveMs('maxRecordBytes', options.maxRecordBytes, MIB),
    groupId: options.groupId,
    partitionDiscoveryIntervalMs: options.partitionDiscoveryIntervalMs === undefined ? undefined : positiveMs('partitionDiscoveryIntervalMs', options.partitionDiscoveryIntervalMs, 0),
    fetchMaxWaitMs: positiveMs('fetchMaxWaitMs', options.fetchMaxWaitMs, 250),
    fetchMaxBytesPerPartition: positiveMs('fetchMaxBytesPerPartition', options.fetchMaxBytesPerPartition, MIB),
  };
}

function checkStartingOffsets(value: KafkaStartingOffsets, connector: string): void {
  if (value === 'earliest' || value === 'latest' || value === 'committed') return;
  if (typeof value === 'object' && value !== null) {
    if ('timestamp' in value && Number.isFinite(value.timestamp)) return;
    if ('offsets' in value && typeof value.offsets === 'object' && value.offsets !== null) return;
  }
  throw new ConfigurationError('startingOffsets', `${connector}: must be 'earliest', 'latest', 'committed', { timestamp } or { offsets }, got ${JSON.stringify(value)}`);
}

export class KafkaSource<T = unknown> implements Source<T> {
  readonly name: string;
  readonly bounded = false;
  private readonly options: ResolvedKafkaSourceOptions<T>;

  constructor(options: KafkaSourceOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
  }

  /**
   * One split per partition of the topics, sorted by topic then partition, at the resolved starting
   * offsets. A broker that answers for a partition it does not lead yet (a topic created or grown a
   * moment ago, a leader moving) is asked again with fresh metadata, a few times.
   */
  async discoverSplits(): Promise<SplitState[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.discoverSplitsOnce();
      } catch (error) {
        if (attempt >= DISCOVERY_ATTEMPTS || !(error instanceof ExternalSystemError) || !isStaleMetadataError(error.cause)) throw error;
        await delay(DISCOVERY_RETRY_DELAY_MS * 2 ** (attempt - 1));
      }
    }
  }

  private async discoverSplitsOnce(): Promise<SplitState[]> {
    const { connector, connection } = this.options;
    const client = kafkaClient(connection, 2);
    const cluster = kafkaCluster(client, { isolationLevel: this.options.readCommitted ? READ_COMMITTED : READ_UNCOMMITTED });
    try {
      await cluster.connect();
      const topics = await resolveTopics(cluster, this.options);
      await cluster.addMultipleTargetTopics([...topics]);
      const positions: KafkaSplitPosition[] = [];
      const offsets = await this.startingOffsets(client, cluster, topics);
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
        for (const partition of partitions) {
          const offset = offsets.get(`${topic}/${partition}`);
          if (offset === undefined) throw new ExternalSystemError(`${connector}: no starting offset resolved for topic ${topic} partition ${partition}`);
          positions.push({ topic, partition, offset, ...(partition === 0 ? { knownPartitions: partitions.length } : {}) });
        }
      }
      if (this.options.topicPattern !== undefined && positions.length > 0) positions[0] = { ...positions[0]!, knownTopics: topics };
      return positions.map((position) => ({ id: splitId(position.topic, position.partition), position }));
    } catch (error) {
      throw describeKafkaFailure(connector, connection, error, 'discovering partitions and starting offsets');
    } finally {
      await cluster.disconnect().catch(() => {});
    }
  }

  /** `topic/partition` → the offset a fresh job starts at. */
  private async startingOffsets(client: ReturnType<typeof kafkaClient>, cluster: KafkaCluster, topics: readonly string[]): Promise<Map<string, string>> {
    const spec = this.options.startingOffsets;
    const request = topics.map((topic) => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId })) }));
    const result = new Map<string, string>();
    const put = (rows: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>) => {
      for (const { topic, partitions } of rows) for (const { partition, offset } of partitions) result.set(`${topic}/${partition}`, offset);
    };
    if (spec === 'latest') {
      put(await cluster.fetchTopicsOffset(request.map((r) => ({ ...r, fromBeginning: false }))));
      return result;
    }
    // Everything else falls back to the earliest offset where it names none.
    put(await cluster.fetchTopicsOffset(request.map((r) => ({ ...r, fromBeginning: true }))));
    if (spec === 'earliest') return result;
    if (spec === 'committed') {
      const admin = client.admin();
      await admin.connect();
      try {
        const committed = await admin.fetchOffsets({ groupId: this.options.groupId!, topics: [...topics] });
        for (const { topic, partitions } of committed) {
          for (const { partition, offset } of partitions) if (offset !== '-1') result.set(`${topic}/${partition}`, offset);
        }
      } finally {
        await admin.disconnect().catch(() => {});
      }
      return result;
    }
    if ('timestamp' in spec) {
      const latest = new Map<string, string>();
      for (const { topic, partitions } of await cluster.fetchTopicsOffset(request.map((r) => ({ ...r, fromBeginning: false })))) {
        for (const { partition, offset } of partitions) latest.set(`${topic}/${partition}`, offset);
      }
      for (const { topic, partitions } of await cluster.fetchTopicsOffset(request.map((r) => ({ ...r, fromTimestamp: spec.timestamp })))) {
        // -1: no record at or after the time; start at the end.
        for (const { partition, offset } of partitions) result.set(`${topic}/${partition}`, offset === '-1' ? latest.get(`${topic}/${partition}`)! : offset);
      }
      return result;
    }
    for (const [topic, byPartition] of Object.entries(spec.offsets)) {
      if (!topics.includes(topic)) throw new ConfigurationError('startingOffsets', `${this.options.connector}: offsets given for topic "${topic}", which this source does not read`);
      for (const [partition, offset] of Object.entries(byPartition)) {
        if (!result.has(`${topic}/${partition}`)) throw new ConfigurationError('startingOffsets', `${this.options.connector}: topic "${topic}" has no partition ${partition}`);
        if (!/^\d+$/.test(String(offset))) throw new ConfigurationError('startingOffsets', `${this.options.connector}: offset for ${topic} partition ${partition} must be a non-negative integer, got ${JSON.stringify(offset)}`);
        result.set(`${topic}/${partition}`, String(offset));
      }
    }
    return result;
  }

  createReader(context: SourceReaderContext): SourceReader<T> {
    return new KafkaSourceReader<T>(this.options, context);
  }
}

/** The topics a source reads now: its list, each checked to exist, or the pattern's matches. */
async function resolveTopics(cluster: KafkaCluster, options: ResolvedKafkaSourceOptions<unknown>): Promise<string[]> {
  const { topicMetadata } = await cluster.metadata({ topics: [] });
  const existing = new Set(topicMetadata.map((t) => t.topic));
  if (options.topics !== undefined) {
    for (const topic of options.topics) {
      if (!existing.has(topic)) {
        throw new ConfigurationError('topics', `${options.connector}: topic "${topic}" does not exist on ${options.connection.brokers.join(',')} (setting topics; create it first, topics are not created on use)`);
      }
    }
    return [...options.topics];
  }
  const matching = [...existing].filter((t) => !t.startsWith('__') && wholeMatch(options.topicPattern!, t)).sort();
  if (matching.length === 0) throw new ConfigurationError('topicPattern', `${options.connector}: no topic on ${options.connection.brokers.join(',')} matches ${String(options.topicPattern)}`);
  return matching;
}

function wholeMatch(pattern: RegExp, text: string): boolean {
  const match = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).exec(text);
  return match !== null && match.index === 0 && match[0].length === text.length;
}

function splitId(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

function parsePosition(split: SplitState, connector: string): KafkaSplitPosition {
  const p = split.position as Partial<KafkaSplitPosition> | null;
  if (typeof p !== 'object' || p === null || typeof p.topic !== 'string' || !Number.isSafeInteger(p.partition) || typeof p.offset !== 'string' || !/^\d+$/.test(p.offset)) {
    throw new RestoreError(`${connector}: split ${split.id} has position ${JSON.stringify(split.position)}, not { topic, partition, offset }`);
  }
  return p as KafkaSplitPosition;
}

/** One partition being read. */
interface PartitionSplit {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to hand to the job: the checkpointed position. */
  emittedOffset: number;
  /** The next offset to fetch (ahead of emittedOffset by what is buffered). */
  fetchOffset: number;
  knownPartitions: number | undefined;
  knownTopics: string[] | undefined;
  /** The partition's high watermark in the last fetch answer: where the backlog ends. */
  highWatermark: number | undefined;
}

/** Records fetched for one split, handed out from `next`. */
interface BufferedChunk {
  readonly splitIndex: number;
  readonly records: RawMessage[];
  next: number;
  readonly nextOffset: number;
}

class KafkaSourceReader<T> implements SourceReader<T> {
  readonly waitHintMs = 5;
  private readonly splits: PartitionSplit[] = [];
  private readonly chunks: BufferedChunk[] = [];
  private cluster: KafkaCluster | undefined;
  private fetcher: PartitionFetcher | undefined;
  private inFlight: Promise<void> | undefined;
  /** The first error of the background fetch; thrown by the next poll. */
  private failure: Error | undefined;
  private failingSinceMs: number | undefined;
  private lastDiscoveryMs: number;
  private discovering = false;
  private committing = false;
  private closed = false;

  constructor(private readonly options: ResolvedKafkaSourceOptions<T>, private readonly context: SourceReaderContext) {
    this.lastDiscoveryMs = context.now();
  }

  async addSplits(splits: readonly SplitState[]): Promise<void> {
    for (const split of splits) {
      const p = parsePosition(split, this.options.connector);
      const offset = Number(p.offset);
      this.splits.push({ topic: p.topic, partition: p.partition, emittedOffset: offset, fetchOffset: offset, knownPartitions: p.knownPartitions, knownTopics: p.knownTopics === undefined ? undefined : [...p.knownTopics], highWatermark: undefined });
    }
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.cluster !== undefined) return;
    const { connector, connection } = this.options;
    const isolationLevel = this.options.readCommitted ? READ_COMMITTED : READ_UNCOMMITTED;
    const cluster = kafkaCluster(kafkaClient(connection), { isolationLevel });
    try {
      await cluster.connect();
      const topics = [...new Set(this.splits.map((s) => s.topic))];
      if (topics.length > 0) await cluster.addMultipleTargetTopics(topics);
    } catch (error) {
      await cluster.disconnect().catch(() => {});
      throw describeKafkaFailure(connector, connection, error, `connecting reader ${this.context.subtaskIndex}`);
    }
    this.cluster = cluster;
    this.fetcher = new PartitionFetcher(cluster, {
      isolationLevel,
      maxWaitMs: this.options.fetchMaxWaitMs,
      maxBytesPerPartition: this.options.fetchMaxBytesPerPartition,
      maxBytes: Math.max(this.options.fetchMaxBytesPerPartition, 50 * MIB),
    });
  }

  poll(output: SourceOutput<T>, maxRecords: number): PollStatus {
    if (this.failure) throw this.failure;
    let budget = Math.max(1, maxRecords);
    while (budget > 0 && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const split = this.splits[chunk.splitIndex]!;
      const start = chunk.next;
      const end = Math.min(chunk.records.length, start + budget);
      for (let i = start; i < end; i++) {
        const record = chunk.records[i]!;
        chunk.next = i + 1; // before emitting: after a 'fail' policy error the record is not handed out again
        split.emittedOffset = Number(record.offset) + 1;
        this.emit(record, split, chunk.splitIndex, output);
      }
      budget -= end - start;
      if (chunk.next >= chunk.records.length) {
        split.emittedOffset = Math.max(split.emittedOffset, chunk.nextOffset);
        this.chunks.shift();
      }
    }
    this.maybeDiscover();
    this.startFetch();
    return this.chunks.length > 0 ? 'more' : 'wait';
  }

  private emit(record: RawMessage, split: PartitionSplit, splitIndex: number, output: SourceOutput<T>): void {
    const kafkaRecord: KafkaRecord = {
      topic: split.topic,
      partition: split.partition,
      offset: Number(record.offset),
      timestamp: Number(record.timestamp),
      key: record.key,
      value: record.value,
      headers: record.headers,
    };
    const size = record.value?.length ?? 0;
    let value: T;
    try {
      if (size > this.options.maxRecordBytes) throw new PoisonRecordReason(`value is ${size} bytes, more than maxRecordBytes ${this.options.maxRecordBytes}`);
      value = this.options.decode(kafkaRecord);
    } catch (error) {
      if (!(error instanceof PoisonRecordReason)) throw error;
      const raw = record.value === null ? '' : record.value.toString('utf8', 0, Math.min(record.value.length, 8192));
      rejectRecord(this.options.onPoisonRecord, output as SourceOutput<unknown>, {
        connector: this.options.connector,
        raw,
        reason: `record ${error.message}`,
        position: `topic ${split.topic} partition ${split.partition} offset ${record.offset}`,
      });
      return;
    }
    output.collect(value, splitIndex, kafkaRecord.timestamp);
  }

  /** Starts a fetch round in the background unless one runs or the buffer is full. */
  private startFetch(): void {
    if (this.inFlight || this.closed || this.fetcher === undefined || this.splits.length === 0) return;
    const buffered = this.chunks.reduce((n, c) => n + c.records.length - c.next, 0);
    if (buffered >= MAX_BUFFERED_RECORDS) return;
    // Fetches run ahead of what is handed out; chunks queue in arrival order, so each split's
    // records stay in offset order.
    const request = this.splits.map((s) => ({ topic: s.topic, partition: s.partition, offset: String(s.fetchOffset) }));
    const fetcher = this.fetcher;
    this.inFlight = fetcher
      .fetchOnce(request)
      .then((fetched) => this.onFetched(fetched), (error) => this.onFetchError(error))
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  private onFetched(fetched: FetchedPartition[]): void {
    this.failingSinceMs = undefined;
    if (this.closed) return;
    for (const f of fetched) {
      const splitIndex = this.splits.findIndex((s) => s.topic === f.topic && s.partition === f.partition);
      const split = this.splits[splitIndex];
      if (split === undefined) continue;
      split.highWatermark = Number(f.highWatermark);
      const nextOffset = Number(f.nextOffset);
      if (nextOffset <= split.fetchOffset) continue;
      split.fetchOffset = nextOffset;
      this.chunks.push({ splitIndex, records: f.records, next: 0, nextOffset });
    }
  }

  private async onFetchError(error: unknown): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    this.failingSinceMs ??= now;
    const e = error as { type?: string; name?: string; partition?: number; topic?: string };
    if (e.type === 'OFFSET_OUT_OF_RANGE') {
      const split = this.splits.find((s) => s.topic === e.topic && s.partition === e.partition);
      this.failure = new ExternalSystemError(
        `${this.options.connector}: offset ${split?.fetchOffset ?? '?'} of topic ${e.topic} partition ${e.partition} is out of range ` +
          '(deleted by retention, or the topic was recreated); records were lost before this job read them',
        { cause: error },
      );
      return;
    }
    const retriable = isStaleMetadataError(error) || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSRequestTimeoutError';
    if (!retriable || now - this.failingSinceMs > FETCH_RETRY_BUDGET_MS) {
      this.failure = describeKafkaFailure(this.options.connector, this.options.connection, error, `fetching records (reader ${this.context.subtaskIndex})`);
      return;
    }
    await this.cluster?.refreshMetadata().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  /** Looks for new partitions of the topics whose discovery split this reader holds. */
  private maybeDiscover(): void {
    const interval = this.options.partitionDiscoveryIntervalMs;
    if (interval === undefined || this.discovering || this.cluster === undefined) return;
    const now = this.context.now();
    if (now - this.lastDiscoveryMs < interval) return;
    this.lastDiscoveryMs = now;
    const owners = this.splits.filter((s) => s.knownPartitions !== undefined || s.knownTopics !== undefined);
    if (owners.length === 0) return;
    this.discovering = true;
    void this.discover(owners)
      .catch((error) => {
        this.failure ??= describeKafkaFailure(this.options.connector, this.options.connection, error, 'discovering new partitions');
      })
      .finally(() => {
        this.discovering = false;
      });
  }

  private async discover(owners: PartitionSplit[]): Promise<void> {
    const cluster = this.cluster!;
    const { topicMetadata } = await cluster.metadata({ topics: [] });
    const partitionCount = new Map(topicMetadata.map((t) => [t.topic, t.partitionMetadata.length]));
    const added: Array<{ topic: string; partition: number; owner: boolean }> = [];
    // What the owners will know once the new partitions' offsets are read: nothing changes before.
    const learned: Array<() => void> = [];
    for (const owner of owners) {
      if (owner.knownTopics !== undefined && this.options.topicPattern !== undefined) {
        const known = new Set(owner.knownTopics);
        const fresh = [...partitionCount.keys()].filter((t) => !known.has(t) && !t.startsWith('__') && wholeMatch(this.options.topicPattern!, t)).sort();
        for (const topic of fresh) {
          for (let p = 0; p < partitionCount.get(topic)!; p++) added.push({ topic, partition: p, owner: p === 0 });
        }
        if (fresh.length > 0) learned.push(() => owner.knownTopics!.push(...fresh));
      }
      if (owner.knownPartitions !== undefined) {
        const now = partitionCount.get(owner.topic) ?? 0;
        for (let p = owner.knownPartitions; p < now; p++) added.push({ topic: owner.topic, partition: p, owner: false });
        if (now > owner.knownPartitions) learned.push(() => (owner.knownPartitions = now));
      }
    }
    if (added.length === 0) return;
    await cluster.addMultipleTargetTopics([...new Set([...this.splits.map((s) => s.topic), ...added.map((a) => a.topic)])]);
    let earliest: Awaited<ReturnType<KafkaCluster['fetchTopicsOffset']>>;
    try {
      earliest = await cluster.fetchTopicsOffset(
        [...new Set(added.map((a) => a.topic))].map((topic) => ({ topic, fromBeginning: true, partitions: added.filter((a) => a.topic === topic).map((a) => ({ partition: a.partition })) })),
      );
    } catch (error) {
      // A partition created a moment ago may have no leader that answers yet: the next round asks again.
      if (isStaleMetadataError(error)) return;
      throw error;
    }
    for (const learn of learned) learn();
    for (const a of added) {
      const offset = Number(earliest.find((t) => t.topic === a.topic)?.partitions.find((p) => p.partition === a.partition)?.offset ?? 0);
      const knownPartitions = a.owner ? partitionCount.get(a.topic) : undefined;
      this.splits.push({ topic: a.topic, partition: a.partition, emittedOffset: offset, fetchOffset: offset, knownPartitions, knownTopics: undefined, highWatermark: undefined });
    }
  }

  /** Records between each partition's emitted position and its high watermark; undefined until every partition was fetched once. */
  pendingRecords(): number | undefined {
    let pending = 0;
    for (const split of this.splits) {
      if (split.highWatermark === undefined) return undefined;
      pending += Math.max(0, split.highWatermark - split.emittedOffset);
    }
    return pending;
  }

  snapshotSplits(): SplitState[] {
    const states = this.splits.map((s) => {
      const position: KafkaSplitPosition = {
        topic: s.topic,
        partition: s.partition,
        offset: String(s.emittedOffset),
        ...(s.knownPartitions === undefined ? {} : { knownPartitions: s.knownPartitions }),
        ...(s.knownTopics === undefined ? {} : { knownTopics: [...s.knownTopics] }),
      };
      return { id: splitId(s.topic, s.partition), position };
    });
    this.commitForMonitoring(states.map((s) => s.position as KafkaSplitPosition));
    return states;
  }

  /** Commits the snapshotted positions to `groupId`, so lag tools see progress; never read back by the job. */
  private commitForMonitoring(positions: KafkaSplitPosition[]): void {
    const groupId = this.options.groupId;
    if (groupId === undefined || this.committing || this.cluster === undefined || positions.length === 0) return;
    const cluster = this.cluster;
    const topics = [...new Set(positions.map((p) => p.topic))].map((topic) => ({
      topic,
      partitions: positions.filter((p) => p.topic === topic).map((p) => ({ partition: p.partition, offset: p.offset })),
    }));
    this.committing = true;
    void (async () => {
      const coordinator = await cluster.findGroupCoordinator({ groupId });
      // Generation -1 and no member: a commit outside group membership, as simple consumers make.
      await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: '', topics });
    })()
      .catch(() => {
        // Monitoring only: a failed commit changes nothing for the job; the next snapshot commits again.
      })
      .finally(() => {
        this.committing = false;
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inFlight?.catch(() => {});
    await this.cluster?.disconnect().catch(() => {});
    this.cluster = undefined;
  }
}
