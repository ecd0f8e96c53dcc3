// The managed service's two waits, measured as a user meets them: a local cluster of real
// processes (one coordinator on etcd, workers with code caches of their own), the application's
// code packaged to S3 in two object versions, driven through the unmodified AWS SDK client
// (kinesisanalyticsv2). The application (timed-count-app.ts) counts Nexmark bids per auction in
// keyed state, padded so the state grows to --state-mb, and writes {auction, n, emittedAtMs} to
// S3 part files, committed on checkpoints.
//
//   1. StartApplication → the first record committed (a part object under the output prefix,
//      listed every 50 ms), with the operation's own duration and the time to RUNNING.
//   2. UpdateApplication to the second code version, once the running job holds ~--state-mb of
//      state: the gap between the last record the old version emitted and the first the new one
//      emitted (the records' own emit times: committed output comes in bursts, one per
//      checkpoint), the gap in committed output as a reader of the bucket sees it, and where the
//      time went (the coordinator's and workers' logs).
//
// Prints the figures, writes benchmarks/results/applications-<time>.json.
//
//   npm run bench -- applications [--records-per-second 10000] [--state-mb 100] [--build-seconds 60]
//                                 [--checkpoint-interval-ms 1000] [--parallelism 2] [--workers 2]
//                                 [--state-backend leveldb|memory]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { packageCommand } from '../../cli/package-command.ts';
import { ProcessCluster } from '../../coordinator/cluster/testing/process-cluster.ts';
import { createTestBucket, requireS3, s3TestClient, type S3TestService, type TestBucket } from '../../shared/testing/s3-service.ts';
import { requireEtcd } from '../../shared/testing/services.ts';
import { CommittedPartsWatcher, type CommittedPart } from './committed-parts-watcher.ts';
import { describeEvent, firstEvent, stepEvents, type LogEvent } from './log-timeline.ts';
import type { TimedAuctionCount } from './timed-count-app.ts';

