// The in-memory keyed state backend: state lives on the JS heap, for jobs whose state fits in
// memory and for tests. The layout is, per state name and per key group, namespace → key → value
// (composite keys in a CompositeKeyMap beside the scalar keys' Map), so the hot path is an array
// index and two map lookups with no allocation, no Map ever holds more than one key group's keys
// of one namespace (V8 caps a Map at 2^24 entries), and snapshot, restore and rescale work on
// whole key groups.
//
// Snapshots copy synchronously: each key group is serialized with v8.serialize at the moment of
// the call (so callers may mutate their objects right after), then decoded into the canonical
// snapshot asynchronously. The synchronous part grows with the state's size.

import { deserialize, serialize } from 'node:v8';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { KeyGroupRange } from '../../shared/key-groups.ts';
import { RestoreError, SluiceError, UserFunctionError } from '../../shared/errors.ts';
import type {
  KeyedStateBackend,
  KeyedStateBackendOptions,
  KeyedStateSnapshot,
  Namespace,
  StateEntry,
  StateKey,
  StateTable,
} from './keyed-state-backend.ts';
import { CurrentKey, mapKeyOf, rebaseKeyGroupArray } from './current-key.ts';
import { CompositeKeyMap, forEachCompositeSlot, type CompositeSlot } from './composite-key-map.ts';
import {
  checkKeyedStateBackendOptions,
  checkNamespace,
  checkStateName,
  entriesInRange,
  keyGroupHoldsStateError,
  keyGroupsToRestore,
} from './state-backend-checks.ts';

type ScalarValues = Map<unknown, unknown>;
type ScalarValuesByNamespace = Map<Namespace, ScalarValues>;
type CompositeValues = CompositeKeyMap<unknown>;
type CompositeValuesByNamespace = Map<Namespace, CompositeValues>;

class InMemoryStateTable<V> implements StateTable<V> {
  /** Indexed by key group minus range start; scalar and composite keys are kept apart so they cannot collide. */
  scalarKeyGroups: (ScalarValuesByNamespace | undefined)[];
  compositeKeyGroups: (CompositeValuesByNamespace | undefined)[];

  constructor(
    readonly stateName: string,
    private readonly current: CurrentKey,
    numberOfKeyGroups: number,
  ) {
    this.scalarKeyGroups = new Array<ScalarValuesByNamespace | undefined>(numberOfKeyGroups).fill(undefined);
    this.compositeKeyGroups = new Array<CompositeValuesByNamespace | undefined>(numberOfKeyGroups).fill(undefined);
  }

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
      let byNamespace = this.compositeKeyGroups[current.keyGroupIndex];
      if (byNamespace === undefined) {
        byNamespace = new Map();
        this.compositeKeyGroups[current.keyGroupIndex] = byNamespace;
      }
      let byKey = byNamespace.get(namespace);
      if (byKey === undefined) {
        checkNamespace(namespace);
        byKey = new CompositeKeyMap();
        byNamespace.set(namespace, byKey);
      }
      byKey.set(current.key as readonly unknown[], current.mapKey as number, value);
      return;
    }
    let byNamespace = this.scalarKeyGroups[current.keyGroupIndex];
    if (byNamespace === undefined) {
      current.assertSet();
      byNamespace = new Map();
      this.scalarKeyGroups[current.keyGroupIndex] = byNamespace;
    }
    let byKey = byNamespace.get(namespace);
    if (byKey === undefined) {
      checkNamespace(namespace);
      byKey = new Map();
      byNamespace.set(namespace, byKey);
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
    if (isComposite) {
      let byNamespace = this.compositeKeyGroups[keyGroupIndex];
      if (byNamespace === undefined) {
        byNamespace = new Map();
        this.compositeKeyGroups[keyGroupIndex] = byNamespace;
      }
      let byKey = byNamespace.get(namespace);
      if (byKey === undefined) {
        byKey = new CompositeKeyMap();
        byNamespace.set(namespace, byKey);
      }
      byKey.set(key as readonly unknown[], mapKey as number, value);
      return;
    }
    let byNamespace = this.scalarKeyGroups[keyGroupIndex];
    if (byNamespace === undefined) {
      byNamespace = new Map();
      this.scalarKeyGroups[keyGroupIndex] = byNamespace;
    }
    let byKey = byNamespace.get(namespace);
    if (byKey === undefined) {
      byKey = new Map();
      byNamespace.set(namespace, byKey);
    }
    byKey.set(mapKey, value);
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

  /** Re-indexes for a new range: key groups outside it are dropped, new ones start empty. */
  rebase(from: KeyGroupRange, to: KeyGroupRange): void {
    this.scalarKeyGroups = rebaseKeyGroupArray(this.scalarKeyGroups, from, to);
    this.compositeKeyGroups = rebaseKeyGroupArray(this.compositeKeyGroups, from, to);
  }

  clear(): void {
    this.scalarKeyGroups.fill(undefined);
    this.compositeKeyGroups.fill(undefined);
  }
}

