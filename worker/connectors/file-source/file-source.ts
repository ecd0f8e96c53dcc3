// A source of the files under local folders and S3 prefixes, as Flink's FileSource: each file is
// a split, read in one of three formats (JSON lines, CSV, Parquet), and its position (byte offset
// and line, or row) is in every checkpoint, so a restored job resumes inside a file. Without
// monitoring the source is bounded: it reads the files present at start and finishes. With
// `monitorIntervalMs` (Flink's monitorContinuously) it is unbounded and reads each file that
// appears later exactly once, across restores and rescales (see file-splits.ts for how the
// enumerator's memory of processed files is carried in discovery splits).
//
// Files are identified by path; a file is read up to the size it had when it was found, so write
// files elsewhere (or under a name starting with '.' or '_') and move them in when complete.

import type { Source, SourceReader, SourceReaderContext, SplitState } from '../../../shared/api/connectors.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { AWS_CONNECTION_FIELDS, resolveAwsConnection, type AwsConnectionOptions } from '../common/aws-connection.ts';
import { checkKnownFields, positiveIntegerOption } from '../common/connector-options.ts';
import { poisonRecordPolicy } from '../common/poison-records.ts';
import type { FileFormat } from './file-format.ts';
import { FileSourceReader, type FileSourceCounters, type FileSourceReaderSettings } from './file-source-reader.ts';
import { initialDiscoverySplits } from './file-splits.ts';
import { parseSourceRoot, SourceFileSystem, type SourceFileInfo } from './source-file-system.ts';

export interface FileSourceOptions<T> extends AwsConnectionOptions {
  /**
   * Local folders, S3 prefixes (`s3://bucket/prefix`) or single files. Folders and prefixes are
   * read recursively, but for names starting with '.' or '_' (in-progress files, `_SUCCESS`).
   */
  readonly paths: readonly string[];
  /** `new JsonLinesInputFormat()`, `new CsvReaderFormat()` or `new ParquetInputFormat()`. */
  readonly format: FileFormat<T>;
  /** For messages. Default 'FileSource'. */
  readonly name?: string;
  /** Look for new files this often (Flink's monitorContinuously): the source never ends. Default: read the files present at start, then finish. */
  readonly monitorIntervalMs?: number;
  /** Bad input (a record, or a whole file that cannot be read): 'dead-letter' (default) or 'fail'. */
  readonly onPoisonRecord?: 'dead-letter' | 'fail';
  /** Bytes read at a time (one ranged GET on S3). Default 1 MiB. */
  readonly readChunkBytes?: number;
  /** JSON lines and CSV: a longer record is bad input. Default 1 MiB. */
  readonly maxRecordBytes?: number;
}

const MIB = 1024 * 1024;
const OPTION_FIELDS = new Set(['paths', 'format', 'name', 'monitorIntervalMs', 'onPoisonRecord', 'readChunkBytes', 'maxRecordBytes', ...AWS_CONNECTION_FIELDS]);

function resolveOptions<T>(options: FileSourceOptions<T>): FileSourceReaderSettings<T> {
  checkKnownFields(options, OPTION_FIELDS, 'FileSource');
  const { paths, format, name = 'FileSource' } = options;
  if (!Array.isArray(paths) || paths.length === 0) throw new ConfigurationError('paths', 'must be a non-empty array of folders, s3://bucket/prefix URLs or files');
  const roots = paths.map((path, i) => parseSourceRoot(path, `paths[${i}]`));
  const isFormat = typeof format === 'object' && format !== null && typeof format.createReader === 'function' && typeof format.startPosition === 'function';
  if (!isFormat) throw new ConfigurationError('format', 'must be a file format: new JsonLinesInputFormat(), new CsvReaderFormat() or new ParquetInputFormat()');
  if (typeof name !== 'string' || name.length === 0) throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  const onPoisonRecord = poisonRecordPolicy(options.onPoisonRecord, 'onPoisonRecord');
  if (onPoisonRecord === 'skip') throw new ConfigurationError('onPoisonRecord', "a FileSource does not drop bad input silently: use 'dead-letter' or 'fail'");
  return {
    label: `FileSource "${name}"`,
    format,
    roots,
    connection: resolveAwsConnection(options),
    onPoisonRecord,
    monitorIntervalMs: options.monitorIntervalMs === undefined ? undefined : positiveIntegerOption('monitorIntervalMs', options.monitorIntervalMs, 0, 'ms'),
    readChunkBytes: positiveIntegerOption('readChunkBytes', options.readChunkBytes, MIB, 'bytes'),
    maxRecordBytes: positiveIntegerOption('maxRecordBytes', options.maxRecordBytes, MIB, 'bytes'),
  };
}

