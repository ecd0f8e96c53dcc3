// What a FileSource format is (Flink's StreamFormat): it starts a split's position, checks a
// restored one, and opens a reader of one file at a position. The source drives the reader in
// batches: `read` hands over buffered records synchronously, `fill` fetches more bytes (or the
// next Parquet row group), so there is no await per record.

import type { OpenedFile } from './source-file-system.ts';
import type { FilePositionBase, FileSplitPosition } from './file-splits.ts';

export interface FileRecordOutput<T> {
  collect(value: T): void;
  /** Bad input: `position` is `<path>:<line>` or `<path>:row <index>`; the source applies its onPoisonRecord policy. */
  reject(raw: string, reason: string, position: string): void;
}

/** 'budget': `budget` records were consumed; 'fill': call `fill` before reading on; 'end': the split is read. */
export type FileReadStatus = 'budget' | 'fill' | 'end';

export interface FileReadResult {
  /** Records handed out or rejected. */
  readonly consumed: number;
  readonly status: FileReadStatus;
}

export interface FileRecordReader<T> {
  read(output: FileRecordOutput<T>, budget: number): FileReadResult;
  fill(): Promise<void>;
  /** Where the record after the last one consumed starts: what a checkpoint keeps. */
  position(): FileSplitPosition;
  close(): void;
}

export interface FileReaderSettings {
  /** `FileSource "orders"`: starts error messages. */
  readonly label: string;
  /** Bytes read at a time (one ranged GET on S3). */
  readonly readChunkBytes: number;
  /** Text formats: a longer record is bad input. */
  readonly maxRecordBytes: number;
}

export interface FileFormat<T> {
  /** 'JSON lines', 'CSV', 'Parquet': for messages. */
  readonly description: string;
  startPosition(fileSize: number): FileSplitPosition;
  /** Checks the format's fields of a restored position; `base` is checked already. Throws RestoreError. */
  parsePosition(label: string, id: string, base: FilePositionBase & Record<string, unknown>): FileSplitPosition;
  createReader(file: OpenedFile, position: FileSplitPosition, settings: FileReaderSettings): FileRecordReader<T>;
}

/**
 * A whole file the format cannot read (an unreadable Parquet footer or row group, a CSV header
 * that names no columns): the source rejects the file under its onPoisonRecord policy, naming it.
 */
export class UnreadableFileError extends Error {
  constructor(
    readonly position: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${position}: ${reason}`, options);
    this.name = 'UnreadableFileError';
  }
}

/** The message of whatever a user function or parser threw. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
