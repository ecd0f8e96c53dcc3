// Fetches an application's code for the process that runs it (worker) or plans it (coordinator):
// downloads the archive from S3 (the exact object version when given), checks it, unpacks it into
// the local cache and answers the bundle's path for loadApplication. A local `.zip` works the same
// way for development; a local `.ts`/`.js` module is used where it is.
//
// Cache entries are named by what fixes the content: the S3 object version, else the archive
// SHA-256 the caller expects; then a fetch of code already in the cache reads nothing from S3.
// The latest version of an unversioned location must be read each time to know what it is (its
// entry, named by the archive's SHA-256, is still not unpacked twice). Fetches of one location in
// flight at once share one download.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { ObjectNotFoundError } from '../object-store/index.ts';
import { readApplicationArchive, type ApplicationManifest } from './application-archive.ts';
import { ApplicationCodeCache, type CachedApplicationCode } from './application-code-cache.ts';
import { S3ApplicationArchiveReader, type ApplicationArchiveReader } from './archive-reader.ts';
import { describeCodeLocation, isS3CodeLocation, type ApplicationCodeLocation, type S3CodeLocation } from './code-location.ts';
import { ApplicationCodeError } from './errors.ts';

export const DEFAULT_CODE_CACHE_DIRECTORY = join(tmpdir(), 'sluice', 'application-code');

/** Modules a local location may name directly (no archive, no cache). */
const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);

export interface ApplicationCodeFetcherOptions {
  /** Default: `sluice/application-code` under the system temp folder. */
  readonly cacheDirectory?: string;
  /** Default: S3ApplicationArchiveReader on the process's S3 settings. */
  readonly reader?: ApplicationArchiveReader;
}

export interface FetchCodeOptions {
  /** Refuse an archive whose SHA-256 is not this (lowercase hex). */
  readonly expectedArchiveSha256?: string;
}

export interface FetchedApplicationCode {
  /** The module to hand to loadApplication. */
  readonly entryPath: string;
  /** Absent for a local module. */
  readonly manifest: ApplicationManifest | undefined;
  readonly archiveSha256: string | undefined;
  /** True when the cache answered without reading the archive. */
  readonly fromCache: boolean;
}

export class ApplicationCodeFetcher {
  readonly cacheDirectory: string;
  private readonly cache: ApplicationCodeCache;
  private readonly reader: ApplicationArchiveReader;
  private readonly inFlight = new Map<string, Promise<FetchedApplicationCode>>();

  constructor(options: ApplicationCodeFetcherOptions = {}) {
    this.cacheDirectory = resolve(options.cacheDirectory ?? DEFAULT_CODE_CACHE_DIRECTORY);
    this.cache = new ApplicationCodeCache(this.cacheDirectory);
    this.reader = options.reader ?? new S3ApplicationArchiveReader();
  }

  fetch(location: ApplicationCodeLocation, options: FetchCodeOptions = {}): Promise<FetchedApplicationCode> {
    const expected = options.expectedArchiveSha256?.toLowerCase();
    if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
      return Promise.reject(new ApplicationCodeError(describeCodeLocation(location), `the expected archive SHA-256 "${options.expectedArchiveSha256}" is not 64 hex digits`));
    }
    const requestKey = `${describeCodeLocation(location)} ${expected ?? ''}`;
    let pending = this.inFlight.get(requestKey);
    if (pending === undefined) {
      pending = (isS3CodeLocation(location) ? this.fetchFromS3(location, expected) : this.fetchLocal(location.path, expected)).finally(() =>
        this.inFlight.delete(requestKey),
      );
      this.inFlight.set(requestKey, pending);
    }
    return pending;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  private async fetchFromS3(location: S3CodeLocation, expected: string | undefined): Promise<FetchedApplicationCode> {
    const described = describeCodeLocation(location);
    const knownName =
      location.objectVersion !== undefined
        ? `s3-${digestOf(location.bucket, location.key, location.objectVersion)}`
        : expected !== undefined
          ? `sha256-${expected}`
          : undefined;
    if (knownName !== undefined) {
      const cached = await this.cache.lookup(knownName, expected);
      if (cached !== undefined) return fetched(cached, true);
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.reader.read(location);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        const what = location.objectVersion === undefined ? 'no such object' : 'no such object or object version';
        throw new ApplicationCodeError(described, `${what}; upload it with \`sluice package --upload\``, { cause: error });
      }
      throw error;
    }
    return this.unpack(bytes, described, knownName, expected);
  }

  private async fetchLocal(path: string, expected: string | undefined): Promise<FetchedApplicationCode> {
    const absolute = resolve(path);
    const extension = extname(absolute).toLowerCase();
    if (extension !== '.zip' && !MODULE_EXTENSIONS.has(extension)) {
      throw new ApplicationCodeError(path, 'expected a .zip made by `sluice package`, or a .ts or .js module');
    }
    let bytes: Uint8Array | undefined;
    try {
      if (extension === '.zip') bytes = await fs.readFile(absolute);
      else await fs.access(absolute);
    } catch (error) {
      throw new ApplicationCodeError(path, `cannot read it (${(error as Error).message})`, { cause: error });
    }
    if (bytes === undefined) {
      if (expected !== undefined) throw new ApplicationCodeError(path, 'an expected archive SHA-256 applies to a .zip archive, not to a module');
      return { entryPath: absolute, manifest: undefined, archiveSha256: undefined, fromCache: false };
    }
    return this.unpack(bytes, path, undefined, expected);
  }

  /** Checks the archive and installs it, under `name` or else under its SHA-256. */
  private async unpack(bytes: Uint8Array, described: string, name: string | undefined, expected: string | undefined): Promise<FetchedApplicationCode> {
    const archive = readApplicationArchive(bytes, described, expected);
    const entryName = name ?? `sha256-${archive.archiveSha256}`;
    if (name === undefined) {
      const cached = await this.cache.lookup(entryName, archive.archiveSha256);
      if (cached !== undefined) return fetched(cached, false);
    }
    return fetched(await this.cache.install(entryName, archive, described), false);
  }
}

function fetched(code: CachedApplicationCode, fromCache: boolean): FetchedApplicationCode {
  return { entryPath: code.entryPath, manifest: code.manifest, archiveSha256: code.archiveSha256, fromCache };
}

/** A file-name-safe digest of an S3 object version's identity. */
function digestOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 40);
}

