// The benchmark harness. Benchmarks print figures and write them under benchmarks/results/;
// they assert nothing (targets are read from the figures, not checked by tests).
//
//   npm run bench -- embedded …   Nexmark on the embedded engine, both state backends
//   npm run bench -- nexmark …    Nexmark on Sluice (embedded or a local cluster) and on Apache Flink, side by side
//   npm run bench -- data-plane … the worker-to-worker data plane between two processes
//   npm run bench -- recovery …   time from a worker kill -9 to output flowing again (a real cluster)
//   npm run bench -- kafka …      Kafka → Sluice → Kafka vs a plain kafkajs loop (starts the broker)
//   npm run bench -- kinesis …    Kinesis → Sluice vs a plain GetRecords loop (starts kinesalite)
//   npm run bench -- s3-sink …    the S3 file sink's MB/s, JSON and Parquet (starts the S3 server)
//   npm run bench -- postgres-sink …    rows/s through the PostgreSQL sink vs a plain pg loop
//   npm run bench -- opensearch-sink …  documents/s through the OpenSearch sink vs a plain bulk loop
//   npm run bench -- async-io …   enrichment through AsyncDataStream from a local HTTP service vs a plain loop
//   npm run bench -- state …      large LevelDB state on a local cluster: checkpoints, rescale, restore
//   npm run bench -- applications …  the managed service: StartApplication to first output, an update's output gap
//   npm run bench -- all          all of them, with quick settings, and a summary

import { parseArgs } from 'node:util';
import { runAll, type BenchmarkStep } from './all-benchmarks.ts';
import { benchmarkApplications } from './applications/applications-benchmark.ts';
import { benchmarkAutoscale } from './autoscale/autoscale-benchmark.ts';
import { benchmarkAsyncIo } from './connectors/async-io-benchmark.ts';
import { benchmarkDataPlane } from './cluster/data-plane-benchmark.ts';
import { benchmarkRecovery } from './cluster/recovery-benchmark.ts';
import { benchmarkKafka } from './connectors/kafka-benchmark.ts';
import { benchmarkKinesis } from './connectors/kinesis-benchmark.ts';
import { benchmarkS3Sink } from './connectors/s3-sink-benchmark.ts';
import { compareEngines } from './nexmark/compare-engines.ts';
import { benchmarkEmbedded } from './nexmark/embedded-benchmark.ts';
import { benchmarkState } from './state/state-benchmark.ts';
import { benchmarkOpenSearchSink } from '../worker/connectors/opensearch/opensearch-sink-benchmark.ts';
import { benchmarkPostgresSink } from '../worker/connectors/postgres/postgres-sink-benchmark.ts';
import { startServices } from './services.ts';

