// The state handles of states with a time-to-live (Flink's TtlValueState, TtlListState, …): the
// same interfaces as keyed-state-handles.ts over a table whose values carry the processing time of
// their last update (state-ttl.ts). A read decides what is expired by the operator's clock: it
// removes it, and returns it only with ReturnExpiredIfNotCleanedUp; with OnReadAndWrite a read
// also renews the timestamps of what it returns unexpired. Lists expire per element, maps per entry.
// Every access first lets the backend clean up incrementally (`ttlAccessed`).

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
import { StateVisibility, UpdateType } from '../../shared/api/state-ttl.ts';
import { RestoreError } from '../../shared/errors.ts';
import { VOID_NAMESPACE, type Namespace, type StateTable } from '../state/keyed-state-backend.ts';
import { isExpired, isTtlValue, type StateTtlPolicy, type TtlValue } from '../state/state-ttl.ts';

abstract class TtlStateHandle<Stored> {
  namespace: Namespace = VOID_NAMESPACE;
  protected readonly ttlMs: number;
  protected readonly updateOnRead: boolean;
  protected readonly returnExpired: boolean;

  constructor(
    protected readonly table: StateTable<Stored>,
    protected readonly policy: StateTtlPolicy,
  ) {
    this.ttlMs = policy.config.ttlMs;
    this.updateOnRead = policy.config.updateType === UpdateType.OnReadAndWrite;
    this.returnExpired = policy.config.stateVisibility === StateVisibility.ReturnExpiredIfNotCleanedUp;
  }

  /** The stored value, after the backend's incremental cleanup; refuses one that was not written with a time-to-live. */
  protected stored(): Stored | undefined {
    this.table.ttlAccessed?.();
    const stored = this.table.get(this.namespace);
    if (stored !== undefined && !this.hasTtlLayout(stored)) {
      throw new RestoreError(
        `state "${this.policy.stateName}" holds a value written without a time-to-live: as in Flink, a state cannot enable (or drop) its time-to-live once it holds values; give it a new name`,
      );
    }
    return stored;
  }

  protected abstract hasTtlLayout(stored: Stored): boolean;

  protected now(): number {
    return this.policy.clock.now();
  }

  clear(): void {
    this.table.remove(this.namespace);
  }
}

/** Value, reducing and aggregating state: one value with one timestamp. */
abstract class TtlSingleValueHandle<T> extends TtlStateHandle<TtlValue<T>> {
  protected hasTtlLayout(stored: TtlValue<T>): boolean {
    return isTtlValue(stored);
  }

  /** Flink's getWithTtlCheckAndUpdate: the value a read sees, or undefined. */
  protected read(): T | undefined {
    const stored = this.stored();
    if (stored === undefined) return undefined;
    const nowMs = this.now();
    if (isExpired(stored[1], this.ttlMs, nowMs)) {
      this.table.remove(this.namespace);
      return this.returnExpired ? stored[0] : undefined;
    }
    if (this.updateOnRead) {
      stored[1] = nowMs;
      this.table.put(this.namespace, stored);
    }
    return stored[0];
  }

  /** Flink's getUnexpired: the current value for an add to build on, without renewing or removing it. */
  protected unexpired(nowMs: number): T | undefined {
    const stored = this.stored();
    if (stored === undefined || (!this.returnExpired && isExpired(stored[1], this.ttlMs, nowMs))) return undefined;
    return stored[0];
  }
}

export class TtlValueState<T> extends TtlSingleValueHandle<T> implements ValueState<T> {
  constructor(table: StateTable<TtlValue<T>>, policy: StateTtlPolicy, private readonly defaultValue: T | undefined) {
    super(table, policy);
  }

  value(): T | undefined {
    const value = this.read();
    return value === undefined ? this.defaultValue : value;
  }

  update(value: T): void {
    this.table.ttlAccessed?.();
    if (value === undefined) this.table.remove(this.namespace);
    else this.table.put(this.namespace, [value, this.now()]);
  }
}

