// The application service through the real AWS SDK client (kinesisanalyticsv2), on the embedded
// HA store with jobs in memory: the lifecycle, its statuses and operations, versions, snapshots,
// every error named by its field, optimistic concurrency, validation before an update stops
// anything, the system rollback, and a new leader resuming an operation in flight.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { SystemClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { EmbeddedHighAvailabilityServices } from '../ha/embedded-high-availability-services.ts';
import { InMemoryAccessKeyStore } from './access-keys.ts';
import { createKinesisAnalyticsHandler } from './api-handler.ts';
import { ApplicationService } from './application-service.ts';
import { TestingApplicationJobs } from './testing/testing-application-jobs.ts';

const KEY = { accessKeyId: 'AKIASLUICETEST', secretAccessKey: 'test-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] };

interface Api {
  readonly client: sdk.KinesisAnalyticsV2Client;
  readonly jobs: TestingApplicationJobs;
  readonly store: EmbeddedHighAvailabilityServices;
  service: ApplicationService;
  /** The leader changes: the service is dropped and a new one leads with the same store and jobs. */
  failover(): Promise<void>;
}

const servers: Server[] = [];
/** Every service that led: a leading one samples for the autoscaler on the system clock until disposed. */
const services: ApplicationService[] = [];
after(async () => {
  for (const service of services) service.dispose();
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function startApi(): Promise<Api> {
  const clock = new SystemClock();
  const store = new EmbeddedHighAvailabilityServices();
  const jobs = new TestingApplicationJobs();
  const logger = new InMemoryLogger();
  const lead = async (id: string) => {
    const service = new ApplicationService({ ha: store, leadership: await store.campaign({ id, address: `testing://${id}` }), clock, logger, jobs, region: 'us-east-1', accountId: '123456789012', onFenced: () => {} });
    services.push(service);
    return service;
  };
  const api: Api = {
    client: undefined as unknown as sdk.KinesisAnalyticsV2Client,
    jobs,
    store,
    service: await lead('a'),
    async failover() {
      api.service.dispose();
      store.revokeLeadership('paused past its lease');
      api.service = await lead(`b-${Date.now()}`);
      await api.service.start();
    },
  };
  const handler = createKinesisAnalyticsHandler({ keys: new InMemoryAccessKeyStore({ keys: [KEY] }), clock, operations: new Proxy({}, { get: (_, op) => (api.service.handlers as Record<string | symbol, unknown>)[op] }), logger });
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (api as { client: sdk.KinesisAnalyticsV2Client }).client = new sdk.KinesisAnalyticsV2Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    maxAttempts: 1,
  });
  return api;
}

function createInput(name: string, key = 'apps/counts/v1.zip', extra: Partial<sdk.ApplicationConfiguration> = {}): sdk.CreateApplicationRequest {
  return {
    ApplicationName: name,
    RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
    ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
    ApplicationConfiguration: {
      ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: 'arn:aws:s3:::code', FileKey: key, ObjectVersion: 'v1' } } },
      EnvironmentProperties: { PropertyGroups: [{ PropertyGroupId: 'counts', PropertyMap: { window: '10s' } }] },
      FlinkApplicationConfiguration: { ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 2, ParallelismPerKPU: 1, AutoScalingEnabled: false } },
      ...extra,
    },
  };
}