const USAGE = `Usage: npm run bench -- embedded [--queries q0,q1,q2,q5] [--backends memory,leveldb] [--events N] [--rounds R]
       npm run bench -- nexmark [--mode embedded|cluster] [--workers N] [--queries q0,q1,q2,q5] [--events N] [--rounds R]
                                [--parallelism P] [--checksum-events N]
                                [--latency-rate R (0: no latency runs)] [--latency-seconds S]
       npm run bench -- data-plane [--seconds S] [--warmup-seconds S] [--latency-rate R (0: half the throughput)]
                                   [--batch-size N] [--flush-ms MS] [--initial-credits N]
       npm run bench -- recovery [--rounds N] [--heartbeat-timeout-ms MS]
       npm run bench -- kafka [--records N] [--partitions N] [--rounds N] [--exactly-once]
       npm run bench -- kinesis [--records N] [--shards N] [--rounds N]
       npm run bench -- s3-sink [--events N] [--formats json,parquet] [--checkpoint-ms MS]
       npm run bench -- postgres-sink [--rows N] [--batch N] [--checkpoint N]
       npm run bench -- opensearch-sink [--documents N] [--batch N]
       npm run bench -- async-io [--capacities 10,100] [--latency-ms 5] [--seconds 2] [--rounds 2]
       npm run bench -- state [--state-mb 1024] [--value-bytes 1000] [--hot-key-groups 8] [--workers 2]
                              [--checkpoint-dir DIR|s3://bucket/prefix] [--checkpoint-rate-mb N]
       npm run bench -- applications [--records-per-second 10000] [--state-mb 100] [--build-seconds 60]
                                     [--checkpoint-interval-ms 1000] [--parallelism 2] [--workers 2] [--state-backend leveldb|memory]
       npm run bench -- all [--skip step,step]

embedded:   Nexmark queries on the embedded engine (generator included, one core): events/s.
nexmark:    the same queries on Sluice and on Apache Flink, side by side: checksums first, then
            alternating timed runs, then (embedded mode) latency runs with paced sources.
            --mode embedded (default): Sluice in one process, one thread; Flink at --parallelism
            (default 1). --mode cluster: Sluice on a fresh local cluster per run, one coordinator
            and --workers N worker processes (default 2), at the same --parallelism as Flink
            (default N); checksums collected from the workers' sinks; no latency runs.
data-plane: records/s and MB/s through a keyed exchange between two processes over TCP, then
            latency p50/p99/max at half that rate (about 25 s with the defaults).
recovery:   a local cluster of real processes (1 coordinator, 3 workers); kill -9 a worker running
            the job, time until the job runs again and its downstream subtasks process records.
kafka:      Kafka → Sluice (embedded, a map) → Kafka records/s, against a plain kafkajs
            consume-produce loop over the same input. Starts the broker first (services.sh start kafka).
kinesis:    Kinesis (kinesalite) → Sluice → discard, against a plain GetRecords loop on the same
            stream. Starts kinesalite first (scripts/services.sh start kinesis).
s3-sink:    MB/s through the S3 file sink to the S3 server (moto), JSON lines and Parquet: the
            store alone, the sink writer, a job with checkpoints. Starts it first (services.sh start s3).
postgres-sink: rows/s written to PostgreSQL by the sink (at-least-once upserts, exactly-once
            transactions) against a plain pg upsert loop. Starts PostgreSQL first.
opensearch-sink: documents/s bulk-indexed by the sink against a plain client bulk loop on the same
            node. Starts OpenSearch first.
async-io:   records/s enriched through AsyncDataStream (ordered and unordered, one subtask) from a
            local HTTP service answering after --latency-ms, per capacity, beside the ceiling
            capacity / latency and a plain loop with as many requests in flight.
state:      large keyed state (LevelDB) on a local cluster (1 coordinator, 2 workers): full and
            incremental checkpoint times and the throughput dip during them, a rescale 2 → 4, a
            restore. Checkpoints in a local folder unless --checkpoint-dir s3://… (then start s3 first).
applications: the managed service (kinesisanalyticsv2, the AWS SDK client) on a local cluster with
            etcd and S3: StartApplication to the first record committed, then, once the job holds
            --state-mb of keyed state, UpdateApplication to a second code version: the gap in its
            output and where the time goes. About 2 minutes. Starts etcd and S3 first.
autoscale:  an application with AutoScalingEnabled on a local cluster (etcd, S3, Kafka), its input
            rate stepped up fourfold then down: step to first rescale and to caught up, peak
            backlog, rescales, scale-down. About 4 minutes. Starts etcd, S3 and Kafka first.
all:        each of the above once with quick settings (about 15 minutes on 2 cores; the steps
            and their arguments: ALL_STEPS in benchmarks/run.ts), then
            benchmarks/results/all-<time>.json with each one's headline figures. --skip leaves
            steps out by label (embedded, nexmark, nexmark-cluster, data-plane, recovery, kafka, kinesis,
            s3-sink, postgres-sink, opensearch-sink, async-io, state, applications, autoscale).

Benchmarks that need a service start it with scripts/services.sh (reusing a healthy one) and take
its SLUICE_* variables; SLUICE_SERVICES=external uses the variables as set instead.`;

interface Benchmark {
  readonly run: (args: string[]) => Promise<unknown>;
  /** Services started (scripts/services.sh) before it runs. */
  readonly services: readonly string[];
  /** The names of the files it writes under benchmarks/results/, without the time stamp. */
  readonly results: readonly string[];
}