const root = new URL('../..', import.meta.url).pathname;
const APP = fileURLToPath(new URL('./timed-count-app.ts', import.meta.url));
const NAME = 'counts';
const KEY = { accessKeyId: 'AKIASLUICEBENCH', secretAccessKey: 'bench-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] };
/** Nexmark's default mix: 46 of every 50 events are bids (the records the count takes in). */
const BID_SHARE = 46 / 50;
/** Distinct auctions per bid in the generator's first million or so bids (14,285 in 276,000; 96,004 in 1.84 M). */
const AUCTIONS_PER_BID = 0.052;
const START_TARGET_MS = 5_000;
const UPDATE_GAP_TARGET_MS = 2_000;
const MANAGED_FLINK_CONTEXT = [
  'Amazon Managed Service for Apache Flink (context, not measured here): an update of a running',
  'application stops it with a snapshot and restarts it with the new code from that snapshot; its',
  'documentation puts a maintenance restart at 10 to 30 seconds of downtime, depending on the state.',
];

const say = (line: string) => process.stderr.write(`applications: ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Settings {
  readonly recordsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly stateMb: number;
  readonly buildSeconds: number;
  readonly bidsBeforeUpdate: number;
  readonly statePaddingBytes: number;
  readonly checkpointIntervalMs: number;
  readonly parallelism: number;
  readonly workers: number;
  readonly stateBackend: 'leveldb' | 'memory';
}

function settingsOf(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      'records-per-second': { type: 'string', default: '10000' },
      'state-mb': { type: 'string', default: '100' },
      'build-seconds': { type: 'string', default: '60' },
      'checkpoint-interval-ms': { type: 'string', default: '1000' },
      parallelism: { type: 'string', default: '2' },
      workers: { type: 'string', default: '2' },
      'state-backend': { type: 'string', default: 'leveldb' },
    },
  });
  const positive = (name: keyof typeof values) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`applications --${name}: a positive number, got ${values[name]}`);
    return value;
  };
  const stateBackend = values['state-backend'];
  if (stateBackend !== 'leveldb' && stateBackend !== 'memory') throw new Error(`applications --state-backend: leveldb or memory, got ${stateBackend}`);
  const recordsPerSecond = positive('records-per-second');
  const stateMb = positive('state-mb');
  const buildSeconds = positive('build-seconds');
  // The padding that makes the auctions bid on by the time of the update hold --state-mb.
  const bidsBeforeUpdate = Math.round(recordsPerSecond * buildSeconds);
  const statePaddingBytes = Math.max(1, Math.round((stateMb * 2 ** 20) / (bidsBeforeUpdate * AUCTIONS_PER_BID)));
  return {
    recordsPerSecond,
    eventsPerSecond: Math.round(recordsPerSecond / BID_SHARE),
    stateMb,
    buildSeconds,
    bidsBeforeUpdate,
    statePaddingBytes,
    checkpointIntervalMs: positive('checkpoint-interval-ms'),
    parallelism: positive('parallelism'),
    workers: positive('workers'),
    stateBackend,
  };
}

/** Records the keyed count has taken in (bids), summed over its subtasks. */
const bidsCounted = (job: any): number => job.subtasks.filter((s: any) => !s.taskName.startsWith('Source: ')).reduce((sum: number, s: any) => sum + s.recordsIn, 0);

async function packageAndUpload(s3: S3TestService, bucket: string, dir: string): Promise<string> {
  const result = await packageCommand(
    { application: APP, output: join(dir, 'counts.zip'), upload: { bucket, key: 'apps/counts.zip' }, s3Endpoint: s3.endpoint, s3Region: s3.region },
    { out: new PassThrough(), err: new PassThrough() },
  );
  const versionId = result.upload?.versionId;
  if (versionId === undefined) throw new Error(`s3://${bucket} is not versioned: the upload has no version id`);
  return versionId;
}

/** What the three measurements share. */
interface BenchmarkRun {
  readonly settings: Settings;
  readonly cluster: ProcessCluster;
  readonly api: sdk.KinesisAnalyticsV2Client;
  /** The output prefix's part objects, listed every 50 ms. */
  readonly parts: CommittedPartsWatcher;
}

export async function benchmarkApplications(args: readonly string[]): Promise<void> {
  const settings = settingsOf(args);
  const loadBefore = loadavg()[0]!;
  say(
    `${settings.recordsPerSecond} bids/s (${settings.eventsPerSecond} Nexmark events/s), ${settings.statePaddingBytes} B of state per auction ` +
      `(~${settings.stateMb} MB after ${settings.bidsBeforeUpdate} bids), ${settings.stateBackend} state, checkpoints every ${settings.checkpointIntervalMs} ms, ` +
      `parallelism ${settings.parallelism} on ${settings.workers} workers; load average ${loadBefore.toFixed(1)}`,
  );
  const etcd = await requireEtcd();
  const s3 = await requireS3();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-applications-bench-'));
  const s3Client = s3TestClient(s3, 3);
  const buckets: TestBucket[] = [];
  let cluster: ProcessCluster | undefined;
  let api: sdk.KinesisAnalyticsV2Client | undefined;
  let parts: CommittedPartsWatcher | undefined;
  try {
    // The code in a versioned bucket; checkpoints, snapshots and output in another, unversioned,
    // so the store does not keep every deleted checkpoint's chunks as old versions.
    const codeBucket = await createTestBucket(s3, 'bench-apps-code', { versioned: true });
    buckets.push(codeBucket);
    const dataBucket = await createTestBucket(s3, 'bench-apps-data');
    buckets.push(dataBucket);
    say(`packaging ${APP} and uploading it twice to s3://${codeBucket.name}/apps/counts.zip`);
    const v1 = await packageAndUpload(s3, codeBucket.name, dir);
    const v2 = await packageAndUpload(s3, codeBucket.name, dir);

    const keysFile = join(dir, 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [KEY] }));
    say(`starting a cluster: 1 coordinator (etcd ${etcd.join(',')}), ${settings.workers} workers × 2 slots, each process with a code cache of its own`);
    cluster = await ProcessCluster.start({
      dir,
      coordinators: 1,
      workers: settings.workers,
      slotsPerWorker: 2,
      etcdEndpoints: etcd,
      etcdNamespace: `/sluice-bench-${process.pid}-${Date.now()}-applications/`,
      leaseTtlSeconds: 10,
      checkpointDirectory: `s3://${dataBucket.name}/checkpoints`,
      snapshotDirectory: `s3://${dataBucket.name}/snapshots`,
      coordinatorArgs: ['--api-keys-file', keysFile, '--api-account-id', '123456789012'],
    });
    api = new sdk.KinesisAnalyticsV2Client({
      endpoint: `http://127.0.0.1:${cluster.coordinators[0]!.restPort}`,
      region: 'us-east-1',
      credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    });
    await createApplication(api, settings, codeBucket.name, v1, dataBucket.name);
    parts = CommittedPartsWatcher.start(s3Client, dataBucket.name, 'output/', 50);
    const run: BenchmarkRun = { settings, cluster, api, parts };

    const start = await measureStart(run);
    const state = await buildState(run);
    const update = await measureUpdate(run, state.jobId, v2);

    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
    const loadAverage = { before: loadBefore, after: loadavg()[0]! };
    printFigures(settings, machine, loadAverage, start, state, update);
    mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
    const file = join(root, 'benchmarks/results', `applications-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine, loadAverage, ...settings, start, achieved: state, update }, null, 2));
    console.log(`applications: written to ${file}`);
    // Deleting it cancels the job and takes its snapshots and keys out of etcd.
    const created = (await api.send(new sdk.DescribeApplicationCommand({ ApplicationName: NAME }))).ApplicationDetail!.CreateTimestamp;
    await api.send(new sdk.DeleteApplicationCommand({ ApplicationName: NAME, CreateTimestamp: created })).catch((error: Error) => say(`deleting the application failed: ${error.message}`));
  } finally {
    await parts?.stop();
    api?.destroy();
    await cluster?.stop();
    s3Client.destroy();
    for (const bucket of buckets) await bucket.remove().catch((error: Error) => say(`removing s3://${bucket.name} failed: ${error.message}`));
    if (process.env.SLUICE_KEEP_TEST_DIRS) say(`kept ${dir} (the processes' logs are there)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function createApplication(api: sdk.KinesisAnalyticsV2Client, settings: Settings, codeBucket: string, codeVersion: string, dataBucket: string): Promise<void> {
  await api.send(
    new sdk.CreateApplicationCommand({
      ApplicationName: NAME,
      RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
      ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
      ApplicationConfiguration: {
        ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: `arn:aws:s3:::${codeBucket}`, FileKey: 'apps/counts.zip', ObjectVersion: codeVersion } } },
        EnvironmentProperties: {
          PropertyGroups: [
            {
              PropertyGroupId: 'test',
              PropertyMap: {
                output: `s3://${dataBucket}/output`,
                // More than a run reads: the source does not end while it is measured.
                events: String(settings.eventsPerSecond * 3_600),
                rate: String(settings.eventsPerSecond),
                statePaddingBytes: String(settings.statePaddingBytes),
              },
            },
            ...(settings.stateBackend === 'memory' ? [{ PropertyGroupId: 'sluice.state', PropertyMap: { backend: 'memory' } }] : []),
          ],
        },
        FlinkApplicationConfiguration: {
          CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: true, CheckpointInterval: settings.checkpointIntervalMs, MinPauseBetweenCheckpoints: 0 },
          ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: settings.parallelism, ParallelismPerKPU: 1, AutoScalingEnabled: false },
        },
        ApplicationSnapshotConfiguration: { SnapshotsEnabled: true },
      },
    }),
  );
}

