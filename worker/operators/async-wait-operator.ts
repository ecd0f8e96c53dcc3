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
import { instantiateForSubtask } from '../runtime/function-copy.ts';
import { AbstractStreamOperator, type OperatorSnapshot } from '../runtime/stream-operator.ts';

interface RecordEntry {
  readonly kind: 'record';
  readonly value: unknown;
  readonly timestamp: number;
  state: 'waiting' | 'running' | 'retrying' | 'done';
  attempts: number;
  /** Bumped by each attempt and by a timeout: an answer of an older generation is stale. */
  generation: number;
  deadlineMs: number;
  retryAtMs: number;
  results: unknown[] | undefined;
}

interface WatermarkEntry {
  readonly kind: 'watermark';
  readonly watermark: number;
}

type Entry = RecordEntry | WatermarkEntry;

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

export class AsyncWaitOperator extends AbstractStreamOperator {
  private readonly fn: AsyncFunction<unknown, unknown>;
  private readonly retry: AsyncRetryStrategy<unknown> | undefined;
  private readonly queue: Entry[] = [];
  /** Records in the queue (watermarks not counted). */
  private queuedRecords = 0;
  /** Records requested and not yet emitted: at most `capacity`. */
  private started = 0;
  /** An answer, a failure or a due deadline waits for the task's turn. */
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
    const entry: RecordEntry = { kind: 'record', value, timestamp, state: 'waiting', attempts: 0, generation: 0, deadlineMs: 0, retryAtMs: 0, results: undefined };
    this.queue.push(entry);
    this.queuedRecords++;
    if (this.started < this.spec.capacity) this.start(entry);
  }

  override processWatermark(watermark: number): void {
    if (watermark <= this.currentWatermark) return;
    this.currentWatermark = watermark;
    if (this.queue.length === 0) this.output.emitWatermark(watermark);
    else this.queue.push({ kind: 'watermark', watermark });
  }

  override hasPendingWork(): boolean {
    return this.queue.length > 0;
  }

  override isInputBlocked(): boolean {
    return this.queuedRecords >= this.spec.capacity;
  }

  override nextProcessingTimerMs(): number {
    if (this.ready) return Number.NEGATIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.queue) {
      if (entry.kind !== 'record') continue;
      if (entry.state === 'running' || entry.state === 'retrying') next = Math.min(next, entry.deadlineMs);
      if (entry.state === 'retrying') next = Math.min(next, entry.retryAtMs);
    }
    return next;
  }

  /** The task's turn: fail, time out, retry, emit what is ready, start what waits. */
  override fireProcessingTimers(nowMs: number): void {
    this.ready = false;
    if (this.failure) throw this.failure;
    for (const entry of this.queue) {
      if (entry.kind !== 'record' || (entry.state !== 'running' && entry.state !== 'retrying')) continue;
      if (nowMs >= entry.deadlineMs) this.timeOut(entry);
      else if (entry.state === 'retrying' && nowMs >= entry.retryAtMs) this.invoke(entry);
    }
    if (this.spec.ordered) this.emitInOrder();
    else this.emitAsCompleted();
    for (const entry of this.queue) {
      if (this.started >= this.spec.capacity) break;
      if (entry.kind === 'record' && entry.state === 'waiting') this.start(entry);
    }
  }

  override snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    // Captured now, before any await: the records queued at the barrier.
    const inFlight: InFlightRecord[] = [];
    for (const entry of this.queue) {
      if (entry.kind === 'record') inFlight.push({ value: entry.value, timestamp: Number.isFinite(entry.timestamp) ? entry.timestamp : null });
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
    this.invoke(entry);
  }

  private invoke(entry: RecordEntry): void {
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
    this.ready = true;
    this.wakeUp();
  }

  private complete(entry: RecordEntry, results: unknown[]): void {
    entry.state = 'done';
    entry.results = results;
    this.ready = true;
    this.wakeUp();
  }

  private timeOut(entry: RecordEntry): void {
    entry.generation++; // an answer still on its way is stale now
    if (this.fn.timeout === undefined) {
      throw new AsyncRequestError(`${this.name}: the request for record ${describe(entry.value)} timed out after ${this.spec.timeoutMs} ms (${entry.attempts} attempt(s)); give the function a timeout(input) to decide the results instead`);
    }
    this.complete(entry, [...this.fn.timeout(entry.value)]);
  }

  private fail(entry: RecordEntry, reason: string, cause?: unknown): void {
    this.failure ??= new AsyncRequestError(`${this.name}: record ${describe(entry.value)}: ${reason}`, cause === undefined ? undefined : { cause });
    this.ready = true;
    this.wakeUp();
  }

  private emitRecord(entry: RecordEntry): void {
    this.started--;
    this.queuedRecords--;
    for (const result of entry.results!) this.output.collect(result, entry.timestamp);
  }

  private emitInOrder(): void {
    let emitted = 0;
    for (; emitted < this.queue.length; emitted++) {
      const entry = this.queue[emitted]!;
      if (entry.kind === 'watermark') this.output.emitWatermark(entry.watermark);
      else if (entry.state === 'done') this.emitRecord(entry);
      else break;
    }
    if (emitted > 0) this.queue.splice(0, emitted);
  }

  /** Done records of the first segment (before the first queued watermark), then that watermark, and on. */
  private emitAsCompleted(): void {
    for (;;) {
      let kept = 0;
      let end = 0;
      for (; end < this.queue.length; end++) {
        const entry = this.queue[end]!;
        if (entry.kind === 'watermark') break;
        if (entry.state === 'done') this.emitRecord(entry);
        else this.queue[kept++] = entry;
      }
      this.queue.splice(kept, end - kept);
      const head = this.queue[0];
      if (kept > 0 || head === undefined || head.kind !== 'watermark') return;
      this.queue.shift();
      this.output.emitWatermark(head.watermark);
    }
  }
}

function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
