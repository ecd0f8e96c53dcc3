// The benchmark harness. Benchmarks print figures and write them under benchmarks/results/;
// they assert nothing (targets are read from the figures, not checked by tests).
//
//   npm run bench -- embedded …   Nexmark on the embedded engine, both state backends
//   npm run bench -- nexmark …    Nexmark on Sluice and on Apache Flink, side by side
//   npm run bench -- data-plane … the worker-to-worker data plane between two processes
//   npm run bench -- recovery …   time from a worker kill -9 to output flowing again (a real cluster)
//   npm run bench -- all          all of them, with their defaults

import { compareEngines } from './nexmark/compare-engines.ts';
import { benchmarkEmbedded } from './nexmark/embedded-benchmark.ts';
import { benchmarkDataPlane } from './cluster/data-plane-benchmark.ts';
import { benchmarkRecovery } from './cluster/recovery-benchmark.ts';

const USAGE = `Usage: npm run bench -- embedded [--queries q0,q1,q2,q5] [--backends memory,leveldb] [--events N] [--rounds R]
       npm run bench -- nexmark [--queries q0,q1,q2,q5] [--events N] [--rounds R] [--parallelism P]
                                [--checksum-events N] [--latency-rate R (0: no latency runs)] [--latency-seconds S]
       npm run bench -- data-plane [--seconds S] [--warmup-seconds S] [--latency-rate R (0: half the throughput)]
                                   [--batch-size N] [--flush-ms MS] [--initial-credits N]
       npm run bench -- recovery [--rounds N] [--heartbeat-timeout-ms MS]
       npm run bench -- all

embedded: Nexmark queries on the embedded engine (generator included, one core): events/s.
nexmark:  the same queries on Sluice and on Apache Flink, side by side: checksums first, then
          alternating timed runs, then latency runs with paced sources.
data-plane: records/s and MB/s through a keyed exchange between two processes over TCP, then
          latency p50/p99/max at half that rate (about 25 s with the defaults).
recovery: a local cluster of real processes (1 coordinator, 3 workers); kill -9 a worker running
          the job, time until the job runs again and its downstream subtasks process records.
all:      all of them.`;

const [mode, ...rest] = process.argv.slice(2);
switch (mode) {
  case 'embedded':
    await benchmarkEmbedded(rest);
    break;
  case 'nexmark':
    await compareEngines(rest);
    break;
  case 'data-plane':
    await benchmarkDataPlane(rest);
    break;
  case 'recovery':
    await benchmarkRecovery(rest);
    break;
  case 'all':
    await benchmarkEmbedded(rest);
    await compareEngines(['--queries', 'q0,q1,q2,q3,q4,q5,q7,q8,q11', ...rest]);
    await benchmarkDataPlane([]);
    await benchmarkRecovery([]);
    break;
  default:
    console.log(USAGE);
    process.exitCode = mode === undefined || mode === '--help' ? 0 : 2;
}
