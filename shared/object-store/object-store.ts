// Where durable bytes go: checkpoints, snapshots, and the files the S3 sink writes. One interface
// with three implementations that pass one contract suite (object-store.contract.ts): S3 (any
// S3-compatible store), a local directory (the embedded default) and memory (unit tests).
// Keys are `/`-separated paths relative to the store's root (`s3://bucket/prefix` or a folder).

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface PutOptions {
  /**
   * Refuse to overwrite: the put fails with ObjectExistsError when the key exists (S3's
   * `If-None-Match: *`, a hard link on a local disk). Exactly one of two racing writers wins.
   */
  readonly ifNoneMatch?: boolean;
}

/** An upload made of parts, visible under its key only once completed (S3 multipart upload). */
export interface MultipartUpload {
  readonly key: string;
  /** Identifies the upload so another process can complete or abort it after a restore. */
  readonly uploadId: string;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export interface ObjectStore {
  /** `s3://bucket/prefix` or `file:///dir` or `memory://name`: for logs and error messages. */
  readonly location: string;
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void>;
  /** The object's bytes; ObjectNotFoundError naming the key if it does not exist. */
  get(key: string): Promise<Uint8Array>;
  /** Undefined when the key does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deleting a key that does not exist is not an error. */
  delete(keys: readonly string[]): Promise<void>;

  createMultipartUpload(key: string): Promise<MultipartUpload>;
  /** Parts are numbered from 1; all but the last must be at least 5 MiB on S3. */
  uploadPart(upload: MultipartUpload, partNumber: number, bytes: Uint8Array): Promise<UploadedPart>;
  /**
   * Makes the object visible. Completing an upload that was completed already (recovery replays
   * a commit) succeeds when the object exists; it never writes the object twice.
   */
  completeMultipartUpload(upload: MultipartUpload, parts: readonly UploadedPart[]): Promise<void>;
  /** Aborting an upload that no longer exists is not an error. */
  abortMultipartUpload(upload: MultipartUpload): Promise<void>;
  /** Uploads started under `prefix` and neither completed nor aborted. */
  listMultipartUploads(prefix: string): Promise<MultipartUpload[]>;

  close(): Promise<void>;
}
