// The application the autoscaling benchmark runs: {key, n} records from a Kafka topic, each
// costing test.busyMicrosPerRecord of CPU in a keyed count (so a subtask's capacity is known and
// bounded), counted per key and discarded. Properties: test.brokers, test.topic,
// test.busyMicrosPerRecord.

import type { Application, Collector, KeyedProcessContext, KeyedProcessFunction, RuntimeContext, ValueState } from 'sluice';
import { ValueStateDescriptor, WatermarkStrategy } from 'sluice';
import { DiscardingSink, KafkaSource } from 'sluice/connectors';

interface Reading {
  readonly key: number;
}

class CostlyCount implements KeyedProcessFunction<number, Reading, number> {
  private count!: ValueState<number>;
  constructor(private readonly busyMicros: number) {}
  open(context: RuntimeContext): void {
    this.count = context.getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(_reading: Reading, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const until = performance.now() + this.busyMicros / 1000;
    while (performance.now() < until);
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(n);
  }
}

const app: Application = (env, properties) => {
  const p = properties.test ?? {};
  if (!p.brokers || !p.topic) throw new Error('properties test.brokers and test.topic are required');
  const busyMicros = Number(p.busyMicrosPerRecord ?? '800');
  env
    .fromSource(new KafkaSource<Reading>({ name: 'readings', brokers: p.brokers.split(','), topics: [p.topic], startingOffsets: 'earliest' }), WatermarkStrategy.noWatermarks<Reading>(), 'readings')
    .uid('readings')
    .keyBy((r) => r.key)
    .process(() => new CostlyCount(busyMicros))
    .uid('costly-count')
    .sinkTo(new DiscardingSink<number>())
    .uid('discard');
};

export default app;
