// A sink that writes rows into a MySQL or MariaDB table (Amazon RDS for MySQL or MariaDB, Aurora
// MySQL, or any server), at-least-once or exactly-once (ARCHITECTURE.md, decision 5): the
// PostgreSQL sink's behaviour and options, in MySQL's SQL.
//
// At-least-once: rows are upserted in multi-row `INSERT … ON DUPLICATE KEY UPDATE` statements of
// `batchSize` rows as they fill, and flushed on each checkpoint barrier; a replay after a failure
// writes some rows again, which the upsert makes harmless.
//
// Exactly-once: a checkpoint's rows are kept in the checkpoint and written when it completes, in
// one transaction that also advances the row of the writer's run and subtask in
// `sluice_sink_commits(sink_id, run_id, subtask, checkpoint_id)`; a commit handed again (a
// restore) is skipped. The writers are the PostgreSQL sink's (../common/sql-sink-writers.ts,
// which says why this neither loses nor doubles rows); this file is how MySQL writes them. The
// table must be InnoDB (MyISAM cannot roll back), which the sink checks at start.

import { randomUUID } from 'node:crypto';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { ConfigurationError, SluiceError } from '../../../shared/errors.ts';
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
import { MysqlCommitLog } from './mysql-commit-log.ts';
import { checkTable, connectMysql, mysqlError, refusedRowError, sinkLabel, type MysqlSession } from './mysql-connection.ts';
import { MAX_SINK_ID_CHARS, resolveMysqlSinkOptions, type MysqlSinkOptions, type ResolvedMysqlSinkOptions } from './mysql-sink-options.ts';
import { MysqlRowStatementBuilder, sqlLiteral, type MysqlStatement } from './mysql-statements.ts';

/** What an exactly-once writer hands to commit: one checkpoint's rows (as SQL literals) of one subtask. */
export type MysqlCommittable = SqlCommittable;
export type MysqlSinkWriterState = SqlSinkWriterState;
export type MysqlSinkWriterStatus = SqlSinkWriterStatus;

/** Room for the packet header and the command byte around a statement. */
const PACKET_OVERHEAD_BYTES = 1024;

export class MysqlSink<T = Record<string, unknown>> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedMysqlSinkOptions<T>;

  constructor(options: MysqlSinkOptions<T>) {
    this.options = resolveMysqlSinkOptions(options);
    this.name = this.options.name;
  }

  async createWriter(context: SinkWriterContext, restoredState: unknown): Promise<SinkWriter<T>> {
    const options = this.options;
    const label = sinkLabel(options);
    const sinkId = options.sinkId ?? `${context.jobName}/${options.name}`;
    if (options.deliveryGuarantee === 'exactly-once' && sinkId.length > MAX_SINK_ID_CHARS) {
      throw new ConfigurationError('sinkId', `${label}: the default sink id ${JSON.stringify(sinkId.slice(0, 60))}… is longer than ${MAX_SINK_ID_CHARS} characters (set sinkId)`);
    }
    const session = await connectMysql(options as ResolvedMysqlSinkOptions<unknown>);
    const commitLog = new MysqlCommitLog(options.commitTable);
    try {
      await checkTable(session, options as ResolvedMysqlSinkOptions<unknown>);
      if (options.deliveryGuarantee === 'exactly-once') await commitLog.ensureTable(session.connection);
    } catch (error) {
      session.connection.destroy();
      throw error instanceof SluiceError ? error : mysqlError(label, session.where, session.user, 'preparing the table', error);
    }
    const builder = new MysqlRowStatementBuilder(options.table, options.columns, options.keyColumns, options.batchSize, session.maxPacketBytes - PACKET_OVERHEAD_BYTES);
    const table = new MysqlTableSession(label, options.tableText, options.columns, session, builder, commitLog);
    const mapper = new SqlRowMapper<T>(label, options, sqlLiteral);
    if (options.deliveryGuarantee === 'at-least-once') return new AtLeastOnceSqlWriter<T>(mapper, table, builder.maxRowsPerStatement);
    const lastCheckpointId = restoredLastCheckpointId(restoredState, label);
    return new ExactlyOnceSqlWriter<T>(mapper, table, label, options.columns.length, sinkId, randomUUID(), context.subtaskIndex, lastCheckpointId);
  }
}

/** The sink's connection: rows as upserts, and a commit as one transaction with the commit log. */
class MysqlTableSession implements SqlTableSession {
  rowsWritten = 0;
  statementsExecuted = 0;

  constructor(
    private readonly label: string,
    private readonly tableText: string,
    private readonly columns: readonly string[],
    private readonly session: MysqlSession,
    private readonly builder: MysqlRowStatementBuilder,
    private readonly commitLog: MysqlCommitLog,
  ) {}

  private async execute(statement: MysqlStatement, doing: string): Promise<void> {
    if (this.session.brokenBy) throw this.session.brokenBy;
    try {
      await this.session.connection.query(statement.sql);
    } catch (error) {
      throw refusedRowError(this.label, this.columns, statement, doing, error) ?? mysqlError(this.label, this.session.where, this.session.user, doing, error);
    }
    this.statementsExecuted++;
  }

  async writeRows(rows: readonly unknown[][]): Promise<void> {
    for (const statement of this.builder.statements(rows as readonly string[][])) {
      await this.execute(statement, `writing rows to ${this.tableText}`);
    }
    this.rowsWritten += rows.length;
  }

  /** One transaction: advance the run's recorded checkpoint, and only if it advanced, write the rows. */
  async commitOnce(sinkId: string, committable: SqlCommittable): Promise<boolean> {
    if (this.session.brokenBy) throw this.session.brokenBy;
    const connection = this.session.connection;
    const doing = `committing checkpoint ${committable.checkpointId} of subtask ${committable.subtask} (run ${committable.run || 'before runs'}) to ${this.tableText}`;
    try {
      await connection.beginTransaction();
      const advanced = await this.commitLog.advance(connection, sinkId, committable);
      if (!advanced) {
        await connection.rollback();
        return false;
      }
    } catch (error) {
      await connection.rollback().catch(() => {});
      throw mysqlError(this.label, this.session.where, this.session.user, doing, error);
    }
    try {
      await this.writeRows(committable.rows);
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => {});
      throw error instanceof SluiceError ? error : mysqlError(this.label, this.session.where, this.session.user, doing, error);
    }
    this.statementsExecuted++;
    return true;
  }

  async close(): Promise<void> {
    await this.session.connection.end().catch(() => this.session.connection.destroy());
  }
}
