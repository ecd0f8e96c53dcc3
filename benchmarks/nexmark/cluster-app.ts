// A Nexmark query as a Sluice application, for the benchmark's local-cluster mode
// (cluster-run.ts submits it): the pipeline of run-query.ts and sluice-checksum.ts — NexmarkSource
// with maxEvents and the event-time rate, WatermarkStrategy.forBoundedOutOfOrderness(0),
// buildQuery — ending in a ResultFileSink, which counts (and in checksum mode checksums) the
// results into files the harness reads once the job has finished.
//
// Properties (group "nexmark"): query, events, rate (event-time rate, default 10000), output (a
// directory every worker can write), checksum ("true" for checksum mode).

import { WatermarkStrategy, type Application } from '../../shared/api/index.ts';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import { NexmarkSource } from '../../worker/connectors/nexmark/nexmark-source.ts';
import { buildQuery, QUERIES, type QueryName } from './queries.ts';
import { ResultFileSink } from './result-file-sink.ts';

const app: Application = (env, properties) => {
  const settings = properties.nexmark ?? {};
  const query = settings.query as QueryName;
  if (!QUERIES.includes(query)) throw new Error(`property nexmark.query must be one of ${QUERIES.join(', ')}, got ${settings.query}`);
  const events = Number(settings.events);
  if (!Number.isSafeInteger(events) || events < 1) throw new Error(`property nexmark.events must be a positive integer, got ${settings.events}`);
  const output = settings.output;
  if (!output) throw new Error('property nexmark.output (a directory for the results) is required');
  const source = env.fromSource(
    new NexmarkSource({ maxEvents: events, firstEventRatePerSecond: Number(settings.rate ?? '10000') }),
    WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(0),
    'nexmark',
  );
  buildQuery(query, source, new ResultFileSink({ directory: output, query, checksum: settings.checksum === 'true' }));
};

export default app;
