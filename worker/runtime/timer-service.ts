// Event-time and processing-time timers of a keyed operator, kept on the heap (as Flink's heap
// timer service). Timers are deduplicated per (key, namespace, timestamp) and fire in timestamp
// order; those with the same timestamp fire grouped by namespace, each group in the order its
// timers were registered. Timers are part of the keyed snapshot, addressed by key group like
// the rest of keyed state.

import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type { Namespace, StateEntry, StateKey } from '../state/keyed-state-backend.ts';

export interface Timer {
  readonly timestamp: number;
  readonly key: StateKey;
  readonly keyGroup: number;
  readonly namespace: Namespace;
}

const COMPOSITE = '\u0001';

/**
 * A Map key that is equal for equal keys: scalars are themselves (a Map tells 1 from "1"),
 * composite keys and the rare string that could be mistaken for one are encoded.
 */
function keyIdentity(key: StateKey): unknown {
  if (typeof key === 'string') return key.charCodeAt(0) === 1 ? COMPOSITE + JSON.stringify(key) : key;
  if (typeof key !== 'object') return key;
  return COMPOSITE + JSON.stringify(key, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** The timers of one timestamp: namespace → key identity → timer. */
interface Bucket {
  count: number;
  readonly byNamespace: Map<Namespace, Map<unknown, Timer>>;
}

/** One time domain's timers: a min-heap of distinct timestamps, each with its bucket. */
export class TimerQueue {
  private readonly buckets = new Map<number, Bucket>();
  private readonly heap: number[] = [];
  /**
   * The bucket being fired and live iterators over it. Taking the first entry of a Map again and
   * again after deleting the one before costs O(deleted entries) each time in V8, so a bucket is
   * drained with iterators, which also see timers added to it meanwhile.
   */
  private draining:
    | {
        timestamp: number;
        bucket: Bucket;
        namespaces: IterableIterator<Map<unknown, Timer>>;
        timers: Map<unknown, Timer> | undefined;
        entries: IterableIterator<[unknown, Timer]> | undefined;
      }
    | undefined;

  get size(): number {
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.count;
    return n;
  }

  register(timestamp: number, key: StateKey, keyGroup: number, namespace: Namespace): void {
    let bucket = this.buckets.get(timestamp);
    if (bucket === undefined) {
      bucket = { count: 0, byNamespace: new Map() };
      this.buckets.set(timestamp, bucket);
      this.push(timestamp);
    }
    let timers = bucket.byNamespace.get(namespace);
    if (timers === undefined) {
      timers = new Map();
      bucket.byNamespace.set(namespace, timers);
    }
    const id = keyIdentity(key);
    if (timers.has(id)) return;
    timers.set(id, { timestamp, key, keyGroup, namespace });
    bucket.count++;
  }

  delete(timestamp: number, key: StateKey, namespace: Namespace): void {
    const bucket = this.buckets.get(timestamp);
    if (bucket === undefined) return;
    if (bucket.byNamespace.get(namespace)?.delete(keyIdentity(key))) bucket.count--;
    // An empty bucket stays in the heap and is skipped when it comes up.
  }

  /** The smallest timestamp with a timer, or +Infinity. */
  peekTimestamp(): number {
    while (this.heap.length > 0) {
      const ts = this.heap[0]!;
      const bucket = this.buckets.get(ts);
      if (bucket !== undefined && bucket.count > 0) return ts;
      this.pop();
      this.buckets.delete(ts);
      if (this.draining?.bucket === bucket) this.draining = undefined;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the first timer with timestamp ≤ `upTo`, or undefined. */
  pollDue(upTo: number): Timer | undefined {
    for (;;) {
      const d = this.draining;
      if (d !== undefined && d.timestamp <= upTo) {
        if (d.entries !== undefined) {
          const next = d.entries.next();
          if (!next.done) {
            d.timers!.delete(next.value[0]);
            d.bucket.count--;
            return next.value[1];
          }
        }
        const namespace = d.namespaces.next();
        if (!namespace.done) {
          d.timers = namespace.value;
          d.entries = namespace.value.entries();
          continue;
        }
        this.draining = undefined;
      }
      const ts = this.peekTimestamp();
      if (ts > upTo || ts === Number.POSITIVE_INFINITY) return undefined;
      const bucket = this.buckets.get(ts)!;
      this.draining = { timestamp: ts, bucket, namespaces: bucket.byNamespace.values(), timers: undefined, entries: undefined };
    }
  }

  /**
   * Removes the timers of key groups outside `range` (live rescaling: another subtask takes them
   * over) and returns how many went. Emptied buckets stay in the heap and are skipped, as after
   * `delete`; a bucket being fired loses them too (its iterators skip deleted entries).
   */
  removeOutside(range: KeyGroupRange): number {
    let removed = 0;
    for (const bucket of this.buckets.values()) {
      for (const timers of bucket.byNamespace.values()) {
        for (const [id, timer] of timers) {
          if (range.contains(timer.keyGroup)) continue;
          timers.delete(id);
          bucket.count--;
          removed++;
        }
      }
    }
    return removed;
  }

  /** The key groups that have at least one timer. */
  keyGroups(): Set<number> {
    const keyGroups = new Set<number>();
    for (const bucket of this.buckets.values()) {
      for (const timers of bucket.byNamespace.values()) for (const timer of timers.values()) keyGroups.add(timer.keyGroup);
    }
    return keyGroups;
  }

  /** Timers as snapshot entries: (stateName, key, namespace, timestamp), with their key group. */
  snapshot(stateName: string): Array<{ keyGroup: number; entry: StateEntry }> {
    const out: Array<{ keyGroup: number; entry: StateEntry }> = [];
    for (const bucket of this.buckets.values()) {
      for (const timers of bucket.byNamespace.values()) {
        for (const t of timers.values()) out.push({ keyGroup: t.keyGroup, entry: [stateName, t.key, t.namespace, t.timestamp] });
      }
    }
    return out;
  }

  private push(value: number): void {
    const heap = this.heap;
    heap.push(value);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= value) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = value;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]! < heap[left]! ? right : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
