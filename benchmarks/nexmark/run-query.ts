// One benchmark run in a fresh process: a Nexmark query on the embedded engine, generator
// included, one core. Prints one JSON line: events, seconds, events/s, results, peak RSS.
//
//   node --import tsx benchmarks/nexmark/run-query.ts --query q5 --backend leveldb --events 5000000
//
// Latency mode (see latency.ts for the definition): the source paced in wall-clock time at R
// events/s with event time = due time, R × D events, a sink recording each result's latency;
// the JSON line then also carries p50Ms, p99Ms, maxMs, inputEventsPerSecond and keptUp.
//
//   node --import tsx benchmarks/nexmark/run-query.ts --query q5 --latency-rate 200000 [--latency-seconds 15]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import type { Source } from '../../shared/api/connectors.ts';
import { DiscardingSink } from '../../worker/connectors/discarding-sink.ts';
import { NexmarkSource } from '../../worker/connectors/nexmark/nexmark-source.ts';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import { runEmbedded } from '../../worker/testing/embedded-harness.ts';
import { DEFAULT_LATENCY_SECONDS, LatencySink, latencyFigures, PacedNexmarkSource } from './latency.ts';
import { buildQuery, QUERIES, type QueryName } from './queries.ts';

const { values } = parseArgs({
  options: {
    query: { type: 'string', default: 'q1' },
    backend: { type: 'string', default: 'memory' },
    // Default 5,000,000; in latency mode R × --latency-seconds.
    events: { type: 'string' },
    // Event-time rate: the reference Nexmark default, so windows fire all through a run.
    rate: { type: 'string', default: '10000' },
    // Latency mode: wall-clock rate = event-time rate = R (0 or absent: throughput mode).
    'latency-rate': { type: 'string', default: '0' },
    'latency-seconds': { type: 'string', default: String(DEFAULT_LATENCY_SECONDS) },
  },
});
const query = values.query as QueryName;
if (!QUERIES.includes(query)) throw new Error(`--query must be one of ${QUERIES.join(', ')}, got ${values.query}`);
if (values.backend !== 'memory' && values.backend !== 'leveldb') throw new Error(`--backend must be memory or leveldb, got ${values.backend}`);
const latencyRate = Number(values['latency-rate']);
if (!Number.isFinite(latencyRate) || latencyRate < 0) throw new Error(`--latency-rate must be a non-negative number, got ${values['latency-rate']}`);
const latencyMode = latencyRate > 0;
const latencySeconds = Number(values['latency-seconds']);
if (latencyMode && !(latencySeconds > 0)) throw new Error(`--latency-seconds must be positive, got ${values['latency-seconds']}`);
const events = Number(values.events ?? (latencyMode ? Math.round(latencyRate * latencySeconds) : 5_000_000));
if (!Number.isSafeInteger(events) || events < 1) throw new Error(`--events must be a positive integer, got ${values.events}`);

const env = new StreamExecutionEnvironment();
// Latency mode: the source sets the event-time base (and the sink's window) when the job starts.
const paced = latencyMode ? new PacedNexmarkSource({ maxEvents: events, ratePerSecond: latencyRate }) : undefined;
const discarding = new DiscardingSink<unknown>();
const latencySink = paced ? new LatencySink(paced) : undefined;
const source = env.fromSource(
  (paced ?? new NexmarkSource({ maxEvents: events, firstEventRatePerSecond: Number(values.rate) })) as Source<NexmarkEvent>,
  WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(0),
  'nexmark',
);
buildQuery(query, source, latencySink ?? discarding);

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
if (latencySink && paced) {
  const figures = latencyFigures(latencySink.histogram, { rate: latencyRate, events, baseMs: paced.baseMs, firstEmitMs: paced.firstEmitMs, lastEmitMs: paced.lastEmitMs });
  console.log(
    JSON.stringify({ engine: 'sluice', query, mode: 'latency', backend: values.backend, events, seconds, eventsPerSecond: events / seconds, jobCpuSeconds, results: latencySink.results, ...figures, peakRssBytes }),
  );
} else {
  console.log(
    JSON.stringify({ engine: 'sluice', query, backend: values.backend, events, seconds, eventsPerSecond: events / seconds, jobCpuSeconds, results: discarding.count, peakRssBytes }),
  );
}
