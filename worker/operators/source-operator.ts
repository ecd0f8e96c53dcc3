// The head of a source task: drives a SourceReader, stamps records with event time, keeps one
// watermark generator per split and emits their minimum (ignoring idle and finished splits),
// after every record when the watermark interval is 0 or at the interval otherwise. A subtask
// without a split is idle (as in Flink) until a live rescale hands it one. Unreadable records go
// to the dead-letter output. Its operator state is the split positions and its reader's parallelism.

import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../shared/api/connectors.ts';
import { MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP } from '../../shared/api/time.ts';
import type { WatermarkGenerator, WatermarkStrategy } from '../../shared/api/watermark-strategy.ts';
import { SluiceError } from '../../shared/errors.ts';
import type { DeadLetterOutput } from '../runtime/dead-letter.ts';
import { AbstractStreamOperator, type OperatorSnapshot } from '../runtime/stream-operator.ts';
import type { SourceOperatorState } from '../../shared/checkpoint/operator-snapshot.ts';

export type { SourceOperatorState } from '../../shared/checkpoint/operator-snapshot.ts';

export class SourceOperator extends AbstractStreamOperator implements SourceOutput<unknown> {
  private reader!: SourceReader<unknown>;
  private splits: readonly SplitState[] = [];
  private readerParallelism = 0;
  private generators: WatermarkGenerator[] = [];
  private lastActivityMs: number[] = [];
  private finishedSplits: boolean[] = [];
  private emittedWatermark = MIN_WATERMARK;
  private idle = false;
  /** Processing time at the start of the current poll; cheaper than reading the clock per record. */
  private pollTimeMs = 0;
  private readonly everyRecord: boolean;
  private readonly idlenessMs: number | undefined;
  recordsOut = 0;

  constructor(
    private readonly source: Source<unknown>,
    private readonly strategy: WatermarkStrategy<unknown>,
    watermarkIntervalMs: number,
    private readonly deadLetters: DeadLetterOutput,
  ) {
    super();
    this.everyRecord = watermarkIntervalMs === 0;
    this.idlenessMs = strategy.idlenessMs;
  }

  /** Creates the reader and hands it its splits (fresh from discovery, or from a checkpoint). */
  async initialize(splits: readonly SplitState[], parallelism = this.setupInfo.parallelism): Promise<void> {
    this.splits = splits;
    this.readerParallelism = parallelism;
    const clock = this.setupInfo.clock;
    this.reader = this.source.createReader({ subtaskIndex: this.setupInfo.subtaskIndex, parallelism, now: () => clock.now() });
    await this.reader.addSplits(splits);
    this.generators = splits.map(() => this.strategy.createGenerator());
    const now = clock.now();
    this.lastActivityMs = splits.map(() => now);
    this.finishedSplits = splits.map(() => false);
  }

  /**
   * Live rescale, right after the rescale barrier: keeps the splits in `keep` at their current
   * positions (with their watermark generators) under a new reader for the new parallelism, so
   * what it discovers later is divided as the other subtasks divide it; the other splits' positions
   * are in the checkpoint, and the subtasks that take them over read on from there. Polls wait
   * until the new reader is ready.
   */
  reassign(keep: ReadonlySet<string>, parallelism: number): Promise<void> {
    const states = this.reader.snapshotSplits();
    const kept = states.flatMap((state, i) => (keep.has(state.id) ? [i] : []));
    const generators = kept.map((i) => this.generators[i] ?? this.strategy.createGenerator());
    const lastActivityMs = kept.map((i) => this.lastActivityMs[i] ?? this.pollTimeMs);
    const finishedSplits = kept.map((i) => this.finishedSplits[i] ?? false);
    const old = this.reader;
    this.reopening = (async () => {
      await old.close();
      await this.initialize(kept.map((i) => states[i]!), parallelism);
      this.generators = generators;
      this.lastActivityMs = lastActivityMs;
      this.finishedSplits = finishedSplits;
      this.idleIfWithoutSplits();
    })().finally(() => (this.reopening = undefined));
    return this.reopening;
  }

  /** The ids of the splits the reader has, found ones included. */
  currentSplitIds(): string[] {
    return this.reader.snapshotSplits().map((s) => s.id);
  }

  /** The ids of the splits the reader has not finished: what the subtask still reads (for the status). */
  /** What the reader has yet to emit, when it can tell (SourceReader.pendingRecords). */
  pendingRecords(): number | undefined {
    return this.reader.pendingRecords?.();
  }

  unfinishedSplitIds(): string[] {
    return this.reader.snapshotSplits().flatMap((s, i) => (this.finishedSplits[i] ? [] : [s.id]));
  }

