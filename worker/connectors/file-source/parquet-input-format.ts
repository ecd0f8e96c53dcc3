// Parquet for a FileSource, read with hyparquet: rows as objects (column → value; INT64 columns
// are bigint), a row group at a time, through ranged reads (the footer first). The position is the
// index of the next row, so a restored reader starts inside the row group it stopped in. A footer
// or row group that does not decode makes the file bad input, named with the rows it covers; a row
// that `convert` throws on is bad input named `<path>:row <index>`.

import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { ConfigurationError, RestoreError } from '../../../shared/errors.ts';
import { checkKnownFields } from '../common/connector-options.ts';
import type { FileFormat, FileReaderSettings, FileReadResult, FileRecordOutput, FileRecordReader } from './file-format.ts';
import { messageOf, UnreadableFileError } from './file-format.ts';
import type { FilePositionBase, FileSplitPosition, ParquetFilePosition } from './file-splits.ts';
import type { OpenedFile } from './source-file-system.ts';

export interface ParquetRowOrigin {
  readonly path: string;
  /** 0-based. */
  readonly rowIndex: number;
}

export interface ParquetInputFormatOptions<T> {
  /** The columns to read. Default all. */
  readonly columns?: readonly string[];
  /** Turns a row into a record; throwing makes the row bad input. Default: the row. */
  readonly convert?: (row: Record<string, unknown>, origin: ParquetRowOrigin) => T;
}

const OPTION_FIELDS = new Set(['columns', 'convert']);

export class ParquetInputFormat<T = Record<string, unknown>> implements FileFormat<T> {
  readonly description = 'Parquet';
  private readonly columns: readonly string[] | undefined;
  private readonly convert: ((row: Record<string, unknown>, origin: ParquetRowOrigin) => T) | undefined;

  constructor(options: ParquetInputFormatOptions<T> = {}) {
    checkKnownFields(options, OPTION_FIELDS, 'ParquetInputFormat');
    const { columns, convert } = options;
    if (columns !== undefined && (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string' && c.length > 0))) {
      throw new ConfigurationError('columns', 'must be a non-empty array of column names');
    }
    if (convert !== undefined && typeof convert !== 'function') throw new ConfigurationError('convert', `must be a function (row, origin) => record, got ${typeof convert}`);
    this.columns = columns;
    this.convert = convert;
  }

  startPosition(fileSize: number): ParquetFilePosition {
    return { fileSize, finished: false, rowIndex: 0 };
  }

  parsePosition(label: string, id: string, base: FilePositionBase & Record<string, unknown>): ParquetFilePosition {
    const { rowIndex } = base;
    if (!Number.isSafeInteger(rowIndex) || (rowIndex as number) < 0) throw new RestoreError(`${label}: split ${id} has position ${JSON.stringify(base)}; expected { rowIndex >= 0 }`);
    return { fileSize: base.fileSize, finished: base.finished, rowIndex: rowIndex as number };
  }

  createReader(file: OpenedFile, position: FileSplitPosition, settings: FileReaderSettings): FileRecordReader<T> {
    return new ParquetRowReader(file, position as ParquetFilePosition, this.columns, this.convert, settings);
  }
}

class ParquetRowReader<T> implements FileRecordReader<T> {
  private metadata: FileMetaData | undefined;
  private rowCount = 0;
  /** Index of each row group's first row, and one past the last row. */
  private groupStarts: number[] = [];
  private rows: Record<string, unknown>[] = [];
  /** Index in `rows` of the row at `rowIndex`. */
  private next = 0;
  private rowIndex: number;
  private readonly fileSize: number;
  private readonly file: AsyncBuffer;

  constructor(
    private readonly opened: OpenedFile,
    position: ParquetFilePosition,
    private readonly columns: readonly string[] | undefined,
    private readonly convert: ((row: Record<string, unknown>, origin: ParquetRowOrigin) => T) | undefined,
    private readonly settings: FileReaderSettings,
  ) {
    this.rowIndex = position.rowIndex;
    this.fileSize = position.fileSize;
    this.file = {
      byteLength: position.fileSize,
      slice: async (start, end) => {
        const length = (end ?? position.fileSize) - start;
        const bytes = await opened.read(start, length);
        if (bytes.length < length) throw new Error(`the file ends at byte ${start + bytes.length}, before the ${position.fileSize} bytes it had when it was found`);
        if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
        const copy = new Uint8Array(bytes.byteLength); // (a Buffer's own slice() would share the pooled memory)
        copy.set(bytes);
        return copy.buffer;
      },
    };
  }

