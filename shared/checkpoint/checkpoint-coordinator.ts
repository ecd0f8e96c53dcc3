// Triggers checkpoints, collects acknowledgements and completes them in the order ARCHITECTURE.md
// fixes: state files first, `_metadata` last with a write that refuses to overwrite, and only
// then tells the tasks (and so the sinks) to commit. One checkpoint at a time; a minimum pause
// between the end of one and the start of the next; the last `retainedCheckpoints` are kept.

import type { Clock } from '../clock.ts';
import type { Logger } from '../logging.ts';
import { hasState, type OperatorSnapshot } from './operator-snapshot.ts';
import type { CheckpointMetadata, OperatorStateMetadata, SubtaskStateHandle } from './checkpoint-metadata.ts';
import { METADATA_FORMAT_VERSION } from './checkpoint-metadata.ts';
import { CheckpointError } from '../errors.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import { writeOperatorSnapshot } from './operator-state-files.ts';
import { PendingCheckpoint, type SubtaskAcknowledgement } from './pending-checkpoint.ts';

/** What the coordinator needs from the running job. */
export interface CheckpointParticipants {
  readonly jobName: string;
  readonly maxParallelism: number;
  /** Every subtask that must acknowledge. */
  subtasks(): Array<{ taskId: number; subtask: number }>;
  /** Asks sources to inject barrier `checkpointId` and finished subtasks to acknowledge at once. */
  triggerCheckpoint(checkpointId: number): void;
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  /**
   * A checkpoint expired or was declined: tasks still aligning its barrier stop waiting for it
   * (Flink's notifyCheckpointAborted). Best effort: a later barrier aborts it on a task anyway.
   */
  abortCheckpoint?(checkpointId: number): void;
  /** uid → name, parallelism and max parallelism, for the metadata. */
  operatorInfo(uid: string): { name: string; parallelism: number; maxParallelism: number };
  /** Whether every subtask has finished (read when a checkpoint is triggered). */
  allFinished(): boolean;
}

export interface CheckpointCoordinatorOptions {
  readonly storage: CheckpointStorage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retainedCheckpoints: number;
  readonly minPauseBetweenCheckpointsMs: number;
  /** The id of the checkpoint restored from; new ids continue after it. */
  readonly lastCheckpointId: number;
  /**
   * Records a checkpoint whose `_metadata` is written as the latest one (the fenced pointer in
   * etcd); the sinks commit only after it succeeded. A checkpoint it refuses does not exist.
   */
  readonly publishCompleted?: (metadata: CheckpointMetadata) => Promise<void>;
  /**
   * The checkpoint the HA store's pointer names, read fenced: it throws once this coordinator no
   * longer leads. Read before anything is deleted, so a deposed leader deletes nothing and no
   * one deletes a checkpoint the pointer names.
   */
  readonly readPublished?: () => Promise<number | undefined>;
}

export interface CompletedCheckpointInfo {
  readonly checkpointId: number;
  readonly durationMs: number;
  readonly bytes: number;
  readonly final: boolean;
}

export class CheckpointCoordinator {
  private nextCheckpointId: number;
  private pending: PendingCheckpoint | undefined;
  private completing: Promise<CompletedCheckpointInfo> | undefined;
  private lastCompletedAtMs = Number.NEGATIVE_INFINITY;
  private aborted = false;
  /** Set when committing a completed checkpoint failed: the job must fail and restore. */
  fatalError: Error | undefined;
  private retained: number[] = [];
  private readonly completionWaiters = new Map<number, Array<{ resolve: (i: CompletedCheckpointInfo) => void; reject: (e: unknown) => void }>>();
  lastCompleted: CompletedCheckpointInfo | undefined;
  numberOfCompleted = 0;
  numberOfFailed = 0;

  constructor(private readonly participants: CheckpointParticipants, private readonly options: CheckpointCoordinatorOptions) {
    this.nextCheckpointId = options.lastCheckpointId + 1;
  }

  /**
   * Cleans the storage before the first checkpoint: folders without `_metadata` go, and with
   * `latestPublished` (the pointer in the HA store) so do completed checkpoints after it, whose
   * `_metadata` was written by a coordinator that crashed or lost the leadership before moving the
   * pointer: they do not exist. What is left is retained.
   */
  async initialize(latestPublished?: number): Promise<void> {
    const { storage, logger } = this.options;
    if (this.options.readPublished) latestPublished = (await this.options.readPublished()) ?? 0;
    const removed = await storage.discardIncomplete();
    if (removed.length > 0) logger.info('removed incomplete checkpoints', { checkpoints: removed });
    let completed = await storage.listCompleted();
    if (latestPublished !== undefined) {
      const unpublished = completed.filter((id) => id > latestPublished);
      for (const id of unpublished) await storage.discard(id);
      if (unpublished.length > 0) logger.info('removed checkpoints that were never published (the pointer never moved to them)', { checkpoints: unpublished, pointer: latestPublished });
      completed = completed.filter((id) => id <= latestPublished);
    }
    this.retained = completed;
    await this.trimRetained();
  }

