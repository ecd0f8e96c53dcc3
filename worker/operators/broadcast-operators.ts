// The operators of the broadcast state pattern (shared/api/broadcast.ts): input 0 is the
// (keyed or non-keyed) stream, input 1 the broadcast one. Each subtask holds the broadcast states
// the BroadcastStream declared, written only by processBroadcastElement; a checkpoint keeps each
// subtask's copy in its operator state, and a restore gives subtask i the copy of old subtask
// i modulo the old parallelism, as Flink does (the copies are the same unless the function wrote
// different things on different subtasks).
//
// applyToKeyedState (keyed side) runs once processBroadcastElement has returned: the backend lists
// the keys holding the state (the LevelDB one asynchronously), then the function runs for each on
// the task's turn. Until every requested application has run, the operator holds its input: it
// blocks the task's input (OperatorWithPendingWork) and keeps what already reached it (the rest
// of a batch, watermarks), and fires no timer, so nothing is processed, and no barrier taken, in
// between, as in Flink where the call is synchronous.

import type {
  BroadcastContext,
  BroadcastProcessFunction,
  BroadcastState,
  KeyedBroadcastContext,
  KeyedBroadcastProcessFunction,
  KeyedStateFunctionLike,
  KeyedOnTimerBroadcastContext,
  KeyedReadOnlyBroadcastContext,
  ReadOnlyBroadcastContext,
  ReadOnlyBroadcastState,
} from '../../shared/api/broadcast.ts';
import type { OutputTag } from '../../shared/api/output-tag.ts';
import type { MapStateDescriptor, StateDescriptor } from '../../shared/api/state.ts';
import { InvalidPipelineError, RestoreError, SluiceError } from '../../shared/errors.ts';
import { AbstractStreamOperator, type OperatorSnapshot, type OperatorWithPendingWork } from '../runtime/stream-operator.ts';
import { VOID_NAMESPACE, type KeyInKeyGroup } from '../state/keyed-state-backend.ts';
import { stateTtlPolicy } from '../state/state-ttl.ts';
import type { Timer } from '../runtime/timer-service.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import { TimestampedCollector, timestampOrUndefined } from './simple-operators.ts';


/** One subtask's broadcast states: name → (key as JSON → [key, value]). */
class BroadcastStates {
  private readonly maps = new Map<string, Map<string, [unknown, unknown]>>();

  constructor(
    private readonly operatorName: string,
    descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    for (const descriptor of descriptors) this.maps.set(descriptor.name, new Map());
  }

  writable<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    const map = this.mapOf(descriptor.name);
    const read = this.readOnly(descriptor);
    return {
      ...read,
      put: (key, value) => void map.set(JSON.stringify(key), [key, value]),
      putAll: (entries) => {
        for (const [key, value] of entries) map.set(JSON.stringify(key), [key, value]);
      },
      remove: (key) => void map.delete(JSON.stringify(key)),
      clear: () => map.clear(),
    };
  }

  readOnly<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V> {
    const map = this.mapOf(descriptor.name);
    return {
      get: (key) => map.get(JSON.stringify(key))?.[1] as V | undefined,
      contains: (key) => map.has(JSON.stringify(key)),
      entries: () => (map.values() as IterableIterator<[K, V]>)[Symbol.iterator](),
      keys: () => [...map.values()].map(([key]) => key as K)[Symbol.iterator](),
    };
  }

  /** Copies, captured now. */
  snapshot(): Record<string, Array<[unknown, unknown]>> {
    const copy: Record<string, Array<[unknown, unknown]>> = {};
    for (const [name, map] of this.maps) copy[name] = structuredClone([...map.values()]);
    return copy;
  }

  restore(snapshots: readonly OperatorSnapshot[], subtaskIndex: number): void {
    const copies = snapshots.map((s) => (s.operatorState as { broadcast?: Record<string, Array<[unknown, unknown]>> } | undefined)?.broadcast).filter((b) => b !== undefined);
    if (copies.length === 0) return;
    const mine = copies[subtaskIndex % copies.length]!;
    for (const [name, entries] of Object.entries(mine)) {
      const map = this.maps.get(name);
      if (map === undefined) throw new RestoreError(`operator ${this.operatorName}: the checkpoint has broadcast state "${name}", which the BroadcastStream no longer declares`);
      for (const [key, value] of entries) map.set(JSON.stringify(key), [key, value]);
    }
  }

  private mapOf(name: string): Map<string, [unknown, unknown]> {
    const map = this.maps.get(name);
    if (map === undefined) {
      throw new InvalidPipelineError(`operator ${this.operatorName}: no broadcast state "${name}"; the BroadcastStream declares ${[...this.maps.keys()].map((n) => `"${n}"`).join(', ')}`);
    }
    return map;
  }
}

