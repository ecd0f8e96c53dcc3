// Runs the keyed state backend contract against the LevelDB backend with a tiny cache and flush
// threshold, so evictions, background flushes and overlay reads happen in nearly every test; then
// checks what only this backend promises (its directory, its options, its flush pipeline).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyGroupRange } from '../../shared/key-groups.ts';
import { ConfigurationError } from '../../shared/errors.ts';
import { VOID_NAMESPACE } from './keyed-state-backend.ts';
import { LevelDbKeyedStateBackend, type LevelDbKeyedStateBackendOptions } from './leveldb-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { createKeyedStateBackend } from './index.ts';
import { flattenSnapshot, keyGroupOf, runKeyedStateBackendContract } from './keyed-state-backend.contract.ts';

const testRoot = await mkdtemp(join(tmpdir(), 'sluice-leveldb-state-test-'));
after(() => rm(testRoot, { recursive: true, force: true }));

let directoryCount = 0;
function freshWorkingDirectory(): string {
  return join(testRoot, `backend-${directoryCount++}`);
}

const TINY_CACHE_CAPACITY_ENTRIES = 256;
const TINY_FLUSH_THRESHOLD_ENTRIES = 64;

runKeyedStateBackendContract('LevelDB', (options) =>
  LevelDbKeyedStateBackend.create({
    ...options,
    workingDirectory: freshWorkingDirectory(),
    cacheCapacityEntries: TINY_CACHE_CAPACITY_ENTRIES,
    flushThresholdEntries: TINY_FLUSH_THRESHOLD_ENTRIES,
  }),
  { incremental: true },
);

runKeyedStateBackendContract(
  'LevelDB with default tuning',
  (options) => LevelDbKeyedStateBackend.create({ ...options, workingDirectory: freshWorkingDirectory() }),
  { incremental: true },
);

const FULL_RANGE = KeyGroupRange.of(0, 127);

function tinyOptions(overrides: Partial<LevelDbKeyedStateBackendOptions> = {}): LevelDbKeyedStateBackendOptions {
  return {
    keyGroupRange: FULL_RANGE,
    maxParallelism: 128,
    workingDirectory: freshWorkingDirectory(),
    cacheCapacityEntries: TINY_CACHE_CAPACITY_ENTRIES,
    flushThresholdEntries: TINY_FLUSH_THRESHOLD_ENTRIES,
    ...overrides,
  };
}

