// A whole job on the real broker, embedded: Kafka (3 partitions, source parallelism 3) → keyed
// running count → Kafka (exactly-once, sink parallelism 2). The job fails mid-stream after some
// checkpoints have committed, is restored from the latest checkpoint, and runs until its output
// is complete. Read with read_committed, every key's counts must be exactly 1..N once each:
// none lost, none doubled.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { StreamExecutionEnvironment, ValueStateDescriptor, WatermarkStrategy, type KeyedProcessFunction, type ValueState } from '../../../shared/api/index.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { createTopics, requireKafka, testKafkaClient, uniqueTopicName } from '../../../shared/testing/kafka-service.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { KafkaSink } from './kafka-sink.ts';
import { KafkaSource } from './kafka-source.ts';
import { readTopic } from './testing-topic-reader.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

interface Event {
  key: string;
  n: number;
}

const KEYS = 10;
const PER_KEY = 300;
const TOTAL = KEYS * PER_KEY;

let brokers: string[];
let admin: Admin;

before(async () => {
  brokers = await requireKafka();
  admin = testKafkaClient(brokers).admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
});

/** Fails the job once, at the record numbered `failAtRecord`, when armed. */
const failure = { armed: false, seen: 0, failAtRecord: 0 };

function runningCount(): KeyedProcessFunction<string, Event, string> {
  let count: ValueState<number>;
  return {
    open(ctx) {
      count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
    },
    processElement(e, _ctx, out) {
      if (failure.armed && ++failure.seen >= failure.failAtRecord) {
        failure.armed = false;
        throw new Error('injected failure');
      }
      count.update(count.value()! + 1);
      out.collect(JSON.stringify({ key: e.key, count: count.value() }));
    },
  };
}

function buildJob(input: string, output: string, prefix: string, markerTopic: string): StreamExecutionEnvironment {
  const env = new StreamExecutionEnvironment().setParallelism(2);
  env
    .fromSource(new KafkaSource<Event>({ brokers, topics: [input], name: 'events', fetchMaxBytesPerPartition: 4096 }), WatermarkStrategy.noWatermarks(), 'events')
    .uid('events')
    .setParallelism(3)
    .keyBy((e) => e.key)
    .process(runningCount())
    .uid('count')
    .setParallelism(1)
    .sinkTo(new KafkaSink<string>({ brokers, topic: output, serializer: 'string', key: (s) => JSON.parse(s).key, deliveryGuarantee: 'exactly-once', transactionalIdPrefix: prefix, markerTopic, name: 'counts' }))
    .uid('counts')
    .setParallelism(2);
  return env;
}

function options(storage: InMemoryCheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName: 'kafka-exactly-once',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    deadLetters: new InMemoryDeadLetterOutput(),
    checkpointIntervalMs: 150,
    sourceBatchSize: 50,
    ...extra,
  };
}

it('Kafka → keyed count → Kafka (exactly-once): a failure and a restore lose and double nothing, per key', { timeout: 240_000 }, async () => {
  const input = uniqueTopicName('job-in');
  const output = uniqueTopicName('job-out');
  const markerTopic = uniqueTopicName('job-markers');
  const prefix = uniqueTopicName('job-tx');
  await createTopics(admin, [{ topic: input, partitions: 3 }, { topic: output, partitions: 2 }]);
  const producer = testKafkaClient(brokers).producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const events: Event[] = Array.from({ length: TOTAL }, (_, i) => ({ key: `k${i % KEYS}`, n: i }));
  // A key's records in one partition, so each key's order (and its counts' order) is fixed.
  const send = (part: Event[]) => producer.send({ topic: input, acks: -1, messages: part.map((e) => ({ key: e.key, value: JSON.stringify(e) })) });
  const half = TOTAL / 2;
  await send(events.slice(0, half));

  // 1. The first half is read and committed by checkpoints; then the failure is armed and the
  //    second half arrives: the job fails 500 records into it, with output not yet committed.
  const storage = new InMemoryCheckpointStorage();
  const first = await EmbeddedExecutor.create(buildJob(input, output, prefix, markerTopic), options(storage));
  const failed = assert.rejects(first.run(), /injected failure/);
  await waitFor('the first half read and checkpointed', 60_000, async () => first.getStatus().recordsRead >= half && first.getStatus().checkpoints.completed >= 2);
  failure.seen = 0;
  failure.failAtRecord = 500;
  failure.armed = true;
  await send(events.slice(half));
  await producer.disconnect();
  await failed;
  const completed = await storage.listCompleted();
  assert.ok(completed.length > 0, 'checkpoints completed before the failure');
  const committedBefore = (await readTopic(brokers, output)).length;
  assert.ok(committedBefore > 0 && committedBefore < TOTAL, `some but not all output committed before the failure (${committedBefore})`);

  const latest = completed[completed.length - 1]!;
  const second = await EmbeddedExecutor.create(buildJob(input, output, prefix, markerTopic), options(storage, { restore: { storage, checkpointId: latest } }));
  const running = second.run();
  // The job is unbounded: let it run until every record's count is committed, then stop it.
  await waitFor(`${TOTAL} committed output records`, 180_000, async () => (await readTopic(brokers, output)).length >= TOTAL);
  second.stop();
  assert.equal((await running).state, 'stopped');

  const counts = new Map<string, number[]>();
  for (const r of await readTopic(brokers, output)) {
    const { key, count } = JSON.parse(r.value!) as { key: string; count: number };
    (counts.get(key) ?? counts.set(key, []).get(key)!).push(count);
  }
  let lost = 0;
  let doubled = 0;
  for (let k = 0; k < KEYS; k++) {
    const seen = counts.get(`k${k}`) ?? [];
    const distinct = new Set(seen);
    doubled += seen.length - distinct.size;
    for (let c = 1; c <= PER_KEY; c++) if (!distinct.has(c)) lost++;
  }
  assert.deepEqual({ lost, doubled, keys: counts.size }, { lost: 0, doubled: 0, keys: KEYS });
});