  get isBusy(): boolean {
    return this.pending !== undefined || this.completing !== undefined;
  }

  /** True when a periodic checkpoint may start now (none running, minimum pause over). */
  canTrigger(): boolean {
    return !this.isBusy && this.options.clock.now() - this.lastCompletedAtMs >= this.options.minPauseBetweenCheckpointsMs;
  }

  /** The id the next checkpoint gets unless `trigger` is given one. */
  get nextId(): number {
    return this.nextCheckpointId;
  }

  /**
   * Starts a checkpoint (with `checkpointId` when the caller reserved one, which must not be
   * lower than `nextId`); the returned promise resolves when it is complete and committed.
   */
  trigger(checkpointId: number = this.nextCheckpointId): Promise<CompletedCheckpointInfo> {
    if (this.isBusy) return Promise.reject(new Error('a checkpoint is already in progress'));
    if (this.aborted) return Promise.reject(new CheckpointError('the job has stopped; no more checkpoints'));
    if (checkpointId < this.nextCheckpointId) return Promise.reject(new CheckpointError(`checkpoint id ${checkpointId} was used already (next is ${this.nextCheckpointId})`));
    this.nextCheckpointId = checkpointId + 1;
    this.pending = new PendingCheckpoint(checkpointId, this.options.clock.now(), this.participants.subtasks(), this.participants.allFinished());
    const done = new Promise<CompletedCheckpointInfo>((resolve, reject) => this.completionWaiters.set(checkpointId, [{ resolve, reject }]));
    this.participants.triggerCheckpoint(checkpointId);
    return done;
  }

  acknowledge(checkpointId: number, ack: SubtaskAcknowledgement): void {
    const pending = this.pending;
    if (!pending || pending.checkpointId !== checkpointId) {
      this.options.logger.warn('ignored an acknowledgement of a checkpoint that is not pending', { checkpointId, task: ack.taskId, subtask: ack.subtask });
      return;
    }
    const outcome = pending.acknowledge(ack);
    if (outcome === 'unexpected') {
      this.decline(checkpointId, `subtask ${ack.taskId}/${ack.subtask} acknowledged it, but it was not one of the subtasks the checkpoint was triggered for`);
      return;
    }
    if (outcome === 'duplicate') this.options.logger.warn('ignored a second acknowledgement of a subtask', { checkpointId, task: ack.taskId, subtask: ack.subtask });
    if (!pending.isFullyAcknowledged) return;
    this.pending = undefined;
    this.completing = this.complete(pending);
    this.completing.then(
      (info) => this.settle(checkpointId, info, undefined),
      (error) => this.settle(checkpointId, undefined, error),
    );
  }

  private settle(checkpointId: number, info: CompletedCheckpointInfo | undefined, error: unknown): void {
    this.completing = undefined;
    this.lastCompletedAtMs = this.options.clock.now();
    const waiters = this.completionWaiters.get(checkpointId) ?? [];
    this.completionWaiters.delete(checkpointId);
    for (const w of waiters) (info ? w.resolve(info) : w.reject(error));
  }

