// End-to-end exactly-once on a real cluster: one coordinator elected through a real etcd, three
// worker processes, checkpoints on the real S3-compatible server. The job
// (testing/kafka-window-app.ts) reads a 6-partition Kafka topic read_committed, counts each key's
// records in 2 s tumbling event-time windows, and writes one result per (key, window) to a Kafka
// topic (transactions) and to JSON-lines files on S3 (multipart uploads completed on commit).
// While the input arrives, workers running the job are killed with SIGKILL at times drawn from a
// logged seed (SLUICE_E2E_SEED reproduces a schedule), one of them the instant it logs
// "committing checkpoint" (the coordinator's commit notification, before its sinks commit), and
// restarted. Once every expected result is visible the job is cancelled and a checker reads the
// Kafka output read_committed and the visible S3 objects and counts, per key, results lost,
// duplicated, out of order and wrong (computed from the input generator, not from the engine):
// all must be 0.
//
// The order checked, and why it means something: a key's windows fire in increasing window
// order in the one window subtask that owns the key, and both sinks are chained to it.
// - Kafka: results are keyed by key, so one key's results are in one partition; a sink subtask's
//   transactions commit in checkpoint order. So in partition offset order a key's windowStart
//   must increase.
// - S3: one event-time bucket holds everything, files roll on every checkpoint, and a subtask
//   numbers its files part-<subtask>-<n> in the order it opens them (a restored writer goes on
//   after every number already used). So a subtask's files in n order, lines in file order, are
//   the order it wrote them; a key's windowStart must increase along it. (A key whose results
//   showed up under two subtasks would make that order meaningless: the checker counts those too.)

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { S3ObjectStore } from '../../shared/object-store/index.ts';
import { createTopics, requireKafka, testKafkaClient, uniqueTopicName } from '../../shared/testing/kafka-service.ts';
import { createTestBucket, requireS3, type TestBucket } from '../../shared/testing/s3-service.ts';
import { requireEtcd } from '../../shared/testing/services.ts';
import { readTopic } from '../../worker/connectors/kafka/testing-topic-reader.ts';
import { seededRandom } from '../../shared/testing/seeded-random.ts';
import type { WindowResult } from './testing/kafka-window-app.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster, type ClusterProcess } from './testing/process-cluster.ts';
import {
  allExpectedVisible,
  checkWindowResults,
  endOfInputSentinels,
  expectedWindowResults,
  generateWindowInput,
  type InputRecord,
  type WindowInputPlan,
} from './testing/window-results-checker.ts';

const APP = fileURLToPath(new URL('./testing/kafka-window-app.ts', import.meta.url));
const WINDOW_MS = 2_000;
const OUT_OF_ORDERNESS_MS = 1_000;
/** 24,000 records over 50 keys; 10 ms of event time apart, up to 400 ms late: 240 s of event time, ~6,000 window results. */
const INPUT: WindowInputPlan = { records: 24_000, keys: 50, partitions: 6, startMs: Date.UTC(2026, 0, 15, 8, 0), stepMs: 10, jitterMs: 400 };
/** The input arrives in batches over about 29 s, while the kills happen. */
const BATCH_RECORDS = 500;
const BATCH_INTERVAL_MS = 600;
const PARALLELISM = 3;

let cluster: ProcessCluster;
let dir: string;
let bucket: TestBucket;
let store: S3ObjectStore;
let brokers: string[];
let admin: Admin;
const topics: string[] = [];

