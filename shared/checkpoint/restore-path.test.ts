import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { METADATA_FORMAT_VERSION } from './checkpoint-metadata.ts';
import { openCheckpointStorage } from './checkpoint-storage.ts';
import { openRestorePath } from './restore-path.ts';

async function jobFolderWith(ids: number[]): Promise<string> {
  const location = `memory://restore-path-${randomUUID()}/job-1`;
  const storage = openCheckpointStorage(location);
  for (const checkpointId of ids) {
    await storage.writeMetadata({ formatVersion: METADATA_FORMAT_VERSION, checkpointId, jobName: 'job', maxParallelism: 128, triggeredAtMs: 0, completedAtMs: 0, final: false, operators: [] });
  }
  return location;
}

describe('a restore from a job\'s checkpoint folder', () => {
  it('takes the checkpoint the pointer names, not a newer _metadata the pointer never reached', async () => {
    const folder = await jobFolderWith([3, 5]);
    assert.equal((await openRestorePath(folder, false, async () => 3)).checkpointId, 3);
    assert.equal((await openRestorePath(folder, false, async () => 4)).checkpointId, 3, 'the newest published one at or below the pointer');
  });

  it('takes the newest completed checkpoint when no pointer is known for the folder', async () => {
    const folder = await jobFolderWith([3, 5]);
    assert.equal((await openRestorePath(folder)).checkpointId, 5);
    assert.equal((await openRestorePath(folder, false, async () => undefined)).checkpointId, 5);
  });

  it('refuses a folder whose pointer names a checkpoint older than any there, naming it', async () => {
    const folder = await jobFolderWith([5]);
    await assert.rejects(openRestorePath(folder, false, async () => 2), /its pointer names checkpoint 2, and no completed checkpoint up to it is there/);
  });
});
