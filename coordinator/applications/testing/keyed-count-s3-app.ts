// keyed-count-app (coordinator/cluster/testing) with its output in S3: the running count per
// auction, {auction, n}, committed exactly once as JSON-lines objects under test.output
// (s3://bucket/prefix), so a cluster whose processes share nothing but S3 runs it. The
// applications test packages it with `sluice package` and runs it through the applications API.

import type { Application } from 'sluice';
import { S3FileSink } from 'sluice/connectors';
import { countBidsPerAuction, type AuctionCount } from '../../cluster/testing/keyed-count-app.ts';

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  if (!output) throw new Error('property test.output is required');
  countBidsPerAuction(env, properties)
    .sinkTo(new S3FileSink<AuctionCount>({ path: output, bucketBy: { field: 'none' } }))
    .uid('counts');
};

export default app;
