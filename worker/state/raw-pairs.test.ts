// Raw key/value pairs: what a LevelDB checkpoint writes for a key group. They round-trip, a
// truncated buffer is refused naming where, and a LevelDB capture read raw restores into a new
// LevelDB backend and into a memory backend with exactly the state `snapshot()` reports.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RestoreError } from '../../shared/errors.ts';
import { KeyGroupRange, assignToKeyGroup } from '../../shared/key-groups.ts';
import type { KeyedStateBackend, KeyedStateSnapshot } from './keyed-state-backend.ts';
import { LevelDbKeyedStateBackend } from './leveldb-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { encodeRawPairs, rawPairs } from '../../shared/checkpoint/raw-pairs.ts';

const root = await mkdtemp(join(tmpdir(), 'sluice-raw-pairs-'));
after(() => rm(root, { recursive: true, force: true }));

const MAX_PARALLELISM = 16;
const range = KeyGroupRange.of(0, MAX_PARALLELISM - 1);

/** Every (state, key, namespace) entry of a snapshot, as sortable text. */
function entriesOf(snapshot: KeyedStateSnapshot): string[] {
  return snapshot.keyGroups.flatMap((g) => g.entries.map((e) => JSON.stringify([g.keyGroup, e[0], e[1], e[2], e[3] instanceof Map ? [...e[3]] : e[3]]))).sort();
}

async function filled(folder: string): Promise<LevelDbKeyedStateBackend> {
  const backend = await LevelDbKeyedStateBackend.create({ keyGroupRange: range, maxParallelism: MAX_PARALLELISM, workingDirectory: join(root, folder) });
  const counts = backend.getTable<number>('count');
  const names = backend.getTable<Map<string, number>>('names');
  for (let k = 0; k < 200; k++) {
    backend.setCurrentKey(`user-${k}`, assignToKeyGroup(`user-${k}`, MAX_PARALLELISM));
    counts.put('', k);
    names.put(k % 3, new Map([[`n${k}`, k]]));
  }
  return backend;
}

describe('raw key/value pairs', () => {
  it('round-trip, and a truncated buffer is refused naming where', () => {
    const pairs: Array<[Buffer, Buffer]> = [
      [Buffer.from([0, 1, 2]), Buffer.from('value-a')],
      [Buffer.from([0, 1, 3]), Buffer.alloc(0)],
    ];
    const encoded = encodeRawPairs(pairs);
    assert.deepEqual([...rawPairs(encoded, 'test')].map(([k, v]) => [[...k], v.toString()]), [[[0, 1, 2], 'value-a'], [[0, 1, 3], '']]);
    assert.throws(() => [...rawPairs(encoded.subarray(0, encoded.length - 3), 'chunk X')], (e: Error) => e instanceof RestoreError && /chunk X: truncated/.test(e.message));
  });

  it('a LevelDB capture read raw restores into LevelDB and into memory with the same state', async () => {
    const source = await filled('source');
    const expected = entriesOf(await source.snapshot());
    const reader = source.snapshotByKeyGroup(1);
    const keyGroups = [];
    for (const keyGroup of reader.keyGroups) keyGroups.push({ keyGroup, entries: [], rawPairs: await reader.readRaw(keyGroup) });
    await reader.close();
    const raw: KeyedStateSnapshot = { maxParallelism: MAX_PARALLELISM, keyGroups };
    const targets: KeyedStateBackend[] = [
      await LevelDbKeyedStateBackend.create({ keyGroupRange: range, maxParallelism: MAX_PARALLELISM, workingDirectory: join(root, 'target') }),
      new InMemoryKeyedStateBackend({ keyGroupRange: range, maxParallelism: MAX_PARALLELISM }),
    ];
    for (const target of targets) {
      await target.restore([raw]);
      assert.deepEqual(entriesOf(await target.snapshot()), expected, `restored into ${target.kind}`);
      await target.dispose();
    }
    // A half of the key groups: the other half's pairs are left out.
    const half = new InMemoryKeyedStateBackend({ keyGroupRange: KeyGroupRange.of(0, 7), maxParallelism: MAX_PARALLELISM });
    await half.restore([raw]);
    assert.deepEqual(entriesOf(await half.snapshot()), expected.filter((e) => (JSON.parse(e) as number[])[0]! <= 7));
    await source.dispose();
  });
});
