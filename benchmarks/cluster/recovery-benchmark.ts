// Time from a worker kill to output flowing again: a local cluster of real processes (one
// coordinator, three workers), an unbounded keyed job with small state, `kill -9` of a worker
// running its subtasks, then the time until the job runs again and its downstream subtasks
// process records again. Repeated a few times; prints each and the median, and writes them to
// benchmarks/results/recovery-<time>.json.
//
//   npm run bench -- recovery [--rounds N] [--heartbeat-timeout-ms MS]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessCluster } from '../../coordinator/cluster/testing/process-cluster.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';

const root = new URL('../..', import.meta.url).pathname;
const SLOW_APP = fileURLToPath(new URL('../../coordinator/cluster/testing/slow-sink-app.ts', import.meta.url));

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function benchmarkRecovery(args: readonly string[]): Promise<void> {
  const rounds = option(args, 'rounds', 3);
  const heartbeatTimeoutMs = option(args, 'heartbeat-timeout-ms', 3000);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-recovery-'));
  process.stderr.write(`recovery: starting a cluster (1 coordinator, 3 workers × 2 slots, heartbeat timeout ${heartbeatTimeoutMs} ms)\n`);
  const cluster = await ProcessCluster.start({
    dir,
    coordinators: 1,
    workers: 3,
    slotsPerWorker: 2,
    heartbeatIntervalMs: 250,
    heartbeatTimeoutMs,
    checkpointIntervalMs: 1000,
    restartStrategy: '{"kind":"fixed-delay","attempts":100,"delayMs":0}',
  });
  const timings: number[] = [];
  try {
    // A light keyed job: no pause in the "slow" operator; small state.
    const submitted = await cluster.rest('POST', '/v1/jobs', { application: SLOW_APP, parallelism: 2, properties: { test: { every: '1000000000', pauseMs: '0' } } });
    const jobId = submitted.jobId as string;
    const downstream = (job: any) => job.subtasks.filter((s: any) => !s.taskName.startsWith('Source: ')).reduce((sum: number, s: any) => sum + s.recordsIn, 0);
    for (let round = 1; round <= rounds; round++) {
      const before = await waitFor('the job to run with a completed checkpoint', 60_000, async () => {
        const job = await cluster.job(jobId);
        return job.state === 'running' && job.checkpoints.completed >= 1 && downstream(job) > 0 ? job : undefined;
      });
      const victimId = before.subtasks.find((s: any) => !s.taskName.startsWith('Source: ')).workerId as string;
      const victim = cluster.workers.find((w) => w.id === victimId && cluster.isAlive(w))!;
      const killedAt = Date.now();
      cluster.kill(victim, 'SIGKILL');
      await waitFor('output to flow again', 60_000, async () => {
        const job = await cluster.job(jobId);
        return job.state === 'running' && job.attempt > before.attempt && downstream(job) > 0 ? job : undefined;
      }, 50);
      const ms = Date.now() - killedAt;
      timings.push(ms);
      process.stderr.write(`recovery: round ${round}: killed ${victimId}; output flowing again after ${ms} ms\n`);
      await cluster.restartWorker(victim);
    }
    const sorted = [...timings].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    const medianMs = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    console.log(`recovery: worker kill -9 → output flowing again: ${timings.map((t) => `${t} ms`).join(', ')}; median ${medianMs} ms (target < 5000 ms; failure noticed through the data plane or a ${heartbeatTimeoutMs} ms heartbeat timeout)`);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
    mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
    const file = join(root, 'benchmarks/results', `recovery-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine, workers: 3, slotsPerWorker: 2, heartbeatTimeoutMs, rounds, timingsMs: timings, medianMs, targetMs: 5000 }, null, 2));
    console.log(`recovery: written to ${file}`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchmarkRecovery(process.argv.slice(2));
