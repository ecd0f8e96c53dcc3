// State with a time-to-live through its handles, on both backends: what a read sees and when
// (against a plain reference model over seeded random operations, for each update type and
// visibility, across snapshots restored into the other backend), Flink's meaning in small written
// examples, and that background cleanup keeps state bounded under ever-new keys where the same
// stream without a time-to-live grows. Time is a ManualClock.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type AggregatingState,
  type ListState,
  type MapState,
  type ReducingState,
  type StateDescriptor,
  type ValueState,
} from '../../shared/api/state.ts';
import { StateTtlConfig, StateVisibility, UpdateType, type StateTtlConfigBuilder } from '../../shared/api/state-ttl.ts';
import { ManualClock } from '../../shared/clock.ts';
import { RestoreError } from '../../shared/errors.ts';
import { KeyGroupRange, assignToKeyGroup } from '../../shared/key-groups.ts';
import { seededRandom } from '../../shared/testing/seeded-random.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import { LevelDbKeyedStateBackend } from '../state/leveldb-state-backend.ts';
import { InMemoryKeyedStateBackend } from '../state/memory-state-backend.ts';
import { stateTtlPolicy } from '../state/state-ttl.ts';
import { createStateHandle } from './keyed-state-handles.ts';

const MAX_PARALLELISM = 128;
const FULL_RANGE = KeyGroupRange.of(0, MAX_PARALLELISM - 1);
const root = await mkdtemp(join(tmpdir(), 'sluice-ttl-state-'));
after(() => rm(root, { recursive: true, force: true }));

type BackendKind = 'memory' | 'leveldb';
const BACKEND_KINDS: readonly BackendKind[] = ['memory', 'leveldb'];
let directoryCount = 0;
const openBackends: KeyedStateBackend[] = [];
afterEach(async () => {
  for (const backend of openBackends.splice(0)) await backend.dispose();
});

/** LevelDB with a tiny cache, so TTL values go through serialization, eviction and overlays all the time. */
async function newBackend(kind: BackendKind, cache: { cacheCapacityEntries: number; flushThresholdEntries: number } = { cacheCapacityEntries: 16, flushThresholdEntries: 4 }): Promise<KeyedStateBackend> {
  const options = { keyGroupRange: FULL_RANGE, maxParallelism: MAX_PARALLELISM };
  const backend =
    kind === 'memory'
      ? new InMemoryKeyedStateBackend(options)
      : await LevelDbKeyedStateBackend.create({ ...options, workingDirectory: join(root, `backend-${directoryCount++}`), ...cache });
  openBackends.push(backend);
  return backend;
}

function at(backend: KeyedStateBackend, key: string): void {
  backend.setCurrentKey(key, assignToKeyGroup(key, MAX_PARALLELISM));
}

/** The handle of `descriptor` on `backend`, as an operator's getState gives it. */
function handle<H>(backend: KeyedStateBackend, descriptor: StateDescriptor, clock: ManualClock): H {
  const config = descriptor.ttlConfig;
  const ttl = config === undefined ? undefined : stateTtlPolicy(descriptor, config, clock);
  return createStateHandle(descriptor, backend.getTable(descriptor.name, ttl), ttl) as H;
}

interface Handles {
  value: ValueState<number>;
  list: ListState<number>;
  map: MapState<string, number>;
  reducing: ReducingState<number>;
  aggregating: AggregatingState<number, number>;
}

const sumOfSquares = {
  createAccumulator: () => 0,
  add: (value: number, accumulator: number) => accumulator + value * value,
  getResult: (accumulator: number) => accumulator,
};

function handlesOf(backend: KeyedStateBackend, config: StateTtlConfig, clock: ManualClock): Handles {
  return {
    value: handle(backend, new ValueStateDescriptor<number>('value').enableTimeToLive(config), clock),
    list: handle(backend, new ListStateDescriptor<number>('list').enableTimeToLive(config), clock),
    map: handle(backend, new MapStateDescriptor<string, number>('map').enableTimeToLive(config), clock),
    reducing: handle(backend, new ReducingStateDescriptor<number>('reducing', (a, b) => a + b).enableTimeToLive(config), clock),
    aggregating: handle(backend, new AggregatingStateDescriptor('aggregating', sumOfSquares).enableTimeToLive(config), clock),
  };
}

