// How one operator subtask's snapshot becomes files of a checkpoint, and back. Incremental
// checkpoints: keyed state is cut by key group, and each key group of at least
// SHARED_CHUNK_MIN_BYTES goes to a shared file named by its SHA-256, uploaded only when no
// earlier checkpoint uploaded the same bytes; the subtask's state file keeps the small key groups
// inline and lists the chunks it refers to. An unchanged key group is therefore never uploaded
// twice, and a shared file lives as long as a retained checkpoint refers to it. Restores read
// only the chunks of the key groups they need.
//
// The granularity is the key group: a key group with one changed key is uploaded again whole.
// Jobs whose updates touch few key groups per interval gain the most; raise the max parallelism
// (more, smaller key groups) for finer increments.

import { deserialize, serialize } from 'node:v8';
import { RestoreError } from '../errors.ts';
import { mergeKeyGroups, type KeyGroupState } from './keyed-state-snapshot.ts';
import { rawPairsToEntries } from './raw-pairs.ts';
import type { OperatorSnapshot } from './operator-snapshot.ts';
import type { SubtaskStateHandle } from './checkpoint-metadata.ts';
import { sha256, type CheckpointStorage } from './checkpoint-storage.ts';

/** Key groups smaller than this stay inline in the subtask's state file. */
export const SHARED_CHUNK_MIN_BYTES = 4096;
/** Shared chunks being uploaded (or read) at once by one operator subtask. */
const UPLOADS_IN_FLIGHT = 8;

type KeyGroupEntries = KeyGroupState;

/** A key group stored in a shared file. */
interface ChunkReference {
  readonly keyGroup: number;
  readonly sha256: string;
  readonly bytes: number;
}

/** What a state file holds when some key groups live in shared files. */
interface StoredSnapshot extends OperatorSnapshot {
  readonly chunks?: readonly ChunkReference[];
}

export interface WrittenState {
  readonly handle: SubtaskStateHandle;
  /** Bytes written by this checkpoint: the state file and the chunks that were not there yet. */
  readonly uploadedBytes: number;
  /** Bytes the subtask's state takes in all: the state file and every chunk it refers to. */
  readonly totalBytes: number;
}

/** Paces checkpoint writing (a worker's --checkpoint-rate-limit-mb). */
export interface CheckpointWriteLimiter {
  /** Resolves once `bytes` more may be written. */
  acquire(bytes: number): Promise<void>;
}

