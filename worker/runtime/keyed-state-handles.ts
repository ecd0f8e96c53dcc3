// The user-facing state handles (ValueState, ListState, …) over a backend's StateTable. Each
// reads and writes the backend's current key; `namespace` scopes it (a window for trigger state,
// VOID_NAMESPACE for a process function's state).

import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  StateDescriptor,
  ValueState,
} from '../../shared/api/state.ts';
import { VOID_NAMESPACE, type Namespace, type StateTable } from '../state/keyed-state-backend.ts';
import type { StateTtlPolicy } from '../state/state-ttl.ts';
import { createTtlStateHandle, type AnyTtlStateHandle } from './ttl-state-handles.ts';

export class TableValueState<T> implements ValueState<T> {
  namespace: Namespace = VOID_NAMESPACE;
  constructor(private readonly table: StateTable<T>, private readonly defaultValue: T | undefined) {}
  value(): T | undefined {
    const v = this.table.get(this.namespace);
    return v === undefined ? this.defaultValue : v;
  }
  update(value: T): void {
    if (value === undefined) this.table.remove(this.namespace);
    else this.table.put(this.namespace, value);
  }
  clear(): void {
    this.table.remove(this.namespace);
  }
}

export class TableListState<T> implements ListState<T> {
  namespace: Namespace = VOID_NAMESPACE;
  constructor(private readonly table: StateTable<T[]>) {}
  /** A copy: the caller may keep or emit it while the state grows (as with RocksDB's fresh lists). */
  get(): readonly T[] {
    const list = this.table.get(this.namespace);
    return list === undefined ? [] : list.slice();
  }
  add(value: T): void {
    const list = this.table.get(this.namespace);
    if (list) {
      list.push(value);
      this.table.put(this.namespace, list);
    } else this.table.put(this.namespace, [value]);
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    const list = this.table.get(this.namespace) ?? [];
    for (const v of values) list.push(v);
    this.table.put(this.namespace, list);
  }
  update(values: readonly T[]): void {
    if (values.length === 0) this.table.remove(this.namespace);
    else this.table.put(this.namespace, [...values]);
  }
  clear(): void {
    this.table.remove(this.namespace);
  }
}

export class TableMapState<K, V> implements MapState<K, V> {
  namespace: Namespace = VOID_NAMESPACE;
  constructor(private readonly table: StateTable<Map<K, V>>) {}
  private map(): Map<K, V> | undefined {
    return this.table.get(this.namespace);
  }
  get(key: K): V | undefined {
    return this.map()?.get(key);
  }
  put(key: K, value: V): void {
    const map = this.map() ?? new Map<K, V>();
    map.set(key, value);
    this.table.put(this.namespace, map);
  }
  putAll(entries: Iterable<readonly [K, V]>): void {
    const map = this.map() ?? new Map<K, V>();
    for (const [k, v] of entries) map.set(k, v);
    if (map.size > 0) this.table.put(this.namespace, map);
  }
  remove(key: K): void {
    const map = this.map();
    if (!map || !map.delete(key)) return;
    if (map.size === 0) this.table.remove(this.namespace);
    else this.table.put(this.namespace, map);
  }
  contains(key: K): boolean {
    return this.map()?.has(key) ?? false;
  }
  entries(): IterableIterator<[K, V]> {
    return (this.map() ?? new Map<K, V>()).entries();
  }
  keys(): IterableIterator<K> {
    return (this.map() ?? new Map<K, V>()).keys();
  }
  values(): IterableIterator<V> {
    return (this.map() ?? new Map<K, V>()).values();
  }
  isEmpty(): boolean {
    return (this.map()?.size ?? 0) === 0;
  }
  clear(): void {
    this.table.remove(this.namespace);
  }
}

export class TableReducingState<T> implements ReducingState<T> {
  namespace: Namespace = VOID_NAMESPACE;
  constructor(private readonly table: StateTable<T>, private readonly reduce: ReduceFunction<T>) {}
  get(): T | undefined {
    return this.table.get(this.namespace);
  }
  add(value: T): void {
    const current = this.table.get(this.namespace);
    this.table.put(this.namespace, current === undefined ? value : this.reduce(current, value));
  }
  clear(): void {
    this.table.remove(this.namespace);
  }
}

export class TableAggregatingState<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  namespace: Namespace = VOID_NAMESPACE;
  constructor(private readonly table: StateTable<ACC>, private readonly fn: AggregateFunction<IN, ACC, OUT>) {}
  get(): OUT | undefined {
    const acc = this.table.get(this.namespace);
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }
  add(value: IN): void {
    const acc = this.table.get(this.namespace);
    this.table.put(this.namespace, this.fn.add(value, acc === undefined ? this.fn.createAccumulator() : acc));
  }
  clear(): void {
    this.table.remove(this.namespace);
  }
}

export type AnyStateHandle =
  | TableValueState<unknown>
  | TableListState<unknown>
  | TableMapState<unknown, unknown>
  | TableReducingState<unknown>
  | TableAggregatingState<unknown, unknown, unknown>
  | AnyTtlStateHandle;

/** The handle of `descriptor`'s kind over `table`; with `ttl` (the descriptor enabled a time-to-live), its TTL handle (ttl-state-handles.ts). */
export function createStateHandle(descriptor: StateDescriptor, table: StateTable<any>, ttl?: StateTtlPolicy): AnyStateHandle {
  if (ttl !== undefined) return createTtlStateHandle(descriptor, table, ttl);
  switch (descriptor.kind) {
    case 'value':
      return new TableValueState(table, descriptor.defaultValue);
    case 'list':
      return new TableListState(table);
    case 'map':
      return new TableMapState(table);
    case 'reducing':
      return new TableReducingState(table, descriptor.reduceFunction);
    case 'aggregating':
      return new TableAggregatingState(table, descriptor.aggregateFunction);
  }
}
