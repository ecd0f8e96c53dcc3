// A folder of unpacked application archives, one entry per archive version:
//   <directory>/<name>/files/…           the archive's files (the bundle among them)
//   <directory>/<name>/cache-entry.json  the manifest, the archive's SHA-256, where it came from
// An entry appears only whole: it is written into a `.tmp-…` folder and renamed into place, so a
// crash mid-unpack leaves a temp folder that no lookup ever reads. A lookup still checks the
// bundle against the manifest's SHA-256 (a disk that lost writes, a hand edit) and removes an
// entry that fails, so the caller fetches it again. Several processes may share the folder: the
// first rename wins and the others use its entry.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkBundleDigest, checkManifest, type ApplicationArchive, type ApplicationManifest } from './application-archive.ts';
import { ApplicationCodeError } from './errors.ts';

const ENTRY_FILE = 'cache-entry.json';
const FILES_FOLDER = 'files';
const TEMP_PREFIX = '.tmp-';

export interface CachedApplicationCode {
  /** The bundle to hand to loadApplication. */
  readonly entryPath: string;
  readonly manifest: ApplicationManifest;
  readonly archiveSha256: string;
}

interface CacheEntryRecord {
  readonly location: string;
  readonly archiveSha256: string;
  readonly manifest: ApplicationManifest;
}

export class ApplicationCodeCache {
  constructor(readonly directory: string) {}

  /**
   * The entry `name` when it is whole and its bundle matches its manifest (and its archive has
   * `expectedArchiveSha256`, when given); undefined otherwise, after removing an entry that fails.
   */
  async lookup(name: string, expectedArchiveSha256?: string): Promise<CachedApplicationCode | undefined> {
    const folder = this.entryFolder(name);
    let text: string;
    try {
      text = await fs.readFile(join(folder, ENTRY_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !(await exists(folder))) return undefined;
      await this.remove(name);
      return undefined;
    }
    try {
      const record = JSON.parse(text) as CacheEntryRecord;
      const manifest = checkManifest(record.manifest, record.location);
      const entryPath = join(folder, FILES_FOLDER, manifest.entry);
      checkBundleDigest(manifest, await fs.readFile(entryPath), record.location);
      if (expectedArchiveSha256 !== undefined && record.archiveSha256 !== expectedArchiveSha256.toLowerCase()) return await this.removed(name);
      return { entryPath, manifest, archiveSha256: record.archiveSha256 };
    } catch {
      return await this.removed(name);
    }
  }

  /** Unpacks a checked archive as entry `name`; when another writer installed it first, that entry. */
  async install(name: string, archive: ApplicationArchive, location: string): Promise<CachedApplicationCode> {
    await fs.mkdir(this.directory, { recursive: true });
    const temp = await fs.mkdtemp(join(this.directory, `${TEMP_PREFIX}${name}-`));
    try {
      for (const [path, content] of archive.files) {
        const target = join(temp, FILES_FOLDER, path);
        await fs.mkdir(dirname(target), { recursive: true });
        await fs.writeFile(target, content);
      }
      const record: CacheEntryRecord = { location, archiveSha256: archive.archiveSha256, manifest: archive.manifest };
      await fs.writeFile(join(temp, ENTRY_FILE), `${JSON.stringify(record, null, 2)}\n`);
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      throw new ApplicationCodeError(location, `unpacking into ${this.directory} failed: ${(error as Error).message}`, { cause: error });
    }
    try {
      await fs.rename(temp, this.entryFolder(name));
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
        throw new ApplicationCodeError(location, `installing into ${this.directory} failed: ${(error as Error).message}`, { cause: error });
      }
      const installed = await this.lookup(name, archive.archiveSha256);
      if (installed === undefined) throw new ApplicationCodeError(location, `another process installed a different archive as ${this.entryFolder(name)}`);
      return installed;
    }
    return {
      entryPath: join(this.entryFolder(name), FILES_FOLDER, archive.manifest.entry),
      manifest: archive.manifest,
      archiveSha256: archive.archiveSha256,
    };
  }

  private async removed(name: string): Promise<undefined> {
    await this.remove(name);
    return undefined;
  }

  /** Moves the entry out of sight first, so a removal cut short never leaves a half entry behind. */
  private async remove(name: string): Promise<void> {
    const doomed = join(this.directory, `${TEMP_PREFIX}removed-${name}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.rename(this.entryFolder(name), doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await fs.rm(doomed, { recursive: true, force: true });
  }

  private entryFolder(name: string): string {
    return join(this.directory, name);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
