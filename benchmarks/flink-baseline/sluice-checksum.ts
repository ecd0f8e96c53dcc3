// The Sluice side of a checksum comparison with the Flink baseline: the pipeline of
// benchmarks/nexmark/run-query.ts (NexmarkSource with maxEvents and the event-time rate,
// WatermarkStrategy.forBoundedOutOfOrderness(0), buildQuery) ending in a sink that feeds
// checksum.ts's OutputChecksum instead of a DiscardingSink. Prints one JSON line, as the Flink
// jar's --checksum mode does:
//
//   node --import tsx benchmarks/flink-baseline/sluice-checksum.ts --query q5 --events 200000 [--parallelism 2] [--dump lines.txt]
//
// --dump writes every canonical result line, sorted, to a file (to diff with the Flink jar's --dump).

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import type { Sink, SinkWriter } from '../../shared/api/connectors.ts';
import { NexmarkGenerator } from '../../shared/nexmark/generator.ts';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import { NexmarkSource } from '../../worker/connectors/nexmark/nexmark-source.ts';
import { runEmbedded } from '../../worker/testing/embedded-harness.ts';
import { canonicalOutput, eventsChecksum, OutputChecksum } from '../nexmark/checksum.ts';
import { buildQuery, QUERIES, type QueryName } from '../nexmark/queries.ts';

/** The events checksum covers at most this many events (the contract with the Flink side). */
const EVENTS_CHECKSUM_LIMIT = 1_000_000;

const { values } = parseArgs({
  options: {
    query: { type: 'string', default: 'q1' },
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '10000' },
    parallelism: { type: 'string' },
    dump: { type: 'string' },
  },
});
const query = values.query as QueryName;
if (!QUERIES.includes(query)) throw new Error(`--query must be one of ${QUERIES.join(', ')}, got ${values.query}`);
const events = Number(values.events);
if (!Number.isSafeInteger(events) || events < 1) throw new Error(`--events must be a positive integer, got ${values.events}`);
const rate = Number(values.rate);

/** Feeds every result's canonical line to one OutputChecksum (all writers are in this process). */
class ChecksumSink implements Sink<unknown> {
  readonly name = 'Checksum';
  readonly checksum = new OutputChecksum();
  readonly lines: string[] | undefined;

  constructor(keepLines: boolean) {
    this.lines = keepLines ? [] : undefined;
  }

  createWriter(): SinkWriter<unknown> {
    return {
      write: (value) => {
        const line = canonicalOutput(query, value);
        this.checksum.add(line);
        this.lines?.push(line);
      },
      prepareCommit: () => undefined,
      commit: async () => {},
      close: () => {},
    };
  }
}

const env = new StreamExecutionEnvironment();
if (values.parallelism !== undefined) env.setParallelism(Number(values.parallelism));
const sink = new ChecksumSink(values.dump !== undefined);
const source = env.fromSource(
  new NexmarkSource({ maxEvents: events, firstEventRatePerSecond: rate }),
  WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(0),
  'nexmark',
);
buildQuery(query, source, sink);
const result = await runEmbedded(env, { stateBackend: 'memory', checkpointIntervalMs: undefined });
if (result.deadLetters.count > 0) console.error(`sluice-checksum: ${result.deadLetters.count} dead letters`);

function* firstEvents(count: number): Generator<NexmarkEvent> {
  const generator = new NexmarkGenerator({ maxEvents: count, firstEventRatePerSecond: rate });
  while (generator.hasNext()) yield generator.next();
}

if (sink.lines !== undefined) writeFileSync(values.dump!, sink.lines.sort().join('\n') + (sink.lines.length > 0 ? '\n' : ''));
console.log(JSON.stringify({
  engine: 'sluice',
  query,
  events,
  eventsChecksum: eventsChecksum(firstEvents(Math.min(events, EVENTS_CHECKSUM_LIMIT))),
  outputChecksum: sink.checksum.hex,
  outputCount: sink.checksum.count,
}));