export class FileSource<T = unknown> implements Source<T> {
  readonly name: string;
  readonly bounded: boolean;
  private readonly settings: FileSourceReaderSettings<T>;
  private readonly readerCounters: FileSourceCounters[] = [];

  constructor(options: FileSourceOptions<T>) {
    this.settings = resolveOptions(options);
    this.name = options.name ?? 'FileSource';
    this.bounded = this.settings.monitorIntervalMs === undefined;
  }

  /** Flink's builder: `FileSource.forRecordStreamFormat(new CsvReaderFormat(), 's3://lake/orders').monitorContinuously(10_000).build()`. */
  static forRecordStreamFormat<T>(format: FileFormat<T>, ...paths: string[]): FileSourceBuilder<T> {
    return new FileSourceBuilder(format, paths);
  }

  /**
   * One split per file found under the paths (sorted by path), then — when monitoring — one
   * discovery split per subtask, each remembering its share of those files.
   */
  async discoverSplits(context: { parallelism: number }): Promise<SplitState[]> {
    const { settings } = this;
    const fileSystem = new SourceFileSystem(settings.label, settings.connection);
    const files = new Map<string, SourceFileInfo>();
    try {
      for (const root of settings.roots) for (const file of await fileSystem.list(root)) files.set(file.path, file);
    } finally {
      fileSystem.close();
    }
    const splits: SplitState[] = [...files.values()].map((file) => ({ id: file.path, position: settings.format.startPosition(file.size) }));
    if (settings.monitorIntervalMs !== undefined) splits.push(...initialDiscoverySplits(Math.max(1, context.parallelism), [...files.keys()]));
    return splits;
  }

  createReader(context: SourceReaderContext): SourceReader<T> {
    const counters: FileSourceCounters = { listings: 0, filesDiscovered: 0, filesFinished: 0, filesRejected: 0 };
    this.readerCounters.push(counters);
    return new FileSourceReader<T>(this.settings, context, counters);
  }

  /** What every reader this source created in this process did, summed. */
  counters(): FileSourceCounters {
    const sum: FileSourceCounters = { listings: 0, filesDiscovered: 0, filesFinished: 0, filesRejected: 0 };
    for (const counters of this.readerCounters) for (const key of Object.keys(sum) as (keyof FileSourceCounters)[]) sum[key] += counters[key];
    return sum;
  }
}

/** The options of a FileSource, set the way Flink's FileSourceBuilder sets them. */
export class FileSourceBuilder<T> {
  private options: Omit<FileSourceOptions<T>, 'format' | 'paths'> = {};

  constructor(
    private readonly format: FileFormat<T>,
    private readonly paths: readonly string[],
  ) {}

  /** Unbounded: look for new files every `intervalMs` and read each once. */
  monitorContinuously(intervalMs: number): this {
    this.options = { ...this.options, monitorIntervalMs: intervalMs };
    return this;
  }

  /** Bounded (the default): the files present at start, then the source finishes. */
  processStaticFileSet(): this {
    const { monitorIntervalMs: _, ...rest } = this.options;
    this.options = rest;
    return this;
  }

  /** Anything else: name, S3 connection (region, endpoint, credentials), onPoisonRecord, sizes. */
  setOptions(options: Omit<FileSourceOptions<T>, 'format' | 'paths'>): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  build(): FileSource<T> {
    return new FileSource<T>({ ...this.options, format: this.format, paths: this.paths });
  }
}
