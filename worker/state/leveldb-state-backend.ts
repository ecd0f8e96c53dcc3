// The LevelDB keyed state backend: state lives in a LevelDB database (classic-level) on local
// disk, for state larger than memory. Keys follow the fixed layout of leveldb-key-codec.ts (key
// group first); values are encoded by state-value-codec.ts (v8.serialize bytes, or a faster
// encoding of the same plain data: Maps, Sets, bigints, Dates survive). Both are in
// shared/checkpoint/: a LevelDB checkpoint stores a key group's keys and values as they are.
//
// The hot path stays synchronous and mostly in memory. Three layers, newest first:
//   1. a write-back cache of deserialized values, bounded by CLOCK eviction: reads and writes of
//      a hot working set are a few Map lookups; a put marks its entry dirty and keeps the caller's
//      object (the interface lets a backend serialize it later);
//   2. write overlays: serialized writes on their way to LevelDB. When the dirty entries reach a
//      threshold they are serialized into an overlay, which is written as one `db.batch()` in the
//      background and stays readable until that write has resolved. Batches are written one after
//      another, never concurrently, so LevelDB applies them in order. While an overlay waits for
//      the batch before it, later flushes merge into it, so a backlog is one overlay, not many;
//   3. LevelDB itself, read with `db.getSync` on a cache miss.
//
// A snapshot is taken synchronously: the dirty entries changed since the previous snapshot are
// serialized into an overlay of its own and stay dirty (so a hot set is not rewritten to LevelDB
// at every checkpoint; entries unchanged since are written back), every overlay not yet in
// LevelDB is pinned (frozen) and a LevelDB snapshot is opened, all at the moment of the call; the
// canonical KeyedStateSnapshot is then read asynchronously from that LevelDB snapshot with the
// pinned overlays on top, so puts that follow cannot leak into it.
//
// State with a time-to-live is cleaned up by a background sweep (LevelDB has no compaction filter
// to do what Flink's RocksDB one does): every interval of the operator's clock it reads the next
// bounded batch of the database and deletes, through the cache and the overlays like any write,
// the expired values of those states. With cleanupFullSnapshot, a snapshot and each key group a
// checkpoint reads leave expired values out.

import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { z } from 'zod';
import { KeyGroupRange } from '../../shared/key-groups.ts';
import type { Cancellable } from '../../shared/clock.ts';
import { ConfigurationError, ExternalSystemError, RestoreError, SluiceError, UserFunctionError } from '../../shared/errors.ts';
import { configurationErrorFromZod } from '../../shared/config/configuration-error-from-zod.ts';
import { DEFAULT_CACHE_CAPACITY_ENTRIES } from '../../shared/config/state-backend.ts';
import type {
  KeyInKeyGroup,
  KeyedStateBackendOptions,
  KeyedStateSnapshot,
  KeyGroupSnapshotReader,
  Namespace,
  StateEntry,
  StateKey,
  StateTable,
} from './keyed-state-backend.ts';
import { mapKeyOf, type CurrentKey } from './current-key.ts';
import { copyCompositeKey, forEachCompositeSlot, type CompositeKeyMap } from './composite-key-map.ts';
import { AbstractKeyedStateBackend } from './abstract-keyed-state-backend.ts';
import { KeyGroupedStateTable } from './key-grouped-state-table.ts';
import {
  StateKeyEncoder,
  decodeStateKey,
  keyGroupOfKeyText,
  keyGroupPrefix,
  stateNameSegment,
} from '../../shared/checkpoint/leveldb-key-codec.ts';
import {
  checkKeyedStateBackendOptions,
  checkNamespace,
  checkStateName,
  entriesInRange,
  keyGroupHoldsStateError,
  keyGroupsToRestore,
  restoreEntryError,
} from './state-backend-checks.ts';
import { StateValueEncoder, decodeStateValue } from '../../shared/checkpoint/state-value-codec.ts';
import { encodeRawPairs, keyGroupOfRawKey, rawPairs } from '../../shared/checkpoint/raw-pairs.ts';
import type { StateTtlPolicy } from './state-ttl.ts';

/**
 * Dirty entries that trigger a background flush, unless given: half the cache. A hot set smaller
 * than this is never rewritten between snapshots, which is what makes the cache write-back; a
 * larger one is written once per threshold's worth of distinct keys. It also bounds the
 * synchronous part of a snapshot, which serializes what is dirty: ~0.3 µs per small value, so
 * ~15 ms with the default cache.
 */
export function defaultFlushThresholdEntries(cacheCapacityEntries: number): number {
  return Math.max(1, Math.floor(cacheCapacityEntries / 2));
}
/** Entries per LevelDB batch when restoring. */
const RESTORE_BATCH_ENTRIES = 10_000;
/** Entries read per iterator call when snapshotting, and the bytes that call may buffer. */
const SNAPSHOT_READ_ENTRIES = 1_000;
const SNAPSHOT_READ_HIGH_WATER_MARK_BYTES = 1 << 20;
/**
 * The same for reads of one key group for a checkpoint. LevelDB reads on libuv's thread pool;
 * only handing a batch over costs the event loop a turn, and a processing job gets one turn per
 * round (tens of ms): large batches keep a checkpoint of a large state from crawling.
 */
const KEY_GROUP_READ_ENTRIES = 16_384;
const KEY_GROUP_READ_HIGH_WATER_MARK_BYTES = 16 << 20;
/** Keys read per iterator call when listing the keys of a state; past its keys in a key group, the rest of a call is skipped. */
const KEY_LIST_READ_ENTRIES = 4_096;
/** The database's folder inside the working directory; only this folder is ever wiped. */
const DATABASE_FOLDER_NAME = 'keyed-state-leveldb';

export interface LevelDbKeyedStateBackendOptions extends KeyedStateBackendOptions {
  /** Required here: the database lives in `<workingDirectory>/keyed-state-leveldb`, wiped on create and removed on dispose. */
  readonly workingDirectory: string;
  /** Deserialized values kept in memory; default 100 000. */
  readonly cacheCapacityEntries?: number;
  /** Dirty entries that trigger a background batch write; default half the cache. */
  readonly flushThresholdEntries?: number;
  /** LevelDB's own block cache, in bytes; default LevelDB's 8 MiB. */
  readonly blockCacheBytes?: number;
}

const tuningSchema = z.object({
  workingDirectory: z.string().min(1, 'the LevelDB state backend needs a working directory'),
  cacheCapacityEntries: z.number().int().min(1).default(DEFAULT_CACHE_CAPACITY_ENTRIES),
  flushThresholdEntries: z.number().int().min(1).optional(),
  blockCacheBytes: z.number().int().min(0).optional(),
});

type ResolvedTuning = Readonly<z.infer<typeof tuningSchema> & { flushThresholdEntries: number }>;

function resolveTuning(options: LevelDbKeyedStateBackendOptions): ResolvedTuning {
  // Before the database folder is touched; the backend's constructor checks them again.
  checkKeyedStateBackendOptions(options);
  const parsed = tuningSchema.safeParse({
    workingDirectory: options.workingDirectory,
    cacheCapacityEntries: options.cacheCapacityEntries,
    flushThresholdEntries: options.flushThresholdEntries,
    blockCacheBytes: options.blockCacheBytes,
  });
  if (!parsed.success) throw configurationErrorFromZod(parsed.error);
  const { cacheCapacityEntries, flushThresholdEntries } = parsed.data;
  return {
    ...parsed.data,
    flushThresholdEntries:
      flushThresholdEntries ?? defaultFlushThresholdEntries(cacheCapacityEntries),
  };
}