  read(output: FileRecordOutput<T>, budget: number): FileReadResult {
    if (this.metadata === undefined) return { consumed: 0, status: 'fill' };
    let consumed = 0;
    while (consumed < budget && this.next < this.rows.length) {
      const row = this.rows[this.next]!;
      this.rows[this.next++] = undefined!; // let the row go once emitted
      const rowIndex = this.rowIndex++;
      consumed++;
      if (this.convert === undefined) {
        output.collect(row as T);
        continue;
      }
      let value: T;
      try {
        value = this.convert(row, { path: this.opened.path, rowIndex });
      } catch (error) {
        output.reject(rowAsText(row), `convert threw: ${messageOf(error)}`, `${this.opened.path}:row ${rowIndex}`);
        continue;
      }
      output.collect(value);
    }
    if (this.next >= this.rows.length) {
      this.rows = [];
      this.next = 0;
      if (this.rowIndex >= this.rowCount) return { consumed, status: 'end' };
      return { consumed, status: consumed >= budget ? 'budget' : 'fill' };
    }
    return { consumed, status: 'budget' };
  }

  async fill(): Promise<void> {
    if (this.metadata === undefined) {
      await this.readFooter();
      return;
    }
    // The rest of the row group the next row is in: hyparquet decodes whole column chunks anyway.
    const group = this.groupStarts.findIndex((start, i) => i + 1 < this.groupStarts.length && this.rowIndex < this.groupStarts[i + 1]!);
    const rowEnd = this.groupStarts[group + 1]!;
    try {
      this.rows = await parquetReadObjects({
        file: this.file,
        metadata: this.metadata,
        rowStart: this.rowIndex,
        rowEnd,
        ...(this.columns === undefined ? {} : { columns: [...this.columns] }),
      });
    } catch (error) {
      throw new UnreadableFileError(`${this.opened.path}:rows ${this.rowIndex}-${rowEnd - 1}`, `row group ${group} cannot be read as Parquet: ${messageOf(error)}`, { cause: error });
    }
    if (this.rows.length !== rowEnd - this.rowIndex) {
      throw new UnreadableFileError(`${this.opened.path}:rows ${this.rowIndex}-${rowEnd - 1}`, `row group ${group} gave ${this.rows.length} rows, not ${rowEnd - this.rowIndex}`);
    }
    this.next = 0;
  }

  private async readFooter(): Promise<void> {
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(this.file);
    } catch (error) {
      throw new UnreadableFileError(this.opened.path, `not a readable Parquet file (${this.fileSize} bytes): ${messageOf(error)}`, { cause: error });
    }
    const starts = [0];
    for (const group of metadata.row_groups) starts.push(starts[starts.length - 1]! + Number(group.num_rows));
    this.rowCount = starts[starts.length - 1]!;
    if (this.rowIndex > this.rowCount) {
      throw new RestoreError(`${this.settings.label}: ${this.opened.path} has ${this.rowCount} rows, fewer than the checkpointed position (row ${this.rowIndex}); the file was replaced`);
    }
    const missing = this.columns?.filter((column) => !metadata.schema.some((element) => element.name === column));
    if (missing !== undefined && missing.length > 0) throw new UnreadableFileError(this.opened.path, `it has no column ${missing.join(', ')} (setting columns)`);
    this.groupStarts = starts;
    this.metadata = metadata;
  }

  position(): ParquetFilePosition {
    return { fileSize: this.fileSize, finished: this.metadata !== undefined && this.rowIndex >= this.rowCount, rowIndex: this.rowIndex };
  }

  close(): void {
    this.rows = [];
  }
}

/** A row for a message: JSON, with bigints as numbers' digits. */
function rowAsText(row: Record<string, unknown>): string {
  try {
    return JSON.stringify(row, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch {
    return String(row);
  }
}