before(async () => {
  brokers = await requireKafka();
  const s3 = await requireS3();
  const etcd = await requireEtcd();
  bucket = await createTestBucket(s3, 'exactly-once');
  store = new S3ObjectStore({ bucket: bucket.name, prefix: 'output', endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
  admin = testKafkaClient(brokers).admin();
  await admin.connect();
  dir = mkdtempSync(join(tmpdir(), 'sluice-exactly-once-'));
  cluster = await ProcessCluster.start({
    dir,
    coordinators: 1,
    workers: 3,
    slotsPerWorker: 2,
    etcdEndpoints: etcd,
    etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}/`,
    leaseTtlSeconds: 4,
    checkpointDirectory: `s3://${bucket.name}/checkpoints`,
    snapshotDirectory: `s3://${bucket.name}/snapshots`,
    // Each kill costs a restart or two (a deploy may meet the dying worker); never the budget's end.
    restartStrategy: '{"kind":"fixed-delay","attempts":50,"delayMs":200}',
  });
});

after(async () => {
  await cluster?.stop();
  // SLUICE_KEEP_TEST_DIRS keeps everything for a post-mortem: the processes' logs, the topics, the bucket.
  const keep = process.env.SLUICE_KEEP_TEST_DIRS !== undefined;
  if (topics.length > 0 && !keep) await admin?.deleteTopics({ topics }).catch(() => {});
  if (keep) process.stderr.write(`# kept: ${dir}, topics ${topics.join(' ')}, bucket ${bucket?.name}\n`);
  await admin?.disconnect();
  await store?.close();
  if (!keep) await bucket?.remove().catch(() => {});
  if (!keep) rmSync(dir, { recursive: true, force: true });
});

interface PlannedKill {
  /** How long after the job ran again (with a checkpoint of its own) the kill comes. */
  readonly delayMs: number;
  /** Killed at the victim's next 'committing checkpoint' line, after the delay. */
  readonly midCommit: boolean;
  /** Mid-commit: how long after that line, so kills land at different points of the commit. */
  readonly intoCommitMs: number;
  /** Picks the victim among the workers running the job (sorted by id). */
  readonly pick: number;
}

function killPlan(random: () => number): PlannedKill[] {
  const count = 2 + Math.floor(random() * 3);
  const midCommitAt = Math.floor(random() * count);
  return Array.from({ length: count }, (_, i) => ({
    delayMs: Math.round(1_000 + random() * 3_000),
    midCommit: i === midCommitAt,
    intoCommitMs: Math.floor(random() * 40),
    pick: random(),
  }));
}

/** Waits, and on a timeout tells what the coordinator and workers logged last. */
async function waitWithLogs<T>(wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    const workers = cluster.workers.map((w) => `--- ${w.id}:\n${cluster.logLines(w).slice(-5).map((l) => JSON.stringify(l)).join('\n')}`).join('\n');
    throw new Error(`${(error as Error).message}\n${cluster.coordinatorLogTails(10)}\n${workers}`);
  }
}

/** The job runs in an attempt after `afterAttempt` and has completed a checkpoint in it. */
async function runningWithCheckpoint(jobId: string, afterAttempt: number): Promise<any> {
  const running = await waitFor(`job ${jobId} to run in an attempt after ${afterAttempt}`, 90_000, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
    return job.state === 'running' && job.attempt > afterAttempt && job.subtasks.length > 0 ? job : undefined;
  }, 100);
  const pointer = running.checkpoints.pointer ?? 0;
  return waitFor(`job ${jobId} to complete a checkpoint in attempt ${running.attempt}`, 60_000, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
    if (job.attempt !== running.attempt) throw new Error(`attempt ${running.attempt} was replaced by ${job.attempt} before a checkpoint`);
    return job.state === 'running' && (job.checkpoints.pointer ?? 0) > pointer ? job : undefined;
  }, 100);
}

/**
 * SIGKILLs the worker `intoCommitMs` after it logs 'committing checkpoint' (read straight from its
 * stderr pipe, where it logs, not from the log file): the checkpoint is durable and its sinks are
 * committing — a Kafka transaction and S3 completions that take some tens of milliseconds.
 */
async function killAtNextCommit(victim: ClusterProcess, intoCommitMs: number, timeoutMs: number): Promise<{ checkpointId: number; loggedAt: string; killedAt: string }> {
  const line = await cluster.nextLogLine(victim, (l) => l.message === 'committing checkpoint', timeoutMs);
  if (intoCommitMs > 0) await new Promise((resolve) => setTimeout(resolve, intoCommitMs));
  cluster.kill(victim, 'SIGKILL');
  return { checkpointId: line.checkpointId as number, loggedAt: line.timestamp as string, killedAt: new Date().toISOString() };
}

async function produceInput(input: readonly InputRecord[], topic: string): Promise<void> {
  // Idempotent: a retried send must not write a record twice (the checker would count it).
  const producer = testKafkaClient(brokers).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < input.length; i += BATCH_RECORDS) {
      const started = Date.now();
      const batch = input.slice(i, i + BATCH_RECORDS);
      await producer.send({ topic, acks: -1, messages: batch.map((r) => ({ partition: r.partition, key: r.key, value: JSON.stringify(r.value) })) });
      const rest = BATCH_INTERVAL_MS - (Date.now() - started);
      if (rest > 0 && i + BATCH_RECORDS < input.length) await new Promise((r) => setTimeout(r, rest));
    }
  } finally {
    await producer.disconnect();
  }
}

