// A CEP application for the cluster tests: per auction, every two bids in a row (in event time)
// are a match of Pattern.begin('first').next('second'), and each match commits the second bid's
// {auction, dateTime}. Every bid but each auction's first is committed once, whatever the
// parallelism and however often the job restarts or rescales: a lost partial match or element
// queue loses a record, a doubled one repeats it. Watermarks trail the bids by a minute of event
// time, more than the run spans, so every match waits in keyed state (the CEP element queue) for
// the end of input. Properties: test.output, test.events, test.rate.

import type { Application, Collector, PatternProcessContext, PatternProcessFunction } from 'sluice';
import { CEP, Pattern, WatermarkStrategy } from 'sluice';
import { JsonLinesFileSink, NexmarkSource, type NexmarkEvent } from 'sluice/connectors';

export interface Bid {
  readonly auction: number;
  readonly dateTime: number;
}

export interface SecondBid {
  readonly auction: number;
  readonly dateTime: number;
}

const pairs = Pattern.begin<Bid>('first').next('second');

const secondBids: PatternProcessFunction<Bid, SecondBid> = {
  processMatch(match: Map<string, Bid[]>, _ctx: PatternProcessContext, out: Collector<SecondBid>): void {
    const second = match.get('second')![0]!;
    out.collect({ auction: second.auction, dateTime: second.dateTime });
  },
};

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  if (!output) throw new Error('property test.output is required');
  const events = Number(properties.test?.events ?? '20000');
  const rate = Number(properties.test?.rate ?? '2000');
  const bids = env
    .fromSource(new NexmarkSource({ maxEvents: events, ratePerSecond: rate, splitCount: 4 }), WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(60_000), 'nexmark')
    .uid('nexmark')
    .filter((e) => e.kind === 'bid')
    .map((e) => {
      const bid = e as Extract<NexmarkEvent, { kind: 'bid' }>;
      return { auction: bid.auction, dateTime: bid.dateTime };
    });
  CEP.pattern(bids.keyBy((b) => b.auction), pairs)
    .process(secondBids)
    .uid('bid-pairs')
    .sinkTo(new JsonLinesFileSink({ directory: output }))
    .uid('second-bids');
};

export default app;
