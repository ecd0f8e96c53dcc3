// An ObjectStore on a local folder: the embedded mode's checkpoint store, and `file:///dir` URLs.
// A key is a file under the folder (`a/b/c` is `<dir>/a/b/c`). Every change is atomic and durable:
//   - put writes a temp file under `<dir>/.tmp/`, fsyncs it, then renames it over the key (or, with
//     ifNoneMatch, hard-links it: link() fails when the name exists, so exactly one racer wins), and
//     fsyncs the key's folder;
//   - a multipart upload is a folder `<dir>/.uploads/<uploadId>/` holding a `key` file and one
//     `part-NNNNN` file per part. Completing assembles the parts into `object` there, writes a
//     `completing` marker, deletes the parts, renames `object` onto the key and removes the folder.
//     A complete replayed after a crash at any step finishes that work and never writes the key
//     twice: with the marker and no `object`, the rename has happened.
// The names `.tmp` and `.uploads` at the root are reserved and never listed. Unlike S3, a folder
// cannot hold both a key `a` and a key `a/b`; such a put fails naming both.

import { createReadStream, promises as fs } from 'node:fs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import type { MultipartUpload, ObjectInfo, ObjectStore, PutOptions, UploadedPart } from './object-store.ts';
import { InvalidObjectKeyError, ObjectExistsError, ObjectNotFoundError } from './errors.ts';
import { checkObjectKey, compareObjectKeys } from './object-keys.ts';
import { checkPartsForCompletion, isValidPartNumber, MIN_MULTIPART_PART_BYTES, partEtag, type StoredPart } from './multipart-parts.ts';
import { ExternalSystemError, InvalidRequestError } from '../errors.ts';

export interface LocalDirectoryObjectStoreOptions {
  /** The folder that holds the objects; created when the first object is written. */
  readonly directory: string;
  /** Minimum size of every multipart part but the last; S3's 5 MiB by default, so what works here works there. */
  readonly minPartBytes?: number;
}

const TEMP_FOLDER = '.tmp';
const UPLOADS_FOLDER = '.uploads';
const RESERVED_ROOT_NAMES = new Set([TEMP_FOLDER, UPLOADS_FOLDER]);
const UPLOAD_ID_PATTERN = /^[0-9a-f]{32}$/;
const UPLOAD_KEY_FILE = 'key';
const UPLOAD_OBJECT_FILE = 'object';
const UPLOAD_COMPLETING_MARKER = 'completing';
const PART_FILE_PATTERN = /^part-(\d{5})$/;
/** How often a put retries when a concurrent delete removed the key's (empty) folder under it. */
const PUT_FOLDER_RACE_ATTEMPTS = 5;
const COPY_CHUNK_BYTES = 1024 * 1024;
/** errno codes after which the same call may succeed. */
const TRANSIENT_ERRNO = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'EIO', 'ENOSPC']);

export class LocalDirectoryObjectStore implements ObjectStore {
  readonly location: string;
  readonly directory: string;
  private readonly minPartBytes: number;