/** Kafka results read_committed, one sequence per partition in offset order. */
/** For a timeout: the results missing per sink, records of aborted transactions, deployments and failures of the job. */
async function describeMissing(jobId: string, output: string, expected: ReadonlyMap<string, WindowResult>): Promise<string> {
  const missing = (sequences: WindowResult[][]) => {
    const seen = new Set(sequences.flat().map((r) => `${r.key}@${r.windowStart}`));
    const lost = [...expected.values()].filter((r) => !seen.has(`${r.key}@${r.windowStart}`));
    const windows = [...new Set(lost.map((r) => new Date(r.windowStart).toISOString()))];
    return `${lost.length} missing over ${new Set(lost.map((r) => r.key)).size} keys, windows ${windows.slice(0, 10).join(' ')}`;
  };
  const committed = await kafkaResults(output);
  const uncommitted = (await kafkaResults(output, true)).flat().length;
  const coordinatorLog = cluster.coordinators.flatMap((c) => cluster.logLines(c)).filter((l) => l.job === jobId);
  const deployments = coordinatorLog.filter((l) => l.message === 'deploying attempt').map((l) => `${l.attempt}←${String(l.restoreFrom ?? 'nothing').replace(/.*\//, '')}`);
  const failures = coordinatorLog.filter((l) => l.message === 'job attempt failed').map((l) => `attempt ${l.attempt}: ${String(l.error).slice(0, 300)}`);
  const warnings = cluster.workers.flatMap((w) => cluster.logLines(w).filter((l) => l.level !== 'info').map((l) => `${w.id}: ${l.message} ${String(l.error ?? '').slice(0, 300)}`));
  return [
    `kafka: ${missing(committed)}; records in the topic read_uncommitted ${uncommitted} (committed ${committed.flat().length})`,
    `s3: ${missing((await s3Results()).sequences)}`,
    `deployments ${deployments.join(' ')}`,
    ...failures,
    ...warnings.slice(-20),
  ].join('\n');
}

async function kafkaResults(topic: string, readUncommitted = false): Promise<WindowResult[][]> {
  const byPartition = new Map<number, WindowResult[]>();
  for (const r of (await readTopic(brokers, topic, { readUncommitted, timeoutMs: 60_000 })).sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    (byPartition.get(r.partition) ?? byPartition.set(r.partition, []).get(r.partition)!).push(JSON.parse(r.value!) as WindowResult);
  }
  return [...byPartition.values()];
}

const s3Cache = new Map<string, WindowResult[]>();

/** Visible S3 results, one sequence per sink subtask: its files by number, lines in file order. */
async function s3Results(): Promise<{ sequences: WindowResult[][]; files: number }> {
  const files: Array<{ subtask: number; n: number; key: string }> = [];
  for (const { key } of await store.list('')) {
    // The sink's own objects (the path's claims), not output.
    if (key.startsWith('_sluice/') || key.includes('/_sluice/')) continue;
    const match = /\/part-(\d+)-(\d+)\.json$/.exec(key);
    if (!match) throw new Error(`unexpected object ${key} in the S3 output`);
    files.push({ subtask: Number(match[1]), n: Number(match[2]), key });
  }
  files.sort((a, b) => a.subtask - b.subtask || a.n - b.n);
  const sequences = new Map<number, WindowResult[]>();
  for (const file of files) {
    let rows = s3Cache.get(file.key);
    if (!rows) {
      // A visible object never changes: read once.
      rows = Buffer.from(await store.get(file.key)).toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as WindowResult);
      s3Cache.set(file.key, rows);
    }
    (sequences.get(file.subtask) ?? sequences.set(file.subtask, []).get(file.subtask)!).push(...rows);
  }
  return { sequences: [...sequences.values()], files: files.length };
}

