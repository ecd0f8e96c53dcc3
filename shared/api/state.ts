// Keyed state as the user sees it: Flink's state descriptors and state handles. Every handle
// reads and writes the value of the key of the record (or timer) being processed.

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

export class ValueStateDescriptor<T> {
  readonly kind = 'value' as const;
  readonly name: string;
  constructor(name: string, readonly defaultValue?: T) {
    this.name = checkStateName(name);
  }
}

export class ListStateDescriptor<T> {
  readonly kind = 'list' as const;
  readonly name: string;
  declare readonly elementType?: T;
  constructor(name: string) {
    this.name = checkStateName(name);
  }
}

export class MapStateDescriptor<K, V> {
  readonly kind = 'map' as const;
  readonly name: string;
  declare readonly entryType?: [K, V];
  constructor(name: string) {
    this.name = checkStateName(name);
  }
}

export class ReducingStateDescriptor<T> {
  readonly kind = 'reducing' as const;
  readonly name: string;
  constructor(name: string, readonly reduceFunction: ReduceFunction<T>) {
    this.name = checkStateName(name);
  }
}

export class AggregatingStateDescriptor<IN, ACC, OUT> {
  readonly kind = 'aggregating' as const;
  readonly name: string;
  constructor(name: string, readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>) {
    this.name = checkStateName(name);
  }
}
