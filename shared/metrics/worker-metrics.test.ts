import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../clock.ts';
import { InMemoryLogger } from '../logging.ts';
import { WorkerMetrics, type TaskMetricsSample } from './worker-metrics.ts';
import { parseExposition, samplesNamed, valueOf } from './testing/parse-exposition.ts';

const P = 'flink_taskmanager_job_task_';

type MutableSample = { -readonly [K in keyof TaskMetricsSample]: TaskMetricsSample[K] };

function subtask(overrides: Partial<MutableSample> = {}): MutableSample {
  return {
    jobId: 'a1b2c3',
    jobName: 'hot-items',
    taskName: 'Source: bids -> Map',
    subtaskIndex: 0,
    attempt: 0,
    recordsIn: 0,
    recordsOut: 0,
    busyTimeMs: 0,
    backPressuredTimeMs: 0,
    lateRecordsDropped: 0,
    currentInputWatermark: Number.NEGATIVE_INFINITY,
    ...overrides,
  };
}

function setup(options: { rateWindowMs?: number; sampleIntervalMs?: number } = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const registry = new Registry();
  const logger = new InMemoryLogger();
  const metrics = new WorkerMetrics(registry, { tmId: 'worker-1', clock, logger, ...options });
  const subtasks: MutableSample[] = [];
  metrics.setTaskSampler(() => subtasks.map((s) => ({ ...s })));
  const scrape = async () => parseExposition(await registry.metrics());
  return { clock, registry, logger, metrics, subtasks, scrape };
}

const labelsOf = (s: MutableSample) => ({
  job_id: s.jobId,
  job_name: s.jobName,
  task_name: s.taskName,
  subtask_index: String(s.subtaskIndex),
  task_attempt_num: String(s.attempt),
  tm_id: 'worker-1',
});

