// The operator behind AsyncDataStream (Flink's AsyncWaitOperator). Each input record is an entry
// in a queue, with the watermarks between them; at most `capacity` records are requested at once
// (more wait in the queue, and the task takes no input while `capacity` records are queued).
// Answers arrive on promise callbacks; they only mark their entry, and the task emits what is
// ready on its own turn (fireProcessingTimers, woken by the operator), so output never
// interleaves with a barrier or a snapshot. Timeouts and retry delays are processing-time
// deadlines on the task's clock. A snapshot holds the input of every queued record; a restore
// requests them again.

import type { AsyncFunction, AsyncOperatorSpec, AsyncRetryStrategy } from '../../shared/api/async-io.ts';
import { SluiceError, UserFunctionError } from '../../shared/errors.ts';
import { recordText } from '../../shared/record-text.ts';
import { instantiateForSubtask } from '../runtime/function-copy.ts';
import { AbstractStreamOperator, type OperatorSnapshot, type OperatorWithPendingWork } from '../runtime/stream-operator.ts';

interface RecordEntry {
  readonly kind: 'record';
  readonly value: unknown;
  readonly timestamp: number;
  state: 'waiting' | 'running' | 'retrying' | 'done' | 'emitted';
  attempts: number;
  /** Bumped by each attempt and by a timeout: an answer of an older generation is stale. */
  generation: number;
  deadlineMs: number;
  retryAtMs: number;
  results: unknown[] | undefined;
  /** Unordered mode: the stretch between two watermarks it belongs to. */
  segment: Segment | undefined;
}

interface WatermarkEntry {
  readonly kind: 'watermark';
  readonly watermark: number;
}

type Entry = RecordEntry | WatermarkEntry;

/** Unordered mode: the records between two watermarks, emitted as they complete; then its watermark. */
interface Segment {
  /** Its records not emitted yet. */
  pending: number;
  /** Its records answered and not emitted yet, in the order they were answered. */
  readonly done: RecordEntry[];
  /** The watermark that follows its records; undefined while records may still join it. */
  closingWatermark: number | undefined;
}

/** A record in flight as a checkpoint keeps it: its input; a timestamp of none is null (JSON). */
interface InFlightRecord {
  readonly value: unknown;
  readonly timestamp: number | null;
}

export interface AsyncWaitOperatorState {
  readonly inFlight: readonly InFlightRecord[];
}

/** The request of a record failed, timed out without a `timeout` function, or resolved to something that is not a list of results. */
export class AsyncRequestError extends UserFunctionError {}

/** An array used as a queue: taken from the front by an index, compacted now and then. */
class Deque<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++]!;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  last(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.items.length - 1];
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

export class AsyncWaitOperator extends AbstractStreamOperator implements OperatorWithPendingWork {
  private readonly fn: AsyncFunction<unknown, unknown>;
  private readonly retry: AsyncRetryStrategy<unknown> | undefined;
  /** Every record not emitted yet in input order (emitted ones until they reach the front); ordered mode: with the watermarks between them. */
  private readonly queue = new Deque<Entry>();
  /** Records neither emitted nor requested yet, in input order. */
  private readonly waiting = new Deque<RecordEntry>();
  /** Records requested (running or waiting to retry), in the order they were first requested: the first has the earliest deadline. */
  private readonly inFlight = new Set<RecordEntry>();
  private readonly retrying = new Set<RecordEntry>();
  /** Unordered mode: the segments with records not emitted yet, oldest first. */
  private readonly segments = new Deque<Segment>();
  /** Records not emitted yet. */
  private queuedRecords = 0;
  /** Records requested and not yet emitted: at most `capacity`. */
  private started = 0;
  /** An answer, a failure or a retry waits for the task's turn. */
  private ready = false;
  private failure: Error | undefined;
  private restored: InFlightRecord[] = [];
  private closed = false;
  private wakeUp: () => void = () => {};

  constructor(private readonly spec: AsyncOperatorSpec) {
    super();
    this.fn = instantiateForSubtask(spec.fn);
    this.retry = spec.retry;
  }

