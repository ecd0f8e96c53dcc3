// An exactly-once sink that writes rows to S3 (or any ObjectStore) as JSON lines or Parquet files
// in Hive-style partition folders, for Athena: `<root>/dt=2026-11-27/hr=06/part-<subtask>-<n>.json`.
//
// Each file is one multipart upload, invisible until completed (ARCHITECTURE.md, decision 5):
// records are encoded in memory and uploaded as parts of at least `partBytes` (5 MiB) while the
// file is open; a file rolls at `maxFileBytes`, after `maxFileOpenMs`, and on every checkpoint
// barrier, when its last (possibly small) part is uploaded. prepareCommit returns
// `{ key, uploadId, parts }` for every file rolled since the last barrier; commit, once the
// checkpoint is complete, completes those uploads — again after a restore, which the store
// accepts when the object exists already. Rolling on every checkpoint is what lets a restored job
// need nothing of an open file: a file's bytes are either in a checkpoint's committable or
// replayed from the sources.
//
// Part numbers never repeat within a subtask (part-file-naming.ts): the scan counts every
// `part-<subtask>-<n>` key under the root, completed or still an upload. On restore,
// `abortLeftovers` aborts the uploads of this subtask's names (and, after a scale-down, of the old
// subtasks whose state it receives) that the restored checkpoint does not refer to; so no
// half-written object, and no second copy, is ever made visible.
//
// Because those names are the same in every job, one path has one writing job (path-claims.ts):
// a writer claims the path before it aborts or writes anything, and checks before every commit
// that no later job has claimed it since.

import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { RestoreError } from '../../../shared/errors.ts';
import { createObjectStore } from '../../../shared/object-store/index.ts';
import type { MultipartUpload, ObjectStore, UploadedPart } from '../../../shared/object-store/object-store.ts';
import { nextFreePartIndex, ownsLeftoverPart, PartFileNaming, restoredNextPartIndex, type PartId, type PartIndexState } from '../common/part-file-naming.ts';
import type { BucketAssigner } from './bucket-assigner.ts';
import { JsonLinesEncoderFactory } from './json-lines-encoder.ts';
import { ParquetEncoderFactory } from './parquet-encoder.ts';
import type { PartEncoder, PartEncoderFactory } from './part-encoder.ts';
import { isSinkMetadataKey, PathClaims } from './path-claims.ts';
import { resolveS3FileSinkOptions, type ResolvedS3FileSinkOptions, type S3FileSinkOptions } from './s3-file-sink-options.ts';
import { storeError } from './store-error.ts';

/** One file to make visible: its multipart upload and the parts it is made of. */
export interface S3FileCommittable {
  readonly key: string;
  readonly uploadId: string;
  readonly parts: readonly UploadedPart[];
}

/** The file number the writer opens next. */
export type S3FileSinkWriterState = PartIndexState;

/** Uploads completed at once by one commit. */
const COMMIT_CONCURRENCY = 8;

/** An ObjectStore and what to do with it when done (close it if the sink opened it). */
interface StoreLease {
  readonly store: ObjectStore;
  release(): Promise<void>;
}

export class S3FileSink<T = unknown> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedS3FileSinkOptions<T>;
  private readonly partKeys: PartKeys;

  constructor(options: S3FileSinkOptions<T>) {
    this.options = resolveS3FileSinkOptions(options);
    this.name = this.options.name;
    this.partKeys = new PartKeys(this.options.partPrefix, this.options.format === 'parquet' ? 'parquet' : 'json');
    // A URL that names no store fails when the pipeline is built, not when it first runs.
    if (typeof this.options.path === 'string') void createObjectStore(this.options.path, { field: 'path' }).close();
  }

  private async leaseStore(): Promise<StoreLease> {
    const path = this.options.path;
    if (typeof path !== 'string') return { store: path, release: async () => {} };
    const store = createObjectStore(path, { field: 'path' });
    return { store, release: () => store.close() };
  }

  async createWriter(context: SinkWriterContext, restoredState: unknown): Promise<SinkWriter<T>> {
    const lease = await this.leaseStore();
    try {
      const restoredNextIndex = restoredNextPartIndex(restoredState, this.name);
      const claims = new PathClaims(lease.store, this.name, context);
      await claims.claim();
      const keys = [...(await this.listObjects(lease.store)).map((o) => o.key), ...(await this.listUploads(lease.store)).map((u) => u.key)];
      const nextPartIndex = nextFreePartIndex(context.subtaskIndex, restoredNextIndex, keys.map((key) => this.partKeys.parse(key)));
      const encoders: PartEncoderFactory<T> =
        this.options.format === 'parquet'
          ? new ParquetEncoderFactory<T>(this.name, this.options.parquetColumns, this.options.parquetRowGroupRows)
          : new JsonLinesEncoderFactory<T>(this.name, this.options.serialize);
      return new S3FileSinkWriter<T>(this.options, lease, this.partKeys, encoders, this.options.createBucketAssigner(), context, claims, nextPartIndex);
    } catch (error) {
      await lease.release().catch(() => {});
      throw error;
    }
  }

  /**
   * Aborts the uploads a failed attempt left, of the subtasks this one cleans up after, that the
   * restored checkpoint does not refer to.
   */
  async abortLeftovers(context: SinkWriterContext, keep: readonly unknown[]): Promise<void> {
    const kept = new Set(committedFiles(keep, this.name).map((c) => c.uploadId));
    const lease = await this.leaseStore();
    try {
      const uploads = await this.listUploads(lease.store);
      // Claimed after the uploads are listed: a later job's claim exists before its first upload,
      // so if no later claim is seen here, none of the listed uploads is a later job's.
      await new PathClaims(lease.store, this.name, context).claim();
      for (const upload of uploads) {
        const part = this.partKeys.parse(upload.key);
        if (!part || !ownsLeftoverPart(context, part) || kept.has(upload.uploadId)) continue;
        try {
          await lease.store.abortMultipartUpload(upload);
        } catch (error) {
          throw storeError(this.name, lease.store, `cannot abort the leftover upload of ${upload.key}`, error);
        }
      }
    } finally {
      await lease.release();
    }
  }

  private async listObjects(store: ObjectStore) {
    try {
      return await store.list('');
    } catch (error) {
      throw storeError(this.name, store, 'cannot list the existing files', error);
    }
  }

  private async listUploads(store: ObjectStore) {
    try {
      return await store.listMultipartUploads('');
    } catch (error) {
      throw storeError(this.name, store, 'cannot list the multipart uploads in progress', error);
    }
  }
}

