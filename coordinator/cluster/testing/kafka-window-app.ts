// A test application for the end-to-end exactly-once test: Kafka (read_committed, from the
// earliest offsets) → keyBy(key) → tumbling event-time windows → one result per (key, window),
// written to two exactly-once sinks: a Kafka topic (transactions, keyed by key) and JSON-lines
// files on S3 (multipart uploads completed on checkpoint commit). Input records are
// {key, seq, t} (t the event time), or {end: true, t} sentinels that only push the watermark past
// the last window so every window fires; they are dropped after the source.
//
// Properties (group `test`): brokers (comma separated), input, output, markerTopic,
// transactionalIdPrefix, s3Path (s3://bucket/prefix), windowMs, outOfOrdernessMs, and
// kafkaDeliveryGuarantee (default exactly-once; at-least-once, sending every record at once,
// only to show that the checker sees duplicates).

import type { Application, ProcessWindowFunction, TimeWindow } from 'sluice';
import { TumblingEventTimeWindows, WatermarkStrategy } from 'sluice';
import { KafkaSink, KafkaSource, S3FileSink, type KafkaDeliveryGuarantee } from 'sluice/connectors';

export interface WindowInput {
  readonly key?: string;
  readonly seq?: number;
  readonly t: number;
  readonly end?: true;
}

/** What the job emits for each key and window. */
export interface WindowResult {
  readonly key: string;
  readonly windowStart: number;
  readonly count: number;
  readonly seqSum: number;
  readonly maxSeq: number;
}

interface Accumulator {
  count: number;
  seqSum: number;
  maxSeq: number;
}

const withKeyAndWindow: ProcessWindowFunction<Accumulator, WindowResult, string, TimeWindow> = {
  process(key, context, [acc], out) {
    out.collect({ key, windowStart: context.window.start, count: acc!.count, seqSum: acc!.seqSum, maxSeq: acc!.maxSeq });
  },
};

function required(properties: Readonly<Record<string, string>> | undefined, name: string): string {
  const value = properties?.[name];
  if (!value) throw new Error(`kafka-window-app: property test.${name} is required`);
  return value;
}

const app: Application = (env, properties) => {
  const p = properties.test;
  const brokers = required(p, 'brokers').split(',');
  const windowMs = Number(p?.windowMs ?? '2000');
  const outOfOrdernessMs = Number(p?.outOfOrdernessMs ?? '1000');
  const kafkaDeliveryGuarantee = (p?.kafkaDeliveryGuarantee ?? 'exactly-once') as KafkaDeliveryGuarantee;

  const results = env
    .fromSource(
      new KafkaSource<WindowInput>({ name: 'events', brokers, topics: [required(p, 'input')], startingOffsets: 'earliest', readCommitted: true, onPoisonRecord: 'fail' }),
      WatermarkStrategy.forBoundedOutOfOrderness<WindowInput>(outOfOrdernessMs).withTimestampAssigner((e) => e.t),
      'events',
    )
    .uid('events')
    .filter((e) => e.end !== true)
    .keyBy((e) => e.key!)
    .window(TumblingEventTimeWindows.of(windowMs))
    .aggregate<Accumulator, Accumulator, WindowResult>(
      {
        createAccumulator: () => ({ count: 0, seqSum: 0, maxSeq: -1 }),
        add: (e, acc) => ({ count: acc.count + 1, seqSum: acc.seqSum + e.seq!, maxSeq: Math.max(acc.maxSeq, e.seq!) }),
        getResult: (acc) => acc,
      },
      withKeyAndWindow,
    )
    .uid('windows');

  results
    .sinkTo(
      new KafkaSink<WindowResult>({
        name: 'window-results',
        brokers,
        topic: required(p, 'output'),
        key: (r) => r.key,
        deliveryGuarantee: kafkaDeliveryGuarantee,
        // At-least-once sends each record at once (batches would wait for the barrier and hide
        // most of what a restore replays): the checker must then see duplicates.
        ...(kafkaDeliveryGuarantee === 'exactly-once' ? { transactionalIdPrefix: required(p, 'transactionalIdPrefix'), markerTopic: required(p, 'markerTopic') } : { batchRecords: 1 }),
      }),
    )
    .uid('kafka-results');
  // One event-time bucket for the whole input (it spans minutes of one day): a subtask's files then
  // follow one another in the order it wrote them, which the checker's order check relies on.
  results.sinkTo(new S3FileSink<WindowResult>({ name: 's3-results', path: required(p, 's3Path'), bucketBy: { eventTime: 'dt=YYYY-MM-DD' } })).uid('s3-results');
};

export default app;