  constructor(options: LocalDirectoryObjectStoreOptions) {
    this.directory = resolve(options.directory);
    this.location = pathToFileURL(this.directory).href;
    this.minPartBytes = options.minPartBytes ?? MIN_MULTIPART_PART_BYTES;
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<void> {
    const target = this.pathOf(key);
    const temp = await this.writeTempFile(key, bytes);
    try {
      await this.publish(temp, target, key, options.ifNoneMatch === true);
    } finally {
      // After a rename the temp name is gone; after a link (or a failure) it must go.
      await fs.rm(temp, { force: true });
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.pathOf(key);
    try {
      return new Uint8Array(await fs.readFile(path));
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(this.location, key, 'no such object', { cause: error });
      throw this.failure('get', key, error);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const stats = await fs.stat(path);
      return stats.isFile() ? { key, size: stats.size } : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure('head', key, error);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Only the folder named by the prefix's complete segments can hold matches.
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash);
    // A folder no key can be in (`..`, `.tmp`, …): nothing this store holds starts with the prefix.
    if (startKey !== '' && !this.canHold(startKey)) return [];
    const found: ObjectInfo[] = [];
    try {
      await this.collect(startKey, prefix, found);
    } catch (error) {
      throw this.failure('list', prefix, error);
    }
    return found.sort((a, b) => compareObjectKeys(a.key, b.key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key));
    for (let i = 0; i < paths.length; i++) {
      try {
        await fs.unlink(paths[i]!);
      } catch (error) {
        // Missing, or a folder (a prefix of other keys, not an object): nothing to delete.
        if (isNotFound(error) || isErrno(error, 'EISDIR') || isErrno(error, 'EPERM')) continue;
        throw this.failure('delete', keys[i]!, error);
      }
      await this.removeEmptyFolders(dirname(paths[i]!));
    }
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    this.pathOf(key);
    const uploadId = randomUUID().replaceAll('-', '');
    try {
      // Built under .tmp and renamed into .uploads: an upload is listed whole or not at all.
      const building = join(this.directory, TEMP_FOLDER, `upload-${uploadId}`);
      await fs.mkdir(building, { recursive: true });
      await writeDurably(join(building, UPLOAD_KEY_FILE), Buffer.from(key, 'utf8'));
      const uploads = join(this.directory, UPLOADS_FOLDER);
      await fs.mkdir(uploads, { recursive: true });
      await fs.rename(building, join(uploads, uploadId));
      await fsyncFolder(uploads);
    } catch (error) {
      throw this.failure('createMultipartUpload', key, error);
    }
    return { key, uploadId };
  }

  async uploadPart(upload: MultipartUpload, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> {
    if (!isValidPartNumber(partNumber)) {
      throw new InvalidRequestError(`object store ${this.location}: part number ${partNumber} of "${upload.key}" is not an integer from 1 to 10000`);
    }
    const folder = await this.openUploadFolder(upload);
    if (folder === undefined || (await exists(join(folder, UPLOAD_COMPLETING_MARKER)))) {
      throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId}`);
    }
    const partFile = join(folder, partFileName(partNumber));
    const temp = join(folder, `.${partFileName(partNumber)}-${randomBytes(6).toString('hex')}`);
    try {
      await writeDurably(temp, bytes);
      await fs.rename(temp, partFile);
      await fsyncFolder(folder);
    } catch (error) {
      await fs.rm(temp, { force: true });
      if (isNotFound(error)) throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId}`, { cause: error });
      throw this.failure('uploadPart', upload.key, error);
    }
    return { partNumber, etag: partEtag(bytes) };
  }

  async completeMultipartUpload(upload: MultipartUpload, parts: readonly UploadedPart[]): Promise<void> {
    const target = this.pathOf(upload.key);
    const folder = await this.openUploadFolder(upload);
    if (folder === undefined) {
      // Completed already (a replayed commit) when the object is there; lost otherwise.
      if ((await this.head(upload.key)) !== undefined) return;
      throw new ObjectNotFoundError(this.location, upload.key, `no multipart upload ${upload.uploadId} and no object`);
    }
    const assembled = join(folder, UPLOAD_OBJECT_FILE);
    const marker = join(folder, UPLOAD_COMPLETING_MARKER);
    try {
      if (!(await exists(marker))) {
        await this.assemble(upload, folder, parts, assembled);
        await writeDurably(marker, new Uint8Array());
        await fsyncFolder(folder);
      }
      if (await exists(assembled)) {
        await this.removePartFiles(folder);
        await this.publish(assembled, target, upload.key, false);
      }
      await fs.rm(folder, { recursive: true, force: true });
    } catch (error) {
      throw this.failure('completeMultipartUpload', upload.key, error);
    }
  }

  async abortMultipartUpload(upload: MultipartUpload): Promise<void> {
    const folder = await this.openUploadFolder(upload);
    // Gone already, or being completed (then it is no longer an open upload to abort).
    if (folder === undefined || (await exists(join(folder, UPLOAD_COMPLETING_MARKER)))) return;
    const doomed = join(this.directory, TEMP_FOLDER, `aborted-${upload.uploadId}-${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(dirname(doomed), { recursive: true });
      await fs.rename(folder, doomed);
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.failure('abortMultipartUpload', upload.key, error);
    }
    await fs.rm(doomed, { recursive: true, force: true });
  }

  async listMultipartUploads(prefix: string): Promise<MultipartUpload[]> {
    const uploadsFolder = join(this.directory, UPLOADS_FOLDER);
    let ids: string[];
    try {
      ids = await fs.readdir(uploadsFolder);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw this.failure('listMultipartUploads', prefix, error);
    }
    const found: MultipartUpload[] = [];
    for (const uploadId of ids.filter((id) => UPLOAD_ID_PATTERN.test(id))) {
      const key = await readUploadKey(join(uploadsFolder, uploadId));
      if (key === undefined || !key.startsWith(prefix)) continue;
      if (await exists(join(uploadsFolder, uploadId, UPLOAD_COMPLETING_MARKER))) continue;
      found.push({ key, uploadId });
    }
    return found.sort((a, b) => compareObjectKeys(a.key, b.key) || compareObjectKeys(a.uploadId, b.uploadId));
  }

  async close(): Promise<void> {}

  private canHold(key: string): boolean {
    try {
      this.pathOf(key);
      return true;
    } catch {
      return false;
    }
  }

  /** The file of a key, after checking the key is one this store can hold. */
  private pathOf(key: string): string {
    checkObjectKey(this.location, key);
    const first = key.split('/')[0]!;
    if (RESERVED_ROOT_NAMES.has(first)) {
      throw new InvalidObjectKeyError(this.location, key, `"${first}" at the root is reserved by the local directory store`);
    }
    return join(this.directory, ...key.split('/'));
  }

  private async writeTempFile(key: string, bytes: Uint8Array): Promise<string> {
    const folder = join(this.directory, TEMP_FOLDER);
    const temp = join(folder, `put-${randomBytes(12).toString('hex')}`);
    try {
      await fs.mkdir(folder, { recursive: true });
      await writeDurably(temp, bytes);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw this.failure('put', key, error);
    }
    return temp;
  }

  /** Moves (or, refusing to overwrite, links) a durable file onto the key's path, then fsyncs the folder. */
  private async publish(source: string, target: string, key: string, ifNoneMatch: boolean): Promise<void> {
    const folder = dirname(target);
    for (let attempt = 1; ; attempt++) {
      try {
        await fs.mkdir(folder, { recursive: true });
        if (ifNoneMatch) await fs.link(source, target);
        else await fs.rename(source, target);
        break;
      } catch (error) {
        if (isErrno(error, 'ENOENT') && attempt < PUT_FOLDER_RACE_ATTEMPTS && (await exists(source))) continue;
        if (isErrno(error, 'EEXIST') && ifNoneMatch && (await this.head(key)) !== undefined) {
          throw new ObjectExistsError(this.location, key, { cause: error });
        }
        if (isErrno(error, 'ENOTDIR') || isErrno(error, 'EEXIST') || isErrno(error, 'EISDIR') || isErrno(error, 'ENOTEMPTY')) {
          throw new ExternalSystemError(
            `object store ${this.location}: cannot write "${key}": a local directory cannot hold both a key and keys under it as a folder (e.g. "a" and "a/b")`,
            { cause: error },
          );
        }
        throw this.failure('put', key, error);
      }
    }
    await fsyncFolder(folder);
  }

  /** Checks the parts against what was uploaded, then concatenates them into a durable `assembled` file. */
  private async assemble(upload: MultipartUpload, folder: string, parts: readonly UploadedPart[], assembled: string): Promise<void> {
    const stored = new Map<number, StoredPart>();
    for (const part of parts) {
      const file = join(folder, partFileName(part.partNumber));
      try {
        const stats = await fs.stat(file);
        stored.set(part.partNumber, { size: stats.size, etag: await md5EtagOfFile(file) });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    checkPartsForCompletion(this.location, upload.key, parts, stored, this.minPartBytes);
    const temp = join(folder, `.assembling-${randomBytes(6).toString('hex')}`);
    const output = await fs.open(temp, 'wx');
    try {
      const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      for (const part of parts) {
        const input = await fs.open(join(folder, partFileName(part.partNumber)), 'r');
        try {
          for (;;) {
            const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
            if (bytesRead === 0) break;
            await output.write(buffer, 0, bytesRead);
          }
        } finally {
          await input.close();
        }
      }
      await output.sync();
    } finally {
      await output.close();
    }
    await fs.rename(temp, assembled);
  }

  private async removePartFiles(folder: string): Promise<void> {
    for (const name of await fs.readdir(folder)) {
      if (PART_FILE_PATTERN.test(name)) await fs.rm(join(folder, name), { force: true });
    }
  }

  /** The upload's folder when it exists and holds this key; undefined otherwise. */
  private async openUploadFolder(upload: MultipartUpload): Promise<string | undefined> {
    if (!UPLOAD_ID_PATTERN.test(upload.uploadId)) return undefined;
    const folder = join(this.directory, UPLOADS_FOLDER, upload.uploadId);
    return (await readUploadKey(folder)) === upload.key ? folder : undefined;
  }

  /** Walks the folder of `folderKey`, adding every file whose key starts with `prefix`. */
  private async collect(folderKey: string, prefix: string, found: ObjectInfo[]): Promise<void> {
    const folder = folderKey === '' ? this.directory : join(this.directory, ...folderKey.split('/'));
    let entries;
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (folderKey === '' && RESERVED_ROOT_NAMES.has(entry.name)) continue;
      const key = folderKey === '' ? entry.name : `${folderKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const asFolder = `${key}/`;
        if (asFolder.startsWith(prefix) || prefix.startsWith(asFolder)) await this.collect(key, prefix, found);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          found.push({ key, size: (await fs.stat(join(folder, entry.name))).size });
        } catch (error) {
          if (!isNotFound(error)) throw error; // deleted while listing: not there
        }
      }
    }
  }

