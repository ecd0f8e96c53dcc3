// An ObjectStore on S3 or any S3-compatible store (`s3://bucket/prefix`), on @aws-sdk/client-s3.
//   - Conditional puts send `If-None-Match: *`; S3's 412 becomes ObjectExistsError. A 412 seen only
//     after the SDK retried (the first attempt may have written and lost its answer) is checked:
//     when the object holds exactly our bytes, the put succeeded.
//   - Throttling, 5xx and network errors are retried by the SDK's standard strategy (exponential
//     backoff with jitter, `maxAttempts` in all); what still fails is an ExternalSystemError naming
//     the store and the key, retriable when the store may answer differently later.
//   - Beyond the ObjectStore interface (a local folder has no object versions): `putReturningVersion`
//     answers the VersionId a versioned bucket gave the object, and `get` can read one exact version.
//   - Completing an upload S3 no longer knows (NoSuchUpload: completed before, and this is a
//     replayed commit) succeeds when the object exists. A complete that fails otherwise asks
//     ListParts whether the upload is gone before deciding: some servers (moto) answer a gone
//     upload with a 500, and a 5xx may hide a completion that happened.

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { MultipartUpload, ObjectInfo, ObjectStore, PutOptions, UploadedPart } from './object-store.ts';
import { InvalidMultipartUploadError, ObjectExistsError, ObjectNotFoundError } from './errors.ts';
import { checkObjectKey, compareObjectKeys } from './object-keys.ts';
import { ConfigurationError, ExternalSystemError } from '../errors.ts';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Keys are stored under `<prefix>/`. Default: the bucket's root. */
  readonly prefix?: string;
  /** An S3-compatible endpoint (`http://127.0.0.1:19000`); AWS's own when absent. */
  readonly endpoint?: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default: the AWS SDK's credential chain (environment, profile, instance role…). */
  readonly credentials?: S3Credentials;
  /** `endpoint/bucket/key` URLs instead of `bucket.endpoint/key`; default true when `endpoint` is set. */
  readonly forcePathStyle?: boolean;
  /** Attempts per request, the first included (SDK standard retry strategy). Default 5. */
  readonly maxAttempts?: number;
  /** Default 5000. */
  readonly connectionTimeoutMs?: number;
  /** No bytes for this long fails the attempt (then retried). Default 60000. */
  readonly requestTimeoutMs?: number;
}

/** What a put on S3 answered: the new object's version when the bucket is versioned. */
export interface S3PutResult {
  readonly versionId: string | undefined;
}

export interface S3GetOptions {
  /** Read this version of the object (S3 VersionId), not the latest. */
  readonly versionId?: string;
}

