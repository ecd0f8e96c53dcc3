// What a restore starts from, given as a location the way Flink's `-s` takes one: a checkpoint
// (`…/chk-<id>`), a snapshot (a folder with `_metadata` at its top), or a job's checkpoint folder
// (the checkpoint its HA pointer names when the caller knows it, else its newest completed one);
// local paths and s3:// URLs alike. Anything else is refused with the location named.

import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { RestoreError } from '../errors.ts';
import { openCheckpointStorage, type CheckpointStorage, type ObjectStoreCheckpointStorage } from './checkpoint-storage.ts';

/** A completed checkpoint or snapshot to restore a job from. */
export interface RestoreSource {
  readonly storage: CheckpointStorage;
  readonly checkpointId: number;
  /** Skip state of operators (uids) the job no longer has, instead of failing. */
  readonly allowNonRestoredState?: boolean;
}

/** A local path made absolute; a URL (s3://, file://, memory://) as it is. */
export function normalizeLocation(location: string): string {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(location) || isAbsolute(location) ? location : resolve(location);
}

/**
 * `publishedCheckpointOf` gives, for a job's checkpoint folder, the checkpoint its pointer names:
 * a newer `_metadata` there may be one the pointer never reached (its leader lost the leadership
 * or crashed before publishing it), which does not exist.
 */
export async function openRestorePath(
  path: string,
  allowNonRestoredState = false,
  publishedCheckpointOf?: (jobCheckpointFolder: string) => Promise<number | undefined>,
): Promise<RestoreSource> {
  const location = normalizeLocation(path).replace(/\/+$/, '');
  const checkpoint = /^(.*)\/chk-(\d+)$/.exec(location);
  if (checkpoint) {
    const storage = openCheckpointStorage(checkpoint[1]!, 'checkpoints', 'restore path');
    const id = Number(checkpoint[2]);
    if ((await storage.listCompleted()).includes(id)) return { storage, checkpointId: id, allowNonRestoredState };
  }
  const snapshot = openCheckpointStorage(location, 'one-checkpoint', 'restore path');
  const completed = await snapshot.listCompleted();
  if (completed.length > 0) return { storage: snapshot, checkpointId: completed[0]!, allowNonRestoredState };
  const jobCheckpoints = openCheckpointStorage(location, 'checkpoints', 'restore path');
  const ids = await jobCheckpoints.listCompleted();
  if (ids.length > 0) {
    const published = await publishedCheckpointOf?.(location);
    const newestPublished = published === undefined ? ids[ids.length - 1]! : ids.filter((id) => id <= published).pop();
    if (newestPublished === undefined) throw new RestoreError(`restore path ${path}: its pointer names checkpoint ${published}, and no completed checkpoint up to it is there`);
    return { storage: jobCheckpoints, checkpointId: newestPublished, allowNonRestoredState };
  }
  if (!(await exists(snapshot, location))) throw new RestoreError(`restore path ${path}: nothing there (no such directory or S3 prefix)`);
  throw new RestoreError(
    `restore path ${path} is not a checkpoint or snapshot: it has no _metadata, and no chk-<id> folder in it has one ` +
      '(give a snapshot folder, a chk-<id> folder, or a job\'s checkpoint folder)',
  );
}

async function exists(storage: ObjectStoreCheckpointStorage, location: string): Promise<boolean> {
  if (!location.includes('://')) return existsSync(location);
  return (await storage.store.list('')).length > 0;
}
