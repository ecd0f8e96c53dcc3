// Where checkpoints live: any ObjectStore (S3 or an S3-compatible store, a local folder, memory).
// Layout of a job's checkpoint folder (`s3://bucket/checkpoints/<job>` or a local directory):
//   chk-<id>/<uid>/subtask-<i>.state   one operator subtask's state (v8-serialized)
//   chk-<id>/_metadata                 written last, with a write that refuses to overwrite
//   shared/<sha256>                    key-group chunks of keyed state, shared by the checkpoints
//                                      that contain them unchanged (incremental checkpoints)
// Only folders with `_metadata` are completed checkpoints; the rest are leftovers of a failed or
// interrupted checkpoint and are removed. A shared file is deleted once no retained checkpoint
// refers to it. A snapshot is one checkpoint folder on its own ('one-checkpoint' layout), always
// self-contained (no shared files).

import { createHash } from 'node:crypto';
import { CheckpointError, RestoreError } from '../errors.ts';
import { createObjectStore, MemoryObjectStore, ObjectExistsError, ObjectNotFoundError, type ObjectStore } from '../object-store/index.ts';
import { PrefixedObjectStore } from '../object-store/prefixed-object-store.ts';
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
  /** Removes checkpoint folders that never got `_metadata`, except `keep`. */
  discardIncomplete(keep?: number): Promise<number[]>;
  /** Stores a chunk under its SHA-256 unless it is there already; true when it was uploaded. */
  writeShared(sha256: string, bytes: Uint8Array): Promise<boolean>;
  /** A shared chunk, its checksum checked. */
  readShared(sha256: string): Promise<Uint8Array>;
  /** Deletes shared chunks no checkpoint in `retained` refers to; returns how many. */
  discardUnreferencedShared(retained: readonly number[]): Promise<number>;
}

/**
 * 'checkpoints': a folder of `chk-<id>` folders (a job's checkpoints). 'one-checkpoint': the
 * folder is itself one checkpoint with its `_metadata` at the top (a snapshot).
 */