export class TtlReducingState<T> extends TtlSingleValueHandle<T> implements ReducingState<T> {
  constructor(table: StateTable<TtlValue<T>>, policy: StateTtlPolicy, private readonly reduce: ReduceFunction<T>) {
    super(table, policy);
  }

  get(): T | undefined {
    return this.read();
  }

  add(value: T): void {
    const nowMs = this.now();
    const current = this.unexpired(nowMs);
    this.table.put(this.namespace, [current === undefined ? value : this.reduce(current, value), nowMs]);
  }
}

export class TtlAggregatingState<IN, ACC, OUT> extends TtlSingleValueHandle<ACC> implements AggregatingState<IN, OUT> {
  constructor(table: StateTable<TtlValue<ACC>>, policy: StateTtlPolicy, private readonly fn: AggregateFunction<IN, ACC, OUT>) {
    super(table, policy);
  }

  get(): OUT | undefined {
    const accumulator = this.read();
    return accumulator === undefined ? undefined : this.fn.getResult(accumulator);
  }

  add(value: IN): void {
    const nowMs = this.now();
    const accumulator = this.unexpired(nowMs);
    this.table.put(this.namespace, [this.fn.add(value, accumulator === undefined ? this.fn.createAccumulator() : accumulator), nowMs]);
  }
}

/** A list whose elements expire one by one. */
export class TtlListState<T> extends TtlStateHandle<TtlValue<T>[]> implements ListState<T> {
  protected hasTtlLayout(stored: TtlValue<T>[]): boolean {
    return Array.isArray(stored) && (stored.length === 0 || isTtlValue(stored[0]));
  }

  /** The visible elements; expired ones are removed from the list (and returned once with ReturnExpiredIfNotCleanedUp). */
  get(): readonly T[] {
    const stored = this.stored();
    if (stored === undefined) return [];
    const nowMs = this.now();
    const visible: T[] = [];
    let kept = 0;
    for (const element of stored) {
      const live = !isExpired(element[1], this.ttlMs, nowMs);
      if (live || this.returnExpired) visible.push(element[0]);
      if (!live) continue;
      if (this.updateOnRead) element[1] = nowMs;
      stored[kept++] = element;
    }
    if (kept === 0) this.table.remove(this.namespace);
    else if (kept < stored.length || this.updateOnRead) {
      stored.length = kept;
      this.table.put(this.namespace, stored);
    }
    return visible;
  }

  add(value: T): void {
    const stored = this.stored();
    const element: TtlValue<T> = [value, this.now()];
    if (stored === undefined) this.table.put(this.namespace, [element]);
    else {
      stored.push(element);
      this.table.put(this.namespace, stored);
    }
  }

  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    const stored = this.stored() ?? [];
    const nowMs = this.now();
    for (const value of values) stored.push([value, nowMs]);
    this.table.put(this.namespace, stored);
  }

  update(values: readonly T[]): void {
    this.table.ttlAccessed?.();
    if (values.length === 0) this.table.remove(this.namespace);
    else {
      const nowMs = this.now();
      this.table.put(this.namespace, values.map((value): TtlValue<T> => [value, nowMs]));
    }
  }
}

/** A map whose entries expire one by one. */
export class TtlMapState<K, V> extends TtlStateHandle<Map<K, TtlValue<V>>> implements MapState<K, V> {
  protected hasTtlLayout(stored: Map<K, TtlValue<V>>): boolean {
    if (!(stored instanceof Map)) return false;
    for (const entry of stored.values()) return isTtlValue(entry);
    return true;
  }

  get(key: K): V | undefined {
    const map = this.stored();
    const entry = map?.get(key);
    if (entry === undefined) return undefined;
    const nowMs = this.now();
    if (isExpired(entry[1], this.ttlMs, nowMs)) {
      map!.delete(key);
      this.putOrRemove(map!);
      return this.returnExpired ? entry[0] : undefined;
    }
    if (this.updateOnRead) {
      entry[1] = nowMs;
      this.table.put(this.namespace, map!);
    }
    return entry[0];
  }