/** The keys of one sink's files: `<bucket>/<prefix>-<subtask>-<n>.<ext>`, in any folder but the sink's own `_sluice/`. */
class PartKeys {
  private readonly files: PartFileNaming;

  constructor(prefix: string, extension: string) {
    this.files = new PartFileNaming(prefix, extension);
  }

  key(bucket: string, subtask: number, index: number): string {
    return `${bucket}/${this.files.fileName(subtask, index)}`;
  }

  /** The part a key names; undefined for other keys and for the claims under `_sluice/`. */
  parse(key: string): PartId | undefined {
    return isSinkMetadataKey(key) ? undefined : this.files.parse(key);
  }
}

/** Flattens committables (one file or an array of files each) and checks their shape. */
function committedFiles(committables: readonly unknown[], sinkName: string): S3FileCommittable[] {
  const files: S3FileCommittable[] = [];
  const add = (c: unknown) => {
    const file = c as Partial<S3FileCommittable> | null;
    if (
      typeof file !== 'object' ||
      file === null ||
      typeof file.key !== 'string' ||
      typeof file.uploadId !== 'string' ||
      !Array.isArray(file.parts) ||
      !file.parts.every((p) => Number.isSafeInteger(p?.partNumber) && typeof p?.etag === 'string')
    ) {
      throw new RestoreError(`${sinkName}: committable ${JSON.stringify(c)} is not { key, uploadId, parts: [{ partNumber, etag }] }`);
    }
    files.push({ key: file.key, uploadId: file.uploadId, parts: file.parts });
  };
  for (const c of committables) {
    if (Array.isArray(c)) c.forEach(add);
    else add(c);
  }
  return files;
}

/** A file being written: its encoder and the parts of its upload sent so far. */
interface OpenFile<T> {
  readonly key: string;
  readonly encoder: PartEncoder<T>;
  readonly openedAtMs: number;
  /** Started with the first part; every part waits for it. */
  upload: Promise<MultipartUpload> | undefined;
  readonly parts: Array<Promise<UploadedPart>>;
}

/** A rolled file: its upload finishing, and then what commit needs. */
interface RolledFile {
  readonly key: string;
  readonly upload: Promise<MultipartUpload> | undefined;
  readonly committable: Promise<S3FileCommittable>;
}

class S3FileSinkWriter<T> implements SinkWriter<T> {
  private readonly open = new Map<string, OpenFile<T>>();
  /** Files rolled by size or time since the last barrier. */
  private rolled: RolledFile[] = [];
  /** The first failed upload: the next write or barrier fails the job with it. */
  private failure: unknown;
  private readonly timedRolling: boolean;

  constructor(
    private readonly options: ResolvedS3FileSinkOptions<T>,
    private readonly lease: StoreLease,
    private readonly partKeys: PartKeys,
    private readonly encoders: PartEncoderFactory<T>,
    private readonly buckets: BucketAssigner,
    private readonly context: SinkWriterContext,
    private readonly claims: PathClaims,
    private nextPartIndex: number,
  ) {
    this.timedRolling = Number.isFinite(options.maxFileOpenMs);
  }

  private get store(): ObjectStore {
    return this.lease.store;
  }

