// The in-memory keyed state backend: state lives on the JS heap, for jobs whose state fits in
// memory and for tests. Its tables hold the values themselves in the per-key-group layout of
// key-grouped-state-table.ts, so the hot path is an array index and two map lookups with no
// allocation, and snapshot, restore and rescale work on whole key groups.
//
// Snapshots copy synchronously: each key group is serialized with v8.serialize at the moment of
// the call (so callers may mutate their objects right after), then decoded into the canonical
// snapshot asynchronously. The synchronous part grows with the state's size.
//
// State with a time-to-live is cleaned up as in Flink's heap backend: incrementally, a lazy cursor
// per state going round its entries a few at a time on each access (and on each record if asked),
// and, with cleanupFullSnapshot, by leaving expired values out while a snapshot is decoded.

import { deserialize, serialize } from 'node:v8';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { UserFunctionError } from '../../shared/errors.ts';
import type { KeyGroupRange } from '../../shared/key-groups.ts';
import type {
  KeyInKeyGroup,
  KeyedStateBackendOptions,
  KeyedStateSnapshot,
  Namespace,
  StateEntry,
  StateKey,
  StateTable,
} from './keyed-state-backend.ts';
import { mapKeyOf } from './current-key.ts';
import { copyCompositeKey, forEachCompositeSlot, type CompositeSlot } from './composite-key-map.ts';
import { AbstractKeyedStateBackend } from './abstract-keyed-state-backend.ts';
import {
  KeyGroupedStateTable,
  type CompositeEntriesByNamespace,
  type ScalarEntriesByNamespace,
} from './key-grouped-state-table.ts';
import { checkNamespace, entriesInRange, keyGroupHoldsStateError, keyGroupsToRestore, restoreEntryError } from './state-backend-checks.ts';
import type { StateTtlPolicy } from './state-ttl.ts';

class InMemoryStateTable<V> extends KeyGroupedStateTable<unknown> implements StateTable<V> {
  get(namespace: Namespace): V | undefined {
    const current = this.current;
    if (current.isComposite) {
      const byKey = this.compositeKeyGroups[current.keyGroupIndex]?.get(namespace);
      return byKey === undefined ? undefined : (byKey.get(current.key as readonly unknown[], current.mapKey as number) as V | undefined);
    }
    const byNamespace = this.scalarKeyGroups[current.keyGroupIndex];
    if (byNamespace === undefined) {
      current.assertSet();
      return undefined;
    }
    const byKey = byNamespace.get(namespace);
    return byKey === undefined ? undefined : (byKey.get(current.mapKey) as V | undefined);
  }

  put(namespace: Namespace, value: V): void {
    // `undefined` is what get returns for a missing entry, so storing it is removing.
    if (value === undefined) {
      this.remove(namespace);
      return;
    }
    const current = this.current;
    if (current.isComposite) {
      let byKey = this.compositeKeyGroups[current.keyGroupIndex]?.get(namespace);
      if (byKey === undefined) {
        checkNamespace(namespace);
        byKey = this.compositeEntries(current.keyGroupIndex, namespace);
      }
      byKey.set(current.key as readonly unknown[], current.mapKey as number, value);
      return;
    }
    let byKey = this.scalarKeyGroups[current.keyGroupIndex]?.get(namespace);
    if (byKey === undefined) {
      current.assertSet();
      checkNamespace(namespace);
      byKey = this.scalarEntries(current.keyGroupIndex, namespace);
    }
    byKey.set(current.mapKey, value);
  }

  remove(namespace: Namespace): void {
    const current = this.current;
    // Dropping emptied namespaces keeps expired windows from leaving a map behind each.
    if (current.isComposite) {
      const byNamespace = this.compositeKeyGroups[current.keyGroupIndex];
      const byKey = byNamespace?.get(namespace);
      if (byKey?.delete(current.key as readonly unknown[], current.mapKey as number) && byKey.size === 0) byNamespace!.delete(namespace);
      return;
    }
    const byNamespace = this.scalarKeyGroups[current.keyGroupIndex];
    if (byNamespace === undefined) {
      current.assertSet();
      return;
    }
    const byKey = byNamespace.get(namespace);
    if (byKey !== undefined && byKey.delete(current.mapKey) && byKey.size === 0) byNamespace.delete(namespace);
  }

