// Snapshots (Flink's savepoints, Managed Flink's application snapshots): a completed checkpoint
// copied into a folder of its own under the snapshot root, so that it outlives the job and the
// retention of its checkpoints. A snapshot is self-contained (every state file is in it) and in
// the canonical, backend-independent format every checkpoint uses, so it restores onto either
// state backend and at any parallelism. Its `_metadata` is written last, refusing to overwrite,
// and names the job and checkpoint it came from.

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { InvalidRequestError, NotFoundError } from '../../shared/errors.ts';
import type { CheckpointMetadata, SnapshotInfo } from './checkpoint-metadata.ts';
import { LocalDirectoryCheckpointStorage, type CheckpointStorage } from './checkpoint-storage.ts';

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
    return join(this.root, checkSnapshotName(name));
  }

  /**
   * Copies completed checkpoint `checkpointId` of `source` into a new snapshot `info.name`: every
   * state file (checksums verified on the way), then `_metadata`. A name in use is refused.
   */
  async create(source: CheckpointStorage, checkpointId: number, info: SnapshotInfo): Promise<SnapshotSummary> {
    const path = this.pathOf(info.name);
    const target = new LocalDirectoryCheckpointStorage(path, 'one-checkpoint');
    if ((await target.listCompleted()).length > 0) throw new InvalidRequestError(`name: a snapshot named "${info.name}" exists already`);
    const metadata = await source.readMetadata(checkpointId);
    try {
      const operators = [];
      for (const op of metadata.operators) {
        const subtasks = [];
        for (const handle of op.subtasks) {
          const bytes = await source.readState(checkpointId, handle);
          subtasks.push(await target.writeState(checkpointId, op.uid, handle.subtask, bytes));
        }
        operators.push({ ...op, subtasks });
      }
      const copy: CheckpointMetadata = { ...metadata, operators, snapshot: info };
      await target.writeMetadata(copy);
      return summarize(path, copy);
    } catch (error) {
      if ((await target.listCompleted()).length === 0) await fs.rm(path, { recursive: true, force: true });
      throw error;
    }
  }

  async list(): Promise<SnapshotSummary[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const found: SnapshotSummary[] = [];
    for (const name of names.sort()) {
      if (!NAME.test(name)) continue;
      const path = join(this.root, name);
      const metadata = await new LocalDirectoryCheckpointStorage(path, 'one-checkpoint').readMetadata(0).catch(() => undefined);
      if (metadata?.snapshot) found.push(summarize(path, metadata));
    }
    return found.sort((a, b) => a.createdAtMs - b.createdAtMs || a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<SnapshotSummary> {
    const path = this.pathOf(name);
    const metadata = await new LocalDirectoryCheckpointStorage(path, 'one-checkpoint').readMetadata(0).catch(() => undefined);
    if (!metadata?.snapshot) throw new NotFoundError(`no snapshot named "${name}" in ${this.root}`);
    return summarize(path, metadata);
  }

  async delete(name: string): Promise<SnapshotSummary> {
    const summary = await this.describe(name);
    await fs.rm(summary.path, { recursive: true, force: true });
    return summary;
  }
}
