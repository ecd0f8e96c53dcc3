// The managed service end to end, as a user drives it: an application packaged with `sluice
// package` and uploaded to S3 (two object versions), run by a real cluster (two coordinators
// on real etcd, two workers, each process with its own code cache: they share nothing but S3)
// through the unmodified AWS SDK client (kinesisanalyticsv2) pointed at a coordinator. Created,
// started, snapshotted, updated to the second version (its keyed state goes on: the running
// count per auction continues), rolled back, stopped with a snapshot, started again from it and
// run to its end: the output committed across all of it equals an uninterrupted run's.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { requireEtcd } from '../../shared/testing/services.ts';
import { createTestBucket, requireS3, type S3TestService, type TestBucket } from '../../shared/testing/s3-service.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { compareCommittedRecords, expectedBidCounts } from '../cluster/testing/keyed-count-expectation.ts';
import { ProcessCluster } from '../cluster/testing/process-cluster.ts';
import { committedCounts, uploadKeyedCountApp } from './testing/applications-on-s3.ts';

/** Enough input to outlast the lifecycle's steps at this rate (about 80 s), then run to its end. */
const EVENTS = 24_000;
const RATE = 300;
const KEY = { accessKeyId: 'AKIASLUICEAPPS', secretAccessKey: 'apps-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] };

let etcd: string[];
let s3: S3TestService;
let bucket: TestBucket;
let dir: string;
let cluster: ProcessCluster | undefined;

before(async () => {
  etcd = await requireEtcd();
  s3 = await requireS3();
  bucket = await createTestBucket(s3, 'applications', { versioned: true });
  dir = mkdtempSync(join(tmpdir(), 'sluice-applications-'));
});

after(async () => {
  await cluster?.stop();
  await bucket?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('applications through the kinesisanalyticsv2 API on a real cluster', { timeout: 600_000 }, () => {
  it('create with code in S3, start, snapshot, update keeping state, rollback, stop with a snapshot, start from it: the output is exact', async () => {
    const v1 = await uploadKeyedCountApp(s3, bucket.name, 'apps/counts.zip', dir);
    const v2 = await uploadKeyedCountApp(s3, bucket.name, 'apps/counts.zip', dir);
    assert.notEqual(v1, v2);
    const keysFile = join(dir, 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [KEY] }));
    cluster = await ProcessCluster.start({
      dir,
      coordinators: 2,
      workers: 2,
      slotsPerWorker: 2,
      etcdEndpoints: etcd,
      etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}-applications/`,
      leaseTtlSeconds: 4,
      checkpointDirectory: `s3://${bucket.name}/checkpoints`,
      snapshotDirectory: `s3://${bucket.name}/snapshots`,
      coordinatorArgs: ['--api-keys-file', keysFile, '--api-account-id', '123456789012'],
    });
    // Both coordinators: a standby forwards to the leader.
    const clients = cluster.coordinators.map(
      (c) =>
        new sdk.KinesisAnalyticsV2Client({
          endpoint: `http://127.0.0.1:${c.restPort}`,
          region: 'us-east-1',
          credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
        }),
    );
    const [api, standbyOrLeader] = [clients[0]!, clients[1]!];
    const waitOperation = (operationId: string, what: string) =>
      waitFor(`${what} (operation ${operationId})`, 180_000, async () => {
        const details = (await api.send(new sdk.DescribeApplicationOperationCommand({ ApplicationName: 'counts', OperationId: operationId }))).ApplicationOperationInfoDetails!;
        if (details.OperationStatus === 'FAILED') throw new Error(`${what} failed: ${details.OperationFailureDetails?.ErrorInfo?.ErrorString}\n${cluster!.coordinatorLogTails(15)}`);
        return details.OperationStatus === 'SUCCESSFUL' ? details : undefined;
      });
    const status = async () => (await standbyOrLeader.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'counts' }))).ApplicationDetail!;

    const created = await api.send(
      new sdk.CreateApplicationCommand({
        ApplicationName: 'counts',
        RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
        ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
        ApplicationConfiguration: {
          ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: `arn:aws:s3:::${bucket.name}`, FileKey: 'apps/counts.zip', ObjectVersion: v1 } } },
          EnvironmentProperties: { PropertyGroups: [{ PropertyGroupId: 'test', PropertyMap: { output: `s3://${bucket.name}/output`, events: String(EVENTS), rate: String(RATE) } }] },
          FlinkApplicationConfiguration: {
            CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: true, CheckpointInterval: 1_000, MinPauseBetweenCheckpoints: 0 },
            ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 2, ParallelismPerKPU: 1, AutoScalingEnabled: false },
          },
          ApplicationSnapshotConfiguration: { SnapshotsEnabled: true },
        },
      }),
    );
    assert.equal(created.ApplicationDetail!.ApplicationARN, 'arn:aws:kinesisanalytics:us-east-1:123456789012:application/counts');

    const started = await api.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts', RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' } } }));
    await waitOperation(started.OperationId!, 'the start');
    assert.equal((await status()).ApplicationStatus, 'RUNNING');
    const jobs = async () => (await cluster!.rest('GET', '/v1/jobs')).jobs as Array<{ jobId: string; jobName: string; state: string; checkpoints: { completed: number; periodic: { intervalMs: number; source: string } } }>;
    const first = (await jobs()).find((j) => j.state === 'running')!;
    assert.deepEqual([first.jobName, first.checkpoints.periodic.intervalMs, first.checkpoints.periodic.source], ['counts', 1_000, 'submission'], "the application's checkpoint configuration runs the job");

    await api.send(new sdk.CreateApplicationSnapshotCommand({ ApplicationName: 'counts', SnapshotName: 'before-v2' }));
    await waitFor('the snapshot to be READY', 120_000, async () => {
      const details = (await api.send(new sdk.DescribeApplicationSnapshotCommand({ ApplicationName: 'counts', SnapshotName: 'before-v2' }))).SnapshotDetails!;
      assert.notEqual(details.SnapshotStatus, 'FAILED');
      return details.SnapshotStatus === 'READY' ? details : undefined;
    });

    const update = await api.send(
      new sdk.UpdateApplicationCommand({
        ApplicationName: 'counts',
        CurrentApplicationVersionId: 1,
        ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { ObjectVersionUpdate: v2 } } } },
      }),
    );
    await waitOperation(update.OperationId!, 'the update to the second version');
    const updated = await status();
    assert.deepEqual([updated.ApplicationStatus, updated.ApplicationVersionId], ['RUNNING', 2]);

    const rollback = await api.send(new sdk.RollbackApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 2 }));
    await waitOperation(rollback.OperationId!, 'the rollback');
    const rolled = await status();
    assert.deepEqual([rolled.ApplicationStatus, rolled.ApplicationVersionId, rolled.ApplicationVersionRolledBackTo], ['RUNNING', 3, 1]);

    const stop = await api.send(new sdk.StopApplicationCommand({ ApplicationName: 'counts' }));
    await waitOperation(stop.OperationId!, 'the stop');
    assert.equal((await status()).ApplicationStatus, 'READY');
    const restarted = await api.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts' }));
    await waitOperation(restarted.OperationId!, 'the start from the latest snapshot');

    const running = (await jobs()).filter((j) => j.state !== 'stopped' && j.state !== 'cancelled');
    assert.equal(running.length, 1, JSON.stringify(running));
    const finished = await waitFor('the last job to read all its input', 300_000, async () => {
      const job = (await jobs()).find((j) => j.jobId === running[0]!.jobId)!;
      if (job.state === 'failed') throw new Error(`the job failed: ${JSON.stringify(job)}`);
      return job.state === 'finished' ? job : undefined;
    }, 500);
    assert.equal(finished.jobName, 'counts');

    const comparison = compareCommittedRecords(await committedCounts(s3, bucket.name, 'output/'), expectedBidCounts(EVENTS));
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
    const operations = (await api.send(new sdk.ListApplicationOperationsCommand({ ApplicationName: 'counts' }))).ApplicationOperationInfoList!;
    const counted = (await jobs()).filter((j) => j.jobName === 'counts').length;
    assert.equal(counted, 4, 'a job per start, update and rollback');
    process.stderr.write(`# ${operations.length} operations (${operations.map((o) => o.Operation).join(', ')}); ${comparison.committedRecords} records committed exactly once across ${counted} jobs\n`);

    await api.send(new sdk.DeleteApplicationCommand({ ApplicationName: 'counts', CreateTimestamp: created.ApplicationDetail!.CreateTimestamp }));
    await assert.rejects(api.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'counts' })), sdk.ResourceNotFoundException);
  });
});