const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  embedded: { run: benchmarkEmbedded, services: [], results: ['embedded'] },
  nexmark: { run: compareEngines, services: [], results: ['nexmark', 'nexmark-cluster'] },
  'data-plane': { run: benchmarkDataPlane, services: [], results: ['data-plane'] },
  recovery: { run: benchmarkRecovery, services: [], results: ['recovery'] },
  // Starts the broker itself (scripts/services.sh, through benchmarks/services.ts).
  kafka: { run: benchmarkKafka, services: [], results: ['kafka'] },
  kinesis: { run: benchmarkKinesis, services: ['kinesis'], results: ['kinesis'] },
  's3-sink': { run: benchmarkS3Sink, services: ['s3'], results: ['s3-sink'] },
  'postgres-sink': { run: benchmarkPostgresSink, services: ['postgres'], results: ['postgres-sink'] },
  'opensearch-sink': { run: benchmarkOpenSearchSink, services: ['opensearch'], results: ['opensearch-sink'] },
  'async-io': { run: benchmarkAsyncIo, services: [], results: ['async-io'] },
  state: { run: benchmarkState, services: [], results: ['state'] },
  applications: { run: benchmarkApplications, services: ['etcd', 's3'], results: ['applications'] },
  autoscale: { run: benchmarkAutoscale, services: ['etcd', 's3', 'kafka'], results: ['autoscale'] },
};

/** `all`: quick settings, so the whole picture takes about a quarter of an hour on 2 cores. */
const ALL_STEPS: ReadonlyArray<{ label: string; benchmark: string; args: string[] }> = [
  { label: 'embedded', benchmark: 'embedded', args: ['--rounds', '1', '--events', '2000000'] },
  {
    label: 'nexmark',
    benchmark: 'nexmark',
    args: ['--queries', 'q0,q1,q2,q3,q4,q5,q7,q8,q11', '--rounds', '1', '--events', '2000000', '--latency-seconds', '10'],
  },
  {
    label: 'nexmark-cluster',
    benchmark: 'nexmark',
    args: ['--mode', 'cluster', '--workers', '2', '--queries', 'q0,q1,q2,q5', '--rounds', '1', '--events', '2000000', '--checksum-events', '200000'],
  },
  { label: 'data-plane', benchmark: 'data-plane', args: ['--seconds', '5', '--warmup-seconds', '1'] },
  { label: 'recovery', benchmark: 'recovery', args: ['--rounds', '2'] },
  { label: 'kafka', benchmark: 'kafka', args: ['--records', '50000', '--rounds', '1'] },
  { label: 'kinesis', benchmark: 'kinesis', args: ['--records', '20000', '--rounds', '1'] },
  { label: 's3-sink', benchmark: 's3-sink', args: ['--events', '200000'] },
  { label: 'postgres-sink', benchmark: 'postgres-sink', args: ['--rows', '100000'] },
  { label: 'opensearch-sink', benchmark: 'opensearch-sink', args: ['--documents', '30000'] },
  { label: 'async-io', benchmark: 'async-io', args: ['--rounds', '1', '--seconds', '1'] },
  { label: 'state', benchmark: 'state', args: ['--state-mb', '128'] },
  { label: 'applications', benchmark: 'applications', args: ['--state-mb', '50', '--build-seconds', '30'] },
  { label: 'autoscale', benchmark: 'autoscale', args: ['--base-seconds', '10', '--step-seconds', '60', '--drop-seconds', '40'] },
];

const [command, ...rest] = process.argv.slice(2);
if (command === 'all') {
  const { values } = parseArgs({ args: rest, options: { skip: { type: 'string', default: '' } } });
  const skip = new Set(values.skip.split(',').filter(Boolean));
  const unknown = [...skip].filter((label) => !ALL_STEPS.some((step) => step.label === label));
  if (unknown.length > 0) throw new Error(`all --skip: unknown step ${unknown.join(', ')}; the steps: ${ALL_STEPS.map((s) => s.label).join(', ')}`);
  const steps: BenchmarkStep[] = ALL_STEPS.map((s) => ({
    label: s.label,
    command: [s.benchmark, ...s.args].join(' '),
    args: s.args,
    services: BENCHMARKS[s.benchmark]!.services,
    results: BENCHMARKS[s.benchmark]!.results,
    run: BENCHMARKS[s.benchmark]!.run,
  }));
  if (!(await runAll(steps, skip))) process.exitCode = 1;
} else if (command !== undefined && command in BENCHMARKS) {
  const benchmark = BENCHMARKS[command]!;
  startServices(benchmark.services);
  await benchmark.run(rest);
} else {
  console.log(USAGE);
  process.exitCode = command === undefined || command === '--help' ? 0 : 2;
}