/** Polls an operation until it succeeds; fails naming it, with the coordinator's last lines, if it fails or takes too long. */
async function waitForOperation(run: BenchmarkRun, operationId: string, what: string, timeoutMs: number): Promise<sdk.ApplicationOperationInfoDetails> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const details = (await run.api.send(new sdk.DescribeApplicationOperationCommand({ ApplicationName: NAME, OperationId: operationId }))).ApplicationOperationInfoDetails!;
    if (details.OperationStatus === 'SUCCESSFUL') return details;
    if (details.OperationStatus === 'FAILED') throw new Error(`${what} failed: ${details.OperationFailureDetails?.ErrorInfo?.ErrorString}\n${run.cluster.coordinatorLogTails(15)}`);
    if (Date.now() > deadline) throw new Error(`${what} (operation ${operationId}) did not end within ${timeoutMs} ms\n${run.cluster.coordinatorLogTails(15)}`);
    await sleep(100);
  }
}

const operationMs = (details: sdk.ApplicationOperationInfoDetails) => details.EndTime!.getTime() - details.StartTime!.getTime();

/** The application's running job (the latest, while an update replaces one with another). */
async function runningJobId(run: BenchmarkRun): Promise<string> {
  const jobs = (await run.cluster.rest('GET', '/v1/jobs')).jobs as Array<{ jobId: string; jobName: string; state: string }>;
  const job = jobs.filter((j) => j.jobName === NAME && j.state === 'running').at(-1);
  if (!job) throw new Error(`no running job of application ${NAME}: ${JSON.stringify(jobs.map((j) => [j.jobName, j.state]))}`);
  return job.jobId;
}

