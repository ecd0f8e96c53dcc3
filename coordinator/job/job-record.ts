// What the high-availability store keeps of a job, so that a new leader can take it over: the
// submission, the current attempt and where its subtasks run. Keys: `job/<id>` (this record),
// `checkpoint-pointer/<id>` (the latest completed checkpoint: one that is not there does not
// exist), `checkpoint-counter/<id>` (the highest checkpoint id ever triggered, monotone across
// leaders, so two leaders never write the same checkpoint id).

import type { ApplicationProperties } from '../../shared/api/environment.ts';
import type { StateBackendKind } from '../../shared/config/state-backend.ts';
import type { JobState, JobTransition } from './job-states.ts';
import type { PlacementEntry } from '../scheduler/slot-placement.ts';

export interface JobSubmission {
  readonly jobId: string;
  readonly jobName: string;
  /** Absolute path of the application module, readable by every worker. */
  readonly applicationPath: string;
  readonly properties: ApplicationProperties;
  /** The job's parallelism; a rescale changes it in the record. */
  readonly parallelism?: number;
  readonly maxParallelism?: number;
  /** Where the first attempt restores from (a snapshot or checkpoint path); later ones use the job's own checkpoints. */
  readonly restoreFrom?: {
    readonly path: string;
    readonly allowNonRestoredState: boolean;
    /** The id of the checkpoint restored: the job's own checkpoint ids continue after it (as Flink's do). */
    readonly checkpointId?: number;
  };
  /** The keyed state backend of every subtask; the workers' default when absent. */
  readonly stateBackend?: StateBackendKind;
  /**
   * Periodic checkpoints of this job (an application's CheckpointConfiguration), winning over the
   * application's own enableCheckpointing() and the cluster's defaults; `enabled: false` takes
   * none (requested checkpoints, snapshots and stops still take theirs).
   */
  readonly checkpointing?: { readonly enabled: boolean; readonly intervalMs: number; readonly minPauseMs: number };
  /** The client's key for this submission: a second submission with it answers with this job. */
  readonly idempotencyKey?: string;
}


export interface JobRecord extends JobSubmission {
  readonly state: JobState;
  readonly attempt: number;
  readonly placement: readonly PlacementEntry[];
  readonly submittedAtMs: number;
  readonly numRestarts: number;
  readonly failure?: string;
  /** The live rescale in flight while the state is one of `live-rescale-*`: a new leader finishes or rolls it back. */
  readonly liveRescale?: LiveRescaleProgress;
  /** The latest changes of state, oldest first, each with its reason (absent in records of older versions). */
  readonly transitions?: readonly JobTransition[];
}

/** A live rescale in flight (its step is the job's state), written with each step. */
export interface LiveRescaleProgress {
  readonly from: number;
  readonly to: number;
  /** The checkpoint whose barrier switches the job: once the pointer reaches it, the job is at `to`. */
  readonly checkpointId: number;
}

export const jobKey = (jobId: string) => `job/${jobId}`;
export const checkpointPointerKey = (jobId: string) => `checkpoint-pointer/${jobId}`;
export const checkpointCounterKey = (jobId: string) => `checkpoint-counter/${jobId}`;
export const JOB_KEY_PREFIX = 'job/';
