// One subtask of a task: its chain of operators, its input channels, and the in-band events on
// them. It merges watermarks over its channels (minimum over channels that are neither idle nor
// ended), aligns checkpoint barriers (a channel that delivered barrier n is held back until every
// live channel has; a newer barrier or abortCheckpoint aborts the alignment in progress), snapshots
// its operators and forwards the barrier, and finishes when every input has ended. A source
// subtask is driven by polls instead of channels.

import type { PollStatus, SplitState } from '../../shared/api/connectors.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../shared/api/time.ts';
import { SluiceError, UserFunctionError } from '../../shared/errors.ts';
import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type { TaskVertex } from '../../shared/plan/job-plan.ts';
import type { ExchangeOutput, InputChannel } from './exchange.ts';
import { holdsPendingWork, type AbstractStreamOperator, type OperatorSnapshot, type OperatorWithPendingWork } from './stream-operator.ts';
import { SinkOperator, PREPARED_AT_END } from '../operators/sink-operator.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import { TimestampsAndWatermarksOperator } from '../operators/simple-operators.ts';

/**
 * 'ending': every input has ended but an operator still has work to finish (async I/O requests
 * in flight); it takes checkpoints as a source does. 'retired': a live rescale took the subtask
 * out of the job; its state went to the others.
 */
export type TaskStatus = 'running' | 'ending' | 'finished' | 'retired';

/** What a subtask does at the barrier of a live rescale (see LiveRescale in the cluster runner). */
export interface TaskRescale {
  readonly checkpointId: number;
  /** The subtask leaves the job at the barrier. */
  readonly retire: boolean;
  /** A keyed head's key groups before and after the barrier. */
  readonly previousKeyGroupRange?: KeyGroupRange;
  readonly keyGroupRange?: KeyGroupRange;
  /** A source's splits after the barrier (ids), and the parallelism its new reader runs at. */
  readonly keepSplits?: ReadonlySet<string>;
  readonly parallelism: number;
}

/** Records of one input taken from a channel and not processed yet, from `next` on. */
interface RecordRun {
  readonly inputIndex: 0 | 1;
  readonly values: unknown[];
  readonly timestamps: number[];
  next: number;
}

export interface TaskListener {
  acknowledgeCheckpoint(task: StreamTask, checkpointId: number, snapshots: ReadonlyMap<string, Promise<OperatorSnapshot>>): void;
}

/** With a step deadline, the records processed between two looks at the clock. */
const RECORDS_PER_CLOCK_LOOK = 64;
/** The records a live rescale held back go on in batches of this many. */
const STASH_BATCH_RECORDS = 1024;

export class StreamTask {
  readonly channels: InputChannel[] = [];
  readonly exchangeOutputs: ExchangeOutput[] = [];
  status: TaskStatus = 'running';
  /** Set when a channel received data; cleared when the task has processed what it could. */
  hasInput = false;
  recordsIn = 0;
  combinedWatermark = MIN_WATERMARK;
  private allIdle = false;
  /** The newest checkpoint whose barrier or abort reached this subtask; barriers of older ones are stale. */
  private latestCheckpointId = -1;
  /** Whether the blocked channels are aligning `latestCheckpointId`. */
  private aligning = false;
  private finalSnapshots: ReadonlyMap<string, Promise<OperatorSnapshot>> | undefined;
  private readonly head: AbstractStreamOperator;
  readonly source: SourceOperator | undefined;
  private readonly sinks: SinkOperator[];
  private readonly timestampOperators: TimestampsAndWatermarksOperator[];
  /** The operators that may hold work off the task's turn (async I/O): none in most tasks. */
  private readonly pendingWork: ReadonlyArray<AbstractStreamOperator & OperatorWithPendingWork>;
  /** The task's parallelism: the plan's, or the one a live rescale switched it to. */
  private parallelism: number;

  constructor(
    readonly vertex: TaskVertex,
    readonly subtaskIndex: number,
    /** In plan order: head first, each operator after its upstream. */
    readonly operators: ReadonlyArray<{ uid: string; operator: AbstractStreamOperator }>,
    private readonly listener: TaskListener,
  ) {
    this.head = operators[0]!.operator;
    this.parallelism = vertex.parallelism;
    this.source = this.head instanceof SourceOperator ? this.head : undefined;
    this.sinks = operators.map((o) => o.operator).filter((o): o is SinkOperator => o instanceof SinkOperator);
    this.timestampOperators = operators.map((o) => o.operator).filter((o): o is TimestampsAndWatermarksOperator => o instanceof TimestampsAndWatermarksOperator);
    this.pendingWork = operators.map((o) => o.operator).filter(holdsPendingWork);
  }