export type CheckpointLayout = 'checkpoints' | 'one-checkpoint';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function safeSegment(uid: string): string {
  return uid.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const SHARED = 'shared/';

export class ObjectStoreCheckpointStorage implements CheckpointStorage {
  constructor(
    readonly store: ObjectStore,
    /** The URL or path it was opened with. */
    readonly location: string,
    readonly layout: CheckpointLayout = 'checkpoints',
  ) {}

  /** The key prefix of a checkpoint's folder ('' or `chk-<id>/`). */
  private folder(checkpointId: number): string {
    return this.layout === 'one-checkpoint' ? '' : `chk-${checkpointId}/`;
  }

  /** How a key shows in messages: the location joined with it. */
  private describe(key: string): string {
    return `${this.location.replace(/\/+$/, '')}/${key}`;
  }

  async writeState(checkpointId: number, uid: string, subtask: number, bytes: Uint8Array): Promise<SubtaskStateHandle> {
    const file = `${safeSegment(uid)}/subtask-${subtask}.state`;
    await this.store.put(this.folder(checkpointId) + file, bytes);
    return { subtask, file, bytes: bytes.byteLength, sha256: sha256(bytes) };
  }

  async writeMetadata(metadata: CheckpointMetadata): Promise<void> {
    const key = `${this.folder(metadata.checkpointId)}_metadata`;
    try {
      await this.store.put(key, new TextEncoder().encode(JSON.stringify(metadata, null, 2)), { ifNoneMatch: true });
    } catch (error) {
      if (error instanceof ObjectExistsError) {
        throw new CheckpointError(`checkpoint ${metadata.checkpointId}: ${this.describe(key)} exists already; refusing to overwrite it`, { cause: error });
      }
      throw error;
    }
  }

  async listCompleted(): Promise<number[]> {
    if (this.layout === 'one-checkpoint') {
      const metadata = await this.readMetadata(0).catch(() => undefined);
      return metadata ? [metadata.checkpointId] : [];
    }
    const ids: number[] = [];
    for (const object of await this.store.list('chk-')) {
      const match = /^chk-(\d+)\/_metadata$/.exec(object.key);
      if (match) ids.push(Number(match[1]));
    }
    return ids.sort((a, b) => a - b);
  }

  async readMetadata(checkpointId: number): Promise<CheckpointMetadata> {
    const key = `${this.folder(checkpointId)}_metadata`;
    let text: string;
    try {
      text = new TextDecoder().decode(await this.store.get(key));
    } catch (error) {
      const reason = error instanceof ObjectNotFoundError ? 'does not exist' : `cannot be read: ${(error as Error).message}`;
      throw new RestoreError(`${this.describe(key)} ${reason}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RestoreError(`${this.describe(key)} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    return validateCheckpointMetadata(parsed, this.describe(key));
  }

  async readState(checkpointId: number, handle: SubtaskStateHandle): Promise<Uint8Array> {
    return this.readChecked(this.folder(checkpointId) + handle.file, handle.sha256, 'state file');
  }

  private async readChecked(key: string, expectedSha256: string, what: string): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.store.get(key);
    } catch (error) {
      const reason = error instanceof ObjectNotFoundError ? 'does not exist' : `cannot be read: ${(error as Error).message}`;
      throw new RestoreError(`${what} ${this.describe(key)} ${reason}`, { cause: error });
    }
    if (sha256(bytes) !== expectedSha256) {
      throw new RestoreError(`${what} ${this.describe(key)} is corrupted: its SHA-256 does not match the checkpoint's _metadata`);
    }
    return bytes;
  }

  async discard(checkpointId: number): Promise<void> {
    const prefix = this.folder(checkpointId);
    const keys = (await this.store.list(prefix)).map((o) => o.key).filter((k) => this.layout === 'one-checkpoint' || k.startsWith(prefix));
    // `_metadata` goes first: a half-deleted checkpoint must not look complete.
    const metadata = keys.filter((k) => k.endsWith('_metadata'));
    await this.store.delete(metadata);
    await this.store.delete(keys.filter((k) => !k.endsWith('_metadata')));
  }

  async discardIncomplete(keep?: number): Promise<number[]> {
    if (this.layout === 'one-checkpoint') return [];
    const byId = new Map<number, { keys: string[]; complete: boolean }>();
    for (const object of await this.store.list('chk-')) {
      const match = /^chk-(\d+)\/(.*)$/.exec(object.key);
      if (!match) continue;
      const id = Number(match[1]);
      let entry = byId.get(id);
      if (!entry) byId.set(id, (entry = { keys: [], complete: false }));
      entry.keys.push(object.key);
      if (match[2] === '_metadata') entry.complete = true;
    }
    const removed: number[] = [];
    for (const [id, entry] of byId) {
      if (entry.complete || id === keep) continue;
      await this.store.delete(entry.keys);
      removed.push(id);
    }
    return removed.sort((a, b) => a - b);
  }

  async writeShared(chunkSha256: string, bytes: Uint8Array): Promise<boolean> {
    const key = SHARED + chunkSha256;
    if (await this.store.head(key)) return false;
    await this.store.put(key, bytes);
    return true;
  }

  readShared(chunkSha256: string): Promise<Uint8Array> {
    return this.readChecked(SHARED + chunkSha256, chunkSha256, 'shared state file');
  }

  async discardUnreferencedShared(retained: readonly number[]): Promise<number> {
    const referenced = new Set<string>();
    // Every checkpoint whose `_metadata` is there keeps its chunks, not only those the caller
    // retains: a caller with a stale view (a leader that lost the leadership) must not take away
    // chunks of checkpoints it does not know of.
    for (const id of new Set([...retained, ...(await this.listCompleted())])) {
      const metadata = await this.readMetadata(id);
      for (const op of metadata.operators) for (const handle of op.subtasks) for (const chunk of handle.shared ?? []) referenced.add(chunk);
    }
    const unreferenced = (await this.store.list(SHARED)).map((o) => o.key).filter((key) => !referenced.has(key.slice(SHARED.length)));
    await this.store.delete(unreferenced);
    return unreferenced.length;
  }
}

/** One S3 store per bucket in this process (a client and its connections); locations in it are views. */
const bucketStores = new Map<string, ObjectStore>();

function storeAt(location: string, field: string): ObjectStore {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(location);
  if (!s3) return createObjectStore(location, { field });
  const bucket = `s3://${s3[1]}`;
  let store = bucketStores.get(bucket);
  if (!store) {
    createObjectStore(location, { field }); // checks the whole URL, naming the setting
    bucketStores.set(bucket, (store = createObjectStore(bucket, { field })));
  }
  return new PrefixedObjectStore(store, s3[2]!);
}

/** A job's checkpoints, or one checkpoint, at a URL or path (s3://bucket/prefix, file:///dir, a path, memory://name). */
export function openCheckpointStorage(location: string, layout: CheckpointLayout = 'checkpoints', field = 'checkpoint location'): ObjectStoreCheckpointStorage {
  return new ObjectStoreCheckpointStorage(storeAt(location, field), location, layout);
}

/** `location` with a path segment appended (URLs and local paths alike). */
export function childLocation(location: string, segment: string): string {
  return `${location.replace(/\/+$/, '')}/${segment}`;
}

/** Checkpoints in a local folder: the embedded mode's default. */
export class LocalDirectoryCheckpointStorage extends ObjectStoreCheckpointStorage {
  constructor(directory: string, layout: CheckpointLayout = 'checkpoints') {
    super(createObjectStore(directory, { field: 'checkpoint directory' }), directory, layout);
  }
}

/** Keeps checkpoints in memory: for tests and for bounded jobs run without a checkpoint directory. */
export class InMemoryCheckpointStorage extends ObjectStoreCheckpointStorage {
  constructor() {
    super(new MemoryObjectStore(), 'memory://checkpoints');
  }
}