/** What one state holds in one key group, as serialized at snapshot time (composite keys as their slot chains). */
type CapturedTable = [
  stateName: string,
  scalar: ScalarValuesByNamespace | undefined,
  composite: Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>> | undefined,
];

interface CapturedKeyGroup {
  readonly keyGroup: number;
  /** v8.serialize of CapturedTable[]: a deep copy taken at the moment of the snapshot. */
  readonly bytes: Buffer;
}

/** Key groups decoded between yields to the event loop while a snapshot is built, so records keep flowing. */
const KEY_GROUPS_PER_SNAPSHOT_SLICE = 16;

export class InMemoryKeyedStateBackend implements KeyedStateBackend {
  readonly kind = 'memory' as const;
  readonly maxParallelism: number;

  private range: KeyGroupRange;
  private readonly current: CurrentKey;
  private readonly tables = new Map<string, InMemoryStateTable<unknown>>();
  private disposed = false;

  constructor(options: KeyedStateBackendOptions) {
    checkKeyedStateBackendOptions(options);
    this.range = options.keyGroupRange;
    this.maxParallelism = options.maxParallelism;
    this.current = new CurrentKey(options.keyGroupRange);
  }

  get keyGroupRange(): KeyGroupRange {
    return this.range;
  }

  async setKeyGroupRange(range: KeyGroupRange): Promise<void> {
    this.assertNotDisposed();
    checkKeyedStateBackendOptions({ keyGroupRange: range, maxParallelism: this.maxParallelism });
    // Snapshots already taken serialized their key groups at the call, so dropping these maps cannot reach them.
    for (const table of this.tables.values()) table.rebase(this.range, range);
    this.range = range;
    this.current.setRange(range);
  }

  setCurrentKey(key: StateKey, keyGroup: number): void {
    this.current.set(key, keyGroup);
  }

  getCurrentKey(): StateKey {
    return this.current.get();
  }

  getCurrentKeyGroup(): number {
    this.current.assertSet();
    return this.current.keyGroup;
  }

  getTable<V>(stateName: string): StateTable<V> {
    let table = this.tables.get(stateName);
    if (table === undefined) {
      this.assertNotDisposed();
      checkStateName(stateName);
      table = new InMemoryStateTable(stateName, this.current, this.keyGroupRange.numberOfKeyGroups);
      this.tables.set(stateName, table);
    }
    return table as StateTable<V>;
  }

  snapshot(): Promise<KeyedStateSnapshot> {
    let captured: CapturedKeyGroup[];
    try {
      this.assertNotDisposed();
      captured = this.captureKeyGroups();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.decodeCapturedKeyGroups(captured);
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
        throw new RestoreError(`key group ${keyGroup}, state ${stateName}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  async countEntries(): Promise<number> {
    return this.countHeldEntries();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const table of this.tables.values()) table.clear();
    this.tables.clear();
  }

  private countHeldEntries(): number {
    let count = 0;
    for (const table of this.tables.values()) count += table.countEntries();
    return count;
  }

  private captureKeyGroups(): CapturedKeyGroup[] {
    const captured: CapturedKeyGroup[] = [];
    const numberOfKeyGroups = this.keyGroupRange.numberOfKeyGroups;
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
      const keyGroup = this.keyGroupRange.startKeyGroup + index;
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

  private async decodeCapturedKeyGroups(captured: readonly CapturedKeyGroup[]): Promise<KeyedStateSnapshot> {
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

  private assertNotDisposed(): void {
    if (this.disposed) throw new SluiceError('the in-memory keyed state backend was disposed');
  }
}

function compositeChains(byNamespace: CompositeValuesByNamespace): Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>> {
  const chains = new Map<Namespace, ReadonlyMap<number, CompositeSlot<unknown>>>();
  for (const [namespace, byKey] of byNamespace) chains.set(namespace, byKey.chainsForSnapshot());
  return chains;
}