  write(value: T, timestamp: number): void {
    if (this.failure !== undefined) throw this.failure;
    const bucket = this.buckets.bucketFor(value, timestamp);
    let file = this.open.get(bucket);
    if (file && this.timedRolling && this.context.now() - file.openedAtMs >= this.options.maxFileOpenMs) {
      this.roll(bucket, file);
      file = undefined;
    }
    if (!file) {
      file = this.openFile(bucket);
      try {
        file.encoder.write(value);
      } catch (error) {
        this.open.delete(bucket);
        throw error;
      }
    } else {
      file.encoder.write(value);
    }
    const encoder = file.encoder;
    if (encoder.fileBytes >= this.options.maxFileBytes) this.roll(bucket, file);
    else if (encoder.pendingBytes >= this.options.partBytes) this.uploadPart(file, encoder.take());
  }

  private openFile(bucket: string): OpenFile<T> {
    const key = this.partKeys.key(bucket, this.context.subtaskIndex, this.nextPartIndex++);
    const file: OpenFile<T> = { key, encoder: this.encoders.create(), openedAtMs: this.timedRolling ? this.context.now() : 0, upload: undefined, parts: [] };
    this.open.set(bucket, file);
    return file;
  }

  /** Sends one part of a file; parts go out concurrently, each once the upload exists. */
  private uploadPart(file: OpenFile<T>, bytes: Uint8Array): void {
    const store = this.store;
    if (!file.upload) {
      file.upload = store.createMultipartUpload(file.key).catch((error) => {
        throw storeError(this.options.name, store, `cannot start the multipart upload of ${file.key}`, error);
      });
    }
    const partNumber = file.parts.length + 1;
    const part = file.upload.then((upload) =>
      store.uploadPart(upload, partNumber, bytes).catch((error) => {
        throw storeError(this.options.name, store, `cannot upload part ${partNumber} (${bytes.length} bytes) of ${file.key}`, error);
      }),
    );
    part.catch((error) => (this.failure ??= error));
    file.parts.push(part);
  }

  /** Finishes a file: its last part goes out, and its committable follows once all parts are in. */
  private roll(bucket: string, file: OpenFile<T>): void {
    this.open.delete(bucket);
    file.encoder.finish();
    const last = file.encoder.take();
    if (last.length > 0 || file.parts.length === 0) this.uploadPart(file, last);
    const upload = file.upload!;
    const committable = (async (): Promise<S3FileCommittable> => {
      const { uploadId } = await upload;
      return { key: file.key, uploadId, parts: await Promise.all(file.parts) };
    })();
    committable.catch(() => {}); // reported through `failure` and when the barrier awaits it
    this.rolled.push({ key: file.key, upload, committable });
  }

  /**
   * Rolls every open file synchronously — records written after the barrier go to new files —
   * and returns the committables of all files rolled since the last barrier once their parts are in.
   */
  prepareCommit(): Promise<S3FileCommittable[] | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    for (const [bucket, file] of [...this.open]) this.roll(bucket, file);
    const files = this.rolled;
    this.rolled = [];
    if (files.length === 0) return Promise.resolve(undefined);
    return Promise.all(files.map((f) => f.committable));
  }

  snapshotState(): S3FileSinkWriterState {
    return { nextPartIndex: this.nextPartIndex };
  }

  /**
   * Completes each file's upload. Idempotent: the store accepts completing an upload whose object
   * exists. A job that a later one has taken the path from stops here, before its files become
   * visible among the later job's.
   */
  async commit(committables: readonly unknown[]): Promise<void> {
    const files = committedFiles(committables, this.options.name);
    await this.claims.checkStillOwner();
    for (let i = 0; i < files.length; i += COMMIT_CONCURRENCY) {
      await Promise.all(
        files.slice(i, i + COMMIT_CONCURRENCY).map(async (file) => {
          try {
            await this.store.completeMultipartUpload({ key: file.key, uploadId: file.uploadId }, file.parts);
          } catch (error) {
            throw storeError(this.options.name, this.store, `cannot complete the upload of ${file.key} (upload ${file.uploadId})`, error);
          }
        }),
      );
    }
  }

  /**
   * Aborts the uploads of files no checkpoint refers to (open, or rolled since the last barrier):
   * their records are replayed from the last checkpoint. Files handed to a checkpoint stay for
   * its commit (here or after a restore). Best effort: abortLeftovers of the next attempt catches the rest.
   */
  async close(): Promise<void> {
    const unreferenced: Array<Promise<MultipartUpload> | undefined> = [...this.open.values()].map((f) => f.upload);
    for (const f of this.rolled) unreferenced.push(f.upload);
    this.open.clear();
    this.rolled = [];
    await Promise.all(
      unreferenced.map(async (upload) => {
        if (!upload) return;
        try {
          await this.store.abortMultipartUpload(await upload);
        } catch {
          // The upload never started, or the store is unreachable: nothing visible either way.
        }
      }),
    );
    await this.lease.release();
  }
}
