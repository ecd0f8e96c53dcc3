// What the two keyed state backends share: the checked options, the current key, the range and
// how it changes, the registry of named tables and the two steps of a snapshot. Each backend adds
// its storage: its tables, what a snapshot captures and reads, what a range change leaves behind,
// restore, counting and disposal.

import type { KeyGroupRange } from '../../shared/key-groups.ts';
import { SluiceError } from '../../shared/errors.ts';
import type {
  KeyInKeyGroup,
  KeyedStateBackend,
  KeyedStateBackendOptions,
  KeyedStateSnapshot,
  Namespace,
  StateBackendKind,
  StateKey,
  StateTable,
} from './keyed-state-backend.ts';
import { CurrentKey } from './current-key.ts';
import type { KeyGroupedStateTable } from './key-grouped-state-table.ts';
import { checkKeyedStateBackendOptions, checkStateName } from './state-backend-checks.ts';
import type { StateTtlPolicy } from './state-ttl.ts';

export abstract class AbstractKeyedStateBackend<Table extends KeyGroupedStateTable<unknown> & StateTable<unknown>, Captured>
  implements KeyedStateBackend
{
  abstract readonly kind: StateBackendKind;
  readonly maxParallelism: number;

  /** The key groups held now; setKeyGroupRange changes it. */
  protected range: KeyGroupRange;
  protected readonly current: CurrentKey;
  protected readonly tables = new Map<string, Table>();
  protected disposed = false;
  /** Called on every setCurrentKey, for TTL cleanup that runs per record; undefined (no cost) otherwise. */
  protected keySelectionListener: (() => void) | undefined = undefined;

  protected constructor(
    options: KeyedStateBackendOptions,
    /** How errors name the backend: "the <name> keyed state backend …". */
    private readonly backendName: string,
  ) {
    checkKeyedStateBackendOptions(options);
    this.range = options.keyGroupRange;
    this.maxParallelism = options.maxParallelism;
    this.current = new CurrentKey(options.keyGroupRange);
  }

  get keyGroupRange(): KeyGroupRange {
    return this.range;
  }

  async setKeyGroupRange(range: KeyGroupRange): Promise<void> {
    this.assertWritable();
    checkKeyedStateBackendOptions({ keyGroupRange: range, maxParallelism: this.maxParallelism });
    const previous = this.range;
    // Synchronous up to the first await: from here on nothing can read or write a dropped key group.
    this.range = range;
    this.current.setRange(range);
    for (const table of this.tables.values()) table.rebase(previous, range);
    await this.onRangeChanged(previous, range);
  }

  /** After setKeyGroupRange re-indexed the tables: what the storage still holds of the key groups `range` left. */
  protected abstract onRangeChanged(previous: KeyGroupRange, range: KeyGroupRange): Promise<void>;

  setCurrentKey(key: StateKey, keyGroup: number): void {
    this.current.set(key, keyGroup);
    if (this.keySelectionListener !== undefined) this.keySelectionListener();
  }

  getCurrentKey(): StateKey {
    return this.current.get();
  }

  getCurrentKeyGroup(): number {
    this.current.assertSet();
    return this.current.keyGroup;
  }

  getTable<V>(stateName: string, ttl?: StateTtlPolicy): StateTable<V> {
    let table = this.tables.get(stateName);
    if (table === undefined) {
      this.assertNotDisposed();
      checkStateName(stateName);
      table = this.createTable(stateName);
      this.tables.set(stateName, table);
    }
    // A restore may have created the table before the operator's open() registers its time-to-live.
    if (ttl !== undefined && table.ttl === undefined) {
      table.ttl = ttl;
      this.onTtlEnabled(table, ttl);
    }
    return table as StateTable<unknown> as StateTable<V>;
  }

  protected abstract createTable(stateName: string): Table;

  /** A state got a time-to-live: the backend sets up the cleanup it supports. */
  protected abstract onTtlEnabled(table: Table, ttl: StateTtlPolicy): void;

  snapshot(): Promise<KeyedStateSnapshot> {
    // Captured at the call, so later puts cannot reach the snapshot; a failure to capture is the promise's.
    let captured: Captured;
    try {
      captured = this.captureState();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.readSnapshot(captured);
  }

  /** The synchronous part of a snapshot: everything it will hold, taken at the moment of the call. */
  protected abstract captureState(): Captured;

  /** The asynchronous part: the canonical snapshot, built from what was captured while processing goes on. */
  protected abstract readSnapshot(captured: Captured): Promise<KeyedStateSnapshot>;

  abstract keysWithState(stateName: string, namespace: Namespace): readonly KeyInKeyGroup[] | Promise<readonly KeyInKeyGroup[]>;
  abstract restore(snapshots: readonly KeyedStateSnapshot[]): Promise<void>;
  abstract countEntries(): Promise<number>;
  abstract dispose(): Promise<void>;

  /** Empties and forgets every table; for dispose. */
  protected clearTables(): void {
    for (const table of this.tables.values()) table.clear();
    this.tables.clear();
  }

  /** What a write (a put, a range change, a restore) needs of the backend; a backend may ask more. */
  protected assertWritable(): void {
    this.assertNotDisposed();
  }

  protected assertNotDisposed(): void {
    if (this.disposed) throw new SluiceError(`the ${this.backendName} keyed state backend was disposed`);
  }
}
