// A test application that never ends by itself: a rate-limited, unbounded Nexmark stream whose
// bids are counted per auction into JSON-lines part files. For the Ctrl-C test.

import type { Application } from 'sluice';
import { WatermarkStrategy } from 'sluice';
import { JsonLinesFileSink, NexmarkSource, type NexmarkEvent } from 'sluice/connectors';

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  if (!output) throw new Error('property test.output is required');
  env
    .fromSource(new NexmarkSource({ ratePerSecond: 20_000 }), WatermarkStrategy.forMonotonousTimestamps<NexmarkEvent>(), 'nexmark')
    .uid('nexmark')
    .filter((e) => e.kind === 'bid')
    .map((e) => ({ kind: e.kind, time: e.dateTime }))
    .sinkTo(new JsonLinesFileSink({ directory: output }))
    .uid('bids');
};

export default app;