/** Shared by both: the broadcast states in snapshots and restores, and the contexts' common part. */
abstract class BroadcastOperatorBase extends AbstractStreamOperator {
  protected readonly states: BroadcastStates;
  protected readonly collector = new TimestampedCollector(this);

  constructor(name: string, descriptors: readonly MapStateDescriptor<any, any>[]) {
    super();
    this.states = new BroadcastStates(name, descriptors);
  }

  emit(value: unknown, timestamp: number): void {
    this.output.collect(value, timestamp);
  }

  protected base() {
    return {
      timestamp: () => timestampOrUndefined(this.currentTimestamp),
      output: <X>(tag: OutputTag<X>, value: X) => this.output.collectSide(tag.id, value, this.currentTimestamp),
      currentProcessingTime: () => this.setupInfo.clock.now(),
      currentWatermark: () => this.currentWatermark,
    };
  }

  protected broadcastContext(): BroadcastContext {
    return { ...this.base(), getBroadcastState: (d) => this.states.writable(d) };
  }

  override async snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    const broadcast = this.states.snapshot();
    const snapshot = await super.snapshotState(checkpointId);
    return { ...snapshot, operatorState: { ...((snapshot.operatorState as object | undefined) ?? {}), broadcast } };
  }

  override async restoreState(snapshots: readonly OperatorSnapshot[]): Promise<void> {
    this.states.restore(snapshots, this.setupInfo.subtaskIndex);
    await super.restoreState(snapshots);
  }

  protected stamp(timestamp: number): void {
    this.currentTimestamp = timestamp;
    this.collector.timestamp = timestamp;
  }
}

export class BroadcastProcessOperator extends BroadcastOperatorBase {
  private readonly readOnlyContext: ReadOnlyBroadcastContext;
  private readonly writableContext: BroadcastContext;

  constructor(
    private readonly fn: BroadcastProcessFunction<unknown, unknown, unknown>,
    descriptors: readonly MapStateDescriptor<any, any>[],
  ) {
    super('BroadcastProcess', descriptors);
    this.readOnlyContext = { ...this.base(), getBroadcastState: (d) => this.states.readOnly(d) };
    this.writableContext = this.broadcastContext();
  }

  protected override userFunction(): unknown {
    return this.fn;
  }

  override open(): void {
    this.fn.open?.(this.runtimeContext());
  }

  processElement(value: unknown, timestamp: number): void {
    this.stamp(timestamp);
    this.fn.processElement(value, this.readOnlyContext, this.collector);
  }

  override processElement2(value: unknown, timestamp: number): void {
    this.stamp(timestamp);
    this.fn.processBroadcastElement(value, this.writableContext, this.collector);
  }

  override close(): void {
    this.fn.close?.();
  }
}

/** One applyToKeyedState call, run once processBroadcastElement has returned. */
interface KeyedStateApplication {
  readonly descriptor: StateDescriptor;
  readonly state: unknown;
  readonly process: (key: unknown, state: unknown) => void;
  /** The broadcast element's: what `process` emits carries it. */
  readonly timestamp: number;
  /** Set once the backend listed them. */
  keys: readonly KeyInKeyGroup[] | undefined;
  listing: boolean;
}

/** Input that reached the operator while an application waited for its keys. */
type HeldInput =
  | { readonly kind: 'element'; readonly input: 0 | 1; readonly value: unknown; readonly timestamp: number }
  | { readonly kind: 'watermark'; readonly watermark: number }
  | { readonly kind: 'idle'; readonly idle: boolean };

