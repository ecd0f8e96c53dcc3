// The Kafka source against the real broker (scripts/services.sh start kafka): reading every
// partition, restoring from snapshotted offsets with nothing lost or read twice, the starting
// positions, read_committed, poison records, partition discovery, and the errors for a missing
// topic, an unreachable broker and wrong SASL credentials.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { z } from 'zod';
import type { SourceOutput, SourceReader, SplitState } from '../../../shared/api/connectors.ts';
import { ConfigurationError, ExternalSystemError, RecordDeserializationError } from '../../../shared/errors.ts';
import { KAFKA_TEST_SASL_USER, createTopics, kafkaSaslBrokers, requireKafka, testKafkaClient, uniqueTopicName } from '../../../shared/testing/kafka-service.ts';
import { KafkaSource, type KafkaSourceOptions } from './kafka-source.ts';
import { READ_COMMITTED, kafkaCluster } from './kafka-client.ts';
import { PartitionFetcher } from './partition-fetcher.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../runtime/embedded-executor.ts';
import { CollectSink } from '../collect-sink.ts';

let brokers: string[];
let client: KafkaClient;
let admin: Admin;

before(async () => {
  brokers = await requireKafka();
  client = testKafkaClient(brokers);
  admin = client.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
});

/** Produces `count` JSON records {n} spread over partitions by n % partitions, stamped `timestampMs` (default: when sent). */
async function produce(topic: string, count: number, partitions: number, from = 0, timestampMs?: number): Promise<void> {
  // Idempotent: a retried send (a partition whose leader is not known yet) must not write twice.
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const timestamp = timestampMs === undefined ? {} : { timestamp: String(timestampMs) };
  const messages = Array.from({ length: count }, (_, i) => ({ partition: (from + i) % partitions, value: JSON.stringify({ n: from + i }), ...timestamp }));
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

interface Collected<T> {
  values: T[];
  timestamps: number[];
  splitIndices: number[];
  deadLetters: Array<{ raw: string; reason: string; position: string }>;
}

function recorder<T>(): Collected<T> & SourceOutput<T> {
  const c = {
    values: [] as T[],
    timestamps: [] as number[],
    splitIndices: [] as number[],
    deadLetters: [] as Array<{ raw: string; reason: string; position: string }>,
    collect(value: T, splitIndex: number, timestamp?: number) {
      c.values.push(value);
      c.splitIndices.push(splitIndex);
      c.timestamps.push(timestamp ?? -1);
    },
    deadLetter(raw: string, reason: string, position: string) {
      c.deadLetters.push({ raw, reason, position });
    },
    finishSplit() {},
  };
  return c;
}

/** Polls until `done` or the deadline (then fails with what was read). */
async function pollUntil<T>(reader: SourceReader<T>, output: Collected<T> & SourceOutput<T>, done: () => boolean, timeoutMs = 30_000, maxRecords = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: read ${output.values.length} records, ${output.deadLetters.length} dead letters`);
    const status = await reader.poll(output, maxRecords);
    if (status !== 'more') await new Promise((r) => setTimeout(r, reader.waitHintMs ?? 10));
  }
}

/**
 * Polls until the reader's position in each partition it reads has reached that partition's end
 * offset (read with the admin client now): every record written so far has been handed out, and,
 * with nothing more written, nothing more can arrive.
 */
async function pollToEndOffsets<T>(topic: string, reader: SourceReader<T>, output: Collected<T> & SourceOutput<T>): Promise<void> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  const positions = () => reader.snapshotSplits().map((s) => s.position as { partition: number; offset: string });
  await pollUntil(reader, output, () => positions().every((p) => Number(p.offset) >= ends.get(p.partition)!));
}

async function openReader<T>(
  options: KafkaSourceOptions<T>,
  splits?: readonly SplitState[],
  subtaskIndex = 0,
  parallelism = 1,
  now: () => number = () => Date.now(),
): Promise<{ source: KafkaSource<T>; reader: SourceReader<T>; splits: readonly SplitState[] }> {
  const source = new KafkaSource<T>(options);
  const assigned = splits ?? (await source.discoverSplits());
  const reader = source.createReader({ subtaskIndex, parallelism, now });
  await reader.addSplits(assigned);
  return { source, reader, splits: assigned };
}

describe('KafkaSource reads and restores', () => {
  it('reads every partition; a reader restored from a snapshot reads on with nothing lost or read twice', async () => {
    const topic = uniqueTopicName('src-restore');
    await createTopics(admin, [{ topic, partitions: 3 }]);
    await produce(topic, 300, 3);
    const first = await openReader<{ n: number }>({ brokers, topics: [topic] });
    assert.deepEqual(first.splits.map((s) => s.id), [`${topic}-0`, `${topic}-1`, `${topic}-2`]);
    const out1 = recorder<{ n: number }>();
    await pollUntil(first.reader, out1, () => out1.values.length >= 120, 30_000, 40);
    const snapshot = first.reader.snapshotSplits();
    await first.reader.close();
    const readBefore = out1.values.length; // exactly the records before the snapshot

    const second = await openReader<{ n: number }>({ brokers, topics: [topic] }, snapshot);
    const out2 = recorder<{ n: number }>();
    await pollUntil(second.reader, out2, () => readBefore + out2.values.length >= 300);
    // Read on to the end offsets: whatever the restored reader would deliver twice has arrived.
    await pollToEndOffsets(topic, second.reader, out2);
    await second.reader.close();

    const all = [...out1.values, ...out2.values].map((v) => v.n).sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 300 }, (_, i) => i));
    assert.ok(out1.timestamps.every((t) => Math.abs(t - Date.now()) < 600_000), 'record timestamps are passed as event time');
    // Offsets per partition are contiguous in the snapshot: 300 records, 100 per partition.
    const final = second.reader.snapshotSplits().map((s) => (s.position as { offset: string }).offset);
    assert.deepEqual(final, ['100', '100', '100']);
  });

  it('starts at latest, at a timestamp, at explicit offsets and at the committed offsets of a group', async () => {
    const topic = uniqueTopicName('src-start');
    await createTopics(admin, [{ topic, partitions: 2 }]);
    // The first ten stamped before `middle`, the next ten when sent, after it: none at `middle` itself.
    const middle = Date.now();
    await produce(topic, 10, 2, 0, middle - 1);
    await produce(topic, 10, 2, 10);

    const latest = await openReader<{ n: number }>({ brokers, topics: [topic], startingOffsets: 'latest' });
    await produce(topic, 4, 2, 20);
    const outLatest = recorder<{ n: number }>();
    await pollUntil(latest.reader, outLatest, () => outLatest.values.length >= 4);
    await latest.reader.close();
    assert.deepEqual(outLatest.values.map((v) => v.n).sort((a, b) => a - b), [20, 21, 22, 23]);

    const byTime = await openReader<{ n: number }>({ brokers, topics: [topic], startingOffsets: { timestamp: middle } });
    const outTime = recorder<{ n: number }>();
    await pollUntil(byTime.reader, outTime, () => outTime.values.length >= 14);
    await byTime.reader.close();
    assert.deepEqual(outTime.values.map((v) => v.n).sort((a, b) => a - b), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);

    const explicit = await openReader<{ n: number }>({ brokers, topics: [topic], startingOffsets: { offsets: { [topic]: { 0: 10, 1: 11 } } } });
    const outExplicit = recorder<{ n: number }>();
    await pollUntil(explicit.reader, outExplicit, () => outExplicit.values.length >= 3);
    await explicit.reader.close();
    // Partition 0 holds the even n (offset 10 is n=20), partition 1 the odd ones (offset 11 is n=23).
    assert.deepEqual(outExplicit.values.map((v) => v.n).sort((a, b) => a - b), [20, 22, 23]);

    const groupId = uniqueTopicName('group');
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '11' }, { partition: 1, offset: '9' }] });
    const committed = await openReader<{ n: number }>({ brokers, topics: [topic], startingOffsets: 'committed', groupId });
    const outCommitted = recorder<{ n: number }>();
    await pollUntil(committed.reader, outCommitted, () => outCommitted.values.length >= 4);
    await committed.reader.close();
    assert.deepEqual(outCommitted.values.map((v) => v.n).sort((a, b) => a - b), [19, 21, 22, 23]);
  });

  it('commits the snapshotted offsets to groupId for monitoring', async () => {
    const topic = uniqueTopicName('src-monitor');
    const groupId = uniqueTopicName('monitor');
    await createTopics(admin, [{ topic, partitions: 1 }]);
    await produce(topic, 5, 1);
    const { reader } = await openReader<{ n: number }>({ brokers, topics: [topic], groupId });
    const out = recorder<{ n: number }>();
    await pollUntil(reader, out, () => out.values.length >= 5);
    reader.snapshotSplits();
    let offset = '-1';
    try {
      await waitFor(() => `offset 5 committed to ${groupId} (last seen ${offset})`, 15_000, async () => {
        const [row] = await admin.fetchOffsets({ groupId, topics: [topic] });
        offset = row!.partitions[0]!.offset;
        return offset === '5';
      });
    } finally {
      await reader.close();
    }
  });
});

describe('KafkaSource pending records', () => {
  it('counts the records between what it emitted and each partition\'s high watermark, and none once read to the end', async () => {
    const topic = uniqueTopicName('src-pending');
    await createTopics(admin, [{ topic, partitions: 2 }]);
    await produce(topic, 100, 2);
    const { reader } = await openReader<{ n: number }>({ brokers, topics: [topic] });
    assert.equal(reader.pendingRecords!(), undefined, 'before any partition was fetched it cannot tell');
    const out = recorder<{ n: number }>();
    await pollUntil(reader, out, () => out.values.length >= 30 && reader.pendingRecords!() !== undefined, 30_000, 10);
    assert.equal(reader.pendingRecords!(), 100 - out.values.length);
    await pollToEndOffsets(topic, reader, out);
    assert.equal(out.values.length, 100);
    assert.equal(reader.pendingRecords!(), 0);
    await reader.close();
  });
});

describe('KafkaSource read_committed', () => {
  it('skips aborted transactions and waits for open ones; read_uncommitted sees them', async () => {
    const topic = uniqueTopicName('src-txn');
    await createTopics(admin, [{ topic, partitions: 1 }]);
    const producer = client.producer({ transactionalId: uniqueTopicName('txn'), idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: JSON.stringify({ n: 'aborted' }) }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: JSON.stringify({ n: 'committed' }) }] });
    await committed.commit();
    const open = await producer.transaction();
    await open.send({ topic, messages: [{ value: JSON.stringify({ n: 'open' }) }] });

    const rc = await openReader<{ n: string }>({ brokers, topics: [topic] });
    const outRc = recorder<{ n: string }>();
    await pollUntil(rc.reader, outRc, () => outRc.values.length >= 1);
    const ru = await openReader<{ n: string }>({ brokers, topics: [topic], readCommitted: false });
    const outRu = recorder<{ n: string }>();
    await pollUntil(ru.reader, outRu, () => outRu.values.length >= 3);
    await open.commit();
    await pollUntil(rc.reader, outRc, () => outRc.values.length >= 2);
    await Promise.all([rc.reader.close(), ru.reader.close(), producer.disconnect()]);
    assert.deepEqual(outRc.values.map((v) => v.n), ['committed', 'open']);
    assert.deepEqual(outRu.values.map((v) => v.n), ['aborted', 'committed', 'open']);
  });

  it('skips the transactions of two producers interleaved and aborted in the other order, whatever offset a fetch starts at', async () => {
    // The broker lists a fetch's aborted transactions in the order they were aborted. Here the
    // second producer begins first and aborts last, and a fetch may start where both are open:
    // each record of either aborted transaction must stay hidden.
    const topic = uniqueTopicName('src-txn2');
    await createTopics(admin, [{ topic, partitions: 1 }]);
    const producer = (name: string) => client.producer({ transactionalId: uniqueTopicName(name), idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    const first = producer('txn-a');
    const second = producer('txn-b');
    await Promise.all([first.connect(), second.connect()]);
    const send = (tx: Awaited<ReturnType<typeof first.transaction>>, n: string) => tx.send({ topic, messages: [{ partition: 0, value: JSON.stringify({ n }) }] });
    const b = await second.transaction();
    await send(b, 'b-aborted-1');
    const a = await first.transaction();
    await send(a, 'a-aborted-1');
    await send(b, 'b-aborted-2');
    await send(a, 'a-aborted-2');
    await a.abort();
    await b.abort();
    const committed = await first.transaction();
    await send(committed, 'a-committed');
    await committed.commit();
    await Promise.all([first.disconnect(), second.disconnect()]);

    const cluster = kafkaCluster(client, { isolationLevel: READ_COMMITTED });
    await cluster.connect();
    try {
      await cluster.addMultipleTargetTopics([topic]);
      const fetcher = new PartitionFetcher(cluster, { isolationLevel: READ_COMMITTED, maxWaitMs: 50, maxBytesPerPartition: 1 << 20, maxBytes: 1 << 20 });
      // Offsets 0-3 the aborted records, 4-5 the two abort markers, 6 the committed record, 7 its marker.
      for (let start = 0; start <= 6; start++) {
        const seen: string[] = [];
        let offset = String(start);
        for (let round = 0; round < 20 && Number(offset) < 8; round++) {
          const [part] = await fetcher.fetchOnce([{ topic, partition: 0, offset }]);
          for (const m of part!.records) seen.push((JSON.parse(m.value!.toString('utf8')) as { n: string }).n);
          offset = part!.nextOffset;
        }
        assert.deepEqual(seen, ['a-committed'], `read_committed from offset ${start}`);
      }
    } finally {
      await cluster.disconnect();
    }
  });
});

describe('KafkaSource poison records', () => {
  async function poisonTopic(): Promise<string> {
    const topic = uniqueTopicName('src-poison');
    await createTopics(admin, [{ topic, partitions: 1 }]);
    const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: '{"id":1}' }, { value: '{not json' }, { value: '{"id":"two"}' }, { value: JSON.stringify({ id: 4, pad: 'x'.repeat(2000) }) }, { value: '{"id":5}' }] });
    await producer.disconnect();
    return topic;
  }

  it('dead-letters invalid JSON, schema violations and oversized records with topic, partition and offset', async () => {
    const topic = await poisonTopic();
    const schema = z.object({ id: z.number() }).passthrough();
    const { reader } = await openReader<{ id: number }>({ brokers, topics: [topic], deserializer: { schema }, maxRecordBytes: 1000, name: 'orders' });
    const out = recorder<{ id: number }>();
    await pollUntil(reader, out, () => out.values.length + out.deadLetters.length >= 5);
    await reader.close();
    assert.deepEqual(out.values.map((v) => v.id), [1, 5]);
    assert.deepEqual(out.deadLetters.map((d) => d.position), [`topic ${topic} partition 0 offset 1`, `topic ${topic} partition 0 offset 2`, `topic ${topic} partition 0 offset 3`]);
    assert.match(out.deadLetters[0]!.reason, /Kafka source "orders": record is not valid JSON/);
    assert.match(out.deadLetters[1]!.reason, /does not match the schema: id: Expected number, received string/);
    assert.match(out.deadLetters[2]!.reason, /more than maxRecordBytes 1000/);
    assert.equal(out.deadLetters[0]!.raw, '{not json');
  });

  it("fails with the record's position under the 'fail' policy", async () => {
    const topic = await poisonTopic();
    const { reader } = await openReader<unknown>({ brokers, topics: [topic], onPoisonRecord: 'fail', name: 'orders' });
    const out = recorder<unknown>();
    await assert.rejects(pollUntil(reader, out, () => false), (e: Error) => {
      assert.ok(e instanceof RecordDeserializationError, `${e.name}: ${e.message}`);
      assert.match(e.message, new RegExp(`Kafka source "orders": the record at topic ${topic} partition 0 offset 1 cannot be read`));
      return true;
    });
    await reader.close();
    assert.equal(out.values.length, 1);
  });
});

describe('KafkaSource errors', () => {
  it('names the missing topic and the setting', async () => {
    const missing = uniqueTopicName('no-such-topic');
    const source = new KafkaSource({ brokers, topics: [missing], name: 'orders' });
    await assert.rejects(source.discoverSplits(), (e: Error) => {
      assert.ok(e instanceof ConfigurationError, `${e.name}: ${e.message}`);
      assert.equal(e.field, 'topics');
      assert.match(e.message, new RegExp(`Kafka source "orders": topic "${missing}" does not exist`));
      return true;
    });
  });

  it('names unreachable brokers and the setting (a closed loopback port)', async () => {
    const source = new KafkaSource({ brokers: ['127.0.0.1:1'], topics: ['t'], name: 'orders', connectionTimeoutMs: 1000 });
    await assert.rejects(source.discoverSplits(), (e: Error) => {
      assert.ok(e instanceof ExternalSystemError, `${e.name}: ${e.message}`);
      assert.match(e.message, /Kafka source "orders": brokers 127\.0\.0\.1:1 unreachable .*\(setting brokers\)/);
      return true;
    });
  });

  for (const mechanism of ['plain', 'scram-sha-256'] as const) {
    it(`names wrong SASL ${mechanism} credentials and the setting; right ones read`, async () => {
      const topic = uniqueTopicName('src-sasl');
      await createTopics(admin, [{ topic, partitions: 1 }]);
      await produce(topic, 3, 1);
      const wrong = new KafkaSource({ brokers: kafkaSaslBrokers(), topics: [topic], name: 'orders', sasl: { mechanism, username: KAFKA_TEST_SASL_USER.username, password: 'wrong' } });
      await assert.rejects(wrong.discoverSplits(), (e: Error) => {
        assert.ok(e instanceof ConfigurationError, `${e.name}: ${e.message}`);
        assert.equal(e.field, 'sasl');
        assert.match(e.message, new RegExp(`Kafka source "orders": authentication to .* failed with mechanism ${mechanism} as user "sluice"`));
        return true;
      });
      const right = await openReader<{ n: number }>({ brokers: kafkaSaslBrokers(), topics: [topic], sasl: { mechanism, ...KAFKA_TEST_SASL_USER } });
      const out = recorder<{ n: number }>();
      await pollUntil(right.reader, out, () => out.values.length >= 3);
      await right.reader.close();
    });
  }
});

describe('KafkaSource partition discovery', () => {
  it('the reader holding partition 0 adds new partitions from their start; the others do not', async () => {
    const topic = uniqueTopicName('src-discover');
    await createTopics(admin, [{ topic, partitions: 2 }]);
    const options = { brokers, topics: [topic], partitionDiscoveryIntervalMs: 200 };
    const source = new KafkaSource<{ n: number }>(options);
    const splits = await source.discoverSplits();
    // The readers' clock moves one discovery interval each time it is read: every poll is a discovery round.
    let nowMs = 0;
    const everyPollADiscoveryRound = () => (nowMs += options.partitionDiscoveryIntervalMs);
    const owner = await openReader<{ n: number }>(options, [splits[0]!], 0, 2, everyPollADiscoveryRound);
    const other = await openReader<{ n: number }>(options, [splits[1]!], 1, 2, everyPollADiscoveryRound);
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    await produce(topic, 8, 4);
    const outOwner = recorder<{ n: number }>();
    const outOther = recorder<{ n: number }>();
    await pollUntil(owner.reader, outOwner, () => owner.reader.snapshotSplits().length === 3);
    await pollToEndOffsets(topic, owner.reader, outOwner);
    // Polled after the owner found the new partitions, each poll a discovery round: it adds none.
    await pollToEndOffsets(topic, other.reader, outOther);
    const ownerSplits = owner.reader.snapshotSplits().map((s) => s.id);
    const otherSplits = other.reader.snapshotSplits().map((s) => s.id);
    await Promise.all([owner.reader.close(), other.reader.close()]);
    assert.deepEqual(ownerSplits, [`${topic}-0`, `${topic}-2`, `${topic}-3`]);
    assert.deepEqual(otherSplits, [`${topic}-1`]);
    assert.deepEqual(outOwner.values.map((v) => v.n).sort((a, b) => a - b), [0, 2, 3, 4, 6, 7]);
    assert.deepEqual(outOther.values.map((v) => v.n).sort((a, b) => a - b), [1, 5]);
    assert.deepEqual([...new Set(outOwner.splitIndices)].sort(), [0, 1, 2]);
  });

  it('in a running job, the records of partitions added while it runs reach the sink', async () => {
    const topic = uniqueTopicName('src-discover-job');
    await createTopics(admin, [{ topic, partitions: 1 }]);
    await produce(topic, 5, 1);
    const env = new StreamExecutionEnvironment().setParallelism(1).setAutoWatermarkInterval(0);
    const sink = new CollectSink<number>();
    env
      .fromSource(new KafkaSource<{ n: number }>({ brokers, topics: [topic], partitionDiscoveryIntervalMs: 200 }), WatermarkStrategy.forMonotonousTimestamps(), 'events')
      .uid('events')
      .map((e) => e.n)
      .sinkTo(sink)
      .uid('sink');
    const executor = await EmbeddedExecutor.create(env, {
      jobName: 'discovery',
      properties: {},
      clock: SystemClock.INSTANCE,
      logger: new InMemoryLogger(),
      stateBackend: 'memory',
      checkpointStorage: new InMemoryCheckpointStorage(),
      checkpointIntervalMs: 100, // CollectSink shows what checkpoints committed
      deadLetters: new InMemoryDeadLetterOutput(),
    });
    const running = executor.run();
    try {
      await waitFor('the first partition\'s records', 30_000, () => sink.values.length >= 5);
      await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
      await produce(topic, 9, 3, 5); // n = 5..13 over partitions 2, 0, 1, …
      // Before the source took in splits it discovers, a record of a new partition failed the job.
      await waitFor('the records of the new partitions', 30_000, () => sink.values.length >= 14);
    } finally {
      executor.stop();
      await running;
    }
    assert.deepEqual([...sink.values].sort((a, b) => a - b), Array.from({ length: 14 }, (_, n) => n));
  });
});
