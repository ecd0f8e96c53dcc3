// Autoscaling on a real cluster: an application with AutoScalingEnabled, packaged to S3 and run by
// a coordinator on etcd and two worker processes, starts at parallelism 1 while its input arrives
// faster than one subtask can count it (each bid costs CPU). The leader's autoscaler, reading only
// what the workers report in their heartbeats, rescales it live (the same attempt goes on) as an
// AutoscaleApplication operation; the output committed across the rescale is exact.

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
import { AUTOSCALE_OPERATION, AUTOSCALING_PROPERTY_GROUP } from './application-autoscaling.ts';
import { committedCounts, uploadKeyedCountApp } from './testing/applications-on-s3.ts';

// 60,000 events at up to 3,000/s; counting a bid costs 400 µs, so one subtask counts at most
// ~2,500 bids/s (fewer on a busy machine) and falls behind: the run lasts 20 s or more.
const EVENTS = 60_000;
const RATE = 3_000;
const BUSY_MICROS_PER_BID = 400;
const MAX_PARALLELISM = 4;
const KEY = { accessKeyId: 'AKIASLUICESCALE', secretAccessKey: 'scale-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] };

let etcd: string[];
let s3: S3TestService;
let bucket: TestBucket;
let dir: string;
let cluster: ProcessCluster | undefined;

before(async () => {
  etcd = await requireEtcd();
  s3 = await requireS3();
  bucket = await createTestBucket(s3, 'autoscaling', { versioned: true });
  dir = mkdtempSync(join(tmpdir(), 'sluice-autoscaling-'));
});

after(async () => {
  await cluster?.stop();
  await bucket?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface JobView {
  jobId: string;
  jobName: string;
  state: string;
  attempt: number;
  parallelism: number;
  numRestarts: number;
}

describe('autoscaling an application on a real cluster', { timeout: 300_000 }, () => {
  it('scales a job that falls behind up, live, from what its workers report; the output is exact', async () => {
    const version = await uploadKeyedCountApp(s3, bucket.name, 'apps/counts.zip', dir);
    const keysFile = join(dir, 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [KEY] }));
    cluster = await ProcessCluster.start({
      dir,
      coordinators: 1,
      workers: 2,
      slotsPerWorker: 2,
      etcdEndpoints: etcd,
      etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}-autoscaling/`,
      checkpointDirectory: `s3://${bucket.name}/checkpoints`,
      snapshotDirectory: `s3://${bucket.name}/snapshots`,
      coordinatorArgs: ['--api-keys-file', keysFile, '--api-account-id', '123456789012', '--autoscaling-interval-ms', '1000'],
    });
    const api = new sdk.KinesisAnalyticsV2Client({
      endpoint: `http://127.0.0.1:${cluster.coordinators[0]!.restPort}`,
      region: 'us-east-1',
      credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    });
    const operations = async () => (await api.send(new sdk.ListApplicationOperationsCommand({ ApplicationName: 'counts' }))).ApplicationOperationInfoList!;
    const job = async (): Promise<JobView> => ((await cluster!.rest('GET', '/v1/jobs')).jobs as JobView[]).find((j) => j.jobName === 'counts')!;

    await api.send(
      new sdk.CreateApplicationCommand({
        ApplicationName: 'counts',
        RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
        ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
        ApplicationConfiguration: {
          ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: `arn:aws:s3:::${bucket.name}`, FileKey: 'apps/counts.zip', ObjectVersion: version } } },
          EnvironmentProperties: {
            PropertyGroups: [
              { PropertyGroupId: 'test', PropertyMap: { output: `s3://${bucket.name}/output`, events: String(EVENTS), rate: String(RATE), busyMicrosPerRecord: String(BUSY_MICROS_PER_BID) } },
              { PropertyGroupId: AUTOSCALING_PROPERTY_GROUP, PropertyMap: { 'scale-up.stabilization.ms': '2000', 'cooldown.ms': '5000', 'max.parallelism': String(MAX_PARALLELISM) } },
            ],
          },
          FlinkApplicationConfiguration: {
            CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: true, CheckpointInterval: 1_000, MinPauseBetweenCheckpoints: 0 },
            ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 1, ParallelismPerKPU: 1, AutoScalingEnabled: true },
          },
        },
      }),
    );
    const started = await api.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts', RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' } } }));
    await waitFor('the application to run', 120_000, async () => {
      const operation = (await operations()).find((o) => o.OperationId === started.OperationId);
      if (operation?.OperationStatus === 'FAILED') throw new Error(`the start failed\n${cluster!.coordinatorLogTails(15)}`);
      return operation?.OperationStatus === 'SUCCESSFUL';
    });
    const atStart = await job();
    assert.equal(atStart.parallelism, 1);

    const scaled = await waitFor(
      () => `an AutoscaleApplication operation to succeed (the job is at ${JSON.stringify(atStart)})\n${cluster!.coordinatorLogTails(10)}`,
      120_000,
      async () => {
        const done = (await operations()).filter((o) => o.Operation === AUTOSCALE_OPERATION);
        const failed = done.find((o) => o.OperationStatus === 'FAILED');
        if (failed) throw new Error(`an autoscaling operation failed\n${cluster!.coordinatorLogTails(15)}`);
        return done.some((o) => o.OperationStatus === 'SUCCESSFUL') ? done : undefined;
      },
      250,
    );
    const afterScaling = await job();
    assert.ok(afterScaling.parallelism > 1 && afterScaling.parallelism <= MAX_PARALLELISM, `scaled within 2..${MAX_PARALLELISM}: ${JSON.stringify(afterScaling)}`);
    const { lastRescale, transitions } = await cluster.rest('GET', `/v1/jobs/${afterScaling.jobId}`);
    assert.equal(lastRescale?.mode, 'live', `rescaled live: ${JSON.stringify(lastRescale)}`);
    assert.equal(afterScaling.attempt, atStart.attempt, `live: the attempt that ran at 1 goes on; the job went ${JSON.stringify(transitions)}`);
    assert.equal(afterScaling.numRestarts, 0);
    const detail = (await api.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'counts' }))).ApplicationDetail!;
    assert.equal(detail.ApplicationConfigurationDescription!.FlinkApplicationConfigurationDescription!.ParallelismConfigurationDescription!.CurrentParallelism, afterScaling.parallelism);
    const decision = cluster.logLines(cluster.coordinators[0]!).find((l) => l.message === 'autoscaling: rescaling the application');
    assert.ok(decision, 'the decision is logged with its inputs');
    assert.match(String(decision.reason), /records per busy second per subtask/);

    let last: unknown;
    const finished = await waitFor(() => `the job to read all its input; it is ${JSON.stringify(last)}\n${cluster!.coordinatorLogTails(20)}`, 240_000, async () => {
      last = await cluster!.rest('GET', `/v1/jobs/${afterScaling.jobId}`);
      const j = await job();
      if (j.state === 'failed') throw new Error(`the job failed: ${JSON.stringify(j)}`);
      return j.state === 'finished' ? j : undefined;
    }, 500);
    const comparison = compareCommittedRecords(await committedCounts(s3, bucket.name, 'output/'), expectedBidCounts(EVENTS));
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
    process.stderr.write(
      `# autoscaled ${scaled.length} time(s) (1 → ${afterScaling.parallelism}, finished at ${finished.parallelism}): "${String(decision.reason)}"; ${comparison.committedRecords} records committed exactly once\n`,
    );
  });
});