describe('end-to-end exactly-once: Kafka → keyed event-time windows → Kafka and S3, workers killed', { timeout: 300_000 }, () => {
  it('loses, duplicates and reorders no window result of any key in either sink', async () => {
    const startedAt = Date.now();
    const seed = Number(process.env.SLUICE_E2E_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = seededRandom(seed);
    const plan = killPlan(random);
    process.stderr.write(`# exactly-once e2e: seed ${seed} (SLUICE_E2E_SEED=${seed} repeats the schedule): ${JSON.stringify(plan.map(({ pick: _, ...k }) => k))}\n`);

    const input = uniqueTopicName('e2e-in');
    const output = uniqueTopicName('e2e-out');
    const markerTopic = uniqueTopicName('e2e-markers');
    topics.push(input, output, markerTopic);
    await createTopics(admin, [{ topic: input, partitions: INPUT.partitions }, { topic: output, partitions: 3 }]);
    const records = generateWindowInput(INPUT);
    const expected = expectedWindowResults(records, WINDOW_MS);

    const submitted = await cluster.rest('POST', '/v1/jobs', {
      application: APP,
      parallelism: PARALLELISM,
      properties: {
        test: {
          brokers: brokers.join(','),
          input,
          output,
          markerTopic,
          transactionalIdPrefix: uniqueTopicName('e2e-tx'),
          s3Path: `s3://${bucket.name}/output`,
          windowMs: String(WINDOW_MS),
          outOfOrdernessMs: String(OUT_OF_ORDERNESS_MS),
        },
      },
    });
    const jobId = submitted.jobId as string;
    let job = await waitWithLogs(runningWithCheckpoint(jobId, 0));

    const production = produceInput([...records, ...endOfInputSentinels(INPUT, WINDOW_MS)], input);
    production.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    const kills: string[] = [];
    for (const planned of plan) {
      await new Promise((r) => setTimeout(r, planned.delayMs));
      job = await cluster.job(jobId);
      const hosts = [...new Set<string>(job.subtasks.map((s: { workerId: string }) => s.workerId))].sort();
      const victim = cluster.workers.find((w) => w.id === hosts[Math.floor(planned.pick * hosts.length)])!;
      const attempt = job.attempt as number;
      if (planned.midCommit) {
        const { checkpointId, loggedAt, killedAt } = await waitWithLogs(killAtNextCommit(victim, planned.intoCommitMs, 30_000));
        kills.push(`${victim.id} mid-commit of checkpoint ${checkpointId} (attempt ${attempt}; logged ${loggedAt}, killed ${killedAt})`);
      } else {
        cluster.kill(victim, 'SIGKILL');
        kills.push(`${victim.id} at ${new Date().toISOString()} (attempt ${attempt}, checkpoint pointer ${job.checkpoints.pointer})`);
      }
      await waitWithLogs(cluster.restartWorker(victim));
      job = await waitWithLogs(runningWithCheckpoint(jobId, attempt));
    }
    await production;
    process.stderr.write(`# kills (${Date.now() - startedAt} ms in): ${kills.join('; ')}\n`);

    let lastProgress = '';
    await waitWithLogs(
      waitFor('every expected window result visible in Kafka (read_committed) and on S3', 120_000, async () => {
        const job = await cluster.job(jobId);
        if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
        const kafka = await kafkaResults(output);
        const s3 = await s3Results();
        lastProgress = `kafka ${kafka.flat().length}, s3 ${s3.sequences.flat().length} of ${expected.size}`;
        return allExpectedVisible(kafka, expected) && allExpectedVisible(s3.sequences, expected) ? true : undefined;
      }, 2_000),
    ).catch(async (error: Error) => {
      // What is missing, and where it might have gone: enough to tell a lost transaction from a late one.
      const diagnosis = await describeMissing(jobId, output, expected).catch((e: Error) => `(diagnosis failed: ${e.message})`);
      throw new Error(`${error.message}\nlast seen: ${lastProgress}\n${diagnosis}`);
    });
    const final = await cluster.job(jobId);
    await cluster.rest('POST', `/v1/jobs/${jobId}/cancel`);
    await waitFor('the job to be cancelled', 30_000, async () => ((await cluster.job(jobId)).state === 'cancelled' ? true : undefined));

    const kafka = checkWindowResults(await kafkaResults(output), expected);
    const s3Output = await s3Results();
    const s3 = checkWindowResults(s3Output.sequences, expected);
    const aborted = (await kafkaResults(output, true)).flat().length - kafka.visible;
    const coordinatorLog = cluster.coordinators.flatMap((c) => cluster.logLines(c)).filter((l) => l.job === jobId);
    const restores = coordinatorLog.filter((l) => l.message === 'deploying attempt').map((l) => `${l.attempt}←${String(l.restoreFrom ?? 'nothing').replace(/.*\//, '')}`);
    const failures = coordinatorLog.filter((l) => l.message === 'job attempt failed').map((l) => `attempt ${l.attempt}: ${String(l.error).slice(0, 300)}`);
    process.stderr.write(
      `# kafka: ${JSON.stringify({ ...kafka, badKeys: undefined })}, records of aborted transactions ${aborted}\n` +
        `# s3: ${JSON.stringify({ ...s3, badKeys: undefined })} in ${s3Output.files} files\n` +
        `# job: attempt ${final.attempt}, restarts ${final.numRestarts}, checkpoints ${final.checkpoints.completed}; deployments ${restores.join(' ')}; ${Date.now() - startedAt} ms\n` +
        failures.map((f) => `#   ${f}\n`).join(''),
    );

    assert.ok(final.numRestarts >= plan.length, `every kill restarted the job (${final.numRestarts} restarts for ${plan.length} kills)`);
    for (const [sink, check] of [['Kafka', kafka], ['S3', s3]] as const) {
      assert.deepEqual(
        { lost: check.lost, duplicated: check.duplicated, outOfOrder: check.outOfOrder, wrong: check.wrong, keysInSeveralSequences: check.keysInSeveralSequences },
        { lost: 0, duplicated: 0, outOfOrder: 0, wrong: 0, keysInSeveralSequences: 0 },
        `${sink} output (seed ${seed}), the first keys at fault: ${JSON.stringify(Object.fromEntries(Object.entries(check.badKeys).slice(0, 8)))}`,
      );
      assert.equal(check.visible, expected.size, `${sink}: every expected result exactly once`);
    }
  });
});
