// The ObjectStore contract on a real S3-compatible server (scripts/services.sh start s3), in a
// fresh bucket per run, plus the S3 store's retries, shown through a loopback HTTP proxy in front
// of the server that fails or cuts chosen requests and counts them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeObjectStoreContract } from './object-store.contract.ts';
import { createObjectStore, ObjectExistsError, ObjectNotFoundError, S3ObjectStore } from './index.ts';
import { ExternalSystemError } from '../errors.ts';
import { PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { createTestBucket, requireS3, s3TestClient, type S3TestService, type TestBucket } from '../testing/s3-service.ts';

const TEST_TIMEOUT_MS = 120_000;
let service: S3TestService;
let bucket: TestBucket;
let stores = 0;

before(async () => {
  service = await requireS3();
  bucket = await createTestBucket(service, 'object-store');
});
after(async () => {
  await bucket?.remove();
});

/** A store on its own prefix of the run's bucket, so each test starts empty. */
function openStore(options: { endpoint?: string; maxAttempts?: number } = {}): S3ObjectStore {
  return new S3ObjectStore({
    bucket: bucket.name,
    prefix: `test-${++stores}`,
    endpoint: options.endpoint ?? service.endpoint,
    region: service.region,
    credentials: service.credentials,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

describeObjectStoreContract('S3', async () => openStore(), { timeoutMs: TEST_TIMEOUT_MS });

type ProxyAction = 'forward' | 'fail-503' | 'forward-then-cut';

/** A loopback proxy to the S3 server; `decide` picks what happens to each request, in arrival order. */
class FaultyS3Proxy {
  readonly counts: Record<ProxyAction, number> = { forward: 0, 'fail-503': 0, 'forward-then-cut': 0 };
  private readonly server: Server;

  private constructor(private readonly upstream: URL, private readonly decide: (request: IncomingMessage, index: number) => ProxyAction) {
    let index = 0;
    this.server = createServer((request, response) => {
      const action = this.decide(request, index++);
      this.counts[action]++;
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (action === 'fail-503') {
          response.writeHead(503, { 'content-type': 'application/xml' });
          response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
          return;
        }
        const forwarded = httpRequest(
          { host: this.upstream.hostname, port: this.upstream.port, method: request.method, path: request.url, headers: request.headers, agent: false },
          (upstreamResponse) => {
            const body: Buffer[] = [];
            upstreamResponse.on('data', (chunk: Buffer) => body.push(chunk));
            upstreamResponse.on('end', () => {
              // The server did the work; the client never hears of it.
              if (action === 'forward-then-cut') return void request.socket.destroy();
              response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
              response.end(Buffer.concat(body));
            });
          },
        );
        forwarded.on('error', () => request.socket.destroy());
        forwarded.end(Buffer.concat(chunks));
      });
    });
  }

  static async start(upstream: string, decide: (request: IncomingMessage, index: number) => ProxyAction): Promise<FaultyS3Proxy> {
    const proxy = new FaultyS3Proxy(new URL(upstream), decide);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const text = (value: string) => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('S3ObjectStore retries', () => {
  test('a put retries through 503 SlowDown answers and succeeds', { timeout: TEST_TIMEOUT_MS }, async () => {
    const proxy = await FaultyS3Proxy.start(service.endpoint, (_request, index) => (index < 3 ? 'fail-503' : 'forward'));
    const store = openStore({ endpoint: proxy.endpoint, maxAttempts: 4 });
    try {
      await store.put('retried/object', text('made it'));
      assert.equal(proxy.counts['fail-503'], 3, 'three attempts met a 503');
      assert.equal(proxy.counts.forward, 1, 'the fourth reached the server');
      assert.equal(decode(await store.get('retried/object')), 'made it');
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('when the attempts run out the error names the store and the key and is retriable', { timeout: TEST_TIMEOUT_MS }, async () => {
    const proxy = await FaultyS3Proxy.start(service.endpoint, () => 'fail-503');
    const store = openStore({ endpoint: proxy.endpoint, maxAttempts: 2 });
    try {
      await assert.rejects(store.put('doomed/object', text('never')), (error: unknown) => {
        assert.ok(error instanceof ExternalSystemError, `got ${String(error)}`);
        assert.ok(error.message.includes(store.location), error.message);
        assert.match(error.message, /"doomed\/object"/);
        assert.match(error.message, /HTTP 503/);
        assert.match(error.message, /after 2 attempts/);
        assert.equal(error.retriable, true);
        return true;
      });
      assert.equal(proxy.counts['fail-503'], 2);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('a conditional put whose answer was lost succeeds on retry when the object holds its bytes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const cutFirstPut = (request: IncomingMessage, index: number): ProxyAction =>
      index === 0 && request.method === 'PUT' ? 'forward-then-cut' : 'forward';
    const proxy = await FaultyS3Proxy.start(service.endpoint, cutFirstPut);
    const store = openStore({ endpoint: proxy.endpoint, maxAttempts: 3 });
    try {
      await store.put('lost-answer/metadata', text('checkpoint 7'), { ifNoneMatch: true });
      assert.equal(proxy.counts['forward-then-cut'], 1, 'the first attempt wrote and lost its answer');
      assert.equal(decode(await store.get('lost-answer/metadata')), 'checkpoint 7');
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('a conditional put that loses its answer to a key holding other bytes still fails', { timeout: TEST_TIMEOUT_MS }, async () => {
    let puts = 0;
    const proxy = await FaultyS3Proxy.start(service.endpoint, (request) =>
      request.method === 'PUT' && ++puts === 2 ? 'forward-then-cut' : 'forward',
    );
    const store = openStore({ endpoint: proxy.endpoint, maxAttempts: 3 });
    try {
      await store.put('taken/metadata', text('the winner'), { ifNoneMatch: true });
      await assert.rejects(store.put('taken/metadata', text('the loser'), { ifNoneMatch: true }), ObjectExistsError);
      assert.equal(proxy.counts['forward-then-cut'], 1);
      assert.equal(decode(await store.get('taken/metadata')), 'the winner');
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('a complete whose answer was lost succeeds when retried', { timeout: TEST_TIMEOUT_MS }, async () => {
    const cutComplete = (request: IncomingMessage): ProxyAction =>
      request.method === 'POST' && /[?&]uploadId=/.test(request.url ?? '') && !cut++ ? 'forward-then-cut' : 'forward';
    let cut = 0;
    const proxy = await FaultyS3Proxy.start(service.endpoint, cutComplete);
    const store = openStore({ endpoint: proxy.endpoint, maxAttempts: 3 });
    try {
      const upload = await store.createMultipartUpload('lost-complete/object');
      const part = await store.uploadPart(upload, 1, text('one part'));
      await store.completeMultipartUpload(upload, [part]);
      assert.equal(proxy.counts['forward-then-cut'], 1, 'the first complete happened and lost its answer');
      assert.equal(decode(await store.get('lost-complete/object')), 'one part');
    } finally {
      await store.close();
      await proxy.stop();
    }
  });
});

describe('createObjectStore on S3', () => {
  test('reads the endpoint, region and credentials from SLUICE_S3_* variables', { timeout: TEST_TIMEOUT_MS }, async () => {
    const store = createObjectStore(`s3://${bucket.name}/from-env`, {
      env: {
        SLUICE_S3_ENDPOINT: service.endpoint,
        SLUICE_S3_REGION: service.region,
        SLUICE_S3_ACCESS_KEY_ID: service.credentials.accessKeyId,
        SLUICE_S3_SECRET_ACCESS_KEY: service.credentials.secretAccessKey,
      },
    });
    try {
      await store.put('k', text('v'));
      assert.deepEqual(await store.list(''), [{ key: 'k', size: 1 }]);
    } finally {
      await store.close();
    }
  });
});

describe('S3ObjectStore on a versioned bucket', () => {
  test('putReturningVersion answers the VersionId, and a get reads that exact version', { timeout: TEST_TIMEOUT_MS }, async () => {
    const versioned = await createTestBucket(service, 'object-store-versioned');
    const client = s3TestClient(service, 3);
    const store = new S3ObjectStore({ bucket: versioned.name, endpoint: service.endpoint, region: service.region, credentials: service.credentials });
    try {
      await client.send(new PutBucketVersioningCommand({ Bucket: versioned.name, VersioningConfiguration: { Status: 'Enabled' } }));
      const first = await store.putReturningVersion('app.zip', text('one'));
      const second = await store.putReturningVersion('app.zip', text('two'));
      assert.ok(first.versionId && second.versionId && first.versionId !== second.versionId, JSON.stringify([first, second]));
      assert.equal(new TextDecoder().decode(await store.get('app.zip')), 'two');
      assert.equal(new TextDecoder().decode(await store.get('app.zip', { versionId: first.versionId })), 'one');
      await assert.rejects(store.get('app.zip', { versionId: 'no-such-version' }), (error: unknown) => {
        assert.ok(error instanceof ObjectNotFoundError);
        assert.match(error.message, /"app\.zip": no version "no-such-version"/);
        return true;
      });
    } finally {
      await store.close();
      client.destroy();
      await versioned.remove();
    }
  });

  test('an unversioned bucket answers no VersionId', { timeout: TEST_TIMEOUT_MS }, async () => {
    const store = openStore();
    try {
      assert.deepEqual(await store.putReturningVersion('k', text('v')), { versionId: undefined });
    } finally {
      await store.close();
    }
  });
});
