// The error a failed object store call of the S3 file sink becomes: it names the sink, what it
// was doing, the store and the setting (`path`), and says the call may be retried.

import { ExternalSystemError } from '../../../shared/errors.ts';
import type { ObjectStore } from '../../../shared/object-store/object-store.ts';

export function storeError(sinkName: string, store: ObjectStore, what: string, error: unknown): ExternalSystemError {
  return new ExternalSystemError(`${sinkName}: ${what} in ${store.location} (setting path): ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
    retriable: true,
  });
}
