// Where a FileSource finds and reads its files: local folders and S3 prefixes behind one small
// interface — list the files under a root, read a byte range of one. (The object stores of
// shared/object-store read whole objects; a source resuming inside a large file needs ranges.)
// Listing is recursive and skips every name starting with '.' or '_' below the root, as Flink's
// default file filter does: in-progress files, `_SUCCESS` markers, a sink's `_sluice/` claims.

import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigurationError, ExternalSystemError } from '../../../shared/errors.ts';
import { describeAwsFailure, type ResolvedAwsConnection } from '../common/aws-connection.ts';

/** A file found under a root: its split id (an absolute path or `s3://bucket/key`) and its size. */
export interface SourceFileInfo {
  readonly path: string;
  readonly size: number;
}

export interface OpenedFile {
  readonly path: string;
  /** Up to `length` bytes from `offset`; fewer only where the file ends. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A root to list: a local folder or file, or an S3 bucket and key prefix (no trailing '/'). */
export type SourceRoot = { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string };

/** Reads a `paths` entry: `s3://bucket/prefix`, `file:///dir` or a local path; `field` names it in errors. */
export function parseSourceRoot(path: string, field: string): SourceRoot {
  if (typeof path !== 'string' || path.length === 0) throw new ConfigurationError(field, `must be a non-empty string, got ${JSON.stringify(path)}`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(path)?.[1]?.toLowerCase();
  if (scheme === 's3') {
    const { bucket, key } = parseS3Url(path);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigurationError(field, `"${path}": "${bucket}" is not an S3 bucket name (s3://bucket/prefix; 3-63 of a-z, 0-9, '.', '-')`);
    }
    return { kind: 's3', bucket, prefix: key.replace(/\/+$/, '') };
  }
  if (scheme === 'file') {
    try {
      return { kind: 'local', path: fileURLToPath(path) };
    } catch (error) {
      throw new ConfigurationError(field, `"${path}" is not a file URL of a local folder (file:///absolute/dir)`, { cause: error });
    }
  }
  if (scheme !== undefined) throw new ConfigurationError(field, `"${path}": unknown scheme "${scheme}://" (use s3://bucket/prefix, file:///dir or a local path)`);
  return { kind: 'local', path: resolve(path) };
}

export function describeRoot(root: SourceRoot): string {
  return root.kind === 'local' ? root.path : `s3://${root.bucket}${root.prefix === '' ? '' : `/${root.prefix}`}`;
}

function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url);
  return { bucket: match?.[1] ?? '', key: match?.[2] ?? '' };
}

/** Skipped names: Flink's default filter (hidden and underscore files and folders). */
function isHidden(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_');
}

const S3_MAX_ATTEMPTS = 5;

export class SourceFileSystem {
  private s3: S3Client | undefined;

  /** `label` (`FileSource "orders"`) starts every error message. */
  constructor(
    private readonly label: string,
    private readonly connection: ResolvedAwsConnection,
  ) {}

