// The broadcast state pattern, as Flink's: `rules.broadcast(descriptor)` sends every rule to every
// subtask of the operator it is connected to, where processBroadcastElement writes it into
// broadcast state (a map, the same on every subtask); `events.keyBy(k).connect(broadcastRules)
// .process(fn)` reads that state, read-only, for each event. Broadcast state is in every
// checkpoint and restored on every subtask, at any parallelism (a job with it rescales by
// restart). Keyed state and timers work on the keyed side as in a KeyedProcessFunction; on the
// broadcast side, `ctx.applyToKeyedState(descriptor, fn)` runs fn on the state of every key of the
// subtask that holds one (a rule removed: its per-key state cleared everywhere).

import { InvalidPipelineError } from '../errors.ts';
import type { DataStream, SingleOutputStreamOperator } from './data-stream.ts';
import type { Collector, FunctionOrFactory, KeyedProcessContext, OnTimerContext, RuntimeContext } from './functions.ts';
import type { OperatorNode } from './graph.ts';
import type { OutputTag } from './output-tag.ts';
import {
  MapStateDescriptor,
  type AggregatingState,
  type AggregatingStateDescriptor,
  type ListState,
  type ListStateDescriptor,
  type MapState,
  type ReducingState,
  type ReducingStateDescriptor,
  type ValueState,
  type ValueStateDescriptor,
} from './state.ts';

export interface ReadOnlyBroadcastState<K, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
}

export interface BroadcastState<K, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  remove(key: K): void;
  clear(): void;
}

interface BroadcastContextBase {
  /** The event timestamp of the element being processed, or undefined if it has none. */
  timestamp(): number | undefined;
  output<X>(tag: OutputTag<X>, value: X): void;
  currentProcessingTime(): number;
  currentWatermark(): number;
}

/** processElement's context: the broadcast state is read-only on the non-broadcast side. */
export interface ReadOnlyBroadcastContext extends BroadcastContextBase {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V>;
}

/** processBroadcastElement's context: the broadcast state is writable. */
export interface BroadcastContext extends BroadcastContextBase {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>;
}

/** Flink's KeyedStateFunction: what applyToKeyedState runs once per key, `state` being that key's. */
export interface KeyedStateFunction<K, S> {
  process(key: K, state: S): void;
}

/** A KeyedStateFunction, or its `process` alone. */
export type KeyedStateFunctionLike<K, S> = KeyedStateFunction<K, S> | ((key: K, state: S) => void);

/**
 * processBroadcastElement's context on a keyed stream: the broadcast state is writable, and
 * applyToKeyedState reaches the keyed state of every key (Flink's KeyedBroadcastProcessFunction.Context).
 */
export interface KeyedBroadcastContext<K> extends BroadcastContext {
  /**
   * Runs `fn` once for each key of this subtask that holds a value of `descriptor`'s state
   * (plain keyed state, not a window's), with `state` bound to that key: reads, updates and
   * clear act on that key's value. Values expired by a time-to-live are left out. Keys come in
   * key-group order.
   *
   * Unlike Flink, `fn` runs once processBroadcastElement has returned (the LevelDB backend reads
   * the keys from disk), on every backend alike: code after this call in processBroadcastElement
   * does not see its effects yet. Nothing else happens on this subtask in between: the elements
   * of both inputs, watermarks, timers and checkpoint barriers that follow wait until `fn` has
   * run for every key. Several calls run in the order they were made.
   */
  applyToKeyedState<T>(descriptor: ValueStateDescriptor<T>, fn: KeyedStateFunctionLike<K, ValueState<T>>): void;
  applyToKeyedState<T>(descriptor: ListStateDescriptor<T>, fn: KeyedStateFunctionLike<K, ListState<T>>): void;
  applyToKeyedState<MK, MV>(descriptor: MapStateDescriptor<MK, MV>, fn: KeyedStateFunctionLike<K, MapState<MK, MV>>): void;
  applyToKeyedState<T>(descriptor: ReducingStateDescriptor<T>, fn: KeyedStateFunctionLike<K, ReducingState<T>>): void;
  applyToKeyedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>, fn: KeyedStateFunctionLike<K, AggregatingState<IN, OUT>>): void;
}

