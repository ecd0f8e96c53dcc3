// The two writers of the SQL sinks (PostgreSQL, MySQL): when rows are written and what makes a
// replay harmless. How a database writes them (statements, transactions, the commit log) sits
// behind SqlTableSession, one per database.
//
// At-least-once: rows are upserted as batches of `batchSize` fill, and whatever is left is
// flushed on each checkpoint barrier before the checkpoint is acknowledged. After a failure the
// job replays from the last checkpoint and writes some rows again; the upsert on the key makes
// that harmless.
//
// Exactly-once: rows wait in memory until the checkpoint barrier, where they become the
// checkpoint's committable (kept in the checkpoint itself, so nothing is lost if the process
// dies), tagged with the writer's run (a random id). When the checkpoint is complete, commit
// writes them in one transaction that also advances the row of that run and subtask in the commit
// table. A committable whose checkpoint id is not above its run's recorded one was committed
// before — a restored job hands the pending committables of its checkpoint again — and is
// skipped. So a crash at any point, including between "checkpoint complete" and "commit done",
// neither loses nor doubles rows, even in a table without a key; and a job that numbers its
// checkpoints lower than an earlier job with the same sink id (started fresh, or restored from
// its snapshot) is a new run, not a replay.

import type { SinkWriter } from '../../../shared/api/connectors.ts';
import { RestoreError } from '../../../shared/errors.ts';
import { PREPARED_AT_END } from '../../operators/sink-operator.ts';
import { SerialBatchSender } from './serial-batch-sender.ts';
import type { SqlDeliveryGuarantee } from './sql-sink-options.ts';
import type { SqlRowMapper } from './sql-row-mapper.ts';

/** The run of committables from checkpoints taken before runs were recorded, and of the rows that guard them. */
export const LEGACY_RUN_ID = '';

/** What identifies one commit: the writer run that prepared it, the subtask that wrote it, its checkpoint. */
export interface CommitIdentity {
  readonly run: string;
  readonly subtask: number;
  readonly checkpointId: number;
}

/** What an exactly-once writer hands to commit: one checkpoint's rows of one subtask. */
export interface SqlCommittable extends CommitIdentity {
  /** The writer run that prepared the rows; absent in checkpoints taken before runs were recorded. */
  readonly run: string;
  /** The subtask that wrote the rows (after rescaling, another subtask may commit them). */
  readonly subtask: number;
  readonly checkpointId: number;
  /** Values in the order of the `columns` option, as the database's session takes them. */
  readonly rows: unknown[][];
}

export interface SqlSinkWriterState {
  /** The highest checkpoint the writer prepared; an end-of-input committable gets the next id. */
  readonly lastCheckpointId: number;
}

export interface SqlSinkWriterStatus {
  readonly deliveryGuarantee: SqlDeliveryGuarantee;
  readonly rowsBuffered: number;
  readonly rowsWritten: number;
  readonly statementsExecuted: number;
  readonly commitsApplied: number;
  /** Committables found committed already (replays after a restore). */
  readonly commitsSkipped: number;
}

/** One database connection as the writers use it; its errors name the sink and the setting. */
export interface SqlTableSession {
  /** Rows written and statements run so far, for the status. */
  readonly rowsWritten: number;
  readonly statementsExecuted: number;
  /** Writes rows as upserts, each statement on its own (at-least-once). */
  writeRows(rows: readonly unknown[][]): Promise<void>;
  /**
   * In one transaction: advances the commit table's checkpoint of the committable's (sink, run,
   * subtask) if the committable's is above it, and only then writes its rows. Says whether it
   * wrote them (false: committed before).
   */
  commitOnce(sinkId: string, committable: SqlCommittable): Promise<boolean>;
  close(): Promise<void>;
}

/** The highest lastCheckpointId of the restored writer states (0 when there are none). */
export function restoredLastCheckpointId(restoredState: unknown, label: string): number {
  if (restoredState === undefined) return 0;
  let last = 0;
  for (const state of Array.isArray(restoredState) ? restoredState : [restoredState]) {
    if (state === undefined || state === null) continue;
    const id = (state as Partial<SqlSinkWriterState>).lastCheckpointId;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new RestoreError(`${label}: restored writer state ${JSON.stringify(state)} has no valid lastCheckpointId`);
    }
    last = Math.max(last, id);
  }
  return last;
}

export class AtLeastOnceSqlWriter<T> implements SinkWriter<T> {
  private buffer: unknown[][] = [];
  /** Batches written one after the other on the one connection. */
  private readonly sender = new SerialBatchSender<unknown[][]>((rows) => this.session.writeRows(rows));

  constructor(
    private readonly mapper: SqlRowMapper<T>,
    private readonly session: SqlTableSession,
    /** Rows a batch holds before it is sent. */
    private readonly rowsPerBatch: number,
  ) {}

