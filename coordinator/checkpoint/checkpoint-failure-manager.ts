// Counts failed checkpoints and decides when the job fails because of them (Flink's
// CheckpointFailureManager): a run of more than `tolerableFailedCheckpoints` consecutive failures
// fails the job; a completed checkpoint ends the run.

import { CheckpointError, ConfigurationError, errorChainMessage } from '../../shared/errors.ts';

export interface CheckpointFailureCounts {
  readonly completed: number;
  /** Every failed checkpoint, those aborted with their attempt included. */
  readonly failed: number;
  /** The current run of failures that count towards the tolerance. */
  readonly consecutiveFailed: number;
}

export class CheckpointFailureManager {
  private completedTotal = 0;
  private failedTotal = 0;
  private consecutiveFailed = 0;

  constructor(readonly tolerableFailedCheckpoints: number) {
    if (!Number.isInteger(tolerableFailedCheckpoints) || tolerableFailedCheckpoints < 0) {
      throw new ConfigurationError('tolerableFailedCheckpoints', `must be a non-negative integer, got ${tolerableFailedCheckpoints}`);
    }
  }

  onCompleted(): void {
    this.completedTotal++;
    this.consecutiveFailed = 0;
  }

  /**
   * A failed checkpoint. Returns the error to fail the job with when this failure exceeds the
   * tolerance (the run then starts over, as the job restarts), else undefined.
   */
  onFailed(error: unknown): CheckpointError | undefined {
    this.failedTotal++;
    this.consecutiveFailed++;
    const tolerable = this.tolerableFailedCheckpoints;
    if (this.consecutiveFailed <= tolerable) return undefined;
    this.consecutiveFailed = 0;
    return new CheckpointError(`${tolerable + 1} checkpoints in a row failed (tolerable: ${tolerable}); the last: ${errorChainMessage(error)}`, { cause: error });
  }

  /** A checkpoint that failed because its attempt ended: counted, but not against the tolerance (the attempt's end is handled already). */
  onAbortedWithAttempt(): void {
    this.failedTotal++;
  }

  get counts(): CheckpointFailureCounts {
    return { completed: this.completedTotal, failed: this.failedTotal, consecutiveFailed: this.consecutiveFailed };
  }
}
