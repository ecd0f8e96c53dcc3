// The operator that feeds a Sink's writer: it writes each record, pre-commits on every
// checkpoint barrier and commits once the checkpoint is complete (ARCHITECTURE.md, decision 5).
// Its operator state holds the writer's state and every committable not yet known to be
// committed, so a restored job finishes the commits of the checkpoint it restores from.

import type { JobIdentity, Sink, SinkWriter, SinkWriterContext } from '../../shared/api/connectors.ts';
import { AbstractStreamOperator, type OperatorSnapshot } from '../runtime/stream-operator.ts';

interface PendingCommit {
  /** The checkpoint whose barrier (or the task's end) prepared it. */
  checkpointId: number;
  committable: unknown;
}

export interface SinkOperatorState {
  readonly writerState: unknown;
  readonly pending: readonly PendingCommit[];
}

/** Marks committables prepared at the end of input, before the checkpoint that includes them exists. */
export const PREPARED_AT_END = Number.MAX_SAFE_INTEGER;

export class SinkOperator extends AbstractStreamOperator {
  private writer!: SinkWriter<unknown>;
  private pending: PendingCommit[] = [];
  /** The first checkpoint that includes the end-of-input snapshot, once one does. */
  private endCommitsCheckpointId: number | undefined;
  recordsIn = 0;

  constructor(private readonly sink: Sink<unknown>, private readonly jobName: string, private readonly job: JobIdentity) {
    super();
  }

  private context(): SinkWriterContext {
    const clock = this.setupInfo.clock;
    return { subtaskIndex: this.setupInfo.subtaskIndex, parallelism: this.setupInfo.parallelism, jobName: this.jobName, job: this.job, now: () => clock.now() };
  }

  /** Creates the writer; on restore, first drops leftovers and finishes the restored commits. */
  async initialize(restored: readonly SinkOperatorState[]): Promise<void> {
    const context = this.context();
    const toCommit = restored.flatMap((r) => r.pending.map((p) => p.committable));
    if (restored.length > 0) await this.sink.abortLeftovers?.(context, toCommit);
    const writerState = restored.length > 0 ? restored.map((r) => r.writerState) : undefined;
    this.writer = await this.sink.createWriter(context, writerState);
    if (toCommit.length > 0) await this.writer.commit(toCommit);
  }

  processElement(value: unknown, timestamp: number): void {
    this.recordsIn++;
    this.writer.write(value, timestamp);
  }

  override async snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    const prepared = this.writer.prepareCommit(checkpointId);
    const writerState = this.writer.snapshotState?.();
    const uncommitted = this.pending.slice();
    const committable = await prepared;
    // The end-of-input snapshot may be claimed by a checkpoint while its files are still closing.
    const preparedFor = checkpointId === PREPARED_AT_END ? (this.endCommitsCheckpointId ?? PREPARED_AT_END) : checkpointId;
    if (committable === undefined) return { operatorState: { writerState, pending: uncommitted } satisfies SinkOperatorState };
    const entry: PendingCommit = { checkpointId: preparedFor, committable };
    // Into the current list: a commit may have replaced `this.pending` while prepareCommit ran.
    this.pending.push(entry);
    const state: SinkOperatorState = { writerState, pending: [...uncommitted, entry] };
    return { operatorState: state };
  }

  /** The end-of-input snapshot's committables belong to the first checkpoint that includes it. */
  assignEndCommitsTo(checkpointId: number): void {
    this.endCommitsCheckpointId ??= checkpointId;
    for (const p of this.pending) if (p.checkpointId === PREPARED_AT_END) p.checkpointId = checkpointId;
  }

  override async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const due = this.pending.filter((p) => p.checkpointId <= checkpointId);
    if (due.length === 0) return;
    // Forgotten only once committed: a failed commit stays pending for the next checkpoint.
    await this.writer.commit(due.map((p) => p.committable));
    this.pending = this.pending.filter((p) => !due.includes(p));
  }

  override async close(): Promise<void> {
    await this.writer?.close();
  }
}
