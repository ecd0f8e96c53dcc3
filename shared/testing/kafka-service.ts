// Where the Kafka broker of the `*.kafka.test.ts` tests is (scripts/services.d/kafka.sh), a check
// that it answers, and small helpers the tests share: unique topic names and topic creation. A
// missing broker fails the test with the command that starts it: never a skip.

import { waitFor } from './wait-for.ts';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

const DEFAULT_BROKERS = '127.0.0.1:19092';
const DEFAULT_SASL_BROKERS = '127.0.0.1:19094';

/** The SASL user scripts/services.d/kafka.sh creates (PLAIN and SCRAM-SHA-256). */
export const KAFKA_TEST_SASL_USER = { username: 'sluice', password: 'sluice-secret' } as const;

function brokerList(value: string | undefined, fallback: string): string[] {
  const brokers = (value ?? '').split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  return brokers.length > 0 ? brokers : [fallback];
}

/** SLUICE_KAFKA_BROKERS (comma separated `host:port`), default 127.0.0.1:19092. */
export function kafkaBrokers(): string[] {
  return brokerList(process.env.SLUICE_KAFKA_BROKERS, DEFAULT_BROKERS);
}

/** SLUICE_KAFKA_SASL_BROKERS: the SASL_PLAINTEXT listener, default 127.0.0.1:19094. */
export function kafkaSaslBrokers(): string[] {
  return brokerList(process.env.SLUICE_KAFKA_SASL_BROKERS, DEFAULT_SASL_BROKERS);
}

/** A kafkajs client for test set-up and checks, quiet unless something is wrong. */
export function testKafkaClient(brokers: string[] = kafkaBrokers()): KafkaClient {
  return new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 30_000 });
}

/** The broker list, once the broker answers a metadata request; an Error saying how to start it otherwise. */
export async function requireKafka(): Promise<string[]> {
  const brokers = kafkaBrokers();
  const admin = new Kafka({ clientId: 'sluice-test-health', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length > 0) return brokers;
    throw new Error('the cluster reported no brokers');
  } catch (error) {
    throw new Error(
      `Kafka is missing: no broker answers at ${brokers.join(', ')} (SLUICE_KAFKA_BROKERS; ${error instanceof Error ? error.message : String(error)}). ` +
        'Start it with `scripts/services.sh start kafka` (or run `npm test`, which starts it).',
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

let topicCounter = 0;

/** A topic name no other test run uses: `<prefix>-<pid>-<time>-<n>`. */
export function uniqueTopicName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${topicCounter++}`;
}

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own wait
 * (`waitForLeaders`) gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker still answers for a
 * moment after creating the topic on a busy machine; this asks the metadata again until it holds.
 */
export async function createTopics(admin: Admin, topics: ReadonlyArray<{ topic: string; partitions: number; compacted?: boolean }>): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false,
    topics: topics.map((t) => ({
      topic: t.topic,
      numPartitions: t.partitions,
      replicationFactor: 1,
      ...(t.compacted ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
    })),
  });
  const names = topics.map((t) => t.topic);
  await waitFor(`leaders for every partition of ${names.join(', ')}`, 30_000, async () => {
    const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
    return topics.every((t) => {
      const partitions = found.find((f) => f.name === t.topic)?.partitions ?? [];
      return partitions.length === t.partitions && partitions.every((p) => p.leader >= 0);
    });
  });
  // The metadata may name a leader a moment before that broker answers as one.
  await waitFor(`offsets of every partition of ${names.join(', ')}`, 30_000, async () => {
    for (const name of names) await admin.fetchTopicOffsets(name);
    return true;
  });
}
