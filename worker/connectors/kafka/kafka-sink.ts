// The Kafka (and Amazon MSK) sink, at-least-once or exactly-once.
//
// At-least-once: records go out in batches as they come (an idempotent producer, acks=all);
// `prepareCommit` waits until every record sent so far is acknowledged, so a completed checkpoint
// never has records that were not written. A restore replays records after the checkpoint: they
// may be written twice.
//
// Exactly-once (ARCHITECTURE.md, decision 5): kafkajs cannot resume a transaction that another
// process opened, so a transaction cannot be opened before the checkpoint and committed after a
// crash, as Flink's Kafka sink does. Instead the records of a checkpoint interval are the
// committable itself: `prepareCommit` returns them, so they are in the checkpoint; `commit` (on
// the checkpoint-complete notification, or on restore for the restored checkpoint's pending
// committables) writes them in ONE Kafka transaction together with a marker record saying
// "writer run R committed up to checkpoint N". The marker lives in a compacted topic
// (`__sluice_sink_commits`, key `commit/<transactionalIdPrefix>/<subtask>`); a committable
// whose run and checkpoint the markers already cover is skipped, so a commit replayed after a
// crash between "checkpoint durable" and "transaction committed" — or after a crash just after
// the commit — writes nothing twice and loses nothing. Records are visible to read_committed
// consumers only once their checkpoint is complete. Run ids (random per writer) rather than
// checkpoint ids alone, because a job started fresh counts checkpoints from 1 again.
//
// Transactional ids are `<transactionalIdPrefix>-<subtask>`: stable, so a restarted writer's
// InitProducerId fences the previous incarnation and aborts its open transaction. Two
// applications with the same prefix would fence each other's producers and interleave their
// markers, so the first writer of an application claims the prefix with a record
// `claim/<prefix>/<application>` in the marker topic; the claim with the lowest offset owns the
// prefix (compaction keeps offsets, so that order never changes) and any other application is
// refused at start with an error naming transactionalIdPrefix.
//
// Two jobs of one application (a replacement restored from a snapshot while the first still runs,
// or the same application submitted twice) would fence each other in a loop the same way. Each
// job records `job/<prefix>/<application>/<job id>` with its submission time; the later job owns
// the prefix. A writer of an earlier job is refused at start; the later job's first writer fences
// every transactional id of the prefix that its own subtasks do not use (an earlier job at a
// higher parallelism), so an earlier job still running fails at its next commit and is then
// refused. The attempts of one job share its record.

import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { isLaterJob, type JobIdentity, type Sink, type SinkWriter, type SinkWriterContext } from '../../../shared/api/connectors.ts';
import { ConfigurationError, ExternalSystemError, RestoreError, SluiceError, UserFunctionError } from '../../../shared/errors.ts';
import {
  CONNECTION_FIELDS,
  READ_COMMITTED,
  READ_UNCOMMITTED,
  describeKafkaFailure,
  kafkaClient,
  kafkaCluster,
  resolveConnection,
  type KafkaConnectionOptions,
  type ResolvedKafkaConnection,
} from './kafka-client.ts';
import { PartitionFetcher } from './partition-fetcher.ts';
import { checkKnownFields } from '../common/connector-options.ts';

export type KafkaSerializer<T> = 'json' | 'string' | ((value: T) => string | Buffer);
export type KafkaDeliveryGuarantee = 'at-least-once' | 'exactly-once';

export interface KafkaSinkOptions<T> extends KafkaConnectionOptions {
  readonly name?: string;
  readonly topic: string;
  /** Default 'json'. */
  readonly serializer?: KafkaSerializer<T>;
  /** The record key (partitioning by key hash); no key when not given or when it returns null. */
  readonly key?: (value: T) => string | Buffer | null | undefined;
  /** Default 'at-least-once'. */
  readonly deliveryGuarantee?: KafkaDeliveryGuarantee;
  /** Exactly-once: the transactional ids are `<prefix>-<subtask>`. Required for exactly-once. */
  readonly transactionalIdPrefix?: string;
  /** Exactly-once: who owns the prefix (default the job's name). */
  readonly applicationId?: string;
  /** Exactly-once: the compacted topic of commit markers and claims. Default `__sluice_sink_commits`. */
  readonly markerTopic?: string;
  /** At-least-once: records per produce request. Default 1000. */
  readonly batchRecords?: number;
}

