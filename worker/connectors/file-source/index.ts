// Files as a source (Flink's FileSource): local folders and S3 prefixes, JSON lines, CSV and
// Parquet, each file a split with its position in checkpoints, bounded or monitoring for new files.

export { FileSource, FileSourceBuilder } from './file-source.ts';
export type { FileSourceOptions } from './file-source.ts';
export type { FileSourceCounters } from './file-source-reader.ts';
export { JsonLinesInputFormat } from './json-lines-input-format.ts';
export type { JsonLinesInputFormatOptions } from './json-lines-input-format.ts';
export { CsvReaderFormat } from './csv-reader-format.ts';
export type { CsvColumnType, CsvReaderFormatOptions } from './csv-reader-format.ts';
export { ParquetInputFormat } from './parquet-input-format.ts';
export type { ParquetInputFormatOptions, ParquetRowOrigin } from './parquet-input-format.ts';
export type { FileFormat } from './file-format.ts';
export type { TextRecordOrigin } from './text-record-reader.ts';
export type { FileDiscoveryPosition, FileSplitPosition, ParquetFilePosition, TextFilePosition } from './file-splits.ts';
