// The source and sink contracts every connector implements (file, generator, Kafka, S3, …).
// A source is split into splits (a file, a partition, a generator range); the runtime assigns
// splits to source subtasks and checkpoints each split's position. A sink writes synchronously,
// pre-commits on a checkpoint barrier and commits when the checkpoint is complete (two-phase).

/** A split and where to read it from next. Both must be JSON-serializable. */
export interface SplitState {
  readonly id: string;
  readonly position: unknown;
}

export type PollStatus = 'more' | 'wait' | 'end';

export interface SourceOutput<T> {
  /**
   * Emits one record of the reader's split number `splitIndex` (the order of `addSplits`; splits
   * a reader discovers itself, such as new Kafka partitions, are numbered after those).
   * `timestamp` is the record's own timestamp if the source has one (Kafka's, a file's field).
   */
  collect(value: T, splitIndex: number, timestamp?: number): void;
  /** A record the source could not read: it goes to the dead-letter output and the job goes on. */
  deadLetter(raw: string, reason: string, position: string): void;
  /** Split `splitIndex` has no more records: it stops holding the watermark back. */
  finishSplit(splitIndex: number): void;
}

export interface SourceReaderContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  now(): number;
}

export interface SourceReader<T> {
  addSplits(splits: readonly SplitState[]): void | Promise<void>;
  /**
   * Emits at most `maxRecords` records. 'more': call again soon; 'wait': nothing to read now
   * (an unbounded source keeps going), 'end': every split is finished.
   */
  poll(output: SourceOutput<T>, maxRecords: number): PollStatus | Promise<PollStatus>;
  /** Each split's position after the last record emitted, in the order of `addSplits`. */
  snapshotSplits(): SplitState[];
  /**
   * Records its splits hold that it has not emitted yet (Kafka: up to each partition's high
   * watermark), FLIP-33's `pendingRecords`; undefined when it cannot tell. The autoscaler reads it
   * as the backlog to work off.
   */
  pendingRecords?(): number | undefined;
  /** How long to wait before polling again after 'wait', in ms. */
  readonly waitHintMs?: number;
  close(): void | Promise<void>;
}

export interface Source<T> {
  readonly name: string;
  readonly bounded: boolean;
  /** The splits a fresh job starts with; a restored job takes the checkpoint's splits instead. */
  discoverSplits(context: { parallelism: number }): readonly SplitState[] | Promise<readonly SplitState[]>;
  createReader(context: SourceReaderContext): SourceReader<T>;
}

/**
 * The job a writer runs in. A sink whose output no two jobs may share (a Kafka transactional-id
 * prefix, an S3 path) claims it for the job: the attempts of one job share the claim, and a job
 * submitted later takes it over (a restore from a snapshot of the owner, or its replacement).
 */
export interface JobIdentity {
  readonly id: string;
  /** When the job was submitted: the later of two jobs is the one that may write. */
  readonly submittedAtMs: number;
}

/** Whether job `a` was submitted after job `b` (the id breaks a tie): the later one owns a claimed output. */
export function isLaterJob(a: JobIdentity, b: JobIdentity): boolean {
  return a.submittedAtMs !== b.submittedAtMs ? a.submittedAtMs > b.submittedAtMs : a.id > b.id;
}

export interface SinkWriterContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly jobName: string;
  readonly job: JobIdentity;
  now(): number;
}

export interface SinkWriter<T> {
  write(value: T, timestamp: number): void;
  /**
   * Called when checkpoint `checkpointId`'s barrier reaches the sink: close what is open and
   * return what `commit` needs to publish it (JSON-serializable), or undefined for nothing.
   */
  prepareCommit(checkpointId: number): unknown | Promise<unknown>;
  /** The writer's own state to restore from (counters, open positions); JSON-serializable. */
  snapshotState?(): unknown;
  /**
   * Publishes committables of completed checkpoints. Idempotent: recovery may hand the same
   * committable again, and must not duplicate or lose output.
   */
  commit(committables: readonly unknown[]): Promise<void>;
  close(): void | Promise<void>;
}

export interface Sink<T> {
  readonly name: string;
  /** `restoredState` is what `snapshotState` returned in the checkpoint restored from, if any. */
  createWriter(context: SinkWriterContext, restoredState: unknown): SinkWriter<T> | Promise<SinkWriter<T>>;
  /**
   * Called once per subtask before the first write of a restored job: drop what a failed
   * attempt left behind that no checkpoint refers to (in-progress files, open transactions).
   */
  abortLeftovers?(context: SinkWriterContext, keep: readonly unknown[]): Promise<void>;
}
