import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { ARCHIVE_MANIFEST_NAME, sha256Hex, SLUICE_RUNTIME, writeApplicationArchive } from './application-archive.ts';
import { ApplicationCodeFetcher } from './application-code-fetcher.ts';
import type { ApplicationArchiveReader } from './archive-reader.ts';
import type { S3CodeLocation } from './code-location.ts';
import { ApplicationCodeError } from './errors.ts';
import { ObjectNotFoundError } from '../object-store/index.ts';
import { waitFor } from '../testing/wait-for.ts';

/** Objects by bucket, key and version; counts reads and can hold them until released. */
class TestingArchiveReader implements ApplicationArchiveReader {
  readonly objects = new Map<string, Uint8Array>();
  reads = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  put(location: S3CodeLocation, bytes: Uint8Array): void {
    this.objects.set(objectId(location), bytes);
  }

  holdReads(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  releaseReads(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async read(location: S3CodeLocation): Promise<Uint8Array> {
    this.reads++;
    await this.gate;
    const bytes = this.objects.get(objectId(location));
    if (bytes === undefined) throw new ObjectNotFoundError(`s3://${location.bucket}`, location.key);
    return bytes;
  }

  async close(): Promise<void> {}
}

function objectId(location: S3CodeLocation): string {
  return `${location.bucket}/${location.key}#${location.objectVersion ?? 'latest'}`;
}

function archiveOf(body: string): { bytes: Uint8Array; archiveSha256: string } {
  return writeApplicationArchive({ bundle: new TextEncoder().encode(body), entry: 'app.mjs', source: 'app.ts' });
}

const folders: string[] = [];
async function cacheFolder(): Promise<string> {
  const folder = await fs.mkdtemp(join(tmpdir(), 'sluice-code-cache-test-'));
  folders.push(folder);
  return folder;
}
after(async () => {
  for (const folder of folders) await fs.rm(folder, { recursive: true, force: true });
});

async function setUp(): Promise<{ reader: TestingArchiveReader; fetcher: ApplicationCodeFetcher; cacheDirectory: string }> {
  const reader = new TestingArchiveReader();
  const cacheDirectory = await cacheFolder();
  return { reader, fetcher: new ApplicationCodeFetcher({ cacheDirectory, reader }), cacheDirectory };
}

/** Cache entries, leaving out temp folders. */
async function entriesOf(cacheDirectory: string): Promise<string[]> {
  return existsSync(cacheDirectory) ? (await fs.readdir(cacheDirectory)).filter((name) => !name.startsWith('.')).sort() : [];
}

const V1: S3CodeLocation = { bucket: 'apps', key: 'hot-items.zip', objectVersion: 'v1' };

describe('application code fetcher', () => {
  test('fetches, unpacks under the cache folder, and a second fetch of that version reads nothing', async () => {
    const { reader, fetcher, cacheDirectory } = await setUp();
    const archive = archiveOf('export default () => {};\n');
    reader.put(V1, archive.bytes);

    const first = await fetcher.fetch(V1);
    assert.equal(reader.reads, 1);
    assert.equal(first.fromCache, false);
    assert.ok(first.entryPath.startsWith(cacheDirectory), first.entryPath);
    assert.equal(await fs.readFile(first.entryPath, 'utf8'), 'export default () => {};\n');
    assert.equal(first.archiveSha256, archive.archiveSha256);
    assert.equal(first.manifest?.entry, 'app.mjs');

    const second = await fetcher.fetch(V1);
    assert.equal(reader.reads, 1, 'the second fetch of the same version read the object again');
    assert.equal(second.fromCache, true);
    assert.equal(second.entryPath, first.entryPath);

    // Another fetcher on the same folder (another process, a restart) finds it too.
    const again = await new ApplicationCodeFetcher({ cacheDirectory, reader }).fetch(V1);
    assert.equal(reader.reads, 1);
    assert.equal(again.entryPath, first.entryPath);
  });

  test('concurrent fetches of one version download it once', async () => {
    const { reader, fetcher, cacheDirectory } = await setUp();
    reader.put(V1, archiveOf('export default () => {};\n').bytes);
    reader.holdReads();
    const fetches = [fetcher.fetch(V1), fetcher.fetch(V1), fetcher.fetch(V1)];
    await waitFor('the first read to start', 5_000, () => reader.reads === 1);
    reader.releaseReads();
    const results = await Promise.all(fetches);
    assert.equal(reader.reads, 1);
    assert.deepEqual(new Set(results.map((r) => r.entryPath)).size, 1);
    assert.deepEqual(await entriesOf(cacheDirectory), [results[0]!.entryPath.slice(cacheDirectory.length + 1).split('/')[0]!]);
  });

  test('each object version has its own entry with its own content', async () => {
    const { reader, fetcher } = await setUp();
    const v2: S3CodeLocation = { ...V1, objectVersion: 'v2' };
    reader.put(V1, archiveOf('export default () => 1;\n').bytes);
    reader.put(v2, archiveOf('export default () => 2;\n').bytes);
    const one = await fetcher.fetch(V1);
    const two = await fetcher.fetch(v2);
    assert.notEqual(one.entryPath, two.entryPath);
    assert.equal(await fs.readFile(one.entryPath, 'utf8'), 'export default () => 1;\n');
    assert.equal(await fs.readFile(two.entryPath, 'utf8'), 'export default () => 2;\n');
  });

  test('the latest version is read each time unless the caller names the archive it expects', async () => {
    const { reader, fetcher } = await setUp();
    const latest: S3CodeLocation = { bucket: 'apps', key: 'latest.zip' };
    const archive = archiveOf('export default () => {};\n');
    reader.put(latest, archive.bytes);
    const first = await fetcher.fetch(latest);
    const second = await fetcher.fetch(latest);
    assert.equal(reader.reads, 2);
    assert.equal(second.entryPath, first.entryPath, 'the same archive is unpacked once');

    const pinned = await fetcher.fetch(latest, { expectedArchiveSha256: archive.archiveSha256.toUpperCase() });
    assert.equal(reader.reads, 2, 'an archive named by its SHA-256 came from the cache');
    assert.equal(pinned.fromCache, true);
  });

  test('an archive that is not the one expected is refused', async () => {
    const { reader, fetcher, cacheDirectory } = await setUp();
    reader.put(V1, archiveOf('export default () => {};\n').bytes);
    await assert.rejects(fetcher.fetch(V1, { expectedArchiveSha256: 'b'.repeat(64) }), (error: unknown) => {
      assert.ok(error instanceof ApplicationCodeError);
      assert.match(error.message, /^application code s3:\/\/apps\/hot-items\.zip \(version v1\): the archive's SHA-256 is [0-9a-f]{64}, expected b{64}$/);
      return true;
    });
    assert.deepEqual(await entriesOf(cacheDirectory), []);
    await assert.rejects(fetcher.fetch(V1, { expectedArchiveSha256: 'not-hex' }), /is not 64 hex digits/);
  });

  test('a missing object or version names the location', async () => {
    const { fetcher } = await setUp();
    await assert.rejects(fetcher.fetch(V1), (error: unknown) => {
      assert.ok(error instanceof ApplicationCodeError);
      assert.match(error.message, /^application code s3:\/\/apps\/hot-items\.zip \(version v1\): no such object or object version/);
      assert.ok(error.cause instanceof ObjectNotFoundError);
      return true;
    });
    await assert.rejects(fetcher.fetch({ bucket: 'apps', key: 'none.zip' }), /^ApplicationCodeError: application code s3:\/\/apps\/none\.zip: no such object;/);
  });

  test('a corrupt archive names the location and leaves nothing in the cache', async () => {
    const { reader, fetcher, cacheDirectory } = await setUp();
    const { bytes } = archiveOf('export default () => {};\n');
    reader.put(V1, bytes.subarray(0, 40));
    await assert.rejects(fetcher.fetch(V1), /application code s3:\/\/apps\/hot-items\.zip \(version v1\): not a readable zip archive/);
    assert.deepEqual(existsSync(cacheDirectory) ? await fs.readdir(cacheDirectory) : [], []);
  });

  test('an archive that fails while unpacking leaves no entry and no temp folder', async () => {
    const { reader, fetcher, cacheDirectory } = await setUp();
    const bundle = new TextEncoder().encode('export default () => {};\n');
    const manifest = { formatVersion: 1, entry: 'app.mjs', runtime: SLUICE_RUNTIME, sha256: sha256Hex(bundle), createdAt: new Date().toISOString(), source: 'app.ts' };
    // `lib` is written as a file, then `lib/util.mjs` needs it to be a folder: the unpack fails half way.
    reader.put(V1, zipSync({ [ARCHIVE_MANIFEST_NAME]: new TextEncoder().encode(JSON.stringify(manifest)), 'app.mjs': bundle, lib: bundle, 'lib/util.mjs': bundle }));
    await assert.rejects(fetcher.fetch(V1), /application code s3:\/\/apps\/hot-items\.zip \(version v1\): unpacking into .* failed/);
    assert.deepEqual(await fs.readdir(cacheDirectory), []);
  });

  test('a temp folder left by a crash mid-unpack is never taken for an entry', async () => {
    const { reader, fetcher, cacheDirectory } = await setUp();
    reader.put(V1, archiveOf('export default () => {};\n').bytes);
    const installed = await fetcher.fetch(V1);
    const entryName = installed.entryPath.slice(cacheDirectory.length + 1).split('/')[0]!;
    // What a process killed while unpacking leaves: the entry's files half written in a temp folder.
    await fs.rm(join(cacheDirectory, entryName), { recursive: true });
    await fs.mkdir(join(cacheDirectory, `.tmp-${entryName}-crashed`, 'files'), { recursive: true });
    await fs.writeFile(join(cacheDirectory, `.tmp-${entryName}-crashed`, 'files', 'app.mjs'), 'export def');

    const fetched = await fetcher.fetch(V1);
    assert.equal(reader.reads, 2, 'the half-written entry was not used');
    assert.equal(await fs.readFile(fetched.entryPath, 'utf8'), 'export default () => {};\n');
  });

  test('an entry whose bundle changed on disk is fetched again', async () => {
    const { reader, fetcher } = await setUp();
    reader.put(V1, archiveOf('export default () => {};\n').bytes);
    const first = await fetcher.fetch(V1);
    await fs.writeFile(first.entryPath, 'export default () => { /* edited */ };\n');
    const second = await fetcher.fetch(V1);
    assert.equal(reader.reads, 2);
    assert.equal(second.fromCache, false);
    assert.equal(await fs.readFile(second.entryPath, 'utf8'), 'export default () => {};\n');
  });

  test('local paths: a .zip is checked and cached by its SHA-256, a module is used where it is', async () => {
    const { fetcher, cacheDirectory } = await setUp();
    const folder = await cacheFolder();
    const archive = archiveOf('export default () => {};\n');
    const zipPath = join(folder, 'app.zip');
    await fs.writeFile(zipPath, archive.bytes);
    const fromZip = await fetcher.fetch({ path: zipPath });
    assert.ok(fromZip.entryPath.startsWith(join(cacheDirectory, `sha256-${archive.archiveSha256}`)), fromZip.entryPath);
    assert.equal(fromZip.archiveSha256, archive.archiveSha256);

    const modulePath = join(folder, 'app.ts');
    await fs.writeFile(modulePath, 'export default () => {};\n');
    assert.deepEqual(await fetcher.fetch({ path: modulePath }), { entryPath: modulePath, manifest: undefined, archiveSha256: undefined, fromCache: false });

    await assert.rejects(fetcher.fetch({ path: join(folder, 'missing.zip') }), /application code .*missing\.zip: cannot read it/);
    await assert.rejects(fetcher.fetch({ path: join(folder, 'app.jar') }), /app\.jar: expected a \.zip made by `sluice package`, or a \.ts or \.js module/);
  });
});
