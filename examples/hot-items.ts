// Hot items (Nexmark q5, simplified): which auctions receive the most bids? Counts bids per
// auction in 10-second windows sliding every 2 seconds of event time, and keeps the auctions
// with at least `hotItems.minBids` bids. Runs on a bounded, seeded Nexmark stream, so every run
// gives the same answer.
//
//   npx sluice run examples/hot-items.ts --parallelism 2 --property hotItems.minBids=40

import { SlidingEventTimeWindows, WatermarkStrategy, type Application, type ProcessWindowFunction, type TimeWindow } from 'sluice';
import { JsonLinesFileSink, NexmarkSource, type Bid, type NexmarkEvent } from 'sluice/connectors';

interface HotItem {
  auction: number;
  bids: number;
  windowStart: string;
  windowEnd: string;
}

const toHotItem: ProcessWindowFunction<number, HotItem, number, TimeWindow> = {
  process(auction, context, counts, out) {
    out.collect({
      auction,
      bids: counts[0]!,
      windowStart: new Date(context.window.start).toISOString(),
      windowEnd: new Date(context.window.end).toISOString(),
    });
  },
};

const hotItems: Application = (env, properties) => {
  const minBids = Number(properties.hotItems?.minBids ?? '40');
  const events = Number(properties.hotItems?.events ?? '2000000');
  const outputDirectory = properties.hotItems?.output ?? '.sluice/output/hot-items';
  if (!Number.isFinite(minBids) || minBids < 1) throw new Error(`property hotItems.minBids must be a positive number, got "${properties.hotItems?.minBids}"`);

  env
    .fromSource(
      new NexmarkSource({ maxEvents: events, firstEventRatePerSecond: 10_000, seed: 42 }),
      WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(1_000),
      'nexmark',
    )
    .uid('nexmark')
    .filter((event): event is Bid => event.kind === 'bid')
    .keyBy((bid) => (bid as Bid).auction)
    .window(SlidingEventTimeWindows.of(10_000, 2_000))
    .aggregate({ createAccumulator: () => 0, add: (_bid, count: number) => count + 1, getResult: (count) => count, merge: (a, b) => a + b }, toHotItem)
    .uid('bids-per-auction')
    .filter((item) => item.bids >= minBids)
    .sinkTo(new JsonLinesFileSink<HotItem>({ directory: outputDirectory }))
    .uid('hot-items-sink');
};

export default hotItems;
