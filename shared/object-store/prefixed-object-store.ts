// A view of another ObjectStore under a key prefix: `put('a')` is the inner store's
// `put('<prefix>/a')`, and what the inner store lists comes back without the prefix. Many
// locations in one bucket (a job's checkpoints, each snapshot) then share one store and its
// connections instead of opening one each.

import { ObjectExistsError, ObjectNotFoundError } from './errors.ts';
import type { MultipartUpload, ObjectInfo, ObjectStore, PutOptions, UploadedPart } from './object-store.ts';

export class PrefixedObjectStore implements ObjectStore {
  readonly location: string;
  private readonly prefix: string;

  /** `prefix` without leading or trailing `/`; '' is the inner store itself. */
  constructor(private readonly inner: ObjectStore, prefix: string) {
    const clean = prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = clean === '' ? '' : `${clean}/`;
    this.location = clean === '' ? inner.location : `${inner.location.replace(/\/+$/, '')}/${clean}`;
  }

  private inside(key: string): string {
    return this.prefix + key;
  }

  private outside(key: string): string {
    return key.slice(this.prefix.length);
  }

  private upload(upload: MultipartUpload): MultipartUpload {
    return { key: this.inside(upload.key), uploadId: upload.uploadId };
  }

  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(this.inside(key), bytes, options).catch((error: unknown) => this.rethrow(error, key));
  }

  get(key: string): Promise<Uint8Array> {
    return this.inner.get(this.inside(key)).catch((error: unknown) => this.rethrow(error, key));
  }

  /** The errors callers act on, naming this view's location and key rather than the inner store's. */
  private rethrow(error: unknown, key: string): never {
    if (error instanceof ObjectNotFoundError) throw new ObjectNotFoundError(this.location, key, 'no such object', { cause: error });
    if (error instanceof ObjectExistsError) throw new ObjectExistsError(this.location, key, { cause: error });
    throw error;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.inner.head(this.inside(key));
    return info && { ...info, key };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.inner.list(this.inside(prefix))).map((o) => ({ ...o, key: this.outside(o.key) }));
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.inner.delete(keys.map((k) => this.inside(k)));
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    const upload = await this.inner.createMultipartUpload(this.inside(key));
    return { key, uploadId: upload.uploadId };
  }

  uploadPart(upload: MultipartUpload, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    return this.inner.uploadPart(this.upload(upload), partNumber, bytes);
  }

  completeMultipartUpload(upload: MultipartUpload, parts: readonly UploadedPart[]): Promise<void> {
    return this.inner.completeMultipartUpload(this.upload(upload), parts);
  }

  abortMultipartUpload(upload: MultipartUpload): Promise<void> {
    return this.inner.abortMultipartUpload(this.upload(upload));
  }

  async listMultipartUploads(prefix: string): Promise<MultipartUpload[]> {
    return (await this.inner.listMultipartUploads(this.inside(prefix))).map((u) => ({ key: this.outside(u.key), uploadId: u.uploadId }));
  }

  /** The inner store is shared: closing a view leaves it open. */
  async close(): Promise<void> {}
}
