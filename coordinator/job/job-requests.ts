// What a user asks of a running job besides the periodic checkpoints: a checkpoint now, a
// snapshot, a stop with a checkpoint, a rescale. Each takes a checkpoint first, so they run one at a
// time, between periodic checkpoints; the queue rejects what is left when the job ends.

import type { CompletedCheckpointInfo } from '../../shared/checkpoint/checkpoint-coordinator.ts';
import type { SnapshotSummary } from '../../shared/checkpoint/snapshots.ts';
import { InvalidRequestError } from '../../shared/errors.ts';
import type { JobState } from './job-states.ts';

export type JobRequest =
  | { readonly kind: 'checkpoint'; readonly done: Settle<CompletedCheckpointInfo> }
  | { readonly kind: 'snapshot'; readonly name: string | undefined; readonly done: Settle<SnapshotSummary> }
  | { readonly kind: 'stop'; readonly snapshot: boolean; readonly name: string | undefined; readonly done: Settle<StopResult> }
  | { readonly kind: 'rescale'; readonly parallelism: number; readonly requestedAtMs: number; readonly done: Settle<RescaleResult> };

export type RequestOf<K extends JobRequest['kind']> = Extract<JobRequest, { kind: K }>;

export interface Settle<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export class JobRequests {
  private readonly queued: JobRequest[] = [];
  private running: JobRequest | undefined;

  /** Queues a request; the promise settles when it has run. */
  enqueue<T>(make: (done: Settle<T>) => JobRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => this.queued.push(make({ resolve, reject } as Settle<T>)));
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  get hasWaiting(): boolean {
    return this.queued.length > 0;
  }

  /** Runs the next request with `run`; its promise settles with what `run` gives or throws. */
  runNext(run: (request: JobRequest) => Promise<void>): void {
    const request = this.queued.shift();
    if (!request) return;
    this.running = request;
    run(request)
      .catch((error: unknown) => request.done.reject(error instanceof Error ? error : new Error(String(error))))
      .finally(() => (this.running = undefined));
  }

  /** The job ended: what waits will never run. */
  rejectWaiting(jobId: string, state: JobState): void {
    for (const request of this.queued.splice(0)) request.done.reject(new InvalidRequestError(`job ${jobId} became ${state} before the ${request.kind} ran`));
  }
}

export interface RescaleResult {
  readonly from: number;
  readonly to: number;
  /**
   * 'live': the attempt went on running; only key groups and splits that changed owner paused.
   * 'restart': the attempt was replaced by one at the new parallelism (the job's shape did not allow live).
   */
  readonly mode: 'live' | 'restart';
  /** Live: the checkpoint whose barrier switched the job. Restart: the checkpoint the new attempt restored from. */
  readonly checkpointId: number;
  /**
   * Live: the longest any key group that changed owner waited for its state, from its worker's
   * rescale barrier. Restart: from the checkpoint's completion to the new attempt running, when
   * every key group paused.
   */
  readonly pauseMs: number;
  /** From the request to the rescale being done. */
  readonly totalMs: number;
  /** Live only: key groups and splits that changed owner, records held back meanwhile. */
  readonly keyGroupsMoved?: number;
  /** Of the key groups moved, those staged by their new owner ahead of the switch and unchanged since: read before the pause, not in it. */
  readonly keyGroupsStaged?: number;
  readonly splitsMoved?: number;
  readonly stashedRecords?: number;
  /** Why a live rescale was not possible, when mode is 'restart'. */
  readonly reason?: string;
}

export interface StopResult {
  readonly jobId: string;
  readonly state: JobState;
  /** The checkpoint taken on the way out. */
  readonly checkpointId: number;
  readonly snapshot: SnapshotSummary | null;
}