  /** Places a restored entry without a current key. */
  restoreEntry(keyGroupIndex: number, key: StateKey, namespace: Namespace, value: unknown): void {
    const { mapKey, isComposite } = mapKeyOf(key);
    if (isComposite) this.compositeEntries(keyGroupIndex, namespace).set(key as readonly unknown[], mapKey as number, value);
    else this.scalarEntries(keyGroupIndex, namespace).set(mapKey, value);
  }

  countEntries(): number {
    let count = 0;
    for (const byNamespace of this.scalarKeyGroups) {
      if (byNamespace !== undefined) for (const byKey of byNamespace.values()) count += byKey.size;
    }
    for (const byNamespace of this.compositeKeyGroups) {
      if (byNamespace !== undefined) for (const byKey of byNamespace.values()) count += byKey.size;
    }
    return count;
  }

  /** Whether it holds an entry in the key group at `keyGroupIndex` (emptied namespaces are dropped, so any namespace means an entry). */
  holdsKeyGroup(keyGroupIndex: number): boolean {
    return (this.scalarKeyGroups[keyGroupIndex]?.size ?? 0) > 0 || (this.compositeKeyGroups[keyGroupIndex]?.size ?? 0) > 0;
  }

  // --- incremental TTL cleanup ---

  /** Where the incremental cleanup stands in this state's entries; a new pass starts once it reaches the end. */
  private cleanupCursor: Iterator<void> | undefined = undefined;
  private cleanupNowMs = 0;

  ttlAccessed(): void {
    const incremental = this.ttl?.config.cleanupStrategies.incremental;
    if (incremental !== undefined) this.cleanupExpired(incremental.cleanupSize);
  }

  /** Checks the next `entries` entries and removes what has expired (Flink's TtlIncrementalCleanup). */
  cleanupExpired(entries: number): void {
    this.cleanupNowMs = this.ttl!.clock.now();
    for (let i = 0; i < entries; i++) {
      this.cleanupCursor ??= this.expiredEntryCleanup(this.ttl!);
      if (this.cleanupCursor.next().done === true) {
        this.cleanupCursor = undefined;
        return;
      }
    }
  }

  override rebase(from: KeyGroupRange, to: KeyGroupRange): void {
    super.rebase(from, to);
    this.cleanupCursor = undefined;
  }

  override clear(): void {
    super.clear();
    this.cleanupCursor = undefined;
  }

  /**
   * One pass over the entries, one entry per step. Between steps the maps may change (Map
   * iteration survives that), so each step acts on the entry's value as it is now and drops a
   * namespace's map only if it is still the one in place.
   */
  private *expiredEntryCleanup(ttl: StateTtlPolicy): Generator<void, void, undefined> {
    for (const byNamespace of this.scalarKeyGroups) {
      if (byNamespace === undefined) continue;
      for (const [namespace, byKey] of byNamespace) {
        for (const [mapKey, value] of byKey) {
          const pruned = ttl.pruneExpired(value, this.cleanupNowMs);
          if (pruned === undefined) {
            byKey.delete(mapKey);
            if (byKey.size === 0 && byNamespace.get(namespace) === byKey) byNamespace.delete(namespace);
          } else if (pruned !== value) byKey.set(mapKey, pruned);
          yield;
        }
      }
    }
    for (const byNamespace of this.compositeKeyGroups) {
      if (byNamespace === undefined) continue;
      for (const [namespace, byKey] of byNamespace) {
        for (const [hash, head] of byKey.chainsForSnapshot()) {
          const keys: (readonly unknown[])[] = [];
          for (let slot: CompositeSlot<unknown> | undefined = head; slot !== undefined; slot = slot.next) keys.push(slot.key);
          for (const key of keys) {
            const value = byKey.get(key, hash);
            if (value === undefined) continue;
            const pruned = ttl.pruneExpired(value, this.cleanupNowMs);
            if (pruned === undefined) {
              byKey.delete(key, hash);
              if (byKey.size === 0 && byNamespace.get(namespace) === byKey) byNamespace.delete(namespace);
            } else if (pruned !== value) byKey.set(key, hash, pruned);
            yield;
          }
        }
      }
    }
  }
}