  /** The files under `root` (or `root` itself when it is a file), sorted by path. */
  async list(root: SourceRoot): Promise<SourceFileInfo[]> {
    const found = root.kind === 'local' ? await this.listLocal(root.path) : await this.listS3(root.bucket, root.prefix);
    return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Opens a file split by its id. */
  async open(path: string): Promise<OpenedFile> {
    if (/^s3:\/\//i.test(path)) {
      const { bucket, key } = parseS3Url(path);
      return { path, read: (offset, length) => this.readS3(path, bucket, key, offset, length), close: async () => {} };
    }
    let handle: FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (error) {
      throw this.localFailure(path, 'open', error);
    }
    return {
      path,
      read: async (offset, length) => {
        const bytes = Buffer.allocUnsafe(length);
        let filled = 0;
        try {
          while (filled < length) {
            const { bytesRead } = await handle.read(bytes, filled, length - filled, offset + filled);
            if (bytesRead === 0) break;
            filled += bytesRead;
          }
        } catch (error) {
          throw this.localFailure(path, `read at byte ${offset + filled}`, error);
        }
        return bytes.subarray(0, filled);
      },
      close: () => handle.close().catch(() => {}),
    };
  }

  close(): void {
    this.s3?.destroy();
    this.s3 = undefined;
  }

  private async listLocal(root: string): Promise<SourceFileInfo[]> {
    let stats: Stats;
    try {
      stats = await fs.stat(root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigurationError('paths', `${this.label}: ${root} does not exist`, { cause: error });
      throw this.localFailure(root, 'stat', error);
    }
    if (stats.isFile()) return [{ path: root, size: stats.size }];
    if (!stats.isDirectory()) throw new ConfigurationError('paths', `${this.label}: ${root} is neither a file nor a folder`);
    const found: SourceFileInfo[] = [];
    const folders = [root];
    while (folders.length > 0) {
      const folder = folders.pop()!;
      let names: string[];
      try {
        names = await fs.readdir(folder);
      } catch (error) {
        // A subfolder removed while we list it had nothing for us.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && folder !== root) continue;
        throw this.localFailure(folder, 'list', error);
      }
      for (const name of names) {
        if (isHidden(name)) continue;
        const path = join(folder, name);
        let entry: Stats;
        try {
          entry = await fs.stat(path); // follows symbolic links
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed (or renamed) since readdir
          throw this.localFailure(path, 'stat', error);
        }
        if (entry.isDirectory()) folders.push(path);
        else if (entry.isFile()) found.push({ path, size: entry.size });
      }
    }
    return found;
  }

  private async listS3(bucket: string, prefix: string): Promise<SourceFileInfo[]> {
    const client = this.s3Client();
    const found: SourceFileInfo[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix === '' ? {} : { Prefix: prefix }), ContinuationToken: continuationToken }));
        for (const object of page.Contents ?? []) {
          const key = object.Key;
          if (key === undefined || key.endsWith('/')) continue; // folder markers
          // The prefix names a file, or a folder: `logs` must not take `logs2/…`.
          let relative: string;
          if (key === prefix) relative = key.slice(key.lastIndexOf('/') + 1);
          else if (prefix === '') relative = key;
          else if (key.startsWith(`${prefix}/`)) relative = key.slice(prefix.length + 1);
          else continue;
          if (key !== prefix && relative.split('/').some(isHidden)) continue;
          found.push({ path: `s3://${bucket}/${key}`, size: object.Size ?? 0 });
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken !== undefined);
    } catch (error) {
      throw this.s3Failure(`listing s3://${bucket}/${prefix}`, error);
    }
    return found;
  }

  private async readS3(path: string, bucket: string, key: string, offset: number, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array();
    try {
      const output = await this.s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
      return output.Body === undefined ? new Uint8Array() : await output.Body.transformToByteArray();
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') {
        throw new ExternalSystemError(`${this.label}: ${path} no longer exists (it was listed when found, or is in the checkpoint restored from)`, { cause: error });
      }
      // S3 answers a range that starts past the end with 416: the object shrank since it was found.
      if (name === 'InvalidRange') return new Uint8Array();
      throw this.s3Failure(`reading ${path} at byte ${offset}`, error);
    }
  }

  private s3Client(): S3Client {
    const { region, endpoint, credentials } = this.connection;
    this.s3 ??= new S3Client({
      region,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(credentials === undefined ? {} : { credentials }),
      forcePathStyle: true,
      maxAttempts: S3_MAX_ATTEMPTS,
      retryMode: 'standard',
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 60_000 }),
    });
    return this.s3;
  }

  private s3Failure(action: string, error: unknown): ExternalSystemError {
    if ((error as { name?: string }).name === 'NoSuchBucket') {
      return new ExternalSystemError(`${this.label}: ${action}: the bucket does not exist at ${this.connection.endpoint ?? `region ${this.connection.region}`} (setting paths)`, { cause: error });
    }
    return describeAwsFailure(this.label, this.connection, action, error);
  }

  private localFailure(path: string, action: string, error: unknown): ExternalSystemError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return new ExternalSystemError(`${this.label}: ${path} no longer exists (it was listed when found, or is in the checkpoint restored from)`, { cause: error });
    }
    return new ExternalSystemError(`${this.label}: cannot ${action} ${path}: ${(error as Error).message}`, { cause: error, retriable: code === 'EMFILE' || code === 'EAGAIN' });
  }
}
