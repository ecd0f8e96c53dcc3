// A sink that writes rows into a PostgreSQL table (Amazon RDS or Aurora for PostgreSQL, or any
// server), at-least-once or exactly-once (ARCHITECTURE.md, decision 5).
//
// At-least-once: rows are upserted in multi-row `INSERT … ON CONFLICT (key) DO UPDATE`
// statements of `batchSize` rows as they fill, and whatever is left is flushed on each checkpoint
// barrier before the checkpoint is acknowledged. After a failure the job replays from the last
// checkpoint and writes some rows again; the upsert on the key makes that harmless.
//
// Exactly-once: rows wait in memory until the checkpoint barrier, where they become the
// checkpoint's committable (kept in the checkpoint itself, so nothing is lost if the process
// dies), tagged with the writer's run (a random id). When the checkpoint is complete, commit
// writes them in one transaction that also advances the row of that run and subtask in
// `sluice_sink_commits(sink_id, run_id, subtask, checkpoint_id)`. A committable whose checkpoint
// id is not above its run's recorded one was committed before — a restored job hands the pending
// committables of its checkpoint again — and is skipped. So a crash at any point, including
// between "checkpoint complete" and "commit done", neither loses nor doubles rows, even in a table
// without a key; and a job that numbers its checkpoints lower than an earlier job with the same
// sink id (started fresh, or restored from its snapshot) is a new run, not a replay. The price:
// rows become visible one checkpoint later, and a checkpoint interval's rows are held in memory
// and in the checkpoint.

import { randomUUID } from 'node:crypto';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { RestoreError, SluiceError, UserFunctionError } from '../../../shared/errors.ts';
import { PREPARED_AT_END } from '../../operators/sink-operator.ts';
import { SerialBatchSender } from '../common/serial-batch-sender.ts';
import { LEGACY_RUN_ID, PostgresCommitLog, type CommitIdentity } from './postgres-commit-log.ts';
import { checkTable, connectPostgres, postgresError, sinkLabel, type PostgresSession } from './postgres-connection.ts';
import { resolvePostgresSinkOptions, type PostgresSinkOptions, type ResolvedPostgresSinkOptions } from './postgres-sink-options.ts';
import { RowStatementBuilder, type Statement } from './postgres-statements.ts';

/** What an exactly-once writer hands to commit: one checkpoint's rows of one subtask. */
export interface PostgresCommittable extends CommitIdentity {
  /** The writer run that prepared the rows; absent in checkpoints taken before runs were recorded. */
  readonly run: string;
  /** The subtask that wrote the rows (after rescaling, another subtask may commit them). */
  readonly subtask: number;
  readonly checkpointId: number;
  /** Values in the order of the `columns` option. */
  readonly rows: unknown[][];
}

export interface PostgresSinkWriterState {
  /** The highest checkpoint the writer prepared; an end-of-input committable gets the next id. */
  readonly lastCheckpointId: number;
}

export interface PostgresSinkWriterStatus {
  readonly deliveryGuarantee: 'at-least-once' | 'exactly-once';
  readonly rowsBuffered: number;
  readonly rowsWritten: number;
  readonly statementsExecuted: number;
  readonly commitsApplied: number;
  /** Committables found committed already (replays after a restore). */
  readonly commitsSkipped: number;
}

export class PostgresSink<T = Record<string, unknown>> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedPostgresSinkOptions<T>;

  constructor(options: PostgresSinkOptions<T>) {
    this.options = resolvePostgresSinkOptions(options);
    this.name = this.options.name;
  }

  async createWriter(context: SinkWriterContext, restoredState: unknown): Promise<SinkWriter<T>> {
    const options = this.options;
    const label = sinkLabel(options);
    const session = await connectPostgres(options as ResolvedPostgresSinkOptions<unknown>);
    const commitLog = new PostgresCommitLog(options.commitTable);
    const sinkId = options.sinkId ?? `${context.jobName}/${options.name}`;
    try {
      await checkTable(session, options as ResolvedPostgresSinkOptions<unknown>);
      if (options.deliveryGuarantee === 'exactly-once') await commitLog.ensureTable(session.client);
    } catch (error) {
      await session.client.end().catch(() => {});
      throw error instanceof SluiceError ? error : postgresError(label, session.where, session.user, 'preparing the table', error);
    }
    const builder = new RowStatementBuilder(options.table, options.columns, options.keyColumns, options.batchSize, `${context.subtaskIndex}`);
    if (options.deliveryGuarantee === 'at-least-once') return new AtLeastOncePostgresWriter<T>(options, session, builder);
    return new ExactlyOncePostgresWriter<T>(options, session, builder, commitLog, sinkId, randomUUID(), context.subtaskIndex, restoredLastCheckpointId(restoredState, label));
  }
}