/** Database folders open in this process: two backends on one folder would wipe each other. */
const databaseFoldersInUse = new Set<string>();

/** Serialized writes: key (latin1 text) → value bytes, or null for a delete. */
type WriteOverlay = Map<string, Buffer | null>;

/** An overlay on its way to LevelDB: readable until its batch has been written. */
interface PendingFlush {
  readonly writes: WriteOverlay;
  /** False once its batch is being built, or once a snapshot pinned it: from then on it never changes. */
  acceptsWrites: boolean;
  /** Its batch write is queued on the write chain. */
  scheduled: boolean;
}

type ScalarCacheEntries = Map<unknown, CacheEntry>;
type CompositeCacheEntries = CompositeKeyMap<CacheEntry>;

/** One cached (state, key, namespace): its deserialized value, or undefined for known-absent. */
class CacheEntry {
  value: unknown;
  /** Changed since it was last serialized into an overlay. */
  dirty = false;
  /** Serialized into a snapshot's capture while dirty, and unchanged since: its next change is a change of its key group again. */
  captured = false;
  /** CLOCK's second-chance bit: set on every access, cleared as the hand passes. */
  referenced = true;
  /** The maps that hold this entry, so eviction can find it again. */
  byNamespace: Map<Namespace, ScalarCacheEntries | CompositeCacheEntries> | undefined = undefined;
  byKey: ScalarCacheEntries | CompositeCacheEntries | undefined = undefined;
  /** For a composite key: the map's own copy of it (`mapKey` is then its hash). */
  compositeKey: readonly unknown[] | undefined = undefined;

  constructor(
    readonly table: LevelDbStateTable<unknown>,
    /** The scalar key, or a composite key's hash. */
    readonly mapKey: unknown,
    readonly namespace: Namespace,
    /** The LevelDB key as latin1 text (one char per byte). */
    readonly keyText: string,
    value: unknown,
  ) {
    this.value = value;
  }
}

/** The parts of the backend its tables call; kept narrow so a table cannot reach the rest. */
interface TableHost {
  readonly keyEncoder: StateKeyEncoder;
  readValue(keyText: string): unknown;
  admit(entry: CacheEntry): void;
  markDirty(entry: CacheEntry): void;
  assertWritable(): void;
}

class LevelDbStateTable<V> extends KeyGroupedStateTable<CacheEntry> implements StateTable<V> {
  readonly stateNameBytes: Buffer;
  /** The entry of the last access: a get followed by a put of the same key and namespace skips the lookups. */
  private lastEntry: CacheEntry | undefined = undefined;
  private lastEntryEpoch = -1;

  constructor(
    stateName: string,
    current: CurrentKey,
    private readonly host: TableHost,
    numberOfKeyGroups: number,
  ) {
    super(stateName, current, numberOfKeyGroups);
    this.stateNameBytes = stateNameSegment(stateName);
  }

  get(namespace: Namespace): V | undefined {
    const entry = this.findEntry(namespace) ?? this.loadEntry(namespace);
    entry.referenced = true;
    return entry.value as V | undefined;
  }

  put(namespace: Namespace, value: V): void {
    // `undefined` is what get returns for a missing entry, so storing it is removing.
    if (value === undefined) {
      this.remove(namespace);
      return;
    }
    // A put overwrites, so a miss needs no read from LevelDB.
    const entry = this.findEntry(namespace) ?? this.addEntry(namespace, undefined);
    entry.value = value;
    entry.referenced = true;
    if (!entry.dirty || entry.captured) this.host.markDirty(entry);
  }

  remove(namespace: Namespace): void {
    const entry = this.findEntry(namespace);
    if (entry === undefined) {
      // Unknown whether LevelDB holds it: a blind delete costs less than a read.
      this.host.markDirty(this.addEntry(namespace, undefined));
      return;
    }
    entry.referenced = true;
    if (entry.value === undefined) return; // known absent, or already removed and dirty
    entry.value = undefined;
    if (!entry.dirty || entry.captured) this.host.markDirty(entry);
  }

  /** The cached entry of (key, namespace) in a key group, found without a current key; for the TTL sweep. */
  cachedEntry(keyGroupIndex: number, key: StateKey, namespace: Namespace): CacheEntry | undefined {
    const { mapKey, isComposite } = mapKeyOf(key);
    return isComposite
      ? this.compositeKeyGroups[keyGroupIndex]?.get(namespace)?.get(key as readonly unknown[], mapKey as number)
      : this.scalarKeyGroups[keyGroupIndex]?.get(namespace)?.get(mapKey);
  }

  /** Drops an evicted entry from the lookup maps, and its namespace's map once empty. */
  forget(entry: CacheEntry): void {
    const { byKey, byNamespace } = entry;
    if (byKey === undefined || byNamespace === undefined) return; // admitted, but its insertion failed
    if (entry.compositeKey !== undefined) (byKey as CompositeCacheEntries).delete(entry.compositeKey, entry.mapKey as number);
    else (byKey as ScalarCacheEntries).delete(entry.mapKey);
    if (byKey.size === 0 && byNamespace.get(entry.namespace) === byKey) byNamespace.delete(entry.namespace);
    if (this.lastEntry === entry) this.lastEntry = undefined;
  }

  override rebase(from: KeyGroupRange, to: KeyGroupRange): void {
    super.rebase(from, to);
    this.lastEntry = undefined; // it may be of a dropped key group
  }

  override clear(): void {
    super.clear();
    this.lastEntry = undefined;
  }

  private findEntry(namespace: Namespace): CacheEntry | undefined {
    const current = this.current;
    const last = this.lastEntry;
    if (last !== undefined && this.lastEntryEpoch === current.epoch && last.namespace === namespace) return last;
    const entry = current.isComposite
      ? this.compositeKeyGroups[current.keyGroupIndex]?.get(namespace)?.get(current.key as readonly unknown[], current.mapKey as number)
      : this.scalarKeyGroups[current.keyGroupIndex]?.get(namespace)?.get(current.mapKey);
    if (entry !== undefined) {
      this.lastEntry = entry;
      this.lastEntryEpoch = current.epoch;
    }
    return entry;
  }

  private loadEntry(namespace: Namespace): CacheEntry {
    const current = this.current;
    current.assertSet();
    checkNamespace(namespace);
    const keyText = this.host.keyEncoder.encode(current.keyGroup, this.stateNameBytes, current.key!, namespace);
    return this.insertEntry(new CacheEntry(this as LevelDbStateTable<unknown>, current.mapKey, namespace, keyText, this.host.readValue(keyText)));
  }

  private addEntry(namespace: Namespace, value: unknown): CacheEntry {
    const current = this.current;
    current.assertSet();
    this.host.assertWritable();
    checkNamespace(namespace);
    const keyText = this.host.keyEncoder.encode(current.keyGroup, this.stateNameBytes, current.key!, namespace);
    return this.insertEntry(new CacheEntry(this as LevelDbStateTable<unknown>, current.mapKey, namespace, keyText, value));
  }

  private insertEntry(entry: CacheEntry): CacheEntry {
    // Admit first: the eviction it may cause can drop the very maps this entry is about to join.
    this.host.admit(entry);
    const current = this.current;
    const keyGroupIndex = current.keyGroupIndex;
    if (current.isComposite) {
      const byKey = this.compositeEntries(keyGroupIndex, entry.namespace);
      entry.compositeKey = byKey.set(current.key as readonly unknown[], entry.mapKey as number, entry);
      entry.byNamespace = this.compositeKeyGroups[keyGroupIndex];
      entry.byKey = byKey;
    } else {
      const byKey = this.scalarEntries(keyGroupIndex, entry.namespace);
      byKey.set(entry.mapKey, entry);
      entry.byNamespace = this.scalarKeyGroups[keyGroupIndex];
      entry.byKey = byKey;
    }
    this.lastEntry = entry;
    this.lastEntryEpoch = current.epoch;
    return entry;
  }
}

