// deploy/docker-compose.yml for real: the images built (deploy/build-images.sh, FROM the local
// base scripts/services.d/docker.sh makes), the whole cluster brought up with `docker compose up
// -d --wait` (every service on the host network, each on its own loopback port), the one-shot
// `setup` starting the example application through the applications API. Then: the application's
// output appears in Kafka and S3; Prometheus has a target up for every process; every query of
// every Grafana dashboard panel returns data from that Prometheus; a worker container and the
// leader coordinator's container are killed (SIGKILL); the rest of the input goes in, and every
// window result is in both sinks exactly once (counted against the generator, not the engine).
// `docker compose down` runs in any case.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { S3ObjectStore } from '../shared/object-store/index.ts';
import { testKafkaClient } from '../shared/testing/kafka-service.ts';
import { waitFor } from '../shared/testing/wait-for.ts';
import { readTopic } from '../worker/connectors/kafka/testing-topic-reader.ts';
import type { WindowResult } from '../coordinator/cluster/testing/kafka-window-app.ts';
import { allExpectedVisible, checkWindowResults, endOfInputSentinels, expectedWindowResults, generateWindowInput } from '../coordinator/cluster/testing/window-results-checker.ts';
import {
  EXAMPLE_APPLICATION_NAME,
  EXAMPLE_BUCKET,
  EXAMPLE_INPUT,
  EXAMPLE_INPUT_TOPIC,
  EXAMPLE_OUTPUT_PREFIX,
  EXAMPLE_OUTPUT_TOPIC,
  EXAMPLE_SETUP_RECORDS,
  EXAMPLE_WINDOW_MS,
} from './example/window-counts.ts';

// This process's own AWS SDK clients run on Node 20 like the images; the SDK's notice about it is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const DEPLOY = dirname(fileURLToPath(import.meta.url));
const COMPOSE_FILE = join(DEPLOY, 'docker-compose.yml');
// The loopback ports of deploy/docker-compose.yml.
const BROKERS = ['127.0.0.1:27192'];
const S3 = { endpoint: 'http://127.0.0.1:27100', region: 'us-east-1', credentials: { accessKeyId: 'sluice-example', secretAccessKey: 'sluice-example-secret' } };
const PROMETHEUS = 'http://127.0.0.1:27090';
const COORDINATORS = [
  { service: 'coordinator-1', id: 'coordinator-1', rest: 'http://127.0.0.1:27081', metrics: 'http://127.0.0.1:27249/metrics' },
  { service: 'coordinator-2', id: 'coordinator-2', rest: 'http://127.0.0.1:27082', metrics: 'http://127.0.0.1:27250/metrics' },
];
const CLUSTER_TOKEN = 'compose-example-cluster-token';
const PROCESSES = ['coordinator-1', 'coordinator-2', 'worker-1', 'worker-2', 'worker-3', 'etcd', 'prometheus'];

let docker: string;
let compose: string;
let store: S3ObjectStore | undefined;
let composeStarted = false;
const startedAt = Date.now();

const progress = (message: string) => process.stderr.write(`# compose [${((Date.now() - startedAt) / 1000).toFixed(0)} s] ${message}\n`);

/** Runs a command; resolves with its output, rejects naming the command and its output's tail. */
function run(command: string, args: string[], options: { timeoutMs: number; echo?: boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: DEPLOY, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => reject(new Error(`${command} could not run: ${error.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`));
    });
  });
}

const composeRun = (args: string[], timeoutMs = 120_000) => run(compose, ['-f', COMPOSE_FILE, ...args], { timeoutMs });
const logsOf = (service: string, lines = 30) => composeRun(['logs', '--no-color', '--tail', String(lines), service]).catch((e: Error) => e.message);

