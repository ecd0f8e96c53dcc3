// A wrapper for fault tests: it passes calls to another ObjectStore and fails the ones chosen, with
// a retriable ExternalSystemError (InjectedObjectStoreFault), as a flaky S3 would. A fault is
// injected either before the call reaches the store (nothing happened) or after it succeeded (it
// happened, but the caller never heard: the case that idempotent commits exist for). It counts
// calls and injected failures per operation so a test can show the faults were met.

import type { MultipartUpload, ObjectInfo, ObjectStore, PutOptions, UploadedPart } from './object-store.ts';
import { ExternalSystemError } from '../errors.ts';

export type ObjectStoreOperation =
  | 'put'
  | 'get'
  | 'head'
  | 'list'
  | 'delete'
  | 'createMultipartUpload'
  | 'uploadPart'
  | 'completeMultipartUpload'
  | 'abortMultipartUpload'
  | 'listMultipartUploads';

/** `before`: the call never reaches the store. `after`: it does, then the answer is lost. */
export type FaultTiming = 'before' | 'after';

export class InjectedObjectStoreFault extends ExternalSystemError {
  constructor(readonly operation: ObjectStoreOperation, readonly key: string, readonly timing: FaultTiming, location: string) {
    super(`object store ${location}: ${operation} "${key}" failed: injected fault (${timing === 'after' ? 'done, answer lost' : 'not done'})`, {
      retriable: true,
    });
  }
}

interface FaultRule {
  readonly timing: FaultTiming;
  /** Fails the next `remaining` calls… */
  remaining: number;
  /** …or every `everyNth` call (counted from when the rule was set). */
  readonly everyNth: number;
  callsSeen: number;
}

export class FaultInjectingObjectStore implements ObjectStore {
  readonly location: string;
  private readonly rules = new Map<ObjectStoreOperation, FaultRule>();
  private readonly callCounts = new Map<ObjectStoreOperation, number>();
  private readonly failureCounts = new Map<ObjectStoreOperation, number>();

  constructor(readonly inner: ObjectStore) {
    this.location = inner.location;
  }

  /** Fails the next `count` calls of `operation`, then lets calls through again. */
  failNext(operation: ObjectStoreOperation, count = 1, timing: FaultTiming = 'before'): void {
    this.rules.set(operation, { timing, remaining: count, everyNth: 0, callsSeen: 0 });
  }

  /** Fails every `n`th call of `operation` (the n-th, 2n-th, …) until cleared. */
  failEvery(operation: ObjectStoreOperation, n: number, timing: FaultTiming = 'before'): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`failEvery: n must be an integer of at least 1, got ${n}`);
    this.rules.set(operation, { timing, remaining: 0, everyNth: n, callsSeen: 0 });
  }

  /** Stops injecting faults into `operation`, or into every operation. */
  clearFaults(operation?: ObjectStoreOperation): void {
    if (operation === undefined) this.rules.clear();
    else this.rules.delete(operation);
  }

  /** Calls made, injected failures included; of one operation or of all. */
  calls(operation?: ObjectStoreOperation): number {
    return sumOf(this.callCounts, operation);
  }

  /** Failures injected so far; of one operation or of all. */
  injectedFailures(operation?: ObjectStoreOperation): number {
    return sumOf(this.failureCounts, operation);
  }

  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    return this.call('put', key, () => this.inner.put(key, bytes, options));
  }

  get(key: string): Promise<Uint8Array> {
    return this.call('get', key, () => this.inner.get(key));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.call('head', key, () => this.inner.head(key));
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.call('list', prefix, () => this.inner.list(prefix));
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.call('delete', keys[0] ?? '', () => this.inner.delete(keys));
  }

  createMultipartUpload(key: string): Promise<MultipartUpload> {
    return this.call('createMultipartUpload', key, () => this.inner.createMultipartUpload(key));
  }

  uploadPart(upload: MultipartUpload, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    return this.call('uploadPart', upload.key, () => this.inner.uploadPart(upload, partNumber, bytes));
  }

  completeMultipartUpload(upload: MultipartUpload, parts: readonly UploadedPart[]): Promise<void> {
    return this.call('completeMultipartUpload', upload.key, () => this.inner.completeMultipartUpload(upload, parts));
  }

  abortMultipartUpload(upload: MultipartUpload): Promise<void> {
    return this.call('abortMultipartUpload', upload.key, () => this.inner.abortMultipartUpload(upload));
  }

  listMultipartUploads(prefix: string): Promise<MultipartUpload[]> {
    return this.call('listMultipartUploads', prefix, () => this.inner.listMultipartUploads(prefix));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async call<T>(operation: ObjectStoreOperation, key: string, run: () => Promise<T>): Promise<T> {
    this.callCounts.set(operation, (this.callCounts.get(operation) ?? 0) + 1);
    const timing = this.faultFor(operation);
    if (timing === 'before') throw this.injected(operation, key, timing);
    const result = await run();
    if (timing === 'after') throw this.injected(operation, key, timing);
    return result;
  }

  /** Whether this call fails, and when; consumes the rule's budget. */
  private faultFor(operation: ObjectStoreOperation): FaultTiming | undefined {
    const rule = this.rules.get(operation);
    if (rule === undefined) return undefined;
    rule.callsSeen++;
    if (rule.everyNth > 0) return rule.callsSeen % rule.everyNth === 0 ? rule.timing : undefined;
    if (rule.remaining <= 0) return undefined;
    rule.remaining--;
    return rule.timing;
  }

  private injected(operation: ObjectStoreOperation, key: string, timing: FaultTiming): InjectedObjectStoreFault {
    this.failureCounts.set(operation, (this.failureCounts.get(operation) ?? 0) + 1);
    return new InjectedObjectStoreFault(operation, key, timing, this.location);
  }
}

function sumOf(counts: ReadonlyMap<ObjectStoreOperation, number>, operation?: ObjectStoreOperation): number {
  if (operation !== undefined) return counts.get(operation) ?? 0;
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
}
