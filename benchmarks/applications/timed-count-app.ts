// keyed-count-s3-app with the wall-clock time each record was emitted: {auction, n, emittedAtMs}.
// The S3 sink commits on checkpoints, so when output becomes visible says little about when it
// was processed; the applications benchmark reads these times to measure an update's gap in
// processing (the last record the old version emitted, the first the new one emitted).

import type { Application } from 'sluice';
import { S3FileSink } from 'sluice/connectors';
import { countBidsPerAuction, type AuctionCount } from '../../coordinator/cluster/testing/keyed-count-app.ts';

export interface TimedAuctionCount extends AuctionCount {
  readonly emittedAtMs: number;
}

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  if (!output) throw new Error('property test.output is required');
  countBidsPerAuction(env, properties)
    .map((count): TimedAuctionCount => ({ ...count, emittedAtMs: Date.now() }))
    .uid('emit-time')
    .sinkTo(new S3FileSink<TimedAuctionCount>({ path: output, bucketBy: { field: 'none' } }))
    .uid('counts');
};

export default app;
