// Reads application archives from the buckets they were uploaded to. One interface so the fetcher
// can be tested on a reader that counts and holds reads; S3ApplicationArchiveReader is the real
// one, on the repository's S3 store (endpoint, region and credentials as createObjectStore reads
// them: SLUICE_S3_*, then the AWS settings).

import { createObjectStore, S3ObjectStore } from '../object-store/index.ts';
import type { S3CodeLocation } from './code-location.ts';

export interface ApplicationArchiveReader {
  /** The object's bytes, that exact version when the location names one; ObjectNotFoundError when absent. */
  read(location: S3CodeLocation): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface S3ApplicationArchiveReaderOptions {
  /** Where the S3 settings are read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

export class S3ApplicationArchiveReader implements ApplicationArchiveReader {
  /** One store (one S3 client) per bucket. */
  private readonly stores = new Map<string, S3ObjectStore>();

  constructor(private readonly options: S3ApplicationArchiveReaderOptions = {}) {}

  async read(location: S3CodeLocation): Promise<Uint8Array> {
    return this.storeOf(location.bucket).get(location.key, location.objectVersion === undefined ? {} : { versionId: location.objectVersion });
  }

  async close(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map((store) => store.close()));
  }

  private storeOf(bucket: string): S3ObjectStore {
    let store = this.stores.get(bucket);
    if (store === undefined) {
      const opened = createObjectStore(`s3://${bucket}`, { field: 'application code bucket', ...(this.options.env ? { env: this.options.env } : {}) });
      if (!(opened instanceof S3ObjectStore)) throw new Error(`s3://${bucket} did not open an S3 store`);
      store = opened;
      this.stores.set(bucket, store);
    }
    return store;
  }
}
