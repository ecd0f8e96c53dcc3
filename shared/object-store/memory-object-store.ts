// An ObjectStore in this process's memory, for unit tests and the `memory://name` URL. Stores
// opened on the same MemoryObjectStoreData (the same `memory://name`) see the same objects, as two
// processes see one bucket. Follows S3's rules (key order, conditional puts, multipart part sizes)
// so a test that passes here exercises what S3 will check.

import { randomUUID } from 'node:crypto';
import type { MultipartUpload, ObjectInfo, ObjectStore, PutOptions, UploadedPart } from './object-store.ts';
import { ObjectExistsError, ObjectNotFoundError } from './errors.ts';
import { checkObjectKey, compareObjectKeys } from './object-keys.ts';
import { checkPartsForCompletion, isValidPartNumber, MIN_MULTIPART_PART_BYTES, partEtag, type StoredPart } from './multipart-parts.ts';
import { InvalidRequestError } from '../errors.ts';

interface PendingUpload {
  readonly key: string;
  readonly parts: Map<number, StoredPart & { readonly bytes: Uint8Array }>;
}

/** The objects and open uploads behind one or more MemoryObjectStores. */
export class MemoryObjectStoreData {
  readonly objects = new Map<string, Uint8Array>();
  readonly uploads = new Map<string, PendingUpload>();
}

export interface MemoryObjectStoreOptions {
  /** Shared with other stores to see the same objects; a fresh one by default. */
  readonly data?: MemoryObjectStoreData;
  /** `memory://<name>` in messages. Default 'memory'. */
  readonly name?: string;
  /** Minimum size of every multipart part but the last; S3's 5 MiB by default. */
  readonly minPartBytes?: number;
}

export class MemoryObjectStore implements ObjectStore {
  readonly location: string;
  readonly data: MemoryObjectStoreData;
  private readonly minPartBytes: number;

  constructor(options: MemoryObjectStoreOptions = {}) {
    this.data = options.data ?? new MemoryObjectStoreData();
    this.location = `memory://${options.name ?? 'memory'}`;
    this.minPartBytes = options.minPartBytes ?? MIN_MULTIPART_PART_BYTES;
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<void> {
    checkObjectKey(this.location, key);
    if (options.ifNoneMatch && this.data.objects.has(key)) throw new ObjectExistsError(this.location, key);
    this.data.objects.set(key, Uint8Array.from(bytes));
  }

  async get(key: string): Promise<Uint8Array> {
    checkObjectKey(this.location, key);
    const bytes = this.data.objects.get(key);
    if (bytes === undefined) throw new ObjectNotFoundError(this.location, key);
    return Uint8Array.from(bytes);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkObjectKey(this.location, key);
    const bytes = this.data.objects.get(key);
    return bytes === undefined ? undefined : { key, size: bytes.byteLength };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    for (const [key, bytes] of this.data.objects) {
      if (key.startsWith(prefix)) found.push({ key, size: bytes.byteLength });
    }
    return found.sort((a, b) => compareObjectKeys(a.key, b.key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) checkObjectKey(this.location, key);
    for (const key of keys) this.data.objects.delete(key);
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    checkObjectKey(this.location, key);
    const uploadId = randomUUID();
    this.data.uploads.set(uploadId, { key, parts: new Map() });
    return { key, uploadId };
  }

  async uploadPart(upload: MultipartUpload, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    if (!isValidPartNumber(partNumber)) {
      throw new InvalidRequestError(`object store ${this.location}: part number ${partNumber} of "${upload.key}" is not an integer from 1 to 10000`);
    }
    const pending = this.pendingUpload(upload);
    const copy = Uint8Array.from(bytes);
    const etag = partEtag(copy);
    pending.parts.set(partNumber, { bytes: copy, size: copy.byteLength, etag });
    return { partNumber, etag };
  }

  async completeMultipartUpload(upload: MultipartUpload, parts: readonly UploadedPart[]): Promise<void> {
    const pending = this.data.uploads.get(upload.uploadId);
    if (pending === undefined || pending.key !== upload.key) {
      // Completed already (a replayed commit) when the object is there; lost otherwise.
      if (this.data.objects.has(upload.key)) return;
      throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId} and no object`);
    }
    checkPartsForCompletion(this.location, upload.key, parts, pending.parts, this.minPartBytes);
    const chunks = parts.map((part) => pending.parts.get(part.partNumber)!.bytes);
    this.data.objects.set(upload.key, Buffer.concat(chunks));
    this.data.uploads.delete(upload.uploadId);
  }

  async abortMultipartUpload(upload: MultipartUpload): Promise<void> {
    const pending = this.data.uploads.get(upload.uploadId);
    if (pending !== undefined && pending.key === upload.key) this.data.uploads.delete(upload.uploadId);
  }

  async listMultipartUploads(prefix: string): Promise<MultipartUpload[]> {
    const found: MultipartUpload[] = [];
    for (const [uploadId, pending] of this.data.uploads) {
      if (pending.key.startsWith(prefix)) found.push({ key: pending.key, uploadId });
    }
    return found.sort((a, b) => compareObjectKeys(a.key, b.key) || compareObjectKeys(a.uploadId, b.uploadId));
  }

  async close(): Promise<void> {}

  private pendingUpload(upload: MultipartUpload): PendingUpload {
    const pending = this.data.uploads.get(upload.uploadId);
    if (pending === undefined || pending.key !== upload.key) {
      throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId}`);
    }
    return pending;
  }
}