interface ResolvedKafkaSinkOptions<T> {
  readonly name: string;
  readonly connector: string;
  readonly connection: ResolvedKafkaConnection;
  readonly topic: string;
  readonly serialize: (value: T) => string | Buffer;
  readonly key: ((value: T) => string | Buffer | null | undefined) | undefined;
  readonly deliveryGuarantee: KafkaDeliveryGuarantee;
  readonly transactionalIdPrefix: string | undefined;
  readonly applicationId: string | undefined;
  readonly markerTopic: string;
  readonly batchRecords: number;
}

const OPTION_FIELDS = new Set<string>([...CONNECTION_FIELDS, 'name', 'topic', 'serializer', 'key', 'deliveryGuarantee', 'transactionalIdPrefix', 'applicationId', 'markerTopic', 'batchRecords']);
export const DEFAULT_MARKER_TOPIC = '__sluice_sink_commits';
/** Records per produce request inside a commit transaction. */
const TRANSACTION_SEND_RECORDS = 5000;
/** Runs remembered in one marker; older ones cannot come back (their checkpoints were superseded). */
const MARKER_RUNS_KEPT = 32;

function resolveOptions<T>(options: KafkaSinkOptions<T>): ResolvedKafkaSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'KafkaSink');
  const name = options.name ?? 'Kafka';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigurationError('name', 'must be a non-empty string');
  const connector = `Kafka sink "${name}"`;
  if (typeof options.topic !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(options.topic)) throw new ConfigurationError('topic', `${connector}: not a valid topic name: ${JSON.stringify(options.topic)}`);
  const guarantee = options.deliveryGuarantee ?? 'at-least-once';
  if (guarantee !== 'at-least-once' && guarantee !== 'exactly-once') throw new ConfigurationError('deliveryGuarantee', `${connector}: must be 'at-least-once' or 'exactly-once', got ${JSON.stringify(guarantee)}`);
  const prefix = options.transactionalIdPrefix;
  if (guarantee === 'exactly-once' && (typeof prefix !== 'string' || !/^[A-Za-z0-9._-]+$/.test(prefix))) {
    throw new ConfigurationError('transactionalIdPrefix', `${connector}: exactly-once needs a transactionalIdPrefix of letters, digits, '.', '_' or '-', unique to this application, got ${JSON.stringify(prefix)}`);
  }
  const serializer = options.serializer ?? 'json';
  let serialize: (value: T) => string | Buffer;
  if (serializer === 'json') serialize = (v) => JSON.stringify(v);
  else if (serializer === 'string') serialize = (v) => String(v);
  else if (typeof serializer === 'function') serialize = serializer;
  else throw new ConfigurationError('serializer', `${connector}: must be 'json', 'string' or a function (value) => string | Buffer`);
  if (options.key !== undefined && typeof options.key !== 'function') throw new ConfigurationError('key', `${connector}: must be a function (value) => key`);
  const batchRecords = options.batchRecords ?? 1000;
  if (!Number.isSafeInteger(batchRecords) || batchRecords <= 0) throw new ConfigurationError('batchRecords', `${connector}: must be a positive integer`);
  return {
    name,
    connector,
    connection: resolveConnection(options, `sluice-${name}`),
    topic: options.topic,
    serialize,
    key: options.key,
    deliveryGuarantee: guarantee,
    transactionalIdPrefix: prefix,
    applicationId: options.applicationId,
    markerTopic: options.markerTopic ?? DEFAULT_MARKER_TOPIC,
    batchRecords,
  };
}

