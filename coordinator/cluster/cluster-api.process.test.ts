// A cluster of real processes (embedded leader election: one coordinator, two workers) under bad
// input and under backpressure: wrong or missing tokens are refused, malformed gRPC messages and
// unknown job ids get clear errors without crashing anything, a bundle that fails to load reports
// the loader's error to the caller, an old epoch is rejected by a worker; and an unbounded source
// into a slow operator slows to its rate with bounded memory.

import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError, InvalidRequestError, NotFoundError, StaleEpochError } from '../../shared/errors.ts';
import { RpcClient } from '../../shared/rpc/rpc.ts';
import { COORDINATOR_GATEWAY, type RegisterWorkerRequest } from '../../shared/rpc/coordinator-gateway.ts';
import { WORKER_GATEWAY } from '../../shared/rpc/worker-gateway.ts';
import { restCall } from '../../cli/cluster-commands.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster, TEST_TOKEN } from './testing/process-cluster.ts';

const SLOW_APP = fileURLToPath(new URL('./testing/slow-sink-app.ts', import.meta.url));
const BROKEN_APP = fileURLToPath(new URL('../../cli/testing/broken-module-app.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/sluice.mjs', import.meta.url));

let cluster: ProcessCluster;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-api-'));
  cluster = await ProcessCluster.start({ dir, coordinators: 1, workers: 2, slotsPerWorker: 1 });
});

