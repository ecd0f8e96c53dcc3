// A sink that writes rows into a PostgreSQL table (Amazon RDS or Aurora for PostgreSQL, or any
// server), at-least-once or exactly-once (ARCHITECTURE.md, decision 5).
//
// At-least-once: rows are upserted in multi-row `INSERT … ON CONFLICT (key) DO UPDATE`
// statements of `batchSize` rows as they fill, and flushed on each checkpoint barrier; a replay
// after a failure writes some rows again, which the upsert makes harmless.
//
// Exactly-once: a checkpoint's rows are kept in the checkpoint and written when it completes, in
// one transaction that also advances the row of the writer's run and subtask in
// `sluice_sink_commits(sink_id, run_id, subtask, checkpoint_id)`; a commit handed again (a
// restore) is skipped. The writers, shared with the MySQL sink, are in
// ../common/sql-sink-writers.ts, which says why this neither loses nor doubles rows; this file
// is how PostgreSQL writes them. The price: rows become visible one checkpoint later, and a
// checkpoint interval's rows are held in memory and in the checkpoint.

import { randomUUID } from 'node:crypto';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { SluiceError } from '../../../shared/errors.ts';
import { SqlRowMapper } from '../common/sql-row-mapper.ts';
import {
  AtLeastOnceSqlWriter,
  ExactlyOnceSqlWriter,
  restoredLastCheckpointId,
  type SqlCommittable,
  type SqlSinkWriterState,
  type SqlSinkWriterStatus,
  type SqlTableSession,
} from '../common/sql-sink-writers.ts';
import { PostgresCommitLog } from './postgres-commit-log.ts';
import { checkTable, connectPostgres, postgresError, sinkLabel, type PostgresSession } from './postgres-connection.ts';
import { resolvePostgresSinkOptions, type PostgresSinkOptions, type ResolvedPostgresSinkOptions } from './postgres-sink-options.ts';
import { RowStatementBuilder, type Statement } from './postgres-statements.ts';

/** What an exactly-once writer hands to commit: one checkpoint's rows of one subtask. */
export type PostgresCommittable = SqlCommittable;
export type PostgresSinkWriterState = SqlSinkWriterState;
export type PostgresSinkWriterStatus = SqlSinkWriterStatus;

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
    const table = new PostgresTableSession(label, options.tableText, session, builder, commitLog);
    const mapper = new SqlRowMapper<T>(label, options, sqlValue);
    if (options.deliveryGuarantee === 'at-least-once') return new AtLeastOnceSqlWriter<T>(mapper, table, builder.maxRowsPerStatement);
    const lastCheckpointId = restoredLastCheckpointId(restoredState, label);
    return new ExactlyOnceSqlWriter<T>(mapper, table, label, options.columns.length, sinkId, randomUUID(), context.subtaskIndex, lastCheckpointId);
  }
}

/** A value as `pg` sends it, and as it survives the JSON of a checkpoint. */
function sqlValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  return value;
}

/** The sink's connection: rows as upserts, and a commit as one transaction with the commit log. */
class PostgresTableSession implements SqlTableSession {
  rowsWritten = 0;
  statementsExecuted = 0;

  constructor(
    private readonly label: string,
    private readonly tableText: string,
    private readonly session: PostgresSession,
    private readonly builder: RowStatementBuilder,
    private readonly commitLog: PostgresCommitLog,
  ) {}

  private async execute(statement: Statement, doing: string): Promise<void> {
    if (this.session.brokenBy) throw this.session.brokenBy;
    try {
      await this.session.client.query(statement);
    } catch (error) {
      throw postgresError(this.label, this.session.where, this.session.user, doing, error);
    }
    this.statementsExecuted++;
  }

  async writeRows(rows: readonly unknown[][]): Promise<void> {
    for (const statement of this.builder.statements(rows)) {
      await this.execute(statement, `writing rows to ${this.tableText}`);
    }
    this.rowsWritten += rows.length;
  }

  /** One transaction: advance the run's recorded checkpoint, and only if it advanced, write the rows. */
  async commitOnce(sinkId: string, committable: SqlCommittable): Promise<boolean> {
    if (this.session.brokenBy) throw this.session.brokenBy;
    const client = this.session.client;
    const doing = `committing checkpoint ${committable.checkpointId} of subtask ${committable.subtask} (run ${committable.run || 'before runs'}) to ${this.tableText}`;
    try {
      await client.query('BEGIN');
      const advanced = await this.commitLog.advance(client, sinkId, committable);
      if (!advanced) {
        await client.query('ROLLBACK');
        return false;
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
    return true;
  }

  async close(): Promise<void> {
    await this.session.client.end().catch(() => {});
  }
}
