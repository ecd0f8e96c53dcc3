// `npm run bench -- kafka [options]` (once registered): Kafka → Sluice (embedded, a map) → Kafka,
// records/s, with one input partition per source subtask, against a plain kafkajs
// consume-produce loop (a consumer's eachBatch, JSON.parse, the same map, producer.send) over
// the same input in the same run, so the ratio shows what the engine costs on top of the client.
// Both read the whole input topic from the beginning and write every record to a fresh output
// topic (acks=all); a run ends when every output record is acknowledged.
// Needs the broker: `scripts/services.sh start kafka` (SLUICE_KAFKA_BROKERS says where).
//
//   --records N      records in the input topic (default 200000), ~110 bytes of JSON each
//   --partitions N   input partitions = source parallelism (default 2)
//   --rounds N       alternate plain / Sluice runs this many times (default 2); the best of each is kept
//   --exactly-once   the Sluice sink writes exactly-once (transactions per checkpoint) instead
//
// Prints the figures and writes them to benchmarks/results/kafka-<time>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { SystemClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { createTopics, requireKafka, testKafkaClient, uniqueTopicName } from '../../shared/testing/kafka-service.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { KafkaSink } from '../../worker/connectors/kafka/kafka-sink.ts';
import { KafkaSource } from '../../worker/connectors/kafka/kafka-source.ts';
import { InMemoryDeadLetterOutput } from '../../worker/runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../worker/runtime/embedded-executor.ts';
import { startServices } from '../services.ts';

const root = new URL('../..', import.meta.url).pathname;
const RUN_TIMEOUT_MS = 300_000;
const PRODUCE_BATCH = 5000;

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  dateTime: number;
}

interface PricedBid extends Bid {
  euros: number;
}

/** The map both pipelines apply. */
function toEuros(bid: Bid): PricedBid {
  return { ...bid, euros: Math.round(bid.price * 0.908) };
}

function makeBid(i: number): Bid {
  return { auction: 1000 + ((i * 7919) % 10_000), bidder: 2000 + ((i * 104_729) % 100_000), price: 100 + ((i * 31) % 1_000_000), channel: ['Google', 'Facebook', 'Baidu', 'Apple'][i & 3]!, dateTime: 1_700_000_000_000 + i };
}

async function fillInput(client: KafkaClient, topic: string, records: number, partitions: number): Promise<void> {
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let start = 0; start < records; start += PRODUCE_BATCH) {
    const messages = [];
    for (let i = start; i < Math.min(records, start + PRODUCE_BATCH); i++) messages.push({ partition: i % partitions, value: JSON.stringify(makeBid(i)) });
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** A kafkajs consumer (its own group) → JSON.parse → map → producer.send per batch, awaited. */
async function plainLoop(client: KafkaClient, input: string, output: string, expected: number): Promise<number> {
  const consumer = client.consumer({ groupId: uniqueTopicName('bench-plain'), maxBytesPerPartition: 1024 * 1024 });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  let written = 0;
  let failure: unknown;
  const startedMs = performance.now();
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        try {
          const messages = batch.messages.map((m) => ({ value: JSON.stringify(toEuros(JSON.parse(m.value!.toString('utf8')) as Bid)) }));
          await producer.send({ topic: output, acks: -1, messages });
          written += messages.length;
          if (written >= expected) resolve();
        } catch (error) {
          failure = error;
          resolve();
        }
      },
    });
  });
  const timeout = setTimeout(() => (failure = new Error('plain loop: timed out')), RUN_TIMEOUT_MS);
  await done;
  const seconds = (performance.now() - startedMs) / 1000;
  clearTimeout(timeout);
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  if (failure) throw failure;
  return written / seconds;
}

