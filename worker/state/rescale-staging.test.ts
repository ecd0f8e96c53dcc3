// A live rescale stages the key groups a subtask gains from the latest completed checkpoint, ahead
// of the switch; at the takeover it reads from the rescale checkpoint only the key groups whose
// chunk changed since. Here with LevelDB backends and checkpoint files written as the cluster
// writes them: the new owner ends with exactly the old owner's state at the rescale checkpoint,
// whichever key groups were staged, changed, emptied or never chunked.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyGroupRange } from '../../shared/key-groups.ts';
import { VOID_NAMESPACE } from './keyed-state-backend.ts';
import { LevelDbKeyedStateBackend } from './leveldb-state-backend.ts';
import { flattenSnapshot, keyGroupOf } from './keyed-state-backend.contract.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { readKeyGroupChunks, readOperatorSnapshot, writeOperatorSnapshot, SHARED_CHUNK_MIN_BYTES } from '../../shared/checkpoint/operator-state-files.ts';

const MAX_PARALLELISM = 128;
const root = await mkdtemp(join(tmpdir(), 'sluice-rescale-staging-test-'));
after(() => rm(root, { recursive: true, force: true }));
let folders = 0;

async function backend(range: KeyGroupRange): Promise<LevelDbKeyedStateBackend> {
  return LevelDbKeyedStateBackend.create({ keyGroupRange: range, maxParallelism: MAX_PARALLELISM, workingDirectory: join(root, `db-${folders++}`) });
}

function put(into: LevelDbKeyedStateBackend, key: number, value: string | undefined): void {
  into.setCurrentKey(key, keyGroupOf(key));
  if (value === undefined) into.getTable<string>('value').remove(VOID_NAMESPACE);
  else into.getTable<string>('value').put(VOID_NAMESPACE, value);
}

/** Writes the backend's state as checkpoint `checkpointId` does, incremental against the last confirmed one. */
async function checkpoint(storage: InMemoryCheckpointStorage, from: LevelDbKeyedStateBackend, checkpointId: number) {
  const written = await writeOperatorSnapshot(storage, checkpointId, 'counts', 0, {
    keyed: { maxParallelism: MAX_PARALLELISM, keyGroups: [] },
    keyedReader: from.snapshotByKeyGroup(checkpointId),
  });
  from.confirmSnapshot(checkpointId);
  return written.handle;
}

const entriesIn = async (of: LevelDbKeyedStateBackend, range: KeyGroupRange) =>
  flattenSnapshot(await of.snapshot())
    .filter(([keyGroup]) => range.contains(keyGroup))
    .map(([keyGroup, , key, , value]) => `${keyGroup}/${key}=${value}`)
    .sort();