export class KeyedBroadcastProcessOperator extends BroadcastOperatorBase implements OperatorWithPendingWork {
  private timers!: ReturnType<AbstractStreamOperator['userTimerService']>;
  private timeDomain: 'event-time' | 'processing-time' = 'event-time';
  private readonly keyedContext: KeyedOnTimerBroadcastContext<unknown> & KeyedReadOnlyBroadcastContext<unknown>;
  private readonly writableContext: KeyedBroadcastContext<unknown>;
  /** applyToKeyedState calls not run yet, in call order: while there is one, input is held. */
  private readonly applications: KeyedStateApplication[] = [];
  private held: HeldInput[] = [];
  private listingFailure: unknown = undefined;
  private inBroadcastElement = false;
  private wakeUp: () => void = () => {};

  constructor(
    private readonly fn: KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>,
    descriptors: readonly MapStateDescriptor<any, any>[],
  ) {
    super('KeyedBroadcastProcess', descriptors);
    this.keyedContext = {
      ...this.base(),
      getBroadcastState: (d) => this.states.readOnly(d),
      getCurrentKey: () => this.backend!.getCurrentKey(),
      timerService: () => this.timers,
      timeDomain: () => this.timeDomain,
    };
    this.writableContext = {
      ...this.broadcastContext(),
      applyToKeyedState: ((descriptor: StateDescriptor, fn: KeyedStateFunctionLike<unknown, unknown>) =>
        this.requestApplication(descriptor, fn)) as KeyedBroadcastContext<unknown>['applyToKeyedState'],
    };
  }

  protected override userFunction(): unknown {
    return this.fn;
  }

  override open(): void {
    this.wakeUp = this.setupInfo.wakeUp ?? this.wakeUp;
    this.timers = this.userTimerService();
    this.fn.open?.(this.runtimeContext());
  }

  processElement(value: unknown, timestamp: number): void {
    if (this.applications.length > 0) this.held.push({ kind: 'element', input: 0, value, timestamp });
    else this.processKeyed(value, timestamp);
  }

  override processElement2(value: unknown, timestamp: number): void {
    if (this.applications.length > 0) this.held.push({ kind: 'element', input: 1, value, timestamp });
    else this.processBroadcast(value, timestamp);
  }

  override processWatermark(watermark: number): void {
    if (this.applications.length > 0) this.held.push({ kind: 'watermark', watermark });
    else super.processWatermark(watermark);
  }

  override processIdle(idle: boolean): void {
    if (this.applications.length > 0) this.held.push({ kind: 'idle', idle });
    else super.processIdle(idle);
  }

  isInputBlocked(): boolean {
    return this.applications.length > 0;
  }

  hasPendingWork(): boolean {
    return this.applications.length > 0 || this.held.length > 0;
  }

  override nextProcessingTimerMs(): number {
    if (this.applications.length === 0) return super.nextProcessingTimerMs();
    // Listed (or failed): the task's next turn runs it. Timers wait for it.
    return this.applications[0]!.keys !== undefined || this.listingFailure !== undefined ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }

  /** The task's turn: the applications whose keys are listed run, then the held input, then the timers due. */
  override fireProcessingTimers(nowMs: number): void {
    if (this.listingFailure !== undefined) {
      throw new SluiceError(`${this.name}: applyToKeyedState could not list the keys: ${(this.listingFailure as Error).message}`, { cause: this.listingFailure });
    }
    if (this.applications.length > 0) {
      this.runApplications();
      this.releaseHeld();
      if (this.applications.length > 0) return;
    }
    super.fireProcessingTimers(nowMs);
  }

