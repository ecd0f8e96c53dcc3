// The one-shot `setup` service of deploy/docker-compose.yml: creates the bucket and the topics,
// writes the first part of the example's input, uploads the packaged application and starts it
// through the applications API (kinesisanalyticsv2: CreateApplication, StartApplication), then
// exits 0 once it runs. Safe to run again: what exists is kept, a running application is left.
// Bundled into the image as /opt/sluice/deploy/setup-example.mjs (deploy/docker/Dockerfile).
//
// Environment: SLUICE_S3_ENDPOINT, SLUICE_S3_REGION, SLUICE_S3_ACCESS_KEY_ID,
// SLUICE_S3_SECRET_ACCESS_KEY (the store); EXAMPLE_KAFKA_BROKERS (host:port,…);
// EXAMPLE_APPLICATIONS_ENDPOINT (a coordinator's REST URL; a standby forwards to the leader);
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (a key of the coordinators' --api-keys-file).

import { readFileSync } from 'node:fs';
import { CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as kda from '@aws-sdk/client-kinesis-analytics-v2';
import kafkajs from 'kafkajs';
import { createTopics } from '../../shared/testing/kafka-service.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { generateWindowInput } from '../../coordinator/cluster/testing/window-results-checker.ts';
import {
  EXAMPLE_APPLICATION_NAME,
  EXAMPLE_BUCKET,
  EXAMPLE_CHECKPOINT_INTERVAL_MS,
  EXAMPLE_CODE_KEY,
  EXAMPLE_INPUT,
  EXAMPLE_INPUT_TOPIC,
  EXAMPLE_MARKER_TOPIC,
  EXAMPLE_OUT_OF_ORDERNESS_MS,
  EXAMPLE_OUTPUT_PREFIX,
  EXAMPLE_OUTPUT_TOPIC,
  EXAMPLE_PARALLELISM,
  EXAMPLE_SETUP_RECORDS,
  EXAMPLE_WINDOW_MS,
} from './window-counts.ts';

const log = (message: string) => console.log(`setup: ${message}`);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`setup: environment variable ${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const region = process.env.SLUICE_S3_REGION ?? 'us-east-1';
  const s3 = new S3Client({
    endpoint: required('SLUICE_S3_ENDPOINT'),
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: required('SLUICE_S3_ACCESS_KEY_ID'), secretAccessKey: required('SLUICE_S3_SECRET_ACCESS_KEY') },
  });
  const brokers = required('EXAMPLE_KAFKA_BROKERS').split(',');
  const api = new kda.KinesisAnalyticsV2Client({ endpoint: required('EXAMPLE_APPLICATIONS_ENDPOINT'), region });

  const exists = await s3.send(new HeadBucketCommand({ Bucket: EXAMPLE_BUCKET })).then(() => true, () => false);
  if (!exists) await s3.send(new CreateBucketCommand({ Bucket: EXAMPLE_BUCKET }));
  // Application code is referenced by object version.
  await s3.send(new PutBucketVersioningCommand({ Bucket: EXAMPLE_BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  log(`bucket ${EXAMPLE_BUCKET} ${exists ? 'exists' : 'created'}`);

  const kafka = new kafkajs.Kafka({ clientId: 'sluice-setup', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: EXAMPLE_INPUT_TOPIC, partitions: EXAMPLE_INPUT.partitions },
      { topic: EXAMPLE_OUTPUT_TOPIC, partitions: 3 },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length > 0) await createTopics(admin, wanted);
    log(`topics ${EXAMPLE_INPUT_TOPIC}, ${EXAMPLE_OUTPUT_TOPIC} ready`);
    const written = (await admin.fetchTopicOffsets(EXAMPLE_INPUT_TOPIC)).reduce((sum, p) => sum + Number(p.high), 0);
    if (written === 0) {
      const input = generateWindowInput(EXAMPLE_INPUT).slice(0, EXAMPLE_SETUP_RECORDS);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
      await producer.connect();
      try {
        for (let i = 0; i < input.length; i += 1_000) {
          const batch = input.slice(i, i + 1_000);
          await producer.send({ topic: EXAMPLE_INPUT_TOPIC, acks: -1, messages: batch.map((r) => ({ partition: r.partition, key: r.key, value: JSON.stringify(r.value) })) });
        }
      } finally {
        await producer.disconnect();
      }
      log(`wrote the first ${input.length} of ${EXAMPLE_INPUT.records} input records to ${EXAMPLE_INPUT_TOPIC}`);
    } else {
      log(`${EXAMPLE_INPUT_TOPIC} already holds ${written} records; writing none`);
    }
  } finally {
    await admin.disconnect();
  }

  const code = readFileSync(new URL('../examples/window-counts.zip', import.meta.url));
  const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: EXAMPLE_BUCKET, Key: EXAMPLE_CODE_KEY, Body: code }));
  log(`uploaded the application (${code.length} bytes) to s3://${EXAMPLE_BUCKET}/${EXAMPLE_CODE_KEY}, version ${VersionId}`);

  // The coordinators may still be electing a leader: the API answers once one leads.
  const describe = () => api.send(new kda.DescribeApplicationCommand({ ApplicationName: EXAMPLE_APPLICATION_NAME }));
  const current = await waitFor('the applications API to answer', 120_000, async () => {
    try {
      return { detail: (await describe()).ApplicationDetail };
    } catch (error) {
      if (error instanceof kda.ResourceNotFoundException) return { detail: undefined };
      throw error;
    }
  }, 500);
  if (!current.detail) {
    await api.send(
      new kda.CreateApplicationCommand({
        ApplicationName: EXAMPLE_APPLICATION_NAME,
        RuntimeEnvironment: 'SLUICE-1' as kda.RuntimeEnvironment,
        ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice-example',
        ApplicationConfiguration: {
          ApplicationCodeConfiguration: {
            CodeContentType: 'ZIPFILE',
            CodeContent: { S3ContentLocation: { BucketARN: `arn:aws:s3:::${EXAMPLE_BUCKET}`, FileKey: EXAMPLE_CODE_KEY, ObjectVersion: VersionId } },
          },
          EnvironmentProperties: {
            PropertyGroups: [
              {
                PropertyGroupId: 'test',
                PropertyMap: {
                  brokers: brokers.join(','),
                  input: EXAMPLE_INPUT_TOPIC,
                  output: EXAMPLE_OUTPUT_TOPIC,
                  markerTopic: EXAMPLE_MARKER_TOPIC,
                  transactionalIdPrefix: EXAMPLE_APPLICATION_NAME,
                  s3Path: `s3://${EXAMPLE_BUCKET}/${EXAMPLE_OUTPUT_PREFIX.replace(/\/$/, '')}`,
                  windowMs: String(EXAMPLE_WINDOW_MS),
                  outOfOrdernessMs: String(EXAMPLE_OUT_OF_ORDERNESS_MS),
                },
              },
            ],
          },
          FlinkApplicationConfiguration: {
            CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: true, CheckpointInterval: EXAMPLE_CHECKPOINT_INTERVAL_MS, MinPauseBetweenCheckpoints: 500 },
            ParallelismConfiguration: { ConfigurationType: 'CUSTOM', Parallelism: EXAMPLE_PARALLELISM, ParallelismPerKPU: 1, AutoScalingEnabled: false },
          },
          ApplicationSnapshotConfiguration: { SnapshotsEnabled: true },
        },
      }),
    );
    log(`created application ${EXAMPLE_APPLICATION_NAME}`);
  }
  const status = current.detail?.ApplicationStatus;
  if (status === undefined || status === 'READY') {
    await api.send(new kda.StartApplicationCommand({ ApplicationName: EXAMPLE_APPLICATION_NAME }));
    log(`started application ${EXAMPLE_APPLICATION_NAME}`);
  }
  const running = await waitFor(`application ${EXAMPLE_APPLICATION_NAME} to be RUNNING`, 180_000, async () => {
    const detail = (await describe()).ApplicationDetail!;
    if (detail.ApplicationStatus === 'READY' && status !== undefined && status !== 'READY') throw new Error(`application ${EXAMPLE_APPLICATION_NAME} stopped`);
    return detail.ApplicationStatus === 'RUNNING' ? detail : undefined;
  }, 500);
  log(`application ${EXAMPLE_APPLICATION_NAME} is ${running.ApplicationStatus} (version ${running.ApplicationVersionId})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`setup failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