export async function writeOperatorSnapshot(
  storage: CheckpointStorage,
  checkpointId: number,
  uid: string,
  subtask: number,
  snapshot: OperatorSnapshot,
  limiter?: CheckpointWriteLimiter,
): Promise<WrittenState> {
  const reader = snapshot.keyedReader;
  try {
    if (!snapshot.keyed && !reader) {
      const bytes = serialize(snapshot);
      return { handle: await storage.writeState(checkpointId, uid, subtask, bytes), uploadedBytes: bytes.byteLength, totalBytes: bytes.byteLength };
    }
    const writeShared = storage.writeShared.bind(storage);
    const inline: KeyGroupEntries[] = [];
    const chunks: ChunkReference[] = [];
    let uploadedBytes = 0;
    let chunkBytes = 0;
    // Uploads overlap (a store's latency, not its bandwidth, bounds one at a time), at most
    // UPLOADS_IN_FLIGHT chunks in memory at once.
    const uploads = new Set<Promise<void>>();
    let uploadFailure: unknown;
    const upload = async (chunk: ChunkReference, bytes: Uint8Array) => {
      while (uploads.size >= UPLOADS_IN_FLIGHT) await Promise.race(uploads);
      if (uploadFailure !== undefined) throw uploadFailure;
      const pending: Promise<void> = writeShared(chunk.sha256, bytes).then(
        (uploaded) => {
          if (uploaded) uploadedBytes += bytes.byteLength;
        },
        (error: unknown) => {
          uploadFailure ??= error;
        },
      );
      uploads.add(pending);
      void pending.finally(() => uploads.delete(pending));
    };
    /** Inline when small, else a shared chunk uploaded unless it is there already. */
    const store = async (group: KeyGroupEntries): Promise<ChunkReference | undefined> => {
      const bytes = serialize(group);
      if (bytes.byteLength < SHARED_CHUNK_MIN_BYTES) {
        inline.push(group);
        return undefined;
      }
      const chunk = { keyGroup: group.keyGroup, sha256: sha256(bytes), bytes: bytes.byteLength };
      await upload(chunk, bytes);
      chunkBytes += bytes.byteLength;
      chunks.push(chunk);
      return chunk;
    };
    if (reader) {
      // Timers stay inline (they change often and are small); the backend's state is read one key
      // group at a time, and a key group unchanged since the baseline reuses the baseline's chunk.
      inline.push(...(snapshot.keyed?.keyGroups ?? []).map((g) => ({ keyGroup: g.keyGroup, entries: g.entries })));
      for (const keyGroup of reader.keyGroups) {
        const previous = reader.baselineReference(keyGroup) as ChunkReference | undefined;
        if (previous !== undefined && !reader.changedSinceBaseline(keyGroup)) {
          chunkBytes += previous.bytes;
          chunks.push(previous);
          reader.remember(keyGroup, previous);
          continue;
        }
        // As the backend stores it when it can say (LevelDB): nothing decoded and encoded again.
        // As the backend stores it: nothing decoded and encoded again.
        const rawPairs = await reader.readRaw(keyGroup);
        if (rawPairs.byteLength === 0) continue;
        await limiter?.acquire(rawPairs.byteLength);
        const chunk = await store({ keyGroup, entries: [], rawPairs });
        if (chunk) reader.remember(keyGroup, chunk);
      }
    } else {
      for (const group of snapshot.keyed!.keyGroups) await store(group);
    }
    await Promise.all(uploads);
    if (uploadFailure !== undefined) throw uploadFailure;
    const stored: StoredSnapshot = {
      ...(snapshot.operatorState === undefined ? {} : { operatorState: snapshot.operatorState }),
      keyed: { maxParallelism: (reader ?? snapshot.keyed)!.maxParallelism, keyGroups: inline },
      chunks,
    };
    const bytes = serialize(stored);
    const written = await storage.writeState(checkpointId, uid, subtask, bytes);
    return {
      handle: chunks.length > 0 ? { ...written, shared: [...new Set(chunks.map((c) => c.sha256))] } : written,
      uploadedBytes: uploadedBytes + bytes.byteLength,
      totalBytes: chunkBytes + bytes.byteLength,
    };
  } finally {
    await reader?.close();
  }
}

/**
 * Reads one operator subtask's snapshot, resolving its shared chunks; with `needsKeyGroup`, only
 * the chunks of the key groups it accepts are read (the others are left out of the result), and
 * with `alreadyHeld`, a chunk the reader holds already (by key group and SHA-256) is left out too.
 */
export async function readOperatorSnapshot(
  storage: CheckpointStorage,
  checkpointId: number,
  handle: SubtaskStateHandle,
  needsKeyGroup: (keyGroup: number) => boolean = () => true,
  alreadyHeld: (keyGroup: number, sha256: string) => boolean = () => false,
): Promise<OperatorSnapshot> {
  return (await readSubtaskState(storage, checkpointId, handle, needsKeyGroup, alreadyHeld)).snapshot;
}

/** One operator subtask's state as a restore reads it. */
export interface SubtaskStateRead {
  /** As readOperatorSnapshot returns it. */
  readonly snapshot: OperatorSnapshot;
  /**
   * Every key group the state file holds, inline or in a shared chunk, whether it was read or
   * not, ascending: the state file lists them, so a restore can check what each subtask covers
   * without reading a chunk it does not need.
   */
  readonly keyGroups: readonly number[];
}

