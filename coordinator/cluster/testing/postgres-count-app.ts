// A test application for the cluster: keyed-count-app's pipeline ({auction, n} per bid, n the
// auction's running count) into a PostgreSQL table through the exactly-once sink, under its
// default sink id `<job name>/<sink name>`, so a job resubmitted under the same name shares the
// commit records of the one before. A table without a key: a row written twice stays twice.
// Properties: test.postgres (the URL), test.table, and keyed-count-app's test.events and test.rate.

import type { Application } from 'sluice';
import { PostgresSink } from 'sluice/connectors';
import { countBidsPerAuction, type AuctionCount } from './keyed-count-app.ts';

const app: Application = (env, properties) => {
  const connection = properties.test?.postgres;
  const table = properties.test?.table;
  if (!connection || !table) throw new Error('properties test.postgres and test.table are required');
  countBidsPerAuction(env, properties)
    .sinkTo(new PostgresSink<AuctionCount>({ connection, table, columns: ['auction', 'n'], deliveryGuarantee: 'exactly-once', name: 'counts' }))
    .uid('counts');
};

export default app;