function restoredLastCheckpointId(restoredState: unknown, label: string): number {
  if (restoredState === undefined) return 0;
  let last = 0;
  for (const state of Array.isArray(restoredState) ? restoredState : [restoredState]) {
    if (state === undefined || state === null) continue;
    const id = (state as Partial<PostgresSinkWriterState>).lastCheckpointId;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new RestoreError(`${label}: restored writer state ${JSON.stringify(state)} has no valid lastCheckpointId`);
    }
    last = Math.max(last, id);
  }
  return last;
}

/** A value as `pg` sends it, and as it survives the JSON of a checkpoint. */
function sqlValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  return value;
}

/** What both writers share: the connection, records turned into rows, statements run. */
abstract class PostgresWriterBase<T> {
  protected readonly label: string;
  protected rowsWritten = 0;
  protected statementsExecuted = 0;

  constructor(
    protected readonly options: ResolvedPostgresSinkOptions<T>,
    protected readonly session: PostgresSession,
    protected readonly builder: RowStatementBuilder,
  ) {
    this.label = sinkLabel(options);
  }

  /** The record as an array of values in `columns` order, checked. */
  protected toValues(record: T): unknown[] {
    let row: Record<string, unknown>;
    try {
      row = this.options.toRow ? this.options.toRow(record) : (record as Record<string, unknown>);
    } catch (error) {
      throw new UserFunctionError(`${this.label}: toRow threw: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new UserFunctionError(`${this.label}: a row must be an object { column: value }, got ${Array.isArray(row) ? 'an array' : String(row)} (setting toRow)`);
    }
    const columns = this.options.columns;
    const values = new Array<unknown>(columns.length);
    let present = 0;
    for (let i = 0; i < columns.length; i++) {
      const value = row[columns[i]!];
      if (value !== undefined) present++;
      values[i] = sqlValue(value);
    }
    if (Object.keys(row).length > present) {
      const extra = Object.keys(row).filter((k) => !columns.includes(k) && row[k] !== undefined);
      if (extra.length > 0) {
        throw new UserFunctionError(`${this.label}: the row has field ${extra.map((k) => JSON.stringify(k)).join(', ')}, which is not in setting columns (${columns.join(', ')})`);
      }
    }
    for (const key of this.options.keyColumns) {
      if (values[columns.indexOf(key)] === null) {
        throw new UserFunctionError(`${this.label}: key column ${JSON.stringify(key)} is null or missing in a row (setting keyColumns): ${JSON.stringify(row).slice(0, 300)}`);
      }
    }
    return values;
  }

  protected async execute(statement: Statement, doing: string): Promise<void> {
    if (this.session.brokenBy) throw this.session.brokenBy;
    try {
      await this.session.client.query(statement);
    } catch (error) {
      throw postgresError(this.label, this.session.where, this.session.user, doing, error);
    }
    this.statementsExecuted++;
  }

  protected async writeRows(rows: readonly unknown[][]): Promise<void> {
    for (const statement of this.builder.statements(rows)) {
      await this.execute(statement, `writing rows to ${this.options.tableText}`);
    }
    this.rowsWritten += rows.length;
  }
}

class AtLeastOncePostgresWriter<T> extends PostgresWriterBase<T> implements SinkWriter<T> {
  private buffer: unknown[][] = [];
  /** Batches written one after the other on the one connection. */
  private readonly sender = new SerialBatchSender<unknown[][]>((rows) => this.writeRows(rows));

  write(value: T): void {
    this.sender.throwIfFailed();
    this.buffer.push(this.toValues(value));
    if (this.buffer.length >= this.builder.maxRowsPerStatement) this.startFlush();
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

  status(): PostgresSinkWriterStatus {
    return {
      deliveryGuarantee: 'at-least-once',
      rowsBuffered: this.buffer.length,
      rowsWritten: this.rowsWritten,
      statementsExecuted: this.statementsExecuted,
      commitsApplied: 0,
      commitsSkipped: 0,
    };
  }

  async close(): Promise<void> {
    this.buffer = [];
    await this.sender.settled();
    await this.session.client.end().catch(() => {});
  }
}

class ExactlyOncePostgresWriter<T> extends PostgresWriterBase<T> implements SinkWriter<T> {
  private buffer: unknown[][] = [];
  /** Commits run one at a time: each is a transaction on the one connection. */
  private committing: Promise<void> = Promise.resolve();
  private commitsApplied = 0;
  private commitsSkipped = 0;

  constructor(
    options: ResolvedPostgresSinkOptions<T>,
    session: PostgresSession,
    builder: RowStatementBuilder,
    private readonly commitLog: PostgresCommitLog,
    private readonly sinkId: string,
    /** This writer's run: its checkpoint ids grow, unlike those of runs before it. */
    private readonly run: string,
    private readonly subtaskIndex: number,
    private lastCheckpointId: number,
  ) {
    super(options, session, builder);
  }

  write(value: T): void {
    this.buffer.push(this.toValues(value));
  }

  /**
   * The rows since the last barrier become this checkpoint's committable. The end of input has
   * no checkpoint id yet; the one after the last prepared is a safe stand-in, because the
   * checkpoint that will include it comes later and the finished writer prepares nothing more.
   */
  prepareCommit(checkpointId: number): PostgresCommittable | undefined {
    const id = checkpointId >= PREPARED_AT_END ? this.lastCheckpointId + 1 : checkpointId;
    this.lastCheckpointId = Math.max(this.lastCheckpointId, id);
    if (this.buffer.length === 0) return undefined;
    const rows = this.buffer;
    this.buffer = [];
    return { run: this.run, subtask: this.subtaskIndex, checkpointId: id, rows };
  }

  snapshotState(): PostgresSinkWriterState {
    return { lastCheckpointId: this.lastCheckpointId };
  }

  commit(committables: readonly unknown[]): Promise<void> {
    const run = this.committing.then(() => this.commitInOrder(committables.map((c) => this.checkCommittable(c))));
    this.committing = run.catch(() => {});
    return run;
  }

  private async commitInOrder(committables: PostgresCommittable[]): Promise<void> {
    committables.sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0) || a.subtask - b.subtask || a.checkpointId - b.checkpointId);
    for (const committable of committables) await this.commitOne(committable);
  }

  /** One transaction: advance the run's recorded checkpoint, and only if it advanced, write the rows. */
  private async commitOne(committable: PostgresCommittable): Promise<void> {
    if (this.session.brokenBy) throw this.session.brokenBy;
    const client = this.session.client;
    const doing = `committing checkpoint ${committable.checkpointId} of subtask ${committable.subtask} (run ${committable.run || 'before runs'}) to ${this.options.tableText}`;
    try {
      await client.query('BEGIN');
      const advanced = await this.commitLog.advance(client, this.sinkId, committable);
      if (!advanced) {
        await client.query('ROLLBACK');
        this.commitsSkipped++;
        return;
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw postgresError(this.label, this.session.where, this.session.user, doing, error);
    }
    try {
      await this.writeRows(committable.rows);
      await this.execute({ text: 'COMMIT', values: [] }, doing);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
    this.commitsApplied++;
  }

  private checkCommittable(value: unknown): PostgresCommittable {
    const c = value as Partial<PostgresCommittable> | null;
    if (
      typeof c !== 'object' || c === null ||
      (c.run !== undefined && (typeof c.run !== 'string' || c.run === LEGACY_RUN_ID)) ||
      !Number.isSafeInteger(c.subtask) || !Number.isSafeInteger(c.checkpointId) || !Array.isArray(c.rows) ||
      c.rows.some((row) => !Array.isArray(row) || row.length !== this.options.columns.length)
    ) {
      throw new RestoreError(`${this.label}: committable is not { run, subtask, checkpointId, rows } with ${this.options.columns.length} values a row (were the columns changed?): ${JSON.stringify(value).slice(0, 300)}`);
    }
    return { ...(c as PostgresCommittable), run: c.run ?? LEGACY_RUN_ID };
  }

  status(): PostgresSinkWriterStatus {
    return {
      deliveryGuarantee: 'exactly-once',
      rowsBuffered: this.buffer.length,
      rowsWritten: this.rowsWritten,
      statementsExecuted: this.statementsExecuted,
      commitsApplied: this.commitsApplied,
      commitsSkipped: this.commitsSkipped,
    };
  }

  /** Rows not yet in a checkpoint are dropped: the job replays them from its last checkpoint. */
  async close(): Promise<void> {
    this.buffer = [];
    await this.committing;
    await this.session.client.end().catch(() => {});
  }
}
