// Snapshots (Flink's savepoints, Managed Flink's application snapshots): a completed checkpoint
// copied into a folder of its own under the snapshot root (a local folder or s3://…), so that it
// outlives the job and the retention of its checkpoints. A snapshot is self-contained (every
// state file is in it, shared chunks of incremental checkpoints resolved) and in the canonical,
// backend-independent format, so it restores onto either state backend and at any parallelism.
// Its `_metadata` is written last, refusing to overwrite, and names the job and checkpoint.

import { serialize } from 'node:v8';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import type { CheckpointMetadata, SnapshotInfo } from './checkpoint-metadata.ts';
import { childLocation, openCheckpointStorage, type CheckpointStorage } from './checkpoint-storage.ts';
import { canonicalSnapshot, readOperatorSnapshot } from './operator-state-files.ts';

export interface SnapshotSummary extends SnapshotInfo {
  /** Where it is: what `--restore` takes. */
  readonly path: string;
  readonly bytes: number;
  readonly maxParallelism: number;
  readonly operators: ReadonlyArray<{ readonly uid: string; readonly name: string; readonly parallelism: number }>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Refuses a snapshot name that is not one safe path segment; `field` names the request field. */
export function checkSnapshotName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidRequestError(`${field}: a snapshot name is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit; got ${JSON.stringify(name)}`);
  }
  return name;
}

/** The default name: the job's name, the checkpoint id and the time, e.g. `orders-chk12-20261127T061500`. */
export function defaultSnapshotName(jobName: string, checkpointId: number, nowMs: number): string {
  const time = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const job = jobName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 80) || 'job';
  return `${job}-chk${checkpointId}-${time}`;
}

function summarize(path: string, metadata: CheckpointMetadata): SnapshotSummary {
  const snapshot = metadata.snapshot!;
  return {
    ...snapshot,
    path,
    bytes: metadata.operators.reduce((sum, op) => sum + op.subtasks.reduce((s, h) => s + h.bytes, 0), 0),
    maxParallelism: metadata.maxParallelism,
    operators: metadata.operators.map((op) => ({ uid: op.uid, name: op.name, parallelism: op.parallelism })),
  };
}

export class SnapshotCatalog {
  constructor(readonly root: string) {}

  pathOf(name: string): string {
    return childLocation(this.root, checkSnapshotName(name));
  }

  private storage(name: string) {
    return openCheckpointStorage(this.pathOf(name), 'one-checkpoint', 'snapshot location');
  }

  /**
   * Copies completed checkpoint `checkpointId` of `source` into a new snapshot `info.name`: every
   * operator subtask's state, resolved and checked, then `_metadata`. A name in use is refused.
   */
  async create(source: CheckpointStorage, checkpointId: number, info: SnapshotInfo): Promise<SnapshotSummary> {
    const target = this.storage(info.name);
    if (await this.has(info.name)) throw new InvalidRequestError(`name: a snapshot named "${info.name}" exists already`);
    const metadata = await source.readMetadata(checkpointId);
    try {
      const operators = [];
      for (const op of metadata.operators) {
        const subtasks = [];
        for (const handle of op.subtasks) {
          const snapshot = canonicalSnapshot(await readOperatorSnapshot(source, checkpointId, handle), `${source.location} checkpoint ${checkpointId}, ${handle.file}`);
          subtasks.push(await target.writeState(checkpointId, op.uid, handle.subtask, serialize(snapshot)));
        }
        operators.push({ ...op, subtasks });
      }
      const copy: CheckpointMetadata = { ...metadata, operators, snapshot: info };
      await target.writeMetadata(copy);
      return summarize(target.location, copy);
    } catch (error) {
      if ((await target.listCompleted()).length === 0) await target.discard(checkpointId).catch(() => {});
      throw error;
    }
  }

  /** Whether a snapshot of that name exists (its `_metadata` does). */
  async has(name: string): Promise<boolean> {
    return (await this.storage(name).listCompleted()).length > 0;
  }

  async list(): Promise<SnapshotSummary[]> {
    const root = openCheckpointStorage(this.root, 'checkpoints', 'snapshot location');
    const found: SnapshotSummary[] = [];
    for (const object of await root.store.list('')) {
      const match = /^([^/]+)\/_metadata$/.exec(object.key);
      if (!match || !NAME.test(match[1]!)) continue;
      const storage = this.storage(match[1]!);
      const metadata = await storage.readMetadata(0).catch(() => undefined);
      if (metadata?.snapshot) found.push(summarize(storage.location, metadata));
    }
    return found.sort((a, b) => a.createdAtMs - b.createdAtMs || a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<SnapshotSummary> {
    const storage = this.storage(name);
    const metadata = await storage.readMetadata(0).catch(() => undefined);
    if (!metadata?.snapshot) throw new NotFoundError(`no snapshot named "${name}" in ${this.root}`);
    return summarize(storage.location, metadata);
  }

  async delete(name: string): Promise<SnapshotSummary> {
    const summary = await this.describe(name);
    await this.storage(name).discard(summary.checkpointId);
    return summary;
  }
}
