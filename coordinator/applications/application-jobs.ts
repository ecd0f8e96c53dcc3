// What the application service needs of the jobs that run applications (the port the dispatcher
// implements, and a testing double): submit one, read its state, snapshot it, stop or cancel it,
// and check a new version before anything of the old one stops.

import type { JobScalingView } from '../autoscaler/job-sampler.ts';
import type { JobState } from '../job/job-states.ts';

export interface ApplicationJobRequest {
  readonly applicationName: string;
  /** `s3://bucket/key?versionId=v`: every process fetches and checks it. */
  readonly code: string;
  readonly properties: Record<string, Record<string, string>>;
  readonly parallelism: number;
  readonly stateBackend: 'leveldb' | 'memory';
  readonly checkpointing: { readonly enabled: boolean; readonly intervalMs: number; readonly minPauseMs: number };
  /** A snapshot of the cluster's catalog, or the path of a checkpoint, to restore. */
  readonly restoreFrom?: string;
  readonly allowNonRestoredState: boolean;
  /** A second submission with the key answers with the first's job (a resumed operation). */
  readonly idempotencyKey: string;
}

export interface ApplicationJobView {
  readonly state: JobState;
  readonly parallelism: number;
  readonly failure: string | null;
}

/** What the autoscaler reads of a running job. */
export interface ApplicationJobScalingView extends JobScalingView {
  readonly state: JobState;
  /** Key groups: no parallelism above it. */
  readonly maxParallelism: number;
  readonly consecutiveFailedCheckpoints: number;
}

export interface ApplicationJobs {
  submit(request: ApplicationJobRequest): Promise<string>;
  /** Undefined when this leader knows no such job. */
  job(jobId: string): ApplicationJobView | undefined;
  /**
   * Stops with a last checkpoint (a job stopped already: its latest) and answers where that
   * checkpoint is: a new job restores it at once, and keepAsSnapshot copies it afterwards.
   */
  stopWithCheckpoint(jobId: string): Promise<string>;
  /** Copies the job's latest checkpoint into the snapshot `snapshotName` (the job need not run). */
  keepAsSnapshot(jobId: string, snapshotName: string): Promise<void>;
  cancel(jobId: string): Promise<void>;
  /** Changes a running job's parallelism (live where its shape allows, else by restart) and answers once done. */
  rescale(jobId: string, parallelism: number): Promise<{ readonly mode: 'live' | 'restart'; readonly from: number; readonly to: number }>;
  /** Undefined when this leader knows no such job. */
  scalingView(jobId: string): ApplicationJobScalingView | undefined;
  snapshot(jobId: string, snapshotName: string): Promise<void>;
  hasSnapshot(snapshotName: string): Promise<boolean>;
  deleteSnapshot(snapshotName: string): Promise<void>;
  /** Loads the code and builds the pipeline, and checks it restores `restoreFrom` (uids, max parallelism); throws naming what is wrong. */
  validate(request: Omit<ApplicationJobRequest, 'idempotencyKey' | 'checkpointing'>): Promise<void>;
}
