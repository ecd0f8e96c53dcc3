// Exchanges between tasks: a producer subtask's ExchangeOutput partitions records (hash by key
// group, round-robin, broadcast or forward) into per-target batches and appends them to the
// target subtask's InputChannel, with watermarks, barriers and end-of-input in band. Records move
// as batches of many, never one message per record (ARCHITECTURE.md, decision 7).

import type { KeySelector } from '../../shared/api/functions.ts';
import type { Partitioning } from '../../shared/api/graph.ts';
import { assignToKeyGroup } from '../../shared/key-groups.ts';
import type { Output } from './output.ts';

export type ChannelEvent =
  | { readonly kind: 'records'; readonly values: unknown[]; readonly timestamps: number[] }
  | { readonly kind: 'watermark'; readonly watermark: number }
  | { readonly kind: 'idle'; readonly idle: boolean }
  | { readonly kind: 'barrier'; readonly checkpointId: number }
  | { readonly kind: 'end' };

/** Where an ExchangeOutput sends one target's events: a local InputChannel or a remote channel. */
export interface ChannelTarget {
  push(event: ChannelEvent): void;
  /** False while a remote target has no credit and its queue is full: the producer must pause. */
  readonly writable?: boolean;
}

/**
 * Batches a channel from a producer in the same process holds before that producer pauses. More
 * than the data plane's 8 credits: with 8, a local producer paused so often that Nexmark q1 and q5
 * on a cluster ran ~25 % slower; 32 (at most ~32 K records) measured as fast as no bound.
 */
const LOCAL_CHANNEL_BATCHES = 32;

/** One producer subtask's link into one consumer subtask, for one input of the consumer. */
export class InputChannel implements ChannelTarget {
  private queue: ChannelEvent[] = [];
  private head = 0;
  /** Set while barrier alignment holds this channel back. */
  blocked = false;
  ended = false;
  watermark = Number.NEGATIVE_INFINITY;
  idle = false;
  /** Records queued and not yet processed, for backpressure and metrics. */
  queuedRecords = 0;
  private queuedBatches = 0;
  /**
   * Called by take() for each records batch taken, with its record count: the data plane sets it
   * on a channel fed by a remote producer, to return credit. Unset for local channels.
   */
  onRecordsTaken: ((recordCount: number) => void) | undefined = undefined;

  constructor(
    readonly inputIndex: 0 | 1,
    readonly description: string,
    private readonly onData: () => void,
  ) {}

  /**
   * For a producer in the same process (a remote one has the data plane's credit): false once
   * LOCAL_CHANNEL_BATCHES batches wait, so a fast producer pauses instead of queueing without
   * bound in front of a slow consumer (and in front of the barriers it will send).
   */
  get writable(): boolean {
    return this.queuedBatches < LOCAL_CHANNEL_BATCHES;
  }

  push(event: ChannelEvent): void {
    if (event.kind === 'records') {
      this.queuedRecords += event.values.length;
      this.queuedBatches++;
    }
    this.queue.push(event);
    this.onData();
  }

  peek(): ChannelEvent | undefined {
    return this.head < this.queue.length ? this.queue[this.head] : undefined;
  }

  take(): ChannelEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const event = this.queue[this.head++]!;
    // Processed events must not stay reachable: drop them when the queue runs empty (the usual
    // case, every round) or when they are most of a long queue.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (event.kind === 'records') {
      this.queuedRecords -= event.values.length;
      this.queuedBatches--;
      if (this.onRecordsTaken !== undefined) this.onRecordsTaken(event.values.length);
    }
    return event;
  }

  get isEmpty(): boolean {
    return this.head >= this.queue.length;
  }
}

export interface ExchangeOptions {
  readonly partitioning: Partitioning;
  readonly keySelector?: KeySelector<any, any>;
  readonly maxParallelism: number;
  readonly producerIndex: number;
  readonly batchSize: number;
}

export class ExchangeOutput implements Output {
  private values: unknown[][];
  private timestamps: number[][];
  private nextRoundRobin: number;
  private parallelism: number;
  /** What the targets were last told, for targets that join in a rescale. */
  private lastWatermark: number | undefined;
  private lastIdle = false;
  /** Armed by a live rescale: at barrier `checkpointId` the records go to `targets` instead. */
  private rescale: { readonly checkpointId: number; readonly targets: readonly ChannelTarget[] } | undefined;
  recordsOut = 0;

