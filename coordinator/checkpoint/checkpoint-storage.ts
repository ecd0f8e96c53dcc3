// Where checkpoints live. Layout (the same for a local directory now and S3 later):
//   <root>/chk-<id>/<uid>/subtask-<i>.state   one operator subtask's state (v8-serialized)
//   <root>/chk-<id>/_metadata                 written last, with a write that refuses to overwrite
// Only directories with `_metadata` are completed checkpoints; the rest are leftovers of a
// failed or interrupted checkpoint and are removed.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, RestoreError } from '../../shared/errors.ts';
import { validateCheckpointMetadata, type CheckpointMetadata, type SubtaskStateHandle } from './checkpoint-metadata.ts';

export interface CheckpointStorage {
  /** Where it is, for logs and for `--restore`. */
  readonly location: string;
  writeState(checkpointId: number, uid: string, subtask: number, bytes: Uint8Array): Promise<SubtaskStateHandle>;
  /** Fails if `_metadata` of this checkpoint exists already. */
  writeMetadata(metadata: CheckpointMetadata): Promise<void>;
  /** Completed checkpoint ids, ascending. */
  listCompleted(): Promise<number[]>;
  readMetadata(checkpointId: number): Promise<CheckpointMetadata>;
  /** Reads a state file and checks its checksum, naming the file if it does not match. */
  readState(checkpointId: number, handle: SubtaskStateHandle): Promise<Uint8Array>;
  discard(checkpointId: number): Promise<void>;
  /** Removes checkpoint directories that never got `_metadata`, except `keep`. */
  discardIncomplete(keep?: number): Promise<number[]>;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function safeSegment(uid: string): string {
  return uid.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * 'checkpoints': a folder of `chk-<id>` folders (a job's checkpoints). 'one-checkpoint': the
 * folder is itself one checkpoint with its `_metadata` at the top (a snapshot).
 */
export type CheckpointLayout = 'checkpoints' | 'one-checkpoint';

export class LocalDirectoryCheckpointStorage implements CheckpointStorage {
  constructor(readonly location: string, readonly layout: CheckpointLayout = 'checkpoints') {}

  private dir(checkpointId: number): string {
    return this.layout === 'one-checkpoint' ? this.location : join(this.location, `chk-${checkpointId}`);
  }

  async writeState(checkpointId: number, uid: string, subtask: number, bytes: Uint8Array): Promise<SubtaskStateHandle> {
    const relative = join(safeSegment(uid), `subtask-${subtask}.state`);
    const path = join(this.dir(checkpointId), relative);
    await fs.mkdir(join(this.dir(checkpointId), safeSegment(uid)), { recursive: true });
    const handle = await fs.open(path, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { subtask, file: relative, bytes: bytes.byteLength, sha256: sha256(bytes) };
  }

  async writeMetadata(metadata: CheckpointMetadata): Promise<void> {
    const dir = this.dir(metadata.checkpointId);
    await fs.mkdir(dir, { recursive: true });
    const temp = join(dir, `_metadata.${process.pid}.tmp`);
    const handle = await fs.open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(metadata, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // link() refuses an existing target: an atomic create-if-absent of the complete file.
      await fs.link(temp, join(dir, '_metadata'));
    } catch (error) {
      throw new CheckpointError(`checkpoint ${metadata.checkpointId}: ${join(dir, '_metadata')} exists already; refusing to overwrite it`, { cause: error });
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async listCompleted(): Promise<number[]> {
    if (this.layout === 'one-checkpoint') {
      try {
        return [(await this.readMetadata(0)).checkpointId];
      } catch {
        return [];
      }
    }
    let names: string[];
    try {
      names = await fs.readdir(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const ids: number[] = [];
    for (const name of names) {
      const match = /^chk-(\d+)$/.exec(name);
      if (!match) continue;
      try {
        await fs.access(join(this.location, name, '_metadata'));
        ids.push(Number(match[1]));
      } catch {
        // no _metadata: not a checkpoint
      }
    }
    return ids.sort((a, b) => a - b);
  }

  async readMetadata(checkpointId: number): Promise<CheckpointMetadata> {
    const path = join(this.dir(checkpointId), '_metadata');
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      throw new RestoreError(`${path} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RestoreError(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    return validateCheckpointMetadata(parsed, path);
  }

  async readState(checkpointId: number, handle: SubtaskStateHandle): Promise<Uint8Array> {
    const path = join(this.dir(checkpointId), handle.file);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(path);
    } catch (error) {
      throw new RestoreError(`state file ${path} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    if (sha256(bytes) !== handle.sha256) {
      throw new RestoreError(`state file ${path} is corrupted: its SHA-256 does not match the checkpoint's _metadata`);
    }
    return bytes;
  }

  async discard(checkpointId: number): Promise<void> {
    await fs.rm(this.dir(checkpointId), { recursive: true, force: true });
  }

  async discardIncomplete(keep?: number): Promise<number[]> {
    if (this.layout === 'one-checkpoint') return [];
    let names: string[];
    try {
      names = await fs.readdir(this.location);
    } catch {
      return [];
    }
    const completed = new Set(await this.listCompleted());
    const removed: number[] = [];
    for (const name of names) {
      const match = /^chk-(\d+)$/.exec(name);
      if (!match) continue;
      const id = Number(match[1]);
      if (completed.has(id) || id === keep) continue;
      await this.discard(id);
      removed.push(id);
    }
    return removed;
  }
}

/** Keeps checkpoints in memory: for tests and for bounded jobs run without a checkpoint directory. */
export class InMemoryCheckpointStorage implements CheckpointStorage {
  readonly location = 'memory://checkpoints';
  private readonly states = new Map<string, Uint8Array>();
  private readonly metadata = new Map<number, CheckpointMetadata>();

  async writeState(checkpointId: number, uid: string, subtask: number, bytes: Uint8Array): Promise<SubtaskStateHandle> {
    const file = `${safeSegment(uid)}/subtask-${subtask}.state`;
    this.states.set(`${checkpointId}/${file}`, bytes);
    return { subtask, file, bytes: bytes.byteLength, sha256: sha256(bytes) };
  }

  async writeMetadata(metadata: CheckpointMetadata): Promise<void> {
    if (this.metadata.has(metadata.checkpointId)) throw new CheckpointError(`checkpoint ${metadata.checkpointId} exists already; refusing to overwrite it`);
    this.metadata.set(metadata.checkpointId, metadata);
  }

  async listCompleted(): Promise<number[]> {
    return [...this.metadata.keys()].sort((a, b) => a - b);
  }

  async readMetadata(checkpointId: number): Promise<CheckpointMetadata> {
    const m = this.metadata.get(checkpointId);
    if (!m) throw new RestoreError(`checkpoint ${checkpointId} does not exist`);
    return m;
  }

  async readState(checkpointId: number, handle: SubtaskStateHandle): Promise<Uint8Array> {
    const bytes = this.states.get(`${checkpointId}/${handle.file}`);
    if (!bytes) throw new RestoreError(`state file ${handle.file} of checkpoint ${checkpointId} does not exist`);
    if (sha256(bytes) !== handle.sha256) throw new RestoreError(`state file ${handle.file} of checkpoint ${checkpointId} is corrupted`);
    return bytes;
  }

  async discard(checkpointId: number): Promise<void> {
    this.metadata.delete(checkpointId);
    for (const key of [...this.states.keys()]) if (key.startsWith(`${checkpointId}/`)) this.states.delete(key);
  }

  async discardIncomplete(): Promise<number[]> {
    return [];
  }
}
