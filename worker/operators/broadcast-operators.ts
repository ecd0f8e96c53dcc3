// The operators of the broadcast state pattern (shared/api/broadcast.ts): input 0 is the
// (keyed or non-keyed) stream, input 1 the broadcast one. Each subtask holds the broadcast states
// the BroadcastStream declared, written only by processBroadcastElement; a checkpoint keeps each
// subtask's copy in its operator state, and a restore gives subtask i the copy of old subtask
// i modulo the old parallelism, as Flink does (the copies are the same unless the function wrote
// different things on different subtasks).

import type {
  BroadcastContext,
  BroadcastProcessFunction,
  BroadcastState,
  KeyedBroadcastProcessFunction,
  KeyedOnTimerBroadcastContext,
  KeyedReadOnlyBroadcastContext,
  ReadOnlyBroadcastContext,
  ReadOnlyBroadcastState,
} from '../../shared/api/broadcast.ts';
import type { OutputTag } from '../../shared/api/output-tag.ts';
import type { MapStateDescriptor } from '../../shared/api/state.ts';
import { InvalidPipelineError, RestoreError } from '../../shared/errors.ts';
import { AbstractStreamOperator, type OperatorSnapshot } from '../runtime/stream-operator.ts';
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

export class KeyedBroadcastProcessOperator extends BroadcastOperatorBase {
  private timers!: ReturnType<AbstractStreamOperator['userTimerService']>;
  private timeDomain: 'event-time' | 'processing-time' = 'event-time';
  private readonly keyedContext: KeyedOnTimerBroadcastContext<unknown> & KeyedReadOnlyBroadcastContext<unknown>;
  private readonly writableContext: BroadcastContext;

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
    this.writableContext = this.broadcastContext();
  }

  protected override userFunction(): unknown {
    return this.fn;
  }

  override open(): void {
    this.timers = this.userTimerService();
    this.fn.open?.(this.runtimeContext());
  }

  processElement(value: unknown, timestamp: number): void {
    this.setKeyContext(value, 0);
    this.stamp(timestamp);
    this.fn.processElement(value, this.keyedContext, this.collector);
  }

  /** The broadcast side has no key: no keyed state or timers here. */
  override processElement2(value: unknown, timestamp: number): void {
    this.stamp(timestamp);
    this.fn.processBroadcastElement(value, this.writableContext, this.collector);
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
