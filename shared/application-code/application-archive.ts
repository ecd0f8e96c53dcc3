// The application archive `sluice package` writes and workers unpack: a zip holding one ES module
// bundle and `sluice-manifest.json`, which names the bundle, the runtime it was built for and its
// SHA-256. Reading checks everything a worker relies on before a byte reaches the disk.

import { createHash } from 'node:crypto';
import { unzipSync, zipSync } from 'fflate';
import { z } from 'zod';
import { ApplicationCodeError } from './errors.ts';

export const ARCHIVE_MANIFEST_NAME = 'sluice-manifest.json';
export const ARCHIVE_FORMAT_VERSION = 1;
/** What this runtime runs, as Managed Flink's RuntimeEnvironment names a Flink version. */
export const SLUICE_RUNTIME = 'SLUICE-1';

/** A relative `/`-separated path with no empty, `.` or `..` segment: it cannot leave the folder it is unpacked in. */
const ARCHIVE_PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[^/\\\0]+(?:\/[^/\\\0]+)*$/;

const manifestSchema = z.object({
  formatVersion: z.literal(ARCHIVE_FORMAT_VERSION),
  // `.mjs`: the cache folder has no package.json saying "type": "module".
  entry: z.string().regex(ARCHIVE_PATH, 'must be a relative path inside the archive').regex(/\.mjs$/, 'must end with .mjs'),
  runtime: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  createdAt: z.string().datetime(),
  source: z.string(),
});

export type ApplicationManifest = Readonly<z.infer<typeof manifestSchema>>;

export interface ApplicationArchive {
  readonly manifest: ApplicationManifest;
  /** Every file of the archive but the manifest, by path. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly archiveSha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface WriteArchiveRequest {
  readonly bundle: Uint8Array;
  /** The bundle's name in the archive, e.g. `app.mjs`. */
  readonly entry: string;
  /** The application file it was built from, for people reading the manifest. */
  readonly source: string;
  readonly createdAt?: Date;
}

export function writeApplicationArchive(request: WriteArchiveRequest): { bytes: Uint8Array; manifest: ApplicationManifest; archiveSha256: string } {
  const createdAt = request.createdAt ?? new Date();
  const manifest = manifestSchema.parse({
    formatVersion: ARCHIVE_FORMAT_VERSION,
    entry: request.entry,
    runtime: SLUICE_RUNTIME,
    sha256: sha256Hex(request.bundle),
    createdAt: createdAt.toISOString(),
    source: request.source,
  });
  const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  const bytes = zipSync({
    [ARCHIVE_MANIFEST_NAME]: [manifestBytes, { mtime: createdAt }],
    [manifest.entry]: [request.bundle, { mtime: createdAt }],
  });
  return { bytes, manifest, archiveSha256: sha256Hex(bytes) };
}

/**
 * Unzips an archive and checks it: a manifest of this format and runtime, safe paths, and a bundle
 * whose SHA-256 is the manifest's (and the archive's, `expectedArchiveSha256`, when the caller
 * knows it). ApplicationCodeError naming `location` otherwise.
 */
export function readApplicationArchive(bytes: Uint8Array, location: string, expectedArchiveSha256?: string): ApplicationArchive {
  const archiveSha256 = sha256Hex(bytes);
  if (expectedArchiveSha256 !== undefined && archiveSha256 !== expectedArchiveSha256.toLowerCase()) {
    throw new ApplicationCodeError(location, `the archive's SHA-256 is ${archiveSha256}, expected ${expectedArchiveSha256}`);
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new ApplicationCodeError(location, `not a readable zip archive (${(error as Error).message}); package it with \`sluice package\``, { cause: error });
  }
  const manifestBytes = entries[ARCHIVE_MANIFEST_NAME];
  if (manifestBytes === undefined) {
    throw new ApplicationCodeError(location, `the archive has no ${ARCHIVE_MANIFEST_NAME}; package it with \`sluice package\``);
  }
  const manifest = parseManifest(manifestBytes, location);
  const files = new Map<string, Uint8Array>();
  for (const [path, content] of Object.entries(entries)) {
    if (path === ARCHIVE_MANIFEST_NAME || path.endsWith('/')) continue;
    if (!ARCHIVE_PATH.test(path)) throw new ApplicationCodeError(location, `the archive holds a file with an unsafe path "${path}"`);
    files.set(path, content);
  }
  const bundle = files.get(manifest.entry);
  if (bundle === undefined) throw new ApplicationCodeError(location, `${ARCHIVE_MANIFEST_NAME} names the entry "${manifest.entry}", which the archive does not hold`);
  checkBundleDigest(manifest, bundle, location);
  return { manifest, files, archiveSha256 };
}

export function parseManifest(bytes: Uint8Array, location: string): ApplicationManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ApplicationCodeError(location, `${ARCHIVE_MANIFEST_NAME} is not JSON (${(error as Error).message})`, { cause: error });
  }
  return checkManifest(json, location);
}

/** A manifest of this format, for this runtime; ApplicationCodeError naming the field otherwise. */
export function checkManifest(json: unknown, location: string): ApplicationManifest {
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ApplicationCodeError(location, `${ARCHIVE_MANIFEST_NAME}: field "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }
  if (parsed.data.runtime !== SLUICE_RUNTIME) {
    throw new ApplicationCodeError(location, `${ARCHIVE_MANIFEST_NAME}: built for runtime "${parsed.data.runtime}", this runtime is ${SLUICE_RUNTIME}; package it again`);
  }
  return parsed.data;
}

/** The bundle is the one the manifest describes. */
export function checkBundleDigest(manifest: ApplicationManifest, bundle: Uint8Array, location: string): void {
  const actual = sha256Hex(bundle);
  if (actual !== manifest.sha256) {
    throw new ApplicationCodeError(location, `the bundle ${manifest.entry} has SHA-256 ${actual}, but ${ARCHIVE_MANIFEST_NAME} says ${manifest.sha256}`);
  }
}
