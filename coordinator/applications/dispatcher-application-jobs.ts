// ApplicationJobs on the leader's dispatcher: an application's job is a cluster job named after
// the application, its snapshots live in the cluster's snapshot catalog.

import type { Dispatcher } from '../cluster/dispatcher.ts';
import { isTerminal } from '../job/job-states.ts';
import type { ApplicationJobRequest, ApplicationJobs, ApplicationJobScalingView, ApplicationJobView } from './application-jobs.ts';

export class DispatcherApplicationJobs implements ApplicationJobs {
  constructor(private readonly dispatcher: Dispatcher) {}

  async submit(request: ApplicationJobRequest): Promise<string> {
    const status = await this.dispatcher.submit({ ...this.submitRequestOf(request), idempotencyKey: request.idempotencyKey, checkpointing: request.checkpointing });
    return status.jobId;
  }

  job(jobId: string): ApplicationJobView | undefined {
    const status = this.dispatcher.findJobStatus(jobId);
    return status && { state: status.state, parallelism: status.parallelism, failure: status.failure };
  }

  async stopWithCheckpoint(jobId: string): Promise<string> {
    const job = this.job(jobId);
    if (job && !isTerminal(job.state)) await this.dispatcher.stop(jobId, {});
    return this.dispatcher.latestCheckpointPath(jobId);
  }

  async keepAsSnapshot(jobId: string, snapshotName: string): Promise<void> {
    if (!(await this.hasSnapshot(snapshotName))) await this.dispatcher.snapshotLatestCheckpoint(jobId, snapshotName);
  }

  async cancel(jobId: string): Promise<void> {
    const job = this.job(jobId);
    if (!job || isTerminal(job.state)) return;
    await this.dispatcher.cancel(jobId);
  }

  async rescale(jobId: string, parallelism: number): Promise<{ mode: 'live' | 'restart'; from: number; to: number }> {
    const { mode, from, to } = await this.dispatcher.rescale(jobId, parallelism);
    return { mode, from, to };
  }

  scalingView(jobId: string): ApplicationJobScalingView | undefined {
    const status = this.dispatcher.findJobStatus(jobId);
    return (
      status && {
        state: status.state,
        attempt: status.attempt,
        parallelism: status.parallelism,
        maxParallelism: status.maxParallelism,
        consecutiveFailedCheckpoints: status.checkpoints.consecutiveFailed,
        tasks: status.tasks,
        subtasks: status.subtasks,
      }
    );
  }

  async snapshot(jobId: string, snapshotName: string): Promise<void> {
    await this.dispatcher.snapshot(jobId, snapshotName);
  }

  hasSnapshot(snapshotName: string): Promise<boolean> {
    return this.dispatcher.snapshots.has(snapshotName);
  }

  async deleteSnapshot(snapshotName: string): Promise<void> {
    await this.dispatcher.snapshots.delete(snapshotName);
  }

  async validate(request: Omit<ApplicationJobRequest, 'idempotencyKey' | 'checkpointing'>): Promise<void> {
    await this.dispatcher.validate(this.submitRequestOf(request));
  }

  private submitRequestOf(request: Omit<ApplicationJobRequest, 'idempotencyKey' | 'checkpointing'>) {
    return {
      application: request.code,
      jobName: request.applicationName,
      parallelism: request.parallelism,
      properties: request.properties,
      stateBackend: request.stateBackend,
      ...(request.restoreFrom === undefined ? {} : { restoreFrom: request.restoreFrom }),
      allowNonRestoredState: request.allowNonRestoredState,
    };
  }
}
