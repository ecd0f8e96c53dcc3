import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { CoordinatorMetrics, type JobMetricsSample } from './coordinator-metrics.ts';
import { parseExposition, samplesNamed, valueOf } from './testing/parse-exposition.ts';

const J = 'flink_jobmanager_job_';

const job = (overrides: Partial<JobMetricsSample> = {}): JobMetricsSample => ({
  jobId: 'a1b2c3',
  jobName: 'hot-items',
  numRestarts: 2,
  lastCheckpointDurationMs: 340,
  lastCheckpointSizeBytes: 1_048_576,
  numberOfCompletedCheckpoints: 17,
  numberOfFailedCheckpoints: 1,
  numberOfInProgressCheckpoints: 1,
  uptimeMs: 93_000,
  state: 'RUNNING',
  ...overrides,
});

function setup() {
  const registry = new Registry();
  const metrics = new CoordinatorMetrics(registry, { coordinatorId: 'coordinator-a' });
  const scrape = async () => parseExposition(await registry.metrics());
  return { registry, metrics, scrape };
}

describe('CoordinatorMetrics', () => {
  it('exposes each job’s gauges with job_id and job_name', async () => {
    const { metrics, scrape } = setup();
    metrics.setJobSampler(() => [job()]);
    const samples = await scrape();
    const labels = { job_id: 'a1b2c3', job_name: 'hot-items' };
    assert.equal(valueOf(samples, `${J}numRestarts`, labels), 2);
    assert.equal(valueOf(samples, `${J}lastCheckpointDuration`, labels), 340);
    assert.equal(valueOf(samples, `${J}lastCheckpointSize`, labels), 1_048_576);
    assert.equal(valueOf(samples, `${J}numberOfCompletedCheckpoints`, labels), 17);
    assert.equal(valueOf(samples, `${J}numberOfFailedCheckpoints`, labels), 1);
    assert.equal(valueOf(samples, `${J}numberOfInProgressCheckpoints`, labels), 1);
    assert.equal(valueOf(samples, `${J}uptime`, labels), 93_000);
    assert.deepEqual(samplesNamed(samples, `${J}uptime`)[0]!.labels, labels);
    assert.equal(valueOf(samples, 'sluice_jobmanager_job_state', { ...labels, state: 'RUNNING' }), 1);
    assert.equal(valueOf(samples, 'flink_jobmanager_numRunningJobs'), 1);
  });

  it('reports -1, as Flink does, for the last checkpoint of a job that has none', async () => {
    const { metrics, scrape } = setup();
    metrics.setJobSampler(() => [job({ lastCheckpointDurationMs: NaN, lastCheckpointSizeBytes: NaN, numberOfCompletedCheckpoints: 0 })]);
    const samples = await scrape();
    assert.equal(valueOf(samples, `${J}lastCheckpointDuration`), -1);
    assert.equal(valueOf(samples, `${J}lastCheckpointSize`), -1);
  });

  it('follows the jobs the sampler reports: a finished job leaves no series, a state change moves the state series', async () => {
    const { metrics, scrape } = setup();
    let jobs = [job(), job({ jobId: 'd4e5f6', jobName: 'fraud', state: 'RESTARTING' })];
    metrics.setJobSampler(() => jobs);
    let samples = await scrape();
    assert.equal(samplesNamed(samples, `${J}numRestarts`).length, 2);
    assert.equal(valueOf(samples, 'flink_jobmanager_numRunningJobs'), 1);

    jobs = [job({ state: 'CANCELLING' })];
    samples = await scrape();
    assert.deepEqual(samplesNamed(samples, `${J}numRestarts`, { job_id: 'd4e5f6' }), []);
    assert.deepEqual(samplesNamed(samples, 'sluice_jobmanager_job_state', { job_id: 'd4e5f6' }), []);
    assert.deepEqual(samplesNamed(samples, 'sluice_jobmanager_job_state', { job_id: 'a1b2c3' }).map((s) => s.labels.state), ['CANCELLING']);
    assert.equal(valueOf(samples, 'flink_jobmanager_numRunningJobs'), 0);
  });

  it('has settable leader, worker and slot gauges, all 0 at first', async () => {
    const { metrics, scrape } = setup();
    let samples = await scrape();
    assert.equal(valueOf(samples, 'sluice_coordinator_is_leader', { coordinator_id: 'coordinator-a' }), 0);
    assert.equal(valueOf(samples, 'flink_jobmanager_numRegisteredTaskManagers'), 0);
    assert.equal(valueOf(samples, 'flink_jobmanager_taskSlotsTotal'), 0);
    assert.equal(valueOf(samples, 'flink_jobmanager_taskSlotsAvailable'), 0);
    assert.deepEqual(samplesNamed(samples, `${J}uptime`), []);

    metrics.setLeader(true);
    metrics.setNumRegisteredTaskManagers(3);
    metrics.setTaskSlotsTotal(12);
    metrics.setTaskSlotsAvailable(4);
    samples = await scrape();
    assert.equal(valueOf(samples, 'sluice_coordinator_is_leader', { coordinator_id: 'coordinator-a' }), 1);
    assert.equal(valueOf(samples, 'flink_jobmanager_numRegisteredTaskManagers'), 3);
    assert.equal(valueOf(samples, 'flink_jobmanager_taskSlotsTotal'), 12);
    assert.equal(valueOf(samples, 'flink_jobmanager_taskSlotsAvailable'), 4);

    metrics.setLeader(false);
    metrics.setTaskSlots(8, 8);
    samples = await scrape();
    assert.equal(valueOf(samples, 'sluice_coordinator_is_leader', { coordinator_id: 'coordinator-a' }), 0);
    assert.equal(valueOf(samples, 'flink_jobmanager_taskSlotsTotal'), 8);
  });

  it('samples the jobs once per scrape', async () => {
    const { registry, metrics } = setup();
    let calls = 0;
    metrics.setJobSampler(() => {
      calls++;
      return [job()];
    });
    await registry.metrics();
    await registry.metrics();
    assert.equal(calls, 2);
  });
});