/** What one state holds in one key group, as serialized at snapshot time (composite keys as their slot chains). */
type CapturedTable = [
  stateName: string,
  scalar: ScalarEntriesByNamespace<unknown> | undefined,
  composite: Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>> | undefined,
];

interface CapturedKeyGroup {
  readonly keyGroup: number;
  /** v8.serialize of CapturedTable[]: a deep copy taken at the moment of the snapshot. */
  readonly bytes: Buffer;
}

interface CapturedState {
  readonly keyGroups: CapturedKeyGroup[];
  /** States with cleanupFullSnapshot, and the processing time of the capture: their values expired by then are left out. */
  readonly expiredLeftOut: ReadonlyMap<string, StateTtlPolicy> | undefined;
  readonly nowMs: number;
}

/** Key groups decoded between yields to the event loop while a snapshot is built, so records keep flowing. */
const KEY_GROUPS_PER_SNAPSHOT_SLICE = 16;

export class InMemoryKeyedStateBackend extends AbstractKeyedStateBackend<InMemoryStateTable<unknown>, CapturedState> {
  readonly kind = 'memory' as const;

  /** States whose incremental TTL cleanup runs on every record. */
  private readonly cleanedPerRecord: InMemoryStateTable<unknown>[] = [];

  constructor(options: KeyedStateBackendOptions) {
    super(options, 'in-memory');
  }

  protected onTtlEnabled(table: InMemoryStateTable<unknown>, ttl: StateTtlPolicy): void {
    const incremental = ttl.config.cleanupStrategies.incremental;
    if (incremental === undefined || !incremental.runCleanupForEveryRecord) return;
    this.cleanedPerRecord.push(table);
    this.keySelectionListener = () => {
      for (const cleaned of this.cleanedPerRecord) cleaned.ttlAccessed();
    };
  }

  protected async onRangeChanged(): Promise<void> {
    // Nothing left behind: the tables' rebase dropped the key groups' maps, and snapshots already
    // taken serialized their key groups at the call, so dropping these maps cannot reach them.
  }

  protected createTable(stateName: string): InMemoryStateTable<unknown> {
    return new InMemoryStateTable(stateName, this.current, this.range.numberOfKeyGroups);
  }

  async restore(snapshots: readonly KeyedStateSnapshot[]): Promise<void> {
    this.assertNotDisposed();
    const startKeyGroup = this.range.startKeyGroup;
    for (const keyGroup of keyGroupsToRestore(snapshots, this.range, this.maxParallelism)) {
      for (const table of this.tables.values()) if (table.holdsKeyGroup(keyGroup - startKeyGroup)) throw keyGroupHoldsStateError(keyGroup);
    }
    for (const { keyGroup, entry } of entriesInRange(snapshots, this.range, this.maxParallelism)) {
      const [stateName, key, namespace, value] = entry;
      if (value === undefined) continue;
      try {
        const table = this.getTable(stateName) as InMemoryStateTable<unknown>;
        // A copy: the same snapshot object may be restored into several backends, or kept by the caller.
        table.restoreEntry(keyGroup - startKeyGroup, key, namespace, structuredClone(value));
      } catch (error) {
        throw restoreEntryError(keyGroup, stateName, error);
      }
    }
  }