  private async complete(pending: PendingCheckpoint): Promise<CompletedCheckpointInfo> {
    const { storage, logger, clock } = this.options;
    const id = pending.checkpointId;
    const final = pending.final;
    let bytes = 0;
    let metadataWritten = false;
    try {
      const byUid = new Map<string, SubtaskStateHandle[]>();
      const writes: Promise<void>[] = [];
      const record = (uid: string, handle: SubtaskStateHandle) => {
        bytes += handle.bytes;
        let list = byUid.get(uid);
        if (!list) byUid.set(uid, (list = []));
        list.push(handle);
      };
      for (const ack of pending.acknowledgements) {
        for (const [uid, handle] of ack.handles ?? []) record(uid, handle);
        for (const [uid, snapshotPromise] of ack.snapshots ?? []) {
          writes.push(
            snapshotPromise.then(async (snapshot: OperatorSnapshot) => {
              if (!hasState(snapshot)) return;
              record(uid, (await writeOperatorSnapshot(storage, id, uid, ack.subtask, snapshot)).handle);
            }),
          );
        }
      }
      // Every write settles before a failure is handled, so discarding the checkpoint leaves no file behind.
      const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (this.aborted) throw new CheckpointError(`checkpoint ${id} aborted: the job failed or was cancelled`);
      const operators: OperatorStateMetadata[] = [...byUid.entries()]
        .map(([uid, subtasks]) => ({ uid, ...this.participants.operatorInfo(uid), subtasks: subtasks.sort((a, b) => a.subtask - b.subtask) }))
        .sort((a, b) => a.uid.localeCompare(b.uid));
      const metadata: CheckpointMetadata = {
        formatVersion: METADATA_FORMAT_VERSION,
        checkpointId: id,
        jobName: this.participants.jobName,
        maxParallelism: this.participants.maxParallelism,
        triggeredAtMs: pending.triggeredAtMs,
        completedAtMs: clock.now(),
        final,
        operators,
      };
      if (this.aborted) throw new CheckpointError(`checkpoint ${id} aborted: the job failed or was cancelled`);
      await storage.writeMetadata(metadata);
      metadataWritten = true;
      await this.options.publishCompleted?.(metadata);
    } catch (error) {
      this.numberOfFailed++;
      logger.error('checkpoint failed', { checkpointId: id, error: (error as Error).message });
      // Once `_metadata` exists, a failure path never deletes the checkpoint: one the pointer
      // refused belongs to an old leader, which must change nothing.
      if (!metadataWritten) await storage.discard(id).catch(() => {});
      throw error;
    }
    // From here on the checkpoint exists: it is never discarded for what goes wrong next. A
    // failed commit fails the job, and the restore from this checkpoint finishes the commit.
    const info: CompletedCheckpointInfo = { checkpointId: id, durationMs: clock.now() - pending.triggeredAtMs, bytes, final };
    this.lastCompleted = info;
    this.numberOfCompleted++;
    logger.info('checkpoint completed', { checkpointId: id, durationMs: info.durationMs, bytes, final, location: storage.location });
    try {
      if (!this.aborted) await this.participants.notifyCheckpointComplete(id);
    } catch (error) {
      this.fatalError ??= new CheckpointError(`committing checkpoint ${id} failed: ${(error as Error).message}`, { cause: error });
      throw this.fatalError;
    }
    await this.retire(id);
    return info;
  }

  /** Drops the pending checkpoint if it has waited longer than `timeoutMs` for acknowledgements. */
  expirePending(timeoutMs: number): boolean {
    const pending = this.pending;
    if (!pending || this.options.clock.now() - pending.triggeredAtMs < timeoutMs) return false;
    this.options.logger.warn('checkpoint expired before every subtask acknowledged', { checkpointId: pending.checkpointId, missing: pending.pendingCount, timeoutMs });
    this.failPending(new CheckpointError(`checkpoint ${pending.checkpointId} expired after ${timeoutMs} ms`));
    return true;
  }

  /**
   * Fails the pending checkpoint `checkpointId` (a trigger that did not reach every source, an
   * acknowledgement from a subtask it was not triggered for): it is aborted on the tasks, and the
   * next checkpoint starts afresh. Returns false when that checkpoint is not pending.
   */
  decline(checkpointId: number, reason: string): boolean {
    if (this.pending?.checkpointId !== checkpointId) return false;
    this.options.logger.warn('checkpoint declined', { checkpointId, reason });
    this.failPending(new CheckpointError(`checkpoint ${checkpointId} declined: ${reason}`));
    return true;
  }

  private failPending(error: CheckpointError): void {
    const pending = this.pending!;
    this.pending = undefined;
    this.numberOfFailed++;
    this.lastCompletedAtMs = this.options.clock.now();
    this.participants.abortCheckpoint?.(pending.checkpointId);
    this.settle(pending.checkpointId, undefined, error);
  }

  /** Subtasks that have not acknowledged the pending checkpoint yet. */
  get pendingCheckpointId(): number | undefined {
    return this.pending?.checkpointId;
  }

  /**
   * The job failed or was cancelled: the pending checkpoint is dropped, one being written does
   * not get its _metadata, and nothing is committed any more. Waits for a write in flight.
   */
  async abort(): Promise<void> {
    this.aborted = true;
    if (this.pending) {
      const id = this.pending.checkpointId;
      this.pending = undefined;
      this.settle(id, undefined, new CheckpointError(`checkpoint ${id} aborted: the job failed or was cancelled`));
      await this.options.storage.discard(id).catch(() => {});
    }
    await this.completing?.catch(() => {});
  }

  private async retire(completedId: number): Promise<void> {
    this.retained.push(completedId);
    await this.trimRetained();
  }

  /** Discards the oldest checkpoints beyond the retained number, then the shared files none of the rest uses. */
  private async trimRetained(): Promise<void> {
    const { storage } = this.options;
    if (this.retained.length <= this.options.retainedCheckpoints) return;
    const published = await this.options.readPublished?.();
    let discarded = false;
    while (this.retained.length > this.options.retainedCheckpoints) {
      const id = this.retained.shift()!;
      if (id === published) throw new CheckpointError(`checkpoint ${id} is the one the pointer names; it is never discarded`);
      await storage.discard(id);
      discarded = true;
    }
    if (discarded) {
      const removed = await storage.discardUnreferencedShared(this.retained);
      if (removed > 0) this.options.logger.debug('removed shared state files no retained checkpoint uses', { files: removed });
    }
  }
}