async function describeApp(api: Api, name: string): Promise<sdk.ApplicationDetail> {
  return (await api.client.send(new sdk.DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail!;
}

/** Waits for the operation to end; answers its details. */
async function operationEnded(api: Api, name: string, operationId: string): Promise<sdk.ApplicationOperationInfoDetails> {
  return waitFor(`operation ${operationId} of ${name} to end`, 10_000, async () => {
    const details = (await api.client.send(new sdk.DescribeApplicationOperationCommand({ ApplicationName: name, OperationId: operationId }))).ApplicationOperationInfoDetails!;
    return details.OperationStatus === 'IN_PROGRESS' ? undefined : details;
  });
}

async function rejectsWith(promise: Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof type, `${error.name}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('applications through the kinesisanalyticsv2 API', () => {
  it('create, start, snapshot, update keeping state, rollback, stop with a snapshot, start from it, delete', async () => {
    const api = await startApi();
    const created = (await api.client.send(new sdk.CreateApplicationCommand(createInput('counts')))).ApplicationDetail!;
    assert.equal(created.ApplicationStatus, 'READY');
    assert.equal(created.ApplicationVersionId, 1);
    assert.equal(created.ApplicationARN, 'arn:aws:kinesisanalytics:us-east-1:123456789012:application/counts');
    assert.ok(created.CreateTimestamp instanceof Date);
    const code = created.ApplicationConfigurationDescription!.ApplicationCodeConfigurationDescription!.CodeContentDescription!.S3ApplicationCodeLocationDescription!;
    assert.deepEqual(code, { BucketARN: 'arn:aws:s3:::code', FileKey: 'apps/counts/v1.zip', ObjectVersion: 'v1' });
    const listed = await api.client.send(new sdk.ListApplicationsCommand({}));
    assert.deepEqual(listed.ApplicationSummaries!.map((s) => [s.ApplicationName, s.ApplicationStatus]), [['counts', 'READY']]);

    const start = await api.client.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts', RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' } } }));
    assert.equal((await operationEnded(api, 'counts', start.OperationId!)).OperationStatus, 'SUCCESSFUL');
    assert.equal((await describeApp(api, 'counts')).ApplicationStatus, 'RUNNING');
    const [first] = api.jobs.live();
    assert.equal(first!.request.code, 's3://code/apps/counts/v1.zip?versionId=v1');
    assert.deepEqual(first!.request.properties, { counts: { window: '10s' } });
    assert.equal(first!.request.parallelism, 2);
    assert.equal(first!.request.stateBackend, 'leveldb', "LevelDB by default, as Managed Flink's is RocksDB");

    await api.client.send(new sdk.CreateApplicationSnapshotCommand({ ApplicationName: 'counts', SnapshotName: 'before-v2' }));
    await waitFor('the snapshot to be READY', 10_000, async () => {
      const details = (await api.client.send(new sdk.DescribeApplicationSnapshotCommand({ ApplicationName: 'counts', SnapshotName: 'before-v2' }))).SnapshotDetails!;
      return details.SnapshotStatus === 'READY' ? details : undefined;
    });

    // A stale version changes nothing.
    await rejectsWith(
      api.client.send(new sdk.UpdateApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 7, ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { FileKeyUpdate: 'apps/counts/v2.zip' } } } } })),
      sdk.ConcurrentModificationException,
      /CurrentApplicationVersionId: application counts is at version 1, not 7/,
    );
    assert.equal((await describeApp(api, 'counts')).ApplicationVersionId, 1);

    const update = await api.client.send(
      new sdk.UpdateApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 1, ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { FileKeyUpdate: 'apps/counts/v2.zip', ObjectVersionUpdate: 'v2' } } } } }),
    );
    assert.equal(update.ApplicationDetail!.ApplicationStatus, 'UPDATING');
    assert.equal(update.ApplicationDetail!.ApplicationVersionId, 2);
    const updated = await operationEnded(api, 'counts', update.OperationId!);
    assert.equal(updated.OperationStatus, 'SUCCESSFUL');
    assert.deepEqual(updated.ApplicationVersionChangeDetails, { ApplicationVersionUpdatedFrom: 1, ApplicationVersionUpdatedTo: 2 });
    const afterUpdate = await describeApp(api, 'counts');
    assert.equal(afterUpdate.ApplicationStatus, 'RUNNING');
    assert.equal(afterUpdate.ApplicationVersionUpdatedFrom, 1);
    const [second] = api.jobs.live();
    assert.equal(second!.request.code, 's3://code/apps/counts/v2.zip?versionId=v2');
    assert.equal(second!.request.restoreFrom, `checkpoint://${first!.jobId}/chk-1`, 'the new version restores the checkpoint the old one stopped with, at once: its keyed state goes on');
    await waitFor('the stop checkpoint kept as the application snapshot', 10_000, async () => {
      const details = (await api.client.send(new sdk.DescribeApplicationSnapshotCommand({ ApplicationName: 'counts', SnapshotName: `update-${update.OperationId}` }))).SnapshotDetails!;
      return details.SnapshotStatus === 'READY' ? details : undefined;
    });
    assert.equal(first!.state, 'stopped');

    const rollback = await api.client.send(new sdk.RollbackApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 2 }));
    assert.equal((await operationEnded(api, 'counts', rollback.OperationId!)).OperationStatus, 'SUCCESSFUL');
    const rolled = await describeApp(api, 'counts');
    assert.equal(rolled.ApplicationVersionId, 3);
    assert.equal(rolled.ApplicationVersionRolledBackFrom, 2);
    assert.equal(rolled.ApplicationVersionRolledBackTo, 1);
    assert.equal(api.jobs.live()[0]!.request.code, 's3://code/apps/counts/v1.zip?versionId=v1');

    const stop = await api.client.send(new sdk.StopApplicationCommand({ ApplicationName: 'counts' }));
    assert.equal((await operationEnded(api, 'counts', stop.OperationId!)).OperationStatus, 'SUCCESSFUL');
    assert.equal((await describeApp(api, 'counts')).ApplicationStatus, 'READY');
    assert.equal(api.jobs.live().length, 0);
    const snapshots = (await api.client.send(new sdk.ListApplicationSnapshotsCommand({ ApplicationName: 'counts' }))).SnapshotSummaries!;
    const stopSnapshot = `stop-${stop.OperationId}`;
    assert.equal(snapshots[0]!.SnapshotName, stopSnapshot, 'the newest first: the one the stop took');

    const restart = await api.client.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts' }));
    assert.equal((await operationEnded(api, 'counts', restart.OperationId!)).OperationStatus, 'SUCCESSFUL');
    assert.equal(api.jobs.live()[0]!.request.restoreFrom, `counts--${stopSnapshot}`, 'RESTORE_FROM_LATEST_SNAPSHOT by default');

    const versions = (await api.client.send(new sdk.ListApplicationVersionsCommand({ ApplicationName: 'counts' }))).ApplicationVersionSummaries!;
    assert.deepEqual(versions.map((v) => v.ApplicationVersionId), [3, 2, 1]);
    const v2 = (await api.client.send(new sdk.DescribeApplicationVersionCommand({ ApplicationName: 'counts', ApplicationVersionId: 2 }))).ApplicationVersionDetail!;
    assert.equal(v2.ApplicationConfigurationDescription!.ApplicationCodeConfigurationDescription!.CodeContentDescription!.S3ApplicationCodeLocationDescription!.FileKey, 'apps/counts/v2.zip');
    const operations = (await api.client.send(new sdk.ListApplicationOperationsCommand({ ApplicationName: 'counts' }))).ApplicationOperationInfoList!;
    assert.deepEqual(operations.map((o) => `${o.Operation} ${o.OperationStatus}`).sort(), [
      'RollbackApplication SUCCESSFUL',
      'StartApplication SUCCESSFUL',
      'StartApplication SUCCESSFUL',
      'StopApplication SUCCESSFUL',
      'UpdateApplication SUCCESSFUL',
    ]);

    await api.client.send(new sdk.DeleteApplicationCommand({ ApplicationName: 'counts', CreateTimestamp: created.CreateTimestamp }));
    await rejectsWith(describeApp(api, 'counts'), sdk.ResourceNotFoundException, /ApplicationName: no application named counts/);
    assert.equal(api.jobs.live().length, 0, 'its job was cancelled');
    assert.equal(api.jobs.snapshotNames.size, 0, 'its snapshots were deleted');
  });

  it('each mistake is refused with the AWS error for it, naming the field or resource', async () => {
    const api = await startApi();
    await rejectsWith(api.client.send(new sdk.CreateApplicationCommand({ ...createInput('a'), RuntimeEnvironment: 'FLINK-1_20' })), sdk.InvalidArgumentException, /RuntimeEnvironment: this service runs SLUICE-1/);
    await rejectsWith(api.client.send(new sdk.CreateApplicationCommand({ ...createInput('bad name!') })), sdk.InvalidArgumentException, /ApplicationName: 1 to 128/);
    await rejectsWith(
      api.client.send(new sdk.CreateApplicationCommand(createInput('a', 'k.zip', { ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: 'code', FileKey: 'k.zip' } } } }))),
      sdk.InvalidArgumentException,
      /S3ContentLocation\.BucketARN: an S3 bucket ARN/,
    );
    await rejectsWith(
      api.client.send(new sdk.CreateApplicationCommand(createInput('a', 'k.zip', { FlinkApplicationConfiguration: { ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 0 } } }))),
      sdk.InvalidArgumentException,
      /ParallelismConfiguration\.Parallelism: an integer in \[1, 32768\], got 0/,
    );
    await rejectsWith(
      api.client.send(new sdk.CreateApplicationCommand(createInput('a', 'k.zip', { EnvironmentProperties: { PropertyGroups: [{ PropertyGroupId: 'sluice.state', PropertyMap: { backend: 'rocksdb' } }] } }))),
      sdk.InvalidApplicationConfigurationException,
      /property group sluice.state, backend: "leveldb" or "memory", got "rocksdb"/,
    );
    await api.client.send(new sdk.CreateApplicationCommand(createInput('a')));
    await rejectsWith(api.client.send(new sdk.CreateApplicationCommand(createInput('a'))), sdk.ResourceInUseException, /ApplicationName: an application named a exists already/);
    await rejectsWith(api.client.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'nope' })), sdk.ResourceNotFoundException, /no application named nope/);
    await rejectsWith(api.client.send(new sdk.CreateApplicationSnapshotCommand({ ApplicationName: 'a', SnapshotName: 's' })), sdk.ResourceInUseException, /application a is READY; only a RUNNING application takes a snapshot/);
    await rejectsWith(api.client.send(new sdk.StopApplicationCommand({ ApplicationName: 'a' })), sdk.ResourceInUseException, /application a is READY; only a RUNNING application stops/);
    await rejectsWith(
      api.client.send(new sdk.StartApplicationCommand({ ApplicationName: 'a', RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT', SnapshotName: 'never' } } })),
      sdk.ResourceNotFoundException,
      /SnapshotName: application a has no snapshot named "never"/,
    );
    await rejectsWith(api.client.send(new sdk.DeleteApplicationCommand({ ApplicationName: 'a', CreateTimestamp: new Date(0) })), sdk.InvalidArgumentException, /CreateTimestamp: must be the application's creation time/);
    await rejectsWith(api.client.send(new sdk.RollbackApplicationCommand({ ApplicationName: 'a', CurrentApplicationVersionId: 1 })), sdk.InvalidArgumentException, /no version before 1 to roll back to/);
    await rejectsWith(api.client.send(new sdk.TagResourceCommand({ ResourceARN: 'arn:aws:kinesisanalytics:us-east-1:123456789012:application/nope', Tags: [{ Key: 'team', Value: 'x' }] })), sdk.ResourceNotFoundException, /no application named nope/);
    await api.client.send(new sdk.TagResourceCommand({ ResourceARN: 'arn:aws:kinesisanalytics:us-east-1:123456789012:application/a', Tags: [{ Key: 'team', Value: 'orders' }] }));
    const tags = await api.client.send(new sdk.ListTagsForResourceCommand({ ResourceARN: 'arn:aws:kinesisanalytics:us-east-1:123456789012:application/a' }));
    assert.deepEqual(tags.Tags, [{ Key: 'team', Value: 'orders' }]);
  });

  it('a new version that does not load is refused and the running one never stops', async () => {
    const api = await startApi();
    await api.client.send(new sdk.CreateApplicationCommand(createInput('counts')));
    await operationEnded(api, 'counts', (await api.client.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts' }))).OperationId!);
    const running = api.jobs.live()[0]!;
    await rejectsWith(
      api.client.send(new sdk.UpdateApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 1, ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { FileKeyUpdate: 'apps/broken.zip' } } } } })),
      sdk.InvalidApplicationConfigurationException,
      /the new version is refused and the running one goes on: .*broken\.zip: the bundle has no default export/,
    );
    const detail = await describeApp(api, 'counts');
    assert.deepEqual([detail.ApplicationStatus, detail.ApplicationVersionId], ['RUNNING', 1]);
    assert.equal(running.state, 'running');
    assert.deepEqual(api.jobs.calls.filter((c) => c.startsWith('stop')), []);
  });

  it('with system rollback, a new version that fails to start is rolled back to the old one from the same snapshot', async () => {
    const api = await startApi();
    await api.client.send(new sdk.CreateApplicationCommand(createInput('counts', 'apps/counts/v1.zip', { ApplicationSystemRollbackConfiguration: { RollbackEnabled: true } })));
    await operationEnded(api, 'counts', (await api.client.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts' }))).OperationId!);
    const update = await api.client.send(
      new sdk.UpdateApplicationCommand({ ApplicationName: 'counts', CurrentApplicationVersionId: 1, ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { FileKeyUpdate: 'apps/crash.zip' } } } } }),
    );
    const ended = await operationEnded(api, 'counts', update.OperationId!);
    assert.equal(ended.OperationStatus, "FAILED", JSON.stringify(ended));
    assert.match(ended.OperationFailureDetails!.ErrorInfo!.ErrorString!, /failed to start: a subtask failed: boom/);
    const detail = await describeApp(api, 'counts');
    assert.equal(detail.ApplicationStatus, 'ROLLED_BACK', JSON.stringify(ended));
    assert.equal(detail.ApplicationVersionRolledBackTo, 1);
    const live = api.jobs.live().filter((j) => j.state === 'running');
    assert.equal(live.length, 1);
    assert.equal(live[0]!.request.code, 's3://code/apps/counts/v1.zip?versionId=v1');
    assert.match(live[0]!.request.restoreFrom ?? '', /^checkpoint:\/\/job-1\/chk-1$/, 'the old version restores the checkpoint it stopped with');
  });

  it('a new leader resumes a start its predecessor left in progress, without a second job', async () => {
    const api = await startApi();
    api.jobs.runAtOnce = false;
    await api.client.send(new sdk.CreateApplicationCommand(createInput('counts')));
    const start = await api.client.send(new sdk.StartApplicationCommand({ ApplicationName: 'counts' }));
    await waitFor('the job to be submitted', 10_000, async () => (api.jobs.jobs.size > 0 ? true : undefined));
    assert.equal((await describeApp(api, 'counts')).ApplicationStatus, 'STARTING');
    await api.failover();
    for (const job of api.jobs.jobs.values()) job.state = 'running';
    assert.equal((await operationEnded(api, 'counts', start.OperationId!)).OperationStatus, 'SUCCESSFUL');
    assert.equal((await describeApp(api, 'counts')).ApplicationStatus, 'RUNNING');
    assert.equal(api.jobs.jobs.size, 1, 'the resumed start found the job it had submitted');
  });
});
