// ApplicationJobs in memory, for the application service's tests: jobs are records whose state
// the test moves (or that run at once), snapshots a set of names, and every call is kept.
// Code whose key contains `broken` does not validate; code whose key contains `crash` starts a
// job that fails.

import type { ApplicationJobRequest, ApplicationJobs, ApplicationJobScalingView, ApplicationJobView } from '../application-jobs.ts';
import type { JobState } from '../../job/job-states.ts';

export interface TestingJob extends ApplicationJobView {
  readonly jobId: string;
  readonly request: ApplicationJobRequest;
  state: JobState;
  failure: string | null;
  parallelism: number;
  /**
   * What its one task (a source chained to the rest) measured, all subtasks together, as the
   * test sets it: cumulative records and busy time, the backlog, the partitions.
   */
  measured: { recordsIn: number; busyTimeMs: number; pendingRecords?: number; splits: number; consecutiveFailedCheckpoints: number };
}

export class TestingApplicationJobs implements ApplicationJobs {
  readonly jobs = new Map<string, TestingJob>();
  readonly snapshotNames = new Set<string>();
  /** Checkpoints stopped jobs left, by path: `checkpoint://<job>/chk-1`. */
  readonly checkpointPaths = new Set<string>();
  readonly calls: string[] = [];
  /** When false, submitted jobs stay `deploying` until the test moves them. */
  runAtOnce = true;
  private nextId = 1;

  async submit(request: ApplicationJobRequest): Promise<string> {
    const existing = [...this.jobs.values()].find((j) => j.request.idempotencyKey === request.idempotencyKey);
    if (existing) return existing.jobId;
    if (request.restoreFrom !== undefined && !this.snapshotNames.has(request.restoreFrom) && !this.checkpointPaths.has(request.restoreFrom)) {
      throw new Error(`restoreFrom: no snapshot or checkpoint ${request.restoreFrom}`);
    }
    const jobId = `job-${this.nextId++}`;
    const crash = request.code.includes('crash');
    this.jobs.set(jobId, {
      jobId,
      request,
      parallelism: request.parallelism,
      measured: { recordsIn: 0, busyTimeMs: 0, splits: 8, consecutiveFailedCheckpoints: 0 },
      state: crash ? 'restarting' : this.runAtOnce ? 'running' : 'deploying',
      failure: crash ? 'a subtask failed: boom' : null,
    });
    this.calls.push(`submit ${jobId}${request.restoreFrom === undefined ? '' : ` from ${request.restoreFrom}`}`);
    return jobId;
  }

  job(jobId: string): ApplicationJobView | undefined {
    return this.jobs.get(jobId);
  }

  async stopWithCheckpoint(jobId: string): Promise<string> {
    const path = `checkpoint://${jobId}/chk-1`;
    if (this.jobs.get(jobId)?.state === 'stopped') return path;
    this.running(jobId).state = 'stopped';
    this.checkpointPaths.add(path);
    this.calls.push(`stop ${jobId} with a checkpoint`);
    return path;
  }

  async keepAsSnapshot(jobId: string, snapshotName: string): Promise<void> {
    if (!this.checkpointPaths.has(`checkpoint://${jobId}/chk-1`)) throw new Error(`job ${jobId} left no checkpoint`);
    this.snapshotNames.add(snapshotName);
    this.calls.push(`keep ${jobId}'s checkpoint as ${snapshotName}`);
  }

  async cancel(jobId: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (job) job.state = 'cancelled';
    this.calls.push(`cancel ${jobId}`);
  }

  /** While set, rescales wait for it (a rescale in flight). */
  rescaleGate: Promise<void> | undefined;

  async rescale(jobId: string, parallelism: number): Promise<{ mode: 'live'; from: number; to: number }> {
    const job = this.running(jobId);
    this.calls.push(`rescale ${jobId} to ${parallelism}`);
    await this.rescaleGate;
    const from = job.parallelism;
    job.parallelism = parallelism;
    // The subtasks a live rescale adds count from 0; the sampler starts a new baseline anyway.
    job.measured = { ...job.measured, recordsIn: 0, busyTimeMs: 0 };
    return { mode: 'live', from, to: parallelism };
  }

  scalingView(jobId: string): ApplicationJobScalingView | undefined {
    const job = this.jobs.get(jobId);
    if (!job) return undefined;
    const { parallelism, measured } = job;
    const share = (total: number, i: number) => Math.floor(total / parallelism) + (i < total % parallelism ? 1 : 0);
    return {
      state: job.state,
      attempt: 0,
      parallelism,
      maxParallelism: 128,
      consecutiveFailedCheckpoints: measured.consecutiveFailedCheckpoints,
      tasks: [{ id: 1, name: 'Source: events -> Count', parallelism, isSource: true }],
      subtasks: Array.from({ length: parallelism }, (_, i) => ({
        taskId: 1,
        subtask: i,
        recordsIn: measured.recordsIn / parallelism,
        busyTimeMs: measured.busyTimeMs / parallelism,
        pendingRecords: measured.pendingRecords === undefined ? undefined : measured.pendingRecords / parallelism,
        unfinishedSplits: Array.from({ length: share(measured.splits, i) }, (_, k) => `events-${i + k * parallelism}`),
      })),
    };
  }

  async snapshot(jobId: string, snapshotName: string): Promise<void> {
    this.running(jobId);
    this.snapshotNames.add(snapshotName);
    this.calls.push(`snapshot ${jobId} ${snapshotName}`);
  }

  async hasSnapshot(snapshotName: string): Promise<boolean> {
    return this.snapshotNames.has(snapshotName);
  }

  async deleteSnapshot(snapshotName: string): Promise<void> {
    this.snapshotNames.delete(snapshotName);
    this.calls.push(`delete snapshot ${snapshotName}`);
  }

  async validate(request: Omit<ApplicationJobRequest, 'idempotencyKey' | 'checkpointing'>): Promise<void> {
    if (request.code.includes('broken')) throw new Error(`${request.code}: the bundle has no default export`);
  }

  /** The jobs that are not over. */
  live(): TestingJob[] {
    return [...this.jobs.values()].filter((j) => !['stopped', 'cancelled', 'failed', 'finished'].includes(j.state));
  }

  private running(jobId: string): TestingJob {
    const job = this.jobs.get(jobId);
    if (!job || job.state !== 'running') throw new Error(`job ${jobId} is ${job?.state ?? 'unknown'}`);
    return job;
  }
}
