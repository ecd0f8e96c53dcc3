// Parquet part files with hyparquet-writer: rows are gathered column by column and encoded as a
// row group every `rowGroupRows` rows (and at the end), into a byte buffer the sink takes from as
// it fills, so a file far bigger than memory's comfort still streams out as upload parts. The
// footer is written on finish; a Parquet file cannot be appended to after that, which is why the
// sink rolls Parquet files on every checkpoint.

import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { PartEncoder, PartEncoderFactory } from './part-encoder.ts';
import {
  convertForColumn,
  DOES_NOT_FIT,
  inferParquetSchema,
  schemaMismatchError,
  toSchemaElements,
  unknownFieldError,
  type ParquetColumn,
} from './parquet-schema.ts';
import { UserFunctionError } from '../../../shared/errors.ts';

/** Bytes per buffered row assumed before the first row group says better. */
const FIRST_GUESS_BYTES_PER_ROW = 64;

export class ParquetEncoderFactory<T> implements PartEncoderFactory<T> {
  readonly extension = 'parquet';
  /** The columns every file of this writer has: given, or inferred from the writer's first record. */
  private columns: readonly ParquetColumn[] | undefined;
  private readonly inferred: boolean;

  constructor(
    private readonly sinkName: string,
    columns: readonly ParquetColumn[] | undefined,
    private readonly rowGroupRows: number,
  ) {
    this.columns = columns;
    this.inferred = columns === undefined;
  }

  create(): PartEncoder<T> {
    return new ParquetEncoder<T>(this.sinkName, this.rowGroupRows, (first) => (this.columns ??= inferParquetSchema(first, this.sinkName)), this.inferred);
  }
}

class ParquetEncoder<T> implements PartEncoder<T> {
  private columns: readonly ParquetColumn[] | undefined;
  private columnIndex = new Map<string, number>();
  private data: unknown[][] = [];
  private bufferedRows = 0;
  private writer = new ByteWriter(1 << 20);
  private parquet: ParquetWriter | undefined;
  private encodedRows = 0;

  constructor(
    private readonly sinkName: string,
    private readonly rowGroupRows: number,
    private readonly columnsFor: (first: unknown) => readonly ParquetColumn[],
    private readonly inferred: boolean,
  ) {}

  write(value: T): void {
    const columns = this.columns ?? this.open(value);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UserFunctionError(`${this.sinkName}: Parquet rows must be objects, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
    }
    const record = value as Record<string, unknown>;
    const row: unknown[] = new Array(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const converted = convertForColumn(column.type, record[column.name]);
      if (converted === DOES_NOT_FIT) throw schemaMismatchError(this.sinkName, column, record[column.name], this.inferred);
      row[i] = converted;
    }
    for (const field in record) {
      if (!this.columnIndex.has(field) && record[field] !== undefined) throw unknownFieldError(this.sinkName, field, record[field], columns, this.inferred);
    }
    // Only a row that fits as a whole is added, so a failed record leaves the columns aligned.
    for (let i = 0; i < columns.length; i++) this.data[i]!.push(row[i]);
    if (++this.bufferedRows >= this.rowGroupRows) this.encodeRowGroup();
  }

  private open(first: unknown): readonly ParquetColumn[] {
    const columns = this.columnsFor(first);
    this.columns = columns;
    this.columnIndex = new Map(columns.map((c, i) => [c.name, i]));
    this.data = columns.map(() => []);
    this.parquet = new ParquetWriter({ writer: this.writer, schema: toSchemaElements(columns), createdBy: 'sluice S3FileSink (hyparquet-writer)' });
    return columns;
  }

  private encodeRowGroup(): void {
    if (this.bufferedRows === 0) return;
    const columns = this.columns!;
    const columnData = columns.map((column, i) => ({ name: column.name, data: this.data[i]! }));
    // Without a flush method on the writer, write is synchronous.
    void this.parquet!.write({ columnData: columnData as never, rowGroupSize: this.bufferedRows });
    this.encodedRows += this.bufferedRows;
    this.bufferedRows = 0;
    this.data = columns.map(() => []);
  }

  /** Encoded bytes only: buffered rows count once their row group is encoded. */
  get pendingBytes(): number {
    return this.writer.index;
  }

  get fileBytes(): number {
    return this.writer.offset + this.bufferedRows * this.bytesPerRow();
  }

  private bytesPerRow(): number {
    return this.encodedRows === 0 ? FIRST_GUESS_BYTES_PER_ROW : this.writer.offset / this.encodedRows;
  }

  take(): Uint8Array {
    this.encodeRowGroup();
    const bytes = new Uint8Array(this.writer.buffer, 0, this.writer.index);
    // A fresh buffer rather than a copy: the taken bytes keep the old one.
    this.writer.buffer = new ArrayBuffer(Math.max(1 << 20, this.writer.index));
    this.writer.view = new DataView(this.writer.buffer);
    this.writer.index = 0;
    return bytes;
  }

  finish(): void {
    this.encodeRowGroup();
    void this.parquet?.finish();
  }
}