  override async open(): Promise<void> {
    this.wakeUp = this.setupInfo.wakeUp ?? this.wakeUp;
    await this.fn.open?.(this.runtimeContext());
    const restored = this.restored;
    this.restored = [];
    for (const record of restored) this.processElement(record.value, record.timestamp ?? Number.NEGATIVE_INFINITY);
  }

  processElement(value: unknown, timestamp: number): void {
    let segment: Segment | undefined;
    if (!this.spec.ordered) {
      segment = this.segments.last();
      if (segment === undefined || segment.closingWatermark !== undefined) this.segments.push((segment = { pending: 0, done: [], closingWatermark: undefined }));
      segment.pending++;
    }
    const entry: RecordEntry = { kind: 'record', value, timestamp, state: 'waiting', attempts: 0, generation: 0, deadlineMs: 0, retryAtMs: 0, results: undefined, segment };
    this.queue.push(entry);
    this.queuedRecords++;
    if (this.started < this.spec.capacity) this.start(entry);
    else this.waiting.push(entry);
  }

  override processWatermark(watermark: number): void {
    if (watermark <= this.currentWatermark) return;
    this.currentWatermark = watermark;
    if (this.queuedRecords === 0) this.output.emitWatermark(watermark);
    else if (this.spec.ordered) this.queue.push({ kind: 'watermark', watermark });
    // Unordered: the last segment ends here (a later watermark with no record between replaces this one).
    else this.segments.last()!.closingWatermark = watermark;
  }

  hasPendingWork(): boolean {
    return this.queuedRecords > 0 || (this.spec.ordered && this.queue.length > 0);
  }

  isInputBlocked(): boolean {
    return this.queuedRecords >= this.spec.capacity;
  }

  override nextProcessingTimerMs(): number {
    if (this.ready) return Number.NEGATIVE_INFINITY;
    let next = this.inFlight.size === 0 ? Number.POSITIVE_INFINITY : this.inFlight.values().next().value!.deadlineMs;
    for (const entry of this.retrying) next = Math.min(next, entry.retryAtMs);
    return next;
  }

  /** The task's turn: fail, time out, retry, emit what is ready, start what waits. */
  override fireProcessingTimers(nowMs: number): void {
    this.ready = false;
    if (this.failure) throw this.failure;
    for (let first = this.inFlight.values().next().value; first !== undefined && nowMs >= first.deadlineMs; first = this.inFlight.values().next().value) {
      this.timeOut(first);
    }
    for (const entry of this.retrying) if (nowMs >= entry.retryAtMs) this.invoke(entry);
    if (this.spec.ordered) this.emitInOrder();
    else this.emitAsCompleted();
    while (this.started < this.spec.capacity && this.waiting.length > 0) this.start(this.waiting.shift()!);
  }