// ---- the reference ---------------------------------------------------------------------

/** One stored value and when it was last updated. */
interface Stamped<T> {
  v: T;
  at: number;
}

/**
 * TTL state written out plainly: each value, element and entry with the time of its last update.
 * A value is dead once `ttlMs` have passed since; a read removes dead values, returns them only if
 * `returnExpired`, and with `renewOnRead` stamps what it returns alive with the time of the read.
 */
class ReferenceKey {
  value: Stamped<number> | undefined;
  list: Stamped<number>[] = [];
  map = new Map<string, Stamped<number>>();
  reducing: Stamped<number> | undefined;
  aggregating: Stamped<number> | undefined;
}

class Reference {
  private readonly keys = new Map<string, ReferenceKey>();
  constructor(
    private readonly ttlMs: number,
    private readonly renewOnRead: boolean,
    private readonly returnExpired: boolean,
  ) {}

  of(key: string): ReferenceKey {
    let state = this.keys.get(key);
    if (state === undefined) this.keys.set(key, (state = new ReferenceKey()));
    return state;
  }

  private dead(stamped: Stamped<unknown>, now: number): boolean {
    return now - stamped.at >= this.ttlMs;
  }

  /** A read of a single value: what it sees, and what stays stored. */
  private readSingle(stamped: Stamped<number> | undefined, now: number): { seen: number | undefined; kept: Stamped<number> | undefined } {
    if (stamped === undefined) return { seen: undefined, kept: undefined };
    if (this.dead(stamped, now)) return { seen: this.returnExpired ? stamped.v : undefined, kept: undefined };
    return { seen: stamped.v, kept: this.renewOnRead ? { v: stamped.v, at: now } : stamped };
  }

  valueGet(key: string, now: number): number | undefined {
    const state = this.of(key);
    const { seen, kept } = this.readSingle(state.value, now);
    state.value = kept;
    return seen;
  }

  listGet(key: string, now: number): number[] {
    const state = this.of(key);
    const seen = state.list.filter((e) => this.returnExpired || !this.dead(e, now)).map((e) => e.v);
    state.list = state.list.filter((e) => !this.dead(e, now)).map((e) => (this.renewOnRead ? { v: e.v, at: now } : e));
    return seen;
  }

  mapGet(key: string, entry: string, now: number): number | undefined {
    const state = this.of(key);
    const { seen, kept } = this.readSingle(state.map.get(entry), now);
    if (kept === undefined) state.map.delete(entry);
    else state.map.set(entry, kept);
    return seen;
  }

  mapContains(key: string, entry: string, now: number): boolean {
    const state = this.of(key);
    const stamped = state.map.get(entry);
    return stamped !== undefined && (this.mapGet(key, entry, now) !== undefined || this.returnExpired);
  }

  mapEntries(key: string, now: number): [string, number][] {
    const state = this.of(key);
    const seen: [string, number][] = [];
    for (const [entry, stamped] of [...state.map]) {
      if (this.returnExpired || !this.dead(stamped, now)) seen.push([entry, stamped.v]);
      if (this.dead(stamped, now)) state.map.delete(entry);
      else if (this.renewOnRead) state.map.set(entry, { v: stamped.v, at: now });
    }
    return seen;
  }

  mapIsEmpty(key: string, now: number): boolean {
    const state = this.of(key);
    const wasEmpty = state.map.size === 0;
    for (const [entry, stamped] of [...state.map]) if (this.dead(stamped, now)) state.map.delete(entry);
    return this.returnExpired ? wasEmpty : state.map.size === 0;
  }

  /** An add builds on the current value unless it is dead and not returned; it never renews or removes it first. */
  private base(stamped: Stamped<number> | undefined, now: number): number | undefined {
    if (stamped === undefined || (this.dead(stamped, now) && !this.returnExpired)) return undefined;
    return stamped.v;
  }

