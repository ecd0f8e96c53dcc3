// Autoscaling as a user meets it (issue 15): an application with AutoScalingEnabled (responsive
// mode) on a local cluster of real processes (one coordinator on etcd, one-slot workers), its
// code in S3, reading a Kafka topic of 8 partitions whose producer steps its rate up fourfold and
// later down. Every record costs --busy-micros of CPU, so one subtask handles a known rate. Once
// a second it prints the producer's rate, the source's backlog (the Kafka reader's pending records,
// from the heartbeats) and the job's parallelism; then the figures: from the rate step to the
// first rescale and to caught up (backlog back under one second of input), the peak backlog, the
// rescales, and the scale-down after the drop. Managed Flink's rule, for comparison, needs 15
// minutes of CPU at or above 75 % before it doubles (by its definition; not run here).
//
//   npm run bench -- autoscale [--base-rate 500] [--step-rate 2000] [--drop-rate 250]
//                              [--base-seconds 20] [--step-seconds 90] [--drop-seconds 60]
//                              [--busy-micros 800] [--workers 4]
//
// Writes benchmarks/results/autoscale-<time>.json.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { packageCommand } from '../../cli/package-command.ts';
import { ProcessCluster } from '../../coordinator/cluster/testing/process-cluster.ts';
import { createTopics, requireKafka, testKafkaClient, uniqueTopicName } from '../../shared/testing/kafka-service.ts';
import { createTestBucket, requireS3 } from '../../shared/testing/s3-service.ts';
import { requireEtcd } from '../../shared/testing/services.ts';

const root = new URL('../..', import.meta.url).pathname;
const APP = fileURLToPath(new URL('./autoscale-app.ts', import.meta.url));
const NAME = 'autoscale';
const PARTITIONS = 8;
const KEY = { accessKeyId: 'AKIASLUICESCALEBENCH', secretAccessKey: 'scale-bench-secret-0123', actions: ['kinesisanalytics:*'], applications: ['*'] };
const MANAGED_FLINK_SCALE_UP_MS = 15 * 60_000;

