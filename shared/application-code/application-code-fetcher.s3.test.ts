// The fetcher on a real S3-compatible store (scripts/services.sh start s3), in a versioned bucket:
// exact versions, one download for concurrent fetches, and the errors a worker reports.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeApplicationArchive } from './application-archive.ts';
import { ApplicationCodeFetcher } from './application-code-fetcher.ts';
import type { S3CodeLocation } from './code-location.ts';
import { ApplicationCodeError } from './errors.ts';
import { S3ObjectStore } from '../object-store/index.ts';
import { CountingArchiveReader } from '../testing/counting-archive-reader.ts';
import { createTestBucket, requireS3, type S3TestService, type TestBucket } from '../testing/s3-service.ts';

const TEST_TIMEOUT_MS = 60_000;
let service: S3TestService;
let bucket: TestBucket;
let store: S3ObjectStore;
let cacheRoot: string;

before(async () => {
  service = await requireS3();
  bucket = await createTestBucket(service, 'application-code', { versioned: true });
  store = new S3ObjectStore({ bucket: bucket.name, endpoint: service.endpoint, region: service.region, credentials: service.credentials });
  cacheRoot = await fs.mkdtemp(join(tmpdir(), 'sluice-code-fetch-s3-test-'));
});
after(async () => {
  await store?.close();
  await bucket?.remove();
  if (cacheRoot) await fs.rm(cacheRoot, { recursive: true, force: true });
});

let fetchers = 0;
function openFetcher(): { fetcher: ApplicationCodeFetcher; reader: CountingArchiveReader } {
  const reader = new CountingArchiveReader(service);
  return { reader, fetcher: new ApplicationCodeFetcher({ cacheDirectory: join(cacheRoot, `cache-${++fetchers}`), reader }) };
}

async function upload(key: string, body: string): Promise<S3CodeLocation> {
  const { bytes } = writeApplicationArchive({ bundle: new TextEncoder().encode(body), entry: 'app.mjs', source: 'app.ts' });
  const { versionId } = await store.putReturningVersion(key, bytes);
  assert.ok(versionId, 'the bucket is versioned');
  return { bucket: bucket.name, key, objectVersion: versionId };
}

describe('application code fetcher on S3', { timeout: TEST_TIMEOUT_MS }, () => {
  test('each version is fetched exactly; concurrent fetches of one version download it once', async () => {
    const v1 = await upload('apps/app.zip', 'export default () => 1;\n');
    const v2 = await upload('apps/app.zip', 'export default () => 2;\n');
    const { fetcher, reader } = openFetcher();
    try {
      const [a, b, c] = await Promise.all([fetcher.fetch(v1), fetcher.fetch(v1), fetcher.fetch(v1)]);
      assert.equal(reader.reads, 1);
      assert.equal(a.entryPath, b.entryPath);
      assert.equal(b.entryPath, c.entryPath);
      assert.equal(await fs.readFile(a.entryPath, 'utf8'), 'export default () => 1;\n');
      assert.equal(await fs.readFile((await fetcher.fetch(v2)).entryPath, 'utf8'), 'export default () => 2;\n');
      assert.equal((await fetcher.fetch(v1)).fromCache, true);
      assert.equal(reader.reads, 2);
    } finally {
      await fetcher.close();
    }
  });

  test('a corrupt object names its location', async () => {
    const { versionId } = await store.putReturningVersion('apps/corrupt.zip', new TextEncoder().encode('PK\u0003\u0004 not really a zip'));
    const { fetcher } = openFetcher();
    try {
      await assert.rejects(fetcher.fetch({ bucket: bucket.name, key: 'apps/corrupt.zip', objectVersion: versionId! }), (error: unknown) => {
        assert.ok(error instanceof ApplicationCodeError);
        assert.match(error.message, new RegExp(`^application code s3://${bucket.name}/apps/corrupt\\.zip \\(version ${versionId}\\): not a readable zip archive`));
        return true;
      });
    } finally {
      await fetcher.close();
    }
  });

  test('a missing object or version names its location', async () => {
    const present = await upload('apps/present.zip', 'export default () => {};\n');
    const { fetcher } = openFetcher();
    try {
      await assert.rejects(fetcher.fetch({ bucket: bucket.name, key: 'no/such.zip' }), (error: unknown) => {
        assert.ok(error instanceof ApplicationCodeError);
        assert.equal(error.message, `application code s3://${bucket.name}/no/such.zip: no such object; upload it with \`sluice package --upload\``);
        return true;
      });
      await assert.rejects(
        fetcher.fetch({ ...present, objectVersion: 'no-such-version' }),
        new RegExp(`^ApplicationCodeError: application code s3://${bucket.name}/apps/present\\.zip \\(version no-such-version\\): no such object or object version`),
      );
    } finally {
      await fetcher.close();
    }
  });
});