describe('LevelDbKeyedStateBackend', () => {
  it('keeps its database in its own folder, wipes what a previous run left and removes it on dispose', async () => {
    const workingDirectory = freshWorkingDirectory();
    const stale = join(workingDirectory, 'keyed-state-leveldb');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'left-over.txt'), 'from a previous run');
    await writeFile(join(workingDirectory, 'not-ours.txt'), 'someone else’s file');
    const backend = await LevelDbKeyedStateBackend.create(tinyOptions({ workingDirectory }));
    assert.ok(!existsSync(join(stale, 'left-over.txt')));
    assert.equal(backend.getStatus().databaseFolder, stale);
    await backend.dispose();
    assert.ok(!existsSync(stale));
    assert.deepEqual(await readdir(workingDirectory), ['not-ours.txt']);
  });

  it('refuses a working directory another open backend uses, and bad tuning', async () => {
    const workingDirectory = freshWorkingDirectory();
    const first = await LevelDbKeyedStateBackend.create(tinyOptions({ workingDirectory }));
    await assert.rejects(LevelDbKeyedStateBackend.create(tinyOptions({ workingDirectory })), ConfigurationError);
    await first.dispose();
    const again = await LevelDbKeyedStateBackend.create(tinyOptions({ workingDirectory }));
    await again.dispose();
    await assert.rejects(LevelDbKeyedStateBackend.create(tinyOptions({ cacheCapacityEntries: 0 })), /cacheCapacityEntries/);
    await assert.rejects(LevelDbKeyedStateBackend.create(tinyOptions({ flushThresholdEntries: 1.5 })), /flushThresholdEntries/);
    await assert.rejects(LevelDbKeyedStateBackend.create(tinyOptions({ workingDirectory: '' })), ConfigurationError);
    await assert.rejects(
      createKeyedStateBackend('leveldb', { keyGroupRange: FULL_RANGE, maxParallelism: 128 }),
      (error: unknown) => error instanceof ConfigurationError && error.field === 'workingDirectory',
    );
  });

  it('is what the factory builds for kind leveldb', async () => {
    const backend = await createKeyedStateBackend('leveldb', {
      keyGroupRange: FULL_RANGE,
      maxParallelism: 128,
      workingDirectory: freshWorkingDirectory(),
      cacheCapacityEntries: 10,
    });
    assert.ok(backend instanceof LevelDbKeyedStateBackend);
    assert.equal(backend.getStatus().cacheCapacityEntries, 10);
    assert.equal(backend.getStatus().flushThresholdEntries, 5, 'half the cache when not given');
    await backend.dispose();
  });

  it('bounds its cache and flushes dirty entries in the background', async () => {
    const backend = await LevelDbKeyedStateBackend.create(tinyOptions());
    const table = backend.getTable<number>('t');
    for (let i = 0; i < 1_000; i++) {
      backend.setCurrentKey(i, keyGroupOf(i));
      table.put(VOID_NAMESPACE, i);
    }
    const status = backend.getStatus();
    assert.equal(status.cachedEntries, TINY_CACHE_CAPACITY_ENTRIES);
    assert.ok(status.dirtyEntries < TINY_FLUSH_THRESHOLD_ENTRIES);
    assert.ok(status.pendingFlushes > 0, 'nothing was awaited, so flushes are still pending');
    // Nothing yielded to the event loop, so no batch has started: every flush merged into one overlay.
    assert.equal(status.pendingFlushes, 1);
    assert.ok(status.pendingWrites > 1_000 - TINY_FLUSH_THRESHOLD_ENTRIES);
    await backend.whenFlushed();
    assert.equal(backend.getStatus().pendingFlushes, 0);
    assert.equal(backend.getStatus().flushesWritten, 1);
    for (let i = 0; i < 1_000; i++) {
      backend.setCurrentKey(i, keyGroupOf(i));
      assert.equal(table.get(VOID_NAMESPACE), i);
    }
    await backend.dispose();
  });

  it('snapshots with flushes in flight, then keeps serving reads from them', async () => {
    const backend = await LevelDbKeyedStateBackend.create(tinyOptions());
    const table = backend.getTable<string>('t');
    for (let i = 0; i < 2_000; i++) {
      backend.setCurrentKey(i, keyGroupOf(i));
      table.put(VOID_NAMESPACE, `v${i}`);
    }
    assert.ok(backend.getStatus().pendingFlushes > 0);
    const pending = backend.snapshot();
    for (let i = 0; i < 2_000; i++) {
      backend.setCurrentKey(i, keyGroupOf(i));
      assert.equal(table.get(VOID_NAMESPACE), `v${i}`);
      table.put(VOID_NAMESPACE, `w${i}`);
    }
    const entries = flattenSnapshot(await pending);
    assert.equal(entries.length, 2_000);
    for (const [, , key, , value] of entries) assert.equal(value, `v${key as number}`);
    await backend.dispose();
  });

  it('snapshots a hot set from its cache without writing it to LevelDB; entries idle for a whole interval are written back', async () => {
    const backend = await LevelDbKeyedStateBackend.create(tinyOptions({ flushThresholdEntries: 100 }));
    const table = backend.getTable<string>('t');
    const put = (keys: Iterable<number>, prefix: string) => {
      for (const i of keys) {
        backend.setCurrentKey(i, keyGroupOf(i));
        table.put(VOID_NAMESPACE, `${prefix}${i}`);
      }
    };
    const hot = Array.from({ length: 20 }, (_, i) => i);
    const idle = Array.from({ length: 30 }, (_, i) => 20 + i);
    put([...hot, ...idle], 'v');
    const valuesOf = async () => new Map(flattenSnapshot(await backend.snapshot()).map(([, , key, , value]) => [key as number, value]));
    const first = await valuesOf();
    assert.equal(first.size, 50);
    assert.ok([...first].every(([key, value]) => value === `v${key}`));
    await backend.whenFlushed();
    assert.equal(backend.getStatus().flushesWritten, 0, 'the snapshot wrote the cache to LevelDB');
    assert.equal(backend.getStatus().dirtyEntries, 50);

    // The hot keys change between snapshots and stay dirty; the idle ones are written back at the second.
    put(hot, 'w');
    const second = await valuesOf();
    assert.ok(hot.every((key) => second.get(key) === `w${key}`) && idle.every((key) => second.get(key) === `v${key}`));
    await backend.whenFlushed();
    assert.equal(backend.getStatus().flushesWritten, 1);
    assert.equal(backend.getStatus().dirtyEntries, hot.length);

    // A change of an entry that stayed dirty through a capture is a change of its key group again.
    const reader = backend.snapshotByKeyGroup(1);
    for (const keyGroup of reader.keyGroups) reader.remember(keyGroup, `chunk-${keyGroup}`);
    await reader.close();
    backend.confirmSnapshot(1);
    put([7], 'x');
    const next = backend.snapshotByKeyGroup(2);
    assert.equal(next.changedSinceBaseline(keyGroupOf(7)), true, 'a change of an entry that stayed dirty was missed');
    assert.equal(next.changedSinceBaseline(keyGroupOf(30)), keyGroupOf(30) === keyGroupOf(7));
    await next.close();

    // What LevelDB holds under the cache is right: a fresh backend restored from a snapshot reads the newest values.
    const restored = await LevelDbKeyedStateBackend.create(tinyOptions());
    await restored.restore([await backend.snapshot()]);
    for (const [key, expected] of [[7, 'x7'], [3, 'w3'], [30, 'v30']] as const) {
      restored.setCurrentKey(key, keyGroupOf(key));
      assert.equal(restored.getTable<string>('t').get(VOID_NAMESPACE), expected);
    }
    await Promise.all([backend.dispose(), restored.dispose()]);
  });

  it('restores a snapshot of the in-memory backend and hands the same state back', async () => {
    const memory = new InMemoryKeyedStateBackend({ keyGroupRange: FULL_RANGE, maxParallelism: 128 });
    for (let i = 0; i < 1_000; i++) {
      memory.setCurrentKey(['user', i], keyGroupOf(['user', i]));
      memory.getTable<Map<string, number>>('m').put(i % 3, new Map([[`x${i}`, i]]));
    }
    const memorySnapshot = await memory.snapshot();
    const leveldb = await LevelDbKeyedStateBackend.create(tinyOptions());
    await leveldb.restore([memorySnapshot]);
    const backToMemory = new InMemoryKeyedStateBackend({ keyGroupRange: FULL_RANGE, maxParallelism: 128 });
    await backToMemory.restore([await leveldb.snapshot()]);
    assert.deepEqual(flattenSnapshot(await backToMemory.snapshot()), flattenSnapshot(memorySnapshot));
    leveldb.setCurrentKey(['user', 7], keyGroupOf(['user', 7]));
    assert.deepEqual(leveldb.getTable('m').get(1), new Map([['x7', 7]]));
    await Promise.all([memory.dispose(), leveldb.dispose(), backToMemory.dispose()]);
  });

  it('fails the put that flushes a value it cannot serialize, naming the state', async () => {
    const backend = await LevelDbKeyedStateBackend.create(tinyOptions({ flushThresholdEntries: 2 }));
    const table = backend.getTable<unknown>('callbacks');
    backend.setCurrentKey('a', 1);
    table.put(VOID_NAMESPACE, { fn: () => 1 });
    backend.setCurrentKey('b', 1);
    assert.throws(() => table.put(VOID_NAMESPACE, 1), /callbacks.*cannot be serialized/);
    await backend.dispose();
  });
});
