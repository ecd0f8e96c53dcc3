// keyed-count-app's output, {auction, n} for every bid, computed by a window with a trigger and an
// evictor: one global window per auction fires on every bid (CountTrigger.of(1), whose count is
// trigger state) and has an evictor that keeps every bid, so the window keeps its bids as a list
// and counts them at each firing (the evicting window path). A window whose list, trigger state
// or timers a restore lost would count from 1 again: keyed-count-expectation sees it as doubled.
// Properties: test.output, test.events, test.rate.

import type { AggregateFunction, Application, GlobalWindow, ProcessWindowFunction } from 'sluice';
import { CountEvictor, CountTrigger, GlobalWindows, WatermarkStrategy } from 'sluice';
import { JsonLinesFileSink, NexmarkSource, type NexmarkEvent } from 'sluice/connectors';
import type { AuctionCount } from './keyed-count-app.ts';

interface Bid {
  auction: number;
}

const countAll: AggregateFunction<Bid, number, number> = { createAccumulator: () => 0, add: (_bid, n) => n + 1, getResult: (n) => n };

const withAuction: ProcessWindowFunction<number, AuctionCount, number, GlobalWindow> = {
  process(auction, _ctx, [n], out) {
    out.collect({ auction, n: n! });
  },
};

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  if (!output) throw new Error('property test.output is required');
  const events = Number(properties.test?.events ?? '20000');
  const rate = Number(properties.test?.rate ?? '2000');
  env
    .fromSource(new NexmarkSource({ maxEvents: events, ratePerSecond: rate, splitCount: 4 }), WatermarkStrategy.forMonotonousTimestamps<NexmarkEvent>(), 'nexmark')
    .uid('nexmark')
    .filter((e) => e.kind === 'bid')
    .map((e) => ({ auction: (e as Extract<NexmarkEvent, { kind: 'bid' }>).auction }))
    .keyBy((b) => b.auction)
    .window<GlobalWindow>(GlobalWindows.create())
    .trigger(CountTrigger.of<GlobalWindow>(1))
    .evictor(CountEvictor.of<GlobalWindow>(Number.MAX_SAFE_INTEGER))
    .aggregate(countAll, withAuction)
    .uid('window-count-per-auction')
    .sinkTo(new JsonLinesFileSink({ directory: output }))
    .uid('counts');
};

export default app;
