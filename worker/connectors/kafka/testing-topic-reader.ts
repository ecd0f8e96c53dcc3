// For tests and benchmarks: everything a read_committed (or read_uncommitted) consumer sees in a
// topic, read with the Kafka source's reader from the start of each partition up to its high
// watermark — no "nothing came for a while" guess: the reader's position passes the high
// watermark only once every record and transaction marker before it has been read. (A
// transaction's markers are written after its commit returns, so a read_committed reader waits
// here until the last committed transaction is visible; an open one keeps it waiting.)

import type { SourceOutput } from '../../../shared/api/connectors.ts';
import { testKafkaClient } from '../../../shared/testing/kafka-service.ts';
import { READ_UNCOMMITTED, kafkaCluster } from './kafka-client.ts';
import type { KafkaRecord } from './kafka-deserializers.ts';
import { KafkaSource } from './kafka-source.ts';

export interface TopicRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

export async function readTopic(brokers: string[], topic: string, options: { readUncommitted?: boolean; timeoutMs?: number } = {}): Promise<TopicRecord[]> {
  const cluster = kafkaCluster(testKafkaClient(brokers), { isolationLevel: READ_UNCOMMITTED });
  let ends: Array<{ partition: number; offset: string }>;
  try {
    await cluster.connect();
    await cluster.addMultipleTargetTopics([topic]);
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    ends = (await cluster.fetchTopicsOffset([{ topic, partitions, fromBeginning: false }]))[0]!.partitions;
  } finally {
    await cluster.disconnect();
  }
  const source = new KafkaSource<TopicRecord>({
    brokers,
    topics: [topic],
    readCommitted: !(options.readUncommitted ?? false),
    fetchMaxWaitMs: 50,
    deserializer: (r: KafkaRecord) => ({ partition: r.partition, offset: r.offset, key: r.key?.toString('utf8') ?? null, value: r.value?.toString('utf8') ?? null }),
  });
  const reader = source.createReader({ subtaskIndex: 0, parallelism: 1, now: () => Date.now() });
  await reader.addSplits(await source.discoverSplits());
  const records: TopicRecord[] = [];
  const output: SourceOutput<TopicRecord> = { collect: (r) => records.push(r), deadLetter: () => {}, finishSplit: () => {} };
  const wanted = new Map(ends.map((e) => [e.partition, Number(e.offset)]));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      const positions = reader.snapshotSplits().map((s) => s.position as { partition: number; offset: string });
      if (positions.every((p) => Number(p.offset) >= (wanted.get(p.partition) ?? 0))) break;
      if (Date.now() > deadline) throw new Error(`readTopic(${topic}): positions ${JSON.stringify(positions)} did not reach the end offsets ${JSON.stringify([...wanted])} in time`);
      if ((await reader.poll(output, 10_000)) !== 'more') await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await reader.close();
  }
  return records;
}
