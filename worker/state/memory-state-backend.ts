// The in-memory keyed state backend: state lives on the JS heap, for jobs whose state fits in
// memory and for tests. Its tables hold the values themselves in the per-key-group layout of
// key-grouped-state-table.ts, so the hot path is an array index and two map lookups with no
// allocation, and snapshot, restore and rescale work on whole key groups.
//
// Snapshots copy synchronously: each key group is serialized with v8.serialize at the moment of
// the call (so callers may mutate their objects right after), then decoded into the canonical
// snapshot asynchronously. The synchronous part grows with the state's size.

import { deserialize, serialize } from 'node:v8';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { UserFunctionError } from '../../shared/errors.ts';
import type {
  KeyedStateBackendOptions,
  KeyedStateSnapshot,
  Namespace,
  StateEntry,
  StateKey,
  StateTable,
} from './keyed-state-backend.ts';
import { mapKeyOf } from './current-key.ts';
import { forEachCompositeSlot, type CompositeSlot } from './composite-key-map.ts';
import { AbstractKeyedStateBackend } from './abstract-keyed-state-backend.ts';
import {
  KeyGroupedStateTable,
  type CompositeEntriesByNamespace,
  type ScalarEntriesByNamespace,
} from './key-grouped-state-table.ts';
import { checkNamespace, entriesInRange, keyGroupHoldsStateError, keyGroupsToRestore, restoreEntryError } from './state-backend-checks.ts';

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

/** Key groups decoded between yields to the event loop while a snapshot is built, so records keep flowing. */
const KEY_GROUPS_PER_SNAPSHOT_SLICE = 16;

export class InMemoryKeyedStateBackend extends AbstractKeyedStateBackend<InMemoryStateTable<unknown>, CapturedKeyGroup[]> {
  readonly kind = 'memory' as const;

  constructor(options: KeyedStateBackendOptions) {
    super(options, 'in-memory');
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

  async countEntries(): Promise<number> {
    let count = 0;
    for (const table of this.tables.values()) count += table.countEntries();
    return count;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.clearTables();
  }

  protected captureState(): CapturedKeyGroup[] {
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
    return captured;
  }

  protected async readSnapshot(captured: readonly CapturedKeyGroup[]): Promise<KeyedStateSnapshot> {
    const keyGroups: { keyGroup: number; entries: StateEntry[] }[] = [];
    for (let i = 0; i < captured.length; i++) {
      if (i > 0 && i % KEY_GROUPS_PER_SNAPSHOT_SLICE === 0) await yieldToEventLoop();
      const { keyGroup, bytes } = captured[i]!;
      const entries: StateEntry[] = [];
      for (const [stateName, scalar, composite] of deserialize(bytes) as CapturedTable[]) {
        if (scalar !== undefined) {
          for (const [namespace, byKey] of scalar) {
            for (const [key, value] of byKey) entries.push([stateName, key as StateKey, namespace, value]);
          }
        }
        if (composite !== undefined) {
          for (const [namespace, chains] of composite) {
            forEachCompositeSlot(chains, (key, value) => entries.push([stateName, key, namespace, value]));
          }
        }
      }
      keyGroups.push({ keyGroup, entries });
    }
    return { maxParallelism: this.maxParallelism, keyGroups };
  }
}

function compositeChains(byNamespace: CompositeEntriesByNamespace<unknown>): Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>> {
  const chains = new Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>>();
  for (const [namespace, byKey] of byNamespace) chains.set(namespace, byKey.chainsForSnapshot());
  return chains;
}
