// The autoscaler wired to applications, on the embedded HA store with jobs in memory and a manual
// clock: an application with AutoScalingEnabled is sampled every interval, and a sustained need
// becomes an AutoscaleApplication operation (status AUTOSCALING) that rescales its job; bounds,
// cooldown, failing checkpoints and AutoScalingEnabled off hold it back; bad settings are refused
// naming their property.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { ManualClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { EmbeddedHighAvailabilityServices } from '../ha/embedded-high-availability-services.ts';
import { AUTOSCALE_OPERATION, AUTOSCALING_PROPERTY_GROUP } from './application-autoscaling.ts';
import type { OperationContext } from './api-handler.ts';
import type { KinesisAnalyticsOperationName, OperationInput, OperationOutput } from './kinesis-analytics-operations.ts';
import { ApplicationService } from './application-service.ts';
import { InvalidArgumentException } from './kinesis-analytics-errors.ts';
import { TestingApplicationJobs, type TestingJob } from './testing/testing-application-jobs.ts';

const INTERVAL_MS = 1_000;

async function setup() {
  const clock = new ManualClock(1_000_000);
  const store = new EmbeddedHighAvailabilityServices();
  const jobs = new TestingApplicationJobs();
  const logger = new InMemoryLogger();
  const leadership = await store.campaign({ id: 'a', address: 'testing://a' });
  const service = new ApplicationService({ ha: store, leadership, clock, logger, jobs, region: 'us-east-1', accountId: '123456789012', onFenced: () => {}, autoscalingIntervalMs: INTERVAL_MS });
  return { clock, store, jobs, logger, service };
}

function createInput(name: string, autoScaling: boolean, settings: Record<string, string>): sdk.CreateApplicationRequest {
  return {
    ApplicationName: name,
    RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
    ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
    ApplicationConfiguration: {
      ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: 'arn:aws:s3:::code', FileKey: 'apps/orders.zip' } } },
      EnvironmentProperties: { PropertyGroups: [{ PropertyGroupId: AUTOSCALING_PROPERTY_GROUP, PropertyMap: settings }] },
      FlinkApplicationConfiguration: { ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 1, ParallelismPerKPU: 1, AutoScalingEnabled: autoScaling } },
    },
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const CONTEXT: OperationContext = { principal: { kind: 'anonymous', policy: { actions: ['kinesisanalytics:*'], applications: ['*'] } }, requestId: 'test' };

/** Calls an operation of the service as the API handler would, after authentication. */
function call<K extends KinesisAnalyticsOperationName>(s: Setup, operation: K, input: OperationInput<K>): Promise<OperationOutput<K>> {
  return s.service.handlers[operation]!(input, CONTEXT);
}

async function runningApplication(s: Setup, name: string, autoScaling: boolean, settings: Record<string, string>): Promise<TestingJob> {
  await call(s, 'CreateApplication', createInput(name, autoScaling, settings));
  await call(s, 'StartApplication', { ApplicationName: name });
  await waitFor(`${name} to run`, 10_000, async () => (await describeApp(s, name)).ApplicationStatus === 'RUNNING');
  return s.jobs.live().find((j) => j.request.applicationName === name)!;
}

async function describeApp(s: Setup, name: string): Promise<sdk.ApplicationDetail> {
  return (await call(s, 'DescribeApplication', { ApplicationName: name })).ApplicationDetail!;
}

async function autoscaleOperations(s: Setup, name: string): Promise<sdk.ApplicationOperationInfo[]> {
  const { ApplicationOperationInfoList } = await call(s, 'ListApplicationOperations', { ApplicationName: name });
  return ApplicationOperationInfoList!.filter((o) => o.Operation === AUTOSCALE_OPERATION);
}

/**
 * One sampling interval of a job whose subtasks are all fully busy processing `perSubtask`
 * records a second each, with `backlog` records waiting; then an autoscaling round.
 */
async function interval(s: Setup, job: TestingJob, load: { perSubtask: number; busyShare: number; backlog: number; failedCheckpoints?: number }): Promise<void> {
  s.clock.advance(INTERVAL_MS);
  job.measured.recordsIn += load.perSubtask * job.parallelism * (INTERVAL_MS / 1000);
  job.measured.busyTimeMs += load.busyShare * INTERVAL_MS * job.parallelism;
  job.measured.pendingRecords = load.backlog;
  job.measured.consecutiveFailedCheckpoints = load.failedCheckpoints ?? 0;
  await s.service.autoscaling.tick();
}

async function operationsSettled(s: Setup, name: string): Promise<void> {
  await waitFor(`${name}'s autoscaling operations to end`, 10_000, async () => (await autoscaleOperations(s, name)).every((o) => o.OperationStatus !== 'IN_PROGRESS') && (await describeApp(s, name)).ApplicationStatus === 'RUNNING');
}

