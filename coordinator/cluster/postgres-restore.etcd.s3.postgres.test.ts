// The documented upgrade flow into PostgreSQL on a cluster of real processes (one coordinator
// elected through a real etcd, two workers, checkpoints and snapshots on a real S3-compatible
// server): a job writes {auction, n} rows through the exactly-once PostgreSQL sink, is stopped
// with a snapshot after several checkpoints, and a job of the same name (so the same default
// sink id) restored from that snapshot at another parallelism runs the input to its end. Every
// expected row must be in the table exactly once.
//
// It once lost most of the second job's rows: its checkpoint ids started at 1 again, and the
// sink's commit record (then one checkpoint id per sink and subtask) held the first job's higher
// id, so each of the second job's commits looked done already. Either fix alone makes this pass:
// ids that continue after the restored checkpoint, or commit records keyed by the writer run.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { requireEtcd } from '../../shared/testing/services.ts';
import { requirePostgres } from '../../shared/testing/postgres-service.ts';
import { createTestBucket, requireS3, type TestBucket } from '../../shared/testing/s3-service.ts';
import { compareCommittedRecords, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster } from './testing/process-cluster.ts';

const APP = fileURLToPath(new URL('./testing/postgres-count-app.ts', import.meta.url));
const EVENTS = 20_000;
// The first job reads slowly, so that it is stopped long before its input ends; the second
// reads the rest over several checkpoints, whose commits are the ones that were lost.
const FIRST_RATE = 1_000;
const SECOND_RATE = 4_000;
/** Checkpoints the first job completes before it is stopped: the second job's first ids are below them. */
const FIRST_JOB_CHECKPOINTS = 8;

let cluster: ProcessCluster;
let dir: string;
let bucket: TestBucket;
let admin: pg.Client;
let postgresUrl: string;
const table = `sluice_restore_${process.pid}_${Date.now()}`;
// Unique per run so that no earlier run's commit records are around; both jobs share it.
const jobName = `postgres-restore-${process.pid}-${Date.now()}`;

before(async () => {
  const s3 = await requireS3();
  const etcd = await requireEtcd();
  postgresUrl = await requirePostgres();
  admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (auction bigint NOT NULL, n integer NOT NULL)`); // no key: a doubled row stays doubled
  bucket = await createTestBucket(s3, 'postgres-restore');
  dir = mkdtempSync(join(tmpdir(), 'sluice-postgres-restore-'));
  cluster = await ProcessCluster.start({
    dir,
    coordinators: 1,
    workers: 2,
    slotsPerWorker: 2,
    etcdEndpoints: etcd,
    etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}/`,
    leaseTtlSeconds: 4,
    checkpointDirectory: `s3://${bucket.name}/checkpoints`,
    snapshotDirectory: `s3://${bucket.name}/snapshots`,
  });
});

after(async () => {
  await cluster?.stop();
  if (admin) {
    await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await admin.query('DELETE FROM sluice_sink_commits WHERE sink_id = $1', [`${jobName}/counts`]).catch(() => {});
    await admin.end();
  }
  if (!process.env.SLUICE_KEEP_TEST_DIRS) await bucket?.remove().catch(() => {});
  if (!process.env.SLUICE_KEEP_TEST_DIRS && dir) rmSync(dir, { recursive: true, force: true });
});

const properties = (rate: number) => ({ test: { postgres: postgresUrl, table, events: String(EVENTS), rate: String(rate) } });

async function rowCount(): Promise<number> {
  return Number((await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
}

async function jobUntil(jobId: string, what: string, done: (job: any) => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<any> {
  return waitFor(`job ${jobId} ${what}`, timeoutMs, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job ${jobId} failed: ${job.failure}\n${cluster.coordinatorLogTails()}`);
    return (await done(job)) ? job : undefined;
  });
}

describe('a job restored from a snapshot into PostgreSQL, exactly once', { timeout: 300_000 }, () => {
  it('stop with a snapshot, submit the same job restored from it: every row committed once', async () => {
    const first = (await cluster.rest('POST', '/v1/jobs', { application: APP, jobName, parallelism: 2, properties: properties(FIRST_RATE) })).jobId as string;
    await jobUntil(first, `to complete ${FIRST_JOB_CHECKPOINTS} checkpoints with rows committed`, async (job) => {
      if (job.state === 'finished') throw new Error(`job ${first} finished (its input ran out) before it was stopped`);
      return job.state === 'running' && job.checkpoints.completed >= FIRST_JOB_CHECKPOINTS && (await rowCount()) > 0;
    });
    const stopped = await cluster.rest('POST', `/v1/jobs/${first}/stop`, { snapshot: true, name: `${jobName}-v1` });
    assert.equal(stopped.state, 'stopped');
    const rowsOfFirst = await rowCount();
    assert.ok(rowsOfFirst > 0);

    // Same name, so the same sink id; at parallelism 1, the one sink subtask replays both old subtasks' last commit.
    const second = (await cluster.rest('POST', '/v1/jobs', { application: APP, jobName, parallelism: 1, restoreFrom: `${jobName}-v1`, properties: properties(SECOND_RATE) })).jobId as string;
    const done = await jobUntil(second, 'to finish', (job) => job.state === 'finished');
    // The second job committed at checkpoints before its last one, not only at the end of its input.
    assert.ok(done.checkpoints.completed >= 2, `the restored job completed ${done.checkpoints.completed} checkpoint(s)`);

    const rows = (await admin.query(`SELECT auction::int AS auction, n FROM ${table}`)).rows as Array<{ auction: number; n: number }>;
    const comparison = compareCommittedRecords(rows, expectedBidCounts(EVENTS));
    assert.deepEqual(
      { lost: comparison.lost, doubled: comparison.doubled },
      { lost: 0, doubled: 0 },
      `first job (stopped at checkpoint ${stopped.checkpointId}) committed ${rowsOfFirst} rows; in all ${JSON.stringify(comparison)}`,
    );
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
  });
});
