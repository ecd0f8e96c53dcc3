// The table in which the exactly-once PostgreSQL sink records what it has committed:
// `sluice_sink_commits(sink_id, run_id, subtask, checkpoint_id)`, one row per writer run and
// subtask, holding the highest checkpoint of that run whose rows are written. A commit advances
// its row in the same transaction as the rows; a commit whose checkpoint is not above the
// recorded one was done before (a replay after a crash or a restore) and changes nothing.
//
// Why the run (one writer: one subtask of one attempt; a random id carried in each committable):
// checkpoint ids grow within a run, but not across jobs that share a sink id — a job started
// fresh numbers from 1 again, and a job restored from another job's snapshot has the same
// `<job name>/<sink name>` by default. Keyed by the run that prepared the rows, a restored
// checkpoint's pending commits are checked against the run that made them (and skipped if done),
// and a new run is never held back by an older run's higher ids.

import type pg from 'pg';
import type { TableName } from '../common/sql-sink-options.ts';
import type { CommitIdentity } from '../common/sql-sink-writers.ts';
import { quoteIdentifier, quoteTableName } from './postgres-statements.ts';

export class PostgresCommitLog {
  private readonly table: string;

  constructor(table: TableName) {
    this.table = quoteTableName(table);
  }

  /** Creates the table if absent, or adds the run to one made before; an advisory lock keeps concurrent subtasks from racing on it. */
  async ensureTable(client: pg.Client): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.table]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           sink_id text NOT NULL,
           run_id text NOT NULL,
           subtask integer NOT NULL,
           checkpoint_id bigint NOT NULL,
           committed_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (sink_id, run_id, subtask))`,
      );
      await this.addRunColumn(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /** A table of the layout without runs (key sink_id, subtask): its rows become the legacy run's. */
  private async addRunColumn(client: pg.Client): Promise<void> {
    const hasRun = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'run_id' AND NOT attisdropped`, [this.table]);
    if (hasRun.rowCount === 1) return;
    const primaryKey = await client.query(`SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [this.table]);
    const dropKey = primaryKey.rows.map((r: { conname: string }) => `DROP CONSTRAINT ${quoteIdentifier(r.conname)}, `).join('');
    await client.query(`ALTER TABLE ${this.table} ADD COLUMN run_id text NOT NULL DEFAULT ''`); // LEGACY_RUN_ID
    await client.query(`ALTER TABLE ${this.table} ${dropKey}ADD PRIMARY KEY (sink_id, run_id, subtask), ALTER COLUMN run_id DROP DEFAULT`);
  }

  /**
   * Inside an open transaction: records the commit's checkpoint for its (sink, run, subtask) if it
   * is above the recorded one, and says whether it was. The row stays locked until the transaction
   * ends, so two writers replaying one run's commit (an old attempt and its replacement) go one
   * after the other, and the second finds it done.
   */
  async advance(client: pg.Client, sinkId: string, commit: CommitIdentity): Promise<boolean> {
    const result = await client.query(
      `INSERT INTO ${this.table} AS c (sink_id, run_id, subtask, checkpoint_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sink_id, run_id, subtask) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, committed_at = now()
       WHERE c.checkpoint_id < EXCLUDED.checkpoint_id
       RETURNING checkpoint_id`,
      [sinkId, commit.run, commit.subtask, commit.checkpointId],
    );
    return result.rowCount === 1;
  }
}