export interface KeyedReadOnlyBroadcastContext<K> extends ReadOnlyBroadcastContext, Omit<KeyedProcessContext<K>, 'timestamp' | 'output'> {}

export interface KeyedOnTimerBroadcastContext<K> extends OnTimerContext<K> {
  getBroadcastState<BK, BV>(descriptor: MapStateDescriptor<BK, BV>): ReadOnlyBroadcastState<BK, BV>;
}

interface Lifecycle {
  open?(context: RuntimeContext): void;
  close?(): void;
}

/** Flink's BroadcastProcessFunction: a non-keyed stream connected with a broadcast one. */
export interface BroadcastProcessFunction<IN1, IN2, OUT> extends Lifecycle {
  processElement(value: IN1, ctx: ReadOnlyBroadcastContext, out: Collector<OUT>): void;
  processBroadcastElement(value: IN2, ctx: BroadcastContext, out: Collector<OUT>): void;
}

/** Flink's KeyedBroadcastProcessFunction: a keyed stream connected with a broadcast one. */
export interface KeyedBroadcastProcessFunction<K, IN1, IN2, OUT> extends Lifecycle {
  processElement(value: IN1, ctx: KeyedReadOnlyBroadcastContext<K>, out: Collector<OUT>): void;
  processBroadcastElement(value: IN2, ctx: KeyedBroadcastContext<K>, out: Collector<OUT>): void;
  onTimer?(timestampMs: number, ctx: KeyedOnTimerBroadcastContext<K>, out: Collector<OUT>): void;
}

/** A stream whose records go to every subtask, with the broadcast states they may be written into. */
export class BroadcastStream<T> {
  constructor(
    /** The records, partitioned to every subtask. */
    readonly stream: DataStream<T>,
    readonly descriptors: readonly MapStateDescriptor<any, any>[],
  ) {
    if (descriptors.length === 0) throw new InvalidPipelineError('broadcast(descriptor, …): give at least one MapStateDescriptor for the broadcast state');
    for (const descriptor of descriptors) {
      if (!(descriptor instanceof MapStateDescriptor)) throw new InvalidPipelineError('broadcast(descriptor, …): broadcast state is a map: give MapStateDescriptors');
    }
    const names = descriptors.map((d) => d.name);
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated !== undefined) throw new InvalidPipelineError(`broadcast(descriptor, …): broadcast state "${repeated}" is named twice`);
  }
}

/** A (keyed or non-keyed) stream connected with a broadcast stream: `process` adds the operator. */
export class BroadcastConnectedStream<A, B> {
  constructor(
    private readonly first: DataStream<A>,
    private readonly broadcast: BroadcastStream<B>,
  ) {}

  process<R>(fn: FunctionOrFactory<BroadcastProcessFunction<A, B, R>> | FunctionOrFactory<KeyedBroadcastProcessFunction<any, A, B, R>>): SingleOutputStreamOperator<R> {
    const firstKey = this.first.keySelectorIfKeyed;
    const keyed = firstKey !== undefined;
    const node: Omit<OperatorNode, 'id'> = {
      kind: 'operator',
      name: keyed ? 'KeyedBroadcastProcess' : 'BroadcastProcess',
      uid: undefined,
      parallelism: undefined,
      maxParallelism: undefined,
      operator: { kind: keyed ? 'keyed-broadcast-process' : 'broadcast-process', fn, descriptors: this.broadcast.descriptors },
      inputCount: 2,
      keySelectors: [firstKey, undefined],
    };
    return this.first.addTwoInputOperator<R>(node, this.broadcast.stream);
  }
}
