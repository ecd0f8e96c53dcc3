// One benchmark run in a fresh process: a Nexmark query on the embedded engine, generator
// included, one core. Prints one JSON line: events, seconds, events/s, results, peak RSS.
//
//   node --import tsx benchmarks/nexmark/run-query.ts --query q5 --backend leveldb --events 5000000

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { DiscardingSink } from '../../worker/connectors/discarding-sink.ts';
import { NexmarkSource } from '../../worker/connectors/nexmark/nexmark-source.ts';
import type { NexmarkEvent } from '../../worker/connectors/nexmark/model.ts';
import { runEmbedded } from '../../worker/testing/embedded-harness.ts';
import { buildQuery, QUERIES, type QueryName } from './queries.ts';

const { values } = parseArgs({
  options: {
    query: { type: 'string', default: 'q1' },
    backend: { type: 'string', default: 'memory' },
    events: { type: 'string', default: '5000000' },
    // Event-time rate: the reference Nexmark default, so windows fire all through a run.
    rate: { type: 'string', default: '10000' },
  },
});
const query = values.query as QueryName;
if (!QUERIES.includes(query)) throw new Error(`--query must be one of ${QUERIES.join(', ')}, got ${values.query}`);
if (values.backend !== 'memory' && values.backend !== 'leveldb') throw new Error(`--backend must be memory or leveldb, got ${values.backend}`);
const events = Number(values.events);
if (!Number.isSafeInteger(events) || events < 1) throw new Error(`--events must be a positive integer, got ${values.events}`);

const env = new StreamExecutionEnvironment();
const sink = new DiscardingSink<unknown>();
const source = env.fromSource(
  new NexmarkSource({ maxEvents: events, firstEventRatePerSecond: Number(values.rate) }),
  WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(0),
  'nexmark',
);
buildQuery(query, source, sink);

const stateDirectory = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
let peakRssBytes = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)), 100);
const started = performance.now();
const cpuBefore = process.cpuUsage();
await runEmbedded(env, { stateBackend: values.backend, stateDirectory, checkpointIntervalMs: undefined });
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const jobCpuSeconds = (cpu.user + cpu.system) / 1e6;
clearInterval(sampler);
peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
rmSync(stateDirectory, { recursive: true, force: true });
console.log(
  JSON.stringify({ engine: 'sluice', query, backend: values.backend, events, seconds, eventsPerSecond: events / seconds, jobCpuSeconds, results: sink.count, peakRssBytes }),
);