  write(value: T): void {
    this.sender.throwIfFailed();
    this.buffer.push(this.mapper.toValues(value));
    if (this.buffer.length >= this.rowsPerBatch) this.startFlush();
  }

  private startFlush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.sender.enqueue(rows);
  }

  /** Writes every row received before the barrier; the checkpoint waits for it. */
  async prepareCommit(): Promise<undefined> {
    this.startFlush();
    await this.sender.drain();
    return undefined;
  }

  async commit(): Promise<void> {
    // Rows were written at prepareCommit: nothing waits for the checkpoint's completion.
  }

  status(): SqlSinkWriterStatus {
    return {
      deliveryGuarantee: 'at-least-once',
      rowsBuffered: this.buffer.length,
      rowsWritten: this.session.rowsWritten,
      statementsExecuted: this.session.statementsExecuted,
      commitsApplied: 0,
      commitsSkipped: 0,
    };
  }

  async close(): Promise<void> {
    this.buffer = [];
    await this.sender.settled();
    await this.session.close();
  }
}

export class ExactlyOnceSqlWriter<T> implements SinkWriter<T> {
  private buffer: unknown[][] = [];
  /** Commits run one at a time: each is a transaction on the one connection. */
  private committing: Promise<void> = Promise.resolve();
  private commitsApplied = 0;
  private commitsSkipped = 0;

  constructor(
    private readonly mapper: SqlRowMapper<T>,
    private readonly session: SqlTableSession,
    private readonly label: string,
    /** Values a row has (the number of columns), to check restored committables. */
    private readonly rowWidth: number,
    private readonly sinkId: string,
    /** This writer's run: its checkpoint ids grow, unlike those of runs before it. */
    private readonly run: string,
    private readonly subtaskIndex: number,
    private lastCheckpointId: number,
  ) {}

  write(value: T): void {
    this.buffer.push(this.mapper.toValues(value));
  }

  /**
   * The rows since the last barrier become this checkpoint's committable. The end of input has
   * no checkpoint id yet; the one after the last prepared is a safe stand-in, because the
   * checkpoint that will include it comes later and the finished writer prepares nothing more.
   */
  prepareCommit(checkpointId: number): SqlCommittable | undefined {
    const id = checkpointId >= PREPARED_AT_END ? this.lastCheckpointId + 1 : checkpointId;
    this.lastCheckpointId = Math.max(this.lastCheckpointId, id);
    if (this.buffer.length === 0) return undefined;
    const rows = this.buffer;
    this.buffer = [];
    return { run: this.run, subtask: this.subtaskIndex, checkpointId: id, rows };
  }

  snapshotState(): SqlSinkWriterState {
    return { lastCheckpointId: this.lastCheckpointId };
  }

  commit(committables: readonly unknown[]): Promise<void> {
    const run = this.committing.then(() => this.commitInOrder(committables.map((c) => this.checkCommittable(c))));
    this.committing = run.catch(() => {});
    return run;
  }

  private async commitInOrder(committables: SqlCommittable[]): Promise<void> {
    committables.sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0) || a.subtask - b.subtask || a.checkpointId - b.checkpointId);
    for (const committable of committables) {
      if (await this.session.commitOnce(this.sinkId, committable)) this.commitsApplied++;
      else this.commitsSkipped++;
    }
  }

  private checkCommittable(value: unknown): SqlCommittable {
    const c = value as Partial<SqlCommittable> | null;
    if (
      typeof c !== 'object' || c === null ||
      (c.run !== undefined && (typeof c.run !== 'string' || c.run === LEGACY_RUN_ID)) ||
      !Number.isSafeInteger(c.subtask) || !Number.isSafeInteger(c.checkpointId) || !Array.isArray(c.rows) ||
      c.rows.some((row) => !Array.isArray(row) || row.length !== this.rowWidth)
    ) {
      throw new RestoreError(`${this.label}: committable is not { run, subtask, checkpointId, rows } with ${this.rowWidth} values a row (were the columns changed?): ${JSON.stringify(value).slice(0, 300)}`);
    }
    return { ...(c as SqlCommittable), run: c.run ?? LEGACY_RUN_ID };
  }

  status(): SqlSinkWriterStatus {
    return {
      deliveryGuarantee: 'exactly-once',
      rowsBuffered: this.buffer.length,
      rowsWritten: this.session.rowsWritten,
      statementsExecuted: this.session.statementsExecuted,
      commitsApplied: this.commitsApplied,
      commitsSkipped: this.commitsSkipped,
    };
  }

  /** Rows not yet in a checkpoint are dropped: the job replays them from its last checkpoint. */
  async close(): Promise<void> {
    this.buffer = [];
    await this.committing;
    await this.session.close();
  }
}
