// What a restore starts from, given as a path the way Flink's `-s` takes one: a checkpoint
// (`…/chk-<id>`), a snapshot (a folder with `_metadata` at its top), or a job's checkpoint folder
// (its latest completed checkpoint). Anything else is refused with the path named.

import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { RestoreError } from '../../shared/errors.ts';
import type { RestoreSource } from '../../worker/runtime/subtask-builder.ts';
import { LocalDirectoryCheckpointStorage } from './checkpoint-storage.ts';

export async function openRestorePath(path: string, allowNonRestoredState = false): Promise<RestoreSource> {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new RestoreError(`restore path ${path}: no such directory`);
  }
  const checkpoint = /^chk-(\d+)$/.exec(basename(absolute));
  const hasMetadata = existsSync(join(absolute, '_metadata'));
  if (checkpoint && hasMetadata) {
    return { storage: new LocalDirectoryCheckpointStorage(dirname(absolute)), checkpointId: Number(checkpoint[1]), allowNonRestoredState };
  }
  if (hasMetadata) {
    const storage = new LocalDirectoryCheckpointStorage(absolute, 'one-checkpoint');
    const metadata = await storage.readMetadata(0);
    return { storage, checkpointId: metadata.checkpointId, allowNonRestoredState };
  }
  const jobCheckpoints = new LocalDirectoryCheckpointStorage(absolute);
  const completed = await jobCheckpoints.listCompleted();
  if (completed.length > 0) return { storage: jobCheckpoints, checkpointId: completed[completed.length - 1]!, allowNonRestoredState };
  throw new RestoreError(
    `restore path ${path} is not a checkpoint or snapshot: it has no _metadata, and no chk-<id> folder in it has one ` +
      '(give a snapshot folder, a chk-<id> folder, or a job\'s checkpoint folder)',
  );
}

/** The path a restore source was opened from, for the messages and records that name it. */
export function restoreSourcePath(source: RestoreSource): string {
  const storage = source.storage;
  if (storage instanceof LocalDirectoryCheckpointStorage && storage.layout === 'one-checkpoint') return storage.location;
  return join(storage.location, `chk-${source.checkpointId}`);
}