async function restOfLeader(path: string): Promise<{ coordinator: (typeof COORDINATORS)[number]; body: any }> {
  for (const coordinator of COORDINATORS) {
    const response = await fetch(`${coordinator.rest}${path}`, { headers: { authorization: `Bearer ${CLUSTER_TOKEN}` }, signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
    if (response?.ok) return { coordinator, body: await response.json() };
  }
  throw new Error(`no coordinator answered ${path} as leader`);
}

/** Which coordinator says it leads, from its own /metrics. */
async function leaderByMetrics(): Promise<(typeof COORDINATORS)[number] | undefined> {
  for (const coordinator of COORDINATORS) {
    const text = await fetch(coordinator.metrics, { signal: AbortSignal.timeout(3_000) }).then((r) => r.text(), () => '');
    if (new RegExp(`^sluice_coordinator_is_leader\\{[^}]*coordinator_id="${coordinator.id}"[^}]*\\} 1$`, 'm').test(text)) return coordinator;
  }
  return undefined;
}

async function promQuery(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as any;
  if (body.status !== 'success') throw new Error(`Prometheus rejects ${expr}: ${body.error}`);
  return body.data.result;
}

/** The example job's record in the leader's REST API. */
async function exampleJob(): Promise<any> {
  const { body } = await restOfLeader('/v1/jobs');
  const jobs = (body.jobs as any[]).filter((j) => j.jobName === EXAMPLE_APPLICATION_NAME && j.state !== 'stopped' && j.state !== 'cancelled');
  assert.ok(jobs.length <= 1, `one ${EXAMPLE_APPLICATION_NAME} job, got ${JSON.stringify(jobs)}`);
  const job = jobs[0];
  if (job?.state === 'failed') throw new Error(`the example job failed: ${JSON.stringify(job)}`);
  return job ? (await restOfLeader(`/v1/jobs/${job.jobId}`)).body : undefined;
}

/** The job runs in an attempt after `afterAttempt` and a checkpoint past `afterPointer` completed in it. */
function runningWithNewCheckpoint(what: string, afterAttempt: number, afterPointer: number, timeoutMs = 120_000): Promise<any> {
  return waitFor(what, timeoutMs, async () => {
    const job = await exampleJob();
    return job?.state === 'running' && job.attempt > afterAttempt && (job.checkpoints.pointer ?? 0) > afterPointer ? job : undefined;
  }, 500);
}

async function kafkaResults(): Promise<WindowResult[][]> {
  const byPartition = new Map<number, WindowResult[]>();
  for (const r of (await readTopic(BROKERS, EXAMPLE_OUTPUT_TOPIC, { timeoutMs: 60_000 })).sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    (byPartition.get(r.partition) ?? byPartition.set(r.partition, []).get(r.partition)!).push(JSON.parse(r.value!) as WindowResult);
  }
  return [...byPartition.values()];
}

/** Visible S3 results, one sequence per sink subtask: its files by number, lines in file order. */
async function s3Results(): Promise<WindowResult[][]> {
  const files: Array<{ subtask: number; n: number; key: string }> = [];
  for (const { key } of await store!.list('')) {
    if (key.startsWith('_sluice/') || key.includes('/_sluice/')) continue;
    const match = /\/part-(\d+)-(\d+)\.json$/.exec(key);
    if (!match) throw new Error(`unexpected object ${key} in the S3 output`);
    files.push({ subtask: Number(match[1]), n: Number(match[2]), key });
  }
  files.sort((a, b) => a.subtask - b.subtask || a.n - b.n);
  const sequences = new Map<number, WindowResult[]>();
  for (const file of files) {
    const rows = Buffer.from(await store!.get(file.key)).toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as WindowResult);
    (sequences.get(file.subtask) ?? sequences.set(file.subtask, []).get(file.subtask)!).push(...rows);
  }
  return [...sequences.values()];
}

before(async () => {
  docker = process.env.SLUICE_DOCKER ?? 'docker';
  const composeBinary = process.env.SLUICE_DOCKER_COMPOSE;
  const base = process.env.SLUICE_DOCKER_BASE_IMAGE;
  if (!composeBinary || !base) throw new Error('SLUICE_DOCKER_COMPOSE and SLUICE_DOCKER_BASE_IMAGE are not set: start Docker with scripts/services.sh start docker');
  compose = composeBinary;
  await run(docker, ['info'], { timeoutMs: 10_000 }).catch((error: Error) => {
    throw new Error(`the Docker daemon does not answer; scripts/services.sh start docker\n${error.message}`);
  });
  progress(`building the images FROM ${base} (deploy/build-images.sh)`);
  await run(join(DEPLOY, 'build-images.sh'), ['--base', base], { timeoutMs: 900_000, echo: true });
  // A cluster left over from an interrupted run would hold its input and output: start clean.
  await composeRun(['down', '--remove-orphans', '--timeout', '5']);
  progress('docker compose up -d --wait');
  composeStarted = true;
  await composeRun(['up', '-d', '--wait'], 300_000);
  progress('every service is healthy');
  store = new S3ObjectStore({ bucket: EXAMPLE_BUCKET, prefix: EXAMPLE_OUTPUT_PREFIX.replace(/\/$/, ''), endpoint: S3.endpoint, region: S3.region, credentials: S3.credentials });
});

after(async () => {
  await store?.close();
  if (!composeStarted) return;
  const down = await composeRun(['down', '--remove-orphans', '--timeout', '10']).then(() => 'ok', (e: Error) => e.message);
  progress(`docker compose down: ${down}`);
});

describe('deploy/docker-compose.yml: a whole cluster in containers', { timeout: 900_000 }, () => {
  const input = generateWindowInput(EXAMPLE_INPUT);
  const expected = expectedWindowResults(input, EXAMPLE_WINDOW_MS);

  it('the setup service starts the example application through the applications API, and its output reaches Kafka and S3', async () => {
    await waitFor('the setup service to exit', 180_000, async () => {
      const state = (await run(docker, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'sluice-setup-1'], { timeoutMs: 10_000 })).trim();
      if (state.startsWith('exited') && state !== 'exited 0') throw new Error(`setup exited with ${state}:\n${await logsOf('setup')}`);
      return state === 'exited 0';
    }, 1_000);
    const setupLog = await logsOf('setup', 100);
    assert.match(setupLog, /application window-counts is RUNNING/, setupLog);
    progress('setup done: the application runs');
    const job = await waitFor('the example job to run', 60_000, async () => ((await exampleJob())?.state === 'running' ? exampleJob() : undefined), 500);
    assert.equal(job.subtasks.length > 0, true);
    await waitFor('window results in Kafka (read_committed) and S3', 120_000, async () => {
      const [kafka, s3] = [(await kafkaResults()).flat(), (await s3Results()).flat()];
      return kafka.length > 0 && s3.length > 0 ? { kafka: kafka.length, s3: s3.length } : undefined;
    }, 2_000);
    progress('the first results are in Kafka and S3');
  });

  it('Prometheus scrapes every process, loads the alert rules, and every dashboard panel query returns data', async () => {
    await waitFor(() => `a target up for each of ${PROCESSES.join(', ')}`, 60_000, async () => {
      const body = (await (await fetch(`${PROMETHEUS}/api/v1/targets`)).json()) as any;
      const up = new Set((body.data.activeTargets as any[]).filter((t) => t.health === 'up').map((t) => t.labels.process));
      return PROCESSES.every((p) => up.has(p));
    }, 1_000);
    const rules = (await (await fetch(`${PROMETHEUS}/api/v1/rules`)).json()) as any;
    assert.deepEqual(rules.data.groups.map((g: any) => g.name).sort(), ['sluice-cluster', 'sluice-jobs']);

    const queries = readdirSync(join(DEPLOY, 'grafana', 'dashboards'))
      .filter((f) => f.endsWith('.json'))
      .flatMap((file) => {
        const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'dashboards', file), 'utf8'));
        return dashboard.panels.flatMap((panel: any) =>
          panel.targets.map((t: any) => ({
            panel: `${dashboard.title} / ${panel.title}`,
            // Grafana's variables as a dashboard opened on "All" would set them.
            expr: (t.expr as string).replaceAll('$job_name', '.*').replaceAll('$__rate_interval', '1m'),
          })),
        );
      });
    let empty: string[] = [];
    await waitFor(() => `data for every panel query; none yet for: ${empty.join('; ')}`, 120_000, async () => {
      empty = [];
      for (const q of queries) if ((await promQuery(q.expr)).length === 0) empty.push(`${q.panel}: ${q.expr}`);
      return empty.length === 0;
    }, 2_000);
    progress(`${queries.length} panel queries return data`);
  });

  it('a worker and the leader coordinator are killed; the output stays exact', async () => {
    let job = await runningWithNewCheckpoint('the example job to run with a checkpoint', 0, 0);
    const workerIds = [...new Set<string>(job.subtasks.map((s: { workerId: string }) => s.workerId))].sort();
    const victim = workerIds[0]!;
    assert.match(victim, /^worker-\d$/);
    await composeRun(['kill', '-s', 'SIGKILL', victim]);
    progress(`killed ${victim} (attempt ${job.attempt}, checkpoint ${job.checkpoints.pointer})`);
    job = await runningWithNewCheckpoint(`the job to run again without ${victim}, with a new checkpoint`, job.attempt, job.checkpoints.pointer);
    assert.ok(!job.subtasks.some((s: { workerId: string }) => s.workerId === victim), `nothing runs on the killed ${victim}`);
    progress(`the job runs again in attempt ${job.attempt}`);

    const leader = await waitFor('a leader', 30_000, leaderByMetrics, 500);
    const attemptBefore = job.attempt as number;
    const pointerBefore = job.checkpoints.pointer as number;
    await composeRun(['kill', '-s', 'SIGKILL', leader.service]);
    progress(`killed the leader ${leader.service}`);
    const successor = await waitFor('the other coordinator to lead', 60_000, async () => {
      const now = await leaderByMetrics();
      return now && now.service !== leader.service ? now : undefined;
    }, 500);
    // Adopted (same attempt) or restarted: either way running, with a checkpoint of the new leader's.
    job = await runningWithNewCheckpoint(`the job to run under ${successor.service} with a new checkpoint`, attemptBefore - 1, pointerBefore);
    progress(`${successor.service} leads; the job runs in attempt ${job.attempt} (checkpoint ${job.checkpoints.pointer})`);

    // The rest of the input, and the sentinels that close every window.
    const producer = testKafkaClient(BROKERS).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const rest = [...input.slice(EXAMPLE_SETUP_RECORDS), ...endOfInputSentinels(EXAMPLE_INPUT, EXAMPLE_WINDOW_MS)];
      for (let i = 0; i < rest.length; i += 1_000) {
        await producer.send({ topic: EXAMPLE_INPUT_TOPIC, acks: -1, messages: rest.slice(i, i + 1_000).map((r) => ({ partition: r.partition, key: r.key, value: JSON.stringify(r.value) })) });
      }
    } finally {
      await producer.disconnect();
    }
    progress(`wrote the remaining ${input.length - EXAMPLE_SETUP_RECORDS} records; waiting for all ${expected.size} window results`);

    let seen = '';
    await waitFor(() => `every window result in Kafka and S3 (seen ${seen})`, 180_000, async () => {
      const [kafka, s3] = [await kafkaResults(), await s3Results()];
      seen = `kafka ${kafka.flat().length}, s3 ${s3.flat().length} of ${expected.size}`;
      return allExpectedVisible(kafka, expected) && allExpectedVisible(s3, expected);
    }, 2_000).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await logsOf(successor.service, 20)}`);
    });
    const kafka = checkWindowResults(await kafkaResults(), expected);
    const s3 = checkWindowResults(await s3Results(), expected);
    const final = await exampleJob();
    progress(`kafka ${JSON.stringify({ ...kafka, badKeys: undefined })}; s3 ${JSON.stringify({ ...s3, badKeys: undefined })}; job attempt ${final.attempt}, restarts ${final.numRestarts}`);
    for (const [sink, check] of [['kafka', kafka], ['s3', s3]] as const) {
      assert.deepEqual(
        { lost: check.lost, duplicated: check.duplicated, outOfOrder: check.outOfOrder, wrong: check.wrong, visible: check.visible },
        { lost: 0, duplicated: 0, outOfOrder: 0, wrong: 0, visible: expected.size },
        `${sink}: ${JSON.stringify(check.badKeys)}`,
      );
    }
  });
});
