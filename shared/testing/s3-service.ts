// Where the S3-compatible store of the `*.s3.test.ts` tests is (scripts/services.d/s3.sh), a check
// that it answers, and a fresh bucket per test run. A missing store fails the test with the command
// that starts it: never a skip.

import { randomBytes } from 'node:crypto';
import { AbortMultipartUploadCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListBucketsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const DEFAULT_S3_ENDPOINT = 'http://127.0.0.1:19000';
const HEALTH_TIMEOUT_MS = 3000;

export interface S3TestService {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** SLUICE_S3_ENDPOINT / _REGION / _ACCESS_KEY_ID / _SECRET_ACCESS_KEY, with the defaults of scripts/services.d/s3.sh. */
export function s3TestService(): S3TestService {
  return {
    endpoint: process.env.SLUICE_S3_ENDPOINT || DEFAULT_S3_ENDPOINT,
    region: process.env.SLUICE_S3_REGION || 'us-east-1',
    credentials: {
      accessKeyId: process.env.SLUICE_S3_ACCESS_KEY_ID || 'sluice-test',
      secretAccessKey: process.env.SLUICE_S3_SECRET_ACCESS_KEY || 'sluice-test-secret',
    },
  };
}

/** The SLUICE_S3_* variables that point code reading its settings from the environment at `service`. */
export function s3ServiceEnv(service: S3TestService): NodeJS.ProcessEnv {
  return {
    SLUICE_S3_ENDPOINT: service.endpoint,
    SLUICE_S3_REGION: service.region,
    SLUICE_S3_ACCESS_KEY_ID: service.credentials.accessKeyId,
    SLUICE_S3_SECRET_ACCESS_KEY: service.credentials.secretAccessKey,
  };
}

/** A client for test set-up and checks (path-style, one attempt, short timeouts). */
export function s3TestClient(service: S3TestService, maxAttempts = 1): S3Client {
  return new S3Client({
    endpoint: service.endpoint,
    region: service.region,
    credentials: service.credentials,
    forcePathStyle: true,
    maxAttempts,
    requestHandler: new NodeHttpHandler({ connectionTimeout: HEALTH_TIMEOUT_MS, requestTimeout: 30_000 }),
  });
}

/** The S3 service, once it answers ListBuckets; an Error saying how to start it otherwise. */
export async function requireS3(): Promise<S3TestService> {
  const service = s3TestService();
  const client = s3TestClient(service);
  try {
    await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    return service;
  } catch (error) {
    throw new Error(
      `S3 is missing: no S3-compatible store answers at ${service.endpoint} (SLUICE_S3_ENDPOINT; ` +
        `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}). ` +
        'Start it with `scripts/services.sh start s3` (or run `npm test`, which starts it).',
    );
  } finally {
    client.destroy();
  }
}

export interface TestBucket {
  readonly name: string;
  /** Deletes every object (every version of it) and open upload, then the bucket. */
  remove(): Promise<void>;
}

/** Creates a bucket no other test uses: `sluice-<label>-<time>-<random>`; `versioned` keeps every version of an object. */
export async function createTestBucket(service: S3TestService, label: string, options: { readonly versioned?: boolean } = {}): Promise<TestBucket> {
  const cleanLabel = label.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30) || 'test';
  const name = `sluice-${cleanLabel}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const client = s3TestClient(service, 3);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
    if (options.versioned) await client.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
  } finally {
    client.destroy();
  }
  return { name, remove: () => emptyAndDeleteBucket(service, name) };
}

async function emptyAndDeleteBucket(service: S3TestService, bucket: string): Promise<void> {
  const client = s3TestClient(service, 3);
  try {
    for (let page = 0; page < 10_000; page++) {
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      for (const upload of uploads.Uploads ?? []) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
      }
      if (!uploads.IsTruncated) break;
    }
    for (let page = 0; page < 10_000; page++) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    // A versioned bucket keeps every version and delete marker; each must go before the bucket can.
    for (let page = 0; page < 10_000; page++) {
      const listed = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      const versions = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key, VersionId: v.VersionId }));
      if (versions.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: versions, Quiet: true } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
