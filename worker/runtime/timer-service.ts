// Event-time and processing-time timers of a keyed operator, kept on the heap (as Flink's heap
// timer service). Timers are deduplicated per (key, namespace, timestamp) and fire in timestamp
// order; those with the same timestamp fire in the order they were registered. Timers are part
// of the keyed snapshot, addressed by key group like the rest of keyed state.

import type { Namespace, StateEntry, StateKey } from '../state/keyed-state-backend.ts';

export interface Timer {
  readonly timestamp: number;
  readonly key: StateKey;
  readonly keyGroup: number;
  readonly namespace: Namespace;
}

function identity(key: StateKey, namespace: Namespace): string {
  const k = typeof key === 'string' ? `s${key}` : typeof key === 'number' ? `n${key}` : `j${JSON.stringify(key, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
  return typeof namespace === 'number' ? `${k}\u0000n${namespace}` : `${k}\u0000s${namespace}`;
}

/** One time domain's timers: a min-heap of distinct timestamps, each with its timers in order. */
export class TimerQueue {
  private readonly buckets = new Map<number, Map<string, Timer>>();
  private readonly heap: number[] = [];
  /**
   * The bucket being fired and a live iterator over it. Taking the first entry of a Map again
   * and again after deleting the one before costs O(deleted entries) each time in V8, so a big
   * bucket is drained with one iterator; it also sees timers added to the bucket meanwhile.
   */
  private draining: { timestamp: number; bucket: Map<string, Timer>; iterator: IterableIterator<[string, Timer]> } | undefined;

  get size(): number {
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.size;
    return n;
  }

  register(timestamp: number, key: StateKey, keyGroup: number, namespace: Namespace): void {
    let bucket = this.buckets.get(timestamp);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(timestamp, bucket);
      this.push(timestamp);
    }
    const id = identity(key, namespace);
    if (!bucket.has(id)) bucket.set(id, { timestamp, key, keyGroup, namespace });
  }

  delete(timestamp: number, key: StateKey, namespace: Namespace): void {
    const bucket = this.buckets.get(timestamp);
    if (bucket) bucket.delete(identity(key, namespace));
    // An empty bucket stays in the heap and is skipped when it comes up.
  }

  /** The smallest timestamp with a timer, or +Infinity. */
  peekTimestamp(): number {
    while (this.heap.length > 0) {
      const ts = this.heap[0]!;
      const bucket = this.buckets.get(ts);
      if (bucket && bucket.size > 0) return ts;
      this.pop();
      this.buckets.delete(ts);
      if (this.draining?.bucket === bucket) this.draining = undefined;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the first timer with timestamp ≤ `upTo`, or undefined. */
  pollDue(upTo: number): Timer | undefined {
    for (;;) {
      const draining = this.draining;
      if (draining !== undefined && draining.timestamp <= upTo) {
        const next = draining.iterator.next();
        if (!next.done) {
          draining.bucket.delete(next.value[0]);
          return next.value[1];
        }
        this.draining = undefined;
      }
      const ts = this.peekTimestamp();
      if (ts > upTo || ts === Number.POSITIVE_INFINITY) return undefined;
      const bucket = this.buckets.get(ts)!;
      this.draining = { timestamp: ts, bucket, iterator: bucket.entries() };
    }
  }

  /** Timers as snapshot entries: (stateName, key, namespace, timestamp), with their key group. */
  snapshot(stateName: string): Array<{ keyGroup: number; entry: StateEntry }> {
    const out: Array<{ keyGroup: number; entry: StateEntry }> = [];
    for (const bucket of this.buckets.values()) {
      for (const t of bucket.values()) out.push({ keyGroup: t.keyGroup, entry: [stateName, t.key, t.namespace, t.timestamp] });
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
