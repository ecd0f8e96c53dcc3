// A checkpoint that has been triggered and is collecting acknowledgements: one per subtask of
// every task, each carrying the (possibly still uploading) snapshots of that subtask's operators.

import type { OperatorSnapshot } from './operator-snapshot.ts';
import type { SubtaskStateHandle } from './checkpoint-metadata.ts';

export interface SubtaskAcknowledgement {
  readonly taskId: number;
  readonly subtask: number;
  /** Operator uid → that operator's snapshot of this subtask, for the coordinator to write (embedded mode). */
  readonly snapshots?: ReadonlyMap<string, Promise<OperatorSnapshot>>;
  /** Operator uid → the state file the subtask wrote itself (a worker). */
  readonly handles?: ReadonlyMap<string, SubtaskStateHandle>;
}

export class PendingCheckpoint {
  private readonly awaiting: Set<string>;
  readonly acknowledgements: SubtaskAcknowledgement[] = [];

  constructor(
    readonly checkpointId: number,
    readonly triggeredAtMs: number,
    expectedSubtasks: Iterable<{ taskId: number; subtask: number }>,
    /** Every subtask had finished when it was triggered: restoring it ends the job at once. */
    readonly final: boolean,
  ) {
    this.awaiting = new Set([...expectedSubtasks].map((s) => `${s.taskId}/${s.subtask}`));
  }

  private readonly acknowledged = new Set<string>();

  /**
   * 'duplicate': that subtask acknowledged already (a report sent again). 'unexpected': no such
   * subtask was asked: the job runs subtasks its coordinator does not know of, and a checkpoint
   * without their state would be incomplete; the caller fails the checkpoint.
   */
  acknowledge(ack: SubtaskAcknowledgement): 'accepted' | 'duplicate' | 'unexpected' {
    const key = `${ack.taskId}/${ack.subtask}`;
    if (this.acknowledged.has(key)) return 'duplicate';
    if (!this.awaiting.delete(key)) return 'unexpected';
    this.acknowledged.add(key);
    this.acknowledgements.push(ack);
    return 'accepted';
  }

  get isFullyAcknowledged(): boolean {
    return this.awaiting.size === 0;
  }

  get pendingCount(): number {
    return this.awaiting.size;
  }
}