  /** Splits taken over in a live rescale, read from their checkpointed positions. */
  async addSplits(splits: readonly SplitState[]): Promise<void> {
    // The reader numbers splits in the order it got or found them: line the generators up with it.
    const known = this.reader.snapshotSplits().length;
    while (this.generators.length < known) this.discoveredSplit(this.generators.length);
    await this.reader.addSplits(splits);
    const now = this.setupInfo.clock.now();
    for (const _ of splits) {
      this.generators.push(this.strategy.createGenerator());
      this.lastActivityMs.push(now);
      this.finishedSplits.push(false);
    }
    this.splits = [...this.splits, ...splits];
    // Downstream waits for this subtask's watermark again (it does not go back for the new splits).
    if (splits.length > 0 && this.idle) this.setIdle(false);
  }

  /**
   * Before the job reads anything, and when a rescale leaves the reader no split: a subtask
   * without a split says at once that it is idle, at every watermark interval. With interval 0
   * nothing else would (it sees no record), and every watermark downstream would wait for it. A
   * bounded reader without a split still ends at its first poll.
   */
  idleIfWithoutSplits(): void {
    if (this.generators.length === 0 && !this.idle) this.setIdle(true);
  }

  /** Set while `reassign` replaces the reader. */
  private reopening: Promise<void> | undefined;

  get waitHintMs(): number {
    return this.reader.waitHintMs ?? 10;
  }

  get splitCount(): number {
    return this.splits.length;
  }

  processElement(): void {
    throw new SluiceError('a source has no input');
  }

  poll(maxRecords: number): PollStatus | Promise<PollStatus> {
    if (this.reopening) return 'wait';
    this.pollTimeMs = this.setupInfo.clock.now();
    return this.reader.poll(this, maxRecords);
  }

  collect(value: unknown, splitIndex: number, timestamp?: number): void {
    const assigner = this.strategy.timestampAssigner;
    const ts = assigner ? assigner(value, timestamp ?? NO_TIMESTAMP) : timestamp ?? NO_TIMESTAMP;
    const generator = this.generators[splitIndex] ?? this.discoveredSplit(splitIndex);
    generator.onEvent(ts);
    this.lastActivityMs[splitIndex] = this.pollTimeMs;
    if (this.idle) this.setIdle(false);
    this.recordsOut++;
    this.output.collect(value, ts);
    if (this.everyRecord) this.emitWatermarkIfAdvanced(this.pollTimeMs);
  }

  /** A split the reader found itself (partition discovery): numbered after the ones it has. */
  private discoveredSplit(splitIndex: number): WatermarkGenerator {
    if (!Number.isInteger(splitIndex) || splitIndex < 0 || splitIndex > this.generators.length + 1024) {
      throw new SluiceError(`${this.name}: the reader emitted a record for split #${splitIndex}, which it does not have`);
    }
    while (this.generators.length <= splitIndex) {
      this.generators.push(this.strategy.createGenerator());
      this.lastActivityMs.push(this.pollTimeMs);
      this.finishedSplits.push(false);
    }
    return this.generators[splitIndex]!;
  }

  deadLetter(raw: string, reason: string, position: string): void {
    this.deadLetters.write({ operator: this.name, subtask: this.setupInfo.subtaskIndex, position, reason, raw });
  }

  /** A split has no more records: it no longer holds the watermark back. */
  finishSplit(splitIndex: number): void {
    if (splitIndex >= this.generators.length) this.discoveredSplit(splitIndex);
    this.finishedSplits[splitIndex] = true;
  }

  /** Called at the watermark interval (and after every record when the interval is 0). */
  emitWatermarkIfAdvanced(nowMs: number): void {
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (let i = 0; i < this.generators.length; i++) {
      if (this.finishedSplits[i]) continue;
      if (this.idlenessMs !== undefined && nowMs - this.lastActivityMs[i]! >= this.idlenessMs) continue;
      active++;
      const wm = this.generators[i]!.currentWatermark();
      if (wm < min) min = wm;
    }
    if (active === 0) {
      // Every split is idle (or there are none): downstream stops waiting for this subtask.
      if (!this.idle && (this.idlenessMs !== undefined || this.generators.length === 0)) this.setIdle(true);
      return;
    }
    if (min > this.emittedWatermark && min !== MAX_WATERMARK) {
      this.emittedWatermark = min;
      this.output.emitWatermark(min);
    }
  }

  private setIdle(idle: boolean): void {
    this.idle = idle;
    this.output.emitIdle(idle);
  }

  /** The end of a bounded input: every event-time window downstream can fire. */
  emitFinalWatermark(): void {
    this.emittedWatermark = MAX_WATERMARK;
    if (this.idle) this.setIdle(false);
    this.output.emitWatermark(MAX_WATERMARK);
  }

  override async snapshotState(): Promise<OperatorSnapshot> {
    const state: SourceOperatorState = { splits: this.reader.snapshotSplits(), parallelism: this.readerParallelism };
    return { operatorState: state };
  }

  override async close(): Promise<void> {
    await this.reader?.close();
  }
}
