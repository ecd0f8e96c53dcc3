// A FileSource subtask's reader: reads its file splits one after the other, and — when it holds
// discovery splits — lists the paths every `monitorIntervalMs` and takes each new file of their
// share as a split of its own (numbered after the splits it has, as SourceOperator expects).
// A listing runs in the background and its result is applied in one synchronous step, so a
// checkpoint sees a file either in a discovery split's `alreadyProcessedPaths` and as a split, or
// in neither (then the restored job lists it again). Finished splits stay in the snapshot, so the
// reader's split numbers never shift; a discovery split holds no record, and is reported finished
// at once so that it holds no watermark back.

import type { PollStatus, SourceOutput, SourceReader, SourceReaderContext, SplitState } from '../../../shared/api/connectors.ts';
import { rejectRecord, type PoisonRecordPolicy } from '../common/poison-records.ts';
import type { FileFormat, FileReaderSettings, FileRecordOutput, FileRecordReader } from './file-format.ts';
import { UnreadableFileError } from './file-format.ts';
import { discoveryPartitionOf, isDiscoverySplitId, parseDiscoveryPosition, parsePositionBase, type FileDiscoveryPosition, type FileSplitPosition } from './file-splits.ts';
import { SourceFileSystem, type OpenedFile, type SourceFileInfo, type SourceRoot } from './source-file-system.ts';
import type { ResolvedAwsConnection } from '../common/aws-connection.ts';

/** What a reader needs of its source's resolved options. */
export interface FileSourceReaderSettings<T> extends FileReaderSettings {
  readonly format: FileFormat<T>;
  readonly roots: readonly SourceRoot[];
  readonly connection: ResolvedAwsConnection;
  readonly onPoisonRecord: PoisonRecordPolicy;
  /** Undefined: bounded. */
  readonly monitorIntervalMs: number | undefined;
}

/** What the readers of a source did, summed over them (tests, status). */
export interface FileSourceCounters {
  /** Listings of the paths by discovery splits, counted when their new files are taken. */
  listings: number;
  /** Files found by those listings and taken as splits. */
  filesDiscovered: number;
  filesFinished: number;
  /** Files rejected whole (an unreadable Parquet file, a bad CSV header). */
  filesRejected: number;
}

interface FileEntry {
  readonly kind: 'file';
  readonly path: string;
  readonly index: number;
  /** Up to date while no reader is open; the reader's own position otherwise. */
  position: FileSplitPosition;
  reader: FileRecordReader<unknown> | undefined;
  file: OpenedFile | undefined;
  output: FileRecordOutput<unknown> | undefined;
  /** SourceOperator was told the split is finished. */
  announced: boolean;
}

interface DiscoveryEntry {
  readonly kind: 'discovery';
  readonly id: string;
  readonly partition: number;
  readonly partitions: number;
  readonly known: Set<string>;
  /** `known` sorted, made at most once per change. */
  snapshot: readonly string[] | undefined;
  announced: boolean;
}

type Entry = FileEntry | DiscoveryEntry;

export class FileSourceReader<T> implements SourceReader<T> {
  private readonly entries: Entry[] = [];
  private readonly discovery: DiscoveryEntry[] = [];
  /** The first entry that may still have records; the ones before are finished or discovery splits. */
  private current = 0;
  private readonly fileSystem: SourceFileSystem;
  private listing = false;
  private nextListingAtMs = 0;
  private fatal: Error | undefined;
  private closed = false;
  private pendingAnnouncements = false;
  /** The output of the poll in progress. */
  private output!: SourceOutput<T>;

  constructor(
    private readonly settings: FileSourceReaderSettings<T>,
    private readonly context: SourceReaderContext,
    private readonly counters: FileSourceCounters,
  ) {
    this.fileSystem = new SourceFileSystem(settings.label, settings.connection);
  }

  get waitHintMs(): number {
    if (this.listing || this.discovery.length === 0) return 5;
    return Math.max(1, Math.min(100, this.nextListingAtMs - this.context.now()));
  }

  addSplits(splits: readonly SplitState[]): void {
    const { label, format } = this.settings;
    for (const split of splits) {
      if (typeof split.id !== 'string') throw new TypeError(`${label}: a split has id ${JSON.stringify(split.id)}; expected a string`);
      if (isDiscoverySplitId(split.id)) {
        const { partition, partitions, alreadyProcessedPaths } = parseDiscoveryPosition(label, split.id, split.position);
        const entry: DiscoveryEntry = { kind: 'discovery', id: split.id, partition, partitions, known: new Set(alreadyProcessedPaths), snapshot: undefined, announced: false };
        this.entries.push(entry);
        this.discovery.push(entry);
      } else {
        const position = format.parsePosition(label, split.id, parsePositionBase(label, split.id, split.position));
        this.entries.push(this.fileEntry(split.id, position));
      }
      this.pendingAnnouncements = true;
    }
  }

  private fileEntry(path: string, position: FileSplitPosition): FileEntry {
    return { kind: 'file', path, index: this.entries.length, position, reader: undefined, file: undefined, output: undefined, announced: false };
  }

  poll(output: SourceOutput<T>, maxRecords: number): PollStatus | Promise<PollStatus> {
    if (this.fatal) throw this.fatal;
    this.output = output;
    if (this.pendingAnnouncements) this.announceFinished(output);
    if (this.discovery.length > 0 && !this.listing && this.context.now() >= this.nextListingAtMs) this.listNewFiles();
    return this.readFiles(output, Math.max(1, maxRecords), 0);
  }