const say = (line: string) => process.stderr.write(`autoscale: ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  readonly atS: number;
  /** The rate the producer aims at. */
  readonly rate: number;
  /** What it sent in the last second. */
  readonly producedPerSecond: number;
  readonly backlog: number | undefined;
  readonly parallelism: number | undefined;
  readonly state: string | undefined;
}

export async function benchmarkAutoscale(args: string[]): Promise<unknown> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      'base-rate': { type: 'string', default: '500' },
      'step-rate': { type: 'string', default: '2000' },
      'drop-rate': { type: 'string', default: '250' },
      'base-seconds': { type: 'string', default: '20' },
      'step-seconds': { type: 'string', default: '90' },
      'drop-seconds': { type: 'string', default: '60' },
      'busy-micros': { type: 'string', default: '800' },
      workers: { type: 'string', default: '4' },
    },
  });
  const n = (name: keyof typeof values) => Number(values[name]);
  const phases = [
    { name: 'base', rate: n('base-rate'), seconds: n('base-seconds') },
    { name: 'step', rate: n('step-rate'), seconds: n('step-seconds') },
    { name: 'drop', rate: n('drop-rate'), seconds: n('drop-seconds') },
  ];
  const workers = n('workers');
  const etcd = await requireEtcd();
  const s3 = await requireS3();
  const brokers = await requireKafka();
  const bucket = await createTestBucket(s3, 'autoscale-bench', { versioned: true });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-autoscale-bench-'));
  const kafka = testKafkaClient(brokers);
  const admin = kafka.admin();
  const producer = kafka.producer();
  let cluster: ProcessCluster | undefined;
  try {
    await admin.connect();
    await producer.connect();
    const topic = uniqueTopicName('autoscale');
    await createTopics(admin, [{ topic, partitions: PARTITIONS }]);
    const packaged = await packageCommand(
      { application: APP, output: join(dir, 'app.zip'), upload: { bucket: bucket.name, key: 'apps/autoscale.zip' }, s3Endpoint: s3.endpoint, s3Region: s3.region },
      { out: new PassThrough(), err: new PassThrough() },
    );
    const keysFile = join(dir, 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [KEY] }));
    say(`starting a cluster: 1 coordinator, ${workers} one-slot workers`);
    cluster = await ProcessCluster.start({
      dir,
      coordinators: 1,
      workers,
      slotsPerWorker: 1,
      etcdEndpoints: etcd,
      etcdNamespace: `/sluice-bench-${process.pid}-${Date.now()}-autoscale/`,
      checkpointDirectory: `s3://${bucket.name}/checkpoints`,
      snapshotDirectory: `s3://${bucket.name}/snapshots`,
      coordinatorArgs: ['--api-keys-file', keysFile, '--api-account-id', '123456789012', '--autoscaling-interval-ms', '1000'],
    });
    const api = new sdk.KinesisAnalyticsV2Client({
      endpoint: `http://127.0.0.1:${cluster.coordinators[0]!.restPort}`,
      region: 'us-east-1',
      credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    });
    await api.send(
      new sdk.CreateApplicationCommand({
        ApplicationName: NAME,
        RuntimeEnvironment: 'SLUICE-1' as sdk.RuntimeEnvironment,
        ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
        ApplicationConfiguration: {
          ApplicationCodeConfiguration: {
            CodeContentType: 'ZIPFILE',
            CodeContent: { S3ContentLocation: { BucketARN: `arn:aws:s3:::${bucket.name}`, FileKey: 'apps/autoscale.zip', ObjectVersion: packaged.upload!.versionId } },
          },
          EnvironmentProperties: {
            PropertyGroups: [
              { PropertyGroupId: 'test', PropertyMap: { brokers: brokers.join(','), topic, busyMicrosPerRecord: values['busy-micros'] } },
              {
                PropertyGroupId: 'sluice.autoscaling',
                PropertyMap: { 'scale-up.stabilization.ms': '5000', 'cooldown.ms': '15000', 'scale-down.quiet.ms': '20000', 'catch-up.ms': '30000', 'max.parallelism': String(workers) },
              },
            ],
          },
          FlinkApplicationConfiguration: {
            CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: true, CheckpointInterval: 2_000, MinPauseBetweenCheckpoints: 0 },
            ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: 1, ParallelismPerKPU: 1, AutoScalingEnabled: true },
          },
        },
      }),
    );
    await api.send(new sdk.StartApplicationCommand({ ApplicationName: NAME, RunConfiguration: { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' } } }));
    for (let i = 0; ; i++) {
      const status = (await api.send(new sdk.DescribeApplicationCommand({ ApplicationName: NAME }))).ApplicationDetail!.ApplicationStatus;
      if (status === 'RUNNING') break;
      if (status === 'READY' || i > 600) throw new Error(`the application did not start (status ${status})\n${cluster.coordinatorLogTails(15)}`);
      await sleep(200);
    }
    say(`running; phases ${phases.map((p) => `${p.name} ${p.rate}/s for ${p.seconds} s`).join(', ')}; ${values['busy-micros']} µs of CPU per record`);

    const samples: Sample[] = [];
    const startedAt = Date.now();
    let rate = phases[0]!.rate;
    let producing = true;
    let sent = 0;
    const produce = (async () => {
      for (const phase of phases) {
        rate = phase.rate;
        const phaseEnd = Date.now() + phase.seconds * 1000;
        while (Date.now() < phaseEnd) {
          const tickStart = Date.now();
          const count = Math.round(phase.rate / 10);
          const messages = Array.from({ length: count }, () => ({ value: JSON.stringify({ key: sent++ % 1000 }) }));
          await producer.send({ topic, messages });
          await sleep(Math.max(0, 100 - (Date.now() - tickStart)));
        }
      }
      producing = false;
    })();
    const jobOf = async () => ((await cluster!.rest('GET', '/v1/jobs')).jobs as Array<{ jobId: string; jobName: string; state: string }>).filter((j) => j.jobName === NAME).at(-1);
    let sentBefore = 0;
    while (producing) {
      await sleep(1000);
      const producedPerSecond = sent - sentBefore;
      sentBefore = sent;
      const job = await jobOf();
      const status = job && (await cluster.rest('GET', `/v1/jobs/${job.jobId}`));
      const sources = (status?.subtasks ?? []).filter((s: { taskId: number }) => status.tasks.find((t: { id: number; isSource: boolean }) => t.id === s.taskId)?.isSource);
      const known = sources.length > 0 && sources.every((s: { pendingRecords?: number }) => typeof s.pendingRecords === 'number');
      const backlog = known ? sources.reduce((sum: number, s: { pendingRecords: number }) => sum + s.pendingRecords, 0) : undefined;
      const sample: Sample = { atS: (Date.now() - startedAt) / 1000, rate, producedPerSecond, backlog, parallelism: status?.parallelism, state: status?.state };
      samples.push(sample);
      say(`${sample.atS.toFixed(0).padStart(4)} s  rate ${String(rate).padStart(5)}/s (sent ${String(producedPerSecond).padStart(5)})  backlog ${String(backlog ?? '?').padStart(7)}  parallelism ${sample.parallelism ?? '?'} (${sample.state ?? '?'})`);
    }
    await produce;

    const stepAtS = phases[0]!.seconds;
    const dropAtS = stepAtS + phases[1]!.seconds;
    const initial = samples.find((s) => s.atS < stepAtS && s.parallelism !== undefined)?.parallelism ?? 1;
    const firstUp = samples.find((s) => s.atS >= stepAtS && (s.parallelism ?? 0) > initial);
    const caughtUp = firstUp && samples.find((s) => s.atS >= firstUp.atS && s.atS < dropAtS && s.backlog !== undefined && s.backlog <= s.rate);
    const duringStep = samples.filter((s) => s.atS >= stepAtS && s.atS < dropAtS);
    const peakBacklog = Math.max(0, ...duringStep.map((s) => s.backlog ?? 0));
    const peakParallelism = Math.max(initial, ...duringStep.map((s) => s.parallelism ?? 0));
    const afterDrop = samples.filter((s) => s.atS >= dropAtS);
    const firstDown = afterDrop.find((s) => (s.parallelism ?? peakParallelism) < peakParallelism);
    const operations = (await api.send(new sdk.ListApplicationOperationsCommand({ ApplicationName: NAME }))).ApplicationOperationInfoList!.filter((o) => o.Operation === 'AutoscaleApplication');
    const figures = {
      stepToFirstRescaleS: firstUp ? firstUp.atS - stepAtS : null,
      stepToCaughtUpS: caughtUp ? caughtUp.atS - stepAtS : null,
      peakBacklogRecords: peakBacklog,
      parallelism: { initial, peak: peakParallelism, afterDrop: afterDrop.at(-1)?.parallelism ?? null },
      dropToScaleDownS: firstDown ? firstDown.atS - dropAtS : null,
      rescales: operations.filter((o) => o.OperationStatus === 'SUCCESSFUL').length,
      managedFlinkRuleMinimumS: MANAGED_FLINK_SCALE_UP_MS / 1000,
    };
    console.log('');
    console.log(`Autoscaling, responsive mode, on this machine (${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}): Kafka topic of ${PARTITIONS} partitions, ${values['busy-micros']} µs of CPU per record, ${workers} one-slot workers`);
    console.log(`rate ${phases.map((p) => `${p.rate}/s for ${p.seconds} s`).join(', then ')}`);
    console.log(`step → first rescale: ${figures.stepToFirstRescaleS?.toFixed(0) ?? 'none'} s; step → caught up (backlog under one second of input): ${figures.stepToCaughtUpS?.toFixed(0) ?? 'not within the step'} s (target < 60 s)`);
    console.log(`peak backlog ${peakBacklog} records; parallelism ${initial} → ${peakParallelism}, ${figures.parallelism.afterDrop ?? '?'} at the end; drop → scale-down ${figures.dropToScaleDownS?.toFixed(0) ?? 'none'} s; ${figures.rescales} rescales`);
    console.log(`Managed Flink's rule would not scale up before ${MANAGED_FLINK_SCALE_UP_MS / 60_000} minutes of CPU at or above 75 % (by its definition; not run here)`);
    const resultsDir = join(root, 'benchmarks', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `autoscale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ phases, busyMicros: Number(values['busy-micros']), workers, figures, samples }, null, 2));
    console.log(`written to ${file}`);
    return figures;
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await cluster?.stop();
    await bucket.remove().catch(() => {});
    if (process.env.SLUICE_KEEP_BENCH_DIRS) say(`kept the cluster's logs in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