describe('autoscaling of applications', () => {
  it('scales a saturated job up once the need has held for the stabilization time, as an AUTOSCALING operation, then keeps the cooldown', async () => {
    const s = await setup();
    const job = await runningApplication(s, 'orders', true, { 'scale-up.stabilization.ms': '3000', 'cooldown.ms': '10000', 'catch-up.ms': '60000', 'target.utilization': '0.7' });
    // Fully busy at 1,000 records/s per subtask with 30,000 records behind: 1,000 + 30,000 / 60 s = 1,500/s needs ceil(1500 / 700) = 3 subtasks.
    const saturated = { perSubtask: 1_000, busyShare: 1, backlog: 30_000 };
    await interval(s, job, saturated); // the baseline
    for (let i = 0; i < 3; i++) {
      await interval(s, job, saturated);
      assert.deepEqual(await autoscaleOperations(s, 'orders'), [], `no decision before the need held 3 s (round ${i + 1})`);
    }
    await interval(s, job, saturated);
    const [operation] = await autoscaleOperations(s, 'orders');
    assert.ok(operation, 'the fourth rate sample, 3 s after the first, decides');
    await operationsSettled(s, 'orders');
    assert.equal(job.parallelism, 3);
    assert.deepEqual(s.jobs.calls.filter((c) => c.startsWith('rescale')), [`rescale ${job.jobId} to 3`]);
    const detail = await describeApp(s, 'orders');
    assert.equal(detail.ApplicationConfigurationDescription!.FlinkApplicationConfigurationDescription!.ParallelismConfigurationDescription!.CurrentParallelism, 3);
    const decided = s.logger.lines.find((l) => l.message === 'autoscaling: rescaling the application');
    assert.ok(decided, 'the decision is logged');
    assert.equal(decided.from, 1);
    assert.equal(decided.to, 3);
    assert.match(String(decided.reason), /1000 records per busy second per subtask; input 1000\/s plus a backlog of 30000 records to work off in 60 s needs 3 subtasks at 70 % busy/);
    assert.ok(s.logger.lines.some((l) => l.message === 'application status changed' && l.from === 'RUNNING' && l.to === 'AUTOSCALING'));

    // Saturated again at 3: the cooldown (10 s from the rescale) holds the next decision back.
    for (let i = 0; i < 6; i++) await interval(s, job, saturated);
    assert.equal((await autoscaleOperations(s, 'orders')).length, 1, 'nothing within the cooldown');
    assert.ok(s.logger.lines.some((l) => l.message === 'autoscaling proposal held back' && /cooldown/.test(String(l.reason))));
    for (let i = 0; i < 6; i++) await interval(s, job, saturated);
    await operationsSettled(s, 'orders');
    assert.equal((await autoscaleOperations(s, 'orders')).length, 2, 'after the cooldown it scales again');
    assert.ok(job.parallelism > 3);
  });

  it('holds back while checkpoints keep failing, and never goes past max.parallelism', async () => {
    const s = await setup();
    const job = await runningApplication(s, 'clicks', true, { 'scale-up.stabilization.ms': '0', 'cooldown.ms': '0', 'max.parallelism': '2' });
    const saturated = { perSubtask: 1_000, busyShare: 1, backlog: 1_000_000 };
    await interval(s, job, { ...saturated, failedCheckpoints: 2 });
    for (let i = 0; i < 3; i++) await interval(s, job, { ...saturated, failedCheckpoints: 2 });
    assert.deepEqual(await autoscaleOperations(s, 'clicks'), []);
    assert.ok(s.logger.lines.some((l) => l.message === 'autoscaling proposal held back' && /2 checkpoint\(s\) failed in a row/.test(String(l.reason))));
    await interval(s, job, saturated);
    await operationsSettled(s, 'clicks');
    assert.equal(job.parallelism, 2, 'bounded to max.parallelism');
    for (let i = 0; i < 4; i++) await interval(s, job, saturated);
    assert.equal((await autoscaleOperations(s, 'clicks')).length, 1, 'at its maximum it stays');
  });

  it('leaves an application with AutoScalingEnabled off alone however busy it is', async () => {
    const s = await setup();
    const job = await runningApplication(s, 'static', false, {});
    for (let i = 0; i < 20; i++) await interval(s, job, { perSubtask: 1_000, busyShare: 1, backlog: 1_000_000 });
    assert.deepEqual(await autoscaleOperations(s, 'static'), []);
    assert.equal(job.parallelism, 1);
  });

  it('samples on its own clock once the service leads', async () => {
    const s = await setup();
    const job = await runningApplication(s, 'ticking', true, { 'scale-up.stabilization.ms': '0', 'cooldown.ms': '0' });
    await s.service.start();
    job.measured.pendingRecords = 600_000;
    for (let i = 0; i < 2; i++) {
      job.measured.recordsIn += 1_000;
      job.measured.busyTimeMs += 1_000;
      const rounds = s.service.autoscaling.rounds;
      s.clock.advance(INTERVAL_MS);
      await waitFor(`autoscaling round ${rounds + 1}`, 10_000, () => s.service.autoscaling.rounds > rounds);
    }
    await operationsSettled(s, 'ticking');
    assert.equal((await autoscaleOperations(s, 'ticking')).length, 1, 'the second round had a rate to decide on');
    assert.ok(job.parallelism > 1);
    s.service.dispose();
    s.clock.advance(10 * INTERVAL_MS);
    assert.equal(s.service.autoscaling.rounds, 2, 'a disposed service samples no more');
  });

  it('refuses bad settings naming the property', async () => {
    const s = await setup();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ mode: 'eager' }, /PropertyGroups\[sluice\.autoscaling\]\.mode: responsive or managed-flink, got "eager"/],
      [{ 'min.parallelism': '0' }, /\.min\.parallelism: an integer at least 1, got "0"/],
      [{ 'min.parallelism': '4', 'max.parallelism': '2' }, /\.max\.parallelism: at least min\.parallelism 4, got 2/],
      [{ 'target.utilization': '1.5' }, /\.target\.utilization: a number in \(0, 1\], got "1.5"/],
      [{ 'cooldown.ms': 'soon' }, /\.cooldown\.ms: milliseconds, an integer at least 0, got "soon"/],
      [{ 'cooldown': '5' }, /\.cooldown: unknown setting; the settings are mode, min\.parallelism/],
    ];
    for (const [settings, message] of cases) {
      await assert.rejects(call(s, 'CreateApplication', createInput('bad', true, settings)), (error: Error) => {
        assert.ok(error instanceof InvalidArgumentException, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      });
    }
  });
});