  reducingAdd(key: string, value: number, now: number): void {
    const state = this.of(key);
    const base = this.base(state.reducing, now);
    state.reducing = { v: base === undefined ? value : base + value, at: now };
  }

  reducingGet(key: string, now: number): number | undefined {
    const state = this.of(key);
    const { seen, kept } = this.readSingle(state.reducing, now);
    state.reducing = kept;
    return seen;
  }

  aggregatingAdd(key: string, value: number, now: number): void {
    const state = this.of(key);
    state.aggregating = { v: (this.base(state.aggregating, now) ?? 0) + value * value, at: now };
  }

  aggregatingGet(key: string, now: number): number | undefined {
    const state = this.of(key);
    const { seen, kept } = this.readSingle(state.aggregating, now);
    state.aggregating = kept;
    return seen;
  }
}

// ---- the comparison --------------------------------------------------------------------

const TTL_MS = 100;
const CONFIGURATIONS = [UpdateType.OnCreateAndWrite, UpdateType.OnReadAndWrite].flatMap((updateType) =>
  [StateVisibility.NeverReturnExpired, StateVisibility.ReturnExpiredIfNotCleanedUp].map((visibility) => ({ updateType, visibility })),
);

/**
 * The configuration under test. Cleanup never changes what a read sees when expired values are
 * never returned, so those runs clean up every way there is, as often as possible; runs that may
 * return expired values clean up on read only, as the reference does.
 */
function configFor(updateType: UpdateType, visibility: StateVisibility): StateTtlConfig {
  const builder: StateTtlConfigBuilder = StateTtlConfig.newBuilder(TTL_MS).setUpdateType(updateType).setStateVisibility(visibility);
  if (visibility === StateVisibility.ReturnExpiredIfNotCleanedUp) return builder.disableCleanupInBackground().build();
  return builder.cleanupFullSnapshot().cleanupIncrementally(3, true).cleanupInLevelDbSweep(8, 7).build();
}