/** A fixed-capacity ring of cache entries with CLOCK (second chance) eviction: an access costs one flag write. */
class ClockRing {
  private readonly entries: CacheEntry[] = [];
  private hand = 0;

  constructor(readonly capacityEntries: number) {}

  get size(): number {
    return this.entries.length;
  }

  /** Adds `entry`; when full, replaces and returns the first entry the hand finds unreferenced. */
  admit(entry: CacheEntry): CacheEntry | undefined {
    const entries = this.entries;
    if (entries.length < this.capacityEntries) {
      entries.push(entry);
      return undefined;
    }
    for (;;) {
      const candidate = entries[this.hand]!;
      if (candidate.referenced) {
        candidate.referenced = false;
        this.hand = this.hand + 1 === entries.length ? 0 : this.hand + 1;
        continue;
      }
      entries[this.hand] = entry;
      this.hand = this.hand + 1 === entries.length ? 0 : this.hand + 1;
      return candidate;
    }
  }

  /** Drops the entries `keep` refuses, returning them; the hand starts over. */
  retain(keep: (entry: CacheEntry) => boolean): CacheEntry[] {
    const dropped: CacheEntry[] = [];
    let kept = 0;
    for (const entry of this.entries) {
      if (keep(entry)) this.entries[kept++] = entry;
      else dropped.push(entry);
    }
    this.entries.length = kept;
    this.hand = 0;
    return dropped;
  }

  clear(): void {
    this.entries.length = 0;
    this.hand = 0;
  }
}

/** The state at the moment of a snapshot: a LevelDB snapshot plus the overlays not yet (known to be) in it. */
interface CapturedState {
  /** The backend's range at the capture: a later setKeyGroupRange does not change what is read. */
  readonly range: KeyGroupRange;
  readonly overlays: readonly WriteOverlay[];
  readonly databaseSnapshot: ReturnType<ClassicLevel<Buffer, Buffer>['snapshot']>;
  /** Key groups staged at the capture: not state yet, so left out. */
  readonly staged: ReadonlySet<number>;
  /** For states with cleanupFullSnapshot: a stored pair's value bytes as the snapshot keeps them, undefined if expired at the capture. */
  readonly keepUnexpired: ((keyBytes: Buffer, valueBytes: Buffer) => Buffer | undefined) | undefined;
}

export interface LevelDbKeyedStateBackendStatus {
  readonly kind: 'leveldb';
  readonly databaseFolder: string;
  readonly cachedEntries: number;
  readonly cacheCapacityEntries: number;
  readonly flushThresholdEntries: number;
  readonly dirtyEntries: number;
  /** Overlays not yet written to LevelDB, and the serialized writes they hold. */
  readonly pendingFlushes: number;
  readonly pendingWrites: number;
  readonly flushesWritten: number;
  readonly writeFailed: boolean;
  /** The TTL sweep: steps done, and values (or list elements and map entries) it found expired. */
  readonly ttlSweeps: number;
  readonly ttlSweptExpired: number;
}

export class LevelDbKeyedStateBackend extends AbstractKeyedStateBackend<LevelDbStateTable<unknown>, CapturedState> {
  readonly kind = 'leveldb' as const;

  private readonly keyEncoder = new StateKeyEncoder();
  /** What the tables may call; an object of its own so these slow-path hooks stay off the public API. */
  private readonly tableHost: TableHost;