describe('WorkerMetrics', () => {
  it('exposes the cumulative record counters with Flink’s task labels', async () => {
    const { subtasks, scrape, metrics } = setup();
    const s = subtask({ recordsIn: 42, recordsOut: 40 });
    subtasks.push(s);
    const samples = await scrape();
    assert.equal(valueOf(samples, `${P}numRecordsIn`, labelsOf(s)), 42);
    assert.equal(valueOf(samples, `${P}numRecordsOut`, labelsOf(s)), 40);
    assert.deepEqual(samplesNamed(samples, `${P}numRecordsIn`)[0]!.labels, labelsOf(s));
    metrics.close();
  });

  it('exposes a source subtask\'s pending records as Flink\'s pendingRecords, and none for a subtask that cannot tell', async () => {
    const { subtasks, scrape, metrics } = setup();
    const source = subtask({ pendingRecords: 1_234 });
    const other = subtask({ taskName: 'Window -> Sink: out' });
    subtasks.push(source, other);
    const samples = await scrape();
    assert.equal(valueOf(samples, `${P}operator_pendingRecords`, labelsOf(source)), 1_234);
    assert.deepEqual(samplesNamed(samples, `${P}operator_pendingRecords`).map((s) => s.labels.task_name), [source.taskName]);
    metrics.close();
  });

  it('computes per-second rates over the window: 1000 records in 2 s is 500/s', async () => {
    const { clock, subtasks, scrape, metrics } = setup();
    const s = subtask();
    subtasks.push(s);
    await scrape(); // t = 0: 0 records
    s.recordsIn = 1_000;
    s.recordsOut = 250;
    clock.advance(2_000);
    const samples = await scrape();
    assert.equal(valueOf(samples, `${P}numRecordsInPerSecond`, labelsOf(s)), 500);
    assert.equal(valueOf(samples, `${P}numRecordsOutPerSecond`, labelsOf(s)), 125);
    metrics.close();
  });

  it('computes busy, back-pressured and idle milliseconds per second', async () => {
    const { clock, subtasks, scrape, metrics } = setup();
    const s = subtask();
    subtasks.push(s);
    await scrape();
    s.busyTimeMs = 1_500;
    s.backPressuredTimeMs = 200;
    clock.advance(2_000);
    const samples = await scrape();
    assert.equal(valueOf(samples, `${P}busyTimeMsPerSecond`, labelsOf(s)), 750);
    assert.equal(valueOf(samples, `${P}backPressuredTimeMsPerSecond`, labelsOf(s)), 100);
    assert.equal(valueOf(samples, `${P}idleTimeMsPerSecond`, labelsOf(s)), 150);
    metrics.close();
  });

  it('keeps ms-per-second within 0..1000 when counters are sampled late', async () => {
    const { clock, subtasks, scrape, metrics } = setup({ sampleIntervalMs: 60_000 });
    const s = subtask();
    subtasks.push(s);
    await scrape();
    clock.advance(1_000);
    s.busyTimeMs = 1_300; // a busy stretch measured at its end
    const samples = await scrape();
    assert.equal(valueOf(samples, `${P}busyTimeMsPerSecond`, labelsOf(s)), 1_000);
    assert.equal(valueOf(samples, `${P}idleTimeMsPerSecond`, labelsOf(s)), 0);
    metrics.close();
  });

  it('samples on a timer between scrapes, so the rate covers the window and then slides', async () => {
    const { clock, subtasks, scrape, metrics } = setup({ rateWindowMs: 10_000, sampleIntervalMs: 1_000 });
    const s = subtask();
    subtasks.push(s);
    // 100 records/s for 20 s, one step per timer sample; nobody scrapes.
    for (let i = 0; i < 20; i++) {
      s.recordsIn += 100;
      clock.advance(1_000);
    }
    assert.equal(valueOf(await scrape(), `${P}numRecordsInPerSecond`, labelsOf(s)), 100);
    // Input stops: 5 s later half of the window had records.
    clock.advance(5_000);
    assert.equal(valueOf(await scrape(), `${P}numRecordsInPerSecond`, labelsOf(s)), 50);
    clock.advance(5_000);
    assert.equal(valueOf(await scrape(), `${P}numRecordsInPerSecond`, labelsOf(s)), 0);
    metrics.close();
  });

  it('has no rate series until two samples some time apart exist', async () => {
    const { subtasks, scrape, metrics } = setup();
    const s = subtask({ recordsIn: 10 });
    subtasks.push(s);
    const samples = await scrape();
    assert.equal(valueOf(samples, `${P}numRecordsIn`, labelsOf(s)), 10);
    assert.deepEqual(samplesNamed(samples, `${P}numRecordsInPerSecond`), []);
    assert.deepEqual(samplesNamed(samples, `${P}idleTimeMsPerSecond`), []);
    metrics.close();
  });

  it('removes the series of a subtask that disappears', async () => {
    const { clock, subtasks, scrape, metrics } = setup();
    const kept = subtask({ subtaskIndex: 0 });
    const cancelled = subtask({ jobId: 'ffff', jobName: 'other', subtaskIndex: 1 });
    subtasks.push(kept, cancelled);
    await scrape();
    clock.advance(1_000);
    let samples = await scrape();
    assert.equal(samplesNamed(samples, `${P}numRecordsIn`).length, 2);
    assert.equal(samplesNamed(samples, `${P}numRecordsInPerSecond`).length, 2);

    subtasks.splice(1, 1);
    clock.advance(1_000);
    samples = await scrape();
    for (const name of ['numRecordsIn', 'numRecordsOut', 'numRecordsInPerSecond', 'busyTimeMsPerSecond', 'idleTimeMsPerSecond', 'operator_currentInputWatermark']) {
      assert.deepEqual(samplesNamed(samples, P + name, { job_id: 'ffff' }), [], name);
      assert.equal(samplesNamed(samples, P + name, { job_id: 'a1b2c3' }).length, 1, name);
    }
    metrics.close();
  });

  it('treats a new attempt of a subtask as a new series and a counter reset as a new start', async () => {
    const { clock, subtasks, scrape, metrics } = setup({ sampleIntervalMs: 60_000 });
    const s = subtask({ recordsIn: 5_000 });
    subtasks.push(s);
    await scrape();
    clock.advance(1_000);
    s.recordsIn = 6_000;
    assert.equal(valueOf(await scrape(), `${P}numRecordsInPerSecond`, labelsOf(s)), 1_000);
    // The same labels with a smaller count: the subtask was restarted in place.
    s.recordsIn = 100;
    clock.advance(1_000);
    let samples = await scrape();
    assert.deepEqual(samplesNamed(samples, `${P}numRecordsInPerSecond`), []);
    clock.advance(1_000);
    s.recordsIn = 300;
    samples = await scrape();
    assert.equal(valueOf(samples, `${P}numRecordsInPerSecond`, labelsOf(s)), 200);
    // A new attempt number: the old series goes, the new one starts.
    s.attempt = 1;
    samples = await scrape();
    assert.deepEqual(samplesNamed(samples, `${P}numRecordsIn`, { task_attempt_num: '0' }), []);
    assert.equal(valueOf(samples, `${P}numRecordsIn`, { task_attempt_num: '1' }), 300);
    metrics.close();
  });

  it('exposes the current input watermark, -Inf before the first', async () => {
    const { subtasks, scrape, metrics } = setup();
    const s = subtask();
    subtasks.push(s);
    const name = `${P}operator_currentInputWatermark`;
    assert.equal(valueOf(await scrape(), name, labelsOf(s)), Number.NEGATIVE_INFINITY);
    s.currentInputWatermark = 1_700_000_123_456;
    assert.equal(valueOf(await scrape(), name, labelsOf(s)), 1_700_000_123_456);
    metrics.close();
  });

  it('samples the worker once per scrape, for all gauges', async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    const metrics = new WorkerMetrics(registry, { tmId: 'w', clock });
    let calls = 0;
    metrics.setTaskSampler(() => {
      calls++;
      return [subtask()];
    });
    calls = 0;
    await registry.metrics();
    assert.equal(calls, 1);
    await registry.metrics();
    assert.equal(calls, 2);
    // A single gauge asked alone still samples.
    await registry.getSingleMetricAsString(`${P}numRecordsIn`);
    assert.equal(calls, 3);
    metrics.close();
  });

  it('logs a failing sampler and shows no task series instead of failing the scrape', async () => {
    const { metrics, scrape, logger, subtasks } = setup();
    subtasks.push(subtask());
    metrics.setTaskSampler(() => {
      throw new Error('task registry closed');
    });
    const samples = await scrape();
    assert.deepEqual(samplesNamed(samples, `${P}numRecordsIn`), []);
    assert.ok(logger.lines.some((l) => l.message === 'task metrics sampler failed' && l.error === 'task registry closed'));
    metrics.close();
  });

  it('stops its timer on close()', () => {
    const clock = new ManualClock();
    const metrics = new WorkerMetrics(new Registry(), { tmId: 'w', clock });
    assert.equal(clock.pendingTasks, 1);
    metrics.close();
    assert.equal(clock.pendingTasks, 0);
    clock.advance(10_000);
    assert.equal(clock.pendingTasks, 0);
  });
});