  get name(): string {
    return `${this.vertex.name} (${this.subtaskIndex + 1}/${this.parallelism})`;
  }

  addChannel(channel: InputChannel): void {
    this.channels.push(channel);
  }

  /**
   * Processes the events that are available and not held back by alignment: all of them, or at
   * most `maxRecordBatches` records batches and no further batch once `deadlineMs`
   * (performance.now()) has passed, after the first (a worker bounds each step so its event loop
   * keeps serving heartbeats and the network, however much a record costs); `hasInput` stays set
   * when something is left.
   */
  processInput(maxRecordBatches = Number.POSITIVE_INFINITY, deadlineMs = Number.POSITIVE_INFINITY): boolean {
    let processed = false;
    this.recordBatchBudget = maxRecordBatches;
    this.inputDeadlineMs = deadlineMs;
    // Completing an alignment releases channels already passed in this sweep: sweep again.
    while (this.status === 'running' && this.hasInput) {
      this.hasInput = false;
      if (this.sweepChannels()) processed = true;
      if (this.recordBatchBudget <= 0) {
        this.hasInput = true;
        break;
      }
    }
    return processed;
  }

  private recordBatchBudget = Number.POSITIVE_INFINITY;
  private inputDeadlineMs = Number.POSITIVE_INFINITY;
  /**
   * Records taken but not processed yet, processed before anything else is taken so each
   * channel's order holds: the rest of a batch a step's deadline interrupted (records can be
   * costly: a batch of a thousand at a millisecond each would hold the worker's event loop for a
   * second), and the records a live rescale held back for the key groups it brought.
   */
  private readonly unfinishedBatches: RecordRun[] = [];
  /** What waits until the held-back records of a live rescale are processed: the watermark, the end, an alignment. */
  private afterUnfinished: (() => void) | undefined;

  /** Processes records from `from` on, looking at the clock every few; false when the deadline interrupted them (the rest is kept, first in line). */
  private processRecordsUntilDeadline(inputIndex: 0 | 1, values: unknown[], timestamps: number[], from: number): boolean {
    const head = this.head;
    for (let i = from; i < values.length; ) {
      const end = Math.min(values.length, i + RECORDS_PER_CLOCK_LOOK);
      if (inputIndex === 0) for (; i < end; i++) head.processElement(values[i], timestamps[i]!);
      else for (; i < end; i++) head.processElement2(values[i], timestamps[i]!);
      if (i < values.length && performance.now() >= this.inputDeadlineMs) {
        this.unfinishedBatches.unshift({ inputIndex, values, timestamps, next: i });
        return false;
      }
    }
    return true;
  }

  /** Works through the unfinished batches; false when the deadline came first. */
  private processUnfinished(): boolean {
    while (this.unfinishedBatches.length > 0 && this.status === 'running') {
      const batch = this.unfinishedBatches.shift()!;
      if (!this.processRecordsUntilDeadline(batch.inputIndex, batch.values, batch.timestamps, batch.next)) return false;
    }
    const after = this.afterUnfinished;
    this.afterUnfinished = undefined;
    after?.();
    return true;
  }

  private sweepChannels(): boolean {
    let processed = false;
    const channels = this.channels;
    try {
      if ((this.unfinishedBatches.length > 0 || this.afterUnfinished !== undefined) && this.status === 'running') {
        processed = true;
        if (!this.processUnfinished()) {
          this.recordBatchBudget = 0;
          return processed;
        }
      }
      for (let c = 0; c < channels.length; c++) {
        const channel = channels[c]!;
        while (!channel.blocked && this.status === 'running') {
          if (this.recordBatchBudget <= 0) return processed;
          if (processed && this.inputDeadlineMs !== Number.POSITIVE_INFINITY && performance.now() >= this.inputDeadlineMs) {
            this.recordBatchBudget = 0;
            return processed;
          }
          if (this.inputBlocked()) {
            // An operator is at capacity: the rest waits until it has room (fireProcessingTimers).
            this.blockedByOperator = true;
            this.hasInput = true;
            this.recordBatchBudget = 0;
            return processed;
          }
          const event = channel.take();
          if (event === undefined) break;
          processed = true;
          switch (event.kind) {
            case 'records': {
              const { values, timestamps } = event;
              const head = this.head;
              this.recordsIn += values.length;
              this.recordBatchBudget--;
              if (this.gaining !== undefined) this.processOrStash(values, timestamps, channel.inputIndex);
              else if (this.inputDeadlineMs !== Number.POSITIVE_INFINITY) {
                if (!this.processRecordsUntilDeadline(channel.inputIndex, values, timestamps, 0)) {
                  this.recordBatchBudget = 0;
                  return processed;
                }
              } else if (channel.inputIndex === 0) for (let i = 0; i < values.length; i++) head.processElement(values[i], timestamps[i]!);
              else for (let i = 0; i < values.length; i++) head.processElement2(values[i], timestamps[i]!);
              break;
            }
            case 'watermark':
              if (event.watermark > channel.watermark) channel.watermark = event.watermark;
              channel.idle = false;
              this.updateWatermark();
              break;
            case 'idle':
              channel.idle = event.idle;
              this.updateWatermark();
              break;
            case 'barrier':
              this.onBarrier(channel, event.checkpointId);
              break;
            case 'end':
              channel.ended = true;
              this.updateWatermark();
              if (this.channels.every((ch) => ch.ended)) {
                if (this.gaining === undefined) this.finish();
              } else this.completeAlignmentIfReady();
              break;
          }
        }
      }
    } catch (error) {
      throw this.failure(error);
    }
    return processed;
  }