// ---- 1. StartApplication → first record committed -------------------------------------------

interface StartFigures {
  readonly toFirstCommittedMs: number;
  readonly toFirstEmittedMs: number;
  readonly toRunningMs: number;
  readonly operationMs: number;
  readonly timeline: ReadonlyArray<LogEvent & { readonly msAfterStartSent: number }>;
}

async function measureStart(run: BenchmarkRun): Promise<StartFigures> {
  say('StartApplication (every process fetches the code from S3 for the first time)');
  const sentAt = Date.now();
  const started = await run.api.send(new sdk.StartApplicationCommand({ ApplicationName: NAME, RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' } } }));
  const runningAt = (async () => {
    while (Date.now() < sentAt + 120_000) {
      const status = (await run.api.send(new sdk.DescribeApplicationCommand({ ApplicationName: NAME }))).ApplicationDetail!.ApplicationStatus;
      if (status === 'RUNNING') return Date.now();
      await sleep(50);
    }
    return NaN;
  })().catch(() => NaN);
  const firstPart = await run.parts.firstPartSince(sentAt, 120_000);
  const operation = await waitForOperation(run, started.OperationId!, 'StartApplication', 120_000);
  const figures: StartFigures = {
    toFirstCommittedMs: firstPart.firstSeenAtMs - sentAt,
    toFirstEmittedMs: minOf((await run.parts.records<TimedAuctionCount>(firstPart)).map((r) => r.emittedAtMs)) - sentAt,
    toRunningMs: (await runningAt) - sentAt,
    operationMs: operationMs(operation),
    timeline: stepEvents(run.cluster, sentAt, firstPart.firstSeenAtMs + 100).map((e) => ({ ...e, msAfterStartSent: e.atMs - sentAt })),
  };
  say(`first record committed ${figures.toFirstCommittedMs} ms after StartApplication (RUNNING after ${figures.toRunningMs} ms; the operation took ${figures.operationMs} ms)`);
  return figures;
}

// ---- 2. Keyed state up to --state-mb at the asked rate --------------------------------------

interface StateFigures {
  readonly jobId: string;
  readonly bidsCounted: number;
  readonly bidsPerSecondWhileBuilding: number;
  readonly bidsPerSecondLast10s: number;
  /** The keyed state of the latest checkpoint before the update, as the workers wrote it (LevelDB's or the memory backend's own bytes). */
  readonly checkpointId: number;
  readonly checkpointStateBytes: number;
}

async function buildState(run: BenchmarkRun): Promise<StateFigures> {
  const { settings, cluster } = run;
  const jobId = await runningJobId(run);
  const startedAt = Date.now();
  const deadline = startedAt + settings.buildSeconds * 2_000;
  const samples: Array<{ atMs: number; bids: number }> = [];
  for (;;) {
    const status = await cluster.job(jobId);
    if (status.state !== 'running') throw new Error(`the application's job is ${status.state}: ${status.failure}\n${cluster.coordinatorLogTails(15)}`);
    const bids = bidsCounted(status);
    samples.push({ atMs: Date.now(), bids });
    if (samples.length % 5 === 0) {
      const previous = samples.at(-6) ?? samples[0]!;
      const rate = ((bids - previous.bids) / Math.max(1, samples.at(-1)!.atMs - previous.atMs)) * 1000;
      const checkpoint = status.checkpoints.latest;
      say(`building state: ${bids} of ${settings.bidsBeforeUpdate} bids counted, ${Math.round(rate)} bids/s; latest checkpoint ${checkpoint ? `${checkpoint.checkpointId} in ${checkpoint.durationMs} ms` : 'none yet'}`);
    }
    if (bids >= settings.bidsBeforeUpdate) break;
    if (Date.now() > deadline) {
      say(`the job is behind its rate: updating with ${bids} of ${settings.bidsBeforeUpdate} bids counted`);
      break;
    }
    await sleep(1_000);
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const tenSecondsBefore = samples.find((s) => s.atMs >= last.atMs - 10_000)!;
  const perSecond = (from: { atMs: number; bids: number }) => Math.round(((last.bids - from.bids) / Math.max(1, last.atMs - from.atMs)) * 1000);
  const written = stepEvents(cluster, startedAt, Date.now()).filter((e) => e.message === 'checkpoint state written' && e.fields.job === jobId && e.fields.uid === 'count-per-auction');
  const checkpointId = maxOf(written.map((e) => e.fields.checkpointId as number));
  const figures: StateFigures = {
    jobId,
    bidsCounted: last.bids,
    bidsPerSecondWhileBuilding: perSecond(first),
    bidsPerSecondLast10s: perSecond(tenSecondsBefore),
    checkpointId,
    checkpointStateBytes: written.filter((e) => e.fields.checkpointId === checkpointId).reduce((sum, e) => sum + (e.fields.totalBytes as number), 0),
  };
  say(`${figures.bidsPerSecondWhileBuilding} bids/s while building (${figures.bidsPerSecondLast10s} in the last 10 s); checkpoint ${checkpointId} holds ${mb(figures.checkpointStateBytes)} MB of keyed state`);
  return figures;
}

// ---- 3. UpdateApplication to the second code version ----------------------------------------

interface UpdateFigures {
  /** The last record the old version emitted → the first the new one emitted. */
  readonly processingGapMs: number;
  /** The old version's last part listed → the new version's first. */
  readonly committedGapMs: number;
  readonly committedGapByLastModifiedMs: number;
  /** The old version's ordinary stalls (checkpoints, GC): the largest pause between its records in the 10 s before the update. */
  readonly largestGapBeforeMs: number;
  readonly answeredMs: number;
  readonly operationMs: number;
  readonly snapshotBytes: number | undefined;
  readonly stateCarriedOver: StateCarriedOver;
  readonly steps: ReadonlyArray<{ readonly step: string; readonly msAfterUpdateSent: number | null }>;
  readonly timeline: ReadonlyArray<LogEvent & { readonly msAfterUpdateSent: number }>;
}

async function measureUpdate(run: BenchmarkRun, oldJobId: string, codeVersion: string): Promise<UpdateFigures> {
  const { cluster } = run;
  say('UpdateApplication to the second object version of the code');
  const sentAt = Date.now();
  const update = await run.api.send(
    new sdk.UpdateApplicationCommand({
      ApplicationName: NAME,
      CurrentApplicationVersionId: 1,
      ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { S3ContentLocationUpdate: { ObjectVersionUpdate: codeVersion } } } },
    }),
  );
  const answeredAt = Date.now();
  const operation = await waitForOperation(run, update.OperationId!, 'UpdateApplication', 240_000);
  say(`the update's operation took ${operationMs(operation)} ms; waiting for the new version's first committed output`);
  const newJobId = await runningJobId(run);
  // Records emitted before the new job was submitted are the old version's (its log line may take a moment to reach the file).
  let submitted: LogEvent | undefined;
  for (let i = 0; !submitted && i < 50; i++) {
    submitted = firstEvent(stepEvents(cluster, sentAt, Date.now()), (e) => e.message === 'job submitted' && e.fields.job === newJobId);
    if (!submitted) await sleep(100);
  }
  if (!submitted) throw new Error(`no 'job submitted' log line for the new job ${newJobId}`);
  const output = await readAroundUpdate(run, sentAt, submitted.atMs, newJobId);
  const { lastOldPart, firstNewPart, lastOldEmit, firstNewEmit } = output;

  const snapshots = await cluster.rest('GET', '/v1/snapshots');
  const snapshot = ((Array.isArray(snapshots) ? snapshots : snapshots.snapshots) as Array<{ jobId: string; bytes: number }>).find((s) => s.jobId === oldJobId);
  const events = stepEvents(cluster, sentAt, firstNewPart.firstSeenAtMs + 100);
  const steps = updateSteps(events, oldJobId, newJobId, { answeredAt, submittedAt: submitted.atMs, lastOldEmit, firstNewEmit, firstNewPartSeenAt: firstNewPart.firstSeenAtMs });
  return {
    processingGapMs: firstNewEmit - lastOldEmit,
    committedGapMs: firstNewPart.firstSeenAtMs - lastOldPart.firstSeenAtMs,
    committedGapByLastModifiedMs: firstNewPart.lastModifiedMs - lastOldPart.lastModifiedMs,
    largestGapBeforeMs: output.largestGapBeforeMs,
    answeredMs: answeredAt - sentAt,
    operationMs: operationMs(operation),
    snapshotBytes: snapshot?.bytes,
    stateCarriedOver: output.stateCarriedOver,
    steps: steps.map(([step, atMs]) => ({ step, msAfterUpdateSent: atMs === undefined ? null : atMs - sentAt })),
    timeline: events.map((e) => ({ ...e, msAfterUpdateSent: e.atMs - sentAt })),
  };
}

interface StateCarriedOver {
  readonly auctionsCountedByNewVersion: number;
  /** Of those, the auctions whose first count in the new version is above 1: restored from the snapshot. */
  readonly auctionsWithRestoredCounts: number;
  readonly auctionsInBothVersions: number;
  /** Of those, the auctions whose count went on exactly: the new version's first n is the old one's last n + 1. */
  readonly auctionsContinuedExactly: number;
}

/**
 * Reads the parts committed from 15 s before the update until one holds a record of the new
 * version, and splits the records at `cutMs` (the new job's submission).
 */
async function readAroundUpdate(run: BenchmarkRun, sentAt: number, cutMs: number, newJobId: string) {
  const { parts } = run;
  const records = new Map<string, TimedAuctionCount[]>();
  const readFrom = sentAt - 15_000;
  const deadline = Date.now() + 120_000;
  const isNew = (key: string) => records.get(key)?.some((r) => r.emittedAtMs >= cutMs) ?? false;
  let firstNewPart: CommittedPart | undefined;
  while (!firstNewPart) {
    for (const part of parts.parts().filter((p) => p.firstSeenAtMs >= readFrom && !records.has(p.key))) records.set(part.key, await parts.records<TimedAuctionCount>(part));
    firstNewPart = parts.parts().find((p) => isNew(p.key));
    if (firstNewPart) break;
    if (Date.now() > deadline) throw new Error(`the new version committed nothing within 120 s of its operation's end\n${await run.cluster.jobProgress(newJobId)}`);
    await sleep(50);
  }
  const read = parts.parts().filter((p) => records.has(p.key));
  const lastOldPart = read.filter((p) => records.get(p.key)!.some((r) => r.emittedAtMs < cutMs)).at(-1)!;
  const all = [...records.values()].flat();
  const oldRecords = all.filter((r) => r.emittedAtMs < cutMs);
  const newRecords = all.filter((r) => r.emittedAtMs >= cutMs);
  say(`read ${read.length} parts: ${oldRecords.length} records of the old version, ${newRecords.length} of the new`);

  const before = oldRecords.map((r) => r.emittedAtMs).filter((t) => t >= sentAt - 10_000 && t < sentAt).sort((a, b) => a - b);
  // An auction the new version counts from n > 1 had its count restored; one both versions'
  // records show goes on exactly. Bids move on to new auctions within a second or two, so few
  // auctions are in both the old version's last parts and the new one's first.
  const lastCountOld = new Map<number, number>();
  for (const r of oldRecords) lastCountOld.set(r.auction, Math.max(lastCountOld.get(r.auction) ?? 0, r.n));
  const firstCountNew = new Map<number, number>();
  for (const r of newRecords) firstCountNew.set(r.auction, Math.min(firstCountNew.get(r.auction) ?? Infinity, r.n));
  const inBoth = [...firstCountNew].filter(([auction]) => lastCountOld.has(auction));
  const stateCarriedOver: StateCarriedOver = {
    auctionsCountedByNewVersion: firstCountNew.size,
    auctionsWithRestoredCounts: [...firstCountNew.values()].filter((n) => n > 1).length,
    auctionsInBothVersions: inBoth.length,
    auctionsContinuedExactly: inBoth.filter(([auction, n]) => n === lastCountOld.get(auction)! + 1).length,
  };
  return {
    lastOldPart,
    firstNewPart,
    lastOldEmit: maxOf(oldRecords.map((r) => r.emittedAtMs)),
    firstNewEmit: minOf(newRecords.map((r) => r.emittedAtMs)),
    largestGapBeforeMs: before.slice(1).reduce((max, t, i) => Math.max(max, t - before[i]!), 0),
    stateCarriedOver,
  };
}

/** The update's steps, each with when it happened (undefined: not in the logs), from the logs and the records. */
function updateSteps(
  events: readonly LogEvent[],
  oldJobId: string,
  newJobId: string,
  at: { answeredAt: number; submittedAt: number; lastOldEmit: number; firstNewEmit: number; firstNewPartSeenAt: number },
): Array<[string, number | undefined]> {
  const of = (message: string, matches: (e: LogEvent) => boolean = () => true) => firstEvent(events, (e) => e.message === message && matches(e));
  const oldJob = (e: LogEvent) => e.fields.job === oldJobId;
  const newJob = (e: LogEvent) => e.fields.job === newJobId;
  const stopping = of('job state changed', (e) => oldJob(e) && e.fields.to === 'stopping');
  const stopCheckpoint = of('checkpoint completed', (e) => oldJob(e) && (stopping === undefined || e.atMs >= stopping.atMs));
  const stopWritten = events.filter((e) => e.message === 'checkpoint state written' && oldJob(e) && e.fields.checkpointId === stopCheckpoint?.fields.checkpointId && e.fields.uid === 'count-per-auction');
  const deployed = events.filter((e) => e.message === 'attempt deployed' && newJob(e));
  const steps: Array<[string, number | undefined]> = [
    ['UpdateApplication answered (the new version checked while the old one runs)', at.answeredAt],
    ['the old job stopping: its stop checkpoint triggered once no checkpoint is in flight', stopping?.atMs],
    ['last record the old version emitted (its output ends at the stop checkpoint)', at.lastOldEmit],
    [
      `the stop checkpoint completed (${stopCheckpoint?.fields.durationMs ?? '?'} ms; ${mb(sumOf(stopWritten, 'uploadedBytes'))} of ${mb(sumOf(stopWritten, 'totalBytes'))} MB of keyed state uploaded)`,
      stopCheckpoint?.atMs,
    ],
    ['the old job stopped (its sinks committed)', of('job state changed', (e) => oldJob(e) && e.fields.to === 'stopped')?.atMs],
    ['the stop checkpoint copied into the snapshot', of('application operation step recorded', (e) => String(e.fields.step).startsWith('stopped with snapshot'))?.atMs],
    ['the new job submitted', at.submittedAt],
    [`the new job deployed on every worker (restore read ${maxOf(deployed.map((e) => e.fields.restoreReadMs))} ms, build ${maxOf(deployed.map((e) => e.fields.buildMs))} ms)`, deployed.at(-1)?.atMs],
    ['the new job running', of('job state changed', (e) => newJob(e) && e.fields.to === 'running')?.atMs],
    ['first record the new version emitted', at.firstNewEmit],
    ["the new job's first checkpoint completed", of('checkpoint completed', newJob)?.atMs],
    ['its output visible (first part listed)', at.firstNewPartSeenAt],
  ];
  return steps.sort((a, b) => (a[1] ?? Infinity) - (b[1] ?? Infinity));
}

// ---- figures --------------------------------------------------------------------------------

function printFigures(settings: Settings, machine: string, load: { before: number; after: number }, start: StartFigures, state: StateFigures, update: UpdateFigures): void {
  const target = (ms: number, targetMs: number) => `target < ${targetMs} ms, ${ms < targetMs ? 'met' : `missed by ${ms - targetMs} ms`}`;
  console.log(
    `applications: kinesisanalyticsv2 on a local cluster (1 coordinator on etcd, ${settings.workers} workers × 2 slots; code, checkpoints, snapshots and output in S3 (moto)); ` +
      `parallelism ${settings.parallelism}, ${settings.stateBackend} state, checkpoints every ${settings.checkpointIntervalMs} ms (${machine}; load average ${load.before.toFixed(1)} → ${load.after.toFixed(1)})`,
  );
  console.log('');
  console.log(`  StartApplication → first record committed   ${start.toFirstCommittedMs} ms (${target(start.toFirstCommittedMs, START_TARGET_MS)})`);
  console.log(`    → first record emitted                    ${start.toFirstEmittedMs} ms`);
  console.log(`    → RUNNING (DescribeApplication)            ${start.toRunningMs} ms`);
  console.log(`    the operation, StartTime → EndTime        ${start.operationMs} ms`);
  // The sources' and sinks' own checkpoint writes are small; the keyed state's is the one that takes time.
  for (const event of start.timeline.filter((e) => e.message !== 'checkpoint state written' || e.fields.uid === 'count-per-auction')) {
    console.log(`      ${describeEvent(event, event.atMs - event.msAfterStartSent)}`);
  }
  console.log('');
  console.log(
    `  UpdateApplication of a job at ${state.bidsPerSecondLast10s} records/s (asked ${settings.recordsPerSecond} bids/s = ${settings.eventsPerSecond} Nexmark events/s; ` +
      `${state.bidsPerSecondWhileBuilding} on average while building) with ${mb(state.checkpointStateBytes)} MB of keyed state (checkpoint ${state.checkpointId}; the update's snapshot: ${mb(update.snapshotBytes)} MB)`,
  );
  console.log(`    output gap, by the records' emit times     ${update.processingGapMs} ms (${target(update.processingGapMs, UPDATE_GAP_TARGET_MS)}; largest gap in the 10 s before: ${update.largestGapBeforeMs} ms)`);
  console.log(`    gap in committed output (parts listed)   ${update.committedGapMs} ms (by LastModified: ${update.committedGapByLastModifiedMs} ms)`);
  console.log(`    UpdateApplication answered after          ${update.answeredMs} ms; the operation, StartTime → EndTime ${update.operationMs} ms`);
  const carried = update.stateCarriedOver;
  console.log(
    `    keyed state carried over                  ${carried.auctionsWithRestoredCounts} of the ${carried.auctionsCountedByNewVersion} auctions in the new version's first parts went on from a restored count; ` +
      `${carried.auctionsContinuedExactly} of the ${carried.auctionsInBothVersions} also in the old version's last parts continued exactly (n = last + 1)`,
  );
  console.log('    where the time goes (ms after UpdateApplication was sent):');
  for (const { step, msAfterUpdateSent } of update.steps) console.log(`      ${msAfterUpdateSent === null ? '     ?' : String(msAfterUpdateSent).padStart(6)}  ${step}`);
  console.log('');
  for (const line of MANAGED_FLINK_CONTEXT) console.log(`  ${line}`);
}

// Not Math.max(...values): a few hundred thousand arguments overflow the stack.
const maxOf = (values: readonly number[]) => values.reduce((max, v) => Math.max(max, v), -Infinity);
const minOf = (values: readonly number[]) => values.reduce((min, v) => Math.min(min, v), Infinity);
const sumOf = (events: readonly LogEvent[], field: string) => events.reduce((sum, e) => sum + (e.fields[field] as number), 0);
const mb = (bytes: number | undefined) => (bytes === undefined ? '?' : (bytes / 2 ** 20).toFixed(1));

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchmarkApplications(process.argv.slice(2));