  private readonly cache: ClockRing;
  private readonly flushThresholdEntries: number;
  private readonly valueEncoder = new StateValueEncoder();
  /** Entries that became dirty since the last flush; may also hold entries evicted (and serialized) since. */
  private dirtyEntries: CacheEntry[] = [];
  /** Overlays not yet in LevelDB, oldest first; each leaves once its batch is written. */
  private readonly pendingFlushes: PendingFlush[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private flushesWritten = 0;
  private writeFailure: unknown = undefined;

  private constructor(
    options: LevelDbKeyedStateBackendOptions,
    tuning: ResolvedTuning,
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly databaseFolder: string,
  ) {
    super(options, 'LevelDB');
    this.cache = new ClockRing(tuning.cacheCapacityEntries);
    this.flushThresholdEntries = tuning.flushThresholdEntries;
    this.tableHost = {
      keyEncoder: this.keyEncoder,
      readValue: (keyText) => this.readValue(keyText),
      admit: (entry) => this.admit(entry),
      markDirty: (entry) => this.markDirty(entry),
      assertWritable: () => this.assertWritable(),
    };
  }

  /** Opens a fresh database in `<workingDirectory>/keyed-state-leveldb`, wiping what a previous run left there. */
  static async create(options: LevelDbKeyedStateBackendOptions): Promise<LevelDbKeyedStateBackend> {
    const tuning = resolveTuning(options);
    const databaseFolder = resolve(tuning.workingDirectory, DATABASE_FOLDER_NAME);
    if (databaseFoldersInUse.has(databaseFolder)) {
      throw new ConfigurationError('workingDirectory', `${tuning.workingDirectory} is already used by another LevelDB state backend`);
    }
    databaseFoldersInUse.add(databaseFolder);
    try {
      await rm(databaseFolder, { recursive: true, force: true });
      await mkdir(databaseFolder, { recursive: true });
      const db = new ClassicLevel<Buffer, Buffer>(databaseFolder, {
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
        ...(tuning.blockCacheBytes === undefined ? {} : { cacheSize: tuning.blockCacheBytes }),
      });
      await db.open();
      return new LevelDbKeyedStateBackend(options, tuning, db, databaseFolder);
    } catch (error) {
      databaseFoldersInUse.delete(databaseFolder);
      if (error instanceof SluiceError) throw error;
      throw new ExternalSystemError(`cannot open the LevelDB state database in ${databaseFolder}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  protected async onRangeChanged(previous: KeyGroupRange, range: KeyGroupRange): Promise<void> {
    // Synchronous up to the first await, like the re-indexing before it: from here on nothing can
    // read or write a dropped key group.
    const isKept = (keyText: string): boolean => range.contains(keyGroupOfKeyText(keyText));
    // Dirty values of dropped key groups are never serialized: no flush can write them back.
    for (const entry of this.cache.retain((entry) => isKept(entry.keyText))) entry.dirty = false;
    this.dirtyEntries = this.dirtyEntries.filter((entry) => isKept(entry.keyText));
    // An overlay that still accepts writes is pinned by no snapshot: its writes of dropped key
    // groups can go. Pinned overlays stay as they are (a snapshot reads them); the range delete
    // below is queued after their batches, so it removes what they write.
    for (const pending of this.pendingFlushes) {
      if (!pending.acceptsWrites) continue;
      for (const keyText of pending.writes.keys()) if (!isKept(keyText)) pending.writes.delete(keyText);
    }
    // The checkpoint references of dropped key groups are no longer this backend's; a copy,
    // since readers of earlier captures still use the map they were given.
    if (this.baseline !== undefined) this.baseline = new Map([...this.baseline].filter(([keyGroup]) => range.contains(keyGroup)));
    for (const keyGroup of this.changedKeyGroups) if (!range.contains(keyGroup)) this.changedKeyGroups.delete(keyGroup);
    // Gained key groups get their content from elsewhere: never the same as any baseline of ours.
    for (const keyGroup of range.keyGroupsNotIn(previous)) this.changedKeyGroups.add(keyGroup);
    // Deleting a dropped key group's keys takes seconds for large state: it runs after the batches
    // already queued (a pinned overlay may still write its keys) but holds up neither later writes
    // nor restores of other key groups. Regaining a key group waits for its deletion.
    for (const [start, end] of keyGroupsOutside(previous, range)) {
      const dropping = { start, end, done: this.writeChain.then(() => this.deleteKeyGroups(start, end)).catch(() => {}) }; // a failed write is writeFailure
      this.dropping.push(dropping);
      void dropping.done.finally(() => this.dropping.splice(this.dropping.indexOf(dropping), 1));
    }
    await this.untilDropped(range);
    await this.whenFlushed();
  }

  /** Key groups dropped by setKeyGroupRange whose keys are still being deleted. */
  private readonly dropping: Array<{ readonly start: number; readonly end: number; readonly done: Promise<void> }> = [];

  /** Resolves once no key group of `range` is being deleted. */
  private async untilDropped(range: KeyGroupRange): Promise<void> {
    await Promise.all(this.dropping.filter((d) => d.start <= range.endKeyGroup && d.end >= range.startKeyGroup).map((d) => d.done));
    this.assertNoWriteFailure();
  }

  // --- staging key groups ahead of a live rescale's takeover ---

  /** Staged key groups → the reference of the chunk each was staged from. */
  private readonly staged = new Map<number, string>();

  async stageKeyGroup(keyGroup: number, pairs: Uint8Array, reference: string): Promise<void> {
    this.assertWritable();
    if (this.staged.has(keyGroup)) throw new RestoreError(`key group ${keyGroup} is staged already`);
    await this.untilDropped(KeyGroupRange.of(keyGroup, keyGroup));
    await this.refuseKeyGroupsHoldingState([keyGroup]);
    // Left out of snapshots from here on, before a single key is written.
    this.staged.set(keyGroup, reference);
    try {
      const writer = this.restoreWriter();
      await this.putRawPairs(writer, keyGroup, pairs, `key group ${keyGroup} staged from ${reference}`);
      await writer.finish();
    } catch (error) {
      // What was written of it goes; it is taken over whole instead.
      await this.deleteStaged([keyGroup]);
      throw error;
    }
  }

  stagedKeyGroups(): ReadonlyMap<number, string> {
    return new Map(this.staged);
  }

  async settleStaged(kept: ReadonlySet<number>): Promise<void> {
    const dropped = [...this.staged.keys()].filter((keyGroup) => !kept.has(keyGroup));
    await this.deleteStaged(dropped);
    this.staged.clear();
  }

  /** Deletes staged key groups, one range delete per run of neighbours; they stay left out of snapshots until deleted. */
  private async deleteStaged(keyGroups: readonly number[]): Promise<void> {
    const sorted = [...keyGroups].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; ) {
      let end = i;
      while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end++;
      await this.deleteKeyGroups(sorted[i]!, sorted[end]!);
      i = end + 1;
    }
    this.assertNoWriteFailure();
    for (const keyGroup of keyGroups) this.staged.delete(keyGroup);
  }

  protected createTable(stateName: string): LevelDbStateTable<unknown> {
    return new LevelDbStateTable(stateName, this.current, this.tableHost, this.range.numberOfKeyGroups);
  }

  // --- the TTL sweep ---

  /** States with a time-to-live whose expired values the sweep deletes. */
  private readonly sweptTables: LevelDbStateTable<unknown>[] = [];
  private sweepTimer: Cancellable | undefined;
  /** The sweep step under way, which dispose waits for. */
  private sweeping: Promise<void> | undefined;
  /** The last database key the previous step read; undefined: the next step starts at the range's start. */
  private sweepCursor: Buffer | undefined;
  private ttlSweeps = 0;
  private ttlSweptExpired = 0;

  protected onTtlEnabled(table: LevelDbStateTable<unknown>, ttl: StateTtlPolicy): void {
    if (ttl.config.cleanupStrategies.levelDbSweep === undefined) return;
    this.sweptTables.push(table);
    this.scheduleSweep();
  }

  /** Arms the next step on the operator's clock, at the shortest interval any swept state asks for. */
  private scheduleSweep(): void {
    if (this.disposed || this.writeFailure !== undefined || this.sweepTimer !== undefined || this.sweeping !== undefined || this.sweptTables.length === 0) return;
    const intervalMs = Math.min(...this.sweptTables.map((table) => table.ttl!.config.cleanupStrategies.levelDbSweep!.sweepIntervalMs));
    this.sweepTimer = this.sweptTables[0]!.ttl!.clock.schedule(intervalMs, () => {
      this.sweepTimer = undefined;
      this.sweeping = this.sweepExpired().then(
        () => undefined,
        (error: unknown) => {
          // Like a failed write: the backend takes no more writes, so the task fails and restarts.
          this.writeFailure ??= error;
        },
      );
      void this.sweeping.finally(() => {
        this.sweeping = undefined;
        this.scheduleSweep();
      });
    });
  }

  /**
   * One sweep step: reads the next entries of the database (as many as the largest
   * `entriesPerSweep` of the swept states), going round the backend's range, and deletes the
   * expired values of the swept states, or rewrites a list or map without its expired elements.
   * Returns how many values it changed. Values still only in the cache or the overlays are
   * reached by a later pass, once written to LevelDB.
   */
  async sweepExpired(): Promise<number> {
    this.assertWritable();
    const tables = this.sweptTables;
    if (tables.length === 0 || this.range.isEmpty) return 0;
    const batchEntries = Math.max(...tables.map((table) => table.ttl!.config.cleanupStrategies.levelDbSweep!.entriesPerSweep));
    const range = this.range;
    const cursor = this.sweepCursor !== undefined && range.contains(this.sweepCursor.readUInt16BE(0)) ? this.sweepCursor : undefined;
    const iterator = this.db.iterator({
      ...(cursor === undefined ? { gte: keyGroupPrefix(range.startKeyGroup) } : { gt: cursor }),
      lt: keyGroupPrefix(range.endKeyGroup + 1),
      limit: batchEntries,
    });
    // nextv returns less than asked once it has buffered its high-water mark: read on to the limit or the end.
    const batch: Array<[Buffer, Buffer]> = [];
    try {
      for (let more = await iterator.nextv(batchEntries); more.length > 0; more = await iterator.nextv(batchEntries - batch.length)) {
        for (const pair of more) batch.push(pair);
        if (batch.length >= batchEntries) break;
      }
    } finally {
      await iterator.close();
    }
    if (this.disposed) return 0;
    this.sweepCursor = batch.length < batchEntries ? undefined : batch[batch.length - 1]![0];
    const nowMs = tables[0]!.ttl!.clock.now();
    let expired = 0;
    for (const [keyBytes, valueBytes] of batch) {
      const table = tableOfKey(tables, keyBytes);
      if (table === undefined) continue;
      const prune = table.ttl!.pruneExpired;
      const read = decodeStateValue(valueBytes);
      if (prune(read, nowMs) === read) continue;
      // The batch was read on LevelDB's threads: a newer value may have been written since. The
      // current one is in the cache, in an overlay or in LevelDB, all read synchronously here.
      const keyGroup = keyBytes.readUInt16BE(0);
      if (!this.range.contains(keyGroup) || this.staged.has(keyGroup)) continue;
      const { key, namespace } = decodeStateKey(keyBytes);
      const keyText = keyBytes.toString('latin1');
      const entry = table.cachedEntry(keyGroup - this.range.startKeyGroup, key, namespace);
      const current = entry !== undefined ? entry.value : this.newestValue(keyText, keyBytes);
      if (current === undefined) continue;
      const pruned = prune(current, nowMs);
      if (pruned === current) continue;
      expired++;
      this.changedKeyGroups.add(keyGroup);
      if (entry !== undefined) {
        entry.value = pruned;
        this.markSweptDirty(entry);
      } else {
        this.openOverlay().writes.set(keyText, pruned === undefined ? null : this.valueEncoder.encode(pruned));
      }
    }
    const newest = this.pendingFlushes.at(-1);
    if (newest !== undefined && !newest.scheduled) this.scheduleWrite(newest);
    this.ttlSweeps++;
    this.ttlSweptExpired += expired;
    return expired;
  }

  /** The newest value of a key that is not in the cache, like readValue, for a key that was not the last one encoded. */
  private newestValue(keyText: string, keyBytes: Buffer): unknown {
    let bytes: Buffer | null | undefined;
    for (let i = this.pendingFlushes.length - 1; bytes === undefined && i >= 0; i--) bytes = this.pendingFlushes[i]!.writes.get(keyText);
    if (bytes === undefined) bytes = this.db.getSync(keyBytes) ?? null;
    return bytes === null ? undefined : decodeStateValue(bytes);
  }

  /** markDirty for an entry of any key group (the sweep has no current key); the caller records the key group as changed. */
  private markSweptDirty(entry: CacheEntry): void {
    if (entry.dirty && !entry.captured) return;
    if (entry.captured) {
      entry.captured = false;
      if (entry.dirty) return;
    }
    entry.dirty = true;
    this.dirtyEntries.push(entry);
    if (this.dirtyEntries.length >= this.flushThresholdEntries) this.flush();
  }

  /** Key groups written since the last capture. */
  private changedKeyGroups = new Set<number>();
  /** Captures not confirmed yet: checkpoint id → the key groups changed before it, and what was remembered of its key groups. */
  private readonly unconfirmed = new Map<number, { changed: Set<number>; references: Map<number, unknown> }>();
  /** The key groups' references of the latest confirmed capture; undefined until one is confirmed. */
  private baseline: Map<number, unknown> | undefined;

  snapshotByKeyGroup(checkpointId: number): KeyGroupSnapshotReader {
    const captured = this.captureState();
    const changed = new Set(this.changedKeyGroups);
    for (const earlier of this.unconfirmed.values()) for (const keyGroup of earlier.changed) changed.add(keyGroup);
    const references = new Map<number, unknown>();
    this.unconfirmed.set(checkpointId, { changed: this.changedKeyGroups, references });
    this.changedKeyGroups = new Set();
    const baseline = this.baseline;
    const overlayByKeyGroup = groupOverlaysByKeyGroup(captured.overlays);
    const range = this.keyGroupRange;
    let closed = false;
    return {
      maxParallelism: this.maxParallelism,
      keyGroups: [...range].filter((keyGroup) => !captured.staged.has(keyGroup)),
      changedSinceBaseline: (keyGroup) => baseline === undefined || changed.has(keyGroup),
      baselineReference: (keyGroup) => baseline?.get(keyGroup),
      remember: (keyGroup, reference) => references.set(keyGroup, reference),
      readRaw: async (keyGroup) => {
        if (closed) throw new SluiceError('this LevelDB snapshot was closed');
        const pairs: Array<[Buffer, Buffer]> = [];
        const keepUnexpired = captured.keepUnexpired;
        await this.readCapturedKeyGroup(captured, overlayByKeyGroup.get(keyGroup), keyGroup, (keyBytes, valueBytes) => {
          const kept = keepUnexpired === undefined ? valueBytes : keepUnexpired(keyBytes, valueBytes);
          if (kept !== undefined) pairs.push([keyBytes, kept]);
        });
        return encodeRawPairs(pairs);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await captured.databaseSnapshot.close().catch(() => undefined);
      },
    };
  }

  confirmSnapshot(checkpointId: number): void {
    const confirmed = this.unconfirmed.get(checkpointId);
    if (confirmed === undefined) return;
    this.baseline = confirmed.references;
    for (const id of [...this.unconfirmed.keys()]) if (id <= checkpointId) this.unconfirmed.delete(id);
  }

  /** One key group's live entries in a captured state: LevelDB snapshot entries, overridden by the overlays. */
  private async readCapturedKeyGroup(
    captured: CapturedState,
    overlay: WriteOverlay | undefined,
    keyGroup: number,
    add: (keyBytes: Buffer, valueBytes: Buffer) => void,
  ): Promise<void> {
    const iterator = this.db.iterator({
      gte: keyGroupPrefix(keyGroup),
      lt: keyGroupPrefix(keyGroup + 1),
      snapshot: captured.databaseSnapshot,
      highWaterMarkBytes: KEY_GROUP_READ_HIGH_WATER_MARK_BYTES,
    });
    try {
      for (;;) {
        const batch = await iterator.nextv(KEY_GROUP_READ_ENTRIES);
        if (batch.length === 0) break;
        for (const [keyBytes, valueBytes] of batch) if (overlay === undefined || !overlay.has(keyBytes.toString('latin1'))) add(keyBytes, valueBytes);
      }
    } finally {
      await iterator.close();
    }
    if (overlay !== undefined) for (const [keyText, bytes] of overlay) if (bytes !== null) add(Buffer.from(keyText, 'latin1'), bytes);
  }

  async restore(snapshots: readonly KeyedStateSnapshot[]): Promise<void> {
    this.assertWritable();
    const keyGroups = keyGroupsToRestore(snapshots, this.range, this.maxParallelism);
    if (keyGroups.length === 0) return;
    // The overlays on their way go to LevelDB first (a delete among them must not land after the
    // restore); the dirty cache stays where it is (writing it would lengthen a rescale's pause).
    // LevelDB, the overlays and the dirty entries then tell whether a key group holds state.
    const parked = this.pendingFlushes.at(-1);
    if (parked !== undefined && !parked.scheduled) this.scheduleWrite(parked);
    await this.whenFlushed();
    await this.untilDropped(KeyGroupRange.of(Math.min(...keyGroups), Math.max(...keyGroups)));
    await this.refuseKeyGroupsHoldingState(keyGroups);
    // The cache may know keys of these key groups as absent (or removed, dirty); after the restore
    // they may not be, and a removal written later would delete a restored key.
    const restoring = new Set(keyGroups);
    for (const entry of this.cache.retain((entry) => !restoring.has(keyGroupOfKeyText(entry.keyText)))) {
      entry.dirty = false;
      entry.table.forget(entry);
    }
    this.dirtyEntries = this.dirtyEntries.filter((entry) => entry.dirty);
    for (const keyGroup of keyGroups) this.changedKeyGroups.add(keyGroup);
    const encoder = new StateKeyEncoder();
    const segments = new Map<string, Buffer>();
    const writer = this.restoreWriter();
    // Key groups a LevelDB checkpoint wrote as raw pairs go back as they are.
    for (const snapshot of snapshots) {
      for (const group of snapshot.keyGroups ?? []) {
        if (group.rawPairs === undefined || !this.range.contains(group.keyGroup)) continue;
        await this.putRawPairs(writer, group.keyGroup, group.rawPairs, `key group ${group.keyGroup}`);
      }
    }
    for (const { keyGroup, entry } of entriesInRange(snapshots, this.range, this.maxParallelism, true)) {
      const [stateName, key, namespace, value] = entry;
      if (value === undefined) continue;
      let keyBytes: Buffer;
      let valueBytes: Buffer;
      try {
        let segment = segments.get(stateName);
        if (segment === undefined) {
          checkStateName(stateName);
          segment = stateNameSegment(stateName);
          segments.set(stateName, segment);
        }
        mapKeyOf(key); // rejects keys that are not state keys, as setCurrentKey would
        keyBytes = Buffer.from(encoder.encode(keyGroup, segment, key, namespace), 'latin1');
        valueBytes = this.valueEncoder.encode(value);
      } catch (error) {
        throw restoreEntryError(keyGroup, stateName, error);
      }
      const full = writer.put(keyBytes, valueBytes);
      if (full) await full;
    }
    await writer.finish();
  }

  // --- listing the keys of a state (applyToKeyedState) ---

  async keysWithState(stateName: string, namespace: Namespace): Promise<readonly KeyInKeyGroup[]> {
    this.assertWritable();
    checkNamespace(namespace);
    const segment = this.tables.get(stateName)?.stateNameBytes ?? stateNameSegment(stateName);
    const listed = new Map<string, KeyInKeyGroup | null>();
    // Batch writes wait until the listing ends, so LevelDB holds throughout what it held once the
    // writes queued before had landed: what it lacks is then still in an overlay or the cache.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const queuedBefore = this.writeChain;
    this.writeChain = queuedBefore.then(() => held);
    try {
      await queuedBefore;
      this.assertNoWriteFailure();
      await this.readStoredKeysOfState(segment, namespace, this.range, listed);
      // Synchronous from here on: newer layers override what LevelDB holds.
      this.assertNotDisposed();
      this.listNewerKeysOfState(stateName, segment, namespace, listed);
    } finally {
      release();
    }
    const keys: Array<[keyText: string, key: KeyInKeyGroup]> = [];
    for (const [keyText, key] of listed) {
      if (key !== null && this.range.contains(key.keyGroup) && !this.staged.has(key.keyGroup)) keys.push([keyText, key]);
    }
    // Byte order: by key group, then by the key's encoding.
    keys.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.map(([, key]) => key);
  }

  /**
   * Adds the keys LevelDB holds of one state in `namespace` within `range`. One iterator over the
   * range; where the state's keys of a key group end, it seeks to where they start in the next.
   */
  private async readStoredKeysOfState(segment: Buffer, namespace: Namespace, range: KeyGroupRange, listed: Map<string, KeyInKeyGroup | null>): Promise<void> {
    if (range.isEmpty) return;
    const startOfState = (keyGroup: number): Buffer => Buffer.concat([keyGroupPrefix(keyGroup), segment]);
    const iterator = this.db.keys({
      gte: keyGroupPrefix(range.startKeyGroup),
      lt: keyGroupPrefix(range.endKeyGroup + 1),
      highWaterMarkBytes: SNAPSHOT_READ_HIGH_WATER_MARK_BYTES,
    });
    try {
      iterator.seek(startOfState(range.startKeyGroup));
      for (;;) {
        const batch = await iterator.nextv(KEY_LIST_READ_ENTRIES);
        if (batch.length === 0) return;
        for (const keyBytes of batch) {
          const keyGroup = keyBytes.readUInt16BE(0);
          if (keyBytes.length > 2 + segment.length && keyBytes.compare(segment, 0, segment.length, 2, 2 + segment.length) === 0) {
            const decoded = decodeStateKey(keyBytes);
            if (decoded.namespace === namespace) listed.set(keyBytes.toString('latin1'), { key: decoded.key, keyGroup });
            continue;
          }
          // Another state: before this one's keys of its key group (reached by reading on), or after them.
          const start = startOfState(keyGroup);
          if (keyBytes.compare(start) < 0) iterator.seek(start);
          else if (keyGroup < range.endKeyGroup) iterator.seek(startOfState(keyGroup + 1));
          else return;
          break;
        }
      }
    } finally {
      await iterator.close();
    }
  }

  /** Overrides `listed` with the overlays not yet in LevelDB (oldest first) and the cache: null where they removed a key. */
  private listNewerKeysOfState(stateName: string, segment: Buffer, namespace: Namespace, listed: Map<string, KeyInKeyGroup | null>): void {
    const segmentText = segment.toString('latin1');
    for (const pending of this.pendingFlushes) {
      for (const [keyText, bytes] of pending.writes) {
        if (!keyText.startsWith(segmentText, 2)) continue;
        const decoded = decodeStateKey(Buffer.from(keyText, 'latin1'));
        if (decoded.namespace === namespace) listed.set(keyText, bytes === null ? null : { key: decoded.key, keyGroup: decoded.keyGroup });
      }
    }
    const table = this.tables.get(stateName);
    if (table === undefined) return;
    const startKeyGroup = this.range.startKeyGroup;
    const fromCache = (entry: CacheEntry, keyGroup: number): void => {
      // The map's own composite key is copied: whoever gets the list may change it.
      const key = entry.compositeKey === undefined ? (entry.mapKey as StateKey) : (copyCompositeKey(entry.compositeKey) as StateKey);
      listed.set(entry.keyText, entry.value === undefined ? null : { key, keyGroup });
    };
    for (let index = 0; index < this.range.numberOfKeyGroups; index++) {
      const keyGroup = startKeyGroup + index;
      const scalar = table.scalarKeyGroups[index]?.get(namespace);
      if (scalar !== undefined) for (const entry of scalar.values()) fromCache(entry, keyGroup);
      const composite = table.compositeKeyGroups[index]?.get(namespace);
      if (composite !== undefined) forEachCompositeSlot(composite.chainsForSnapshot(), (_key, entry) => fromCache(entry, keyGroup));
    }
  }

  async countEntries(): Promise<number> {
    let count = 0;
    await this.readCapturedState(this.captureState(), () => {
      count++;
    });
    return count;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    await this.sweeping;
    await this.writeChain;
    await Promise.all(this.dropping.map((d) => d.done));
    try {
      await this.db.close();
      await rm(this.databaseFolder, { recursive: true, force: true });
    } finally {
      databaseFoldersInUse.delete(this.databaseFolder);
      this.clearTables();
      this.cache.clear();
      this.dirtyEntries = [];
      this.pendingFlushes.length = 0;
    }
  }

  /** Plain JSON for metrics, the UI and debugging. */
  getStatus(): LevelDbKeyedStateBackendStatus {
    let dirtyEntries = 0;
    for (const entry of this.dirtyEntries) if (entry.dirty) dirtyEntries++;
    let pendingWrites = 0;
    for (const pending of this.pendingFlushes) pendingWrites += pending.writes.size;
    return {
      kind: this.kind,
      databaseFolder: this.databaseFolder,
      cachedEntries: this.cache.size,
      cacheCapacityEntries: this.cache.capacityEntries,
      flushThresholdEntries: this.flushThresholdEntries,
      dirtyEntries,
      pendingFlushes: this.pendingFlushes.length,
      pendingWrites,
      flushesWritten: this.flushesWritten,
      writeFailed: this.writeFailure !== undefined,
      ttlSweeps: this.ttlSweeps,
      ttlSweptExpired: this.ttlSweptExpired,
    };
  }

  /** Resolves once every write submitted so far is in LevelDB; rejects if one failed. */
  async whenFlushed(): Promise<void> {
    await this.writeChain;
    this.assertNoWriteFailure();
  }

  // --- the table host: called by the tables on their slow paths ---

  /** The newest value of a key that is not in the cache: overlays newest first, then LevelDB. */
  private readValue(keyText: string): unknown {
    let bytes: Buffer | null | undefined;
    for (let i = this.pendingFlushes.length - 1; bytes === undefined && i >= 0; i--) bytes = this.pendingFlushes[i]!.writes.get(keyText);
    if (bytes === undefined) {
      this.assertNotDisposed();
      bytes = this.db.getSync(this.keyEncoder.lastKeyBytes()) ?? null;
    }
    return bytes === null ? undefined : decodeStateValue(bytes);
  }

  private admit(entry: CacheEntry): void {
    const evicted = this.cache.admit(entry);
    if (evicted === undefined) return;
    evicted.table.forget(evicted);
    if (evicted.dirty) {
      // Still counted in dirtyEntries, so the flush threshold also bounds writes parked like this.
      this.openOverlay().writes.set(evicted.keyText, this.serializeEntry(evicted));
      evicted.dirty = false;
    }
  }

  private markDirty(entry: CacheEntry): void {
    this.changedKeyGroups.add(this.current.keyGroup);
    if (entry.captured) {
      entry.captured = false;
      if (entry.dirty) return; // in dirtyEntries already
    }
    entry.dirty = true;
    this.dirtyEntries.push(entry);
    if (this.dirtyEntries.length >= this.flushThresholdEntries) this.flush();
  }

  protected override assertWritable(): void {
    super.assertWritable();
    this.assertNoWriteFailure();
  }

  // --- flushing ---

  /** Serializes every dirty entry into the open overlay and queues that overlay's batch write. */
  private flush(): void {
    this.assertWritable();
    const dirtyEntries = this.dirtyEntries;
    let overlay: PendingFlush | undefined;
    for (const entry of dirtyEntries) {
      if (!entry.dirty) continue;
      overlay ??= this.openOverlay();
      overlay.writes.set(entry.keyText, this.serializeEntry(entry));
      entry.dirty = false;
    }
    this.dirtyEntries = [];
    // Evictions may have parked writes in an open overlay that is not queued yet.
    const newest = this.pendingFlushes.at(-1);
    if (newest !== undefined && !newest.scheduled) this.scheduleWrite(newest);
  }

  /** The newest overlay if it still accepts writes (its batch has not started, no snapshot pinned it), else a new one. */
  private openOverlay(): PendingFlush {
    const newest = this.pendingFlushes.at(-1);
    if (newest !== undefined && newest.acceptsWrites) return newest;
    const overlay: PendingFlush = { writes: new Map(), acceptsWrites: true, scheduled: false };
    this.pendingFlushes.push(overlay);
    return overlay;
  }

  private async writeOverlay(pending: PendingFlush): Promise<void> {
    pending.acceptsWrites = false;
    // After a failure, later batches must not land either: the failed overlay stays readable
    // below them, and writing them would let LevelDB hold newer values than that overlay shadows.
    if (this.writeFailure !== undefined || this.disposed) return;
    try {
      const batch = this.db.batch();
      for (const [keyText, bytes] of pending.writes) {
        const key = Buffer.from(keyText, 'latin1');
        if (bytes === null) batch.del(key);
        else batch.put(key, bytes);
      }
      await batch.write();
      this.flushesWritten++;
      const index = this.pendingFlushes.indexOf(pending);
      if (index >= 0) this.pendingFlushes.splice(index, 1);
    } catch (error) {
      this.writeFailure = error;
    }
  }

  private serializeEntry(entry: CacheEntry): Buffer | null {
    if (entry.value === undefined) return null;
    try {
      return this.valueEncoder.encode(entry.value);
    } catch (error) {
      throw new UserFunctionError(
        `state ${entry.table.stateName} holds a value that cannot be serialized (state keeps structured-clonable data only: no functions, symbols, promises or weak collections): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Whether LevelDB holds an entry of `keyGroup`, or an overlay on its way there writes one. */
  private async holdsKeyGroup(keyGroup: number): Promise<boolean> {
    // Overlays hold keys of the range only (those of a dropped key group are in LevelDB before its range delete ends).
    if (this.range.contains(keyGroup)) for (const pending of this.pendingFlushes) {
      for (const [keyText, bytes] of pending.writes) if (bytes !== null && keyGroupOfKeyText(keyText) === keyGroup) return true;
    }
    const keys = await this.db.keys({ gte: keyGroupPrefix(keyGroup), lt: keyGroupPrefix(keyGroup + 1), limit: 1 }).all();
    return keys.length > 0;
  }

  /** Deletes key groups start..end from LevelDB (one range delete); on the write chain, after the batches queued before it. */
  private async deleteKeyGroups(start: number, end: number): Promise<void> {
    if (this.writeFailure !== undefined || this.disposed) return;
    try {
      await this.db.clear({ gte: keyGroupPrefix(start), lt: keyGroupPrefix(end + 1) });
    } catch (error) {
      this.writeFailure = error;
    }
  }

  /**
   * Puts written straight to LevelDB (restores, staging), RESTORE_BATCH_ENTRIES per batch. `put`
   * returns a promise only when it wrote a full batch, so a restore awaits once per batch.
   */
  private restoreWriter(): { put(key: Buffer, value: Buffer): Promise<void> | undefined; finish(): Promise<void> } {
    let batch = this.db.batch();
    const write = async () => {
      try {
        await batch.write();
      } catch (error) {
        throw new ExternalSystemError(`restoring keyed state into LevelDB failed: ${(error as Error).message}`, { cause: error });
      }
    };
    return {
      put: (key, value) => {
        batch.put(key, value);
        if (batch.length < RESTORE_BATCH_ENTRIES) return undefined;
        const full = write();
        batch = this.db.batch();
        return full;
      },
      finish: () => (batch.length > 0 ? write() : batch.close()),
    };
  }

  /** A key group's raw pairs (as a LevelDB checkpoint stores them) into `writer`; `where` names them in errors. */
  private async putRawPairs(writer: ReturnType<LevelDbKeyedStateBackend['restoreWriter']>, keyGroup: number, pairs: Uint8Array, where: string): Promise<void> {
    for (const [keyBytes, valueBytes] of rawPairs(pairs, where)) {
      if (keyBytes.length < 2 || keyGroupOfRawKey(keyBytes) !== keyGroup) throw new RestoreError(`${where}: a stored key belongs to another key group`);
      const full = writer.put(keyBytes, valueBytes);
      if (full) await full;
    }
  }

  /**
   * Refuses (RestoreError) if any of `keyGroups` holds state here: a value in the cache not yet
   * written, in an overlay on its way, or in LevelDB.
   */
  private async refuseKeyGroupsHoldingState(keyGroups: readonly number[]): Promise<void> {
    const dirty = new Set<number>();
    for (const entry of this.dirtyEntries) if (entry.dirty && entry.value !== undefined) dirty.add(keyGroupOfKeyText(entry.keyText));
    for (const keyGroup of keyGroups) if (dirty.has(keyGroup) || (await this.holdsKeyGroup(keyGroup))) throw keyGroupHoldsStateError(keyGroup);
  }

  // --- snapshots ---

  /**
   * Everything a snapshot needs, captured synchronously: after this, puts cannot change what it
   * reads. Overlays on their way to LevelDB are pinned. Dirty cache entries changed since the
   * previous capture are serialized into an overlay of the capture's own and stay dirty: a hot
   * set smaller than the flush threshold is not rewritten to LevelDB at every checkpoint (that
   * cost a LevelDB batch and its compaction per checkpoint). Dirty entries unchanged since the
   * previous capture are written back now, so idle entries do not stay dirty.
   */
  protected captureState(): CapturedState {
    this.assertWritable();
    const overlays: WriteOverlay[] = [];
    for (const pending of this.pendingFlushes) {
      pending.acceptsWrites = false; // pinned: later writes open a new overlay
      // Evictions may have parked writes in an overlay that is not queued yet; pinned, it would never be.
      if (!pending.scheduled) this.scheduleWrite(pending);
      overlays.push(pending.writes);
    }
    const changed: WriteOverlay = new Map();
    let writeBack: PendingFlush | undefined;
    for (const entry of this.dirtyEntries) {
      if (!entry.dirty) continue;
      if (entry.captured) {
        if (writeBack === undefined) {
          writeBack = { writes: new Map(), acceptsWrites: false, scheduled: false };
          this.pendingFlushes.push(writeBack);
        }
        writeBack.writes.set(entry.keyText, this.serializeEntry(entry));
        entry.dirty = false;
        entry.captured = false;
      } else {
        changed.set(entry.keyText, this.serializeEntry(entry));
        entry.captured = true;
      }
    }
    if (writeBack !== undefined) {
      this.dirtyEntries = this.dirtyEntries.filter((entry) => entry.dirty);
      this.scheduleWrite(writeBack);
      overlays.push(writeBack.writes);
    }
    if (changed.size > 0) overlays.push(changed);
    return {
      range: this.range,
      overlays,
      databaseSnapshot: this.db.snapshot(),
      staged: new Set(this.staged.keys()),
      keepUnexpired: this.unexpiredFilter(),
    };
  }

  /** The snapshot filter of the states with cleanupFullSnapshot, at this moment's processing time; undefined if there are none. */
  private unexpiredFilter(): CapturedState['keepUnexpired'] {
    const filtered = [...this.tables.values()].filter((table) => table.ttl?.config.cleanupStrategies.inFullSnapshot === true);
    if (filtered.length === 0) return undefined;
    const nowMs = filtered[0]!.ttl!.clock.now();
    return (keyBytes, valueBytes) => {
      const table = tableOfKey(filtered, keyBytes);
      if (table === undefined) return valueBytes;
      const stored = decodeStateValue(valueBytes);
      const kept = table.ttl!.pruneExpired(stored, nowMs);
      return kept === stored ? valueBytes : kept === undefined ? undefined : this.valueEncoder.encode(kept);
    };
  }

  private scheduleWrite(pending: PendingFlush): void {
    pending.scheduled = true;
    this.writeChain = this.writeChain.then(() => this.writeOverlay(pending));
  }

  protected async readSnapshot(captured: CapturedState): Promise<KeyedStateSnapshot> {
    const entriesByKeyGroup = new Map<number, StateEntry[]>();
    const keepUnexpired = captured.keepUnexpired;
    await this.readCapturedState(captured, (keyGroup, keyBytes, storedBytes) => {
      const valueBytes = keepUnexpired === undefined ? storedBytes : keepUnexpired(keyBytes, storedBytes);
      if (valueBytes === undefined) return;
      const decoded = decodeStateKey(keyBytes);
      let entries = entriesByKeyGroup.get(keyGroup);
      if (entries === undefined) {
        entries = [];
        entriesByKeyGroup.set(keyGroup, entries);
      }
      entries.push([decoded.stateName, decoded.key, decoded.namespace, decodeStateValue(valueBytes)]);
    });
    const keyGroups = [...entriesByKeyGroup]
      .sort(([a], [b]) => a - b)
      .map(([keyGroup, entries]) => ({ keyGroup, entries }));
    return { maxParallelism: this.maxParallelism, keyGroups };
  }

  /** Calls `visit` once per live entry of the captured state: LevelDB snapshot entries, overridden by the overlays. */
  private async readCapturedState(
    captured: CapturedState,
    visit: (keyGroup: number, keyBytes: Buffer, valueBytes: Buffer) => void,
  ): Promise<void> {
    const { range, overlays, databaseSnapshot } = captured;
    // Grouped only once the first read from LevelDB is under way, so that work overlaps it
    // instead of adding to the snapshot's synchronous part; the pinned overlays cannot change.
    let overlayByKeyGroup: Map<number, WriteOverlay> | undefined;
    try {
      if (!range.isEmpty) {
        // The backend's key groups are one contiguous range of keys, so one iterator reads them all.
        const iterator = this.db.iterator({
          gte: keyGroupPrefix(range.startKeyGroup),
          lt: keyGroupPrefix(range.endKeyGroup + 1),
          snapshot: databaseSnapshot,
          highWaterMarkBytes: SNAPSHOT_READ_HIGH_WATER_MARK_BYTES,
        });
        try {
          for (;;) {
            const batch = await iterator.nextv(SNAPSHOT_READ_ENTRIES);
            overlayByKeyGroup ??= groupOverlaysByKeyGroup(overlays);
            if (batch.length === 0) break;
            for (const [keyBytes, valueBytes] of batch) {
              const keyGroup = keyBytes.readUInt16BE(0);
              if (captured.staged.has(keyGroup)) continue;
              const overlay = overlayByKeyGroup.get(keyGroup);
              if (overlay !== undefined && overlay.has(keyBytes.toString('latin1'))) continue;
              visit(keyGroup, keyBytes, valueBytes);
            }
          }
        } finally {
          await iterator.close();
        }
      }
      overlayByKeyGroup ??= groupOverlaysByKeyGroup(overlays);
      for (const [keyGroup, overlay] of overlayByKeyGroup) {
        for (const [keyText, bytes] of overlay) if (bytes !== null) visit(keyGroup, Buffer.from(keyText, 'latin1'), bytes);
      }
    } finally {
      // Closing is cleanup; an error here must not hide the one that may have got us here.
      await databaseSnapshot.close().catch(() => undefined);
    }
  }

  private assertNoWriteFailure(): void {
    if (this.writeFailure !== undefined) {
      throw new ExternalSystemError(
        `writing keyed state to LevelDB failed; the backend cannot take more writes: ${(this.writeFailure as Error).message}`,
        { cause: this.writeFailure },
      );
    }
  }
}

/** Overlays (oldest first) merged into one per key group, newer writes winning, so a database key is checked against its own group only. */
function groupOverlaysByKeyGroup(overlays: readonly WriteOverlay[]): Map<number, WriteOverlay> {
  const byKeyGroup = new Map<number, WriteOverlay>();
  for (const overlay of overlays) {
    for (const [keyText, bytes] of overlay) {
      const keyGroup = keyGroupOfKeyText(keyText);
      let merged = byKeyGroup.get(keyGroup);
      if (merged === undefined) {
        merged = new Map();
        byKeyGroup.set(keyGroup, merged);
      }
      merged.set(keyText, bytes);
    }
  }
  return byKeyGroup;
}

/** The table of `tables` a stored key belongs to (its state name segment follows the key group), if any. */
function tableOfKey(tables: readonly LevelDbStateTable<unknown>[], keyBytes: Buffer): LevelDbStateTable<unknown> | undefined {
  for (const table of tables) {
    const segment = table.stateNameBytes;
    if (keyBytes.length > 2 + segment.length && keyBytes.compare(segment, 0, segment.length, 2, 2 + segment.length) === 0) return table;
  }
  return undefined;
}

/** The key groups of `from` that are not in `to`, as at most two inclusive [start, end] runs. */
function keyGroupsOutside(from: KeyGroupRange, to: KeyGroupRange): Array<[number, number]> {
  if (from.isEmpty) return [];
  if (to.isEmpty) return [[from.startKeyGroup, from.endKeyGroup]];
  const runs: Array<[number, number]> = [];
  if (from.startKeyGroup < to.startKeyGroup) runs.push([from.startKeyGroup, Math.min(from.endKeyGroup, to.startKeyGroup - 1)]);
  if (from.endKeyGroup > to.endKeyGroup) runs.push([Math.max(from.startKeyGroup, to.endKeyGroup + 1), from.endKeyGroup]);
  return runs;
}
