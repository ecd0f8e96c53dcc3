// The producer's end of one remote channel: a ChannelTarget whose events are encoded at once and
// sent as EVENT frames on the connection to the consumer's worker, under credit-based flow control
// (Flink's credit-based network stack). Each records batch spends one credit; the consumer grants
// `initialCredits` when it registers the channel and returns credit as its task takes batches.
// Watermarks, idleness, barriers and end need no credit but queue behind records, so nothing
// overtakes. Until the first grant nothing is sent at all: the consumer accepts no events for a
// channel it has not registered. A channel with `maxPendingBatches` batches waiting reports
// !writable, and `onWritable` tells the producer when to go on, which is how a slow consumer
// backpressures its producers and memory stays bounded.

import type { ChannelEvent, ChannelTarget } from '../runtime/exchange.ts';
import { SluiceError } from '../../shared/errors.ts';
import type { ChannelEventEncoder } from './record-batch-codec.ts';
import { encodeCloseFrame, encodeOpenFrame, writeEventFrameHeader } from './frame.ts';
import type { PeerConnection } from './peer-connection.ts';

export interface RemoteOutputChannel extends ChannelTarget {
  /** False while `pendingBatches` has reached maxPendingBatches: the producer should pause until onWritable. */
  readonly writable: boolean;
  /** Records batches encoded and waiting for credit or for the socket. */
  readonly pendingBatches: number;
  /** Records batches the consumer can take now. */
  readonly credits: number;
}

/** The data plane could not carry a channel: its connection failed, or an event cannot be framed. */
export class DataPlaneError extends SluiceError {
  override readonly domain = 'external' as const;
}

type ChannelState = 'opening' | 'open' | 'released' | 'failed';

const KIND_CONTROL = 0;
const KIND_RECORDS = 1;
const KIND_WATERMARK = 2;

interface QueuedFrame {
  frame: Buffer;
  readonly kind: number;
}

export class DefaultRemoteOutputChannel implements RemoteOutputChannel {
  private state: ChannelState = 'opening';
  private queue: QueuedFrame[] = [];
  private head = 0;
  private pendingRecordBatches = 0;
  private creditsAvailable = 0;
  private endSent = false;
  private failure: Error | undefined;

  constructor(
    readonly channelKey: string,
    readonly channelId: number,
    readonly connection: PeerConnection,
    private readonly encoder: ChannelEventEncoder,
    private readonly limits: { readonly maxPendingBatches: number; readonly maxFrameBytes: number },
    private readonly onWritable: (() => void) | undefined,
  ) {
    connection.send(encodeOpenFrame(channelId, channelKey));
  }

  get writable(): boolean {
    // A failed channel says writable, so a paused producer wakes and its next push throws why.
    return this.pendingRecordBatches < this.limits.maxPendingBatches || this.state === 'released' || this.state === 'failed';
  }

  get pendingBatches(): number {
    return this.pendingRecordBatches;
  }

  get credits(): number {
    return this.creditsAvailable;
  }

  /** Still owes the consumer something: not released, not failed, and not ended with everything sent. */
  get live(): boolean {
    return this.state === 'opening' || (this.state === 'open' && !(this.endSent && this.head === this.queue.length));
  }

  push(event: ChannelEvent): void {
    if (this.state === 'released') return; // a cancelled attempt: nobody is listening
    if (this.state === 'failed') throw this.failure!;
    const frame = writeEventFrameHeader(this.encoder.encode(event), this.channelId);
    if (frame.length > this.limits.maxFrameBytes) {
      const what = event.kind === 'records' ? `a batch of ${event.values.length} records` : `a ${event.kind} event`;
      throw new DataPlaneError(
        `${what} on channel ${this.channelKey} encodes to ${frame.length} bytes, more than maxFrameBytes ${this.limits.maxFrameBytes}: lower the batch size or raise maxFrameBytes`,
      );
    }
    const kind = event.kind === 'records' ? KIND_RECORDS : event.kind === 'watermark' ? KIND_WATERMARK : KIND_CONTROL;
    if (event.kind === 'end') this.endSent = true;
    if (this.head === this.queue.length) {
      if (this.canSend(kind)) {
        this.send(frame, kind);
        return;
      }
    } else if (kind === KIND_WATERMARK && this.queue[this.queue.length - 1]!.kind === KIND_WATERMARK) {
      // A watermark not yet sent is overtaken by a later one: keep only the latest.
      this.queue[this.queue.length - 1]!.frame = frame;
      return;
    }
    this.queue.push({ frame, kind });
    if (kind === KIND_RECORDS) this.pendingRecordBatches++;
  }

  /** The consumer granted `credits` more batches (the first grant opens the channel). */
  grant(credits: number): void {
    if (this.state === 'opening') this.state = 'open';
    else if (this.state !== 'open') return;
    this.creditsAvailable += credits;
    this.drain();
  }

  /** Sends what credit and the socket allow; tells the producer if it may go on. */
  drain(): void {
    if (this.state !== 'open') return;
    const wasWritable = this.writable;
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      if (!this.canSend(next.kind)) break;
      this.queue[this.head++] = undefined as unknown as QueuedFrame;
      if (next.kind === KIND_RECORDS) this.pendingRecordBatches--;
      this.send(next.frame, next.kind);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (!wasWritable && this.writable) this.onWritable?.();
  }

  /** Forgets the channel (a cancelled attempt): drops what is queued and tells the consumer. */
  release(): void {
    if (this.state === 'released') return;
    const wasFailed = this.state === 'failed';
    this.state = 'released';
    this.dropQueue();
    if (!wasFailed) this.connection.send(encodeCloseFrame(this.channelId));
  }

  /** The connection failed: what is queued is lost, and every later push throws `error`. */
  fail(error: Error): void {
    if (this.state === 'released' || this.state === 'failed') return;
    const wasWritable = this.writable;
    this.state = 'failed';
    this.failure = new DataPlaneError(`channel ${this.channelKey}: ${error.message}`, { cause: error, retriable: true });
    this.dropQueue();
    if (!wasWritable) this.onWritable?.();
  }

  private dropQueue(): void {
    this.queue = [];
    this.head = 0;
    this.pendingRecordBatches = 0;
  }

  private canSend(kind: number): boolean {
    return this.state === 'open' && this.connection.socketWritable && (kind !== KIND_RECORDS || this.creditsAvailable > 0);
  }

  private send(frame: Buffer, kind: number): void {
    if (kind === KIND_RECORDS) this.creditsAvailable--;
    this.connection.send(frame);
  }
}
