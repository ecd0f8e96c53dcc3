import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync } from 'fflate';
import { ARCHIVE_MANIFEST_NAME, readApplicationArchive, sha256Hex, SLUICE_RUNTIME, writeApplicationArchive } from './application-archive.ts';
import { ApplicationCodeError } from './errors.ts';

const BUNDLE = new TextEncoder().encode('export default () => {};\n');
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function manifestFor(bundle: Uint8Array, overrides: Record<string, unknown> = {}) {
  return { formatVersion: 1, entry: 'app.mjs', runtime: SLUICE_RUNTIME, sha256: sha256Hex(bundle), createdAt: '2025-01-01T00:00:00.000Z', source: 'app.ts', ...overrides };
}

function expectCodeError(action: () => unknown, pattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ApplicationCodeError, `expected ApplicationCodeError, got ${String(error)}`);
    assert.match(error.message, /^application code s3:\/\/b\/app\.zip: /);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('application archive', () => {
  test('round trip: the manifest names the bundle, the runtime and the SHA-256 of the bundle', () => {
    const createdAt = new Date('2025-03-04T05:06:07.000Z');
    const written = writeApplicationArchive({ bundle: BUNDLE, entry: 'app.mjs', source: 'hot-items.ts', createdAt });
    assert.equal(written.archiveSha256, sha256Hex(written.bytes));
    assert.deepEqual(written.manifest, {
      formatVersion: 1,
      entry: 'app.mjs',
      runtime: 'SLUICE-1',
      sha256: sha256Hex(BUNDLE),
      createdAt: '2025-03-04T05:06:07.000Z',
      source: 'hot-items.ts',
    });
    const read = readApplicationArchive(written.bytes, 's3://b/app.zip', written.archiveSha256);
    assert.deepEqual(read.manifest, written.manifest);
    assert.deepEqual([...read.files.keys()], ['app.mjs']);
    assert.deepEqual(read.files.get('app.mjs'), BUNDLE);
  });

  test('bytes that are not a zip', () => {
    expectCodeError(() => readApplicationArchive(new TextEncoder().encode('not a zip at all'), 's3://b/app.zip'), /not a readable zip archive/);
  });

  test('a truncated archive', () => {
    const { bytes } = writeApplicationArchive({ bundle: BUNDLE, entry: 'app.mjs', source: 'app.ts' });
    expectCodeError(() => readApplicationArchive(bytes.subarray(0, bytes.length - 30), 's3://b/app.zip'), /not a readable zip archive/);
  });

  test('an archive without a manifest', () => {
    expectCodeError(() => readApplicationArchive(zipSync({ 'app.mjs': BUNDLE }), 's3://b/app.zip'), /has no sluice-manifest\.json/);
  });

  test('a bundle that is not the one the manifest describes', () => {
    const other = new TextEncoder().encode('export default () => { /* changed */ };\n');
    const bytes = zipSync({ [ARCHIVE_MANIFEST_NAME]: encode(manifestFor(BUNDLE)), 'app.mjs': other });
    expectCodeError(() => readApplicationArchive(bytes, 's3://b/app.zip'), new RegExp(`bundle app\\.mjs has SHA-256 ${sha256Hex(other)}, but sluice-manifest\\.json says ${sha256Hex(BUNDLE)}`));
  });

  test('an archive that is not the one the caller expects', () => {
    const { bytes } = writeApplicationArchive({ bundle: BUNDLE, entry: 'app.mjs', source: 'app.ts' });
    expectCodeError(() => readApplicationArchive(bytes, 's3://b/app.zip', 'a'.repeat(64)), /archive's SHA-256 is [0-9a-f]{64}, expected a{64}/);
  });

  test('a manifest for another runtime', () => {
    const bytes = zipSync({ [ARCHIVE_MANIFEST_NAME]: encode(manifestFor(BUNDLE, { runtime: 'SLUICE-2' })), 'app.mjs': BUNDLE });
    expectCodeError(() => readApplicationArchive(bytes, 's3://b/app.zip'), /built for runtime "SLUICE-2", this runtime is SLUICE-1/);
  });

  test('a manifest field that is not valid is named', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ formatVersion: 2 }, /field "formatVersion"/],
      [{ sha256: 'xyz' }, /field "sha256": must be 64 lowercase hex digits/],
      [{ entry: 'app.js' }, /field "entry": must end with \.mjs/],
      [{ entry: '../app.mjs' }, /field "entry": must be a relative path inside the archive/],
      [{ createdAt: 'yesterday' }, /field "createdAt"/],
    ];
    for (const [override, pattern] of cases) {
      const bytes = zipSync({ [ARCHIVE_MANIFEST_NAME]: encode(manifestFor(BUNDLE, override)), 'app.mjs': BUNDLE });
      expectCodeError(() => readApplicationArchive(bytes, 's3://b/app.zip'), pattern);
    }
    const notJson = zipSync({ [ARCHIVE_MANIFEST_NAME]: new TextEncoder().encode('{'), 'app.mjs': BUNDLE });
    expectCodeError(() => readApplicationArchive(notJson, 's3://b/app.zip'), /sluice-manifest\.json is not JSON/);
  });

  test('the manifest names an entry the archive does not hold', () => {
    const bytes = zipSync({ [ARCHIVE_MANIFEST_NAME]: encode(manifestFor(BUNDLE, { entry: 'main.mjs' })), 'app.mjs': BUNDLE });
    expectCodeError(() => readApplicationArchive(bytes, 's3://b/app.zip'), /names the entry "main\.mjs", which the archive does not hold/);
  });

  test('a file whose path would leave the unpacking folder', () => {
    for (const path of ['../evil.mjs', 'a/../../evil.mjs', 'a//b.mjs', 'a\\b.mjs', './x.mjs']) {
      const bytes = zipSync({ [ARCHIVE_MANIFEST_NAME]: encode(manifestFor(BUNDLE)), 'app.mjs': BUNDLE, [path]: BUNDLE });
      expectCodeError(() => readApplicationArchive(bytes, 's3://b/app.zip'), /unsafe path/);
    }
  });
});