/** A record as the sink sends it; `b` marks base64 (Buffer) key or value in a committable. */
interface EncodedRecord {
  readonly k: string | null;
  readonly v: string;
  readonly b?: 1 | 2 | 3;
  readonly t: number;
}

/** What exactly-once `prepareCommit` returns: the records of one checkpoint interval of one writer run. */
export interface KafkaTransactionCommittable {
  readonly run: string;
  readonly checkpointId: number;
  readonly records: readonly EncodedRecord[];
}

export class KafkaSink<T = unknown> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedKafkaSinkOptions<T>;

  constructor(options: KafkaSinkOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
  }

  async createWriter(context: SinkWriterContext): Promise<SinkWriter<T>> {
    if (this.options.deliveryGuarantee === 'at-least-once') {
      const writer = new AtLeastOnceKafkaWriter<T>(this.options);
      await writer.connect();
      return writer;
    }
    const writer = new ExactlyOnceKafkaWriter<T>(this.options, context);
    await writer.start();
    return writer;
  }
}

function encode<T>(options: ResolvedKafkaSinkOptions<T>, value: T, timestamp: number): EncodedRecord {
  let payload: string | Buffer;
  let key: string | Buffer | null | undefined;
  try {
    payload = options.serialize(value);
    key = options.key?.(value);
  } catch (error) {
    throw new UserFunctionError(`${options.connector}: serializer or key threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) throw new UserFunctionError(`${options.connector}: serializer returned ${typeof payload}, not a string or Buffer`);
  const valueIsBuffer = Buffer.isBuffer(payload);
  const keyIsBuffer = Buffer.isBuffer(key);
  const flags = (valueIsBuffer ? 1 : 0) | (keyIsBuffer ? 2 : 0);
  return {
    k: key === undefined || key === null ? null : keyIsBuffer ? (key as Buffer).toString('base64') : String(key),
    v: valueIsBuffer ? (payload as Buffer).toString('base64') : (payload as string),
    ...(flags === 0 ? {} : { b: flags as 1 | 2 | 3 }),
    t: Number.isFinite(timestamp) && timestamp >= 0 ? timestamp : Date.now(),
  };
}

function toMessage(r: EncodedRecord): { key: string | Buffer | null; value: string | Buffer; timestamp: string } {
  const flags = r.b ?? 0;
  return {
    key: r.k === null ? null : flags & 2 ? Buffer.from(r.k, 'base64') : r.k,
    value: flags & 1 ? Buffer.from(r.v, 'base64') : r.v,
    timestamp: String(r.t),
  };
}

class AtLeastOnceKafkaWriter<T> implements SinkWriter<T> {
  private readonly producer: Producer;
  private batch: Array<ReturnType<typeof toMessage>> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(private readonly options: ResolvedKafkaSinkOptions<T>) {
    this.producer = kafkaClient(options.connection).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: defaultPartitioner() });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (error) {
      throw describeKafkaFailure(this.options.connector, this.options.connection, error, 'connecting the producer', 'topic');
    }
  }

  write(value: T, timestamp: number): void {
    if (this.failure) throw this.failure;
    this.batch.push(toMessage(encode(this.options, value, timestamp)));
    if (this.batch.length >= this.options.batchRecords) this.send();
  }

  private send(): void {
    if (this.batch.length === 0) return;
    const messages = this.batch;
    this.batch = [];
    const sent: Promise<void> = this.producer
      .send({ topic: this.options.topic, acks: -1, messages })
      .then(
        () => {},
        (error) => {
          this.failure ??= describeKafkaFailure(this.options.connector, this.options.connection, error, `writing to topic ${this.options.topic}`, 'topic');
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** Everything written before the barrier is acknowledged before the checkpoint can complete. */
  async prepareCommit(): Promise<undefined> {
    this.send();
    await Promise.all([...this.inFlight]);
    if (this.failure) throw this.failure;
    return undefined;
  }

  async commit(): Promise<void> {}

  async close(): Promise<void> {
    await Promise.all([...this.inFlight]);
    await this.producer.disconnect().catch(() => {});
  }
}

/** kafkajs's default partitioner (murmur2 of the key, as the Java client), named so kafkajs does not warn. */
function defaultPartitioner() {
  return kafkajs.Partitioners.DefaultPartitioner;
}

/** The marker topic's records, as read at start. */
interface MarkerState {
  /** run → the highest checkpoint of that run committed, over every subtask's marker of the prefix. */
  readonly committed: Map<string, number>;
  /** This subtask's marker: runs in the order they were last written. */
  readonly own: Map<string, number>;
  /** The application whose claim has the lowest offset, if any. */
  readonly owner: string | undefined;
  readonly claimedByMe: boolean;
  /** The jobs of this application that wrote with the prefix, by job id. */
  readonly jobs: Map<string, JobClaim>;
  /** The subtask indexes that ever committed with the prefix (their markers). */
  readonly subtasks: Set<number>;
}

/** A job that wrote with the prefix, as its record in the marker topic says. */
interface JobClaim extends JobIdentity {
  readonly jobName?: string;
}

class ExactlyOnceKafkaWriter<T> implements SinkWriter<T> {
  private readonly run = randomUUID();
  private readonly transactionalId: string;
  private readonly application: string;
  private readonly markerKey: string;
  private readonly job: JobClaim;
  private readonly parallelism: number;
  private readonly producer: Producer;
  private pending: EncodedRecord[] = [];
  private committed = new Map<string, number>();
  private own = new Map<string, number>();

  constructor(private readonly options: ResolvedKafkaSinkOptions<T>, context: SinkWriterContext) {
    const prefix = options.transactionalIdPrefix!;
    this.transactionalId = `${prefix}-${context.subtaskIndex}`;
    this.application = options.applicationId ?? context.jobName;
    this.markerKey = `commit/${prefix}/${context.subtaskIndex}`;
    this.job = { ...context.job, jobName: context.jobName };
    this.parallelism = context.parallelism;
    this.producer = kafkaClient(options.connection).producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: defaultPartitioner(),
    });
  }

  /**
   * Fences the previous incarnation of this transactional id (its open transaction is aborted),
   * reads the markers, and claims the prefix for this application or refuses to start.
   */
  async start(): Promise<void> {
    const { connector, connection } = this.options;
    try {
      await this.ensureMarkerTopic();
      await this.producer.connect();
      // A writer of an earlier job learns it is refused before it fences anything: fencing first
      // would abort the later job's open transactions on every restart of the earlier one. Read
      // uncommitted, so a later job's record counts even while its transaction is open.
      this.refuseIfLaterJob(await this.readMarkers(READ_UNCOMMITTED));
      // kafkajs sends the transactional InitProducerId only with the first transaction, and that
      // is what fences an older producer of this id and aborts its open transaction; the marker
      // topic cannot be read to its end while that transaction is open, so fence first.
      await (await this.producer.transaction()).abort();
      let state = await this.readMarkers();
      if (state.owner === undefined || (state.owner === this.application && !state.claimedByMe)) {
        await this.inTransaction(async (tx) => {
          await tx.send({ topic: this.options.markerTopic, messages: [{ key: this.claimKey(), value: JSON.stringify({ application: this.application, claimedAt: new Date().toISOString() }) }] });
        });
        state = await this.readMarkers(); // a concurrent claim of another application may have come first
      }
      if (state.owner !== this.application) {
        throw new ConfigurationError(
          'transactionalIdPrefix',
          `${connector}: transactional id prefix "${this.options.transactionalIdPrefix}" belongs to application "${state.owner}" (claimed in topic ${this.options.markerTopic}); ` +
            `application "${this.application}" must use another prefix, or the two would fence each other's transactions`,
        );
      }
      state = await this.claimForJob(state);
      this.committed = state.committed;
      this.own = state.own;
    } catch (error) {
      await this.producer.disconnect().catch(() => {});
      throw describeKafkaFailure(connector, connection, error, `starting the transactional writer ${this.transactionalId}`, 'topic');
    }
  }

  private claimKey(): string {
    return `claim/${this.options.transactionalIdPrefix}/${this.application}`;
  }

  private jobClaimPrefix(): string {
    return `job/${this.options.transactionalIdPrefix}/${this.application}/`;
  }

  /**
   * Refuses to start when a later job of this application has written with the prefix; records
   * this job when it has not yet, and then fences the transactional ids an earlier job may still
   * hold that no subtask of this job will fence by starting (indexes from this parallelism up).
   */
  private async claimForJob(state: MarkerState): Promise<MarkerState> {
    this.refuseIfLaterJob(state);
    if (state.jobs.has(this.job.id)) return state;
    const earlier = [...state.jobs.values()];
    await this.inTransaction(async (tx) => {
      await tx.send({
        topic: this.options.markerTopic,
        messages: [
          {
            key: `${this.jobClaimPrefix()}${this.job.id}`,
            value: JSON.stringify({ jobId: this.job.id, jobName: this.job.jobName, submittedAtMs: this.job.submittedAtMs, claimedAt: new Date().toISOString() }),
          },
          // The earlier jobs' records are no longer needed: the later job decides alone.
          ...earlier.map((j) => ({ key: `${this.jobClaimPrefix()}${j.id}`, value: null })),
        ],
      });
    });
    if (earlier.length > 0) await this.fenceBeyond(state.subtasks);
    const after = await this.readMarkers();
    this.refuseIfLaterJob(after); // a later job may have started meanwhile
    return after;
  }

  private refuseIfLaterJob(state: MarkerState): void {
    const { connector, transactionalIdPrefix } = this.options;
    const later = [...state.jobs.values()].filter((j) => isLaterJob(j, this.job)).sort((a, b) => (isLaterJob(a, b) ? -1 : 1))[0];
    if (!later) return;
    throw new ConfigurationError(
      'transactionalIdPrefix',
      `${connector}: transactional id prefix "${transactionalIdPrefix}" is written by job ${later.id}${later.jobName ? ` (${later.jobName})` : ''}, ` +
        `submitted at ${new Date(later.submittedAtMs).toISOString()}, after this job ${this.job.id} (submitted at ${new Date(this.job.submittedAtMs).toISOString()}); ` +
        `the later job owns the prefix (recorded in topic ${this.options.markerTopic}). Stop one of them, or give each job its own prefix: two jobs with one prefix fence each other's transactions`,
    );
  }

  /** Fences the transactional ids of the subtasks that committed with the prefix at indexes this job does not run. */
  private async fenceBeyond(subtasks: ReadonlySet<number>): Promise<void> {
    const beyond = [...subtasks].filter((i) => i >= this.parallelism);
    for (const index of beyond) {
      const producer = kafkaClient(this.options.connection).producer({ transactionalId: `${this.options.transactionalIdPrefix}-${index}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      try {
        await producer.connect();
        await (await producer.transaction()).abort();
      } finally {
        await producer.disconnect().catch(() => {});
      }
    }
  }

  private async ensureMarkerTopic(): Promise<void> {
    const admin = kafkaClient(this.options.connection).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.options.topic)) {
        throw new ConfigurationError('topic', `${this.options.connector}: topic "${this.options.topic}" does not exist on ${this.options.connection.brokers.join(',')} (setting topic; create it first)`);
      }
      if (!topics.includes(this.options.markerTopic)) {
        await admin
          .createTopics({ waitForLeaders: true, topics: [{ topic: this.options.markerTopic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
          .catch((error: { type?: string }) => {
            if (error.type !== 'TOPIC_ALREADY_EXISTS') throw error; // another subtask made it first
          });
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /**
   * Reads the whole marker topic read_committed, up to its high watermark: a transaction's
   * markers are written after its commit returns, so reading only to the last stable offset
   * could miss a claim or commit just made. An open transaction in the topic (a writer that
   * crashed mid-commit and has not restarted) holds the read back until it is aborted.
   */
  private async readMarkers(isolationLevel: number = READ_COMMITTED): Promise<MarkerState> {
    const prefix = this.options.transactionalIdPrefix!;
    // Read-uncommitted offsets give the high watermark; the Fetch requests themselves are read_committed.
    const cluster = kafkaCluster(kafkaClient(this.options.connection), { isolationLevel: READ_UNCOMMITTED });
    const committed = new Map<string, number>();
    const own = new Map<string, number>();
    let owner: { application: string; offset: number } | undefined;
    let claimedByMe = false;
    const jobs = new Map<string, JobClaim>();
    const subtasks = new Set<number>();
    const jobClaimPrefix = this.jobClaimPrefix();
    try {
      await cluster.connect();
      await cluster.addMultipleTargetTopics([this.options.markerTopic]);
      const [ends] = await cluster.fetchTopicsOffset([{ topic: this.options.markerTopic, partitions: [{ partition: 0 }], fromBeginning: false }]);
      const [starts] = await cluster.fetchTopicsOffset([{ topic: this.options.markerTopic, partitions: [{ partition: 0 }], fromBeginning: true }]);
      const end = Number(ends!.partitions[0]!.offset);
      let offset = Number(starts!.partitions[0]!.offset);
      const fetcher = new PartitionFetcher(cluster, { isolationLevel, maxWaitMs: 100, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 4 * 1024 * 1024 });
      const deadline = Date.now() + 60_000;
      while (offset < end) {
        if (Date.now() > deadline) {
          throw new ExternalSystemError(
            `${this.options.connector}: reading ${this.options.markerTopic} up to offset ${end} took more than 60 s (stuck at ${offset}: ` +
              'a transaction is open there — a sink writer that crashed mid-commit and has not restarted; it is aborted at its transaction timeout)',
            { retriable: true },
          );
        }
        const [part] = await fetcher.fetchOnce([{ topic: this.options.markerTopic, partition: 0, offset: String(offset) }]);
        if (part === undefined || Number(part.nextOffset) <= offset) {
          await new Promise((resolve) => setTimeout(resolve, 20)); // at the last stable offset: the markers are on their way
          continue;
        }
        for (const m of part.records) {
          const key = m.key?.toString('utf8') ?? '';
          if (key.startsWith(`claim/${prefix}/`)) {
            const application = key.slice(`claim/${prefix}/`.length);
            if (m.value === null) continue;
            if (owner === undefined || Number(m.offset) < owner.offset) owner = { application, offset: Number(m.offset) };
            if (application === this.application) claimedByMe = true;
          } else if (key.startsWith(jobClaimPrefix)) {
            const jobId = key.slice(jobClaimPrefix.length);
            if (m.value === null) jobs.delete(jobId);
            else jobs.set(jobId, parseJobClaim(jobId, m.value.toString('utf8'), this.options.connector));
          } else if (key.startsWith(`commit/${prefix}/`) && m.value !== null) {
            const subtask = Number(key.slice(`commit/${prefix}/`.length));
            if (Number.isSafeInteger(subtask)) subtasks.add(subtask);
            const runs = parseMarker(m.value.toString('utf8'), this.options.connector);
            for (const [run, checkpoint] of runs) {
              committed.set(run, Math.max(committed.get(run) ?? 0, checkpoint));
              if (key === this.markerKey) own.set(run, checkpoint);
            }
          }
        }
        offset = Math.max(offset, Number(part.nextOffset));
      }
    } finally {
      await cluster.disconnect().catch(() => {});
    }
    return { committed, own, owner: owner?.application, claimedByMe, jobs, subtasks };
  }

  write(value: T, timestamp: number): void {
    this.pending.push(encode(this.options, value, timestamp));
  }

  /** The records since the last barrier become the committable: they live in the checkpoint until committed. */
  prepareCommit(checkpointId: number): KafkaTransactionCommittable | undefined {
    if (this.pending.length === 0) return undefined;
    const records = this.pending;
    this.pending = [];
    return { run: this.run, checkpointId, records };
  }

  /**
   * Writes the committables not yet covered by a marker, and the new marker, in one transaction.
   * A replay (restore, retried commit) finds them covered and writes nothing.
   */
  async commit(committables: readonly unknown[]): Promise<void> {
    const due = committables.map((c) => parseCommittable(c, this.options.connector)).filter((c) => c.checkpointId > (this.committed.get(c.run) ?? 0));
    if (due.length === 0) return;
    due.sort((a, b) => a.checkpointId - b.checkpointId);
    const own = new Map(this.own);
    for (const c of due) {
      own.delete(c.run); // re-inserted last: the most recent runs are the ones kept
      own.set(c.run, Math.max(c.checkpointId, this.committed.get(c.run) ?? 0));
    }
    while (own.size > MARKER_RUNS_KEPT) own.delete(own.keys().next().value!);
    try {
      await this.inTransaction(async (tx) => {
        for (const c of due) {
          for (let i = 0; i < c.records.length; i += TRANSACTION_SEND_RECORDS) {
            await tx.send({ topic: this.options.topic, acks: -1, messages: c.records.slice(i, i + TRANSACTION_SEND_RECORDS).map(toMessage) });
          }
        }
        await tx.send({ topic: this.options.markerTopic, acks: -1, messages: [{ key: this.markerKey, value: JSON.stringify({ runs: Object.fromEntries(own) }) }] });
      });
    } catch (error) {
      throw describeKafkaFailure(this.options.connector, this.options.connection, error, `committing checkpoint ${due[due.length - 1]!.checkpointId} in transaction ${this.transactionalId}`, 'topic');
    }
    this.own = own;
    for (const c of due) this.committed.set(c.run, Math.max(c.checkpointId, this.committed.get(c.run) ?? 0));
  }

  private async inTransaction(body: (tx: Awaited<ReturnType<Producer['transaction']>>) => Promise<void>): Promise<void> {
    const tx = await this.producer.transaction();
    try {
      await body(tx);
      await tx.commit();
    } catch (error) {
      await tx.abort().catch(() => {}); // a fenced producer cannot abort; the next InitProducerId does
      throw error;
    }
  }

  async close(): Promise<void> {
    this.pending = [];
    await this.producer.disconnect().catch(() => {});
  }
}

function parseMarker(text: string, connector: string): Array<[string, number]> {
  try {
    const runs = (JSON.parse(text) as { runs?: Record<string, number> }).runs ?? {};
    return Object.entries(runs).filter(([, n]) => Number.isSafeInteger(n));
  } catch (error) {
    throw new SluiceError(`${connector}: a commit marker is not JSON: ${text.slice(0, 200)}`, { cause: error });
  }
}

function parseCommittable(c: unknown, connector: string): KafkaTransactionCommittable {
  const committable = c as Partial<KafkaTransactionCommittable> | null;
  if (typeof committable !== 'object' || committable === null || typeof committable.run !== 'string' || !Number.isSafeInteger(committable.checkpointId) || !Array.isArray(committable.records)) {
    throw new RestoreError(`${connector}: committable ${JSON.stringify(c)?.slice(0, 200)} is not { run, checkpointId, records }`);
  }
  return committable as KafkaTransactionCommittable;
}

function parseJobClaim(jobId: string, text: string, connector: string): JobClaim {
  let claim: Partial<JobClaim>;
  try {
    claim = JSON.parse(text) as Partial<JobClaim>;
  } catch (error) {
    throw new SluiceError(`${connector}: the record of job ${jobId} is not JSON: ${text.slice(0, 200)}`, { cause: error });
  }
  if (!Number.isFinite(claim.submittedAtMs)) throw new SluiceError(`${connector}: the record of job ${jobId} has no submittedAtMs: ${text.slice(0, 200)}`);
  return { id: jobId, submittedAtMs: claim.submittedAtMs!, ...(typeof claim.jobName === 'string' ? { jobName: claim.jobName } : {}) };
}