  override snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    // Captured now, before any await: the records queued at the barrier.
    const inFlight: InFlightRecord[] = [];
    for (const entry of this.queue) {
      if (entry.kind === 'record' && entry.state !== 'emitted') inFlight.push({ value: entry.value, timestamp: Number.isFinite(entry.timestamp) ? entry.timestamp : null });
    }
    void checkpointId;
    const state: AsyncWaitOperatorState = { inFlight };
    return Promise.resolve(inFlight.length === 0 ? {} : { operatorState: state });
  }

  /** The in-flight records of the old subtasks this one takes over (old index modulo the parallelism), requested again at open. */
  override async restoreState(snapshots: readonly OperatorSnapshot[]): Promise<void> {
    const { subtaskIndex, parallelism } = this.setupInfo;
    snapshots.forEach((snapshot, old) => {
      if (old % parallelism !== subtaskIndex || snapshot.operatorState === undefined) return;
      const state = snapshot.operatorState as Partial<AsyncWaitOperatorState>;
      if (!Array.isArray(state.inFlight)) throw new SluiceError(`operator ${this.name}: the checkpoint's state of subtask ${old} is not an async I/O operator's (no inFlight list)`);
      this.restored.push(...state.inFlight);
    });
  }

  override async close(): Promise<void> {
    this.closed = true;
    await this.fn.close?.();
  }

  private start(entry: RecordEntry): void {
    this.started++;
    entry.deadlineMs = this.setupInfo.clock.now() + this.spec.timeoutMs;
    this.inFlight.add(entry);
    this.invoke(entry);
  }

  private invoke(entry: RecordEntry): void {
    this.retrying.delete(entry);
    entry.state = 'running';
    entry.attempts++;
    const generation = ++entry.generation;
    let answer: Promise<Iterable<unknown>>;
    try {
      answer = Promise.resolve(this.fn.asyncInvoke(entry.value));
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (results) => this.onResults(entry, generation, results),
      (error: unknown) => this.onError(entry, generation, error),
    );
  }

  private isStale(entry: RecordEntry, generation: number): boolean {
    return this.closed || entry.generation !== generation || entry.state !== 'running';
  }

  private onResults(entry: RecordEntry, generation: number, results: Iterable<unknown>): void {
    if (this.isStale(entry, generation)) return;
    if (results === null || typeof results !== 'object' || typeof (results as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      this.fail(entry, `asyncInvoke resolved to ${results === null ? 'null' : typeof results}, not a list of results (resolve to [] for none, [x] for one)`);
      return;
    }
    const list = [...results];
    if (this.retry?.resultPredicate?.(list) && this.retry.canRetry(entry.attempts)) this.retryLater(entry);
    else this.complete(entry, list);
  }

  private onError(entry: RecordEntry, generation: number, error: unknown): void {
    if (this.isStale(entry, generation)) return;
    if (this.retry?.exceptionPredicate?.(error) && this.retry.canRetry(entry.attempts)) this.retryLater(entry);
    else this.fail(entry, `the request failed after ${entry.attempts} attempt(s): ${error instanceof Error ? error.message : String(error)}`, error);
  }

  private retryLater(entry: RecordEntry): void {
    entry.state = 'retrying';
    entry.retryAtMs = this.setupInfo.clock.now() + this.retry!.getBackoffTimeMillis(entry.attempts);
    this.retrying.add(entry);
    this.ready = true;
    this.wakeUp();
  }

  private complete(entry: RecordEntry, results: unknown[]): void {
    entry.state = 'done';
    entry.results = results;
    this.inFlight.delete(entry);
    this.retrying.delete(entry);
    entry.segment?.done.push(entry);
    this.ready = true;
    this.wakeUp();
  }

  private timeOut(entry: RecordEntry): void {
    entry.generation++; // an answer still on its way is stale now
    if (this.fn.timeout === undefined) {
      throw new AsyncRequestError(`${this.name}: the request for record ${recordText(entry.value, 200)} timed out after ${this.spec.timeoutMs} ms (${entry.attempts} attempt(s)); give the function a timeout(input) to decide the results instead`);
    }
    this.complete(entry, [...this.fn.timeout(entry.value)]);
  }

  private fail(entry: RecordEntry, reason: string, cause?: unknown): void {
    this.failure ??= new AsyncRequestError(`${this.name}: record ${recordText(entry.value, 200)}: ${reason}`, cause === undefined ? undefined : { cause });
    this.ready = true;
    this.wakeUp();
  }

  private emitRecord(entry: RecordEntry): void {
    entry.state = 'emitted';
    this.started--;
    this.queuedRecords--;
    for (const result of entry.results!) this.output.collect(result, entry.timestamp);
    entry.results = undefined;
  }

  private emitInOrder(): void {
    for (let entry = this.queue.peek(); entry !== undefined; entry = this.queue.peek()) {
      if (entry.kind === 'watermark') this.output.emitWatermark(entry.watermark);
      else if (entry.state === 'done') this.emitRecord(entry);
      else return;
      this.queue.shift();
    }
  }

  /** The answered records of the oldest segment, then its watermark once all of them are out, and on. */
  private emitAsCompleted(): void {
    for (let segment = this.segments.peek(); segment !== undefined; segment = this.segments.peek()) {
      for (const entry of segment.done) this.emitRecord(entry);
      segment.pending -= segment.done.length;
      segment.done.length = 0;
      if (segment.pending > 0 || segment.closingWatermark === undefined) break;
      this.segments.shift();
      this.output.emitWatermark(segment.closingWatermark);
    }
    // The input-order queue keeps what a snapshot needs: drop the emitted records at its front.
    for (let entry = this.queue.peek(); entry !== undefined && entry.kind === 'record' && entry.state === 'emitted'; entry = this.queue.peek()) this.queue.shift();
  }
}
