// The table in which the exactly-once MySQL sink records what it has committed:
// `sluice_sink_commits(sink_id, run_id, subtask, checkpoint_id)`, one row per writer run and
// subtask, holding the highest checkpoint of that run whose rows are written — the PostgreSQL
// sink's table, for the same reasons (see ../postgres/postgres-commit-log.ts on why the run).
// A commit advances its row in the same transaction as the rows; a commit whose checkpoint is not
// above the recorded one was done before (a replay after a crash or a restore) and changes
// nothing.

import type { Connection, ResultSetHeader } from 'mysql2/promise';
import type { TableName } from '../common/sql-sink-options.ts';
import type { CommitIdentity } from '../common/sql-sink-writers.ts';
import { quoteTableName } from './mysql-statements.ts';

export class MysqlCommitLog {
  private readonly table: string;

  constructor(table: TableName) {
    this.table = quoteTableName(table);
  }

  /** Creates the table if absent (concurrent subtasks may all try: the server orders them). Ids compare byte for byte. */
  async ensureTable(connection: Connection): Promise<void> {
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         sink_id VARCHAR(255) NOT NULL,
         run_id VARCHAR(64) NOT NULL,
         subtask INT NOT NULL,
         checkpoint_id BIGINT NOT NULL,
         committed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
         PRIMARY KEY (sink_id, run_id, subtask)
       ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
    );
  }

  /**
   * Inside an open transaction: records the commit's checkpoint for its (sink, run, subtask) if it
   * is above the recorded one, and says whether it was. The INSERT makes sure the row exists (a
   * new one holds 0: checkpoint ids start at 1) and locks it either way until the transaction
   * ends, so two writers replaying one run's commit (an old attempt and its replacement) go one
   * after the other, and the second's UPDATE finds it done.
   */
  async advance(connection: Connection, sinkId: string, commit: CommitIdentity): Promise<boolean> {
    await connection.query(
      `INSERT INTO ${this.table} (sink_id, run_id, subtask, checkpoint_id) VALUES (?, ?, ?, 0)
       ON DUPLICATE KEY UPDATE checkpoint_id = checkpoint_id`,
      [sinkId, commit.run, commit.subtask],
    );
    const [result] = await connection.query<ResultSetHeader>(
      `UPDATE ${this.table} SET checkpoint_id = ?, committed_at = CURRENT_TIMESTAMP(3)
        WHERE sink_id = ? AND run_id = ? AND subtask = ? AND checkpoint_id < ?`,
      [commit.checkpointId, sinkId, commit.run, commit.subtask, commit.checkpointId],
    );
    return result.affectedRows === 1;
  }
}
