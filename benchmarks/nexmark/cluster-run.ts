// One Nexmark run on a local cluster of real processes: a fresh cluster (one coordinator with the
// in-memory election, N workers; coordinator/cluster/testing/process-cluster.ts, started through
// bin/sluice.mjs as a user starts them) per run, cluster-app.ts submitted at parallelism P, then
// polled until it finishes. Measured:
//
//   seconds        from the submission (POST /v1/jobs) to the job seen finished (polled every
//                  POLL_MS): loading the application, deployment, the run, the final checkpoint —
//                  like Flink's net job runtime, which runs from submission to the job's end
//   cpuSeconds     user + system CPU of every cluster process from its start to the job's end
//                  (start-up included, as the embedded comparison counts the whole process)
//   jobCpuSeconds  the same from the submission only
//   peakRssBytes   the sum over the processes of each one's peak resident memory (VmHWM)
//   phases         from the coordinator's log: submission → running (loading the application,
//                  deployment), running → finished (the run and the final checkpoint)
//
// No periodic checkpoints (as the embedded runs and Flink's), only the final one that ends a
// bounded job; no restarts: a failed attempt fails the run, so results are never counted twice.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessCluster, type ClusterProcess } from '../../coordinator/cluster/testing/process-cluster.ts';
import { sampleProcess } from '../measured-process.ts';
import { readResultFiles, type CollectedResults } from './result-file-sink.ts';

const CLUSTER_APP = fileURLToPath(new URL('./cluster-app.ts', import.meta.url));
const POLL_MS = 25;
const TERMINAL = new Set(['finished', 'failed', 'cancelled', 'stopped']);

export interface ClusterRunOptions {
  readonly query: string;
  readonly events: number;
  readonly parallelism: number;
  readonly workers: number;
  /** Checksum the results (a SHA-256 per result line: slower; not for timed runs). */
  readonly checksum: boolean;
  readonly timeoutMs: number;
}

export interface ClusterRun {
  readonly query: string;
  readonly events: number;
  readonly parallelism: number;
  readonly workers: number;
  readonly slotsPerWorker: number;
  /** Starting the cluster until every worker registered. */
  readonly clusterStartSeconds: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly cpuSeconds: number;
  readonly jobCpuSeconds: number;
  readonly peakRssBytes: number;
  readonly processes: ReadonlyArray<{ readonly id: string; readonly cpuSeconds: number; readonly peakRssBytes: number }>;
  /** From the coordinator's log and clock; absent if its log lacks the state changes. */
  readonly phases?: { readonly submittedToRunningSeconds: number; readonly runningToFinishedSeconds: number };
  readonly results: CollectedResults;
}

export async function runQueryOnCluster(options: ClusterRunOptions): Promise<ClusterRun> {
  const { query, events, parallelism, workers } = options;
  const slotsPerWorker = Math.ceil(parallelism / workers);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-nexmark-cluster-'));
  const output = join(dir, 'results');
  mkdirSync(output);
  const clusterStarted = performance.now();
  let cluster: ProcessCluster | undefined;
  let keepDir = false;
  try {
    cluster = await ProcessCluster.start({
      dir,
      coordinators: 1,
      workers,
      slotsPerWorker,
      // No periodic checkpoint during the run (the final one still ends the job).
      checkpointIntervalMs: 24 * 3_600_000,
      // A loaded 2-core machine delays heartbeats; a false "worker lost" would spoil the run.
      heartbeatTimeoutMs: 15_000,
      restartStrategy: '{"kind":"none"}',
      // SLUICE_BENCH_PROFILE_DIR=DIR: each worker writes a CPU profile there (node --cpu-prof).
      ...(process.env.SLUICE_BENCH_PROFILE_DIR ? { workerNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_PROFILE_DIR}`] } : {}),
    });
    const processes: ClusterProcess[] = [...cluster.coordinators, ...cluster.workers];
    const clusterStartSeconds = (performance.now() - clusterStarted) / 1000;
    const cpuAtSubmit = totalCpuSeconds(processes);
    const submittedAt = performance.now();
    const submitted = await cluster.rest('POST', '/v1/jobs', {
      application: CLUSTER_APP,
      jobName: `nexmark ${query}`,
      parallelism,
      stateBackend: 'memory',
      properties: { nexmark: { query, events: String(events), output, checksum: String(options.checksum) } },
    });
    const jobId = submitted.jobId as string;
    const deadline = submittedAt + options.timeoutMs;
    let job: any;
    for (;;) {
      job = await cluster.job(jobId);
      if (TERMINAL.has(job.state)) break;
      if (performance.now() > deadline) throw new Error(`${query} on the cluster did not finish within ${options.timeoutMs / 1000} s (state ${job.state})`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const seconds = (performance.now() - submittedAt) / 1000;
    const perProcess = processes.map((p) => ({ id: p.id, ...(sampleProcess(p.child.pid!) ?? { cpuSeconds: Number.NaN, peakRssBytes: Number.NaN }) }));
    if (job.state !== 'finished' || job.numRestarts > 0) {
      keepDir = true;
      throw new Error(`${query} on the cluster ended ${job.state} after ${job.numRestarts} restart(s): ${job.failure ?? 'no failure recorded'}; logs in ${dir}\n${cluster.coordinatorLogTails(10)}`);
    }
    const cpuSeconds = perProcess.reduce((s, p) => s + p.cpuSeconds, 0);
    const phases = jobPhases(cluster, job.submittedAtMs as number);
    return {
      query,
      events,
      parallelism,
      workers,
      slotsPerWorker,
      clusterStartSeconds,
      seconds,
      eventsPerSecond: events / seconds,
      cpuSeconds,
      jobCpuSeconds: cpuSeconds - cpuAtSubmit,
      peakRssBytes: perProcess.reduce((s, p) => s + p.peakRssBytes, 0),
      processes: perProcess,
      ...(phases ? { phases } : {}),
      results: readResultFiles(output),
    };
  } catch (error) {
    keepDir = true;
    throw error;
  } finally {
    await cluster?.stop();
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** When the coordinator logged the job's switch to running and to finished, against its submission time. */
function jobPhases(cluster: ProcessCluster, submittedAtMs: number): ClusterRun['phases'] {
  const changes = cluster.logLines(cluster.coordinators[0]!).filter((l) => l.message === 'job state changed');
  const at = (state: string) => {
    const line = changes.find((l) => l.to === state);
    return line ? Date.parse(line.timestamp as string) : Number.NaN;
  };
  const running = at('running');
  const finished = at('finished');
  if (Number.isNaN(running) || Number.isNaN(finished)) return undefined;
  return { submittedToRunningSeconds: (running - submittedAtMs) / 1000, runningToFinishedSeconds: (finished - running) / 1000 };
}

function totalCpuSeconds(processes: readonly ClusterProcess[]): number {
  return processes.reduce((sum, p) => sum + (sampleProcess(p.child.pid!)?.cpuSeconds ?? 0), 0);
}