  keysWithState(stateName: string, namespace: Namespace): KeyInKeyGroup[] {
    this.assertNotDisposed();
    const keys: KeyInKeyGroup[] = [];
    const table = this.tables.get(stateName);
    if (table === undefined) return keys;
    const startKeyGroup = this.range.startKeyGroup;
    for (let index = 0; index < this.range.numberOfKeyGroups; index++) {
      const keyGroup = startKeyGroup + index;
      const scalar = table.scalarKeyGroups[index]?.get(namespace);
      if (scalar !== undefined) for (const key of scalar.keys()) keys.push({ key: key as StateKey, keyGroup });
      const composite = table.compositeKeyGroups[index]?.get(namespace);
      // A copy of each: the map's own key must not be changed by whoever gets the list.
      if (composite !== undefined) forEachCompositeSlot(composite.chainsForSnapshot(), (key) => keys.push({ key: copyCompositeKey(key) as StateKey, keyGroup }));
    }
    return keys;
  }

  async countEntries(): Promise<number> {
    let count = 0;
    for (const table of this.tables.values()) count += table.countEntries();
    return count;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.clearTables();
  }

  protected captureState(): CapturedState {
    this.assertNotDisposed();
    const captured: CapturedKeyGroup[] = [];
    const numberOfKeyGroups = this.range.numberOfKeyGroups;
    for (let index = 0; index < numberOfKeyGroups; index++) {
      const tablesInKeyGroup: CapturedTable[] = [];
      for (const table of this.tables.values()) {
        const scalar = table.scalarKeyGroups[index];
        const composite = table.compositeKeyGroups[index];
        const hasScalar = scalar !== undefined && scalar.size > 0;
        const hasComposite = composite !== undefined && composite.size > 0;
        if (!hasScalar && !hasComposite) continue;
        tablesInKeyGroup.push([table.stateName, hasScalar ? scalar : undefined, hasComposite ? compositeChains(composite) : undefined]);
      }
      if (tablesInKeyGroup.length === 0) continue;
      const keyGroup = this.range.startKeyGroup + index;
      try {
        captured.push({ keyGroup, bytes: serialize(tablesInKeyGroup) });
      } catch (error) {
        throw new UserFunctionError(
          `keyed state in key group ${keyGroup} holds a value that cannot be serialized (state keeps structured-clonable data only: no functions, symbols, promises or weak collections): ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    let expiredLeftOut: Map<string, StateTtlPolicy> | undefined;
    let nowMs = 0;
    for (const table of this.tables.values()) {
      if (table.ttl === undefined || !table.ttl.config.cleanupStrategies.inFullSnapshot) continue;
      (expiredLeftOut ??= new Map()).set(table.stateName, table.ttl);
      nowMs = table.ttl.clock.now();
    }
    return { keyGroups: captured, expiredLeftOut, nowMs };
  }

  protected async readSnapshot({ keyGroups: captured, expiredLeftOut, nowMs }: CapturedState): Promise<KeyedStateSnapshot> {
    const keyGroups: { keyGroup: number; entries: StateEntry[] }[] = [];
    for (let i = 0; i < captured.length; i++) {
      if (i > 0 && i % KEY_GROUPS_PER_SNAPSHOT_SLICE === 0) await yieldToEventLoop();
      const { keyGroup, bytes } = captured[i]!;
      const entries: StateEntry[] = [];
      for (const [stateName, scalar, composite] of deserialize(bytes) as CapturedTable[]) {
        const ttl = expiredLeftOut?.get(stateName);
        const add = (key: StateKey, namespace: Namespace, value: unknown): void => {
          const kept = ttl === undefined ? value : ttl.pruneExpired(value, nowMs);
          if (kept !== undefined) entries.push([stateName, key, namespace, kept]);
        };
        if (scalar !== undefined) {
          for (const [namespace, byKey] of scalar) {
            for (const [key, value] of byKey) add(key as StateKey, namespace, value);
          }
        }
        if (composite !== undefined) {
          for (const [namespace, chains] of composite) forEachCompositeSlot(chains, (key, value) => add(key, namespace, value));
        }
      }
      if (entries.length > 0) keyGroups.push({ keyGroup, entries });
    }
    return { maxParallelism: this.maxParallelism, keyGroups };
  }
}

function compositeChains(byNamespace: CompositeEntriesByNamespace<unknown>): Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>> {
  const chains = new Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>>();
  for (const [namespace, byKey] of byNamespace) chains.set(namespace, byKey.chainsForSnapshot());
  return chains;
}
