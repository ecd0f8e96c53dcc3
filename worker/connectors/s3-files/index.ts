// S3 files: an exactly-once sink writing JSON lines or Parquet in Hive-style partition folders
// (multipart uploads completed when the checkpoint that holds them completes), for Athena.

export { S3FileSink } from './s3-file-sink.ts';
export type { S3FileCommittable, S3FileSinkWriterState } from './s3-file-sink.ts';
export type { S3FileSinkOptions } from './s3-file-sink-options.ts';
export type { BucketBy } from './bucket-assigner.ts';
export type { ParquetColumnType, ParquetSchema } from './parquet-schema.ts';