  constructor(private targets: readonly ChannelTarget[], private readonly options: ExchangeOptions) {
    this.parallelism = targets.length;
    this.values = targets.map(() => []);
    this.timestamps = targets.map(() => []);
    this.nextRoundRobin = options.producerIndex % targets.length;
  }

  /** Where records for consumer `index` (in partitioning order) go. */
  targetOf(index: number): ChannelTarget {
    const target = this.targets[index];
    if (target === undefined) throw new RangeError(`exchange has no target ${index} (it has ${this.targets.length})`);
    return target;
  }

  /**
   * Live rescale: the barrier of checkpoint `checkpointId` also goes to the targets that are new in
   * `targets` (one per consumer subtask at the new parallelism, in subtask order), and every record
   * after it is partitioned over `targets`. Consumers that are not in `targets` get nothing more.
   */
  prepareRescale(checkpointId: number, targets: readonly ChannelTarget[]): void {
    if (targets.length === 0) throw new Error('a rescaled exchange needs at least one target');
    this.rescale = { checkpointId, targets };
  }

  collect(value: unknown, timestamp: number): void {
    this.recordsOut++;
    switch (this.options.partitioning) {
      case 'hash': {
        const keyGroup = assignToKeyGroup(this.options.keySelector!(value), this.options.maxParallelism);
        this.append(Math.floor((keyGroup * this.parallelism) / this.options.maxParallelism), value, timestamp);
        return;
      }
      case 'forward':
        // A forward exchange has one target: the consumer subtask with the producer's index.
        this.append(0, value, timestamp);
        return;
      case 'rebalance': {
        const target = this.nextRoundRobin;
        this.nextRoundRobin = target + 1 === this.parallelism ? 0 : target + 1;
        this.append(target, value, timestamp);
        return;
      }
      case 'broadcast':
        for (let t = 0; t < this.parallelism; t++) this.append(t, value, timestamp);
        return;
    }
  }

  private append(target: number, value: unknown, timestamp: number): void {
    const values = this.values[target]!;
    values.push(value);
    this.timestamps[target]!.push(timestamp);
    if (values.length >= this.options.batchSize) this.flushTarget(target);
  }

  collectSide(): void {}

  emitWatermark(watermark: number): void {
    this.lastWatermark = watermark;
    this.broadcastEvent({ kind: 'watermark', watermark });
  }

  emitIdle(idle: boolean): void {
    this.lastIdle = idle;
    this.broadcastEvent({ kind: 'idle', idle });
  }

  emitBarrier(checkpointId: number): void {
    this.broadcastEvent({ kind: 'barrier', checkpointId });
    const rescale = this.rescale;
    if (rescale === undefined || rescale.checkpointId !== checkpointId) return;
    this.rescale = undefined;
    const joining = rescale.targets.filter((t) => !this.targets.includes(t));
    for (const target of joining) {
      target.push({ kind: 'barrier', checkpointId });
      if (this.lastWatermark !== undefined) target.push({ kind: 'watermark', watermark: this.lastWatermark });
      if (this.lastIdle) target.push({ kind: 'idle', idle: true });
    }
    this.targets = rescale.targets;
    this.parallelism = rescale.targets.length;
    this.values = rescale.targets.map(() => []);
    this.timestamps = rescale.targets.map(() => []);
    this.nextRoundRobin = this.options.producerIndex % this.parallelism;
  }

  emitEnd(): void {
    this.broadcastEvent({ kind: 'end' });
  }

  /** False when some target cannot take more now (backpressure from a remote consumer). */
  isWritable(): boolean {
    for (const target of this.targets) if (target.writable === false) return false;
    return true;
  }

  /** Ships every partial batch (the buffer timeout of the embedded scheduler). */
  flush(): void {
    for (let t = 0; t < this.parallelism; t++) if (this.values[t]!.length > 0) this.flushTarget(t);
  }

  private flushTarget(target: number): void {
    this.targets[target]!.push({ kind: 'records', values: this.values[target]!, timestamps: this.timestamps[target]! });
    this.values[target] = [];
    this.timestamps[target] = [];
  }

  private broadcastEvent(event: ChannelEvent): void {
    this.flush();
    for (const target of this.targets) target.push(event);
  }
}