describe('staging gained key groups for a live rescale', () => {
  it('takes over exactly the rescale checkpoint\'s state, reading only what changed since the staged checkpoint', async () => {
    const storage = new InMemoryCheckpointStorage();
    const gained = KeyGroupRange.of(64, 127);
    const owner = await backend(KeyGroupRange.of(0, MAX_PARALLELISM - 1));
    // ~19 KB per key group (no fewer than 4 KB): every key group is stored as a shared chunk.
    for (let key = 1; key <= 6_000; key++) put(owner, key, `v${key}:`.padEnd(400, 'x'));
    const staged = await checkpoint(storage, owner, 1);

    // Between the staged checkpoint and the rescale checkpoint: two key groups change, one empties.
    const inGroup = (group: number) => Array.from({ length: 6_000 }, (_, i) => i + 1).filter((key) => keyGroupOf(key) === group);
    const [changedA, changedB, emptied] = [70, 100, 90];
    put(owner, inGroup(changedA)[0]!, 'changed');
    put(owner, inGroup(changedB)[3]!, undefined);
    for (const key of inGroup(emptied)) put(owner, key, undefined);
    const rescale = await checkpoint(storage, owner, 2);

    // Ahead of the switch: the new owner stages its key groups from checkpoint 1.
    const newOwner = await backend(gained);
    await readKeyGroupChunks(storage, 1, staged, (g) => gained.contains(g), async (chunk) => {
      assert.ok(chunk.state.rawPairs !== undefined, 'a LevelDB checkpoint stores key groups as raw pairs');
      await newOwner.stageKeyGroup(chunk.keyGroup, chunk.state.rawPairs, chunk.sha256);
    });
    assert.equal(newOwner.stagedKeyGroups().size, 64, `every gained key group is large enough to be a chunk (${SHARED_CHUNK_MIN_BYTES} B); staged: ${[...newOwner.stagedKeyGroups().keys()]}`);
    assert.deepEqual(await entriesIn(newOwner, gained), [], 'staged key groups are not state yet: snapshots leave them out');
    const [someGroup, someReference] = [...newOwner.stagedKeyGroups()][0]!;
    await assert.rejects(newOwner.stageKeyGroup(someGroup, new Uint8Array(), someReference), /staged already/);

    // The takeover: only chunks that differ from the staged ones are read.
    const stagedReferences = newOwner.stagedKeyGroups();
    const kept = new Set<number>();
    const read: number[] = [];
    const snapshot = await readOperatorSnapshot(storage, 2, rescale, (g) => gained.contains(g), (g, sha256) => {
      if (stagedReferences.get(g) === sha256) {
        kept.add(g);
        return true;
      }
      read.push(g);
      return false;
    });
    assert.deepEqual(read.sort((a, b) => a - b), [changedA, changedB]);
    assert.equal(kept.size, 64 - 3, 'all but the two changed key groups and the emptied one (no chunk in checkpoint 2) were in place');
    await newOwner.settleStaged(kept);
    await newOwner.restore([snapshot.keyed!]);
    assert.deepEqual(await entriesIn(newOwner, gained), await entriesIn(owner, gained));
    assert.ok((await entriesIn(newOwner, gained)).some((line) => line.endsWith('=changed')));
    assert.ok(!(await entriesIn(newOwner, gained)).some((line) => line.startsWith(`${emptied}/`)), 'the emptied key group stays empty');
    await Promise.all([owner.dispose(), newOwner.dispose()]);
  });

  it('refuses to stage a key group that holds state, and a running owner leaves staged key groups out of its checkpoints', async () => {
    const storage = new InMemoryCheckpointStorage();
    const source = await backend(KeyGroupRange.of(0, 127));
    for (let key = 1; key <= 6_000; key++) put(source, key, `s${key}:`.padEnd(400, 'y'));
    const handle = await checkpoint(storage, source, 1);
    // An owner of 0..63 that will gain 64..95.
    const owner = await backend(KeyGroupRange.of(0, 63));
    for (let key = 1; key <= 6_000; key++) if (keyGroupOf(key) < 64) put(owner, key, `o${key}`);
    await readKeyGroupChunks(storage, 1, handle, (g) => g < 96, async (chunk) => {
      if (chunk.keyGroup < 64) await assert.rejects(owner.stageKeyGroup(chunk.keyGroup, chunk.state.rawPairs!, chunk.sha256), /already holds state/);
      else await owner.stageKeyGroup(chunk.keyGroup, chunk.state.rawPairs!, chunk.sha256);
    });
    assert.equal(owner.stagedKeyGroups().size, 32);
    const reader = owner.snapshotByKeyGroup(5);
    assert.ok(reader.keyGroups.every((g) => g < 64), 'the checkpoint of the running owner holds its own key groups only');
    await reader.close();
    // The switch takes the staged key groups in; a dropped staging leaves nothing behind.
    await owner.setKeyGroupRange(KeyGroupRange.of(0, 95));
    await owner.settleStaged(new Set([64, 65]));
    const groups = new Set(flattenSnapshot(await owner.snapshot()).map(([keyGroup]) => keyGroup));
    assert.ok(groups.has(64) && groups.has(65) && ![...groups].some((g) => g > 65), [...groups].join(','));
    await Promise.all([source.dispose(), owner.dispose()]);
  });
});