  override snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    // Barriers wait behind the held input, so this is never asked while an application waits;
    // if it were, the broadcast state would be after the element and the keyed state before it.
    if (this.applications.length > 0) {
      return Promise.reject(new SluiceError(`${this.name}: checkpoint ${checkpointId} reached it while applyToKeyedState was listing keys; declined`));
    }
    return super.snapshotState(checkpointId);
  }

  private processKeyed(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 0);
    this.stamp(timestamp);
    this.fn.processElement(value, this.keyedContext, this.collector);
  }

  /** The broadcast side has no key: keyed state only through applyToKeyedState, no timers. */
  private processBroadcast(value: unknown, timestamp: number): void {
    this.stamp(timestamp);
    this.inBroadcastElement = true;
    try {
      this.fn.processBroadcastElement(value, this.writableContext, this.collector);
    } finally {
      this.inBroadcastElement = false;
    }
    this.runApplications();
  }

  private requestApplication(descriptor: StateDescriptor, fn: KeyedStateFunctionLike<unknown, unknown>): void {
    if (!this.inBroadcastElement) throw new SluiceError(`${this.name}: applyToKeyedState can only be called while processBroadcastElement runs`);
    const process = typeof fn === 'function' ? fn : typeof fn?.process === 'function' ? (key: unknown, state: unknown) => fn.process(key, state) : undefined;
    if (process === undefined) throw new TypeError(`${this.name}: applyToKeyedState takes a KeyedStateFunction ({ process(key, state) }) or a function (key, state)`);
    // Registered now: the state's time-to-live and the backend's table are there before the keys are listed.
    const state = this.getStateHandle(descriptor);
    this.applications.push({ descriptor, state, process, timestamp: this.currentTimestamp, keys: undefined, listing: false });
  }

  /** Runs the requested applications in order, as long as their keys are listed; the first one still listing stops it. */
  private runApplications(): void {
    while (this.applications.length > 0) {
      const application = this.applications[0]!;
      if (application.keys === undefined) {
        if (application.listing) return;
        const keys = this.backend!.keysWithState(application.descriptor.name, VOID_NAMESPACE);
        if (keys instanceof Promise) {
          application.listing = true;
          keys.then(
            (listed) => {
              application.keys = listed;
              this.wakeUp();
            },
            (error: unknown) => {
              this.listingFailure ??= error;
              this.wakeUp();
            },
          );
          return;
        }
        application.keys = keys;
      }
      this.applications.shift();
      this.apply(application);
    }
  }

  /** Flink's applyToAllKeys: `process` for each listed key still holding an unexpired value, that key current. */
  private apply({ descriptor, state, process, timestamp, keys }: KeyedStateApplication): void {
    const backend = this.backend!;
    const table = backend.getTable<unknown>(descriptor.name);
    const ttl = descriptor.ttlConfig === undefined ? undefined : stateTtlPolicy(descriptor, descriptor.ttlConfig, this.setupInfo.clock);
    const nowMs = ttl === undefined ? 0 : this.setupInfo.clock.now();
    this.stamp(timestamp);
    for (const { key, keyGroup } of keys!) {
      backend.setCurrentKey(key, keyGroup);
      // The raw value, read as the function's first access would: none (a TTL sweep took it) or expired is not visited.
      const stored = table.get(VOID_NAMESPACE);
      if (stored === undefined || (ttl !== undefined && ttl.pruneExpired(stored, nowMs) === undefined)) continue;
      process(key, state);
    }
  }

  /** The input held while applications waited, in arrival order, until one has to wait again. */
  private releaseHeld(): void {
    let next = 0;
    try {
      while (next < this.held.length && this.applications.length === 0) {
        const input = this.held[next++]!;
        if (input.kind === 'watermark') super.processWatermark(input.watermark);
        else if (input.kind === 'idle') super.processIdle(input.idle);
        else if (input.input === 0) this.processKeyed(input.value, input.timestamp);
        else this.processBroadcast(input.value, input.timestamp);
      }
    } finally {
      // What a new application's wait left behind stays first, before input that arrives later.
      this.held = this.held.slice(next);
    }
  }

  protected override onEventTime(timer: Timer): void {
    this.fire(timer, 'event-time');
  }

  protected override onProcessingTime(timer: Timer): void {
    this.fire(timer, 'processing-time');
  }

  private fire(timer: Timer, domain: 'event-time' | 'processing-time'): void {
    this.timeDomain = domain;
    // As Flink: records emitted from an event-time timer carry the timer's time.
    this.stamp(domain === 'event-time' ? timer.timestamp : NO_TIMESTAMP);
    this.fn.onTimer?.(timer.timestamp, this.keyedContext, this.collector);
  }

  override close(): void {
    this.fn.close?.();
  }
}