/** readOperatorSnapshot, with the key groups of the whole state file. */
export async function readSubtaskState(
  storage: CheckpointStorage,
  checkpointId: number,
  handle: SubtaskStateHandle,
  needsKeyGroup: (keyGroup: number) => boolean = () => true,
  alreadyHeld: (keyGroup: number, sha256: string) => boolean = () => false,
): Promise<SubtaskStateRead> {
  const { chunks, ...snapshot } = await readStoredSnapshot(storage, checkpointId, handle);
  const keyGroups = [...new Set([...(snapshot.keyed?.keyGroups ?? []).map((g) => g.keyGroup), ...(chunks ?? []).map((c) => c.keyGroup)])].sort((a, b) => a - b);
  if (!chunks || chunks.length === 0 || !snapshot.keyed) return { snapshot, keyGroups };
  const read: KeyGroupEntries[] = [...snapshot.keyed.keyGroups];
  await readChunks(storage, checkpointId, chunks.filter((chunk) => needsKeyGroup(chunk.keyGroup) && !alreadyHeld(chunk.keyGroup, chunk.sha256)), async (_chunk, state) => {
    read.push(state);
  });
  // A key group may be in both places: its timers inline, its state in a chunk.
  return { snapshot: { ...snapshot, keyed: { maxParallelism: snapshot.keyed.maxParallelism, keyGroups: mergeKeyGroups(read) } }, keyGroups };
}

/** A key group's state as one shared chunk of a checkpoint holds it; its SHA-256 names its content. */
export interface KeyGroupChunk {
  readonly keyGroup: number;
  readonly sha256: string;
  readonly state: KeyGroupState;
}

/**
 * The shared chunks of one operator subtask's snapshot whose key groups `needsKeyGroup` accepts,
 * handed to `take` one at a time (the next ones are being read meanwhile). Key groups kept
 * inline in the state file are not chunks and are not handed over.
 */
export async function readKeyGroupChunks(
  storage: CheckpointStorage,
  checkpointId: number,
  handle: SubtaskStateHandle,
  needsKeyGroup: (keyGroup: number) => boolean,
  take: (chunk: KeyGroupChunk) => Promise<void>,
): Promise<void> {
  const { chunks } = await readStoredSnapshot(storage, checkpointId, handle);
  await readChunks(storage, checkpointId, (chunks ?? []).filter((chunk) => needsKeyGroup(chunk.keyGroup)), (chunk, state) =>
    take({ keyGroup: chunk.keyGroup, sha256: chunk.sha256, state }),
  );
}

async function readStoredSnapshot(storage: CheckpointStorage, checkpointId: number, handle: SubtaskStateHandle): Promise<StoredSnapshot> {
  const bytes = await storage.readState(checkpointId, handle);
  try {
    return deserialize(bytes) as StoredSnapshot;
  } catch (error) {
    throw new RestoreError(`${storage.location} checkpoint ${checkpointId}: state file ${handle.file} cannot be decoded: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads chunks UPLOADS_IN_FLIGHT at a time (a store's latency bounds one at a time), handing each to `take` in order. */
async function readChunks(
  storage: CheckpointStorage,
  checkpointId: number,
  chunks: readonly ChunkReference[],
  take: (chunk: ChunkReference, state: KeyGroupEntries) => Promise<void>,
): Promise<void> {
  const readShared = storage.readShared.bind(storage);
  for (let start = 0; start < chunks.length; start += UPLOADS_IN_FLIGHT) {
    const batch = chunks.slice(start, start + UPLOADS_IN_FLIGHT);
    const read = await Promise.all(batch.map((chunk) => readShared(chunk.sha256)));
    for (let i = 0; i < batch.length; i++) {
      const chunk = batch[i]!;
      let state: KeyGroupEntries;
      try {
        state = deserialize(read[i]!) as KeyGroupEntries;
      } catch (error) {
        throw new RestoreError(
          `${storage.location} checkpoint ${checkpointId}: shared state file ${chunk.sha256} (key group ${chunk.keyGroup}) cannot be decoded: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await take(chunk, state);
    }
  }
}

/**
 * The canonical form of a snapshot, what snapshots (savepoints) keep: every key group's state as
 * entries, none as a backend's raw pairs, so it restores onto any backend.
 */
export function canonicalSnapshot(snapshot: OperatorSnapshot, where: string): OperatorSnapshot {
  if (!snapshot.keyed?.keyGroups.some((g) => g.rawPairs !== undefined)) return snapshot;
  const keyGroups = snapshot.keyed.keyGroups.map((g) =>
    g.rawPairs === undefined ? g : { keyGroup: g.keyGroup, entries: [...g.entries, ...rawPairsToEntries(g.rawPairs, `${where}, key group ${g.keyGroup}`)] },
  );
  return { ...snapshot, keyed: { maxParallelism: snapshot.keyed.maxParallelism, keyGroups } };
}
