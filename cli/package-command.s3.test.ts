// `sluice package --upload` to the real S3 (moto, scripts/services.sh start s3), then the worker's
// path: fetch the exact object version into a cache folder outside the repository, load it with
// loadApplication (its bare 'sluice' imports resolve to this runtime) and run it embedded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { packageCommand, type PackageResult } from './package-command.ts';
import type { PackageOptions } from './package-options.ts';
import { committedLines, runEmbedded } from './testing/embedded-run.ts';
import {
  ApplicationCodeFetcher,
  installationRoot,
  S3ApplicationArchiveReader,
  type S3CodeLocation,
} from '../shared/application-code/index.ts';
import { CountingArchiveReader } from '../shared/testing/counting-archive-reader.ts';
import { createTestBucket, requireS3, s3ServiceEnv, type S3TestService, type TestBucket } from '../shared/testing/s3-service.ts';

const TEST_TIMEOUT_MS = 120_000;
/** Few enough Nexmark events for a quick run, with every window's auctions in the output. */
const HOT_ITEMS_PROPERTIES = ['hotItems.events=20000', 'hotItems.minBids=1'];

let service: S3TestService;
let versioned: TestBucket;
let unversioned: TestBucket;
const folders: string[] = [];

before(async () => {
  service = await requireS3();
  versioned = await createTestBucket(service, 'package-versioned', { versioned: true });
  unversioned = await createTestBucket(service, 'package-plain');
});
after(async () => {
  await versioned?.remove();
  await unversioned?.remove();
  for (const folder of folders) await fs.rm(folder, { recursive: true, force: true });
});

async function tempFolder(): Promise<string> {
  const folder = await fs.mkdtemp(join(tmpdir(), 'sluice-package-s3-test-'));
  folders.push(folder);
  return folder;
}

async function packageAndUpload(application: string, upload: S3CodeLocation, work: string): Promise<{ result: PackageResult; printed: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  err.resume();
  const options: PackageOptions = { application, output: join(work, 'app.zip'), upload, s3Endpoint: service.endpoint, s3Region: service.region };
  const result = await packageCommand(options, { out, err });
  return { result, printed: Buffer.concat(chunks).toString('utf8') };
}

describe('sluice package on S3', { timeout: TEST_TIMEOUT_MS }, () => {
  test('an uploaded example runs from the fetched object version, from the cache on the second fetch', async () => {
    const work = await tempFolder();
    const location = { bucket: versioned.name, key: 'applications/hot-items.zip' };
    const { result, printed } = await packageAndUpload('examples/hot-items.ts', location, work);
    const versionId = result.upload?.versionId;
    assert.ok(versionId, 'a versioned bucket gives the object a VersionId');
    assert.ok(printed.includes(`uploaded s3://${location.bucket}/${location.key}\n  version  ${versionId}\n`), printed);
    assert.ok(printed.includes(`sha256 ${result.archiveSha256}`), printed);

    // A second version under the same key: the first must still be what its version id fetches.
    const other = await packageAndUpload('cli/testing/relative-imports-app.ts', location, await tempFolder());
    assert.ok(other.result.upload?.versionId && other.result.upload.versionId !== versionId);

    const reader = new CountingArchiveReader(service);
    const fetcher = new ApplicationCodeFetcher({ cacheDirectory: join(work, 'code-cache'), reader });
    try {
      const code = await fetcher.fetch({ ...location, objectVersion: versionId }, { expectedArchiveSha256: result.archiveSha256 });
      assert.equal(reader.reads, 1);
      assert.equal(code.manifest?.source, 'hot-items.ts');
      assert.equal(code.archiveSha256, result.archiveSha256);
      assert.ok(code.entryPath.startsWith(tmpdir()) && !code.entryPath.startsWith(installationRoot()), code.entryPath);

      const again = await fetcher.fetch({ ...location, objectVersion: versionId });
      assert.equal(reader.reads, 1, 'the second fetch of the version downloaded it again');
      assert.equal(again.fromCache, true);
      assert.equal(again.entryPath, code.entryPath);

      const latest = await fetcher.fetch(location);
      assert.equal(latest.manifest?.source, 'relative-imports-app.ts');

      // The same example from source, then from the bundle: the same bounded, seeded input, the same output.
      const fromSource = join(work, 'from-source');
      assert.equal(await runEmbedded('examples/hot-items.ts', [...HOT_ITEMS_PROPERTIES, `hotItems.output=${fromSource}`], join(work, 'run-source')), 0);
      const fromBundle = join(work, 'from-bundle');
      assert.equal(await runEmbedded(code.entryPath, [...HOT_ITEMS_PROPERTIES, `hotItems.output=${fromBundle}`], join(work, 'run-bundle')), 0);
      const expected = await committedLines(fromSource);
      const actual = await committedLines(fromBundle);
      assert.ok(expected.length > 100, `the source run wrote ${expected.length} hot items`);
      assert.equal(actual.length, expected.length);
      assert.deepEqual(actual.sort(), expected.sort());
    } finally {
      await fetcher.close();
    }
  });

  test('an unversioned bucket: uploaded without a VersionId, fetched as its latest version', async () => {
    const work = await tempFolder();
    const location = { bucket: unversioned.name, key: 'hot-items.zip' };
    const { result, printed } = await packageAndUpload('examples/hot-items.ts', location, work);
    assert.equal(result.upload?.versionId, undefined);
    assert.ok(printed.includes(`uploaded s3://${location.bucket}/hot-items.zip (the bucket is not versioned: no VersionId)`), printed);
    const fetcher = new ApplicationCodeFetcher({ cacheDirectory: join(work, 'code-cache'), reader: new S3ApplicationArchiveReader({ env: s3ServiceEnv(service) }) });
    try {
      const code = await fetcher.fetch(location, { expectedArchiveSha256: result.archiveSha256 });
      assert.equal(code.archiveSha256, result.archiveSha256);
    } finally {
      await fetcher.close();
    }
  });
});