after(async () => {
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

const rest = () => `http://127.0.0.1:${cluster.coordinators[0]!.restPort}`;
const rpc = () => `127.0.0.1:${cluster.coordinators[0]!.rpcPort}`;

/** Credits (8 batches per channel) and pending batches (8) of 1024 records bound what is in flight. */
const IN_FLIGHT_BOUND = 2 * 2 * 16 * 1024 + 4 * 1024;

function rssMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

describe('cluster APIs refuse bad input clearly and never crash', { timeout: 120_000 }, () => {
  it('refuses a REST client with a wrong or missing token (401)', async () => {
    await assert.rejects(restCall({ coordinator: rest(), token: undefined }, 'GET', '/v1/jobs'), /401 missing cluster token/);
    await assert.rejects(restCall({ coordinator: rest(), token: 'not-the-token-at-all' }, 'GET', '/v1/jobs'), /401 wrong cluster token/);
    const ok = await restCall({ coordinator: rest(), token: TEST_TOKEN }, 'GET', '/v1/jobs');
    assert.ok(Array.isArray(ok.jobs));
  });

  it('refuses a worker presenting a wrong token: it never registers', async () => {
    const child = spawn(process.execPath, [BIN, 'worker', '--id', 'intruder', '--coordinators', rpc(), '--heartbeat-interval-ms', '200', '--state-directory', join(dir, 'intruder')], {
      env: { ...process.env, SLUICE_CLUSTER_TOKEN: 'intruder-token-0123456789', SLUICE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (d) => (output += d));
    try {
      await waitFor('the intruder to be refused', 20_000, () => (/wrong cluster token/.test(output) ? true : undefined));
      const overview = await cluster.rest('GET', '/v1/overview');
      assert.deepEqual(overview.workers.map((w: { workerId: string }) => w.workerId).sort(), ['worker-1', 'worker-2']);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('answers gRPC with a wrong token, a malformed message or an unknown job with an error, and keeps serving', async () => {
    const intruder = new RpcClient(COORDINATOR_GATEWAY, rpc(), { token: 'wrong-token-0123456789' });
    await assert.rejects(intruder.call('Heartbeat', { workerId: 'x', running: [] }), AuthenticationError);
    intruder.close();

    const client = new RpcClient(COORDINATOR_GATEWAY, rpc(), { token: TEST_TOKEN });
    await assert.rejects(
      client.call('AcknowledgeCheckpoint', { jobId: 'no-such-job', attempt: 1, checkpointId: 1, taskId: 0, subtask: 0, states: [] }),
      (error: unknown) => error instanceof NotFoundError && /no job with id "no-such-job"/.test(error.message),
    );
    // Deliberately incomplete: what a peer of another version (or a fuzzer) might send.
    await assert.rejects(client.call('RegisterWorker', { workerId: 'half' } as RegisterWorkerRequest), InvalidRequestError);
    client.close();

    // Bytes that are not a protobuf RegisterWorkerRequest at all.
    const raw = new grpc.Client(rpc(), grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TEST_TOKEN}`);
    const status = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(
        '/sluice.v1.CoordinatorGateway/RegisterWorker',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]),
        metadata,
        { deadline: Date.now() + 5000 },
        (error) => resolve(error),
      ),
    );
    raw.close();
    assert.ok(status, 'a malformed message gets an error');
    assert.notEqual(status!.code, grpc.status.OK);
    const overview = await cluster.rest('GET', '/v1/overview');
    assert.equal(overview.workers.length, 2, 'the coordinator still serves');
  });

  it('answers an unknown job id over REST with 404 naming it', async () => {
    await assert.rejects(restCall({ coordinator: rest(), token: TEST_TOKEN }, 'GET', '/v1/jobs/0123abcd'), /404 no job with id "0123abcd"/);
    await assert.rejects(restCall({ coordinator: rest(), token: TEST_TOKEN }, 'POST', '/v1/jobs/0123abcd/cancel'), /404/);
  });

  it('reports the loader\'s error when the submitted bundle fails to load (400), and a malformed submission names the field', async () => {
    await assert.rejects(cluster.rest('POST', '/v1/jobs', { application: BROKEN_APP }), /400 .*failed to load: this module is broken on purpose/);
    await assert.rejects(cluster.rest('POST', '/v1/jobs', { application: 'relative/app.ts' }), /400 application: give s3:\/\/bucket\/key\[\?versionId=v\] of a `sluice package` archive, or the absolute path/);
    await assert.rejects(cluster.rest('POST', '/v1/jobs', { application: BROKEN_APP, parallelism: 0 }), /400 parallelism: must be an integer/);
  });

  it('a submission sent again with its idempotency key (also while the first is in progress) answers with the one job it made', async () => {
    const body = { application: SLOW_APP, parallelism: 1, properties: { test: { every: '10', pauseMs: '1' } }, idempotencyKey: `twice-${Date.now()}` };
    const before = (await cluster.rest('GET', '/v1/jobs')).jobs.length as number;
    const [first, second] = await Promise.all([cluster.rest('POST', '/v1/jobs', body), cluster.rest('POST', '/v1/jobs', body)]);
    const third = await cluster.rest('POST', '/v1/jobs', body);
    assert.equal(second.jobId, first.jobId);
    assert.equal(third.jobId, first.jobId);
    assert.equal((await cluster.rest('GET', '/v1/jobs')).jobs.length, before + 1, 'one job for three submissions');
    await assert.rejects(cluster.rest('POST', '/v1/jobs', { ...body, idempotencyKey: 'has spaces' }), /400 idempotencyKey: 1 to 200 printable ASCII/);
    await cluster.rest('POST', `/v1/jobs/${first.jobId}/cancel`);
  });

  it('a worker rejects a call carrying an older leader epoch than it has seen', async () => {
    const overview = await cluster.rest('GET', '/v1/overview');
    const worker = new RpcClient(WORKER_GATEWAY, overview.workers[0].rpcAddress, { token: TEST_TOKEN });
    try {
      await assert.rejects(worker.call('CancelJob', { jobId: 'any', attempt: 0, reason: 'old leader' }, { epoch: 0 }), StaleEpochError);
      await assert.rejects(worker.call('CancelJob', { jobId: 'any', attempt: 0, reason: 'no epoch' }), InvalidRequestError);
    } finally {
      worker.close();
    }
  });

  it('backpressure: an unbounded source into a slow operator slows to its rate, with bounded memory', async () => {
    const submitted = await cluster.rest('POST', '/v1/jobs', { application: SLOW_APP, parallelism: 2, properties: { test: { every: '10', pauseMs: '1' } } });
    const jobId = submitted.jobId as string;
    const sample = async () => {
      const job = await cluster.job(jobId);
      let source = 0;
      let slow = 0;
      for (const s of job.subtasks) {
        if (s.taskName.startsWith('Source: ')) source += s.recordsIn;
        else slow += s.recordsIn;
      }
      return { atMs: Date.now(), source, slow, subtasks: job.subtasks.length };
    };
    await waitFor('the job to run on both workers', 20_000, async () => ((await sample()).subtasks >= 4 ? true : undefined));
    // Measured from once the slow operator has taken in as many records as can be in flight (the
    // start is over; the buffers have had their chance to fill) until it has taken in twice as many
    // more: a window counted in the slow operator's records, whatever the machine's speed.
    const first = await waitFor(`the slow operator to take in ${IN_FLIGHT_BOUND} records`, 60_000, async () => {
      const now = await sample();
      return now.slow >= IN_FLIGHT_BOUND ? now : undefined;
    }, 250);
    let maxRssMb = 0;
    const last = await waitFor(`the slow operator to take in ${2 * IN_FLIGHT_BOUND} more records`, 60_000, async () => {
      for (const w of cluster.workers) maxRssMb = Math.max(maxRssMb, rssMegabytes(w.child.pid!));
      const now = await sample();
      return now.slow - first.slow >= 2 * IN_FLIGHT_BOUND ? now : undefined;
    }, 500);
    const seconds = (last.atMs - first.atMs) / 1000;
    const sourceRate = (last.source - first.source) / seconds;
    const slowRate = (last.slow - first.slow) / seconds;
    const inFlight = last.source - last.slow;
    process.stderr.write(`# backpressure: source ${Math.round(sourceRate)} rec/s, slow operator ${Math.round(slowRate)} rec/s, in flight ${inFlight}, max worker RSS ${maxRssMb.toFixed(0)} MB\n`);
    assert.ok(slowRate > 0, 'the slow operator makes progress');
    const job = await cluster.job(jobId);
    assert.equal(job.numRestarts, 0, `the job ran without restarts (${job.failure})`);

    // Every process serves Prometheus metrics with Flink's names and labels.
    const overview = await cluster.rest('GET', '/v1/overview');
    const workerMetrics = await (await fetch(`http://${overview.workers[0].metricsAddress}/metrics`)).text();
    assert.match(workerMetrics, /^flink_taskmanager_job_task_numRecordsInPerSecond\{job_id="[0-9a-f]+",job_name="slow-sink-app",task_name="[^"]+",subtask_index="\d",task_attempt_num="1",tm_id="worker-\d"\} \d/m);
    assert.match(workerMetrics, /^flink_taskmanager_job_task_backPressuredTimeMsPerSecond\{/m);
    // A function's own metric, with the task's and the operator's labels.
    const pauses = /^flink_taskmanager_job_task_operator_slow_pauses\{([^}]*)\} (\d+)$/m.exec(workerMetrics);
    assert.ok(pauses, 'the slow operator\'s counter is exported');
    assert.match(pauses[1]!, /^job_id="[0-9a-f]+",job_name="slow-sink-app",operator_id="slow",operator_name="[^"]+",subtask_index="\d",task_attempt_num="1",task_name="[^"]+",tm_id="worker-\d"$/);
    assert.ok(Number(pauses[2]) > 0, `pauses counted: ${pauses[2]}`);
    const coordinatorMetrics = await (await fetch(`http://${overview.metricsAddress}/metrics`)).text();
    assert.match(coordinatorMetrics, new RegExp(`^flink_jobmanager_job_numRestarts\\{job_id="${jobId}",job_name="slow-sink-app"\\} 0$`, 'm'));
    assert.match(coordinatorMetrics, /^flink_jobmanager_numRegisteredTaskManagers 2$/m);
    // Without flow control the source would run at hundreds of thousands of records per second.
    assert.ok(sourceRate <= slowRate * 1.2 + 1000, `source ${sourceRate}/s follows the slow operator ${slowRate}/s`);
    assert.ok(inFlight <= IN_FLIGHT_BOUND, `in flight ${inFlight} records`);
    assert.ok(maxRssMb < 400, `worker RSS ${maxRssMb} MB stays under 400 MB`);
    await cluster.rest('POST', `/v1/jobs/${jobId}/cancel`);
  });
});