describe('TTL state handles against a reference model', () => {
  for (const { updateType, visibility } of CONFIGURATIONS) {
    for (const firstKind of BACKEND_KINDS) {
      it(`${updateType}, ${visibility}: every read matches, starting on ${firstKind} and restoring into the other backend every 150 operations`, async () => {
        const config = configFor(updateType, visibility);
        const clock = new ManualClock(1_000);
        const random = seededRandom(updateType.length * 7 + visibility.length * 3 + firstKind.length);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const reference = new Reference(TTL_MS, updateType === UpdateType.OnReadAndWrite, visibility === StateVisibility.ReturnExpiredIfNotCleanedUp);
        const keys = ['a', 'b', 'c'];
        const entries = ['x', 'y', 'z'];
        let kind = firstKind;
        let backend = await newBackend(kind);
        let handles = handlesOf(backend, config, clock);
        for (let op = 0; op < 2_000; op++) {
          // Small steps, so a key's state is read both before and after it expires (ttl 100, a
          // state of a key every ~15 operations) and often exactly at its expiry; now and then a long gap.
          clock.advance(pick([0, 0, 0, 1, 1, 2, 3, 4, 5, 10, 20]) + (random() < 0.01 ? 100 : 0));
          const key = pick(keys);
          at(backend, key);
          const now = clock.now();
          const context = `op ${op} at ${now}, key ${key}`;
          const value = op;
          switch (pick(['value', 'list', 'map', 'reducing', 'aggregating'] as const)) {
            case 'value': {
              const roll = random();
              if (roll < 0.4) {
                handles.value.update(value);
                reference.of(key).value = { v: value, at: now };
              } else if (roll < 0.9) assert.equal(handles.value.value(), reference.valueGet(key, now), `${context}: value()`);
              else {
                handles.value.clear();
                reference.of(key).value = undefined;
              }
              break;
            }
            case 'list': {
              const roll = random();
              if (roll < 0.3) {
                handles.list.add(value);
                reference.of(key).list.push({ v: value, at: now });
              } else if (roll < 0.4) {
                handles.list.addAll([value, value + 0.5]);
                reference.of(key).list.push({ v: value, at: now }, { v: value + 0.5, at: now });
              } else if (roll < 0.5) {
                handles.list.update([value]);
                reference.of(key).list = [{ v: value, at: now }];
              } else if (roll < 0.95) assert.deepEqual(handles.list.get(), reference.listGet(key, now), `${context}: list get()`);
              else {
                handles.list.clear();
                reference.of(key).list = [];
              }
              break;
            }
            case 'map': {
              const entry = pick(entries);
              const roll = random();
              if (roll < 0.3) {
                handles.map.put(entry, value);
                reference.of(key).map.set(entry, { v: value, at: now });
              } else if (roll < 0.35) {
                handles.map.putAll([[entry, value], ['w', value]]);
                reference.of(key).map.set(entry, { v: value, at: now }).set('w', { v: value, at: now });
              } else if (roll < 0.55) assert.equal(handles.map.get(entry), reference.mapGet(key, entry, now), `${context}: map get(${entry})`);
              else if (roll < 0.65) assert.equal(handles.map.contains(entry), reference.mapContains(key, entry, now), `${context}: contains(${entry})`);
              else if (roll < 0.8) {
                const sorted = (list: [string, number][]) => list.sort(([a], [b]) => a.localeCompare(b));
                assert.deepEqual(sorted([...handles.map.entries()]), sorted(reference.mapEntries(key, now)), `${context}: entries()`);
              } else if (roll < 0.88) assert.equal(handles.map.isEmpty(), reference.mapIsEmpty(key, now), `${context}: isEmpty()`);
              else if (roll < 0.96) {
                handles.map.remove(entry);
                reference.of(key).map.delete(entry);
              } else {
                handles.map.clear();
                reference.of(key).map.clear();
              }
              break;
            }
            case 'reducing':
              if (random() < 0.5) {
                handles.reducing.add(value);
                reference.reducingAdd(key, value, now);
              } else assert.equal(handles.reducing.get(), reference.reducingGet(key, now), `${context}: reducing get()`);
              break;
            case 'aggregating':
              if (random() < 0.5) {
                handles.aggregating.add(value);
                reference.aggregatingAdd(key, value, now);
              } else assert.equal(handles.aggregating.get(), reference.aggregatingGet(key, now), `${context}: aggregating get()`);
              break;
          }
          if (kind === 'leveldb' && op % 40 === 39 && visibility === StateVisibility.NeverReturnExpired) {
            // Let the sweeps the clock started (every 7 ms) run, and run one more between operations.
            await (backend as LevelDbKeyedStateBackend).sweepExpired();
          }
          if (op % 150 === 149) {
            const snapshot = await backend.snapshot();
            kind = kind === 'memory' ? 'leveldb' : 'memory';
            backend = await newBackend(kind);
            await backend.restore([snapshot]);
            handles = handlesOf(backend, config, clock);
          }
        }
      });
    }
  }
});

// ---- Flink's meaning, by example -------------------------------------------------------

