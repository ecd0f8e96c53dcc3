// The table in which the exactly-once PostgreSQL sink records, per sink and subtask, the highest
// checkpoint whose rows it has written: `sluice_sink_commits(sink_id, subtask, checkpoint_id)`.
// A commit advances that row in the same transaction as the rows; a commit whose checkpoint is
// not above the recorded one was done before (a replay after a crash) and changes nothing.

import type pg from 'pg';
import type { TableName } from './postgres-statements.ts';
import { quoteTableName } from './postgres-statements.ts';

export class PostgresCommitLog {
  private readonly table: string;

  constructor(table: TableName) {
    this.table = quoteTableName(table);
  }

  /** Creates the table if absent; an advisory lock keeps concurrent subtasks from racing on it. */
  async ensureTable(client: pg.Client): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.table]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           sink_id text NOT NULL,
           subtask integer NOT NULL,
           checkpoint_id bigint NOT NULL,
           committed_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (sink_id, subtask))`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /**
   * Inside an open transaction: records `checkpointId` for (sinkId, subtask) if it is above the
   * recorded one, and says whether it was. The row stays locked until the transaction ends, so
   * two writers of the same subtask (an old attempt and its replacement) commit one after the other.
   */
  async advance(client: pg.Client, sinkId: string, subtask: number, checkpointId: number): Promise<boolean> {
    const result = await client.query(
      `INSERT INTO ${this.table} AS c (sink_id, subtask, checkpoint_id) VALUES ($1, $2, $3)
       ON CONFLICT (sink_id, subtask) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, committed_at = now()
       WHERE c.checkpoint_id < EXCLUDED.checkpoint_id
       RETURNING checkpoint_id`,
      [sinkId, subtask, checkpointId],
    );
    return result.rowCount === 1;
  }

  /**
   * Forgets what a previous run of this sink recorded for the subtasks this one replaces (every
   * old subtask j with j % parallelism == subtask): a job started without a checkpoint numbers
   * its checkpoints from the start again, and must not find its commits "done already".
   */
  async forgetForFreshStart(client: pg.Client, sinkId: string, subtask: number, parallelism: number): Promise<number> {
    const result = await client.query(`DELETE FROM ${this.table} WHERE sink_id = $1 AND subtask % $2 = $3`, [sinkId, parallelism, subtask]);
    return result.rowCount ?? 0;
  }
}
