// The leader killed with kill -9 in the middle of an application operation: while the job of a
// StartApplication deploys (STARTING), and while an UpdateApplication stops the old version with
// its snapshot (UPDATING). The new leader resumes the operation from what the HA store has: the
// start finds the job it submitted, the update finishes the stop and starts the new version from
// its snapshot. The output committed across it all is exact: nothing lost, nothing doubled.

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
import { ProcessCluster, type ClusterProcess } from '../cluster/testing/process-cluster.ts';
import { committedCounts, uploadKeyedCountApp } from './testing/applications-on-s3.ts';

const EVENTS = 16_000;
const RATE = 400;
const KEY = { accessKeyId: 'AKIASLUICEKILL', secretAccessKey: 'kill-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] };

let etcd: string[];
let s3: S3TestService;
let bucket: TestBucket;
const dirs: string[] = [];
const clusters: ProcessCluster[] = [];

before(async () => {
  etcd = await requireEtcd();
  s3 = await requireS3();
  bucket = await createTestBucket(s3, 'applications-kill', { versioned: true });
});

after(async () => {
  for (const cluster of clusters) await cluster.stop();
  await bucket?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Kills `leader` with SIGKILL the instant it logs that the application's job went `to`. */
async function killWhenJob(cluster: ProcessCluster, leader: ClusterProcess, to: string): Promise<void> {
  await cluster.nextLogLine(leader, (l) => l.message === 'job state changed' && l.application === 'counts' && l.to === to, 180_000);
  cluster.kill(leader, 'SIGKILL');
}

async function runCase(during: 'STARTING' | 'UPDATING'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-applications-kill-${during}-`));
  dirs.push(dir);
  const prefix = `${during.toLowerCase()}`;
  const versions = [await uploadKeyedCountApp(s3, bucket.name, `${prefix}/counts.zip`, dir), await uploadKeyedCountApp(s3, bucket.name, `${prefix}/counts.zip`, dir)];
  const keysFile = join(dir, 'api-keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: [KEY] }));
  const cluster = await ProcessCluster.start({
    dir,
    coordinators: 2,
    workers: 2,
    slotsPerWorker: 2,
    etcdEndpoints: etcd,
    etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}-${prefix}/`,
    leaseTtlSeconds: 4,
    checkpointDirectory: `s3://${bucket.name}/${prefix}/checkpoints`,
    snapshotDirectory: `s3://${bucket.name}/${prefix}/snapshots`,
    coordinatorArgs: ['--api-keys-file', keysFile],
  });
  clusters.push(cluster);
  const clients = cluster.coordinators.map(
    (c) =>
      new sdk.KinesisAnalyticsV2Client({
        endpoint: `http://127.0.0.1:${c.restPort}`,
        region: 'us-east-1',
        credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
      }),
  );
  const oldLeader = (await cluster.leaderIndex())!;
  const survivor = clients[1 - oldLeader]!;
  const waitOperation = (api: sdk.KinesisAnalyticsV2Client, operationId: string, what: string) =>
    waitFor(`${what} (operation ${operationId})`, 240_000, async () => {
      const details = (await api.send(new sdk.DescribeApplicationOperationCommand({ ApplicationName: 'counts', OperationId: operationId }))).ApplicationOperationInfoDetails!;
      if (details.OperationStatus === 'FAILED') throw new Error(`${what} failed: ${details.OperationFailureDetails?.ErrorInfo?.ErrorString}\n${cluster.coordinatorLogTails(15)}`);
      return details.OperationStatus === 'SUCCESSFUL' ? details : undefined;
    });

  await survivor.send(
    new sdk.CreateApplicationCommand({
      ApplicationName: 'counts',
      RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
      ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
      ApplicationConfiguration: {
        ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: `arn:aws:s3:::${bucket.name}`, FileKey: `${prefix}/counts.zip`, ObjectVersion: versions[0] } } },
        EnvironmentProperties: { PropertyGroups: [{ PropertyGroupId: 'test', PropertyMap: { output: `s3://${bucket.name}/${prefix}/output`, events: String(EVENTS), rate: String(RATE) } }] },
        FlinkApplicationConfiguration: {
          CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: true, CheckpointInterval: 1_000, MinPauseBetweenCheckpoints: 0 },
          ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 2, ParallelismPerKPU: 1, AutoScalingEnabled: false },
        },
      },
    }),
  );

  const killed = killWhenJob(cluster, cluster.coordinators[oldLeader]!, during === 'STARTING' ? 'deploying' : 'stopping');
  const start = await survivor.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts' }));
  let operationId = start.OperationId!;
  if (during === 'UPDATING') {
    await waitOperation(survivor, operationId, 'the start');
    const update = await survivor.send(
      new sdk.UpdateApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 1, ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { ObjectVersionUpdate: versions[1] } } } } }),
    );
    operationId = update.OperationId!;
  }
  await killed;
  await waitFor('the standby to be elected', 60_000, async () => {
    const index = await cluster.leaderIndex();
    return index !== undefined && index !== oldLeader ? index : undefined;
  });
  await waitOperation(survivor, operationId, `the ${during === 'STARTING' ? 'start' : 'update'} resumed by the new leader`);
  const detail = (await survivor.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'counts' }))).ApplicationDetail!;
  assert.deepEqual([detail.ApplicationStatus, detail.ApplicationVersionId], ['RUNNING', during === 'STARTING' ? 1 : 2]);
  const resumed = cluster.logLines(cluster.coordinators[1 - oldLeader]!).find((l) => l.message === 'resuming an operation the previous leader left in progress');
  assert.ok(resumed, 'the new leader resumed the operation from the HA store');

  const live = ((await cluster.rest('GET', '/v1/jobs')).jobs as Array<{ jobId: string; jobName: string; state: string }>).filter((j) => !['stopped', 'cancelled', 'finished', 'failed'].includes(j.state));
  assert.equal(live.length, 1, `one job runs the application: ${JSON.stringify(live)}`);
  await waitFor('the job to read all its input', 300_000, async () => {
    const job = await cluster.job(live[0]!.jobId);
    if (job.state === 'failed') throw new Error(`the job failed: ${job.failure}`);
    return job.state === 'finished' ? job : undefined;
  }, 500);
  const comparison = compareCommittedRecords(await committedCounts(s3, bucket.name, `${prefix}/output/`), expectedBidCounts(EVENTS));
  assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
  assert.equal(comparison.committedRecords, comparison.expectedRecords);
  process.stderr.write(`# leader killed during ${during}: resumed by the new leader, ${comparison.committedRecords} records committed exactly once\n`);
  await cluster.stop();
}

describe('the leader killed with kill -9 during an application operation', { timeout: 600_000 }, () => {
  it('during STARTING (its job deploying): the new leader finds the job the start submitted and the application runs', () => runCase('STARTING'));
  it('during UPDATING (the old version stopping with its snapshot): the new leader finishes the update from that snapshot', () => runCase('UPDATING'));
});