  /** Removes folders left empty by a delete, up to (not including) the root: S3 has no empty folders. */
  private async removeEmptyFolders(folder: string): Promise<void> {
    let current = folder;
    while (current !== this.directory && relative(this.directory, current).split(sep)[0] !== '..') {
      try {
        await fs.rmdir(current);
      } catch {
        return; // not empty (or gone, or raced by a put): stop here
      }
      current = dirname(current);
    }
  }

  private failure(operation: string, key: string, error: unknown): Error {
    if (error instanceof ExternalSystemError || error instanceof InvalidObjectKeyError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    return new ExternalSystemError(`object store ${this.location}: ${operation} "${key}" failed: ${message}`, {
      cause: error,
      retriable: code !== undefined && TRANSIENT_ERRNO.has(code),
    });
  }
}

function partFileName(partNumber: number): string {
  return `part-${String(partNumber).padStart(5, '0')}`;
}

async function md5EtagOfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return `"${hash.digest('hex')}"`;
}

async function readUploadKey(folder: string): Promise<string | undefined> {
  try {
    return await fs.readFile(join(folder, UPLOAD_KEY_FILE), 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates `path` (which must not exist) with `bytes`, fsynced. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename or link in `folder` durable. */
async function fsyncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function isNotFound(error: unknown): boolean {
  return isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR') || isErrno(error, 'EISDIR');
}
