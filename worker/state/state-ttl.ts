// How state with a time-to-live is stored, and what a backend needs to clean it up. A value is
// kept with the processing time of its last update, as Flink's TtlValue: `[value, lastAccessMs]`;
// a list keeps one such pair per element, a map one per entry. It is plain data, so snapshots,
// checkpoints and rescaling carry the timestamps along and a restored value expires when it would
// have. State without a time-to-live is stored as before, untouched.

import type { StateDescriptor } from '../../shared/api/state.ts';
import type { StateTtlConfig } from '../../shared/api/state-ttl.ts';
import type { Clock } from '../../shared/clock.ts';

/** A value with the processing time of its last update (Flink's TtlValue). */
export type TtlValue<T> = [value: T, lastAccessMs: number];

/** Flink's TtlUtils.expired: a value is expired from `lastAccessMs + ttlMs` on. */
export function isExpired(lastAccessMs: number, ttlMs: number, nowMs: number): boolean {
  return lastAccessMs + ttlMs <= nowMs;
}

/** What a backend needs to clean up one state with a time-to-live. */
export interface StateTtlPolicy {
  readonly stateName: string;
  readonly config: StateTtlConfig;
  /** The operator's clock: processing time. */
  readonly clock: Clock;
  /**
   * The stored value without what has expired at `nowMs`: the same object when nothing has, a new
   * one when part of it has (list elements, map entries), undefined when all of it has. A stored
   * value that is not in the TTL layout is left as it is.
   */
  pruneExpired(stored: unknown, nowMs: number): unknown;
}

/** The policy of a state whose descriptor enabled a time-to-live. */
export function stateTtlPolicy(descriptor: StateDescriptor, config: StateTtlConfig, clock: Clock): StateTtlPolicy {
  const ttlMs = config.ttlMs;
  let pruneExpired: (stored: unknown, nowMs: number) => unknown;
  switch (descriptor.kind) {
    case 'value':
    case 'reducing':
    case 'aggregating':
      pruneExpired = (stored, nowMs) => (isTtlValue(stored) && isExpired(stored[1], ttlMs, nowMs) ? undefined : stored);
      break;
    case 'list':
      pruneExpired = (stored, nowMs) => pruneList(stored, ttlMs, nowMs);
      break;
    case 'map':
      pruneExpired = (stored, nowMs) => pruneMap(stored, ttlMs, nowMs);
      break;
  }
  return { stateName: descriptor.name, config, clock, pruneExpired };
}

/** Whether `stored` is in the layout of a value with a timestamp. */
export function isTtlValue(stored: unknown): stored is TtlValue<unknown> {
  return Array.isArray(stored) && stored.length === 2 && typeof stored[1] === 'number';
}

function pruneList(stored: unknown, ttlMs: number, nowMs: number): unknown {
  if (!Array.isArray(stored)) return stored;
  let live = 0;
  for (const element of stored) if (!isTtlValue(element) || !isExpired(element[1], ttlMs, nowMs)) live++;
  if (live === stored.length) return stored;
  if (live === 0) return undefined;
  return stored.filter((element) => !isTtlValue(element) || !isExpired(element[1], ttlMs, nowMs));
}

function pruneMap(stored: unknown, ttlMs: number, nowMs: number): unknown {
  if (!(stored instanceof Map)) return stored;
  let live = 0;
  for (const entry of stored.values()) if (!isTtlValue(entry) || !isExpired(entry[1], ttlMs, nowMs)) live++;
  if (live === stored.size) return stored;
  if (live === 0) return undefined;
  const pruned = new Map();
  for (const [key, entry] of stored) if (!isTtlValue(entry) || !isExpired(entry[1], ttlMs, nowMs)) pruned.set(key, entry);
  return pruned;
}