/** S3's limit on keys per DeleteObjects request. */
const DELETE_BATCH_KEYS = 1000;
const DEFAULT_MAX_ATTEMPTS = 5;
/** A conditional put that met a concurrent one (409 ConditionalRequestConflict) is sent again this often. */
const CONDITIONAL_CONFLICT_ATTEMPTS = 3;
const THROTTLING_ERROR_NAMES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'TooManyRequestsException', 'RequestTimeout', 'TimeoutError']);
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  /** '' or ends with '/'. */
  private readonly keyPrefix: string;
  private readonly client: S3Client;

  constructor(options: S3ObjectStoreOptions) {
    if (typeof options.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new ConfigurationError('bucket', `"${String(options.bucket)}" is not an S3 bucket name (3-63 of a-z, 0-9, '.', '-')`);
    }
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new ConfigurationError('maxAttempts', `must be an integer of at least 1, got ${String(maxAttempts)}`);
    }
    if (options.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(options.endpoint)) {
      throw new ConfigurationError('endpoint', `"${options.endpoint}" is not an http:// or https:// URL`);
    }
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.bucket = options.bucket;
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.location = `s3://${options.bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      region: options.region ?? 'us-east-1',
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      maxAttempts,
      retryMode: 'standard',
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.connectionTimeoutMs ?? 5000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
      }),
    });
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<void> {
    await this.putReturningVersion(key, bytes, options);
  }

  /** `put`, answering the VersionId a versioned bucket gave the object (undefined otherwise). */
  async putReturningVersion(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<S3PutResult> {
    checkObjectKey(this.location, key);
    const ifNoneMatch = options.ifNoneMatch === true;
    for (let attempt = 1; ; attempt++) {
      try {
        const output = await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key), Body: bytes, ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}) }),
        );
        return { versionId: output.VersionId };
      } catch (error) {
        if (ifNoneMatch && isPreconditionFailed(error)) {
          if (attemptsOf(error) > 1 && (await this.holdsExactly(key, bytes))) return { versionId: undefined };
          throw new ObjectExistsError(this.location, key, { cause: error });
        }
        if (ifNoneMatch && isConditionalConflict(error) && attempt < CONDITIONAL_CONFLICT_ATTEMPTS) continue;
        throw this.failure('put', key, error);
      }
    }
  }

  async get(key: string, options: S3GetOptions = {}): Promise<Uint8Array> {
    checkObjectKey(this.location, key);
    const versionId = options.versionId;
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key), ...(versionId === undefined ? {} : { VersionId: versionId }) }),
      );
      if (output.Body === undefined) return new Uint8Array();
      return await output.Body.transformToByteArray();
    } catch (error) {
      // S3 answers a version id it never issued with 400 InvalidArgument, not 404 NoSuchVersion.
      if (versionId !== undefined && (nameOf(error) === 'NoSuchVersion' || nameOf(error) === 'InvalidArgument')) {
        throw new ObjectNotFoundError(this.location, key, `no version "${versionId}"`, { cause: error });
      }
      if (isNotFound(error)) throw new ObjectNotFoundError(this.location, key, 'no such object', { cause: error });
      throw this.failure('get', key, error);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkObjectKey(this.location, key);
    try {
      const output = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
      return { key, size: output.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure('head', key, error);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.s3Key(prefix), ContinuationToken: continuationToken }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined) found.push({ key: object.Key.slice(this.keyPrefix.length), size: object.Size ?? 0 });
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken !== undefined);
    } catch (error) {
      throw this.failure('list', prefix, error);
    }
    // S3 returns UTF-8 byte order already; sorting keeps the contract with stores that do not.
    return found.sort((a, b) => compareObjectKeys(a.key, b.key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) checkObjectKey(this.location, key);
    for (let start = 0; start < keys.length; start += DELETE_BATCH_KEYS) {
      const batch = keys.slice(start, start + DELETE_BATCH_KEYS);
      let output;
      try {
        output = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.s3Key(key) })), Quiet: true },
          }),
        );
      } catch (error) {
        throw this.failure('delete', batch[0]!, error);
      }
      const failed = output.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new ExternalSystemError(
          `object store ${this.location}: delete failed for ${failed.length} of ${batch.length} keys, first "${(first.Key ?? '').slice(this.keyPrefix.length)}": ${first.Code} ${first.Message}`,
          { retriable: failed.every((e) => e.Code === 'InternalError' || e.Code === 'SlowDown' || e.Code === 'ServiceUnavailable') },
        );
      }
    }
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    checkObjectKey(this.location, key);
    try {
      const output = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.s3Key(key) }));
      if (output.UploadId === undefined) throw new Error('the answer has no UploadId');
      return { key, uploadId: output.UploadId };
    } catch (error) {
      throw this.failure('createMultipartUpload', key, error);
    }
  }

  async uploadPart(upload: MultipartUpload, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    checkObjectKey(this.location, upload.key);
    try {
      const output = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: this.s3Key(upload.key), UploadId: upload.uploadId, PartNumber: partNumber, Body: bytes }),
      );
      if (output.ETag === undefined) throw new Error('the answer has no ETag');
      return { partNumber, etag: output.ETag };
    } catch (error) {
      if (isNoSuchUpload(error)) {
        throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId}`, { cause: error });
      }
      throw this.failure(`uploadPart ${partNumber} of`, upload.key, error);
    }
  }

  async completeMultipartUpload(upload: MultipartUpload, parts: readonly UploadedPart[]): Promise<void> {
    checkObjectKey(this.location, upload.key);
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.s3Key(upload.key),
          UploadId: upload.uploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
        }),
      );
    } catch (error) {
      if (isInvalidParts(error)) {
        throw new InvalidMultipartUploadError(this.location, upload.key, `${nameOf(error)}: ${(error as Error).message}`, { cause: error });
      }
      // Some servers answer a gone upload with a 5xx (moto), and a 5xx may hide a completion that
      // happened: ask S3 whether the upload still exists before deciding.
      if (!isNoSuchUpload(error) && (await this.uploadExists(upload))) throw this.failure('completeMultipartUpload', upload.key, error);
      // Completed before (a replayed commit, or a retry whose first attempt succeeded) when the object is there.
      if ((await this.head(upload.key)) !== undefined) return;
      throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId} and no object`, { cause: error });
    }
  }

  async abortMultipartUpload(upload: MultipartUpload): Promise<void> {
    checkObjectKey(this.location, upload.key);
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.s3Key(upload.key), UploadId: upload.uploadId }));
    } catch (error) {
      if (isNoSuchUpload(error)) return;
      throw this.failure('abortMultipartUpload', upload.key, error);
    }
  }

  async listMultipartUploads(prefix: string): Promise<MultipartUpload[]> {
    const found: MultipartUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.s3Key(prefix), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const upload of page.Uploads ?? []) {
          if (upload.Key !== undefined && upload.UploadId !== undefined) {
            found.push({ key: upload.Key.slice(this.keyPrefix.length), uploadId: upload.UploadId });
          }
        }
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (error) {
      throw this.failure('listMultipartUploads', prefix, error);
    }
    return found.sort((a, b) => compareObjectKeys(a.key, b.key) || compareObjectKeys(a.uploadId, b.uploadId));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** False only when S3 says the upload is gone (NoSuchUpload); true when it cannot tell. */
  private async uploadExists(upload: MultipartUpload): Promise<boolean> {
    try {
      await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: this.s3Key(upload.key), UploadId: upload.uploadId, MaxParts: 1 }));
      return true;
    } catch (error) {
      return !isNoSuchUpload(error);
    }
  }

  private s3Key(key: string): string {
    return this.keyPrefix + key;
  }

  /** Whether the object under `key` has exactly `bytes` (a retried put that had written them). */
  private async holdsExactly(key: string, bytes: Uint8Array): Promise<boolean> {
    try {
      return Buffer.from(await this.get(key)).equals(bytes);
    } catch {
      return false;
    }
  }

  private failure(operation: string, key: string, error: unknown): ExternalSystemError {
    if (error instanceof ExternalSystemError) return error;
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const status = statusOf(error);
    const attempts = attemptsOf(error);
    return new ExternalSystemError(
      `object store ${this.location}: ${operation} "${key}" failed` +
        `${status === undefined ? '' : ` with HTTP ${status}`} (${name}: ${message})` +
        `${attempts > 1 ? ` after ${attempts} attempts` : ''}`,
      { cause: error, retriable: isRetriable(error) },
    );
  }
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

function attemptsOf(error: unknown): number {
  return (error as SdkErrorShape | undefined)?.$metadata?.attempts ?? 1;
}

function nameOf(error: unknown): string | undefined {
  return (error as SdkErrorShape | undefined)?.name;
}

function isNotFound(error: unknown): boolean {
  return nameOf(error) === 'NoSuchKey' || nameOf(error) === 'NotFound' || statusOf(error) === 404;
}

function isNoSuchUpload(error: unknown): boolean {
  return nameOf(error) === 'NoSuchUpload';
}

/** S3 refused the parts list: a wrong ETag, a missing part, a part too small, parts out of order. */
function isInvalidParts(error: unknown): boolean {
  const name = nameOf(error);
  return name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall';
}

function isPreconditionFailed(error: unknown): boolean {
  return nameOf(error) === 'PreconditionFailed' || statusOf(error) === 412;
}

function isConditionalConflict(error: unknown): boolean {
  return nameOf(error) === 'ConditionalRequestConflict' || statusOf(error) === 409;
}

function isRetriable(error: unknown): boolean {
  const shape = error as SdkErrorShape | undefined;
  const status = statusOf(error);
  if (shape?.$retryable !== undefined) return true;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (shape?.name !== undefined && THROTTLING_ERROR_NAMES.has(shape.name)) return true;
  return shape?.code !== undefined && NETWORK_ERROR_CODES.has(shape.code);
}