  private failure(error: unknown): Error {
    if (error instanceof SluiceError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new UserFunctionError(`task "${this.name}" failed: ${message}`, { cause: error });
  }

  private updateWatermark(): void {
    let min = Number.POSITIVE_INFINITY;
    let live = 0;
    let active = 0;
    for (const channel of this.channels) {
      if (channel.ended) continue;
      live++;
      if (channel.idle) continue;
      active++;
      if (channel.watermark < min) min = channel.watermark;
    }
    if (live > 0 && active === 0) {
      if (!this.allIdle) {
        this.allIdle = true;
        this.head.processIdle(true);
      }
      return;
    }
    if (this.allIdle) {
      this.allIdle = false;
      this.head.processIdle(false);
    }
    if (live === 0) return;
    // Key groups whose state is still on its way hold the watermark: their timers are not here yet.
    if (this.gaining !== undefined) return;
    if (min > this.combinedWatermark) {
      this.combinedWatermark = min;
      this.head.processWatermark(min);
    }
  }

  private onBarrier(channel: InputChannel, checkpointId: number): void {
    // As Flink's SingleCheckpointBarrierHandler: a newer barrier aborts the older alignment. Its
    // channels must not count as aligned for the newer checkpoint while records that precede the
    // newer barrier still wait on them.
    if (checkpointId < this.latestCheckpointId || (checkpointId === this.latestCheckpointId && !this.aligning)) return; // aborted or done
    if (checkpointId > this.latestCheckpointId) {
      this.abortAlignment();
      this.latestCheckpointId = checkpointId;
      this.aligning = true;
    }
    channel.blocked = true;
    this.completeAlignmentIfReady();
  }

  private completeAlignmentIfReady(): void {
    if (!this.aligning || this.gaining !== undefined) return;
    const live = this.channels.filter((ch) => !ch.ended);
    if (live.length === 0 || !live.every((ch) => ch.blocked)) return;
    this.releaseAlignedChannels();
    this.performCheckpoint(this.latestCheckpointId);
  }

  private releaseAlignedChannels(): void {
    this.aligning = false;
    for (const ch of this.channels) ch.blocked = false;
    this.hasInput = true;
  }

  private abortAlignment(): void {
    if (this.aligning) this.releaseAlignedChannels();
  }

  /**
   * The coordinator gave up checkpoint `checkpointId` (expired or declined): an alignment of it or
   * of an older one stops, its channels go on, and its barriers still on their way are ignored.
   * Sets `hasInput`: the caller must let the task process its released channels.
   */
  abortCheckpoint(checkpointId: number): void {
    if (checkpointId < this.latestCheckpointId) return;
    this.abortAlignment();
    this.latestCheckpointId = checkpointId;
  }

  /** Whether an operator of the chain takes no more input for now. */
  inputBlocked(): boolean {
    for (const operator of this.pendingWork) if (operator.isInputBlocked()) return true;
    return false;
  }

  private hasPendingWork(): boolean {
    return this.pendingWork.some((operator) => operator.hasPendingWork());
  }

  /**
   * Source subtasks and subtasks whose inputs all ended ('ending'): the coordinator asks for a
   * checkpoint; finished subtasks acknowledge with their final state.
   */
  triggerCheckpoint(checkpointId: number): void {
    if (this.status === 'finished') {
      for (const sink of this.sinks) sink.assignEndCommitsTo(checkpointId);
      // Keyed state no longer changes once finished, but a capture is read once: capture it anew.
      const snapshots = new Map(this.finalSnapshots!);
      for (const { uid, operator } of this.operators) if (operator.hasKeyedState) snapshots.set(uid, operator.snapshotState(checkpointId));
      this.listener.acknowledgeCheckpoint(this, checkpointId, snapshots);
      return;
    }
    if (!this.source && this.status !== 'ending') throw new SluiceError(`${this.name} is not a source; barriers reach it through its inputs`);
    // A repeated or late trigger (of a checkpoint aborted or already taken) injects no second barrier.
    if (checkpointId <= this.latestCheckpointId) return;
    this.latestCheckpointId = checkpointId;
    this.performCheckpoint(checkpointId);
  }

  private snapshotOperators(checkpointId: number, include: (operator: AbstractStreamOperator) => boolean = () => true): Map<string, Promise<OperatorSnapshot>> {
    const snapshots = new Map<string, Promise<OperatorSnapshot>>();
    // Each snapshotState captures its state before its first await; uploads go on afterwards.
    for (const { uid, operator } of this.operators) if (include(operator)) snapshots.set(uid, operator.snapshotState(checkpointId));
    return snapshots;
  }

  private performCheckpoint(checkpointId: number): void {
    const snapshots = this.snapshotOperators(checkpointId);
    // A rescaled exchange switches its partitioning right after this barrier.
    for (const out of this.exchangeOutputs) out.emitBarrier(checkpointId);
    this.listener.acknowledgeCheckpoint(this, checkpointId, snapshots);
    const rescale = this.rescale;
    if (rescale !== undefined && rescale.checkpointId === checkpointId) {
      this.rescale = undefined;
      this.applyRescale(rescale);
    }
  }

  // ---- live rescale ---------------------------------------------------------------------------

  private rescale: TaskRescale | undefined;
  /** Key groups this subtask owns since the rescale barrier whose state has not arrived yet. */
  private gaining: Set<number> | undefined;
  /** The records held back for the gained key groups, in runs of one input, in their order. */
  private stash: RecordRun[] = [];
  private stashedRecords = 0;
  private gainingSinceMs = 0;
  /** Dropping the key groups this subtask gave away, and reopening a source's reader. */
  private handover: Promise<void> = Promise.resolve();

  /** Arms a live rescale: applied right after this subtask's barrier of `rescale.checkpointId`. */
  prepareRescale(rescale: TaskRescale): void {
    if (this.status !== 'running') throw new SluiceError(`${this.name} is ${this.status}; it takes no part in a rescale`);
    this.rescale = rescale;
  }

  /** Before the rescale barrier: the splits a source keeps (it reopens its reader with them at the barrier). */
  setKeptSplits(keep: ReadonlySet<string>): void {
    if (this.rescale === undefined) throw new SluiceError(`${this.name}: no rescale is prepared`);
    this.rescale = { ...this.rescale, keepSplits: keep };
  }

  /** The key groups whose state this subtask waits for. */
  gainedKeyGroups(): ReadonlySet<number> {
    return this.gaining ?? new Set();
  }

  /** Whether the subtask waits for state of key groups it took over. */
  get awaitingState(): boolean {
    return this.gaining !== undefined;
  }

  private applyRescale(rescale: TaskRescale): void {
    if (rescale.retire) {
      // Its state is in the checkpoint; its sinks commit when that checkpoint completes.
      for (const out of this.exchangeOutputs) out.emitEnd();
      this.status = 'retired';
      return;
    }
    this.parallelism = rescale.parallelism;
    if (rescale.keepSplits !== undefined && this.source) this.handover = this.source.reassign(rescale.keepSplits, rescale.parallelism);
    const range = rescale.keyGroupRange;
    const before = rescale.previousKeyGroupRange;
    if (range === undefined || before === undefined || !this.head.hasKeyedState) return;
    const gaining = range.keyGroupsNotIn(before);
    if (gaining.size > 0) {
      this.gaining = gaining;
      this.gainingSinceMs = performance.now();
    }
    this.handover = this.head.setKeyGroupRange(range);
  }

  private processOrStash(values: unknown[], timestamps: number[], input: 0 | 1): void {
    const head = this.head;
    const gaining = this.gaining!;
    for (let i = 0; i < values.length; i++) {
      if (gaining.has(head.keyGroupOf(values[i], input)!)) this.holdBack(values[i], timestamps[i]!, input);
      else if (input === 0) head.processElement(values[i], timestamps[i]!);
      else head.processElement2(values[i], timestamps[i]!);
    }
  }

  private holdBack(value: unknown, timestamp: number, input: 0 | 1): void {
    this.stashedRecords++;
    const last = this.stash.at(-1);
    if (last !== undefined && last.inputIndex === input && last.values.length < STASH_BATCH_RECORDS) {
      last.values.push(value);
      last.timestamps.push(timestamp);
    } else this.stash.push({ inputIndex: input, values: [value], timestamps: [timestamp], next: 0 });
  }

  /**
   * The state of the key groups this subtask took over arrived (`restore` puts it in): the records
   * held back for them are processed in their order, then the watermark and any barrier move on.
   */
  async completeRescale(restore: (operator: AbstractStreamOperator) => Promise<void>): Promise<{ stashedRecords: number; pausedMs: number }> {
    await this.handover;
    if (this.gaining === undefined) return { stashedRecords: 0, pausedMs: 0 };
    await restore(this.head);
    const pausedMs = performance.now() - this.gainingSinceMs;
    const stashedRecords = this.stashedRecords;
    this.gaining = undefined;
    // The held-back records go first, in steps like any input (there may be many, and costly);
    // the watermark, the end and a pending alignment move on after them.
    this.unfinishedBatches.push(...this.stash);
    this.stash = [];
    this.stashedRecords = 0;
    this.afterUnfinished = () => {
      this.updateWatermark();
      if (this.channels.length > 0 && this.channels.every((ch) => ch.ended)) this.finish();
      else this.completeAlignmentIfReady();
    };
    this.hasInput = true;
    return { stashedRecords, pausedMs };
  }

  /** A source that took over splits in a live rescale: its reader reads them from their checkpointed positions. */
  async addSplits(splits: readonly SplitState[]): Promise<void> {
    await this.handover;
    if (splits.length > 0) await this.source!.addSplits(splits);
  }

  /**
   * All input is done: final watermark (sources); once no operator has work pending (else the
   * task is 'ending' until fireProcessingTimers sees it done), end of input, final snapshot, end
   * downstream.
   */
  finish(): void {
    if (this.status === 'finished' || this.status === 'ending') return;
    try {
      if (this.source) this.source.emitFinalWatermark();
      else if (this.combinedWatermark < MAX_WATERMARK && this.channels.length > 0) {
        // Every input ended; inputs that sent no final watermark (idle) still close their windows.
        this.combinedWatermark = MAX_WATERMARK;
        this.head.processWatermark(MAX_WATERMARK);
      }
    } catch (error) {
      throw this.failure(error);
    }
    if (this.hasPendingWork()) this.status = 'ending';
    else this.endInput();
  }

  private endInput(): void {
    try {
      for (const { operator } of this.operators) {
        const ended = operator.endInput();
        if (ended instanceof Promise) throw new SluiceError(`${operator.name}: endInput must not be asynchronous`);
      }
    } catch (error) {
      throw this.failure(error);
    }
    this.status = 'finished';
    // The operators' final state (sinks prepare their last commit here); keyed state is captured per checkpoint.
    this.finalSnapshots = this.snapshotOperators(PREPARED_AT_END, (operator) => !operator.hasKeyedState);
    for (const out of this.exchangeOutputs) out.emitEnd();
  }

  /** Polls the source; errors (the reader's or a chained operator's) name this task. */
  pollSource(maxRecords: number): PollStatus | Promise<PollStatus> {
    try {
      const status = this.source!.poll(maxRecords);
      return status instanceof Promise ? status.catch((error: unknown) => Promise.reject(this.failure(error))) : status;
    } catch (error) {
      throw this.failure(error);
    }
  }

  emitPeriodicWatermarks(nowMs: number): void {
    if (this.status !== 'running') return;
    this.source?.emitWatermarkIfAdvanced(nowMs);
    for (const op of this.timestampOperators) op.emitCurrentWatermark();
  }

  nextProcessingTimerMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const { operator } of this.operators) next = Math.min(next, operator.nextProcessingTimerMs());
    return next;
  }

  fireProcessingTimers(nowMs: number): void {
    if (this.status !== 'running' && this.status !== 'ending') return;
    try {
      for (const { operator } of this.operators) operator.fireProcessingTimers(nowMs);
    } catch (error) {
      throw this.failure(error);
    }
    if (this.status === 'ending' && !this.hasPendingWork()) this.endInput();
    else if (this.blockedByOperator && !this.inputBlocked()) {
      this.blockedByOperator = false;
      this.hasInput = true;
    }
  }

  /** The sweep stopped because an operator was at capacity: its room lets the input go on. */
  private blockedByOperator = false;

  flushOutputs(): void {
    for (const out of this.exchangeOutputs) out.flush();
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    for (const { operator } of this.operators) await operator.notifyCheckpointComplete(checkpointId);
  }

  async close(): Promise<void> {
    for (const { operator } of this.operators) await operator.close();
  }
}