  /** Reads the current split until the budget is spent, a read is needed or every split is done. */
  private readFiles(output: SourceOutput<T>, budget: number, consumed: number): PollStatus | Promise<PollStatus> {
    if (this.closed) return 'more'; // a poll that outlived its reader (a live rescale reopens it)
    while (this.current < this.entries.length) {
      const entry = this.entries[this.current]!;
      if (entry.kind === 'discovery' || entry.position.finished) {
        this.current++;
        continue;
      }
      if (entry.reader === undefined) return this.open(entry).then(() => this.readFiles(output, budget, consumed));
      let status;
      try {
        const result = entry.reader.read(entry.output!, budget - consumed);
        consumed += result.consumed;
        status = result.status;
      } catch (error) {
        if (!(error instanceof UnreadableFileError)) throw error;
        this.rejectFile(entry, error, output);
        continue;
      }
      if (status === 'end') {
        this.finish(entry, entry.reader.position(), output);
        continue;
      }
      if (status === 'budget') return 'more';
      return entry.reader.fill().then(
        () => this.readFiles(output, budget, consumed),
        (error: unknown) => {
          if (!(error instanceof UnreadableFileError)) throw error;
          this.rejectFile(entry, error, output);
          return this.readFiles(output, budget, consumed);
        },
      );
    }
    if (this.settings.monitorIntervalMs === undefined) return 'end';
    return consumed > 0 ? 'more' : 'wait';
  }

  private async open(entry: FileEntry): Promise<void> {
    const file = await this.fileSystem.open(entry.path);
    if (this.closed) {
      await file.close();
      return;
    }
    const settings: FileReaderSettings = { label: this.settings.label, readChunkBytes: this.settings.readChunkBytes, maxRecordBytes: this.settings.maxRecordBytes };
    entry.file = file;
    entry.reader = this.settings.format.createReader(file, entry.position, settings) as FileRecordReader<unknown>;
    entry.output = this.recordOutput(entry.index);
  }

  /** Hands a split's records to the output of the poll in progress, as split `index`. */
  private recordOutput(index: number): FileRecordOutput<unknown> {
    const { label, onPoisonRecord } = this.settings;
    return {
      collect: (value) => this.output.collect(value as T, index),
      reject: (raw, reason, position) => {
        rejectRecord(onPoisonRecord, this.output as SourceOutput<unknown>, { connector: label, raw, reason, position });
      },
    };
  }

  private rejectFile(entry: FileEntry, error: UnreadableFileError, output: SourceOutput<T>): void {
    const { label, onPoisonRecord, format } = this.settings;
    rejectRecord(onPoisonRecord, output as SourceOutput<unknown>, { connector: label, raw: '', reason: `unreadable ${format.description} file (the rest of it is not read): ${error.reason}`, position: error.position });
    this.counters.filesRejected++;
    this.finish(entry, { ...entry.reader!.position(), finished: true }, output);
  }

  private finish(entry: FileEntry, position: FileSplitPosition, output: SourceOutput<T>): void {
    entry.position = { ...position, finished: true };
    entry.reader?.close();
    void entry.file?.close();
    entry.reader = entry.file = entry.output = undefined;
    this.counters.filesFinished++;
    entry.announced = true;
    output.finishSplit(entry.index);
  }

  /** Restored finished splits and discovery splits hold no records: SourceOperator hears so at the first poll. */
  private announceFinished(output: SourceOutput<T>): void {
    this.pendingAnnouncements = false;
    this.entries.forEach((entry, index) => {
      if (entry.announced || (entry.kind === 'file' && !entry.position.finished)) return;
      entry.announced = true;
      output.finishSplit(index);
    });
  }

  /** Lists every path in the background; the result is applied at once when it comes. */
  private listNewFiles(): void {
    this.listing = true;
    const listed = (async () => {
      const files: SourceFileInfo[] = [];
      for (const root of this.settings.roots) files.push(...(await this.fileSystem.list(root)));
      return files;
    })();
    listed.then(
      (files) => {
        this.listing = false;
        if (this.closed) return;
        this.takeNewFiles(files);
        this.counters.listings++;
        this.nextListingAtMs = this.context.now() + this.settings.monitorIntervalMs!;
      },
      (error: unknown) => {
        this.listing = false;
        if (!this.closed) this.fatal ??= error instanceof Error ? error : new Error(String(error));
      },
    );
  }

  private takeNewFiles(files: readonly SourceFileInfo[]): void {
    for (const file of files) {
      for (const discovery of this.discovery) {
        if (discovery.known.has(file.path) || discoveryPartitionOf(file.path, discovery.partitions) !== discovery.partition) continue;
        discovery.known.add(file.path);
        discovery.snapshot = undefined;
        this.entries.push(this.fileEntry(file.path, this.settings.format.startPosition(file.size)));
        this.counters.filesDiscovered++;
      }
    }
  }

  snapshotSplits(): SplitState[] {
    return this.entries.map((entry) => {
      if (entry.kind === 'discovery') {
        entry.snapshot ??= [...entry.known].sort();
        const position: FileDiscoveryPosition = { partition: entry.partition, partitions: entry.partitions, alreadyProcessedPaths: entry.snapshot };
        return { id: entry.id, position };
      }
      return { id: entry.path, position: entry.reader?.position() ?? entry.position };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const files: OpenedFile[] = [];
    for (const entry of this.entries) {
      if (entry.kind !== 'file') continue;
      if (entry.reader !== undefined) entry.position = entry.reader.position();
      entry.reader?.close();
      if (entry.file !== undefined) files.push(entry.file);
      entry.reader = entry.file = entry.output = undefined;
    }
    await Promise.all(files.map((file) => file.close()));
    this.fileSystem.close();
  }
}