/** The same through a Sluice job: KafkaSource (parallelism = partitions) → map → KafkaSink. */
async function sluiceJob(brokers: string[], input: string, output: string, partitions: number, expected: number, exactlyOnce: boolean): Promise<number> {
  const env = new StreamExecutionEnvironment().setParallelism(partitions);
  env
    .fromSource(new KafkaSource<Bid>({ brokers, topics: [input], name: 'bids' }), WatermarkStrategy.noWatermarks<Bid>(), 'bids')
    .uid('bids')
    .map(toEuros)
    .uid('euros')
    .sinkTo(
      new KafkaSink<PricedBid>(
        exactlyOnce ? { brokers, topic: output, name: 'priced', deliveryGuarantee: 'exactly-once', transactionalIdPrefix: uniqueTopicName('bench'), markerTopic: uniqueTopicName('bench-markers') } : { brokers, topic: output, name: 'priced' },
      ),
    )
    .uid('priced');
  const executor = await EmbeddedExecutor.create(env, {
    jobName: 'kafka-benchmark',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: new InMemoryCheckpointStorage(),
    deadLetters: new InMemoryDeadLetterOutput(),
    checkpointIntervalMs: 1000,
  });
  const startedMs = performance.now();
  const running = executor.run();
  // Unbounded: stop once every record reached the sink; the stop checkpoint flushes (and commits) them.
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (executor.getStatus().recordsWritten < expected) {
    if (Date.now() > deadline) throw new Error(`Sluice job: ${executor.getStatus().recordsWritten} of ${expected} records after ${RUN_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  executor.stop();
  await running;
  return expected / ((performance.now() - startedMs) / 1000);
}

async function countRecords(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

export async function benchmarkKafka(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { records: { type: 'string', default: '200000' }, partitions: { type: 'string', default: '2' }, rounds: { type: 'string', default: '2' }, 'exactly-once': { type: 'boolean', default: false } },
  });
  const records = Number(values.records);
  const partitions = Number(values.partitions);
  const rounds = Number(values.rounds);
  const exactlyOnce = values['exactly-once'] === true;
  startServices(['kafka']);
  const brokers = await requireKafka();
  const client = testKafkaClient(brokers);
  const admin = client.admin();
  await admin.connect();
  const input = uniqueTopicName('bench-in');
  await createTopics(admin, [{ topic: input, partitions }]);
  process.stderr.write(`kafka bench: writing ${records} records to ${input} (${partitions} partitions)\n`);
  await fillInput(client, input, records, partitions);

  const plain: number[] = [];
  const sluice: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const plainOut = uniqueTopicName('bench-plain-out');
    const sluiceOut = uniqueTopicName('bench-sluice-out');
    await createTopics(admin, [{ topic: plainOut, partitions }, { topic: sluiceOut, partitions }]);
    plain.push(await plainLoop(client, input, plainOut, records));
    sluice.push(await sluiceJob(brokers, input, sluiceOut, partitions, records, exactlyOnce));
    const [plainWritten, sluiceWritten] = [await countRecords(admin, plainOut), await countRecords(admin, sluiceOut)];
    if (plainWritten < records || sluiceWritten < records) throw new Error(`round ${round}: output has ${plainWritten} (plain) and ${sluiceWritten} (Sluice) records, expected ${records} each`);
    process.stderr.write(`kafka bench: round ${round + 1}/${rounds}: plain ${Math.round(plain[round]!)} rec/s, Sluice ${Math.round(sluice[round]!)} rec/s\n`);
  }
  await admin.disconnect();

  const bestPlain = Math.max(...plain);
  const bestSluice = Math.max(...sluice);
  const result = {
    benchmark: 'kafka',
    pipeline: `Kafka → Sluice (embedded: KafkaSource ×${partitions} → map → KafkaSink ${exactlyOnce ? 'exactly-once' : 'at-least-once'}) → Kafka`,
    baseline: 'kafkajs consumer eachBatch → JSON.parse → map → producer.send (acks=all), same input',
    records,
    partitions,
    rounds,
    plainRecordsPerSecond: Math.round(bestPlain),
    sluiceRecordsPerSecond: Math.round(bestSluice),
    sluiceToPlainRatio: Number((bestSluice / bestPlain).toFixed(3)),
    allRounds: { plain: plain.map(Math.round), sluice: sluice.map(Math.round) },
    machine: { cpus: cpus().length, node: process.version },
    at: new Date().toISOString(),
  };
  console.log(`Kafka → Kafka, ${records} records, ${partitions} partitions, best of ${rounds}:`);
  console.log(`  plain kafkajs consume-produce loop  ${result.plainRecordsPerSecond.toLocaleString('en')} records/s`);
  console.log(`  Sluice (${exactlyOnce ? 'exactly-once' : 'at-least-once'} sink)            ${result.sluiceRecordsPerSecond.toLocaleString('en')} records/s`);
  console.log(`  ratio Sluice / plain                ${result.sluiceToPlainRatio}`);
  const dir = join(root, 'benchmarks', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `kafka-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`  written to ${file}`);
}