  put(key: K, value: V): void {
    const map = this.stored() ?? new Map<K, TtlValue<V>>();
    map.set(key, [value, this.now()]);
    this.table.put(this.namespace, map);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    const map = this.stored() ?? new Map<K, TtlValue<V>>();
    const nowMs = this.now();
    for (const [key, value] of entries) map.set(key, [value, nowMs]);
    if (map.size > 0) this.table.put(this.namespace, map);
  }

  remove(key: K): void {
    const map = this.stored();
    if (map === undefined || !map.delete(key)) return;
    this.putOrRemove(map);
  }

  /** A read of the entry, as Flink's contains: it removes an expired entry, and renews a live one with OnReadAndWrite. */
  contains(key: K): boolean {
    const map = this.stored();
    const entry = map?.get(key);
    if (entry === undefined) return false;
    const nowMs = this.now();
    if (isExpired(entry[1], this.ttlMs, nowMs)) {
      map!.delete(key);
      this.putOrRemove(map!);
      return this.returnExpired;
    }
    if (this.updateOnRead) {
      entry[1] = nowMs;
      this.table.put(this.namespace, map!);
    }
    return true;
  }

  entries(): IterableIterator<[K, V]> {
    return this.visibleEntries().values();
  }

  keys(): IterableIterator<K> {
    return this.visibleEntries()
      .map(([key]) => key)
      .values();
  }

  values(): IterableIterator<V> {
    return this.visibleEntries()
      .map(([, value]) => value)
      .values();
  }

  /** Whether a read would see no entry; removes the expired entries and renews none. */
  isEmpty(): boolean {
    const map = this.stored();
    if (map === undefined) return true;
    const sizeBefore = map.size;
    const nowMs = this.now();
    for (const [key, entry] of map) if (isExpired(entry[1], this.ttlMs, nowMs)) map.delete(key);
    if (map.size < sizeBefore || map.size === 0) this.putOrRemove(map);
    return this.returnExpired ? sizeBefore === 0 : map.size === 0;
  }

  /** All entries a read sees, taken at once (expired ones removed, live ones renewed with OnReadAndWrite), so the caller may change the map while it goes through them. */
  private visibleEntries(): [K, V][] {
    const map = this.stored();
    if (map === undefined) return [];
    const nowMs = this.now();
    const visible: [K, V][] = [];
    let changed = this.updateOnRead;
    for (const [key, entry] of map) {
      const live = !isExpired(entry[1], this.ttlMs, nowMs);
      if (live || this.returnExpired) visible.push([key, entry[0]]);
      if (!live) {
        map.delete(key);
        changed = true;
      } else if (this.updateOnRead) entry[1] = nowMs;
    }
    if (changed) this.putOrRemove(map);
    return visible;
  }

  private putOrRemove(map: Map<K, TtlValue<V>>): void {
    if (map.size === 0) this.table.remove(this.namespace);
    else this.table.put(this.namespace, map);
  }
}

export type AnyTtlStateHandle =
  | TtlValueState<unknown>
  | TtlListState<unknown>
  | TtlMapState<unknown, unknown>
  | TtlReducingState<unknown>
  | TtlAggregatingState<unknown, unknown, unknown>;

export function createTtlStateHandle(descriptor: StateDescriptor, table: StateTable<any>, policy: StateTtlPolicy): AnyTtlStateHandle {
  switch (descriptor.kind) {
    case 'value':
      return new TtlValueState(table, policy, descriptor.defaultValue);
    case 'list':
      return new TtlListState(table, policy);
    case 'map':
      return new TtlMapState(table, policy);
    case 'reducing':
      return new TtlReducingState(table, policy, descriptor.reduceFunction);
    case 'aggregating':
      return new TtlAggregatingState(table, policy, descriptor.aggregateFunction);
  }
}
