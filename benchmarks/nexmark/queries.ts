// Nexmark queries as Sluice pipelines, for the benchmark harness (and later the comparison with
// Apache Flink). Each takes the bid/auction/person stream and ends in the given sink.

import { SlidingEventTimeWindows, TumblingEventTimeWindows, type DataStream, type ProcessWindowFunction, type TimeWindow } from '../../shared/api/index.ts';
import type { Sink } from '../../shared/api/connectors.ts';
import type { Bid, NexmarkEvent } from '../../worker/connectors/nexmark/model.ts';

export type QueryName = 'q0' | 'q1' | 'q2' | 'q5';
export const QUERIES: readonly QueryName[] = ['q0', 'q1', 'q2', 'q5'];

const isBid = (event: NexmarkEvent): event is Bid => event.kind === 'bid';

export interface HotItem {
  readonly windowEnd: number;
  readonly auctions: number[];
  readonly bids: number;
}

interface AuctionCount {
  readonly auction: number;
  readonly bids: number;
  readonly windowEnd: number;
}

const countInWindow: ProcessWindowFunction<number, AuctionCount, number, TimeWindow> = {
  process(auction, context, counts, out) {
    out.collect({ auction, bids: counts[0]!, windowEnd: context.window.end });
  },
};

/** Builds query `name` on `events`, writing its results to `sink`. */
export function buildQuery(name: QueryName, events: DataStream<NexmarkEvent>, sink: Sink<unknown>): void {
  const bids = events.filter(isBid).name('bids') as DataStream<Bid>;
  switch (name) {
    case 'q0': // pass-through
      bids.sinkTo(sink);
      return;
    case 'q1': // currency conversion: dollars to euros
      bids.map((b) => ({ auction: b.auction, bidder: b.bidder, price: (b.price * 908) / 1000, dateTime: b.dateTime })).name('q1: to euros').sinkTo(sink);
      return;
    case 'q2': // selection
      bids.filter((b) => b.auction % 123 === 0).name('q2: select').map((b) => ({ auction: b.auction, price: b.price })).sinkTo(sink);
      return;
    case 'q5': // hot items: the auctions with the most bids in each 10 s window sliding every 2 s
      bids
        .keyBy((b) => b.auction)
        .window(SlidingEventTimeWindows.of(10_000, 2_000))
        .aggregate({ createAccumulator: () => 0, add: (_b, n: number) => n + 1, getResult: (n) => n, merge: (a, b) => a + b }, countInWindow)
        .name('q5: bids per auction')
        .map(toHot)
        .keyBy((c) => c.windowEnd)
        .window(TumblingEventTimeWindows.of(2_000))
        .reduce((a, b) => {
          if (a.bids !== b.bids) return a.bids > b.bids ? a : b;
          return { windowEnd: a.windowEnd, bids: a.bids, auctions: [...a.auctions, ...b.auctions].sort((x, y) => x - y) };
        })
        .name('q5: hottest per window')
        .sinkTo(sink);
      return;
  }
}

function toHot(r: AuctionCount): HotItem {
  return { windowEnd: r.windowEnd, auctions: [r.auction], bids: r.bids };
}
