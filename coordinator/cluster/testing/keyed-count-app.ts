// A test application for the cluster: a bounded, rate-limited Nexmark stream whose bids are
// counted per auction in keyed state; every bid emits {auction, n} with n its auction's running
// count, into exactly-once JSON-lines part files. Whatever the interleaving, auction a's output is
// exactly n = 1..(bids of a): a lost record leaves a gap, a doubled one a repeat, and state lost
// in a restore starts n again at 1. Properties: test.output, test.events, test.rate,
// test.statePaddingBytes (a string of that size kept per auction, so key groups hold more state),
// and test.asyncLookupMs: pass every count through async I/O (unorderedWait) whose answer takes
// that long, so records are in flight at every checkpoint. test.countTtlMs and test.paddingTtlMs give
// the count and the padding a time-to-live (with the backends' background cleanup): a count's
// longer than the run changes no count; the padding's, short, has cleanup delete state all along.
// test.busyMicrosPerRecord makes counting each bid cost that much CPU, so a subtask's capacity is
// bounded and known (the autoscaling test).
// postgres-count-app.ts runs the same pipeline into PostgreSQL.

import type { Application, ApplicationProperties, Collector, DataStream, KeyedProcessContext, KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment, ValueState } from 'sluice';
import { AsyncDataStream, StateTtlConfig, ValueStateDescriptor, WatermarkStrategy } from 'sluice';
import { JsonLinesFileSink, NexmarkSource, type NexmarkEvent } from 'sluice/connectors';

interface Bid {
  auction: number;
}

export interface AuctionCount {
  auction: number;
  n: number;
}

class CountPerAuction implements KeyedProcessFunction<number, Bid, AuctionCount> {
  private count!: ValueState<number>;
  private padding!: ValueState<string>;
  constructor(
    private readonly paddingBytes: number,
    private readonly ttlMs: { readonly count?: number; readonly padding?: number },
    private readonly busyMicrosPerRecord: number,
  ) {}
  open(context: RuntimeContext): void {
    const count = new ValueStateDescriptor<number>('count');
    const padding = new ValueStateDescriptor<string>('padding');
    if (this.ttlMs.count !== undefined) count.enableTimeToLive(StateTtlConfig.newBuilder(this.ttlMs.count).build());
    if (this.ttlMs.padding !== undefined) padding.enableTimeToLive(StateTtlConfig.newBuilder(this.ttlMs.padding).build());
    this.count = context.getState(count);
    this.padding = context.getState(padding);
  }
  processElement(bid: Bid, _ctx: KeyedProcessContext<number>, out: Collector<AuctionCount>): void {
    if (this.busyMicrosPerRecord > 0) {
      const until = performance.now() + this.busyMicrosPerRecord / 1000;
      while (performance.now() < until);
    }
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    if (n === 1 && this.paddingBytes > 0) this.padding.update(`${bid.auction}:`.padEnd(this.paddingBytes, '.'));
    out.collect({ auction: bid.auction, n });
  }
}

/** The pipeline up to its sink: {auction, n} for every bid of the first test.events Nexmark events. */
export function countBidsPerAuction(env: StreamExecutionEnvironment, properties: ApplicationProperties): DataStream<AuctionCount> {
  const events = Number(properties.test?.events ?? '20000');
  const rate = Number(properties.test?.rate ?? '2000');
  const paddingBytes = Number(properties.test?.statePaddingBytes ?? '0');
  const busyMicrosPerRecord = Number(properties.test?.busyMicrosPerRecord ?? '0');
  const ttlMs = {
    ...(properties.test?.countTtlMs === undefined ? {} : { count: Number(properties.test.countTtlMs) }),
    ...(properties.test?.paddingTtlMs === undefined ? {} : { padding: Number(properties.test.paddingTtlMs) }),
  };
  return env
    .fromSource(new NexmarkSource({ maxEvents: events, ratePerSecond: rate, splitCount: 4 }), WatermarkStrategy.forMonotonousTimestamps<NexmarkEvent>(), 'nexmark')
    .uid('nexmark')
    .filter((e) => e.kind === 'bid')
    .map((e) => ({ auction: (e as Extract<NexmarkEvent, { kind: 'bid' }>).auction }))
    .keyBy((b) => b.auction)
    .process(() => new CountPerAuction(paddingBytes, ttlMs, busyMicrosPerRecord))
    .uid('count-per-auction');
}

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  if (!output) throw new Error('property test.output is required');
  let counts = countBidsPerAuction(env, properties);
  const lookupMs = properties.test?.asyncLookupMs;
  if (lookupMs !== undefined) {
    const lookup = (count: AuctionCount) => new Promise<AuctionCount[]>((resolve) => setTimeout(() => resolve([count]), Number(lookupMs)));
    counts = AsyncDataStream.unorderedWait(counts, lookup, 30_000, 50).uid('lookup');
  }
  counts.sinkTo(new JsonLinesFileSink({ directory: output })).uid('counts');
};

export default app;