describe('TTL state handles, by example', () => {
  for (const kind of BACKEND_KINDS) {
    it(`a value expires exactly ttl after its last write, and OnReadAndWrite renews it on reads (${kind})`, async () => {
      const clock = new ManualClock(0);
      const backend = await newBackend(kind);
      const onWrite = handle<ValueState<string>>(backend, new ValueStateDescriptor<string>('w').enableTimeToLive(StateTtlConfig.newBuilder(1_000).build()), clock);
      const onRead = handle<ValueState<string>>(backend, new ValueStateDescriptor<string>('r').enableTimeToLive(StateTtlConfig.newBuilder(1_000).setUpdateType(UpdateType.OnReadAndWrite).build()), clock);
      at(backend, 'k');
      onWrite.update('w');
      onRead.update('r');
      clock.advanceTo(999);
      assert.equal(onWrite.value(), 'w');
      assert.equal(onRead.value(), 'r'); // renewed: now expires at 1999
      clock.advanceTo(1_000);
      assert.equal(onWrite.value(), undefined);
      assert.equal(onRead.value(), 'r');
      clock.advanceTo(2_999);
      assert.equal(onRead.value(), undefined);
    });

    it(`ReturnExpiredIfNotCleanedUp returns an expired value once, then it is gone; the default value stands in for an expired one (${kind})`, async () => {
      const clock = new ManualClock(0);
      const backend = await newBackend(kind);
      const config = StateTtlConfig.newBuilder(10).returnExpiredIfNotCleanedUp().disableCleanupInBackground().build();
      const value = handle<ValueState<string>>(backend, new ValueStateDescriptor<string>('v').enableTimeToLive(config), clock);
      const withDefault = handle<ValueState<string>>(backend, new ValueStateDescriptor<string>('d', 'default').enableTimeToLive(StateTtlConfig.newBuilder(10).build()), clock);
      at(backend, 'k');
      value.update('old');
      withDefault.update('set');
      clock.advance(10);
      assert.equal(value.value(), 'old');
      assert.equal(value.value(), undefined);
      assert.equal(withDefault.value(), 'default');
    });

    it(`list elements and map entries expire one by one (${kind})`, async () => {
      const clock = new ManualClock(0);
      const backend = await newBackend(kind);
      const config = StateTtlConfig.newBuilder(100).build();
      const list = handle<ListState<string>>(backend, new ListStateDescriptor<string>('l').enableTimeToLive(config), clock);
      const map = handle<MapState<string, number>>(backend, new MapStateDescriptor<string, number>('m').enableTimeToLive(config), clock);
      at(backend, 'k');
      list.add('first');
      map.put('first', 1);
      clock.advanceTo(60);
      list.addAll(['second', 'third']);
      map.put('second', 2);
      clock.advanceTo(100);
      assert.deepEqual(list.get(), ['second', 'third']);
      assert.equal(map.contains('first'), false);
      assert.deepEqual([...map.entries()], [['second', 2]]);
      assert.equal(map.isEmpty(), false);
      clock.advanceTo(160);
      assert.deepEqual(list.get(), []);
      assert.equal(map.isEmpty(), true);
      assert.equal(await backend.countEntries(), 0);
    });

    it(`reducing and aggregating state start over once their value expired (${kind})`, async () => {
      const clock = new ManualClock(0);
      const backend = await newBackend(kind);
      const config = StateTtlConfig.newBuilder(100).build();
      const sum = handle<ReducingState<number>>(backend, new ReducingStateDescriptor<number>('sum', (a, b) => a + b).enableTimeToLive(config), clock);
      const squares = handle<AggregatingState<number, number>>(backend, new AggregatingStateDescriptor('squares', sumOfSquares).enableTimeToLive(config), clock);
      at(backend, 'k');
      sum.add(1);
      squares.add(1);
      clock.advanceTo(99);
      sum.add(2); // renews: the sum now expires at 199
      squares.add(2);
      assert.equal(sum.get(), 3);
      assert.equal(squares.get(), 5);
      clock.advanceTo(199);
      sum.add(10);
      squares.add(10);
      assert.equal(sum.get(), 10);
      assert.equal(squares.get(), 100);
    });

    it(`refuses to read with a time-to-live a state written without one, naming it (${kind})`, async () => {
      const clock = new ManualClock(0);
      const backend = await newBackend(kind);
      at(backend, 'k');
      handle<ValueState<string>>(backend, new ValueStateDescriptor<string>('plain'), clock).update('no timestamp');
      handle<ListState<string>>(backend, new ListStateDescriptor<string>('plain-list'), clock).add('no timestamp');
      const snapshot = await backend.snapshot();
      const restored = await newBackend(kind === 'memory' ? 'leveldb' : 'memory');
      await restored.restore([snapshot]);
      at(restored, 'k');
      const config = StateTtlConfig.newBuilder(100).build();
      const value = handle<ValueState<string>>(restored, new ValueStateDescriptor<string>('plain').enableTimeToLive(config), clock);
      const list = handle<ListState<string>>(restored, new ListStateDescriptor<string>('plain-list').enableTimeToLive(config), clock);
      assert.throws(() => value.value(), (error: unknown) => error instanceof RestoreError && /state "plain" holds a value written without a time-to-live/.test(error.message));
      assert.throws(() => list.get(), RestoreError);
    });
  }

  it('the builder refuses what Flink refuses, and defaults to Flink’s background cleanup', () => {
    assert.throws(() => StateTtlConfig.newBuilder(0), /ttlMs: a positive integer/);
    assert.throws(() => StateTtlConfig.newBuilder(10).cleanupIncrementally(0, false), /cleanupSize/);
    assert.throws(() => StateTtlConfig.newBuilder(10).setUpdateType('Never' as UpdateType), /update type/);
    assert.throws(() => new ValueStateDescriptor('v').enableTimeToLive({} as StateTtlConfig), /takes a StateTtlConfig/);
    const defaults = StateTtlConfig.newBuilder(10).build();
    assert.deepEqual(defaults.cleanupStrategies, {
      inFullSnapshot: false,
      incremental: { cleanupSize: 5, runCleanupForEveryRecord: false },
      levelDbSweep: { entriesPerSweep: 1_000, sweepIntervalMs: 100 },
    });
    assert.equal(defaults.updateType, StateTtlConfig.UpdateType.OnCreateAndWrite);
    assert.equal(defaults.stateVisibility, StateTtlConfig.StateVisibility.NeverReturnExpired);
    const explicit = StateTtlConfig.newBuilder(10).disableCleanupInBackground().cleanupIncrementally(7, true).build();
    assert.deepEqual(explicit.cleanupStrategies, { inFullSnapshot: false, incremental: { cleanupSize: 7, runCleanupForEveryRecord: true }, levelDbSweep: undefined });
  });
});

