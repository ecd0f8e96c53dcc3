// An exactly-once sink that writes JSON Lines part files, as Flink's FileSink (ARCHITECTURE.md,
// decision 5). Each subtask appends records to a hidden in-progress file
// `.<prefix>-<subtask>-<n>.inprogress`; a checkpoint barrier closes it (pre-commit) and, once the
// checkpoint is complete, commit renames it to `<prefix>-<subtask>-<n>.jsonl`. Readers take only
// `*.jsonl` files without a leading dot, so they see committed output and nothing else.
// Part numbers never repeat within a subtask (part-file-naming.ts): the directory scan counts
// committed and in-progress parts alike.

import { close as closeCallback, closeSync, fsync as fsyncCallback, openSync, promises as fs, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { ConfigurationError, ExternalSystemError, RestoreError, UserFunctionError } from '../../../shared/errors.ts';
import { checkKnownFields } from '../common/connector-options.ts';
import { nextFreePartIndex, ownsLeftoverPart, PartFileNaming, restoredNextPartIndex, type PartId, type PartIndexState } from '../common/part-file-naming.ts';

export interface JsonLinesFileSinkOptions<T> {
  /** Where part files go; created if missing. */
  readonly directory: string;
  readonly name?: string;
  /** Turns a record into one line (without a line end). Default JSON.stringify. */
  readonly serialize?: (value: T) => string;
  /** Part files are `<partPrefix>-<subtask>-<n>.jsonl`. Default 'part'. */
  readonly partPrefix?: string;
  /** A part is closed and a new one started once it holds at least this many bytes; default: one part per checkpoint. */
  readonly maxPartBytes?: number;
}

interface ResolvedJsonLinesFileSinkOptions<T> {
  readonly directory: string;
  readonly name: string;
  readonly serialize: ((value: T) => string) | undefined;
  readonly partPrefix: string;
  readonly maxPartBytes: number;
}

/** One part file to publish: the in-progress file and the name it gets on commit (absolute paths). */
export interface JsonLinesPendingPart {
  readonly pending: string;
  readonly final: string;
}

/** What prepareCommit returns: one part, or several when `maxPartBytes` rolled parts during the checkpoint. */
export type JsonLinesCommittable = JsonLinesPendingPart | readonly JsonLinesPendingPart[];

/** The part number the writer opens next. */
export type JsonLinesFileSinkWriterState = PartIndexState;

/** Text buffered before one write to the part file. */
const FLUSH_THRESHOLD_CHARS = 256 * 1024;

const OPTION_FIELDS = new Set(['directory', 'name', 'serialize', 'partPrefix', 'maxPartBytes']);

function resolveOptions<T>(options: JsonLinesFileSinkOptions<T>): ResolvedJsonLinesFileSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'JsonLinesFileSink');
  const { directory, name, serialize, partPrefix, maxPartBytes } = options;
  if (typeof directory !== 'string' || directory.length === 0) {
    throw new ConfigurationError('directory', `must be a non-empty path, got ${JSON.stringify(directory)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  if (serialize !== undefined && typeof serialize !== 'function') {
    throw new ConfigurationError('serialize', `must be a function (record) => string, got ${typeof serialize}`);
  }
  if (partPrefix !== undefined && (typeof partPrefix !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(partPrefix))) {
    throw new ConfigurationError('partPrefix', `must be letters, digits, '.', '_' or '-' and not start with '.' or '-', got ${JSON.stringify(partPrefix)}`);
  }
  if (maxPartBytes !== undefined && (typeof maxPartBytes !== 'number' || !Number.isSafeInteger(maxPartBytes) || maxPartBytes <= 0)) {
    throw new ConfigurationError('maxPartBytes', `must be a positive integer (bytes), got ${String(maxPartBytes)}`);
  }
  return {
    directory: resolve(directory),
    name: name ?? 'JsonLinesFiles',
    serialize,
    partPrefix: partPrefix ?? 'part',
    maxPartBytes: maxPartBytes ?? Number.POSITIVE_INFINITY,
  };
}

/** One sink's part files in its directory: `<prefix>-<subtask>-<n>.jsonl`, hidden as `.<prefix>-<subtask>-<n>.inprogress` while written. */
class PartFiles {
  private readonly committed: PartFileNaming;
  private readonly inProgress: PartFileNaming;

  constructor(readonly directory: string, prefix: string) {
    this.committed = new PartFileNaming(prefix, 'jsonl');
    this.inProgress = new PartFileNaming(`.${prefix}`, 'inprogress');
  }

  inProgressPath(subtask: number, index: number): string {
    return join(this.directory, this.inProgress.fileName(subtask, index));
  }

  finalPath(subtask: number, index: number): string {
    return join(this.directory, this.committed.fileName(subtask, index));
  }

  /** A part file's subtask and number; undefined for any other file. */
  parse(name: string): (PartId & { inProgress: boolean }) | undefined {
    const inProgress = this.inProgress.parse(name);
    if (inProgress) return { inProgress: true, ...inProgress };
    const committed = this.committed.parse(name);
    return committed && { inProgress: false, ...committed };
  }

  async list(): Promise<Array<PartId & { name: string; inProgress: boolean }>> {
    let names: string[];
    try {
      names = await fs.readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ExternalSystemError(`JsonLinesFileSink: cannot list ${this.directory}: ${(error as Error).message}`, { cause: error });
    }
    const parts = [];
    for (const name of names) {
      const part = this.parse(name);
      if (part) parts.push({ name, ...part });
    }
    return parts;
  }
}

export class JsonLinesFileSink<T = unknown> implements Sink<T> {
  readonly name: string;
  private readonly options: ResolvedJsonLinesFileSinkOptions<T>;
  private readonly partFiles: PartFiles;

  constructor(options: JsonLinesFileSinkOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
    this.partFiles = new PartFiles(this.options.directory, this.options.partPrefix);
  }

  get directory(): string {
    return this.options.directory;
  }

  async createWriter(context: SinkWriterContext, restoredState: unknown): Promise<SinkWriter<T>> {
    try {
      await fs.mkdir(this.options.directory, { recursive: true });
    } catch (error) {
      throw new ExternalSystemError(`JsonLinesFileSink: cannot create directory ${this.options.directory}: ${(error as Error).message}`, { cause: error });
    }
    const nextPartIndex = nextFreePartIndex(context.subtaskIndex, restoredNextPartIndex(restoredState, 'JsonLinesFileSink'), await this.partFiles.list());
    return new JsonLinesFileSinkWriter<T>(this.options, this.partFiles, context.subtaskIndex, nextPartIndex);
  }

  /**
   * Deletes the in-progress files a failed attempt left, of the subtasks this one cleans up
   * after, that no restored committable refers to.
   */
  async abortLeftovers(context: SinkWriterContext, keep: readonly unknown[]): Promise<void> {
    const kept = new Set(pendingParts(keep).map((p) => resolve(p.pending)));
    for (const part of await this.partFiles.list()) {
      if (!part.inProgress || !ownsLeftoverPart(context, part)) continue;
      const path = join(this.options.directory, part.name);
      if (kept.has(path)) continue;
      await fs.rm(path, { force: true });
    }
  }
}

/** Flattens committables (single parts or arrays of parts) and checks their shape. */
function pendingParts(committables: readonly unknown[]): JsonLinesPendingPart[] {
  const parts: JsonLinesPendingPart[] = [];
  const add = (c: unknown) => {
    const part = c as Partial<JsonLinesPendingPart> | null;
    if (typeof part !== 'object' || part === null || typeof part.pending !== 'string' || typeof part.final !== 'string') {
      throw new RestoreError(`JsonLinesFileSink: committable ${JSON.stringify(c)} is not { pending, final }`);
    }
    parts.push({ pending: part.pending, final: part.final });
  };
  for (const c of committables) {
    if (Array.isArray(c)) c.forEach(add);
    else add(c);
  }
  return parts;
}

/** A part file being written. */
interface OpenPart {
  readonly fd: number;
  readonly pending: string;
  readonly final: string;
  bytes: number;
}

const fsyncAsync = promisify(fsyncCallback);
const closeAsync = promisify(closeCallback);

class JsonLinesFileSinkWriter<T> implements SinkWriter<T> {
  private part: OpenPart | undefined;
  /** Text of records not yet written to the part file. */
  private text = '';
  /** Flush when `text` has this many chars: the buffer size, or less to roll a part at maxPartBytes. */
  private flushAtChars: number;
  /** Parts rolled over at maxPartBytes since the last prepareCommit, being synced and closed. */
  private rolled: Array<{ part: JsonLinesPendingPart; closed: Promise<void> }> = [];
  /** Closing of parts detached by prepareCommit, so close() can wait for them. */
  private readonly closing = new Set<Promise<void>>();
  private readonly checkLineEnds: boolean;

  constructor(
    private readonly options: ResolvedJsonLinesFileSinkOptions<T>,
    private readonly partFiles: PartFiles,
    private readonly subtaskIndex: number,
    private nextPartIndex: number,
  ) {
    this.flushAtChars = Math.min(FLUSH_THRESHOLD_CHARS, options.maxPartBytes);
    // JSON.stringify never emits a raw line end; a custom serializer might.
    this.checkLineEnds = options.serialize !== undefined;
  }

  write(value: T): void {
    const serialize = this.options.serialize;
    let line: string | undefined;
    try {
      line = serialize ? serialize(value) : JSON.stringify(value);
    } catch (error) {
      throw new UserFunctionError(`${this.options.name}: serialize threw: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    if (typeof line !== 'string') {
      throw new UserFunctionError(`${this.options.name}: serialize returned ${line === undefined ? 'undefined' : typeof line} instead of a string for record ${String(value)}`);
    }
    if (this.checkLineEnds && (line.includes('\n') || line.includes('\r'))) {
      throw new UserFunctionError(`${this.options.name}: serialize returned a string with a line end, which would split the record: ${JSON.stringify(line.slice(0, 200))}`);
    }
    this.text += line + '\n';
    if (this.text.length >= this.flushAtChars) this.flush();
  }

  /** Appends the buffered text to the current part (opening one if needed); rolls the part at maxPartBytes. */
  private flush(): void {
    if (this.text.length === 0) return;
    const part = this.part ?? (this.part = this.openPart());
    const bytes = Buffer.from(this.text, 'utf8');
    this.text = '';
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(part.fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      throw new ExternalSystemError(`JsonLinesFileSink: cannot write ${part.pending}: ${(error as Error).message}`, { cause: error, retriable: true });
    }
    part.bytes += bytes.length;
    const maxPartBytes = this.options.maxPartBytes;
    if (part.bytes >= maxPartBytes) {
      this.part = undefined;
      const closed = syncAndClose(part);
      closed.catch(() => {}); // handled when prepareCommit awaits it; not an unhandled rejection meanwhile
      this.rolled.push({ part: { pending: part.pending, final: part.final }, closed });
      this.flushAtChars = Math.min(FLUSH_THRESHOLD_CHARS, maxPartBytes);
    } else {
      // Chars never exceed UTF-8 bytes, so flushing at the bytes left to the limit cannot skip past it by more than a record.
      this.flushAtChars = Math.min(FLUSH_THRESHOLD_CHARS, maxPartBytes - part.bytes);
    }
  }

  private openPart(): OpenPart {
    const index = this.nextPartIndex++;
    const pending = this.partFiles.inProgressPath(this.subtaskIndex, index);
    let fd: number;
    try {
      // 'ax': append, and refuse a file that exists — a part name is never reused.
      fd = openSync(pending, 'ax');
    } catch (error) {
      throw new ExternalSystemError(`JsonLinesFileSink: cannot create part file ${pending}: ${(error as Error).message}`, { cause: error });
    }
    return { fd, pending, final: this.partFiles.finalPath(this.subtaskIndex, index), bytes: 0 };
  }

  /**
   * Detaches the open part synchronously — records written after the barrier go to a new part —
   * then syncs and closes the detached parts and returns them for commit.
   */
  prepareCommit(): Promise<JsonLinesCommittable | undefined> {
    this.flush();
    const parts = this.rolled;
    this.rolled = [];
    const current = this.part;
    this.part = undefined;
    this.flushAtChars = Math.min(FLUSH_THRESHOLD_CHARS, this.options.maxPartBytes);
    if (current) parts.push({ part: { pending: current.pending, final: current.final }, closed: syncAndClose(current) });
    if (parts.length === 0) return Promise.resolve(undefined);
    const done = (async () => {
      await Promise.all(parts.map((p) => p.closed));
      await syncDirectory(this.partFiles.directory);
      return parts.length === 1 ? parts[0]!.part : parts.map((p) => p.part);
    })();
    const tracked = done.then(
      () => {},
      () => {},
    );
    this.closing.add(tracked);
    void tracked.then(() => this.closing.delete(tracked));
    return done;
  }

  snapshotState(): JsonLinesFileSinkWriterState {
    return { nextPartIndex: this.nextPartIndex };
  }

  /**
   * Renames each pending part to its final name. Idempotent: a part whose final file exists and
   * whose in-progress file is gone was committed before (a restored job commits again).
   */
  async commit(committables: readonly unknown[]): Promise<void> {
    const parts = pendingParts(committables);
    if (parts.length === 0) return;
    const directories = new Set<string>();
    for (const { pending, final } of parts) {
      if (await exists(final)) {
        if (await exists(pending)) {
          throw new ExternalSystemError(`JsonLinesFileSink: cannot commit ${pending}: ${final} exists already and is another file; refusing to overwrite it`);
        }
        continue; // committed already
      }
      try {
        await fs.rename(pending, final);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ExternalSystemError(
            `JsonLinesFileSink: cannot commit part: neither the in-progress file ${pending} nor the committed file ${final} exists ` +
              '(was the output directory cleaned or changed while the job ran?)',
            { cause: error },
          );
        }
        throw new ExternalSystemError(`JsonLinesFileSink: cannot rename ${pending} to ${final}: ${(error as Error).message}`, { cause: error, retriable: true });
      }
      directories.add(dirname(final));
    }
    for (const dir of directories) await syncDirectory(dir);
  }

  /**
   * Waits for parts being closed; drops the open part and rolled parts not yet pre-committed —
   * no checkpoint refers to them, their records will be replayed from the last checkpoint.
   */
  async close(): Promise<void> {
    this.text = '';
    const unreferenced: Array<{ pending: string; closed: Promise<void> }> = this.rolled.map((r) => ({ pending: r.part.pending, closed: r.closed }));
    this.rolled = [];
    if (this.part) {
      const part = this.part;
      this.part = undefined;
      try {
        closeSync(part.fd);
      } catch {
        // The file is deleted next; a close error changes nothing.
      }
      unreferenced.push({ pending: part.pending, closed: Promise.resolve() });
    }
    await Promise.all([...this.closing]);
    for (const { pending, closed } of unreferenced) {
      await closed.catch(() => {});
      try {
        unlinkSync(pending);
      } catch {
        // Already gone, or not removable: abortLeftovers of the next attempt deletes it.
      }
    }
  }
}

async function syncAndClose(part: OpenPart): Promise<void> {
  try {
    await fsyncAsync(part.fd);
  } catch (error) {
    await closeAsync(part.fd).catch(() => {});
    throw new ExternalSystemError(`JsonLinesFileSink: cannot sync ${part.pending}: ${(error as Error).message}`, { cause: error, retriable: true });
  }
  await closeAsync(part.fd);
}

/** Makes created and renamed directory entries durable; not possible everywhere (Windows), hence best effort. */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch {
    // Best effort: some platforms and file systems cannot sync a directory.
  } finally {
    await handle?.close().catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
