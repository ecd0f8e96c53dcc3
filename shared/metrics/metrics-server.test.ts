import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ManualClock } from '../clock.ts';
import { InMemoryLogger } from '../logging.ts';
import { CoordinatorMetrics } from './coordinator-metrics.ts';
import { createProcessRegistry, startMetricsServer } from './metrics-server.ts';
import { WorkerMetrics } from './worker-metrics.ts';
import { parseExposition, samplesNamed, valueOf } from './testing/parse-exposition.ts';

/**
 * Prometheus text format: every sample line is `name{labels} value`. prom-client writes NaN as
 * "Nan"; Prometheus parses values with Go's ParseFloat, which takes any case.
 */
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.eE+-]+|[+-]?Inf|[Nn][Aa][Nn])$/;

async function get(url: string, method = 'GET'): Promise<{ status: number; contentType: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics server', () => {
  it('serves worker and coordinator metrics in Prometheus text format with Flink’s names and labels', async (t) => {
    const clock = new ManualClock();
    const registry = createProcessRegistry({ process: 'worker' });
    const worker = new WorkerMetrics(registry, { tmId: 'worker-7', clock });
    t.after(() => worker.close());
    let recordsIn = 0;
    worker.setTaskSampler(() => [
      {
        jobId: 'a1b2c3',
        jobName: 'hot "items"',
        taskName: 'Window(TumblingEventTimeWindows) -> Sink',
        subtaskIndex: 3,
        attempt: 1,
        recordsIn,
        recordsOut: recordsIn / 2,
        busyTimeMs: 0,
        backPressuredTimeMs: 0,
        lateRecordsDropped: 7,
        currentInputWatermark: 1_700_000_000_000,
      },
    ]);
    const coordinator = new CoordinatorMetrics(registry, { coordinatorId: 'coordinator-a' });
    coordinator.setLeader(true);
    coordinator.setJobSampler(() => [
      {
        jobId: 'a1b2c3',
        jobName: 'hot "items"',
        numRestarts: 0,
        lastCheckpointDurationMs: NaN,
        lastCheckpointSizeBytes: NaN,
        numberOfCompletedCheckpoints: 0,
        numberOfFailedCheckpoints: 0,
        numberOfInProgressCheckpoints: 0,
        uptimeMs: 1_000,
        state: 'RUNNING',
      },
    ]);
    const logger = new InMemoryLogger();
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, logger });
    t.after(() => server.close());
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `http://${server.address}/metrics`);
    assert.ok(logger.lines.some((l) => l.message === 'metrics server listening' && l.address === server.address));

    await get(server.url); // the first sample of the rate window
    recordsIn = 3_000;
    clock.advance(1_000);
    const response = await get(server.url);
    assert.equal(response.status, 200);
    assert.match(response.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    for (const line of response.body.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      assert.match(line, SAMPLE_LINE);
    }
    const samples = parseExposition(response.body);
    const task = {
      job_id: 'a1b2c3',
      job_name: 'hot "items"',
      task_name: 'Window(TumblingEventTimeWindows) -> Sink',
      subtask_index: '3',
      task_attempt_num: '1',
      tm_id: 'worker-7',
      process: 'worker',
    };
    assert.equal(valueOf(samples, 'flink_taskmanager_job_task_numRecordsIn', task), 3_000);
    assert.equal(valueOf(samples, 'flink_taskmanager_job_task_numRecordsInPerSecond', task), 3_000);
    assert.equal(valueOf(samples, 'flink_taskmanager_job_task_numRecordsOutPerSecond', task), 1_500);
    assert.equal(valueOf(samples, 'flink_taskmanager_job_task_operator_currentInputWatermark', task), 1_700_000_000_000);
    assert.equal(valueOf(samples, 'flink_taskmanager_job_task_operator_numLateRecordsDropped', task), 7);
    assert.equal(valueOf(samples, 'flink_jobmanager_job_uptime', { job_id: 'a1b2c3', job_name: 'hot "items"' }), 1_000);
    assert.equal(valueOf(samples, 'sluice_coordinator_is_leader', { coordinator_id: 'coordinator-a' }), 1);
    assert.match(response.body, /^# TYPE flink_taskmanager_job_task_busyTimeMsPerSecond gauge$/m);
    // The process's own metrics, prefixed.
    assert.ok(samplesNamed(samples, 'sluice_process_cpu_user_seconds_total').length === 1);
    assert.ok(samplesNamed(samples, 'sluice_nodejs_heap_size_used_bytes').length === 1);
  });

  it('answers 404 off /metrics and 405 for other methods', async (t) => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createProcessRegistry(), logger: new InMemoryLogger() });
    t.after(() => server.close());
    assert.equal((await get(`http://${server.address}/`)).status, 404);
    assert.equal((await get(`http://${server.address}/metrics/x`)).status, 404);
    assert.equal((await get(`http://${server.address}/metrics?name[]=x`)).status, 200);
    assert.equal((await get(server.url, 'POST')).status, 405);
    const head = await get(server.url, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('closes promptly with a keep-alive connection open, and close() can be called twice', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createProcessRegistry(), logger: new InMemoryLogger() });
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request(server.url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await Promise.all([server.close(), server.close()]);
    agent.destroy();
    await assert.rejects(get(server.url));
  });

  it('fails to start on a port in use, naming it', async (t) => {
    const first = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createProcessRegistry(), logger: new InMemoryLogger() });
    t.after(() => first.close());
    await assert.rejects(
      startMetricsServer({ host: '127.0.0.1', port: first.port, registry: createProcessRegistry(), logger: new InMemoryLogger() }),
      /EADDRINUSE/,
    );
  });
});
