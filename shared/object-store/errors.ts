// The errors every ObjectStore throws for the two outcomes callers act on: a conditional put that
// found the key taken, and a get of a key that does not exist. Both name the store and the key.
// Other failures are ExternalSystemError (retriable when the system may answer differently later).

import { ExternalSystemError, SluiceError } from '../errors.ts';

/** A put with `ifNoneMatch` refused because the key exists: another writer won. Not retriable. */
export class ObjectExistsError extends ExternalSystemError {
  constructor(readonly location: string, readonly key: string, options?: { cause?: unknown }) {
    super(`object store ${location}: "${key}" already exists (a put with ifNoneMatch refuses to overwrite)`, {
      ...options,
      retriable: false,
    });
  }
}

/** The key (or, for a multipart upload, its upload) does not exist. Not retriable. */
export class ObjectNotFoundError extends ExternalSystemError {
  constructor(readonly location: string, readonly key: string, detail = 'no such object', options?: { cause?: unknown }) {
    super(`object store ${location}: "${key}": ${detail}`, { ...options, retriable: false });
  }
}

/** A key the store cannot hold (empty, absolute, `..`, reserved): the caller's mistake. */
export class InvalidObjectKeyError extends SluiceError {
  override readonly domain = 'user' as const;
  constructor(readonly location: string, readonly key: string, reason: string) {
    super(`object store ${location}: invalid key "${key}": ${reason}`);
  }
}

/** A multipart upload the store refuses to complete (parts missing, out of order, too small). */
export class InvalidMultipartUploadError extends ExternalSystemError {
  constructor(readonly location: string, readonly key: string, reason: string, options?: { cause?: unknown }) {
    super(`object store ${location}: cannot complete the multipart upload of "${key}": ${reason}`, {
      ...options,
      retriable: false,
    });
  }
}