// ---- bounded state ---------------------------------------------------------------------

describe('TTL cleanup in the background', () => {
  const KEYS = 20_000;
  const TTL = 1_000;

  /**
   * Writes one new key per millisecond of processing time, each once, into a value state (with
   * `config`, or without a time-to-live), the way a stream of ever-new session ids would; lets the
   * LevelDB sweeps the clock starts run; returns the entries the backend holds at the end.
   */
  async function entriesAfterNewKeys(kind: BackendKind, config: StateTtlConfig | undefined): Promise<number> {
    const clock = new ManualClock(0);
    // A cache far smaller than the key count, as with real state larger than memory.
    const backend = await newBackend(kind, { cacheCapacityEntries: 512, flushThresholdEntries: 256 });
    const descriptor = new ValueStateDescriptor<number>('last-seen');
    if (config !== undefined) descriptor.enableTimeToLive(config);
    const lastSeen = handle<ValueState<number>>(backend, descriptor, clock);
    for (let i = 0; i < KEYS; i++) {
      clock.advance(1);
      at(backend, `session-${i}`);
      lastSeen.update(clock.now());
      if (kind === 'leveldb' && config !== undefined && i % 100 === 99) {
        // The clock just started a sweep (every 100 ms by default): wait for it to finish.
        const leveldb = backend as LevelDbKeyedStateBackend;
        const sweepsBefore = leveldb.getStatus().ttlSweeps;
        await waitFor('the sweep the clock started', 5_000, () => leveldb.getStatus().ttlSweeps > sweepsBefore);
      }
    }
    return backend.countEntries();
  }

  for (const kind of BACKEND_KINDS) {
    it(`keeps ${kind} state bounded under ${KEYS} ever-new keys with Flink's default cleanup, where state without a time-to-live grows to every key`, async () => {
      const withoutTtl = await entriesAfterNewKeys(kind, undefined);
      const withTtl = await entriesAfterNewKeys(kind, StateTtlConfig.newBuilder(TTL).build());
      assert.equal(withoutTtl, KEYS);
      // Live: the last TTL keys. Memory: the incremental cursor's lag; LevelDB: what still waits in the cache, plus one pass's lag.
      const bound = kind === 'memory' ? 1.5 * TTL : TTL + 512 + 1_000;
      assert.ok(withTtl <= bound, `${kind}: ${withTtl} entries with a time-to-live of ${TTL} ms after ${KEYS} keys at one per ms (bound ${bound})`);
      assert.ok(withTtl >= TTL - 1, `${kind}: the ${TTL} live keys are kept (${withTtl})`);
      console.log(`# ${kind}: ${KEYS} new keys at one per ms, ttl ${TTL} ms: ${withTtl} entries with a time-to-live, ${withoutTtl} without`);
    });
  }

  it('on memory, runCleanupForEveryRecord cleans up on every key change even when the state is never accessed again', async () => {
    const clock = new ManualClock(0);
    const backend = await newBackend('memory');
    const config = StateTtlConfig.newBuilder(100).disableCleanupInBackground().cleanupIncrementally(2, true).build();
    const state = handle<ValueState<number>>(backend, new ValueStateDescriptor<number>('v').enableTimeToLive(config), clock);
    for (let i = 0; i < 50; i++) {
      at(backend, `k${i}`);
      state.update(i);
    }
    clock.advance(100);
    for (let i = 0; i < 30; i++) at(backend, `other-${i}`); // records of other operators' keys: no state access
    assert.equal(await backend.countEntries(), 0);
  });

  it('on LevelDB, a value written again while a sweep step reads the expired one is kept', async () => {
    const clock = new ManualClock(0);
    for (const flushThresholdEntries of [1, 1_000]) {
      // 1: the new value is on its way to LevelDB (an overlay); 1000: it waits in the cache.
      const backend = (await newBackend('leveldb', { cacheCapacityEntries: 16, flushThresholdEntries })) as LevelDbKeyedStateBackend;
      const config = StateTtlConfig.newBuilder(50).cleanupInLevelDbSweep(1_000, 1_000_000).build();
      const state = handle<ValueState<string>>(backend, new ValueStateDescriptor<string>('v').enableTimeToLive(config), clock);
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`); // more than the cache: most are read back from LevelDB
      for (const key of keys) {
        at(backend, key);
        state.update('old');
      }
      await backend.snapshot(); // hands what the cache holds to LevelDB's writes
      await backend.snapshot();
      await backend.whenFlushed(); // the sweep reads LevelDB: every value must have reached it
      clock.advance(50);
      const step = backend.sweepExpired(); // reads the database as it is now: every value expired
      for (const key of keys.slice(0, 20)) {
        at(backend, key);
        state.update('new');
      }
      assert.equal(await step, 20, 'the sweep deletes the 20 values not written again');
      for (const [i, key] of keys.entries()) {
        at(backend, key);
        assert.equal(state.value(), i < 20 ? 'new' : undefined, key);
      }
    }
  });

  it('on LevelDB, the clock drives the sweep, and dispose stops it', async () => {
    const clock = new ManualClock(0);
    // Every write goes straight on its way to LevelDB, where the sweep reads.
    const backend = (await newBackend('leveldb', { cacheCapacityEntries: 16, flushThresholdEntries: 1 })) as LevelDbKeyedStateBackend;
    const config = StateTtlConfig.newBuilder(50).cleanupInLevelDbSweep(1_000, 20).build();
    const state = handle<ValueState<number>>(backend, new ValueStateDescriptor<number>('v').enableTimeToLive(config), clock);
    for (let i = 0; i < 100; i++) {
      at(backend, `k${i}`);
      state.update(i);
    }
    await backend.whenFlushed();
    assert.equal(clock.pendingTasks, 1, 'one sweep armed');
    clock.advance(60);
    await waitFor('a sweep that deletes the 100 expired values', 5_000, () => backend.getStatus().ttlSweptExpired === 100 || undefined);
    assert.equal(await backend.countEntries(), 0);
    await waitFor('the next sweep armed', 5_000, () => clock.pendingTasks === 1);
    await backend.dispose();
    assert.equal(clock.pendingTasks, 0, 'dispose cancelled the sweep');
  });
});
