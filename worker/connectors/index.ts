// The built-in connectors an application can use (`import … from 'sluice/connectors'`).

export { JsonLinesFileSource, JsonLinesFileSink } from './files/index.ts';
export type { JsonLinesFileSourceOptions, JsonLinesFileSinkOptions } from './files/index.ts';
export { NexmarkSource } from './nexmark/nexmark-source.ts';
export type { NexmarkSourceOptions } from './nexmark/nexmark-source.ts';
export type { Auction, Bid, NexmarkEvent, Person } from '../../shared/nexmark/model.ts';
export { CollectSink } from './collect-sink.ts';
export { DiscardingSink } from './discarding-sink.ts';
export { ConsoleSink, CollectionSource } from '../../shared/api/builtin-connectors.ts';
export { KinesisSource, KinesisSink } from './kinesis/index.ts';
export type { KinesisSourceOptions, KinesisSinkOptions, KinesisStartPosition, KinesisDeserializer, KinesisRecordOrigin, AwsConnectionOptions } from './kinesis/index.ts';
export { DynamoDbSink } from './dynamodb/index.ts';
export type { DynamoDbSinkOptions } from './dynamodb/index.ts';
export { PostgresSink } from './postgres/index.ts';
export type { PostgresConnectionFields, PostgresDeliveryGuarantee, PostgresSinkOptions } from './postgres/index.ts';
export { MysqlSink } from './mysql/index.ts';
export type { MysqlConnectionFields, MysqlDeliveryGuarantee, MysqlSinkOptions } from './mysql/index.ts';
export { S3FileSink } from './s3-files/index.ts';
export type { S3FileSinkOptions, BucketBy, ParquetColumnType, ParquetSchema } from './s3-files/index.ts';
export { FileSource, FileSourceBuilder, JsonLinesInputFormat, CsvReaderFormat, ParquetInputFormat } from './file-source/index.ts';
export type { FileSourceOptions, FileFormat, JsonLinesInputFormatOptions, CsvReaderFormatOptions, CsvColumnType, ParquetInputFormatOptions, ParquetRowOrigin, TextRecordOrigin } from './file-source/index.ts';
export * from './kafka/index.ts';
export { OpenSearchSink } from './opensearch/index.ts';
export type { OpenSearchSinkOptions } from './opensearch/index.ts';
