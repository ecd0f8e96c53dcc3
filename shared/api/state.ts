// Keyed state as the user sees it: Flink's state descriptors and state handles. Every handle
// reads and writes the value of the key of the record (or timer) being processed.

import type { StateTtlConfig } from './state-ttl.ts';

export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export interface ListState<T> {
  get(): readonly T[];
  add(value: T): void;
  addAll(values: readonly T[]): void;
  update(values: readonly T[]): void;
  clear(): void;
}

export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  remove(key: K): void;
  contains(key: K): boolean;
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
  clear(): void;
}

export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}

/** Flink's AggregateFunction: an accumulator that grows one value at a time. */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  /** Needed for session windows, which merge accumulators when sessions merge. */
  merge?(a: ACC, b: ACC): ACC;
}

export type ReduceFunction<T> = (a: T, b: T) => T;

export type StateDescriptor =
  | ValueStateDescriptor<any>
  | ListStateDescriptor<any>
  | MapStateDescriptor<any, any>
  | ReducingStateDescriptor<any>
  | AggregatingStateDescriptor<any, any, any>;

function checkStateName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('a state descriptor needs a non-empty name');
  if (name.startsWith('__')) throw new TypeError(`state name "${name}": names starting with "__" are reserved for Sluice`);
  return name;
}

/** What every descriptor has: the state's name and, once enableTimeToLive was called, its time-to-live. */
export abstract class AbstractStateDescriptor {
  readonly name: string;
  private ttl: StateTtlConfig | undefined = undefined;

  constructor(name: string) {
    this.name = checkStateName(name);
  }

  /**
   * Flink's enableTimeToLive: values of this state expire `config.ttlMs` of processing time after
   * their last update (per element for a list, per entry for a map). Decide it when the state is
   * created: as in Flink, a state written without a time-to-live cannot be read with one (refused
   * when read) or the other way round (not detected: reads would see the stored timestamps); give
   * the state a new name instead.
   */
  enableTimeToLive(config: StateTtlConfig): this {
    if (typeof config?.ttlMs !== 'number' || config.cleanupStrategies === undefined) {
      throw new TypeError(`state "${this.name}": enableTimeToLive takes a StateTtlConfig, built with StateTtlConfig.newBuilder(ttlMs)…build()`);
    }
    this.ttl = config;
    return this;
  }

  /** The time-to-live, or undefined if it was not enabled (Flink's getTtlConfig). */
  get ttlConfig(): StateTtlConfig | undefined {
    return this.ttl;
  }
}

export class ValueStateDescriptor<T> extends AbstractStateDescriptor {
  readonly kind = 'value' as const;
  constructor(name: string, readonly defaultValue?: T) {
    super(name);
  }
}

export class ListStateDescriptor<T> extends AbstractStateDescriptor {
  readonly kind = 'list' as const;
  declare readonly elementType?: T;
}

export class MapStateDescriptor<K, V> extends AbstractStateDescriptor {
  readonly kind = 'map' as const;
  declare readonly entryType?: [K, V];
}

export class ReducingStateDescriptor<T> extends AbstractStateDescriptor {
  readonly kind = 'reducing' as const;
  constructor(name: string, readonly reduceFunction: ReduceFunction<T>) {
    super(name);
  }
}

export class AggregatingStateDescriptor<IN, ACC, OUT> extends AbstractStateDescriptor {
  readonly kind = 'aggregating' as const;
  constructor(name: string, readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>) {
    super(name);
  }
}
